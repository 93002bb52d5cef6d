"""Typed, validated stage configs, loaded from preset files (TOML) in `etl/config/presets/`.

A preset has top-level `model` and `seed` plus one table per stage, each a frozen dataclass (below, `steer.py` and
`writers.py`; shared checks in `base.py`; settings `emolake run` refuses unless `--force` in `guard.py`). Bad keys,
types and values fail naming the value and the fix. Secrets (API keys) are never in a config: read from the environment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from etl.config.base import (
    CORPORA,
    DEFLECTION_PAIRS,
    PRESET_DIR,
    PROMPT_CORPORA,
    SHORT_CORPORA,
    SOURCES,
    WRITER_SIZES,
    Common,
    check_choices,
    check_count,
    check_fields,
    check_layers,
    check_positive,
    check_sources,
    matches,
    reject_unknown,
)
from etl.config.kinds import PROBE_KINDS
from etl.config.overrides import apply_override
from etl.config.runner import RunnerConfig
from etl.config.steer import STEER_PROMPTS, SteerConfig
from etl.config.writers import GeminiConfig, ImportConfig, LocalConfig
from etl.errors import EmolakeError

MAX_FOLDS = 20
"""More folds than this leave too few topics per emotion and fold for a held-out figure."""

__all__ = [
    "CORPORA",
    "PROBE_KINDS",
    "PROMPT_CORPORA",
    "SHORT_CORPORA",
    "SOURCES",
    "STEER_PROMPTS",
    "Common",
    "EvaluateConfig",
    "ExtractConfig",
    "GeminiConfig",
    "GenerateConfig",
    "ImportConfig",
    "IndexConfig",
    "LocalConfig",
    "Preset",
    "ProbesConfig",
    "RunnerConfig",
    "SteerConfig",
    "config_hash",
    "load_preset",
]


@dataclass(frozen=True)
class GenerateConfig:
    """What lands in `texts`: the shipped reference corpus and/or corpora written by the local model or Gemini.

    Each writer's sizes are separate, so one preset can ask Gemini for the paper's corpora and the probed model for
    a few stories of its own; a size of 0 leaves that corpus out. Both writers resume: finished chunks are kept.
    """

    common: Common
    sources: tuple[str, ...] = ("reference",)
    """Where texts come from: `reference` (shipped corpus), `local` (the probed model writes), `gemini`, or
    `import:NAME` (a published corpus landed by `emolake import`, or by this stage from `[generate.imported]`)."""
    reference_corpora: tuple[str, ...] = CORPORA
    """Which reference corpora to land."""
    reference_per_emotion: int | None = None
    """Emotional stories per emotion taken from the reference corpus (None: all)."""
    reference_neutral: int | None = None
    """Neutral stories and neutral dialogues taken from the reference corpus, each (None: all)."""
    local: LocalConfig = field(default_factory=LocalConfig)
    """The probed model's own texts: preset table `[generate.local]`."""
    gemini: GeminiConfig = field(default_factory=GeminiConfig)
    """Gemini's texts: preset table `[generate.gemini]`."""
    imported: ImportConfig = field(default_factory=ImportConfig)
    """The published corpus an `import:NAME` source lands when the lake lacks it: preset table `[generate.imported]`."""
    deflection_targets: int = 16
    """Target (felt) emotions of the deflection dialogues, sampled with the seed from the selected emotions."""
    deflection_pairs: str = "probes"
    """`probes`: each target's displayed emotions are sampled from the quarter of emotions whose expression probes
    are least similar to it (needs `make probes`); `norms`: from the quarter farthest in valence (Warriner norms)."""
    deflection_probe_source: str = "reference"
    """Which text source's probes pick the deflection pairs."""
    temperature: float = 0.8
    min_words: int = 40
    """Stories shorter than this are rejected (reason `too_short`)."""
    max_words: int = 260
    dialogue_min_words: int = 20
    dialogue_max_words: int = 600
    min_english: float = 0.2
    """Least share of English function words (English prose: 0.30-0.55); below it a text is `not_english`."""
    near_duplicate: float = 0.5
    """Word-3-gram Jaccard similarity at which a text is a `near_duplicate` of one already kept."""
    regenerate: bool = False
    """Write finished chunks again (new samples replace the old ones) instead of skipping them."""
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    """Where the local model's chunks are sampled (preset table `[runner]`, `--runner`); not part of the run key."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", check_sources("generate.sources", self.sources))
        check_choices("generate.reference_corpora", self.reference_corpora, CORPORA)
        check_choices("generate.deflection_pairs", (self.deflection_pairs,), DEFLECTION_PAIRS)
        (probe_source,) = check_sources("generate.deflection_probe_source", (self.deflection_probe_source,))
        object.__setattr__(self, "deflection_probe_source", probe_source)
        for name, cls in (("local", LocalConfig), ("gemini", GeminiConfig), ("imported", ImportConfig)):
            if not isinstance(getattr(self, name), cls):
                raise EmolakeError(
                    f"generate.{name} = {getattr(self, name)!r}: use a {cls.__name__} ([generate.{name}])"
                )
        if not isinstance(self.runner, RunnerConfig):
            raise EmolakeError(f"generate.runner = {self.runner!r}: use a RunnerConfig ([runner])")
        check_positive("generate.deflection_targets", self.deflection_targets)
        if not 0.0 < self.temperature <= 2.0:
            raise EmolakeError(f"generate.temperature = {self.temperature} is out of range: use a value in (0, 2]")
        if self.min_words >= self.max_words:
            raise EmolakeError(f"generate.min_words ({self.min_words}) must be below max_words ({self.max_words})")
        if self.dialogue_min_words >= self.dialogue_max_words:
            raise EmolakeError(
                f"generate.dialogue_min_words ({self.dialogue_min_words}) must be below dialogue_max_words "
                f"({self.dialogue_max_words})"
            )
        if not 0.0 <= self.min_english < 1.0:
            raise EmolakeError(f"generate.min_english = {self.min_english}: use a share in [0, 1)")
        if not 0.0 < self.near_duplicate <= 1.0:
            raise EmolakeError(f"generate.near_duplicate = {self.near_duplicate}: use a Jaccard similarity in (0, 1]")

    def writer_sizes(self, writer: str) -> dict[str, int]:
        """The sizes one writer (`local` or `gemini`) is asked for, by size name (see WRITER_SIZES)."""
        if writer not in ("local", "gemini"):
            raise EmolakeError(f"writer {writer!r} has no sizes: use 'local' or 'gemini'")
        sizes = getattr(self, writer)
        return {size: getattr(sizes, size) for size in WRITER_SIZES}


@dataclass(frozen=True)
class ExtractConfig:
    common: Common
    corpora: tuple[str, ...] = ("emotional_story", "neutral_story", "neutral_dialogue", *SHORT_CORPORA, *PROMPT_CORPORA)
    """Corpora whose texts are run through the model."""
    whole_corpora: tuple[str, ...] = SHORT_CORPORA
    """Corpora averaged over every token but the first (short texts have fewer than `skip_tokens` tokens)."""
    prompt_corpora: tuple[str, ...] = PROMPT_CORPORA
    """Instruction corpora: wrapped in the model's chat template and read at its last token (segment `last`)."""
    span_corpora: tuple[str, ...] = ("deflection_dialogue", "speaker_dialogue")
    """Corpora averaged over exact speaker spans (masking speaker; each speaker) instead of from `skip_tokens` on."""
    layers: tuple[int, ...] | None = None
    """Layers to capture (None: every layer)."""
    skip_tokens: int = 50
    """Average from this token on (the paper's 50th token); position 0 is always left out."""
    max_tokens: int = 512
    """Texts are truncated to this many tokens."""
    batch_tokens: int = 4096
    """Token budget of one padded batch (batches are bucketed by length)."""
    shard_texts: int = 256
    """Texts per shard: the unit of checkpointing."""
    auto_batch: bool = False
    """On CUDA: measure once the largest batch (in tokens) that fits in free GPU memory, cache it, and use it instead
    of `batch_tokens` (which stays the CPU value and the floor)."""
    peak_tflops: float | None = None
    """The device's dense bf16 peak in TFLOP/s for the MFU the stage logs (None: looked up by CUDA device name)."""
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    """Where shards run (preset table `[runner]`, `--runner`); not part of the run key."""

    def __post_init__(self) -> None:
        check_choices("extract.corpora", self.corpora, CORPORA)
        check_choices("extract.span_corpora", self.span_corpora, CORPORA)
        check_choices("extract.whole_corpora", self.whole_corpora, CORPORA)
        check_choices("extract.prompt_corpora", self.prompt_corpora, CORPORA)
        check_layers("extract.layers", self.layers)
        if self.skip_tokens < 1:
            raise EmolakeError(f"extract.skip_tokens = {self.skip_tokens}: use 1 or more (position 0 is a sink)")
        check_positive("extract.max_tokens", self.max_tokens)
        check_positive("extract.batch_tokens", self.batch_tokens)
        check_positive("extract.shard_texts", self.shard_texts)
        if self.peak_tflops is not None and not self.peak_tflops > 0:
            raise EmolakeError(
                f"extract.peak_tflops = {self.peak_tflops}: use a positive TFLOP/s figure, or leave it out"
            )
        if not isinstance(self.runner, RunnerConfig):
            raise EmolakeError(f"extract.runner = {self.runner!r}: use a RunnerConfig ([runner])")
        if self.skip_tokens >= self.max_tokens:
            raise EmolakeError(f"extract.skip_tokens ({self.skip_tokens}) must be below max_tokens ({self.max_tokens})")


