"""The steering config: the sweep of `make steer` and the defaults of `emolake steer`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from etl.config.base import CORPORA, Common, check_choices, check_positive, check_sources
from etl.config.kinds import PROBE_KINDS
from etl.errors import EmolakeError

OPERATORS = ("add", "ablate", "add_normalised")
"""Steering operators (implemented in `etl.model.steer`); the first is the default everywhere."""
POSITIONS = ("all", "prompt", "generated")
"""Steered positions; the first is the default everywhere."""

STEER_KINDS = tuple(kind for kind in PROBE_KINDS if kind not in ("present_speaker", "other_speaker"))
"""Probe kinds that can steer: one vector per emotion (the speaker kinds label someone else's emotion)."""

NULL_KINDS = ("random", "shuffled")
"""The sweep's controls, steered and judged like the probe kinds: `random` adds a random unit direction (seeded by
emotion and layer), `shuffled` the vector of another emotion of the sweep's first probe kind (`Steerer.direction`).
Both should leave the judges' success near what chance agreement gives; `steering_best` never picks them."""

STEER_PROMPTS = (
    "Write a short story about a man waiting for a train.",
    "Describe what you see on your walk to work this morning.",
    "Tell me about the old house at the end of the street.",
    "Write a few sentences about a woman opening a letter.",
)


@dataclass(frozen=True)
class SteerConfig:
    """The steering sweep (`emolake steer-sweep`, `make steer`) and the defaults of `emolake steer`."""

    common: Common
    emotions: tuple[str, ...] = ("afraid", "calm", "happy", "sad")
    """Target emotions; each needs an expression probe in the lake."""
    strengths: tuple[float, ...] = (0.25, 0.5, 1.0)
    """Fractions of the mean residual-stream norm at the steered layer, measured on neutral text."""
    layers: tuple[int, ...] | None = None
    """Steered layers, one setting each (None: `etl.probes.policy.STEERING_DEPTH` of the model's depth, layer 12 of
    SmolLM2's 30)."""
    prompts: tuple[str, ...] = STEER_PROMPTS
    """User messages, wrapped in the model's chat template."""
    seeds: int = 2
    """Seeds per prompt (seed, seed + 1, ...); baseline and steered runs of a seed share every random draw."""
    kinds: tuple[str, ...] = ("expression",)
    """Probe kinds whose vectors steer, one setting each (the sweep); `emolake steer` uses the first."""
    operator: str = OPERATORS[0]
    """`add`, `ablate` or `add_normalised` (see etl/model/steer.py): `emolake steer`'s default and the sweep's."""
    positions: str = POSITIONS[0]
    """Steered positions: `all`, `prompt` or `generated`: `emolake steer`'s default and the sweep's."""
    sweep_operators: tuple[str, ...] = ()
    """Operators the sweep crosses, one setting each (empty: `operator` alone)."""
    sweep_positions: tuple[str, ...] = ()
    """Positions the sweep crosses, one setting each (empty: `positions` alone)."""
    source: str = "reference"
    """Probe source (who wrote the texts they were built from) whose probes steer and score."""
    score_layer: int | None = None
    """Probe layer that scores the outputs (None: the best evaluated layer)."""
    max_new_tokens: int = 48
    temperature: float = 0.7
    """0 decodes greedily."""
    top_p: float = 0.95
    batch_size: int = 32
    """Rows (prompt x seed x setting) generated together."""
    norm_corpus: str = "neutral_story"
    """Neutral corpus on which the residual norm per layer is measured (once; stored in `residual_norms`)."""
    norm_texts: int = 16
    max_perplexity_ratio: float = 2.0
    """Steered/unsteered perplexity at or above this is `explosive`; below it (and not repetitive) is `surgical`."""
    max_repetition: float = 0.5
    """Share of repeated token n-grams at or above which a text is `repetitive` (collapse)."""
    repetition_ngram: int = 3
    choice_positive: tuple[str, ...] = ("happy", "calm")
    """Positive emotions of the forced-choice contrasts (docs/steering.md), paired in order with `choice_negative`."""
    choice_negative: tuple[str, ...] = ("sad", "afraid")
    """Negative emotions of the forced-choice contrasts."""
    choice_strengths: tuple[float, ...] = (0.1, 0.25)
    """Strengths of the forced choice (fractions of the residual norm); empty: the sweep runs no choice experiment."""
    choice_random: int = 16
    """Random unit directions per strength: the forced choice's null (every pair of them is one null contrast)."""
    readers: tuple[str, ...] = ()
    """Other models (specs or slugs) whose probes in this lake read both texts of every run, reported beside the
    judges and never part of `judged_success` (docs/steering.md, "A third reader"); `make compare` puts both bundled
    models in one lake."""

    def __post_init__(self) -> None:
        from etl import catalog

        object.__setattr__(self, "strengths", tuple(float(s) for s in self.strengths))
        object.__setattr__(self, "choice_strengths", tuple(float(s) for s in self.choice_strengths))
        check_choices("steer.emotions", self.emotions, tuple(catalog.emotions()))
        check_choices("steer.operator", (self.operator, *self.sweep_operators), OPERATORS)
        check_choices("steer.positions", (self.positions, *self.sweep_positions), POSITIONS)
        check_choices("steer.kinds", self.kinds, STEER_KINDS + NULL_KINDS)
        if self.kinds and self.kinds[0] in NULL_KINDS:
            raise EmolakeError(
                f"steer.kinds = {list(self.kinds)} starts with a control: put a probe kind first (e.g. pooled); "
                "`emolake steer` and the shuffled control use it"
            )
        (source,) = check_sources("steer.source", (self.source,))
        object.__setattr__(self, "source", source)
        check_choices("steer.norm_corpus", (self.norm_corpus,), CORPORA)
        for name in ("emotions", "strengths", "prompts", "kinds"):
            if not getattr(self, name):
                raise EmolakeError(f"steer.{name} is empty: give at least one value")
        if any(not math.isfinite(s) or abs(s) > 100 for s in self.strengths):
            raise EmolakeError(
                f"steer.strengths = {self.strengths}: use finite numbers from -100 to 100 (norm fractions)"
            )
        if self.layers is not None and (not self.layers or min(self.layers) < 0):
            raise EmolakeError(f"steer.layers = {self.layers}: use layer numbers >= 0, or leave it out")
        self._check_choice()
        if any(not p.strip() for p in self.prompts):
            raise EmolakeError("steer.prompts has an empty prompt: remove it or write one")
        if any(not r.strip() for r in self.readers):
            raise EmolakeError(f"steer.readers = {list(self.readers)} has an empty name: give model specs or slugs")
        for name in ("seeds", "max_new_tokens", "batch_size", "norm_texts", "repetition_ngram"):
            check_positive(f"steer.{name}", getattr(self, name))
        if not 0.0 <= self.temperature <= 2.0:
            raise EmolakeError(f"steer.temperature = {self.temperature} is out of range: use a value in [0, 2]")
        if not 0.0 < self.top_p <= 1.0:
            raise EmolakeError(f"steer.top_p = {self.top_p} is out of range: use a value in (0, 1]")
        if not self.max_perplexity_ratio > 1.0:
            raise EmolakeError(f"steer.max_perplexity_ratio = {self.max_perplexity_ratio}: use a value above 1")
        if not 0.0 < self.max_repetition <= 1.0:
            raise EmolakeError(f"steer.max_repetition = {self.max_repetition}: use a value in (0, 1]")

    def _check_choice(self) -> None:
        from etl import catalog

        check_choices("steer.choice_positive", self.choice_positive + self.choice_negative, tuple(catalog.emotions()))
        if len(self.choice_positive) != len(self.choice_negative):
            raise EmolakeError(
                f"steer.choice_positive {list(self.choice_positive)} and choice_negative "
                f"{list(self.choice_negative)} pair up in order: give them the same length"
            )
        if any(not math.isfinite(s) or not 0 < s <= 10 for s in self.choice_strengths):
            raise EmolakeError(f"steer.choice_strengths = {self.choice_strengths}: use numbers in (0, 10]")
        if self.choice_strengths and self.choice_random < 2:
            raise EmolakeError(f"steer.choice_random = {self.choice_random}: use at least 2 (pairs make the null)")

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators the sweep runs."""
        return self.sweep_operators or (self.operator,)

    @property
    def position_sets(self) -> tuple[str, ...]:
        """The positions the sweep runs."""
        return self.sweep_positions or (self.positions,)
