"""The lake's `scores` dataset: per-token probe scores of a user's texts (`emolake score`).

Rows land in `scores/model=M/source=S/kind=K/layer=L/part-KEY-NNNNN.parquet` (the `scores` view), one row per
(text, token, emotion). Writes are idempotent by text id: the rows of a text scored again (from this file or another)
replace its earlier rows, and the whole call commits at once, so a killed `score` leaves the view as it was. Scoring
is `etl.probes.token_scores.score_texts`, which the Python API, the JSON API and the dashboard use too: the model is
loaded once per process and texts run in length-bucketed batches, the shards of an executor (etl/executors/).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from etl.config.runner import RunnerConfig
from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes import token_scores

log = logging.getLogger("emolake")


@dataclass(frozen=True)
class Scored:
    """What one call wrote: texts (after repeated ones were dropped), probe kinds and layers, rows."""

    n_texts: int
    kinds: list[str]
    layers: list[int]
    rows: int
    warnings: dict[str, str]
    """text_id -> the warning of each text under `MIN_TOKENS` tokens (`etl.probes.scoring.short_warnings`)."""


def score_into_lake(
    lake: Lake,
    texts: list[str],
    ids: list[str] | None,
    id_column: str | None,
    model: str | None,
    source: str,
    kinds: list[str] | None,
    layers: list[int] | None,
    batch_tokens: int,
    runner: RunnerConfig | None = None,
) -> Scored:
    """Scores `texts` (ids: `ids` from the input's `id_column`, else a hash of each text) with every (kind, layer)
    asked for (`resolve_sets`) and writes their rows to `scores` in one commit."""
    ids = ids if ids is not None else [content_id(t) for t in texts]
    ids, texts = unique_rows(ids, texts, id_column)
    slug, spec, kinds, layers = resolve_sets(lake, model, source, kinds, layers)
    written = score_file(lake, spec, slug, source, kinds, layers, ids, texts, batch_tokens, runner)
    return Scored(len(texts), kinds, layers, written, short_texts(spec, ids, texts))


def short_texts(spec: str, ids: list[str], texts: list[str]) -> dict[str, str]:
    """text_id -> warning, for the texts under `MIN_TOKENS` tokens (counted by the model's tokenizer)."""
    from etl.model.load import load_shape
    from etl.probes.scoring import short_warnings

    warnings = short_warnings(load_shape(spec).tokenizer, texts)
    return {text_id: warning for text_id, warning in zip(ids, warnings, strict=True) if warning}


def content_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def unique_rows(ids: list[str], texts: list[str], id_column: str | None) -> tuple[list[str], list[str]]:
    """Drops repeated texts (same hash); a repeated id from --id-column with a different text is an error."""
    seen: dict[str, str] = {}
    for row, (text_id, text) in enumerate(zip(ids, texts, strict=True)):
        if not text_id:
            raise EmolakeError(f"row {row} has an empty {id_column}: give every row an id")
        if seen.setdefault(text_id, text) != text:
            raise EmolakeError(f"{id_column} {text_id!r} is repeated with another text at row {row}: use unique ids")
    return list(seen), list(seen.values())


def resolve_sets(lake: Lake, model: str | None, source: str, kinds: list[str] | None, layers: list[int] | None):
    """(model slug, model spec, kinds, layers) for the request; every (kind, layer) must have probes. Without kinds:
    the default probe set (`etl.probes.policy.default_set`), as `nearest`, `classify`, the API and the dashboard."""
    from etl.probes import stored as probes
    from etl.probes.policy import best_layer, default_set

    slug, spec = probes.pick_model(lake, model, source)
    if not kinds:
        kind, layer = default_set(lake, slug, source)
        kinds, layers = [kind], layers or [layer]
    have = {(k, layer) for m, _, s, k, layer in probes.probe_sets(lake) if (m, s) == (slug, source)}
    kinds_have = sorted({k for k, _ in have})
    unknown = [k for k in kinds if k not in kinds_have]
    if unknown:
        raise EmolakeError(f"no probes of kind {unknown} for {slug}/{source}: the lake has kinds {kinds_have}")
    if layers is None:
        layers = [best_layer(lake, slug, source, kinds[0])]
    missing = [f"{k}/{layer}" for k in kinds for layer in layers if (k, layer) not in have]
    if missing:
        layers_have = sorted({layer for _, layer in have})
        raise EmolakeError(
            f"no probes for {missing} ({slug}/{source}): kinds {kinds_have}, layers {layers_have[0]}..{layers_have[-1]}"
        )
    return slug, spec, kinds, sorted(set(layers))


def score_file(lake, spec, model, source, kinds, layers, ids, texts, batch_tokens, runner=None) -> int:
    """Scores all texts in length-bucketed batches (the shards, on `runner`) and writes the rows in chunks, in batch
    order whichever executor scored them; returns the rows written."""
    from etl.executors import in_plan_order, run_shards
    from etl.model.load import load, load_shape
    from etl.model.residuals import length_batches

    runner = runner or RunnerConfig()
    loaded = load_shape(spec) if runner.backend == "ray" else load(spec)  # on Ray the actors load the weights
    lengths = [len(row) for row in loaded.tokenizer(texts, add_special_tokens=True)["input_ids"]]
    too_long = [row for row, n in enumerate(lengths) if n > token_scores.MAX_TOKENS]
    if too_long:
        row = too_long[0]
        limit = token_scores.MAX_TOKENS
        raise EmolakeError(f"text {ids[row]!r} has {lengths[row]} tokens: the limit is {limit}; split it")
    writer = ScoreWriter(lake, model, source, set(ids))
    batches = length_batches(lengths, batch_tokens)
    shards = pa.table(
        {
            "shard": pa.array(range(len(batches)), pa.int64()),
            "text_id": pa.array([[ids[i] for i in batch] for batch in batches], pa.list_(pa.string())),
            "text": pa.array([[texts[i] for i in batch] for batch in batches], pa.list_(pa.string())),
        }
    )
    worker = functools.partial(score_worker, spec, lake.location, model, source, tuple(kinds), tuple(layers))
    outputs = run_shards(shards, worker, runner, desc="score")
    for _, table in in_plan_order(outputs, list(range(len(batches)))):
        for (kind, layer), rows in split_pairs(table):
            writer.add((kind, layer), rows)
    return writer.close()


def score_worker(spec: str, root: str, model: str, source: str, kinds: tuple, layers: tuple):
    """Loads the model and the probes once (per process or Ray actor); returns the per-batch scoring function."""
    from etl.model.load import load
    from etl.probes.stored import read_layers

    probes = read_layers(Lake(root), model, source, list(kinds), list(layers))
    return functools.partial(score_shard, load(spec), probes)


def score_shard(loaded, probes, row: dict) -> pa.Table:
    """One length-bucketed batch: its token rows for every (kind, layer), tagged with `kind` and `layer`."""
    tables = []
    for text_id, scored in zip(row["text_id"], token_scores.score_texts(loaded, row["text"], probes), strict=True):
        for (kind, layer), matrix in scored.scores.items():
            rows = token_rows(text_id, scored, matrix, scored.emotions[(kind, layer)])
            tables.append(
                rows.append_column("kind", pa.array([kind] * rows.num_rows, pa.string())).append_column(
                    "layer", pa.array([layer] * rows.num_rows, pa.int32())
                )
            )
    return pa.concat_tables(tables)


def split_pairs(table: pa.Table):
    """(kind, layer) -> that pair's rows (without the two tag columns), pairs in first-seen order."""
    import pyarrow.compute as pc

    pairs = dict.fromkeys(zip(table.column("kind").to_pylist(), table.column("layer").to_pylist(), strict=True))
    for kind, layer in pairs:
        mask = pc.and_(pc.equal(table.column("kind"), kind), pc.equal(table.column("layer"), layer))
        yield (kind, layer), table.filter(mask).drop_columns(["kind", "layer"])


def token_rows(text_id: str, scored, matrix: np.ndarray, emotions: list[str]) -> pa.Table:
    """One row per (token, emotion) of one text: text_id, token_idx (model position), token, chars, emotion, score."""
    n_tokens, n_emotions = matrix.shape
    position = np.repeat(np.arange(1, n_tokens + 1, dtype=np.int32), n_emotions)
    offsets = np.array(scored.offsets, dtype=np.int32).reshape(-1, 2)
    emotion_codes = np.tile(np.arange(n_emotions, dtype=np.int32), n_tokens)
    return pa.table(
        {
            "text_id": pa.array([text_id] * (n_tokens * n_emotions), pa.string()),
            "token_idx": position,
            "token": pa.array(np.repeat(np.array(scored.tokens, dtype=object), n_emotions), pa.string()),
            "char_start": np.repeat(offsets[:, 0], n_emotions),
            "char_end": np.repeat(offsets[:, 1], n_emotions),
            "emotion": pa.DictionaryArray.from_arrays(emotion_codes, pa.array(emotions)).cast(pa.string()),
            "score": matrix.reshape(-1).astype(np.float32),
        }
    )


class ScoreWriter:
    """Collects one call's rows per (kind, layer) and commits them in one `replace`: earlier rows of the same texts
    at those probe sets go in the same commit, so a killed `score` leaves `scores` as it was."""

    def __init__(self, lake: Lake, model: str, source: str, ids: set[str]) -> None:
        self.lake, self.model, self.source, self.ids = lake, model, source, ids
        self.tables: list[pa.Table] = []

    def add(self, pair: tuple[str, int], table: pa.Table) -> None:
        kind, layer = pair
        n = table.num_rows
        self.tables.append(
            table.append_column("kind", pa.array([kind] * n)).append_column("layer", pa.array([layer] * n))
        )

    def close(self) -> int:
        if not self.tables:
            return 0
        table = pa.concat_tables(self.tables)
        where = {
            "model": self.model,
            "source": self.source,
            "kind": sorted(set(table.column("kind").to_pylist())),
            "layer": sorted(set(table.column("layer").to_pylist())),
            "text_id": sorted(self.ids),
        }
        rows = self.lake.write("scores", table, mode="replace", where=where, model=self.model, source=self.source)
        log.info("score: wrote %d rows to %s", rows, self.lake.dataset("scores"))
        return rows
