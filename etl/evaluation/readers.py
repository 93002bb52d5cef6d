"""Another model's probes as a reader of steered text (docs/steering.md, "A third reader"): reported beside the
pre-registered judges (`etl.evaluation.judges`), never part of `judged_success`.

A reader reads a text as `emolake nearest --model M` does: M's default probe set, the text alone, centred on the mean
emotional text of its form, its cosine with each unit probe. Its target reading is the cosine with the target
emotion's own probe; its opposite reading the mean cosine with the probes of the opposite valence. Reads the probes,
their index and the reader model from the lake; writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from etl.errors import EmolakeError
from etl.evaluation.judges import is_positive
from etl.lake import Lake

PREFIX = "model:"
"""Reader names are `model:<slug>`, beside the judges' names in `steering_runs.judges`."""


class ModelReader:
    """One other model's default probe set, opened for reading texts (`etl.probes.scoring.Scorer`)."""

    def __init__(self, lake: Lake, model: str, source: str) -> None:
        from etl.probes.scoring import open_scorer

        self._scorer = open_scorer(lake, model, source)
        self.name = PREFIX + self._scorer.probe_set.model
        vectors = np.asarray(self._scorer.probes.vectors, dtype=np.float64)
        self._unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self._emotions = list(self._scorer.emotions)
        self._positive = np.array([is_positive(e) for e in self._emotions])

    @staticmethod
    def label(emotion: str) -> str:
        return emotion

    def cosines(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, n_emotions) cosines; NaN rows for texts with no token to read after the first."""
        from etl.model.load import load

        out = np.full((len(texts), len(self._emotions)), np.nan)
        tokenizer = load(self._scorer.model_spec).tokenizer
        ids = tokenizer(list(texts), add_special_tokens=True)["input_ids"] if texts else []
        rows = [i for i, (text, found) in enumerate(zip(texts, ids, strict=True)) if text.strip() and len(found) > 1]
        if rows:
            x = np.asarray(self._scorer.vectors([texts[i] for i in rows], truncate=True), dtype=np.float64)
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            out[rows] = (x / np.where(norms == 0, 1, norms)) @ self._unit.T
        return out

    def read(self, texts: Sequence[str], emotions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(target reading, opposite-valence reading) of each text for its emotion (NaN: no probe of it)."""
        cosines = self.cosines(texts)
        column = {e: i for i, e in enumerate(self._emotions)}
        target, opposite = np.full(len(texts), np.nan), np.full(len(texts), np.nan)
        for row, emotion in enumerate(emotions):
            if emotion in column:
                target[row] = cosines[row, column[emotion]]
            others = self._positive != is_positive(emotion)
            if others.any():
                opposite[row] = cosines[row, others].mean()
        return target, opposite


def model_readers(lake: Lake, specs: Sequence[str], steered: str, source: str) -> list[ModelReader]:
    """A reader per spec of `[steer] readers`, refused before anything runs when it names the steered model or
    has no probes in the lake."""
    from etl.model.load import model_slug

    readers = []
    for spec in specs:
        if model_slug(spec) == steered:
            raise EmolakeError(
                f"steer.readers names {spec!r}, the steered model: name another model whose probes are in the lake"
            )
        try:
            readers.append(ModelReader(lake, spec, source))
        except EmolakeError as exc:
            raise EmolakeError(
                f"steer.readers: {spec!r} cannot read ({exc}); build its probes in this lake first, e.g. "
                f"`emolake run all --model {spec}`"
            ) from None
    return readers
