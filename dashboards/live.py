"""Per-token scores of pasted text for the dashboard: `EmoLake.token_scores` (etl/api, the facade over
`etl.probes.token_scores.score_texts`), serialised and cached.

One lock guards the model: the capture hooks live on the shared model object, so two forward passes at once would
each record the other's activations. Results are cached by (text, probe set), so moving between the heatmap, the
span ranking and other emotions of one text costs one forward pass.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from etl.api import EmoLake, ProbeSetId, check_texts
from etl.errors import EmolakeError
from etl.lake import Lake

MAX_CHARS = 20_000
CACHE_SIZE = 64


@dataclass
class LiveScores:
    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    scores: np.ndarray
    """(n_tokens, n_emotions) float32 cosines of each token's centred residual with each probe."""
    emotions: list[str]

    def ranks(self) -> np.ndarray:
        """(n_tokens, n_emotions): 1 for the emotion that scores highest on a token, n_emotions for the lowest."""
        return (-self.scores).argsort(axis=1).argsort(axis=1) + 1

    def span_ranking(self, start: int, end: int) -> list[tuple[str, float]]:
        """Emotions ranked by their mean score over tokens start..end (inclusive, clipped to the text)."""
        start, end = sorted((max(0, start), min(len(self.tokens) - 1, end)))
        means = self.scores[start : end + 1].mean(axis=0)
        order = np.argsort(-means, kind="stable")
        return [(self.emotions[i], float(means[i])) for i in order]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class LiveScorer:
    """Scores texts against one probe set at a time; thread-safe, with an LRU cache of recent results."""

    def __init__(self, lake: EmoLake | Lake, cache_size: int = CACHE_SIZE) -> None:
        """`lake`: the facade whose open probe sets and loaded model serve every request (a bare `Lake` gets one)."""
        self.api = lake if isinstance(lake, EmoLake) else EmoLake(lake, None, "reference")
        self.lake = self.api.lake
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, ProbeSetId], LiveScores] = OrderedDict()
        self._cache_size = cache_size
        self.forward_passes = 0

    @property
    def model_lock(self) -> threading.Lock:
        """The lock held during every forward pass here; the JSON API on the same server holds it too."""
        return self._lock

    def score(self, text: str, probe_set: ProbeSetId) -> LiveScores:
        """Per-token scores of `text` for every emotion of the probe set (position 0 is never scored)."""
        if not text or not text.strip():
            raise EmolakeError("paste some text to score")
        if len(text) > MAX_CHARS:
            raise EmolakeError(f"the text has {len(text)} characters: the viewer takes up to {MAX_CHARS}; split it")
        check_texts([text])  # invalid Unicode is refused before the model lock
        key = (text_key(text), probe_set)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            result = self._score_locked(text, probe_set)
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return result

    def _score_locked(self, text: str, probe_set: ProbeSetId) -> LiveScores:
        facade = self.api.using(probe_set.model, probe_set.source)
        (scored,) = facade.token_scores([text], probe_set.kind, probe_set.layer)
        self.forward_passes += 1
        if not scored.tokens:
            raise EmolakeError("the text is a single token: give at least two tokens of text")
        # Cosines, not raw projections: the scale `nearest` and `classify` print, so the viewer and the CLI agree.
        return LiveScores(text, scored.tokens, scored.offsets, scored.cosines, scored.emotions)
