"""Settings that would make a stage build nothing, or replace committed data with nothing: refused unless `--force`.

Each is a valid value (so the dataclasses accept it), but a run with it records a finished stage that wrote nothing,
and the reference corpus and the probes stage rewrite their datasets whole, so an empty selection deletes what the
lake holds. `emolake run` calls `refuse_destructive` before any stage runs.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Iterable

from etl.errors import EmolakeError

if typing.TYPE_CHECKING:
    from etl.config import EvaluateConfig, ExtractConfig, GenerateConfig, IndexConfig, Preset, ProbesConfig

log = logging.getLogger("emolake")


def _generate(config: GenerateConfig) -> list[str]:
    out = []
    if not config.sources:
        out.append('generate.sources = [] lands no texts: list a source, e.g. ["reference"]')
    if "reference" in config.sources:
        corpora = config.reference_corpora
        if not corpora:
            out.append(
                "generate.reference_corpora = [] lands no reference texts: list corpora, or drop reference from "
                "generate.sources"
            )
        if config.reference_per_emotion == 0 and "emotional_story" in corpora:
            out.append(
                "generate.reference_per_emotion = 0 lands no emotional stories and removes the committed ones: "
                "use 1 or more, or leave it out for all"
            )
        if config.reference_neutral == 0 and any(c.startswith("neutral") for c in corpora):
            out.append(
                "generate.reference_neutral = 0 lands no neutral texts and removes the committed ones: "
                "use 1 or more, or leave it out for all"
            )
    for writer in ("local", "gemini"):
        if writer in config.sources and not any(config.writer_sizes(writer).values()):
            out.append(
                f"every size of [generate.{writer}] is 0, so source {writer} writes no texts: set one, "
                f"e.g. generate.{writer}.stories_per_emotion=3, or drop {writer} from generate.sources"
            )
    return out


def _extract(config: ExtractConfig) -> list[str]:
    if config.corpora:
        return []
    return ['extract.corpora = [] extracts nothing: list corpora, e.g. ["emotional_story", "neutral_story"]']


def _probes(config: ProbesConfig) -> list[str]:
    out = []
    if not config.kinds:
        out.append(
            'probes.kinds = [] builds no probe set and deletes the committed ones: list kinds, e.g. ["expression"]'
        )
    if not config.sources:
        out.append('probes.sources = [] builds no probe set: list text sources, e.g. ["reference"]')
    return out


def _index(config: IndexConfig) -> list[str]:
    if config.kinds:
        return []
    return ['index.kinds = [] builds no search index: list probe kinds, e.g. ["expression"]']


def _evaluate(config: EvaluateConfig) -> list[str]:
    if config.sources:
        return []
    return ['evaluate.sources = [] evaluates no probe set: list probe sources, e.g. ["reference"]']


CHECKS: dict[str, Callable[[typing.Any], list[str]]] = {
    "generate": _generate,
    "extract": _extract,
    "probes": _probes,
    "index": _index,
    "evaluate": _evaluate,
}
"""The checks of each stage; a stage that is not run is not checked (its settings write nothing)."""


def destructive_settings(preset: Preset, stages: Iterable[str]) -> list[str]:
    """One line per setting of the given stages that would build nothing or delete committed data."""
    return [problem for stage in stages if stage in CHECKS for problem in CHECKS[stage](preset.stage_configs[stage])]


def refuse_destructive(preset: Preset, stages: Iterable[str], force: bool = False) -> None:
    """Raises naming each such setting and its fix, unless `force` (then each is logged as a warning)."""
    problems = destructive_settings(preset, stages)
    if problems and not force:
        raise EmolakeError(f"{'; '.join(problems)} (or pass --force to run it anyway)")
    for problem in problems:
        log.warning("--force given, so running anyway: %s", problem)
