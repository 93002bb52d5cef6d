"""Paired steering runs: the unsteered and the steered continuation of a prompt from one seed, measured alike.

Shared by `emolake steer`, the sweep and the dashboard. Reads probes (the steering directions and the probe set that
scores the outputs) and the residual norms from the lake; writes nothing except, once, the residual norms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from etl.config import SteerConfig
from etl.config.steer import NULL_KINDS
from etl.errors import EmolakeError
from etl.lake import Lake
from etl.model.generate import encode_prompts, generate, stop_ids
from etl.model.perplexity import perplexities
from etl.model.steer import Intervention
from etl.steering.judging import regime, repetition_rate

KIND = "expression"
"""The kind whose probes read the outputs (the own-probe reading), and the default steering kind."""
SCORE_BATCH = 16


MAX_STRENGTH = 100.0
"""Strengths are fractions of the layer's mean residual norm: past this the model only emits noise."""
MAX_PROMPT_CHARS = 4_000
"""Longer prompts are refused before the model is loaded or locked."""


@dataclass(frozen=True)
class Setting:
    emotion: str
    layer: int
    strength: float
    operator: str = "add"
    positions: str = "all"
    kind: str = KIND
    """The probe kind whose vector is added."""


def check_request(emotion: str, strength, prompt: str, emotions: tuple[str, ...] | None = None) -> float:
    """Refuses a steering request before anything is loaded, locked or written; returns the strength as a float.

    `emotions` are those with probes (default: the catalogue's 171)."""
    import math

    from etl import catalog

    known = emotions if emotions is not None else catalog.emotions()
    if emotion not in known:
        raise EmolakeError(f"--emotion {emotion!r} has no probe: use one of the 171 words in etl/data/emotions_171.txt")
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise EmolakeError(f"strength {strength!r} is not a number: use e.g. 0.5 (a fraction of the norm)") from None
    if not math.isfinite(value) or abs(value) > MAX_STRENGTH:
        raise EmolakeError(f"strength {strength!r}: use a finite number from -{MAX_STRENGTH:g} to {MAX_STRENGTH:g}")
    if not isinstance(prompt, str) or not prompt.strip():
        raise EmolakeError("the prompt is empty: write a prompt to steer")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise EmolakeError(f"the prompt has {len(prompt):,} characters: the limit is {MAX_PROMPT_CHARS:,}")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise EmolakeError("the prompt is not valid Unicode: pass UTF-8 text") from None
    return value


@dataclass(frozen=True)
class Case:
    prompt: str
    seed: int


@dataclass
class Output:
    text: str
    new_ids: list[int]
    scores: np.ndarray
    """Mean per-token probe score per emotion over the output (NaN when the output has no scored token)."""
    trace: object | None
    """The per-token `TextScores` of the output (None when it is empty)."""
    perplexity: float
    repetition: float


@dataclass
class Comparison:
    setting: Setting
    case: Case
    baseline: Output
    steered: Output
    emotions: list[str]
    target_delta: float
    perplexity_ratio: float
    regime: str
    success: bool

    @property
    def target(self) -> int:
        return self.emotions.index(self.setting.emotion)


