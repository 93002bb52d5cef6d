"""Search over the lake: emotion -> nearest emotions, and text or story -> most similar stories.

Emotions are compared by the cosine of their unit probes (the FAISS index the `index` stage writes per probe set).
Stories are compared in *emotion space*: a story's mean residual vector minus the probes' centre, projected on every
probe of the set and unit-normalised. Raw residual vectors are dominated by topic and by directions shared with
neutral text, so their nearest neighbours are stories about the same thing; emotion profiles find stories that
feel alike. The story index is one FAISS IndexFlatIP over those profiles per (model, source, kind, layer), with the
story ids (from the lake) in a Parquet file beside it, in row order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId

STORY_CORPORA = ("emotional_story",)
STORY_ID_COLUMNS = ("text_id", "source", "emotion", "topic")


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its norm (zero rows stay zero), as contiguous float32 for FAISS."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms == 0, 1, norms), dtype=np.float32)


def emotion_profiles(x: np.ndarray, probe_vectors: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Unit emotion profiles (n, n_emotions) of residual vectors x (n, hidden): cosine-ready projections on probes."""
    return unit_rows((np.asarray(x, np.float32) - center) @ np.asarray(probe_vectors, np.float32).T)


def flat_index(vectors: np.ndarray):
    """An exact inner-product FAISS index over unit rows (inner product = cosine)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_probe_index(lake: Lake, model: str, source: str, kind: str, layer: int, emotions, probe_vectors) -> bool:
    """Writes one probe index (what `nearest` searches) unless an identical one is there; returns whether it was
    (re)built. The index stage writes every stored set's; `emolake adapt` writes its set's."""
    import faiss

    from etl.lake import atomic_path, write_json
    from etl.probes.scoring import fingerprint, stored_fingerprint

    path = lake.faiss_path(model, source, kind, layer)
    key = fingerprint(emotions, probe_vectors)
    if stored_fingerprint(lake, path) == key:
        return False
    with atomic_path(path) as tmp:
        faiss.write_index(flat_index(probe_vectors), str(tmp))
    meta = {"emotions": emotions, "layer": layer, "kind": kind, "source": source, "fingerprint": key}
    write_json(meta, path.with_suffix(".json"))
    return True


@dataclass
class StoryIndex:
    """The story-vector index of one probe set, with the story ids in index row order."""

    index: object
    stories: list[dict]
    """One dict per index row: text_id, source, emotion, topic."""
    layer: int

    def row_of(self, text_id: str) -> int:
        for row, story in enumerate(self.stories):
            if story["text_id"] == text_id:
                return row
        raise EmolakeError(f"story {text_id!r} is not in the story index: pass a text instead, or run `make index`")

    def search(self, profiles: np.ndarray, k: int, exclude: str | None = None) -> list[dict]:
        """The k stories whose profiles best match one unit profile, best first; `exclude` drops one text_id."""
        n = min(k + (exclude is not None), self.index.ntotal)
        scores, rows = self.index.search(unit_rows(profiles.reshape(1, -1)), n)
        hits = [
            {**self.stories[row], "score": round(float(score), 4)}
            for score, row in zip(scores[0], rows[0], strict=True)
            if row >= 0 and self.stories[row]["text_id"] != exclude
        ]
        return hits[:k]


def write_story_index(lake: Lake, path: Path, profiles: np.ndarray, stories: list[dict], meta: dict) -> None:
    """Writes the FAISS index, its story ids (Parquet, row order) and a JSON sidecar with the fingerprint."""
    import faiss

    from etl.lake import atomic_path, write_json, write_table

    with atomic_path(path) as tmp:
        faiss.write_index(flat_index(profiles), str(tmp))
    ids = pa.table({column: [s[column] for s in stories] for column in STORY_ID_COLUMNS})
    write_table(ids, path.with_suffix(".parquet"))
    write_json(meta, path.with_suffix(".json"))


def open_story_index(lake: Lake, probe_set: ProbeSetId) -> StoryIndex:
    import faiss

    model, source, kind, layer = probe_set.model, probe_set.source, probe_set.kind, probe_set.layer
    path = lake.story_index_path(model, source, kind, layer)
    if not lake.exists(path):
        raise EmolakeError(f"no story index for {model}/{source}/{kind}/layer {layer}: run `make index`")
    ids = duckdb.connect().execute("select * from read_parquet(?)", [str(lake.verified(path.with_suffix(".parquet")))])
    columns = [d[0] for d in ids.description]
    stories = [dict(zip(columns, row, strict=True)) for row in ids.fetchall()]
    return StoryIndex(faiss.read_index(str(lake.verified(path))), stories, layer)


def nearest_emotions(scorer, emotion: str, k: int) -> list[dict]:
    """The k emotions whose probes are closest (cosine) to `emotion`'s probe in a scorer's index, itself left out."""
    from etl.probes.scoring import check_k

    if emotion not in scorer.emotions:
        close = [e for e in scorer.emotions if e.startswith(emotion[:3])][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise EmolakeError(f"no {scorer.probe_set.kind} probe for {emotion!r} at layer {scorer.probe_set.layer}{hint}")
    k = check_k(k, len(scorer.emotions) - 1)
    query = scorer.index.reconstruct(scorer.emotions.index(emotion)).reshape(1, -1)
    scores, rows = scorer.index.search(np.ascontiguousarray(query, dtype=np.float32), k + 1)
    hits = [(scorer.emotions[r], float(s)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]
    return [{"emotion": e, "score": round(s, 4)} for e, s in hits if e != emotion][:k]


def probe_matrix(scorer) -> np.ndarray:
    """The scorer's unit probes (n_emotions, hidden), in its emotion order, read back from its index."""
    return scorer.index.reconstruct_n(0, scorer.index.ntotal)


def similar_stories(
    scorer, k: int, text: str | None = None, text_id: str | None = None, truncate: bool = False
) -> list[dict]:
    """The k stories most similar in emotion space to a live text or to a story of the lake (itself left out)."""
    from etl.probes.scoring import check_k

    if (text is None) == (text_id is None):
        raise EmolakeError("give either a text or a story id (--text or --story), not both")
    stories = open_story_index(scorer.lake, scorer.probe_set)
    k = check_k(k, len(stories.stories))
    if text is not None:
        # scorer.vectors is already centred, so the projection needs no further centre.
        profile = emotion_profiles(
            scorer.vectors([text], truncate=truncate), probe_matrix(scorer), np.zeros(1, np.float32)
        )[0]
    else:
        profile = stories.index.reconstruct(stories.row_of(text_id))
    hits = stories.search(profile, k, exclude=text_id)
    return attach_texts(scorer.lake, hits)


def attach_texts(lake: Lake, hits: list[dict]) -> list[dict]:
    """Adds each hit's text (from the lake's texts) under `text`."""
    if not hits:
        return hits
    rows = duckdb.connect().execute(
        "select text_id, text from read_parquet(?, hive_partitioning = true, union_by_name = true) "
        "where text_id in (select unnest(?))",
        [lake.files("texts"), [h["text_id"] for h in hits]],
    )
    texts = dict(rows.fetchall())
    return [{**hit, "text": texts.get(hit["text_id"], "")} for hit in hits]
