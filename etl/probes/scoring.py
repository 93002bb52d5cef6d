"""Nearest emotions for live text: model loaded once, texts batched, FAISS over the unit probes of one layer.

Each text is centred on the mean emotional text of its own form (`StoredProbes.centre_for`) before it is compared
with the probes; the probe set defaults to the one `etl.probes.policy.default_set` picks from the evaluation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId, ProbeSetQuery
from etl.probes.policy import MAX_TOKENS, MIN_TOKENS
from etl.probes.stored import StoredProbes

MAX_CHARS = 100_000
"""Longer texts are refused before they are tokenised (a text this long is far over MAX_TOKENS anyway)."""
SHOUTED = 0.7
"""A text whose letters are at least this share capitals (4 letters or more) is read in sentence case."""


@dataclass
class Scorer:
    """One probe set, opened for scoring live text: its probes and centres, its FAISS index."""

    lake: Lake
    model_spec: str
    probe_set: ProbeSetId
    emotions: list[str]
    probes: StoredProbes
    index: object

    def vectors(self, texts: list[str], batch_tokens: int = 8192, truncate: bool = False) -> np.ndarray:
        """Mean residual vector of each text at the scorer's layer, all tokens but the first, centred. A text over
        MAX_TOKENS tokens is refused unless `truncate` (then its first MAX_TOKENS tokens are read)."""
        from etl.model.load import load

        check_texts(texts)
        loaded = load(self.model_spec)
        if not truncate:
            check_lengths(loaded.tokenizer, texts)
        x, n_tokens = mean_vectors(loaded, self.probe_set.layer, texts, batch_tokens)
        return self.probes.centred(x, n_tokens)

    def warnings(self, texts: list[str]) -> list[str | None]:
        """Per text, the warning its answer carries (`short_warnings`), else None."""
        from etl.model.load import load

        return short_warnings(load(self.model_spec).tokenizer, texts)

    def nearest(self, texts: list[str], k: int, truncate: bool = False) -> list[list[dict]]:
        """The k best-matching emotions per text, best first, as {"emotion", "score"} (cosine). A text of a single
        token (nothing after the first position to read) gets no emotions, [], and its warning says why; the
        other texts of the call are answered."""
        from etl.model.load import load

        k = check_k(k, len(self.emotions))
        check_texts(texts)
        tokenizer = load(self.model_spec).tokenizer
        read = [reading_form(text) for text in texts]
        rows = [i for i, ids in enumerate(tokenizer(read, add_special_tokens=True)["input_ids"]) if len(ids) > 1]
        found: list[list[dict]] = [[] for _ in texts]
        if not rows:
            return found
        queries = self.vectors([texts[i] for i in rows], truncate=truncate)
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = np.ascontiguousarray(queries / np.where(norms == 0, 1, norms), dtype=np.float32)
        scores, ids = self.index.search(queries, k)
        for row, row_s, row_i in zip(rows, scores, ids, strict=True):
            found[row] = [
                {"emotion": self.emotions[i], "score": round(float(s), 4)} for s, i in zip(row_s, row_i, strict=True)
            ]
        return found


def classified(matches: list[dict]) -> dict:
    """A text's `nearest` matches as a `classify` row's emotions and scores, best first: what `emolake classify`
    writes and /api/v1/classify answers."""
    return {"emotions": [m["emotion"] for m in matches], "scores": [m["score"] for m in matches]}


def reading_form(text: str) -> str:
    """What the probes read of a text: the text itself, except that one written mostly in capitals is read in
    sentence case (lower case; a capital after a sentence's end and for "I"). Capitals tokenise into rare fragments
    whose residuals sit far from every text the probes were built on: on the default lake, upper-casing a text
    changed its top-3 emotion families every time, and read this way 34 of 40 texts keep them (docs/results.md).
    No shipped text is written so, so no held-out figure moves. A reading that would change the text's length (rare
    Unicode case pairs) is not made, so per-token offsets still point into the text as given."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 4 or sum(c.isupper() for c in letters) < SHOUTED * len(letters):
        return text
    read = re.sub(r"(^\s*|[.!?]\s+)(\w)", lambda m: m.group(1) + m.group(2).upper(), text.lower())
    read = re.sub(r"\bi\b", "I", read)
    return read if len(read) == len(text) else text


