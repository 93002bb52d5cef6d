"""Stage `index`: a FAISS inner-product index of the unit probes per (model, source, kind, layer)."""

from __future__ import annotations

import logging

import duckdb
import numpy as np

from etl.config import IndexConfig
from etl.errors import EmolakeError
from etl.lake import Lake, atomic_path, write_json
from etl.models import model_slug
from etl.runner import StageResult

log = logging.getLogger("emolake")


def build(vectors: np.ndarray):
    """An exact inner-product index over unit vectors (inner product = cosine)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def run(config: IndexConfig) -> StageResult:
    import faiss

    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make probes` first")
    query = """
        select source, kind, layer, list(emotion order by emotion) as emotions,
               list(vector order by emotion) as vectors
        from read_parquet(?, hive_partitioning = true)
        where model = ? and kind in (select unnest(?))
        group by all order by all
    """
    groups = duckdb.connect().execute(query, [lake.glob("probes"), model, list(config.kinds)]).fetchall()
    result = StageResult()
    for source, kind, layer, emotions, rows in groups:
        index = build(np.array(rows, dtype=np.float32))
        path = lake.faiss_path(model, source, kind, layer)
        with atomic_path(path) as tmp:
            faiss.write_index(index, str(tmp))
        write_json({"emotions": emotions, "layer": layer, "kind": kind, "source": source}, path.with_suffix(".json"))
        result.rows_read += len(emotions)
        result.rows_written += 1
    log.info("index: wrote %d FAISS indexes under %s", result.rows_written, lake.dataset("index"))
    return result