@dataclass(frozen=True)
class ProbesConfig:
    common: Common
    sources: tuple[str, ...] = ("reference",)
    """Build one probe set per text source (who wrote the texts); the `source` column tells them apart."""
    kinds: tuple[str, ...] = PROBE_KINDS
    """Probe kinds to build; a kind whose corpus was not extracted is skipped (and logged)."""
    baseline_corpora: tuple[str, ...] = ("neutral_story",)
    """Neutral corpora whose top principal components are projected out of expression probes."""
    dialogue_baseline_corpora: tuple[str, ...] = ("neutral_dialogue",)
    """Neutral corpora whose top principal components are projected out of dialogue probes."""
    short_baseline_corpora: tuple[str, ...] = ("neutral_short",)
    """Neutral corpora whose top principal components are projected out of `short` probes."""
    prompt_baseline_corpora: tuple[str, ...] = ("neutral_prompt",)
    """Neutral instructions: the baseline of `prompted` probes (projected out up to `prompt_baseline_variance`)."""
    baseline_variance: float = 0.5
    """Share of the baseline's variance whose components are projected out (paper: 0.5)."""
    prompt_baseline_variance: float = 0.0
    """The same for `prompted` probes: 0 keeps them as centred instruction states (arXiv 2604.04064's recipe)."""
    expression_space_variance: float = 0.99
    """Deflection probes are orthogonalised against the expression probes' components up to this variance."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", check_sources("probes.sources", self.sources))
        check_choices("probes.kinds", self.kinds, PROBE_KINDS)
        check_choices("probes.baseline_corpora", self.baseline_corpora, CORPORA)
        check_choices("probes.dialogue_baseline_corpora", self.dialogue_baseline_corpora, CORPORA)
        check_choices("probes.short_baseline_corpora", self.short_baseline_corpora, CORPORA)
        check_choices("probes.prompt_baseline_corpora", self.prompt_baseline_corpora, CORPORA)
        for name in ("baseline_variance", "prompt_baseline_variance", "expression_space_variance"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise EmolakeError(f"probes.{name} = {value}: use a value in [0, 1)")


@dataclass(frozen=True)
class IndexConfig:
    common: Common
    kinds: tuple[str, ...] = ("expression",)

    def __post_init__(self) -> None:
        check_choices("index.kinds", self.kinds, PROBE_KINDS)


@dataclass(frozen=True)
class EvaluateConfig:
    common: Common
    folds: int = 5
    """Held-out classification folds, split by topic."""
    sources: tuple[str, ...] = ("reference",)
    clusters: int = 10
    """k of the k-means clustering of each probe set."""
    lens_tokens: int = 10
    """Tokens listed at each end (top and bottom) of each probe's logit lens."""
    dose_emotions: tuple[str, ...] = ("afraid", "calm")
    """Emotions whose probe curves the dose-escalation check records."""
    model_checks: bool = True
    """Load the probed model for the logit lens, the dose curve and the implicit scenarios."""
    report: bool = True
    """Write the HTML report (`reports/<model>/report.html`) with its plots."""
    example_tokens: int = 1
    """Per-token cosines are stored for this many top examples of each expression, short and pooled probe and
    domain (`probe_examples`, the dashboard's Probe page); 0 stores none and does not load the model for them."""
    workers: int = 0
    """Processes that evaluate layers side by side (each with one BLAS thread); 0: one per CPU core. The figures do
    not depend on it: every layer is evaluated alone, from its own seeds."""

    def __post_init__(self) -> None:
        check_count("evaluate.workers", self.workers, 0, 256, " (0: one per core)")
        check_count("evaluate.folds", self.folds, 2, MAX_FOLDS, " (each fold holds out topics of every emotion)")
        object.__setattr__(self, "sources", check_sources("evaluate.sources", self.sources))
        check_count("evaluate.clusters", self.clusters, 2, 1000)
        check_count("evaluate.example_tokens", self.example_tokens, 0, 5)
        check_count("evaluate.lens_tokens", self.lens_tokens, 1, 100)
        from etl.catalog import emotions

        check_choices("evaluate.dose_emotions", self.dose_emotions, emotions())


