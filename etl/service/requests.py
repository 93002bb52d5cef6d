"""Request bodies of the JSON API, checked before anything is scored: each failure is a one-line `RequestError`."""

from __future__ import annotations

import json
from dataclasses import dataclass

from etl.errors import EmolakeError
from etl.probes.ids import ProbeSetQuery
from etl.probes.scoring import check_texts

MAX_TEXTS = 64
"""Texts per request (`emolake nearest --server` sends its batches of 32); also the most one micro-batch scores."""
MAX_K = 171
MAX_BODY = 16 * 1024 * 1024
"""Bytes of a request body: 64 texts at the scorer's 100,000-character limit, with room for JSON escapes."""
PROBE_KEYS = ("kind", "layer", "model", "source")


class RequestError(EmolakeError):
    """An EmolakeError with the HTTP status it answers (400 unless told)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TextsRequest:
    """A validated `nearest`, `classify` or `score` body."""

    texts: list[str]
    single: bool
    """The body gave `text` (one answer) rather than `texts` (a list of answers)."""
    k: int
    truncate: bool
    probes: ProbeSetQuery
    """The probe set the body names; None in a field: the server's default (as in the CLI)."""


def parse_json(raw: bytes) -> dict:
    """The body as a JSON object; refuses other JSON and bytes that are not UTF-8 JSON."""
    if len(raw) > MAX_BODY:
        raise RequestError(f"the body has {len(raw):,} bytes: the limit is {MAX_BODY:,}; send fewer texts", 413)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise RequestError('the body is not JSON: send {"text": "..."} with Content-Type: application/json') from None
    if not isinstance(body, dict):
        raise RequestError(f'the body is a JSON {type(body).__name__}, not an object: send {{"text": "..."}}')
    return body


def texts_request(
    body: dict, default_model: str | None, default_source: str, one_text: bool = False, default_k: int = 5
) -> TextsRequest:
    """Checks a body of `text` or `texts`, `k`, `truncate` and the probe keys; `one_text` (per-token scores)
    takes `text` and the probe keys only."""
    allowed = {"text", *PROBE_KEYS} | (set() if one_text else {"texts", "k", "truncate"})
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r}: the fields are {sorted(allowed)}")
    texts, single = read_texts(body, one_text)
    check_texts(texts)
    k = body.get("k", default_k)
    if not is_int(k) or not 1 <= k <= MAX_K:
        raise RequestError(f"k {shown(k)}: use a whole number from 1 to {MAX_K}")
    truncate = body.get("truncate", False)
    if not isinstance(truncate, bool):
        raise RequestError(f"truncate {shown(truncate)}: use true or false")
    return TextsRequest(texts, single, k, truncate, probe_query(body, default_model, default_source))


def read_texts(body: dict, one_text: bool) -> tuple[list[str], bool]:
    """(texts, single) from `text` or `texts`, exactly one of them."""
    if ("text" in body) == ("texts" in body):
        wanted = '"text"' if one_text else '"text" (one string) or "texts" (a list of strings)'
        raise RequestError(f"give {wanted}" + (", not both" if "text" in body else ""))
    if "text" in body:
        if not isinstance(body["text"], str):
            raise RequestError(f"text is a JSON {type(body['text']).__name__}: send a string")
        return [body["text"]], True
    texts = body["texts"]
    if not isinstance(texts, list) or not texts:
        raise RequestError('texts must be a non-empty list of strings: send {"texts": ["...", "..."]}')
    if len(texts) > MAX_TEXTS:
        raise RequestError(f"texts has {len(texts)} items: the limit is {MAX_TEXTS} per request; split the list")
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(f"text at row {row} is a JSON {type(text).__name__}: send strings")
    return texts, False


def probe_query(body: dict, default_model: str | None, default_source: str) -> ProbeSetQuery:
    """The probe keys of a body (`model`, `source`, `kind`: strings; `layer`: a whole number), else the defaults."""
    for key in ("model", "source", "kind"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise RequestError(f"{key} {shown(body[key])}: send a string, or leave it out for the default")
    layer = body.get("layer")
    if layer is not None and not is_int(layer):
        raise RequestError(f"layer {shown(layer)}: send a whole number, or leave it out for the best layer")
    return ProbeSetQuery(
        body.get("model") or default_model, body.get("source") or default_source, body.get("kind"), layer
    )


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value: object) -> str:
    """A bad value as JSON, cut short: an error stays one short line whatever was sent."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
