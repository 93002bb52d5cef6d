"""Commit records: the files of each dataset that readers may see, with their size, rows and checksum.

    _commits/DATASET.json        the committed version of one dataset: {relative path: {bytes, rows, sha256}}
    _commits/journal-TX.json     a commit in flight: the renames and removals it makes and the records it writes

A writer stages files under hidden temporary names (no reader looks at them) inside a `Transaction`; `commit` writes
a journal (fsynced, renamed into place), applies it (renames the temporaries over their final names, removes
superseded files, rewrites the records), then deletes the journal. A crash before the journal lands leaves only
temporaries, which the next writer deletes; a crash after it leaves a journal that the next reader or writer rolls
forward (applying a journal twice changes nothing), so a commit happens entirely or not at all.
Readers list files from the records, never by globbing, and check each file's size and checksum before using it.
"""

from __future__ import annotations

import contextvars
import fcntl
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake.durable import boundary, describe, fsync_dir, fsync_file, sha256, write_json_durably

RECORDS = "_commits"
_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar("emolake_transaction", default=None)
_verified: dict[tuple[str, int, int, str], bool] = {}
"""(path, size, mtime_ns, sha256) of files whose checksum matched in this process: each file is hashed once."""


class DamageError(EmolakeError):
    """A committed file is missing, truncated or altered."""


def damage(rel: str, what: str) -> DamageError:
    return DamageError(
        f"lake file {rel} is {what}: `emolake verify` lists the damage, `emolake verify --repair` mends it"
    )


def absolute(path: Path | str) -> Path:
    return Path(os.path.abspath(path))


def dataset_of(rel: str) -> str:
    return rel.split("/", 1)[0]


# -- records ---------------------------------------------------------------------------------------------------------
def records_dir(root: Path) -> Path:
    return absolute(root) / RECORDS


@contextmanager
def locked(root: Path, exclusive: bool) -> Iterator[None]:
    """An advisory lock on the lake's records: one committer at a time; readers never see a commit half-applied.
    A reader of a read-only lake takes the lock through a read-only handle (or none, if the lake never had one)."""
    directory = records_dir(root)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / ".lock", "a+")  # noqa: SIM115 (held for the block, closed below)
    except OSError as exc:
        if exclusive:
            raise not_writable(root, exc) from None
        if not (directory / ".lock").exists():
            yield
            return
        handle = open(directory / ".lock")  # noqa: SIM115 (held for the block, closed below)
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def not_writable(root: Path, exc: OSError) -> EmolakeError:
    return EmolakeError(
        f"the lake at {root} is not writable ({exc.strerror}): fix its permissions, or use another lake"
    )


_parsed: dict[Path, tuple[bytes, dict]] = {}
"""Record path -> (its bytes when last parsed, the parsed record): a reader re-reads the bytes every time, and parses
them again only when they changed (parsing is what costs: the activations record lists every shard file)."""


def read_record(root: Path, dataset: str, private: bool = False) -> dict:
    """A dataset's committed record. Shared with other callers (do not change it) unless `private`."""
    path = records_dir(root) / f"{dataset}.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {"dataset": dataset, "version": 0, "files": {}}
    except OSError as exc:
        raise damage(f"{RECORDS}/{dataset}.json", "unreadable") from exc
    cached = _parsed.get(path)
    if cached is not None and cached[0] == raw and not private:
        return cached[1]
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise damage(f"{RECORDS}/{dataset}.json", "unreadable") from exc
    if not private:
        _parsed[path] = (raw, record)
    return record


def snapshot(root: Path, datasets: Iterable[str] | None = None) -> dict[str, dict]:
    """Every dataset's committed record (or those of `datasets`), read at one instant (after rolling forward an
    interrupted commit). The records are shared: do not change them."""
    directory = records_dir(root)
    if not directory.is_dir():
        return {}
    if any(directory.glob("journal-*.json")):
        recover(root)
    with locked(root, exclusive=False):
        if datasets is not None:
            return {d: read_record(root, d) for d in datasets if (directory / f"{d}.json").exists()}
        return {p.stem: read_record(root, p.stem) for p in sorted(directory.glob("*.json")) if "journal" not in p.stem}


