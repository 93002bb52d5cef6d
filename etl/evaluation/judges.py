"""Judges of steered text that share neither weights nor probes with the steered model (docs/steering.md, "Judged
steering: pre-registration"): the NRC emotion lexicon and the lake's TF-IDF lexical baseline.

Each judge reads a text for a target emotion at the level fixed up front: the target's family (its catalog group) or,
where the judge has no such category, its valence; and reads the opposite valence, for side effects. A judge *agrees*
on a paired run when its target reading is strictly higher in the steered text than in the baseline: a tie, an empty
text or one without a word the judge knows does not agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from etl import catalog
from etl.evaluation.controls import WORD, TfidfCentroids
from etl.lake import Lake

JUDGES = ("nrc_lexicon", "tfidf_family")
"""The pre-registered judges, in the order `steering_runs` lists them."""
NRC_CATEGORIES = (
    "anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust", "positive", "negative",
)  # fmt: skip
NRC_FAMILIES = ("joy", "sadness", "fear", "anger", "disgust", "surprise")
"""Catalog groups with an NRC emotion of the same name; the lexicon reads the others' valence."""
NEUTRAL_VALENCE = 5.0
"""The middle of Warriner et al.'s 1-9 scale: a valence at or above it is positive."""
TRAINING_CORPORA = ("emotional_story", "short_text")
"""The shipped texts the TF-IDF judge is trained on (source `reference`)."""


@dataclass(frozen=True)
class Verdict:
    """One judge's reading of a paired run: the category it read, target and opposite readings of both texts."""

    judge: str
    label: str
    baseline: float
    steered: float
    baseline_opposite: float
    steered_opposite: float

    @property
    def agrees(self) -> bool:
        """Whether the target reading strictly rose (NaN on either side never agrees)."""
        return bool(self.steered > self.baseline)


@cache
def family_valence() -> dict[str, float]:
    """Group -> the mean Warriner valence of its rated words (NaN when none is rated)."""
    norms = catalog.norms()
    out = {}
    for group, words in catalog.groups().items():
        rated = [norms[w]["valence"] for w in words if w in norms]
        out[group] = float(np.mean(rated)) if rated else float("nan")
    return out


def is_positive(emotion: str) -> bool:
    """Whether an emotion's valence (Warriner; unrated: its family's mean) is at or above the scale's middle."""
    rated = catalog.norms().get(emotion)
    value = rated["valence"] if rated else family_valence()[catalog.group_of()[emotion]]
    return bool(value >= NEUTRAL_VALENCE)


def words(text: str) -> list[str]:
    """The text's words as the lexical baseline finds them (lower-cased, `WORD`)."""
    return WORD.findall(text.lower())


