"""Checksums of the tables' data files. Delta records each file's size and row count, not its content; right after
each commit the files it added are hashed into the `checksums` table, so verify and every reader can tell a flipped
bit from good data. A file whose checksum row was never written (a kill between the two commits) is still checked
for size, decoding and row count."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from etl.lake import datasets, delta, faults, files, logs, safety, store

DATASET = "checksums"
_known: dict[tuple[str, int], dict[str, tuple[int, str]]] = {}


def added_paths(root: Path, dataset: str, version: int) -> list[str]:
    """Lake-relative paths of the files one version of a table added (from its log entry)."""
    out = []
    for line in logs.log_text(root, dataset, f"{version:020d}.json").splitlines():
        action = json.loads(line)
        if isinstance(action, dict) and isinstance(action.get("add"), dict):
            out.append(safety.inside(root, dataset, action["add"]["path"]))
    return out


def commit(
    root: Path, ds: datasets.Dataset, data: pa.Table, mode: str, where: dict | None, base, metadata: dict
) -> int:
    """The lake's commit: `delta.commit`, then the checksums of the files it added (`record`). Returns the version."""
    version = delta.commit(root, ds, data, mode, where, base, metadata)
    if ds.name != DATASET:
        record(root, ds.name, version)
    return version


def record(root: Path, dataset: str, version: int) -> None:
    """Hashes the files `version` of `dataset` added and commits their rows."""
    found = added_paths(root, dataset, version)
    if not found:
        return
    remote = store.of(root)
    for rel in found if remote is not None else []:
        remote.fetch(rel)  # hashes what the store holds
    rows = [{"dataset": dataset, "path": rel, "bytes": (root / rel).stat().st_size, "sha256": files.sha256(root / rel)}
            for rel in found]  # fmt: skip
    entry = datasets.get(DATASET)
    table = pa.Table.from_pylist(rows, schema=entry.table_schema())

    def attempt() -> int:
        return delta.commit(root, entry, table, "append", None, delta.open_table(root, DATASET), {"of": dataset})

    delta.with_retries(attempt, DATASET)
    faults.boundary(f"checksums {dataset}")


def known(root: Path, dataset: str) -> dict[str, tuple[int, str]]:
    """Lake-relative path -> (bytes, sha256) of the data files of `dataset` with a checksum row."""
    import pyarrow.parquet as pq

    table = delta.open_table(root, DATASET)
    if table is None:
        return {}
    key = (str(Path(root).resolve()), table.version())
    if key not in _known:
        out: dict[str, tuple[int, str]] = {}
        for found in delta.data_files(root, DATASET, table):
            for row in pq.read_table(Path(root) / found.rel).to_pylist():
                out[row["path"]] = (row["bytes"], row["sha256"])
        _known.clear()
        _known[key] = out
    return {rel: v for rel, v in _known[key].items() if rel.startswith(dataset + "/")}
