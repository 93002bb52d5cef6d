"""What every stage config shares: the corpus and source names, `Common`, and the checks behind their messages.

Each check fails with an EmolakeError that names the bad value and says what to write instead.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from etl.errors import EmolakeError

STAGES = ("generate", "extract", "probes", "index", "evaluate", "steer")
"""Every stage, in pipeline order (the runner imports each one's module; reports list stages in this order)."""
PIPELINE = STAGES[:5]
"""What `run all` (and so `make all`) runs; the steering sweep is its own target (`make steer`)."""

PRESET_DIR = Path(__file__).parent / "presets"
WRITER_CORPORA = ("emotional_story", "neutral_story", "neutral_dialogue", "deflection_dialogue", "speaker_dialogue")
"""Corpora every writer (reference, local model, Gemini) can write."""
SHORT_CORPORA = ("short_text", "neutral_short")
"""First-person short texts (data/short_texts/): averaged over every token but the first."""
PROMPT_CORPORA = ("emotion_prompt", "neutral_prompt")
"""Instructions to write about an emotion (etl/data/prompt_templates.toml): read at their last token."""
CORPORA = WRITER_CORPORA + SHORT_CORPORA + PROMPT_CORPORA
SOURCES = ("reference", "local", "gemini")
IMPORT_PREFIX = "import:"
"""`import:NAME` names a corpus landed by `emolake import`; the lake stores it path-safe as `import--NAME`."""
IMPORT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DEFLECTION_PAIRS = ("probes", "norms")
# Sizes each writer (local model, Gemini) is asked for: `local_stories_per_emotion`, `gemini_neutral_stories`...
WRITER_SIZES = (
    "stories_per_emotion",
    "neutral_stories",
    "neutral_dialogues",
    "deflection_per_target",
    "speaker_dialogues",
)


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
    preset: str = "custom"
    """The preset these settings came from; names the steering sweep's partition. Not part of any run key."""

    def __post_init__(self) -> None:
        if isinstance(self.seed, int) and not 0 <= self.seed < 2**32:
            raise EmolakeError(f"seed = {self.seed}: use a whole number from 0 to {2**32 - 1}")
        if isinstance(self.emotions, (int, tuple)) and not isinstance(self.emotions, bool):
            from etl import catalog

            catalog.select(self.emotions)  # unknown words, a bad count, repeats and a single emotion are refused


def reject_unknown(section: str, values: dict, allowed: set[str]) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise EmolakeError(f"unknown key(s) {unknown} in [{section}]: valid keys are {sorted(allowed)}")


def check_fields(section: str, config, skip: set[str]) -> None:
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if f.name in skip:
            continue
        value = getattr(config, f.name)
        if not matches(value, hints[f.name]):
            raise EmolakeError(f"{section}.{f.name} = {value!r} has the wrong type: expected {hints[f.name]}")


def matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(matches(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def check_choices(name: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    bad = [v for v in values if v not in choices]
    if bad:
        raise EmolakeError(f"{name} has unknown value(s) {bad}: choose from {list(choices)}")


def import_source(name: str) -> str:
    """The lake's value of the source `import:NAME`: the partition value of the name (`import--NAME`)."""
    if not IMPORT_NAME.match(name):
        raise EmolakeError(
            f"import name {name!r} is not allowed: use lower-case letters, digits, '-' or '_' (e.g. paper)"
        )
    return f"import--{name}"


def canonical_source(value: str) -> str:
    """A source as the lake stores it: `import:NAME` (or `import--NAME`) becomes `import--NAME`; others unchanged."""
    for prefix in (IMPORT_PREFIX, "import--"):
        if value.startswith(prefix):
            return import_source(value.removeprefix(prefix))
    return value


def check_sources(name: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """Sources of a config field, canonical: the writers' names or `import:NAME`; anything else is refused."""
    bad = [v for v in values if not (v in SOURCES or v.startswith((IMPORT_PREFIX, "import--")))]
    if bad:
        raise EmolakeError(f"{name} has unknown value(s) {bad}: choose from {list(SOURCES)} or import:NAME")
    return tuple(canonical_source(v) for v in values)


def check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise EmolakeError(f"{name} = {value!r}: use a positive integer")


def check_count(name: str, value, low: int, high: int, note: str = "") -> None:
    """Refuses a non-integer or one outside [low, high], naming the value and the range."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise EmolakeError(f"{name} = {value!r}: use an integer from {low} to {high}{note}")


def check_layers(name: str, layers: tuple[int, ...] | None) -> None:
    """None (every layer) or layer numbers; an empty list is refused even with --force: nothing can run on it."""
    if layers is not None and (not layers or min(layers) < 0):
        raise EmolakeError(f"{name} = {list(layers)}: list layer numbers from 0, e.g. [1, 2], or leave it out")