def has_records(root: Path) -> bool:
    return records_dir(root).is_dir()


def recover(root: Path) -> int:
    """Rolls forward every journal left by a killed commit; returns how many there were."""
    directory = records_dir(root)
    journals = sorted(directory.glob("journal-*.json"))
    if not journals:
        return 0
    if not os.access(directory, os.W_OK):
        raise EmolakeError(
            f"the lake at {root} has an unfinished commit and is read-only: run `emolake verify --repair`"
        )
    with locked(root, exclusive=True):
        for journal in sorted(directory.glob("journal-*.json")):
            apply(absolute(root), json.loads(journal.read_text()))
            journal.unlink()
        fsync_dir(directory)
    return len(journals)


def apply(root: Path, journal: dict) -> None:
    """Makes a journal's changes; safe to repeat (a rename already made or a file already gone is skipped)."""
    touched = set()
    for tmp_rel, rel in journal["renames"]:
        tmp = root / tmp_rel
        if tmp.exists():
            os.replace(tmp, root / rel)
            touched.add((root / rel).parent)
            boundary("rename")
    for rel in journal["removals"]:
        (root / rel).unlink(missing_ok=True)
        touched.add((root / rel).parent)
    for directory in touched:
        fsync_dir(directory)
    for dataset, record in journal["records"].items():
        write_json_durably(record, records_dir(root) / f"{dataset}.json")
    boundary("records")


# -- transactions ----------------------------------------------------------------------------------------------------
@dataclass
class Transaction:
    """Files staged for one commit: written under temporary names, made visible together by `commit`."""

    root: Path
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    writes: dict[str, tuple[Path, dict]] = field(default_factory=dict)
    """Relative final path -> (staged temporary, its description)."""
    removals: set[str] = field(default_factory=set)
    superseded: set[str] = field(default_factory=set)
    """Relative directories whose committed files this commit replaces (those it does not rewrite are removed)."""

    def owns(self, final: Path) -> bool:
        return absolute(final).is_relative_to(self.root)

    def rel(self, path: Path) -> str:
        return absolute(path).relative_to(self.root).as_posix()

    def stage(self, tmp: Path, final: Path) -> None:
        """Takes a finished temporary as the next version of `final` (not visible until commit)."""
        tmp = absolute(tmp)
        fsync_file(tmp)
        rel = self.rel(final)
        if rel.startswith(RECORDS):
            raise EmolakeError(f"{final} is inside the lake's commit records: write elsewhere")
        previous = self.writes.pop(rel, None)
        if previous:
            previous[0].unlink(missing_ok=True)
        self.writes[rel] = (tmp, describe(tmp))
        self.removals.discard(rel)
        boundary("staged")

    def remove(self, final: Path) -> None:
        rel = self.rel(final)
        previous = self.writes.pop(rel, None)
        if previous:
            previous[0].unlink(missing_ok=True)
        self.removals.add(rel)

    def supersede(self, directory: Path) -> None:
        """At commit, committed files under `directory` that this transaction did not write are removed."""
        self.superseded.add(self.rel(directory).rstrip("/") + "/")

    def overlay(self, dataset: str, entries: dict[str, dict]) -> dict[str, dict]:
        """A dataset's committed entries as they will be after this transaction commits."""
        out = {}
        for rel, entry in entries.items():
            gone = rel in self.removals or any(rel.startswith(prefix) for prefix in self.superseded)
            if not gone or rel in self.writes:
                out[rel] = entry
        out.update({rel: entry for rel, (_, entry) in self.writes.items() if dataset_of(rel) == dataset})
        return out

    def discard(self) -> None:
        for tmp, _ in self.writes.values():
            tmp.unlink(missing_ok=True)
        self.writes.clear()

    def commit(self) -> None:
        if not (self.writes or self.removals or self.superseded):
            return
        with locked(self.root, exclusive=True):
            datasets = {dataset_of(r) for r in [*self.writes, *self.removals, *self.superseded]}
            records = {d: read_record(self.root, d, private=True) for d in datasets}
            removals = set(self.removals)
            for prefix in self.superseded:
                files = records[dataset_of(prefix)]["files"]
                removals |= {r for r in files if r.startswith(prefix) and r not in self.writes}
            now = datetime.now(UTC).isoformat(timespec="seconds")
            for rel, (_, entry) in self.writes.items():
                records[dataset_of(rel)]["files"][rel] = entry
            for rel in removals:
                records[dataset_of(rel)]["files"].pop(rel, None)
            for record in records.values():
                record["version"] = record.get("version", 0) + 1
                record["committed_at"] = now
            journal = {
                "renames": [[tmp.relative_to(self.root).as_posix(), rel] for rel, (tmp, _) in self.writes.items()],
                "removals": sorted(removals),
                "records": records,
            }
            path = records_dir(self.root) / f"journal-{uuid.uuid4().hex}.json"
            write_json_durably(journal, path)
            boundary("journal")
            apply(self.root, journal)
            path.unlink()
            fsync_dir(path.parent)
        self.writes.clear()
        self.removals.clear()
        self.superseded.clear()


