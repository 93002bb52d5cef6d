"""The lake: one Delta Lake table per dataset (registry: `etl.lake.datasets`), written only through `Lake.write`.

Layout (hive-partitioned; partition values are in the path and the table's log, never inside the files):
    texts/_delta_log/, texts/source=S/corpus=C/part-*.parquet     one Delta table per dataset (`datasets.DATASETS`)
    shards/model=M/layer=L/shard-N-W.npy      float16 mean vectors, named with size and checksum in `activations`
    index/model=M/source=S/kind=K/...          FAISS indexes and sidecars, listed in the `files` table
    reports/M/report.html                      the evaluation report and its plots, listed in the `files` table
    _quarantine/                                 files `verify --repair` moved aside (with a manifest), never deleted
A lake may also live in an object store (`s3://bucket/prefix`, `etl.lake.store`): the same layout under the prefix,
with a local cache of the files readers need.
Readers list files from a table version (never by globbing), so a file a killed writer left is never read; every
path taken from a lake is checked to stay inside it (`etl.lake.safety`).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from etl.errors import EmolakeError
from etl.lake import checksums, datasets, delta, files, leases, safety, store
from etl.lake.datasets import DATASETS
from etl.lake.delta import ConflictError, DamageError

__all__ = ["DATASETS", "WRITES", "ConflictError", "DamageError", "Lake", "atomic_path", "partition_value"]

MODES = ("insert", "append", "replace")


WRITES = {"writes": 0, "seconds": 0.0}
"""This process's calls of Lake.write and the seconds they took (schema checks, key checks, the lock, Parquet
encoding, the commit, checksums): the runner records each stage's share in the manifest."""


