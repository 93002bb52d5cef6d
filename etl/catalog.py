"""The emotion catalog: the paper's 171 words, our groups, valence/arousal norms, topics and forbidden forms."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tomllib
from functools import cache

from etl import resources
from etl.errors import EmolakeError

DATA = resources.etl_data_dir()


@cache
def emotions() -> tuple[str, ...]:
    """The 171 emotion words, in the paper's order."""
    return tuple(line.strip() for line in (DATA / "emotions_171.txt").read_text().splitlines() if line.strip())


@cache
def groups() -> dict[str, tuple[str, ...]]:
    """Group name -> emotion words; every emotion is in exactly one group."""
    raw = tomllib.loads((DATA / "emotion_groups.toml").read_text())
    return {name: tuple(words) for name, words in raw.items()}


@cache
def group_of() -> dict[str, str]:
    return {emotion: name for name, words in groups().items() for emotion in words}


@cache
def norms() -> dict[str, dict[str, float]]:
    """Emotion -> {valence, arousal, dominance} (Warriner et al. 2013), for the 126 rated words."""
    with (DATA / "affect_norms_warriner2013.csv").open() as handle:
        return {
            row["word"]: {k: float(row[k]) for k in ("valence", "arousal", "dominance")}
            for row in csv.DictReader(handle)
        }


@cache
def topics() -> tuple[str, ...]:
    """Our 100 everyday story topics."""
    return tuple(line.strip() for line in (DATA / "topics.txt").read_text().splitlines() if line.strip())


@cache
def forms() -> dict[str, tuple[str, ...]]:
    """Emotion -> the word forms a story about it must not contain (the word, inflections, derivatives)."""
    path = DATA / "emotion_forms.json"
    listed = json.loads(path.read_text()) if path.exists() else {}
    return {e: tuple(sorted({e, *listed.get(e, ())})) for e in emotions()}


def select(spec: int | tuple[str, ...]) -> tuple[str, ...]:
    """Resolves a config's `emotions` (a count or a list of words) to emotion words, failing on unknown words."""
    if isinstance(spec, int):
        if not 2 <= spec <= len(emotions()):
            raise EmolakeError(f"emotions = {spec}: use a count between 2 and {len(emotions())} or a list of words")
        return emotions()[:spec]
    unknown = [e for e in spec if e not in emotions()]
    if unknown:
        raise EmolakeError(f"unknown emotion(s) {unknown}: see etl/data/emotions_171.txt for the 171 valid words")
    if len(set(spec)) != len(spec):
        raise EmolakeError(f"emotions = {list(spec)} names an emotion twice: list each once")
    if len(spec) < 2:
        # A probe is an emotion's mean minus the mean over emotions: with one emotion every probe is zero.
        raise EmolakeError(
            f"emotions = {list(spec)}: list at least 2 emotions (a probe is measured against the others)"
        )
    return tuple(spec)


def names_emotion(text: str, emotion: str) -> str | None:
    """The first forbidden form of `emotion` that `text` contains, or None."""
    words = " " + " ".join(re.findall(r"[a-z]+(?:[-'][a-z]+)*", text.lower())) + " "
    for form in forms().get(emotion, (emotion,)):
        if f" {form.lower()} " in words:
            return form
    return None


def topic_fold(topic: str, folds: int) -> int:
    """The held-out fold of a topic: a stable hash, so each emotion's topics spread over the folds."""
    digest = hashlib.sha256(topic.encode()).digest()
    return int.from_bytes(digest[:8], "little") % folds