def current(final: Path) -> Transaction | None:
    """The open transaction that owns `final`, if any."""
    tx = _current.get()
    return tx if tx is not None and tx.owns(final) else None


@contextmanager
def transaction(root: Path) -> Iterator[Transaction]:
    """Stages every lake write made inside the block and commits them together when it ends without an error.

    Nested blocks over the same lake join the outer transaction (one commit at the end)."""
    outer = _current.get()
    if outer is not None and outer.root == absolute(root):
        yield outer
        return
    if outer is not None:
        raise EmolakeError(f"a transaction on {outer.root} is open: finish it before writing to {root}")
    tx = Transaction(absolute(root))
    lease = hold_lease(tx)
    token = _current.set(tx)
    try:
        yield tx
        tx.commit()
    except BaseException:
        tx.discard()
        raise
    finally:
        _current.reset(token)
        lease.close()
        (records_dir(tx.root) / f"open-{tx.id}.lease").unlink(missing_ok=True)


def hold_lease(tx: Transaction):
    """An exclusively locked file that says the transaction is alive (the lock dies with its process)."""
    directory = records_dir(tx.root)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / f"open-{tx.id}.lease", "w")  # noqa: SIM115 (held until the transaction ends)
    except OSError as exc:
        raise not_writable(tx.root, exc) from None
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def live_transactions(root: Path) -> set[str]:
    """Ids of transactions whose process still holds its lease; stale leases are removed."""
    live = set()
    for lease in records_dir(root).glob("open-*.lease"):
        with open(lease, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                live.add(lease.stem.removeprefix("open-"))
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
        lease.unlink(missing_ok=True)
    return live


# -- verified reads --------------------------------------------------------------------------------------------------
def check_file(root: Path, rel: str, entry: dict, deep: bool = True) -> str | None:
    """What is wrong with one committed file ("missing", "truncated", ...), or None when it matches its record."""
    path = absolute(root) / rel
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "missing"
    if stat.st_size != entry["bytes"]:
        return f"truncated or grown ({stat.st_size} bytes, committed {entry['bytes']})"
    if not deep:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns, entry["sha256"])
    if key in _verified:
        return None
    if sha256(path) != entry["sha256"]:
        return "altered (its checksum does not match the one recorded at commit)"
    _verified[key] = True
    return None


def verified(root: Path, rel: str, entry: dict | None = None) -> Path:
    """The absolute path of a committed file after checking it against `entry` (its record entry, read from the
    records when not given); raises DamageError naming it when it does not match.

    A file rewritten by a commit that landed after `entry` was read is checked against the newer record."""
    root = absolute(root)
    if entry is None:
        entry = snapshot(root, [dataset_of(rel)]).get(dataset_of(rel), {}).get("files", {}).get(rel)
    if entry is None:
        raise EmolakeError(f"{rel} is not committed in the lake at {root}: rebuild it (see `emolake verify`)")
    problem = check_file(root, rel, entry)
    if problem:
        fresh = read_record(root, dataset_of(rel))["files"].get(rel)
        if fresh is None or fresh == entry or check_file(root, rel, fresh):
            raise damage(rel, problem)
    return root / rel
