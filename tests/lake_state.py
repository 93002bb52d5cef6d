"""What a lake holds, as plain values, so two lakes can be compared: rows of every committed Parquet dataset (less
the columns that record when or how fast something ran, or where a shard row sits), every stored vector by its text,
and the bytes of every other committed file (indexes, sidecars) except reports."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from etl.lake import Lake

VOLATILE = {
    "created_at",
    "started_at",
    "seconds",
    "code_version",
    "details",
    "npy_path",
    "shard",
    "row",
    "rows_read",
    "rows_written",
}
"""Columns that differ between two equal runs: times, counts of a resumed run, and a vector's place in its shard."""
SKIPPED = {"reports"}
"""Rendered pages and plots: they carry the time they were made."""


def state(root) -> dict:
    """{dataset: sorted rows} plus {"vectors": {(model, layer, text_id, segment): float16 bytes}} and other files."""
    lake = Lake(root)
    out: dict = {}
    from etl.lake import commits

    for dataset, record in sorted(commits.snapshot(lake.root).items()):
        if dataset in SKIPPED:
            continue
        rows, other = [], {}
        for rel in sorted(record["files"]):
            path = lake.root / rel
            if rel.endswith(".parquet"):
                rows += canonical_rows(rel, pq.read_table(path))
            elif not rel.endswith(".npy"):
                other[rel] = path.read_bytes()
        out[dataset] = (sorted(rows), other)
    out["vectors"] = vectors(lake)
    return out


def canonical_rows(rel: str, table) -> list[tuple]:
    keys = tuple(part for part in rel.split("/")[1:-1] if "=" in part)
    columns = [c for c in table.column_names if c not in VOLATILE]
    return [keys + tuple(repr(row[c]) for c in columns) for row in table.select(columns).to_pylist()]


def vectors(lake: Lake) -> dict:
    out = {}
    for rel in lake.committed("activations"):
        model, layer = (part.split("=", 1)[1] for part in rel.split("/")[1:3])
        table = pq.read_table(lake.root / rel).to_pylist()
        for row in table:
            array = np.load(lake.root / row["npy_path"], mmap_mode="r")
            out[(model, layer, row["text_id"], row["segment"])] = array[row["row"]].tobytes()
    return out


def differences(a: dict, b: dict) -> list[str]:
    """Names of the datasets (or "vectors") whose content differs between two states."""
    return sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