class LexiconJudge:
    """`nrc_lexicon`: the share of a text's words associated with each NRC category (NRCLex's lexicon, PyPI).

    The NRC Word-Emotion Association Lexicon is (C) National Research Council Canada, for research use; cite
    Mohammad and Turney (2013), "Crowdsourcing a Word-Emotion Association Lexicon" (etl/data/ATTRIBUTION.md)."""

    name = JUDGES[0]

    def __init__(self) -> None:
        from nrclex import NRCLex

        self._reader = NRCLex()

    def shares(self, text: str) -> dict[str, float]:
        """Category -> share of the text's words associated with it (NaN for a text without words)."""
        tokens = words(text)
        if not tokens:
            return dict.fromkeys(NRC_CATEGORIES, float("nan"))
        self._reader.load_token_list(tokens)
        counts = self._reader.raw_emotion_scores
        return {c: counts.get(c, 0) / len(tokens) for c in NRC_CATEGORIES}

    @staticmethod
    def label(emotion: str) -> str:
        family = catalog.group_of()[emotion]
        if family in NRC_FAMILIES:
            return family
        return "positive" if is_positive(emotion) else "negative"

    @staticmethod
    def opposite(emotion: str) -> str:
        return "negative" if is_positive(emotion) else "positive"

    def read(self, texts: Sequence[str], emotions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(target reading, opposite-valence reading) of each text for its emotion."""
        shares = [self.shares(text) for text in texts]
        target = np.array([s[self.label(e)] for s, e in zip(shares, emotions, strict=True)])
        opposite = np.array([s[self.opposite(e)] for s, e in zip(shares, emotions, strict=True)])
        return target, opposite


class TfidfJudge:
    """`tfidf_family`: the lexical baseline (TF-IDF nearest centroid) trained on texts labelled by emotion family; a
    text's reading of a family is its cosine with the family's centroid minus its mean cosine over all families."""

    name = JUDGES[1]

    def __init__(self, texts: Sequence[str], emotions: Sequence[str]) -> None:
        group_of = catalog.group_of()
        self.families = sorted({group_of[e] for e in emotions})
        index = {f: i for i, f in enumerate(self.families)}
        labels = np.array([index[group_of[e]] for e in emotions], dtype=np.int64)
        self._centroids = TfidfCentroids(list(texts), labels, len(self.families))
        valence = family_valence()
        self._positive = np.array([valence[f] >= NEUTRAL_VALENCE for f in self.families])
        self._rated = np.array([valence[f] == valence[f] for f in self.families])

    @staticmethod
    def label(emotion: str) -> str:
        return catalog.group_of()[emotion]

    def readings(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, n_families) centred cosines; NaN rows for texts without a word."""
        scores = self._centroids.scores(list(texts))
        centred = scores - scores.mean(axis=1, keepdims=True)
        empty = np.array([not words(t) for t in texts], dtype=bool)
        centred[empty] = np.nan
        return centred

    def read(self, texts: Sequence[str], emotions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(target reading, opposite-valence reading) of each text for its emotion (NaN: family not trained)."""
        readings = self.readings(texts) if len(texts) else np.zeros((0, len(self.families)))
        column = {f: i for i, f in enumerate(self.families)}
        target, opposite = np.full(len(texts), np.nan), np.full(len(texts), np.nan)
        for row, emotion in enumerate(emotions):
            family = self.label(emotion)
            if family in column:
                target[row] = readings[row, column[family]]
            others = self._rated & (self._positive != is_positive(emotion))
            if others.any():
                opposite[row] = readings[row, others].mean()
        return target, opposite


def shipped_texts(lake: Lake) -> tuple[list[str], list[str]]:
    """(texts, emotions) of the lake's shipped stories and short texts: what the TF-IDF judge is trained on."""
    from etl.errors import EmolakeError
    from etl.lake.texts import read_texts

    purpose = "training the TF-IDF judge"
    rows = read_texts(lake, TRAINING_CORPORA, purpose, source="reference", labelled=True)
    known = set(catalog.emotions())
    rows = [row for row in rows if row["emotion"] in known]
    if not rows:
        raise EmolakeError(f"the shipped texts name no emotion of the catalog for {purpose}: run `make generate`")
    return [row["text"] for row in rows], [row["emotion"] for row in rows]


def default_judges(lake: Lake) -> list:
    """The pre-registered judges, ready to read (the TF-IDF one trained on the lake's shipped texts)."""
    return [LexiconJudge(), TfidfJudge(*shipped_texts(lake))]


def judge_pairs(judges: Sequence, baselines: Sequence[str], steered: Sequence[str], emotions: Sequence[str]):
    """Per paired run, one Verdict per judge (in `judges` order)."""
    out: list[list[Verdict]] = [[] for _ in emotions]
    for judge in judges:
        base_target, base_opposite = judge.read(baselines, emotions)
        steer_target, steer_opposite = judge.read(steered, emotions)
        for row, emotion in enumerate(emotions):
            out[row].append(
                Verdict(
                    judge.name,
                    judge.label(emotion),
                    float(base_target[row]),
                    float(steer_target[row]),
                    float(base_opposite[row]),
                    float(steer_opposite[row]),
                )
            )
    return out


def judged_success(surgical: bool, verdicts: Sequence[Verdict]) -> bool:
    """The pre-registered rule: surgical and every pre-registered judge (`JUDGES`) agrees the target's family (or
    valence) rose. Other readers' verdicts (another model's probes, `etl.evaluation.readers`) do not count."""
    return bool(surgical) and judges_agree([v.judge for v in verdicts], [v.agrees for v in verdicts])


def judges_agree(names: Sequence[str], agrees: Sequence[bool]) -> bool:
    """Whether every pre-registered judge among `names` agrees (at least one must be there); the others are ignored."""
    judged = [a for name, a in zip(names, agrees, strict=True) if name in JUDGES]
    return bool(judged) and all(judged)
