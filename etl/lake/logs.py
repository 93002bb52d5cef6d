"""Where each table and its log live: a directory of the lake, or a URI in its object store (`etl.lake.store`).
Everything that lists or reads a log's entries goes through here, so the same code serves both kinds of lake."""

from __future__ import annotations

import os
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import safety, store
from etl.lake.datasets import DATASETS


def table_dir(root: Path, dataset: str) -> Path:
    """A table's directory, after checking that neither it nor its log is a symlink leading outside the lake."""
    safety.contained(root, f"{dataset}/_delta_log", within=dataset)
    return safety.contained(root, dataset)


def location(root: Path, dataset: str) -> tuple[str, dict[str, str] | None]:
    """Where delta-rs finds a table: its local directory, or its object-store URI with the store's options."""
    remote = store.of(root)
    if remote is not None:
        return remote.table_uri(dataset), remote.storage_options()
    return str(table_dir(root, dataset)), None


def log_names(root: Path, dataset: str) -> dict[str, int]:
    """Name -> size of every entry of a table's log (empty when it has none)."""
    remote = store.of(root)
    if remote is not None:
        return remote.listing(f"{dataset}/_delta_log")
    log = table_dir(root, dataset) / "_delta_log"
    try:
        with os.scandir(log) as entries:
            return {e.name: e.stat().st_size for e in entries if e.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def log_text(root: Path, dataset: str, name: str) -> str:
    """One entry of a table's log, as text ("" when it cannot be read)."""
    remote = store.of(root)
    try:
        if remote is not None:
            return remote.read_bytes(f"{dataset}/_delta_log/{name}").decode()
        return (table_dir(root, dataset) / "_delta_log" / name).read_text()
    except (OSError, EmolakeError, UnicodeDecodeError):
        return ""


def exists(root: Path, dataset: str) -> bool:
    if store.of(root) is not None:
        return any(name.endswith(".json") for name in log_names(root, dataset))
    return (table_dir(root, dataset) / "_delta_log").is_dir()


def commit_mark(root: Path) -> tuple:
    """Changes whenever a commit lands on any dataset (a commit adds a file to its table's `_delta_log/`, which
    changes that directory's mtime; in an object store, its listing); cheap enough to call on every dashboard
    query of a local lake."""
    if store.of(root) is not None:
        return tuple(tuple(sorted(log_names(root, name).items())) for name in DATASETS)
    marks = []
    for name in DATASETS:
        try:
            marks.append((Path(root) / name / "_delta_log").stat().st_mtime_ns)
        except FileNotFoundError:
            marks.append(0)
    return tuple(marks)


def log_mark(root: Path, dataset: str) -> tuple[tuple[str, int, int], ...]:
    """Every entry of a table's log with its size and modification time (in an object store: its size)."""
    if store.of(root) is not None:
        return tuple(sorted((name, size, 0) for name, size in log_names(root, dataset).items()))
    with os.scandir(table_dir(root, dataset) / "_delta_log") as entries:
        return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries))