@dataclass(frozen=True)
class Preset:
    name: str
    common: Common
    generate: GenerateConfig
    extract: ExtractConfig
    probes: ProbesConfig
    index: IndexConfig
    evaluate: EvaluateConfig
    steer: SteerConfig
    query_source: str = "reference"
    stage_configs: dict = field(default_factory=dict, repr=False)


STAGE_TYPES: dict[str, type] = {
    "generate": GenerateConfig,
    "extract": ExtractConfig,
    "probes": ProbesConfig,
    "index": IndexConfig,
    "evaluate": EvaluateConfig,
    "steer": SteerConfig,
}


def load_preset(
    name_or_path: str,
    lake: str | Path | None = None,
    model: str | None = None,
    overrides: typing.Iterable[str] = (),
) -> Preset:
    """Reads a preset by name (`tiny`, `default`, `full`) or path; `lake`/`model` override the file.

    `overrides` are `SECTION.KEY=VALUE` strings (`--set`), merged into the file's tables before anything is checked:
    VALUE is read as TOML (`3`, `0.5`, `true`, `"text"`, `[1, 2]`), or taken as a string when it is not valid TOML.
    """
    path = _preset_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EmolakeError(f"preset {path} is not valid TOML ({exc}): fix the file or pick tiny/default/full") from exc
    for item in (overrides,) if isinstance(overrides, str) else overrides:
        apply_override(raw, item)
    top_keys = {"model", "seed", "emotions", "query_source", "runner", *STAGE_TYPES}
    reject_unknown("preset", raw, top_keys)
    lake_dir = Path(lake or os.environ.get("EMOLAKE_LAKE") or "lake")
    if lake_dir.exists() and not lake_dir.is_dir():
        raise EmolakeError(f"the lake {lake_dir} is a file: pass --lake DIRECTORY (or set EMOLAKE_LAKE)")
    emotions = raw.get("emotions", 171)
    if isinstance(emotions, list):
        emotions = tuple(emotions)
    common = Common(
        model=model or raw.get("model", ""), lake=lake_dir, seed=raw.get("seed", 0), emotions=emotions, preset=path.stem
    )
    check_fields("preset", common, skip={"lake", "preset"})
    if not common.model:
        raise EmolakeError(f'preset {path} has no `model`: set model = "bundled:smollm2-135m-instruct"')
    runner = RunnerConfig(**table_fields(RunnerConfig, raw.get("runner", {}), "runner"))
    stages = {name: build(cls, raw.get(name, {}), common, name, runner) for name, cls in STAGE_TYPES.items()}
    (query_source,) = check_sources("query_source", (raw.get("query_source", "reference"),))
    return Preset(name=path.stem, common=common, query_source=query_source, stage_configs=stages, **stages)


