"""What a lake holds, as plain values, so two lakes can be compared: rows of every committed Parquet dataset (less
the columns that record when or how fast something ran, or where a shard row sits), every stored vector by its text,
and the bytes of every other committed file (indexes, sidecars) except reports."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from etl.lake import DATASETS, Lake
from etl.lake.datasets import FILE_AREAS
from etl.lake.files import entries
from etl.lake.vectors import checked_shard

VOLATILE = {
    "created_at",
    "imported_at",
    "finished_at",
    "started_at",
    "seconds",
    "code_version",
    "details",
    "npy_path",
    "npy_sha256",
    "path",
    "sha256",
    "shard",
    "row",
    "rows_read",
    "rows_written",
}
"""Columns that differ between two equal runs: times, counts of a resumed run, and a vector's place in its shard."""
SKIPPED = {"reports", "checksums"}
"""Rendered pages and plots: they carry the time they were made."""


def state(root) -> dict:
    """{dataset: (sorted rows, {name: bytes} of the files it lists)} plus {"vectors": {(model, layer, text_id,
    segment): float16 bytes}}."""
    lake = Lake(root)
    out: dict = {}
    for dataset in DATASETS:
        if dataset in SKIPPED or lake.table(dataset) is None:
            continue
        tables: dict[tuple, list] = {}
        for found in lake.data_files(dataset):
            keys = tuple(f"{k}={v}" for k, v in sorted(found.partition.items()))
            tables.setdefault(keys, []).append(pq.read_table(lake.root / found.rel))
        rows = []
        for keys, parts in tables.items():
            table = pa.concat_tables(parts, promote_options="permissive")
            rows += canonical_rows(keys, current_runs(table) if dataset == "manifest" else table)
        other = {}
        if dataset == "files":
            for area in FILE_AREAS:
                if area not in SKIPPED:
                    other |= {name: lake.verified(lake.root / name).read_bytes() for name in entries(lake, area)}
            rows = [r for r in rows if not r[0].endswith("=reports")]
        out[dataset] = (sorted(rows), other)
    out["vectors"] = vectors(lake)
    return out


def current_runs(table):
    """The newest manifest row per model of one stage: the run whose outputs the lake holds (reruns that a
    repair or a resume added before it are history, not state)."""
    newest: dict[str, dict] = {}
    for row in sorted(table.to_pylist(), key=lambda r: r["finished_at"]):
        newest[row["model"]] = row
    return table.from_pylist(list(newest.values()), schema=table.schema)


def canonical_rows(keys: tuple, table) -> list[tuple]:
    columns = [c for c in table.column_names if c not in VOLATILE]
    return [keys + tuple(repr(row[c]) for c in columns) for row in table.select(columns).to_pylist()]


def vectors(lake: Lake) -> dict:
    out = {}
    for found in lake.data_files("activations"):
        model, layer = found.partition["model"], found.partition["layer"]
        for row in pq.read_table(lake.root / found.rel).to_pylist():
            array = np.load(checked_shard(lake, row["npy_path"], row["npy_bytes"], row["npy_sha256"]), mmap_mode="r")
            key = (model, layer, row["text_id"], row["segment"])
            assert key not in out, f"{key} is stored twice"
            out[key] = array[row["row"]].tobytes()
    return out


def differences(a: dict, b: dict) -> list[str]:
    """Names of the datasets (or "vectors") whose content differs between two states."""
    return sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