class Lake:
    """One lake root, read at its newest version (or `as_of` a time, read-only)."""

    def __init__(self, root: str | Path, as_of: datetime | dict[str, int] | None = None) -> None:
        self.remote = store.parse(root) or store.of(root)
        self.root = self.remote.cache if self.remote else Path(root)
        """The local directory of the lake (for an object-store lake, its cache)."""
        self.location = self.remote.uri if self.remote else str(root)
        """What names the lake for a user or another process: its directory or its `s3://` URI."""
        self.as_of = as_of

    # -- tables ----------------------------------------------------------------------------------------------------
    def dataset(self, name: str) -> Path:
        return self.root / name

    def partition(self, name: str, **keys: object) -> Path:
        """The directory of one partition, keys in the order given."""
        path = self.dataset(name)
        for key, value in keys.items():
            path = path / f"{key}={partition_value(value)}"
        return path

    def table(self, name: str):
        """The Delta table of a dataset at the version this lake reads (None if never written); the read is noted
        in the current run."""
        datasets.get(name)
        as_of = self.as_of.get(name) if isinstance(self.as_of, dict) else self.as_of
        table = delta.open_table(self.root, name, as_of)
        if table is not None:
            delta.note_read(self.root, name, table.version())
        return table

    def data_files(self, name: str, under: Path | None = None) -> list[delta.DataFile]:
        table = self.table(name)
        if table is None:
            return []
        prefix = "" if under is None else self.rel(under).rstrip("/") + "/"
        return [f for f in delta.data_files(self.root, name, table) if f.rel.startswith(prefix)]

    def files(self, name: str, under: Path | None = None) -> list[str]:
        """Absolute paths of a dataset's committed files (under a partition directory, if given), each checked to be
        inside the lake and of its committed size; raises naming the first damaged one."""
        out = []
        found_files = self.data_files(name, under)
        sums = checksums.known(self.root, name) if found_files else {}
        for found in found_files:
            path = self.root / found.rel
            size, digest = sums.get(found.rel, (found.bytes, None))
            problem = files.check(path, size, digest) if digest else files.check_size(path, found.bytes)
            if problem == "missing" and self.as_of is not None:
                from etl.lake.history import as_of_text

                raise EmolakeError(
                    f"`{name}` as of {as_of_text(self.as_of)} names files `emolake vacuum` removed: read a newer "
                    f"version (`emolake history {name}` lists them)"
                )
            if problem:
                raise delta.damage(found.rel, problem)
            out.append(str(path))
        return out

    def has(self, name: str, under: Path | None = None) -> bool:
        """Whether a dataset (or one partition of it) has committed rows."""
        return bool(self.data_files(name, under))

    def version(self, name: str) -> int | None:
        table = self.table(name)
        return None if table is None else table.version()

    def write(self, name: str, rows, mode: str = "insert", where: dict | None = None, **partition) -> int:
        """Commits rows to a dataset in one Delta commit; returns how many rows it added.

        `partition` gives constant partition columns (rows may carry them instead). Modes: `insert` skips rows whose
        registered key is already in the table (two writers never double a row); `append` adds every row;
        `replace` swaps the rows `where` selects (default: the given partition) for these, after checking that no
        other writer changed what this run read (else ConflictError: the runner re-plans the stage)."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: one of {MODES}")
        self.check_writable()
        started = time.perf_counter()
        ds = datasets.get(name)
        table = conform(ds, rows, partition)
        try:
            if delta.current_run(self.root) is None:
                with leases.held(self.root), leases.writing(self.root):
                    return self.commit(ds, table, mode, where, partition)
            with leases.writing(self.root):
                return self.commit(ds, table, mode, where, partition)
        finally:
            WRITES["writes"] += 1
            WRITES["seconds"] += time.perf_counter() - started

    def commit(self, ds: datasets.Dataset, table: pa.Table, mode: str, where: dict | None, partition: dict) -> int:
        name = ds.name
        if not table.num_rows and delta.open_table(self.root, name) is None:
            # An empty write still creates the table: its view exists, with its columns, from the first write on.
            delta.create(self.root, ds)
            return 0
        if mode == "replace":
            return self.replace(ds, table, where if where is not None else partition)
        if mode == "append":
            if not table.num_rows:
                return 0
            attempt = lambda: checksums.commit(  # noqa: E731
                self.root, ds, table, "append", None, delta.open_table(self.root, name), {"rows": table.num_rows}
            )
            delta.with_retries(attempt, name)
            return table.num_rows
        return delta.with_retries(lambda: self.insert_once(ds, table), name)

    def insert_once(self, ds: datasets.Dataset, table: pa.Table) -> int:
        base = delta.open_table(self.root, ds.name)
        fresh = table if base is None else new_rows(self.root, ds, base, table)
        if not fresh.num_rows:
            return 0
        checksums.commit(self.root, ds, fresh, "append", None, base, {"rows": fresh.num_rows})
        return fresh.num_rows

    def replace(self, ds: datasets.Dataset, table: pa.Table, where: dict) -> int:
        delta.check_reads(self.root, ds.name)
        base = delta.base_for(self.root, ds.name)
        if table.num_rows:
            outside = out_of_scope(table, where)
            if outside:
                raise ValueError(f"{ds.name}: rows outside the replaced scope {where}: {outside}")
        checksums.commit(self.root, ds, table, "replace", where, base, {"rows": table.num_rows})
        return table.num_rows

    def delete(self, name: str, where: dict) -> None:
        """Removes the rows `where` selects, in one commit (checked like a `replace`)."""
        self.write(name, [], mode="replace", where=where)

    def check_writable(self) -> None:
        if self.as_of is not None:
            raise EmolakeError("a lake read as of a past version is read-only")
        if self.remote is not None:
            return
        if self.root.exists() and not self.root.is_dir():
            raise EmolakeError(f"the lake path {self.root} is a file: pass a directory with --lake")
        if self.root.exists() and not os.access(self.root, os.W_OK):
            raise read_only_error(self)

    def rel(self, path: Path | str) -> str:
        return Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(self.root))).as_posix()

    # -- files beside the tables (`etl.lake.files`) ---------------------------------------------------------------
    def exists(self, path: Path) -> bool:
        """Whether a file beside the tables (an index, a report) is committed."""
        return files.entry(self, self.rel(path)) is not None

    def verified(self, path: Path) -> Path:
        """The file that holds a committed index or report file now, after checking its size and checksum."""
        return files.verified(self, self.rel(path))

    def publish(self, path: Path) -> None:
        """Uploads a finished file of this lake (a shard) to its object store, before a commit names it."""
        if self.remote is not None:
            self.remote.upload(self.rel(path), path)

    def put(self, final: Path, tmp: Path) -> Path:
        return files.put(self, self.rel(final), tmp)

    def file_batch(self):
        """A block whose index and report files are committed together when it ends (see files.batch)."""
        return files.batch(self)

    # -- paths -------------------------------------------------------------------------------------------------------
    def shard_npy(self, model: str, layer: int, shard: int, writer: str) -> Path:
        """A shard's float16 array: `writer` (unique per writing process) keeps two writers' files apart."""
        return self.partition("shards", model=model, layer=layer) / f"shard-{shard:05d}-{writer}.npy"

    def faiss_path(self, model: str, source: str, kind: str, layer: int) -> Path:
        return self.partition("index", model=model, source=source, kind=kind) / f"layer-{layer}.faiss"

    def story_index_path(self, model: str, source: str, kind: str, layer: int) -> Path:
        """The story-vector index of one probe set; `.parquet` beside it holds the story ids in row order."""
        return self.partition("index", model=model, source=source, kind=kind) / f"stories-layer-{layer}.faiss"

    def report_dir(self, model: str) -> Path:
        return self.dataset("reports") / partition_value(model)


def partition_value(value: object) -> str:
    """A partition value that is safe in a path: `org/name:tag` becomes `org--name--tag`."""
    text = str(value)
    safe = re.sub(r"[/:\\\s=%]+", "--", text)
    return safe.strip("-") or "none"


def conform(ds: datasets.Dataset, rows, partition: dict) -> pa.Table:
    """Rows (a table or dicts, with or without partition columns) as a table of the dataset's registered schema;
    a missing or unknown column raises."""
    schema = ds.table_schema()
    unknown = set(partition) - set(ds.partitions)
    if unknown:
        raise ValueError(f"{ds.name}: {sorted(unknown)} are not its partition columns {ds.partitions}")
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))
    n = table.num_rows
    columns = []
    for field in schema:
        if field.name in partition:
            value = partition[field.name] if field.name == "layer" else partition_value(partition[field.name])
            columns.append(pa.array([value] * n, field.type))
        elif field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        elif n == 0:
            columns.append(pa.array([], field.type))
        else:
            raise ValueError(f"{ds.name}: column {field.name!r} is missing")
    extra = set(table.column_names) - set(schema.names)
    if extra:
        raise ValueError(f"{ds.name}: columns {sorted(extra)} are not in its schema")
    return pa.Table.from_arrays(columns, schema=schema)


def out_of_scope(table: pa.Table, where: dict) -> list[str]:
    """Columns of `where` that some row does not match (a replace may only write inside what it replaces)."""
    bad = []
    for column, value in where.items():
        allowed = set(value) if isinstance(value, list | tuple | set | frozenset) else {value}
        if column != "layer":
            allowed |= {partition_value(v) for v in allowed}  # partition columns hold their path-safe form
        if not set(table.column(column).to_pylist()) <= allowed:
            bad.append(column)
    return bad


def new_rows(root: Path, ds: datasets.Dataset, base, table: pa.Table) -> pa.Table:
    """The rows of `table` whose (partition, key) is not in the table version `base` (nor repeated earlier in
    `table` itself)."""
    import pyarrow.parquet as pq

    identity = [*ds.partitions, *ds.key]
    wanted = set(zip(*(table.column(c).to_pylist() for c in ds.partitions), strict=True)) if ds.partitions else {()}
    seen: set[tuple] = set()
    for found in delta.data_files(root, ds.name, base):
        values = tuple(found.partition.get(c) for c in ds.partitions)
        if values not in wanted:
            continue
        keys = pq.read_table(root / found.rel, columns=list(ds.key))  # data_files fetched it from a store
        columns = [k.to_pylist() for k in keys.columns]
        seen.update(values + tuple(r) for r in zip(*columns, strict=True))
    mask, kept = [], set()
    for row in zip(*(table.column(c).to_pylist() for c in identity), strict=True):
        fresh = row not in seen and row not in kept
        kept.add(row)
        mask.append(fresh)
    return table.filter(pa.array(mask, pa.bool_()))


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yields a hidden temporary beside `final`. When the block succeeds, a lake file (an index, a report) is
    committed through the `files` table; any other file (a user's output) is renamed into place."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{uuid.uuid4().hex}-{final.name}.partial"
    lake = files.lake_of(final)
    try:
        yield tmp
        if lake is not None:
            Lake(lake).put(final, tmp)
        else:
            files.fsync(tmp)
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(table: pa.Table, final: Path) -> Path:
    """Writes a Parquet file that is not a lake table's (an index's story ids, a user's output) atomically."""
    import pyarrow.parquet as pq

    with atomic_path(final) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return final


def write_json(payload: dict, final: Path) -> Path:
    import json

    with atomic_path(final) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return final


def read_only_error(lake: Lake) -> EmolakeError:
    return EmolakeError(f"the lake at {lake.root} is not writable: fix its permissions, or use another lake")


def contained(lake: Lake, rel: str) -> Path:
    return safety.contained(lake.root, rel)
