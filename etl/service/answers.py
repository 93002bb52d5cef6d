"""The answers of the JSON API, as plain dicts: what each route returns, computed the way the CLI computes it.

`nearest` and `classify` go through the probe set's micro-batcher to `Scorer.nearest`, `score` through
`etl.probes.token_scores.score_texts` (the function `emolake score` and the token viewer use), under the one lock
that guards the model (its capture hooks are shared, so two forward passes must never overlap). A text under
`MIN_TOKENS` tokens is answered with its warning: `warnings` (one per text, null where none) in `nearest`, `warning`
in each `classify` row and in `score`.
"""

from __future__ import annotations

import threading

from etl.lake import Lake
from etl.probes.scoring import classified
from etl.service import requests
from etl.service.scorers import Scorers, probe_sets

DEFAULT_WINDOW_S = 0.005


class Service:
    """One lake behind the API: defaults for requests that name no model or source, the scorers, the model lock."""

    def __init__(
        self,
        lake: Lake,
        model: str | None = None,
        source: str = "reference",
        window_s: float = DEFAULT_WINDOW_S,
        lock: threading.Lock | None = None,
        max_batch: int = requests.MAX_TEXTS,
    ) -> None:
        """`window_s` and `max_batch` (texts; 1: requests are never merged) shape the micro-batches (batching.py)."""
        self.lake, self.model, self.source, self.window_s = lake, model, source, window_s
        self.lock = lock or threading.Lock()
        """Held during every forward pass; `emolake serve` shares the dashboards' lock, as both use one model."""
        self.scorers = Scorers(lake, self.lock, window_s, max_batch)

    def texts(self, body: dict, one_text: bool = False) -> requests.TextsRequest:
        return requests.texts_request(body, self.model, self.source, one_text)

    def nearest(self, body: dict) -> dict:
        """The probe set, and `nearest`: one list of {emotion, score} for `text`, a list of them for `texts`."""
        request = self.texts(body)
        batcher = self.scorers.get(request.probes)
        found = batcher.nearest(request.texts, request.k, request.truncate)
        warnings = self.warnings(batcher.scorer, request.texts)
        answer = {"nearest": found[0] if request.single else found, "warnings": warnings}
        return batcher.scorer.probe_set.as_dict() | answer

    def classify(self, body: dict) -> dict:
        """The probe set, and the rows `emolake classify` writes: row_id, emotions, scores."""
        request = self.texts(body)
        batcher = self.scorers.get(request.probes)
        found = batcher.nearest(request.texts, request.k, request.truncate)
        warnings = self.warnings(batcher.scorer, request.texts)
        rows = [
            {"row_id": row} | classified(matches) | {"warning": warning}
            for row, (matches, warning) in enumerate(zip(found, warnings, strict=True))
        ]
        return batcher.scorer.probe_set.as_dict() | {"rows": rows}

    def score(self, body: dict) -> dict:
        """Per-token scores of one text: tokens (token_idx from 1, token, char_start, char_end), the emotions, and
        per token the projections (`scores`, what `emolake score` writes) and cosines (what the token viewer shows)."""
        from etl.model.load import load
        from etl.probes.token_scores import score_texts

        request = self.texts(body, one_text=True)
        scorer = self.scorers.get(request.probes).scorer
        key = (scorer.probe_set.kind, scorer.probe_set.layer)
        with self.lock:
            (scored,) = score_texts(load(scorer.model_spec), request.texts, {key: scorer.probes})
            (warning,) = scorer.warnings(request.texts)
        tokens = [
            {"token_idx": i + 1, "token": token, "char_start": start, "char_end": end}
            for i, (token, (start, end)) in enumerate(zip(scored.tokens, scored.offsets, strict=True))
        ]
        return scorer.probe_set.as_dict() | {
            "warning": warning,
            "emotions": scored.emotions[key],
            "tokens": tokens,
            "scores": [[float(v) for v in row] for row in scored.scores[key]],
            "cosines": [[round(float(v), 4) for v in row] for row in scored.cosines(key)],
        }

    def warnings(self, scorer, texts: list[str]) -> list[str | None]:
        """Each text's short-text warning (`Scorer.warnings`), under the model lock: the tokenizer's truncation
        state is shared with the forward passes, and a fast tokenizer used from two threads at once fails."""
        with self.lock:
            return scorer.warnings(texts)

    def probes(self) -> dict:
        return {"probe_sets": probe_sets(self.lake)}

    def health(self) -> dict:
        from etl import __version__

        return {
            "status": "ok",
            "version": __version__,
            "lake": str(self.lake.root),
            "scorers": self.scorers.stats(),
            "batch_window_ms": self.window_s * 1000,
            "max_batch": self.scorers.max_texts,
        }
