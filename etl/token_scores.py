"""Per-token probe scores: the one function the `score` command, the dashboard and steering share.

A token's score for an emotion is the projection of its residual stream (minus the probes' centre) on the unit probe.
Position 0 is never scored (an attention sink whose norm is ~100x the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake

MAX_TOKENS = 2048


@dataclass
class ProbeLayer:
    emotions: list[str]
    vectors: np.ndarray
    """(n_emotions, hidden) unit vectors."""
    center: np.ndarray


@dataclass
class TextScores:
    tokens: list[str]
    """Decoded tokens from position 1 on."""
    offsets: list[tuple[int, int]]
    """Character span of each token in the input text."""
    scores: dict[tuple[str, int], np.ndarray]
    """(kind, layer) -> (n_tokens, n_emotions) float32."""
    emotions: dict[tuple[str, int], list[str]]


def read_probe_layers(lake: Lake, model: str, source: str, kinds: list[str], layers: list[int]):
    """(kind, layer) -> ProbeLayer for every requested pair that exists; raises if none does."""
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` (or `make probes`)")
    con = duckdb.connect()
    rows = con.execute(
        "select kind, cast(layer as integer), list(emotion order by emotion), list(vector order by emotion) "
        "from read_parquet(?, hive_partitioning = true) where model = ? and source = ? "
        "and kind in (select unnest(?)) and cast(layer as integer) in (select unnest(?)) group by all",
        [lake.glob("probes"), model, source, kinds, layers],
    ).fetchall()
    if not rows:
        raise EmolakeError(f"no {kinds} probes at layers {layers} for {model}/{source}: see `emolake sql --list`")
    centers = {
        (kind, layer): vector
        for kind, layer, vector in con.execute(
            "select kind, cast(layer as integer), vector from read_parquet(?, hive_partitioning = true) "
            "where model = ? and source = ?",
            [lake.glob("probe_centers"), model, source],
        ).fetchall()
    }
    return {
        (kind, layer): ProbeLayer(emotions, np.array(vectors, np.float32), np.array(centers[(kind, layer)], np.float32))
        for kind, layer, emotions, vectors in rows
    }


def score_texts(loaded, texts: list[str], probe_layers: dict[tuple[str, int], ProbeLayer]) -> list[TextScores]:
    """Per-token scores of each text for every (kind, layer) probe set, from one forward pass per text batch."""
    from etl.activations import forward_layers
    from etl.scoring import check_texts

    check_texts(texts)
    tokenizer = loaded.tokenizer
    encoded = tokenizer(texts, truncation=False, return_offsets_mapping=True, add_special_tokens=True)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > MAX_TOKENS]
    if too_long:
        n = len(encoded["input_ids"][too_long[0]])
        raise EmolakeError(f"text at row {too_long[0]} has {n} tokens: the limit is {MAX_TOKENS}; split it")
    layers = sorted({layer for _, layer in probe_layers})
    captured, _ = forward_layers(loaded.model, encoded["input_ids"], tokenizer.pad_token_id, layers)
    results = []
    for row, ids in enumerate(encoded["input_ids"]):
        n = len(ids)
        scores, emotions = {}, {}
        for (kind, layer), probes in probe_layers.items():
            hidden = captured[layer][row, 1:n].float().cpu().numpy()
            scores[(kind, layer)] = ((hidden - probes.center) @ probes.vectors.T).astype(np.float32)
            emotions[(kind, layer)] = probes.emotions
        offsets = [tuple(int(v) for v in span) for span in encoded["offset_mapping"][row][1:n]]
        tokens = [texts[row][start:end] or tokenizer.decode([ids[i + 1]]) for i, (start, end) in enumerate(offsets)]
        results.append(TextScores(tokens, offsets, scores, emotions))
    return results