def mean_vectors(loaded, layer: int, texts: list[str], batch_tokens: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """(texts, hidden) mean residual of each text (its `reading_form`) at `layer` over every token but the first,
    and each text's token count: what `nearest` centres (`StoredProbes.centred`) and compares with the probes. A
    text of a single token has nothing to average and is refused."""
    from etl.model.residuals import mean_residuals

    read = [reading_form(text) for text in texts]
    result = mean_residuals(loaded.model, loaded.tokenizer, read, [layer], 1, MAX_TOKENS, batch_tokens)
    too_short = np.flatnonzero(result.n_used == 0)
    if len(too_short):
        raise EmolakeError(f"text at row {int(too_short[0])} is a single token: give at least two tokens of text")
    return result.vectors[:, 0], result.n_tokens


def short_warning(n_tokens: int, readable: bool = True) -> str | None:
    """The warning a text of `n_tokens` tokens (its own, no special tokens) is scored with: None from MIN_TOKENS on.
    `readable` is False for a text with nothing after the first position (one token in all), which gets no emotions."""
    if n_tokens >= MIN_TOKENS:
        return None
    if not readable:
        return f"only {n_tokens} token (under {MIN_TOKENS}): nothing to read an emotion from; no emotions given"
    return (
        f"only {n_tokens} tokens (under {MIN_TOKENS}): too short to read an emotion from; "
        "the probes were measured on texts of 5 words and more, so treat these emotions as a weak guess"
    )


def short_warnings(tokenizer, texts: list[str]) -> list[str | None]:
    """`short_warning` of each text, counting the tokens of its `reading_form`."""
    if not texts:
        return []
    read = [reading_form(text) for text in texts]
    own = tokenizer(read, add_special_tokens=False)["input_ids"]
    every = tokenizer(read, add_special_tokens=True)["input_ids"]
    return [short_warning(len(a), len(b) > 1) for a, b in zip(own, every, strict=True)]


def check_texts(texts: list[str]) -> None:
    """Refuses what no model should read: empty texts, invalid Unicode (lone surrogates, undecodable bytes), and
    texts far over the token limit (checked on characters, before anything is tokenised or locked)."""
    for row, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise EmolakeError(f"text at row {row} is empty: give some text to score")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EmolakeError(
                f"text at row {row} is not valid Unicode (character {exc.start}): pass UTF-8 text"
            ) from None
        if len(text) > MAX_CHARS:
            raise EmolakeError(f"text at row {row} has {len(text):,} characters: the limit is {MAX_CHARS:,}; split it")


def check_lengths(tokenizer, texts: list[str]) -> None:
    """Refuses a text over MAX_TOKENS tokens (instead of silently reading only its start)."""
    for row, ids in enumerate(tokenizer(texts, add_special_tokens=True)["input_ids"]):
        if len(ids) > MAX_TOKENS:
            raise EmolakeError(
                f"text at row {row} has {len(ids)} tokens: the limit is {MAX_TOKENS}; split it, or pass --truncate "
                f"to read its first {MAX_TOKENS}"
            )


def check_k(k: int, n: int) -> int:
    if k < 1:
        raise EmolakeError(f"--k {k}: use a number from 1 to {n}")
    return min(k, n)


def open_scorer(
    lake: Lake, model: str | None = None, source: str = "reference", kind: str | None = None, layer: int | None = None
) -> Scorer:
    """Loads the index and centres of one (model, source, kind, layer). Without a kind, the default probe set
    (`etl.probes.policy.default_set`); without a layer, that kind's best evaluated layer."""
    import faiss

    from etl.probes import stored as probes
    from etl.probes.policy import resolve

    probe_set = resolve(lake, ProbeSetQuery(model, source, kind, layer))
    model, kind, layer = probe_set.model, probe_set.kind, probe_set.layer
    path = lake.faiss_path(model, source, kind, layer)
    if not lake.exists(path):
        raise EmolakeError(f"no FAISS index for {model}/{source}/{kind}/layer {layer}: run `make index`")
    index_file = lake.verified(path)  # a damaged index is named as damaged, not as stale
    emotions = json.loads(lake.verified(path.with_suffix(".json")).read_text())["emotions"]
    (stored,) = probes.read(lake, model, source, [kind], [layer]).values()
    if stored_fingerprint(lake, path) != fingerprint(stored.emotions, stored.vectors):
        raise EmolakeError(f"the index {path} was built from other probes than the lake holds now: run `make index`")
    index = faiss.read_index(str(index_file))
    return Scorer(lake, stored.model_spec, probe_set, emotions, stored, index)


def fingerprint(emotions: list[str], vectors: np.ndarray, *extra: object) -> str:
    """A content hash of a probe set (and anything an index also depends on): equal hash, identical index."""
    digest = hashlib.sha256("\x1f".join(emotions).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    for item in extra:
        digest.update(item.tobytes() if isinstance(item, np.ndarray) else str(item).encode())
    return digest.hexdigest()[:20]


def stored_fingerprint(lake: Lake, index_path: Path) -> str | None:
    """The fingerprint recorded beside an index, or None when the index or its sidecar is not committed or damaged
    (so the index stage rebuilds it)."""
    sidecar = index_path.with_suffix(".json")
    try:
        lake.verified(index_path)
        return json.loads(lake.verified(sidecar).read_text()).get("fingerprint")
    except EmolakeError:
        return None
