"""The table engine under every dataset: Delta Lake through `deltalake` (delta-rs).

Delta gives each table an ordered log of atomic commits (`<table>/_delta_log/`), so a reader sees a committed version
and never a half-written one, and a killed writer leaves only files no version names. What this module adds is the
lake's rules on top:

- **Optimistic concurrency.** Every commit carries the same application transaction id, so Delta refuses a commit
  when another one landed on the table after the version the writer based it on (`ConflictError`). `insert` writes
  re-read the keys and retry; `replace` writes fail and the runner re-plans the stage.
- **Runs.** A stage runs inside `run()`: the first version it reads of each table is recorded, and before a `replace`
  commit every table it read must have changed only by its own commits (else `ConflictError`). The versions go into
  the stage's manifest row, so a figure can be traced to the table versions it came from.
- **Safety.** Paths come from the log; `checked_files` refuses any that resolves outside the table (see `safety`).
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from etl.errors import EmolakeError
from etl.lake import faults, safety, store
from etl.lake.datasets import Dataset
from etl.lake.logs import exists, location, log_mark, log_names

APP_ID = "emolake"
INSERT_ATTEMPTS = 20
COMMAND_ENV = "EMOLAKE_COMMAND"
"""Set by the CLI to the command being run (`emolake run`); every commit records it for `emolake history`."""


class ConflictError(EmolakeError):
    """Another writer committed to a table this run read or writes, after this run read it."""

    def __init__(self, dataset: str, what: str = "") -> None:
        super().__init__(f"another writer changed `{dataset}` while this run used it{what}: run the command again")
        self.dataset = dataset


class DamageError(EmolakeError):
    """A table's log or one of its files is missing, truncated or altered."""


def damage(rel: str, what: str) -> DamageError:
    return DamageError(
        f"lake file {rel} is {what}: `emolake verify` lists the damage, `emolake verify --repair` mends it"
    )


# -- runs --------------------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One stage run (or one command) on one lake: the versions it read, and its own commits."""

    root: Path
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    reads: dict[str, int] = field(default_factory=dict)
    """Dataset -> the first version this run read."""
    writes: dict[str, int] = field(default_factory=dict)
    """Dataset -> the version of this run's last commit to it."""
    replaced: set[str] = field(default_factory=set)
    """Datasets this run wrote with `replace` (its own rows there would be lost to another writer's replace)."""


_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("emolake_run", default=None)


@contextmanager
def run(root: Path, name: str) -> Iterator[Run]:
    """The block is one run: reads are recorded, `replace` commits check that what was read is still current."""
    from etl.lake import leases

    current = Run(Path(root).resolve(), name)
    token = _run.set(current)
    try:
        with leases.held(root):
            yield current
    finally:
        _run.reset(token)


def current_run(root: Path) -> Run | None:
    found = _run.get()
    return found if found is not None and found.root == Path(root).resolve() else None


UNTRACKED = frozenset({"manifest", "checksums"})
"""Read by every run and written by every commit or run: another writer's rows there never make a read stale."""


def note_read(root: Path, dataset: str, version: int) -> None:
    found = current_run(root)
    if found is not None and dataset not in UNTRACKED:
        found.reads.setdefault(dataset, version)


