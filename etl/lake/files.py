"""Files beside the tables: FAISS indexes, their sidecars and the evaluation report. Each is written to a file of its
own (a unique name, so a reader of the previous version is never cut short; the report keeps its name, so that a
browser finds it) and committed as a row of the `files` table: logical name -> file, size, checksum."""

from __future__ import annotations

import contextvars
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from etl.lake import datasets, delta, safety, store

_checked: set[tuple[str, int, int, str]] = set()
"""(path, size, mtime_ns, sha256) of files whose checksum matched in this process: each is hashed once."""


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def area_of(rel: str) -> str:
    return rel.split("/", 1)[0]


def lake_of(path: Path) -> Path | None:
    """The lake root holding `path` as a file beside its tables (an `index/` or `reports/` file), else None."""
    path = Path(os.path.abspath(path))
    for ancestor in path.parents:
        if ancestor.name not in datasets.FILE_AREAS:
            continue
        inner = path.relative_to(ancestor).parts
        if (
            (ancestor.name == "index" and len(inner) >= 2 and "=" in inner[0])
            or store.of(ancestor.parent) is not None
            or any((ancestor.parent / name / "_delta_log").is_dir() for name in datasets.DATASETS)
        ):
            return ancestor.parent
    return None


def entries(lake, area: str) -> dict[str, dict]:
    """Logical name -> row of the `files` table, for one area."""
    table = lake.table("files")
    if table is None:
        return {}
    key = (str(lake.root.resolve()), table.version(), area)
    cached = _entries.get(key)
    if cached is None:
        import pyarrow.parquet as pq

        cached = {}
        for found in delta.data_files(lake.root, "files", table):
            if found.partition.get("area") == area:
                for row in pq.read_table(lake.root / found.rel).to_pylist():
                    cached[row["name"]] = row
        _entries[key] = cached
    return cached


_entries: dict[tuple, dict[str, dict]] = {}


def entry(lake, rel: str) -> dict | None:
    return entries(lake, area_of(rel)).get(rel)


def verified(lake, rel: str) -> Path:
    """The file holding `rel` now, after checking it against its row; raises DamageError naming it."""
    from etl.errors import EmolakeError

    row = entry(lake, rel)
    if row is None:
        raise EmolakeError(f"{rel} is not committed in the lake at {lake.root}: rebuild it (see `emolake verify`)")
    return checked(lake, row["path"], area_of(rel), row["bytes"], row["sha256"])


def checked(lake, rel: str, within: str, size: int, digest: str) -> Path:
    """The path of the lake file `rel` (a shard, an index or report file), inside the area `within` and matching its
    recorded size and checksum; raises DamageError naming it otherwise."""
    path = safety.contained(lake.root, rel, within=within)
    problem = fetched_problem(lake, rel, path, size, digest)
    if problem:
        raise delta.damage(rel, problem)
    return path


def fetched_problem(lake, rel: str, path: Path, size: int, digest: str, refetch: bool = False) -> str | None:
    """`check` on the bytes the lake holds: in an object-store lake the file is fetched into the cache first and,
    with `refetch` (verify), a cached copy that fails is fetched once more, so only the store's bytes are judged."""
    if lake.remote is not None:
        lake.remote.fetch(rel, size)
    problem = check(path, size, digest)
    if problem and refetch and lake.remote is not None:
        path.unlink(missing_ok=True)
        lake.remote.fetch(rel, size)
        problem = check(path, size, digest)
    return problem


def check_size(path: Path, size: int) -> str | None:
    """What is wrong with a file against its recorded size, or None."""
    try:
        found = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    return None if found == size else f"truncated or grown ({found} bytes, committed {size})"


def check(path: Path, size: int, digest: str) -> str | None:
    """What is wrong with a file against its recorded size and checksum, or None."""
    problem = check_size(path, size)
    if problem:
        return problem
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, digest)
    if key in _checked:
        return None
    if sha256(path) != digest:
        return "altered (its checksum does not match the one recorded at commit)"
    _checked.add(key)
    return None


def root_key(lake) -> Path:
    """The lake's root as an absolute path: a batch opened on `Lake("lake")` must collect the files that
    `atomic_path` puts through the absolute root it finds from the file's path."""
    return Path(os.path.abspath(lake.root))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def put(lake, rel: str, tmp: Path) -> Path:
    """Moves a finished temporary to the file that will hold `rel` and commits its row, replacing the previous (in a
    `batch`, the row waits for the batch's one commit). A report keeps its name, so it is moved into place only at
    the commit, under the lake's write lock: two writers' renames and rows cannot cross. In an object store every
    file gets a unique name (a lock there would not reach other hosts) and is uploaded before its row commits."""
    fsync(tmp)
    final = lake.root / rel
    staged = None
    if area_of(rel) == "reports" and lake.remote is None:
        staged = final.with_name(f".tmp-{uuid.uuid4().hex}-{final.name}.partial")
    else:
        final = final.with_name(f"{final.stem}.{uuid.uuid4().hex[:12]}{final.suffix}")
    row = {
        "area": area_of(rel),
        "name": rel,
        "path": lake.rel(final),
        "bytes": tmp.stat().st_size,
        "sha256": sha256(tmp),
        "created_at": now(),
    }
    os.replace(tmp, staged or final)
    if staged is None:
        lake.publish(final)
    pending = _batch.get()
    if pending is not None and pending[0] == root_key(lake):
        pending[1][rel] = (row, staged)
    else:
        commit(lake, [(row, staged)])
    return final


def commit(lake, entries: list[tuple[dict, Path | None]]) -> None:
    """Moves staged reports into place and commits the rows, one `files` commit per area, under the write lock."""
    from etl.lake import leases

    with leases.writing(lake.root):
        delta.check_reads(lake.root, "files")  # before any report is moved: a conflict must leave the old ones
        for row, staged in entries:
            if staged is not None:
                os.replace(staged, lake.root / row["path"])
        rows = [row for row, _ in entries]
        for area in sorted({row["area"] for row in rows}):
            chosen = [row for row in rows if row["area"] == area]
            where = {"area": area, "name": [row["name"] for row in chosen]}
            lake.write("files", chosen, mode="replace", where=where)


_batch: contextvars.ContextVar[tuple[Path, dict[str, tuple]] | None] = contextvars.ContextVar("files", default=None)


@contextmanager
def batch(lake) -> Iterator[None]:
    """Files put in the block are committed together when it ends (one commit per area instead of one per file):
    readers see all of them or none. A block that fails commits nothing and deletes its own files."""
    token = _batch.set((root_key(lake), {}))
    committed = False
    try:
        yield
        entries = list(_batch.get()[1].values())
        if entries:
            commit(lake, entries)
        committed = True
    finally:
        if not committed:
            discard(lake, list(_batch.get()[1].values()))
        _batch.reset(token)


def discard(lake, entries: list[tuple[dict, Path | None]]) -> None:
    """Deletes the files of a batch that will not be committed: each has a name of this write's own (a unique
    suffix, or a staged temporary), so no committed file and no other writer's file is touched."""
    for row, staged in entries:
        (staged or lake.root / row["path"]).unlink(missing_ok=True)
