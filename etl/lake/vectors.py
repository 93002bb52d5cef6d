"""Reads per-text vectors back from the lake: index rows joined to texts, rows gathered from the memory maps; and
which texts have vectors under which settings (`settings_hash`, `done_ids`: extract's resume and the plan's count)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake, files
from etl.lake.delta import damage

if TYPE_CHECKING:
    from etl.config import ExtractConfig


@dataclass
class Vectors:
    meta: list[dict]
    """One dict per row: text_id, corpus, source, emotion, topic, displayed_emotion, text."""
    x: np.ndarray
    """(n, hidden) float32."""


def settings_hash(config: ExtractConfig, spec: str, precision: str = "float32") -> str:
    """A hash of everything that shapes a stored vector: vectors under different settings are never mixed."""
    import hashlib

    # float32 adds no key, so lakes extracted before precision was chosen keep their hash and are not redone.
    rules = {} if precision == "float32" else {"precision": precision}
    rules |= {
        "model": spec,
        "skip_tokens": config.skip_tokens,
        "max_tokens": config.max_tokens,
        "whole_corpora": sorted(config.whole_corpora),
        "prompt_corpora": sorted(config.prompt_corpora),
        "span_corpora": sorted(config.span_corpora),
    }
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]


def index_files(lake: Lake, model: str, layer: int) -> list[str]:
    return lake.files("activations", under=lake.partition("activations", model=model, layer=layer))


def done_ids(lake: Lake, model: str, layers: list[int], settings: str) -> dict[int, set[str]]:
    """Per layer, the texts that have a vector built under `settings`."""
    import pyarrow.parquet as pq

    out = {}
    for layer in layers:
        ids: set[str] = set()
        for path in index_files(lake, model, layer):
            table = pq.read_table(path)
            if "settings_hash" in table.column_names and set(table.column("settings_hash").to_pylist()) == {settings}:
                ids.update(table.column("text_id").to_pylist())
        out[layer] = ids
    return out


def stale_settings(lake: Lake, model: str, settings: str) -> list[str]:
    """Settings hashes of `model`'s committed index rows other than `settings` (rows to supersede)."""
    found = lake.files("activations", under=lake.partition("activations", model=model))
    if not found:
        return []
    query = "select distinct settings_hash from read_parquet(?) where settings_hash is distinct from ?"
    return sorted(h for (h,) in duckdb.connect().execute(query, [found, settings]).fetchall() if h is not None)


def model_layers(lake: Lake, model: str) -> list[int]:
    """Layers that have activations for a model, ascending."""
    under = lake.partition("activations", model=model)
    layers = sorted({int(f.partition["layer"]) for f in lake.data_files("activations", under)})
    if not layers:
        raise EmolakeError(f"the lake at {lake.root} has no activations for model {model}: run `make extract`")
    return layers


def load(
    lake: Lake,
    model: str,
    layer: int,
    corpora: list[str],
    sources: list[str] | None = None,
    segments: list[str] | None = None,
) -> Vectors:
    """Vectors of every extracted segment of `corpora` (and `sources`, `segments`, if given) at one layer.

    Rows come in (text_id, segment) order; meta carries the text's labels and, for speaker segments, the
    speaker's own emotion (`speaker_emotion`) and the other speaker's (`other_emotion`).
    """
    index_files = lake.files("activations", under=lake.partition("activations", model=model, layer=layer))
    if not index_files:
        return Vectors(meta=[], x=np.zeros((0, 0), dtype=np.float32))
    query = """
        with idx as (
            select *, coalesce(segment, 'text') as segment_name
            from read_parquet(?, union_by_name = true)
        ),
        txt as (select * from read_parquet(?, hive_partitioning = true, union_by_name = true))
        select idx.text_id, idx.segment_name as segment, txt.corpus, txt.source, txt.emotion,
               txt.displayed_emotion, txt.topic, txt.spans, txt.text, idx.n_tokens, idx.npy_path, idx.npy_bytes,
               idx.npy_sha256, idx.row
        from idx join txt using (text_id)
        where idx.status = 'ok' and txt.corpus in (select unnest(?))
          and (? or txt.source in (select unnest(?)))
          and (? or idx.segment_name in (select unnest(?)))
        order by idx.text_id, idx.segment_name
    """
    params = [
        index_files,
        lake.files("texts"),
        corpora,
        sources is None,
        sources or [],
        segments is None,
        segments or [],
    ]
    meta = duckdb.connect().sql(query, params=params).to_arrow_table().to_pylist()
    for item in meta:
        item.update(speaker_emotions(item))
    return Vectors(meta=meta, x=gather(lake, meta))


def speaker_emotions(item: dict) -> dict:
    """The own and other speaker's emotions of a `speaker_N` segment (empty for other segments)."""
    if not item["segment"].startswith("speaker_") or not item["spans"]:
        return {}
    speakers = json.loads(item["spans"]).get("speakers", [])
    own = int(item["segment"].removeprefix("speaker_"))
    if len(speakers) != 2 or own not in (0, 1):
        return {}
    return {"speaker_emotion": speakers[own]["emotion"], "other_emotion": speakers[1 - own]["emotion"]}


def gather(lake: Lake, meta: list[dict]) -> np.ndarray:
    """Rows named by (npy_path, row) pairs, read through memory maps and returned as float32 in `meta` order."""
    if not meta:
        return np.zeros((0, 0), dtype=np.float32)
    by_file: dict[str, list[int]] = {}
    for position, item in enumerate(meta):
        by_file.setdefault(item["npy_path"], []).append(position)
    out = None
    for path, positions in by_file.items():
        first = meta[positions[0]]
        array = np.load(checked_shard(lake, path, first["npy_bytes"], first["npy_sha256"]), mmap_mode="r")
        rows = [meta[p]["row"] for p in positions]
        if array.ndim != 2 or max(rows) >= array.shape[0]:
            raise damage(path, f"shaped {array.shape}, but its index points at row {max(rows)}")
        if out is None:
            out = np.empty((len(meta), array.shape[1]), dtype=np.float32)
        out[positions] = array[rows]
    return out


def checked_shard(lake: Lake, rel: str, size: int, digest: str):
    """The path of a shard named in an `activations` row, inside the lake and matching the row's size and checksum;
    raises DamageError naming it otherwise."""
    return files.checked(lake, rel, "shards", size, digest)
