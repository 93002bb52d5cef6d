"""The mean residual-stream norm per layer on neutral text: the unit in which steering strengths are given.

Measured once per (model, corpus, number of texts) from the lake's neutral texts, stored in `residual_norms`, and
read back by every later steering call. Position 0 is left out (an attention sink whose norm is ~100x the others).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from etl.errors import EmolakeError
from etl.lake import Lake, schemas

log = logging.getLogger("emolake")
NORM_TOKENS = 256
"""Neutral texts are read up to this many tokens when measuring the residual norm (not the scoring limit)."""
BATCH_TEXTS = 4


def layer_norms(lake: Lake, loaded, corpus: str = "neutral_story", n_texts: int = 32, store: bool = True):
    """{layer: mean per-token norm} for every layer of `loaded`; read from the lake, else measured (and stored)."""
    path = lake.partition("residual_norms", model=loaded.slug, corpus=corpus)
    stored = read_norms(lake, path, n_texts)
    if stored is not None:
        return stored
    texts = neutral_texts(lake, corpus, n_texts)
    norms, n_tokens = measure(loaded, texts)
    log.info(
        "steering: measured residual norms of %s on %d %s texts (%d tokens)", loaded.slug, len(texts), corpus, n_tokens
    )
    if store:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            {
                "layer": layer,
                "mean_norm": float(norm),
                "n_texts": len(texts),
                "n_requested": n_texts,
                "n_tokens": n_tokens,
                "created_at": created,
            }
            for layer, norm in sorted(norms.items())
        ]
        table = pa.Table.from_pylist(rows, schema=schemas.RESIDUAL_NORMS)
        lake.write("residual_norms", table, mode="replace", model=loaded.slug, corpus=corpus)
        log.info("steering: wrote %s", path)
    return norms


def read_norms(lake: Lake, path, n_texts: int) -> dict[int, float] | None:
    """Stored norms if they were measured for the requested number of texts, else None."""
    found = lake.files("residual_norms", under=path)
    if not found:
        return None
    query = "select layer, mean_norm, n_requested from read_parquet(?)"
    rows = duckdb.connect().execute(query, [found]).fetchall()
    if not rows or any(n != n_texts for _, _, n in rows):
        return None
    return {int(layer): float(norm) for layer, norm, _ in rows}


def neutral_texts(lake: Lake, corpus: str, n_texts: int) -> list[str]:
    """The first `n_texts` texts of a neutral corpus by text_id (a fixed, reproducible sample)."""
    from etl.lake.texts import read_texts

    return [row["text"] for row in read_texts(lake, [corpus], "measuring residual norms", limit=n_texts)]


def measure(loaded, texts: list[str]) -> tuple[dict[int, float], int]:
    """Mean L2 norm of the residual stream over positions 1.. of `texts` at every layer, and the token count."""
    from etl.model.residuals import forward_layers, tokenize

    layers = list(range(loaded.n_layers))
    ids = tokenize(loaded.tokenizer, texts, NORM_TOKENS)
    totals = np.zeros(len(layers))
    count = 0
    for begin in range(0, len(ids), BATCH_TEXTS):
        batch = ids[begin : begin + BATCH_TEXTS]
        captured, mask = forward_layers(loaded.model, batch, loaded.tokenizer.pad_token_id, layers)
        keep = mask.clone()
        keep[:, 0] = 0
        keep = keep.bool()
        count += int(keep.sum())
        for layer in layers:
            totals[layer] += float(captured[layer].float().norm(dim=-1)[keep].sum())
        del captured
    if count == 0:
        raise EmolakeError("the neutral texts have no tokens after position 0: add longer neutral texts")
    return {layer: float(totals[layer] / count) for layer in layers}, count
