"""Stage `index`: FAISS inner-product indexes per (model, source, kind, layer): probes, and stories.

The probe index answers text -> nearest emotions and emotion -> nearest emotions; the story index holds every
emotional story's unit emotion profile (see etl/search.py) and answers text or story -> most similar stories.
Each index records a fingerprint of what it was built from (the probe set; for stories also the centre and the
story vectors) and is rebuilt only when that fingerprint changes, so rerunning the stage after new probes at a few
layers rewrites just those.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np

from etl import vectors
from etl.config import IndexConfig
from etl.errors import EmolakeError
from etl.lake import Lake, atomic_path, write_json
from etl.models import model_slug
from etl.runner import StageResult
from etl.search import (
    STORY_CORPORA,
    emotion_profiles,
    fingerprint,
    flat_index,
    stored_fingerprint,
    write_story_index,
)

log = logging.getLogger("emolake")


def build(vectors: np.ndarray):
    """An exact inner-product index over unit vectors (inner product = cosine)."""
    return flat_index(vectors)


def read_probe_sets(lake: Lake, model: str, kinds: list[str]) -> list[tuple]:
    """(source, kind, layer, emotions, vectors) for every probe set of a model, emotions in alphabetical order."""
    query = """
        select source, kind, cast(layer as integer) as layer, list(emotion order by emotion) as emotions,
               list(vector order by emotion) as vectors
        from read_parquet(?, hive_partitioning = true)
        where model = ? and kind in (select unnest(?))
        group by all order by all
    """
    rows = duckdb.connect().execute(query, [lake.glob("probes"), model, kinds]).fetchall()
    return [(s, k, layer, e, np.array(v, dtype=np.float32)) for s, k, layer, e, v in rows]


def read_centers(lake: Lake, model: str) -> dict[tuple[str, str, int], np.ndarray]:
    """(source, kind, layer) -> the centre its probes were built around."""
    query = (
        "select source, kind, cast(layer as integer), vector from read_parquet(?, hive_partitioning = true) "
        "where model = ?"
    )
    rows = duckdb.connect().execute(query, [lake.glob("probe_centers"), model]).fetchall()
    return {(source, kind, layer): np.array(vector, np.float32) for source, kind, layer, vector in rows}


def write_probe_index(lake: Lake, model: str, source: str, kind: str, layer: int, emotions, probe_vectors) -> bool:
    """Writes one probe index unless an identical one is there; returns whether it was (re)built."""
    import faiss

    path = lake.faiss_path(model, source, kind, layer)
    key = fingerprint(emotions, probe_vectors)
    if stored_fingerprint(path) == key:
        return False
    with atomic_path(path) as tmp:
        faiss.write_index(build(probe_vectors), str(tmp))
    meta = {"emotions": emotions, "layer": layer, "kind": kind, "source": source, "fingerprint": key}
    write_json(meta, path.with_suffix(".json"))
    return True


def write_stories_index(lake: Lake, model: str, probe_set: tuple, center: np.ndarray, stories: vectors.Vectors) -> bool:
    """Writes one story index unless an identical one is there; returns whether it was (re)built."""
    source, kind, layer, emotions, probe_vectors = probe_set
    path = lake.story_index_path(model, source, kind, layer)
    ids = [m["text_id"] for m in stories.meta]
    key = fingerprint(emotions, probe_vectors, center, ",".join(ids), stories.x)
    if stored_fingerprint(path) == key:
        return False
    profiles = emotion_profiles(stories.x, probe_vectors, center)
    meta = {"layer": layer, "kind": kind, "source": source, "fingerprint": key, "n_stories": len(ids)}
    write_story_index(lake, path, profiles, stories.meta, meta)
    return True


def run(config: IndexConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make probes` first")
    probe_sets = read_probe_sets(lake, model, list(config.kinds))
    centers = read_centers(lake, model)
    stories_at: dict[int, vectors.Vectors] = {}
    counts = {"probes_built": 0, "probes_unchanged": 0, "stories_built": 0, "stories_unchanged": 0}
    result = StageResult()
    for probe_set in probe_sets:
        source, kind, layer, emotions, probe_vectors = probe_set
        built = write_probe_index(lake, model, source, kind, layer, emotions, probe_vectors)
        counts["probes_built" if built else "probes_unchanged"] += 1
        if layer not in stories_at:
            stories_at[layer] = vectors.load(lake, model, layer, list(STORY_CORPORA))
        if stories_at[layer].meta and (source, kind, layer) in centers:
            built = write_stories_index(lake, model, probe_set, centers[(source, kind, layer)], stories_at[layer])
            counts["stories_built" if built else "stories_unchanged"] += 1
        result.rows_read += len(emotions)
    result.rows_written = counts["probes_built"] + counts["stories_built"]
    result.details = counts
    log.info(
        "index: %d probe and %d story indexes (re)built, %d and %d unchanged, under %s",
        counts["probes_built"],
        counts["stories_built"],
        counts["probes_unchanged"],
        counts["stories_unchanged"],
        lake.dataset("index"),
    )
    return result
