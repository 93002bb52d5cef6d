"""Typed, validated stage configs, loaded from preset files (TOML) in `etl/presets/`.

A preset has top-level `model` and `seed` plus one table per stage; each table maps one to one onto a frozen
dataclass below. Unknown keys, wrong types and out-of-range values fail with a message naming the value and the fix.
Secrets (API keys) are never part of a config: they are read from the environment where they are used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import EmolakeError

PRESET_DIR = Path(__file__).parent / "presets"
CORPORA = ("emotional_story", "neutral_story", "neutral_dialogue", "deflection_dialogue", "speaker_dialogue")
SOURCES = ("reference", "local", "gemini")


@dataclass(frozen=True)
class Common:
    model: str
    """Model spec of the probed model: `bundled:NAME`, `tiny-random`, a Hugging Face id or a local directory."""
    lake: Path
    """Root of the lake."""
    seed: int = 0
    """Seed for every random choice (sampling, splits)."""
    emotions: int | tuple[str, ...] = 171
    """The first N emotions of the catalog, or an explicit list of emotion words."""


@dataclass(frozen=True)
class GenerateConfig:
    common: Common
    sources: tuple[str, ...] = ("reference",)
    """Where texts come from: `reference` (shipped corpus), `local` (the probed model writes), `gemini`."""
    reference_corpora: tuple[str, ...] = CORPORA
    """Which reference corpora to land."""
    reference_per_emotion: int | None = None
    """Emotional stories per emotion taken from the reference corpus (None: all)."""
    reference_neutral: int | None = None
    """Neutral stories and neutral dialogues taken from the reference corpus, each (None: all)."""
    local_stories_per_emotion: int = 3
    """Emotional stories the local model writes per emotion, each on a different topic."""
    local_neutral_stories: int = 30
    """Neutral stories the local model writes."""
    local_batch_size: int = 32
    local_max_new_tokens: int = 160
    temperature: float = 0.8
    min_words: int = 40
    """Texts shorter than this are rejected (reason `too_short`)."""
    max_words: int = 260

    def __post_init__(self) -> None:
        _check_choices("generate.sources", self.sources, SOURCES)
        _check_choices("generate.reference_corpora", self.reference_corpora, CORPORA)
        _check_positive("generate.local_batch_size", self.local_batch_size)
        _check_positive("generate.local_max_new_tokens", self.local_max_new_tokens)
        if not 0.0 < self.temperature <= 2.0:
            raise EmolakeError(f"generate.temperature = {self.temperature} is out of range: use a value in (0, 2]")
        if self.min_words >= self.max_words:
            raise EmolakeError(f"generate.min_words ({self.min_words}) must be below max_words ({self.max_words})")


@dataclass(frozen=True)
class ExtractConfig:
    common: Common
    corpora: tuple[str, ...] = ("emotional_story", "neutral_story", "neutral_dialogue")
    """Corpora whose texts are run through the model."""
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

    def __post_init__(self) -> None:
        _check_choices("extract.corpora", self.corpora, CORPORA)
        if self.skip_tokens < 1:
            raise EmolakeError(f"extract.skip_tokens = {self.skip_tokens}: use 1 or more (position 0 is a sink)")
        _check_positive("extract.max_tokens", self.max_tokens)
        _check_positive("extract.batch_tokens", self.batch_tokens)
        _check_positive("extract.shard_texts", self.shard_texts)
        if self.skip_tokens >= self.max_tokens:
            raise EmolakeError(f"extract.skip_tokens ({self.skip_tokens}) must be below max_tokens ({self.max_tokens})")


@dataclass(frozen=True)
class ProbesConfig:
    common: Common
    sources: tuple[str, ...] = ("reference",)
    """Build one probe set per text source (generator); the `source` column tells them apart."""
    baseline_corpora: tuple[str, ...] = ("neutral_story",)
    """Neutral corpora whose top principal components are projected out."""
    baseline_variance: float = 0.5
    """Share of the baseline's variance whose components are projected out (paper: 0.5)."""

    def __post_init__(self) -> None:
        _check_choices("probes.sources", self.sources, SOURCES)
        _check_choices("probes.baseline_corpora", self.baseline_corpora, CORPORA)
        if not 0.0 <= self.baseline_variance < 1.0:
            raise EmolakeError(f"probes.baseline_variance = {self.baseline_variance}: use a value in [0, 1)")


