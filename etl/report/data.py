"""What the report reads back from the lake: the evaluation tables of one model, filtered in DuckDB."""

from __future__ import annotations

import duckdb
import numpy as np

from etl.lake import Lake
from etl.probes.policy import best_of


def rows(lake: Lake, name: str, model: str, where: str = "true", params: list | None = None) -> list[dict]:
    """Rows of an evaluation dataset of `model` (with its `source` partition column) matching `where`, or []."""
    files = lake.files(name, under=lake.partition(name, model=model))
    if not files:
        return []
    query = f"select * from read_parquet(?, hive_partitioning = true, union_by_name = true) where {where} order by all"
    result = duckdb.connect().sql(query, params=[files, *(params or [])])
    return result.to_arrow_table().to_pylist()


def best_layers(layer_rows: list[dict]) -> dict[str, int]:
    """Source -> the expression layer with the best held-out top-1 (`etl.probes.policy.best_of`)."""
    sources = sorted({row["source"] for row in layer_rows})
    best = {source: best_of([r for r in layer_rows if r["source"] == source]) for source in sources}
    return {source: layer for source, layer in best.items() if layer is not None}


def cosine_block(lake: Lake, model: str, source: str, kind: str, layer: int) -> tuple[list[str], np.ndarray]:
    """The cosine matrix of one probe set, as (emotions, matrix) in emotion order."""
    items = rows(
        lake,
        "evaluation_cosines",
        model,
        "source = ? and kind = ? and layer = ?",
        [source, kind, layer],
    )
    emotions = sorted({r["emotion_a"] for r in items})
    position = {e: i for i, e in enumerate(emotions)}
    matrix = np.zeros((len(emotions), len(emotions)))
    for r in items:
        matrix[position[r["emotion_a"]], position[r["emotion_b"]]] = r["cosine"]
    return emotions, matrix
