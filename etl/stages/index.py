"""Stage `index`: FAISS inner-product indexes per (model, source, kind, layer): probes, and stories.

The probe index answers text -> nearest emotions and emotion -> nearest emotions; the story index holds every
emotional story's unit emotion profile (see etl/search.py) and answers text or story -> most similar stories.
Each index records a fingerprint of what it was built from (the probe set; for stories also the centre and the
story vectors) and is rebuilt only when that fingerprint changes, so rerunning the stage after new probes at a few
layers rewrites just those.
"""

from __future__ import annotations

import logging

import numpy as np

from etl.config import IndexConfig
from etl.errors import EmolakeError
from etl.lake import Lake, vectors
from etl.model.load import model_slug
from etl.probes.scoring import fingerprint, stored_fingerprint
from etl.probes.search import STORY_CORPORA, emotion_profiles, flat_index, write_probe_index, write_story_index
from etl.probes.stored import StoredProbes
from etl.probes.stored import read as read_probes
from etl.stages import StageResult

log = logging.getLogger("emolake")


def build(vectors: np.ndarray):
    """An exact inner-product index over unit vectors (inner product = cosine)."""
    return flat_index(vectors)


def write_stories_index(lake: Lake, model: str, stored: StoredProbes, stories: vectors.Vectors) -> bool:
    """Writes one story index unless an identical one is there; returns whether it was (re)built."""
    path = lake.story_index_path(model, stored.source, stored.kind, stored.layer)
    ids = [m["text_id"] for m in stories.meta]
    key = fingerprint(stored.emotions, stored.vectors, stored.center, ",".join(ids), stories.x)
    if stored_fingerprint(lake, path) == key:
        return False
    profiles = emotion_profiles(stories.x, stored.vectors, stored.center)
    meta = {"layer": stored.layer, "kind": stored.kind, "source": stored.source, "fingerprint": key}
    meta["n_stories"] = len(ids)
    write_story_index(lake, path, profiles, stories.meta, meta)
    return True


def run(config: IndexConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make probes` first")
    probe_sets = read_probes(lake, model, kinds=list(config.kinds)).values()
    stories_at: dict[int, vectors.Vectors] = {}
    counts = {"probes_built": 0, "probes_unchanged": 0, "stories_built": 0, "stories_unchanged": 0}
    result = StageResult()
    with lake.file_batch():  # every index of the run lands in one commit: readers never mix two runs' indexes
        for stored in probe_sets:
            layer, emotions = stored.layer, stored.emotions
            built = write_probe_index(lake, model, stored.source, stored.kind, layer, emotions, stored.vectors)
            counts["probes_built" if built else "probes_unchanged"] += 1
            if layer not in stories_at:
                stories_at[layer] = vectors.load(lake, model, layer, list(STORY_CORPORA))
            if stories_at[layer].meta and stored.center is not None:
                built = write_stories_index(lake, model, stored, stories_at[layer])
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