@dataclass(frozen=True)
class IndexConfig:
    common: Common
    kinds: tuple[str, ...] = ("expression",)


@dataclass(frozen=True)
class EvaluateConfig:
    common: Common
    folds: int = 5
    """Held-out classification folds, split by topic."""
    sources: tuple[str, ...] = ("reference",)

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise EmolakeError(f"evaluate.folds = {self.folds}: use 2 or more")
        _check_choices("evaluate.sources", self.sources, SOURCES)


@dataclass(frozen=True)
class Preset:
    name: str
    common: Common
    generate: GenerateConfig
    extract: ExtractConfig
    probes: ProbesConfig
    index: IndexConfig
    evaluate: EvaluateConfig
    query_source: str = "reference"
    stage_configs: dict = field(default_factory=dict, repr=False)


STAGE_TYPES: dict[str, type] = {
    "generate": GenerateConfig,
    "extract": ExtractConfig,
    "probes": ProbesConfig,
    "index": IndexConfig,
    "evaluate": EvaluateConfig,
}


def load_preset(name_or_path: str, lake: str | Path | None = None, model: str | None = None) -> Preset:
    """Reads a preset by name (`tiny`, `default`, `full`) or path; `lake`/`model` override the file."""
    path = _preset_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EmolakeError(f"preset {path} is not valid TOML ({exc}): fix the file or pick tiny/default/full") from exc
    top_keys = {"model", "seed", "emotions", "query_source", *STAGE_TYPES}
    _reject_unknown("preset", raw, top_keys)
    lake_dir = Path(lake or os.environ.get("EMOLAKE_LAKE") or "lake")
    emotions = raw.get("emotions", 171)
    if isinstance(emotions, list):
        emotions = tuple(emotions)
    common = Common(model=model or raw.get("model", ""), lake=lake_dir, seed=raw.get("seed", 0), emotions=emotions)
    _check_fields("preset", common, skip={"lake"})
    if not common.model:
        raise EmolakeError(f'preset {path} has no `model`: set model = "bundled:smollm2-135m-instruct"')
    stages = {name: build(cls, raw.get(name, {}), common, name) for name, cls in STAGE_TYPES.items()}
    query_source = raw.get("query_source", "reference")
    _check_choices("query_source", (query_source,), SOURCES)
    return Preset(name=path.stem, common=common, query_source=query_source, stage_configs=stages, **stages)


def build(cls: type, values: dict, common: Common, section: str):
    """Builds one stage config from a preset table, checking names and types of every field."""
    if not isinstance(values, dict):
        raise EmolakeError(f"preset section [{section}] must be a table, got {values!r}")
    names = {f.name for f in dataclasses.fields(cls)} - {"common"}
    _reject_unknown(section, values, names)
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    hints = typing.get_type_hints(cls)
    for key, value in converted.items():
        if not _matches(value, hints[key]):
            raise EmolakeError(f"{section}.{key} = {value!r} has the wrong type: expected {hints[key]}")
    return cls(common=common, **converted)


def config_hash(config) -> str:
    """A short, stable hash of a config's values; the lake's location is not part of it (a moved lake stays done)."""
    values = dataclasses.asdict(config)
    values.get("common", {}).pop("lake", None)
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


def _reject_unknown(section: str, values: dict, allowed: set[str]) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise EmolakeError(f"unknown key(s) {unknown} in [{section}]: valid keys are {sorted(allowed)}")


def _check_fields(section: str, config, skip: set[str]) -> None:
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if f.name in skip:
            continue
        value = getattr(config, f.name)
        if not _matches(value, hints[f.name]):
            raise EmolakeError(f"{section}.{f.name} = {value!r} has the wrong type: expected {hints[f.name]}")


def _matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _check_choices(name: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    bad = [v for v in values if v not in choices]
    if bad:
        raise EmolakeError(f"{name} has unknown value(s) {bad}: choose from {list(choices)}")


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise EmolakeError(f"{name} = {value!r}: use a positive integer")