class Steerer:
    """A model with its probes, residual norms and sampling settings, ready to run paired comparisons."""

    def __init__(self, lake: Lake, loaded, config: SteerConfig, store_norms: bool = True) -> None:
        from etl.steering.recipe import norms

        self.lake, self.loaded, self.config = lake, loaded, config
        self.score_layer = resolve_score_layer(lake, loaded.slug, config)
        self.reader = self._probes([self.score_layer], KIND)[(KIND, self.score_layer)]
        self.emotions = self.reader.emotions
        self.norms = norms(lake, loaded, config, store=store_norms)
        self._directions: dict[tuple[str, int], object] = {}

    def _probes(self, layers: list[int], kind: str):
        from etl.probes.stored import read_layers

        return read_layers(self.lake, self.loaded.slug, self.config.source, [kind], layers)

    def direction(self, emotion: str, layer: int, kind: str = KIND) -> np.ndarray:
        """The unit probe of `emotion` at `layer` of `kind` (default: expression): the vector that is added; for a
        control kind (`NULL_KINDS`), its null direction (`null_direction`)."""
        if kind in NULL_KINDS:
            return self.null_direction(emotion, layer, kind)
        if (kind, layer) not in self._directions:
            found = self._probes([layer], kind).get((kind, layer))
            if found is None:
                raise EmolakeError(f"no {kind} probes at layer {layer} for {self.loaded.slug}: steer a probed layer")
            self._directions[(kind, layer)] = found
        probes = self._directions[(kind, layer)]
        if emotion not in probes.emotions:
            shown = ", ".join(probes.emotions[:12]) + (", ..." if len(probes.emotions) > 12 else "")
            raise EmolakeError(f"emotion {emotion!r} has no probe at layer {layer}: choose a probed one ({shown})")
        return probes.vectors[probes.emotions.index(emotion)]

    def null_direction(self, emotion: str, layer: int, kind: str) -> np.ndarray:
        """`shuffled`: the vector of the emotion half the probe list away (a fixed derangement) in the sweep's first
        probe kind; `random`: a unit Gaussian direction seeded by (emotion, layer), the same on every machine."""
        real = self.config.kinds[0]
        self.direction(emotion, layer, real)  # refuses an emotion or layer without probes, as a probe kind would
        probes = self._directions[(real, layer)]
        if kind == "shuffled":
            n = len(probes.emotions)
            return probes.vectors[(probes.emotions.index(emotion) + n // 2) % n]
        seed = int.from_bytes(hashlib.sha256(f"{emotion}|{layer}".encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(probes.vectors.shape[1])
        return (vector / np.linalg.norm(vector)).astype(probes.vectors.dtype)

    def run(self, pairs: Sequence[tuple[Setting, Case]], progress: Callable[[int], None] | None = None):
        """One Comparison per (setting, case); baselines are generated once per case and shared."""
        for setting, _ in pairs:
            self.direction(setting.emotion, setting.layer, setting.kind)
        cases = list(dict.fromkeys(case for _, case in pairs))
        baselines = self._outputs(cases, self._generate(cases, [None] * len(cases), progress))
        baseline_of = dict(zip(cases, baselines, strict=True))
        steered_cases = [case for _, case in pairs]
        steered = self._outputs(steered_cases, self._generate(steered_cases, [s for s, _ in pairs], progress))
        return [
            self._compare(setting, case, baseline_of[case], output)
            for (setting, case), output in zip(pairs, steered, strict=True)
        ]

    def _generate(self, cases: list[Case], settings: list[Setting | None], progress):
        """(prompt ids, new ids, text) per row, batched by steering site so that one batch shares its hooks."""
        config = self.config
        results: list[tuple | None] = [None] * len(cases)
        groups: dict[tuple, list[int]] = {}
        for row, setting in enumerate(settings):
            key = None if setting is None else (setting.layer, setting.operator, setting.positions)
            groups.setdefault(key, []).append(row)
        for key, rows in groups.items():
            for begin in range(0, len(rows), config.batch_size):
                batch = rows[begin : begin + config.batch_size]
                prompt_ids = encode_prompts(self.loaded.tokenizer, [cases[r].prompt for r in batch])
                interventions, positions = self._interventions(key, [settings[r] for r in batch])
                out = generate(
                    self.loaded,
                    prompt_ids,
                    [cases[r].seed for r in batch],
                    config.max_new_tokens,
                    config.temperature,
                    config.top_p,
                    interventions,
                    positions,
                )
                for i, r in enumerate(batch):
                    results[r] = (out.prompt_ids[i], out.new_ids[i], out.texts[i])
                if progress is not None:
                    progress(len(batch))
        return results

    def _interventions(self, key, settings: list[Setting | None]) -> tuple[list[Intervention], str]:
        if key is None:
            return [], "all"
        layer, operator, positions = key
        vectors = np.stack([self.direction(s.emotion, layer, s.kind) for s in settings])
        strengths = np.array([s.strength for s in settings], dtype=np.float32)
        return [Intervention(layer, vectors, strengths, self.norms[layer], operator)], positions

    def _outputs(self, cases: list[Case], generated: list[tuple]) -> list[Output]:
        """Scores, perplexity (unsteered model) and repetition of each generated continuation."""
        prompt_ids = [g[0] for g in generated]
        new_ids = [g[1] for g in generated]
        texts = [g[2] for g in generated]
        ppl = perplexities(self.loaded, prompt_ids, new_ids)
        traces = self._traces([c.prompt for c in cases], texts)
        stops = stop_ids(self.loaded)
        outputs = []
        for i, text in enumerate(texts):
            trace = traces.get(i)
            per_token = None if trace is None else trace.scores[(KIND, self.score_layer)]
            scores = (
                per_token.mean(axis=0)
                if per_token is not None and len(per_token)
                else np.full(len(self.emotions), np.nan, dtype=np.float32)
            )
            content = [t for t in new_ids[i] if t not in stops]
            repetition = repetition_rate(content, self.config.repetition_ngram)
            outputs.append(Output(text, new_ids[i], scores.astype(np.float32), trace, float(ppl[i]), repetition))
        return outputs

    def _traces(self, prompts: list[str], texts: list[str]) -> dict[int, object]:
        """Per-token scores of each non-empty continuation, read in its chat context and cut to its own tokens.

        In context, because the first tokens of a text on its own carry huge norms (attention sinks beyond
        position 0 on SmolLM2) that would swamp an output's mean; the prompt is the same for both runs.
        """
        from etl.model.generate import chat_prompt
        from etl.probes.token_scores import score_texts

        probe_set = {(KIND, self.score_layer): self.reader}
        rows = [i for i, text in enumerate(texts) if text.strip()]
        traces = {}
        for begin in range(0, len(rows), SCORE_BATCH):
            batch = rows[begin : begin + SCORE_BATCH]
            prefixes = [chat_prompt(self.loaded.tokenizer, prompts[r]) for r in batch]
            scored = score_texts(self.loaded, [p + texts[r] for p, r in zip(prefixes, batch, strict=True)], probe_set)
            for row, prefix, trace in zip(batch, prefixes, scored, strict=True):
                traces[row] = continuation_only(trace, len(prefix))
        return traces

    def _compare(self, setting: Setting, case: Case, baseline: Output, steered: Output) -> Comparison:
        target = self.emotions.index(setting.emotion)
        delta = float(steered.scores[target] - baseline.scores[target])
        ratio = steered.perplexity / baseline.perplexity if baseline.perplexity > 0 else float("nan")
        label = regime(ratio, steered.repetition, self.config.max_perplexity_ratio, self.config.max_repetition)
        return Comparison(
            setting, case, baseline, steered, self.emotions, delta, ratio, label, label == "surgical" and delta > 0
        )


def continuation_only(trace, start: int):
    """The tokens of a `TextScores` that begin at or after character `start`, offsets made relative to it."""
    from etl.probes.token_scores import TextScores

    keep = [i for i, (begin, _) in enumerate(trace.offsets) if begin >= start]
    first = keep[0] if keep else len(trace.offsets)
    return TextScores(
        tokens=trace.tokens[first:],
        offsets=[(b - start, e - start) for b, e in trace.offsets[first:]],
        scores={key: value[first:] for key, value in trace.scores.items()},
        emotions=trace.emotions,
        norms={key: value[first:] for key, value in trace.norms.items()},
    )


def steered_layers(config: SteerConfig, n_layers: int) -> tuple[int, ...]:
    """The configured layers, or `etl.probes.policy.steering_layer`; each must exist in the model."""
    from etl.probes.policy import steering_layer

    layers = config.layers if config.layers is not None else (steering_layer(n_layers),)
    bad = [layer for layer in layers if layer >= n_layers]
    if bad:
        raise EmolakeError(f"steer.layers {bad} do not exist: the model has layers 0..{n_layers - 1}")
    return layers


def compare_once(config: SteerConfig, emotion: str, strength: float, prompt: str, layer: int | None, seed: int | None):
    """`emolake steer`: one paired run of `config`'s model (strength checked by `check_request`) with the steering
    recipe of `config` (`etl.steering.recipe.resolve`: kind, `layer` or the config's, norms), from `seed` (default:
    the config's); as `report` gives it."""
    from etl.model.load import load
    from etl.steering.recipe import resolve

    seed = seed if seed is not None else config.common.seed
    if not 0 <= seed < 2**32:
        raise EmolakeError(f"--seed {seed}: use a whole number from 0 to {2**32 - 1}")
    loaded = load(config.common.model)
    lake = Lake(config.common.lake)
    recipe = resolve(lake, loaded, config, layer=layer, store=True)
    steerer = Steerer(lake, loaded, config)
    setting = Setting(emotion, recipe.layer, strength, config.operator, config.positions, recipe.kind)
    (result,) = steerer.run([(setting, Case(prompt, seed))])
    return report(result, steerer)


def report(result: Comparison, steerer: Steerer) -> dict:
    """A comparison as plain values, rounded: its measures, the scoring layer and the steered layer's norm (`emolake
    steer --json`)."""
    return measures(result, 4) | {
        "score_layer": steerer.score_layer,
        "norm": number(steerer.norms[result.setting.layer], 4),
    }


def measures(c: Comparison, digits: int | None = None) -> dict:
    """The setting, the case, both texts, the target's scores, perplexities and the verdicts of a comparison, each
    figure through `number`: what `emolake steer` prints and every `steering_runs` row holds."""
    s = c.setting
    return {
        "emotion": s.emotion,
        "layer": s.layer,
        "strength": s.strength,
        "operator": s.operator,
        "positions": s.positions,
        "kind": s.kind,
        "seed": c.case.seed,
        "prompt": c.case.prompt,
        "baseline": c.baseline.text,
        "steered": c.steered.text,
        "baseline_target": number(c.baseline.scores[c.target], digits),
        "steered_target": number(c.steered.scores[c.target], digits),
        "target_delta": number(c.target_delta, digits),
        "baseline_perplexity": number(c.baseline.perplexity, digits),
        "steered_perplexity": number(c.steered.perplexity, digits),
        "perplexity_ratio": number(c.perplexity_ratio, digits),
        "repetition_rate": number(c.steered.repetition, digits),
        "regime": c.regime,
        "success": c.success,
    }


def number(value, digits: int | None = None) -> float | None:
    """A float (rounded to `digits` if given), or None for NaN (Parquet null reads back as SQL NULL, which aggregates
    skip; JSON has no NaN)."""
    value = float(value)
    if value != value:
        return None
    return value if digits is None else round(value, digits)


def resolve_score_layer(lake: Lake, model: str, config: SteerConfig) -> int:
    """The probe layer that reads outputs: `score_layer` if set, else the best evaluated layer of the lake."""
    from etl.probes.policy import best_layer

    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` before steering")
    return best_layer(lake, model, config.source, KIND, config.score_layer)