def build(cls: type, values: dict, common: Common, section: str, runner: RunnerConfig | None = None):
    """Builds one stage config from a preset table, checking names and types of every field; stages that run
    shards get the top-level `[runner]` unless their own table sets one."""
    converted = table_fields(cls, values, section)
    if runner is not None and "runner" in {f.name for f in dataclasses.fields(cls)}:
        converted.setdefault("runner", runner)
    return cls(common=common, **converted)


def table_fields(cls: type, values: dict, section: str) -> dict:
    """A preset table's values as `cls`'s fields: unknown keys and wrong types are refused, nested tables (such as
    `[generate.local]`) are built into their own dataclass, lists become tuples."""
    if not isinstance(values, dict):
        raise EmolakeError(f"preset section [{section}] must be a table, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - {"common"}
    nested = {name: hints[name] for name in names if dataclasses.is_dataclass(hints[name])}
    for key in sorted(set(values) - names):
        prefix, _, rest = key.partition("_")
        if prefix in nested and rest in {f.name for f in dataclasses.fields(nested[prefix])}:
            raise EmolakeError(f"{section}.{key} has moved: write `{rest} = ...` under [{section}.{prefix}]")
    reject_unknown(section, values, names)
    converted = {}
    for key, value in values.items():
        if key in nested:
            converted[key] = nested[key](**table_fields(nested[key], value, f"{section}.{key}"))
            continue
        value = tuple(value) if isinstance(value, list) else value
        if not matches(value, hints[key]):
            raise EmolakeError(f"{section}.{key} = {value!r} has the wrong type: expected {hints[key]}")
        converted[key] = value
    return converted


def config_hash(config) -> str:
    """A short, stable hash of a config's values; the lake's location is not part of it (a moved lake stays done)."""
    values = dataclasses.asdict(config)
    values.get("common", {}).pop("lake", None)
    values.get("common", {}).pop("preset", None)
    values.pop("runner", None)  # where shards run does not change what they write
    payload = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _preset_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise EmolakeError(f"preset file {candidate} does not exist: pass a .toml path or tiny/default/full")
        return candidate
    path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
        raise EmolakeError(f"unknown preset {name_or_path!r}: use one of {known} or a path to a .toml file")
    return path