# -- reading -----------------------------------------------------------------------------------------------------------
def open_table(root: Path, dataset: str, as_of: int | datetime | None = None):
    """The table at its newest version (or `as_of` a version or a time), or None when it was never written.
    A log that cannot be read raises DamageError naming it."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    if not exists(root, dataset):
        if (Path(root) / "_commits").is_dir() and (Path(root) / dataset).is_dir():
            raise EmolakeError(
                f"the lake at {root} was written by an older emolake (commit records in _commits/, no Delta tables): "
                "rebuild it with `make clean-lake && make all`"
            )
        return None
    uri, options = location(root, dataset)
    try:
        if isinstance(as_of, int):
            return DeltaTable(uri, version=as_of, storage_options=options)
        if as_of is None:
            return newest(root, dataset)
        table = DeltaTable(uri, storage_options=options)
        if isinstance(as_of, datetime):
            if as_of < first_commit_time(table):
                return None
            table.load_as_version(as_of)
        return table
    except TableNotFoundError:
        if not any(name.endswith(".json") for name in log_names(root, dataset)):
            return None
        raise damage(f"{dataset}/_delta_log", "unreadable") from None
    except (DeltaError, OSError, ValueError) as exc:
        if isinstance(as_of, int) and "version" in str(exc).lower() and "not" in str(exc).lower():
            raise EmolakeError(f"`{dataset}` has no version {as_of}: `emolake history {dataset}` lists them") from None
        raise damage(f"{dataset}/_delta_log", f"unreadable ({first_line(exc)})") from None


_opened: OrderedDict[str, tuple[tuple, object]] = OrderedDict()
"""Table directory -> (its log's mark, the table at its newest version): opening a table parses its log, which costs
more than every read a command then makes of it; a commit, rollback or damage changes the mark."""
_opened_lock = threading.Lock()
OPENED_MAX = 64


def newest(root: Path, dataset: str):
    """A table at its newest version, opened once per state of its log (shared: only read it)."""
    from deltalake import DeltaTable

    uri, options = location(root, dataset)
    key = uri if options else os.path.abspath(uri)
    mark = log_mark(root, dataset)
    last = max((int(name[:20]) for name, _, _ in mark if name.endswith(".json") and name[:20].isdigit()), default=-1)
    with _opened_lock:
        found = _opened.get(key)
    if found is not None and found[0] == mark and found[1].version() == last:
        return found[1]
    table = DeltaTable(uri, storage_options=options)
    with _opened_lock:
        _opened[key] = (mark, table)
        _opened.move_to_end(key)
        while len(_opened) > OPENED_MAX:
            _opened.popitem(last=False)
    return table


def private(root: Path, dataset: str, table):
    """A table object of the same version that this caller alone holds (a commit updates the object it is given)."""
    from deltalake import DeltaTable

    uri, options = location(root, dataset)
    return DeltaTable(uri, version=table.version(), storage_options=options)


def first_commit_time(table) -> datetime:
    from datetime import UTC

    oldest = table.history()[-1]
    return datetime.fromtimestamp(oldest["timestamp"] / 1000, tz=UTC)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@dataclass(frozen=True)
class DataFile:
    rel: str
    """Relative to the lake root."""
    bytes: int
    rows: int | None
    partition: dict


def data_files(root: Path, dataset: str, table, fetch: bool = True) -> list[DataFile]:
    """The files of one table version, each checked to lie inside the table (a planted path raises); in an
    object-store lake each is in the local cache after this (unless `fetch` is False)."""
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    rels = safety.inside_all(root, dataset, [action["path"] for action in actions])
    remote = store.of(root) if fetch else None
    out = []
    for action, rel in zip(actions, rels, strict=True):
        if remote is not None:
            remote.fetch(rel, int(action["size_bytes"]))
        partition = {k.removeprefix("partition."): v for k, v in action.items() if k.startswith("partition.")}
        out.append(DataFile(rel, int(action["size_bytes"]), action.get("num_records"), partition))
    return sorted(out, key=lambda f: f.rel)


# -- writing -----------------------------------------------------------------------------------------------------------
def literal(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise EmolakeError(f"cannot select rows by {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def predicate(where: dict) -> str:
    """`col = value AND col IN (...)`: a value that is a list or tuple selects any of its members."""
    parts = []
    for column, value in where.items():
        if isinstance(value, list | tuple | set | frozenset):
            members = sorted(value, key=str)
            parts.append(f"{column} IN ({', '.join(literal(v) for v in members)})" if members else "FALSE")
        else:
            parts.append(f"{column} = {literal(value)}")
    return " AND ".join(parts) if parts else "TRUE"


def commit_metadata(metadata: dict | None = None) -> dict[str, str]:
    """What each commit records for `emolake history`: the command, the stage and run that made it."""
    found = _run.get()
    meta = {
        "emolake_command": os.environ.get(COMMAND_ENV, "python"),
        "emolake_stage": found.name if found else "",
        "emolake_run": found.id if found else "",
        **(metadata or {}),
    }
    return {k: str(v) for k, v in meta.items()}


def commit_properties(base: int | None, metadata: dict):
    from deltalake import CommitProperties, Transaction

    # One application id for every commit: Delta refuses a commit when another that carries it landed after `base`.
    txn = Transaction(APP_ID, (base or 0) + 1)
    return CommitProperties(app_transactions=[txn], custom_metadata=commit_metadata(metadata))


def commit(root: Path, ds: Dataset, data: pa.Table, mode: str, where: dict | None, base, metadata: dict) -> int:
    """One Delta commit of `data` (append, or overwrite of the rows `where` selects) based on the table object `base`
    (None: create the table). Returns the new version; raises ConflictError when another writer got there first.
    The lake commits through `checksums.commit`, which records the checksums of the added files after this."""
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError, SchemaMismatchError

    faults.boundary(f"before-commit {ds.name}")
    if base is not None and mode == "replace":
        # an overwrite reads the files it replaces: none may lie outside the lake
        data_files(root, ds.name, base, fetch=False)
    if base is None:
        base = create(root, ds)
    version = base.version()
    try:
        write_deltalake(
            private(root, ds.name, base),
            data,
            mode="overwrite" if mode == "replace" else "append",
            predicate=predicate(where or {}) if mode == "replace" else None,
            partition_by=list(ds.partitions) or None,
            commit_properties=commit_properties(version, metadata),
            schema_mode=schema_mode(base, data),
        )
    except CommitFailedError as exc:
        raise ConflictError(ds.name) from exc
    except SchemaMismatchError as exc:
        raise EmolakeError(
            f"`{ds.name}` in the lake at {root} has other columns than this emolake writes ({str(exc)[:120]}): "
            "write to a new lake (--lake DIR)"
        ) from exc
    faults.boundary(f"after-commit {ds.name}")
    return own_version(root, ds.name)


def schema_mode(base, data: pa.Table) -> str | None:
    """ "merge" when `data` only adds columns to the stored table: a lake written before its dataset's registered
    schema grew takes the new columns (its earlier rows read null there); else None, and the write must match."""
    stored = set(pa.schema(base.schema().to_arrow()).names)
    return "merge" if stored < set(data.schema.names) else None


def create(root: Path, ds: Dataset):
    """The table, created empty (its schema and partitions: version 0) unless another writer created it first.

    Rows never go into the creating commit: delta-rs retries a create that lost the race as an append at the next
    version, unchecked, so two first writers could both add their rows. An empty create that lands twice adds
    nothing; every commit with rows is then based on a version and checked against the commits after it."""
    from deltalake import write_deltalake
    from deltalake.exceptions import DeltaError

    uri, options = location(root, ds.name)
    try:
        write_deltalake(
            uri,
            ds.table_schema().empty_table(),
            mode="error",
            partition_by=list(ds.partitions) or None,
            storage_options=options,
            commit_properties=commit_properties(None, {"rows": 0}),
        )
    except DeltaError as exc:
        if "exist" not in str(exc).lower():
            raise
    table = open_table(root, ds.name)
    if table is None:
        raise damage(f"{ds.name}/_delta_log", "missing after its table was created")
    return table


def own_version(root: Path, dataset: str) -> int:
    """The version of this process's latest commit to `dataset` (found by its run id in the history)."""
    table = open_table(root, dataset)
    found = _run.get()
    if found is None or table is None:
        return table.version() if table is not None else 0
    for entry in table.history(limit=50):
        if entry.get("emolake_run") == found.id:
            found.writes[dataset] = entry["version"]
            return entry["version"]
    return table.version()


def check_reads(root: Path, dataset_written: str, ignore: frozenset[str] = frozenset()) -> None:
    """Raises ConflictError when a table the current run read (less `ignore`) was changed by another writer since
    it read it."""
    found = current_run(root)
    if found is None:
        return
    if dataset_written not in UNTRACKED:
        found.replaced.add(dataset_written)
    for dataset, version in found.reads.items():
        if dataset in ignore:
            continue
        table = open_table(root, dataset)
        if table is None or table.version() == version:
            continue
        for entry in table.history(limit=table.version() - version):
            if entry["version"] > version and entry.get("emolake_run") != found.id:
                raise ConflictError(dataset, f" (`{dataset_written}` was not written)")


def base_for(root: Path, dataset: str):
    """The table object a `replace` commit is based on: the version this run first read or last wrote (so that any
    other writer's commit since then conflicts), else the newest."""
    found = current_run(root)
    table = open_table(root, dataset)
    if found is None or table is None:
        return table
    version = found.writes.get(dataset, found.reads.get(dataset))
    if version is None or version == table.version():
        return table
    return open_table(root, dataset, version)


def with_retries(attempt, dataset: str):
    """Calls `attempt()` until it commits without a conflict (insert writes: re-reading the keys settles them)."""
    for tries in range(INSERT_ATTEMPTS):
        try:
            return attempt()
        except ConflictError:
            time.sleep(min(0.05 * 2**tries, 1.0))
    raise ConflictError(dataset, f" ({INSERT_ATTEMPTS} times in a row)")
