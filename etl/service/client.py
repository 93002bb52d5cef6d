"""`emolake.connect(url)` and `emolake nearest --server`: a running `emolake serve` seen through the methods of
`emolake.open(lake)`. The answers are the server's (the same scorer as the CLI), sent as JSON with urllib: no
dependency, and no model in this process.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence

from etl.errors import EmolakeError, warn_short

MAX_TEXTS = 64
"""Texts per request: the server's limit (`etl.service.requests.MAX_TEXTS`); longer lists go in several requests."""


class RemoteLake:
    """A server's API: `nearest`, `classify`, `score` return what `EmoLake`'s methods and `emolake classify` do."""

    def __init__(self, url: str, model: str | None = None, source: str = "reference", timeout: float = 300) -> None:
        if not url.startswith(("http://", "https://")):
            raise EmolakeError(f"server {url!r}: give its URL, e.g. http://127.0.0.1:8050")
        self.url, self.model, self.source, self.timeout = url.rstrip("/"), model, source, timeout

    def __repr__(self) -> str:
        return f"emolake.connect({self.url!r}, source={self.source!r})"

    def post(self, route: str, body: dict) -> dict:
        """POSTs `body` (with this client's model and source unless it names them) to /api/v1/ROUTE; the answer."""
        body = {"model": self.model, "source": self.source} | body
        data = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
        return self.request(route, data)

    def get(self, route: str) -> dict:
        return self.request(route, None)

    def request(self, route: str, data: bytes | None) -> dict:
        """One call; a 4xx or 5xx is raised as an EmolakeError with the server's one-line message."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/{route}", data=data, method="GET" if data is None else "POST"
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise EmolakeError(f"the server answered {exc.code}: {server_message(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmolakeError(f"cannot reach {self.url} ({reason}): start it with `emolake serve`") from None

    def nearest(
        self,
        texts: str | Sequence[str],
        k: int = 5,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
    ):
        """As `EmoLake.nearest`: one list of {emotion, score} for one text, one list per text for a list; the server's
        warnings (texts under `MIN_TOKENS` tokens) are raised as `ShortTextWarning`s."""
        asked = {"k": k, "kind": kind, "layer": layer, "truncate": truncate or None}
        if isinstance(texts, str):
            answer = self.post("nearest", {"text": texts} | asked)
            warn_short([texts], answer.get("warnings") or [None])
            return answer["nearest"]
        found = []
        for chunk in chunks(texts):
            answer = self.post("nearest", {"texts": chunk} | asked)
            warn_short(chunk, answer.get("warnings") or [None] * len(chunk))
            found += answer["nearest"]
        return found

    def classify(
        self,
        texts: Sequence[str],
        k: int = 5,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
    ):
        """The rows `emolake classify` writes (row_id, emotions, scores, warning), one per text."""
        rows = []
        for chunk in chunks(texts):
            body = {"texts": chunk, "k": k, "kind": kind, "layer": layer, "truncate": truncate or None}
            answer = self.post("classify", body)
            rows += [row | {"row_id": len(rows) + i} for i, row in enumerate(answer["rows"])]
        return rows

    def score(self, texts: str | Sequence[str], kind: str | None = None, layer: int | None = None):
        """As `EmoLake.score`: a polars DataFrame of text, token_idx, token, char_start, char_end, emotion, score."""
        import polars as pl

        rows = []
        for row, text in enumerate([texts] if isinstance(texts, str) else list(texts)):
            answer = self.post("score", {"text": text, "kind": kind, "layer": layer})
            warn_short([text], [answer.get("warning")])
            for token, scores in zip(answer["tokens"], answer["scores"], strict=True):
                place = (row, token["token_idx"], token["token"], token["char_start"], token["char_end"])
                rows += [(*place, emotion, score) for emotion, score in zip(answer["emotions"], scores, strict=True)]
        columns = ["text", "token_idx", "token", "char_start", "char_end", "emotion", "score"]
        return pl.DataFrame(rows, schema=columns, orient="row")

    def probe_sets(self) -> list[dict]:
        """Every probe set the server's lake holds (model, source, kind, layer, emotions, indexed, default)."""
        return self.get("probes")["probe_sets"]

    def health(self) -> dict:
        return self.get("health")


def chunks(texts: Sequence[str]) -> list[list[str]]:
    texts = list(texts)
    return [texts[i : i + MAX_TEXTS] for i in range(0, len(texts), MAX_TEXTS)] or [[]]


def server_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(exc)["error"])
    except (ValueError, KeyError, TypeError, OSError):
        return exc.reason or "no message"
