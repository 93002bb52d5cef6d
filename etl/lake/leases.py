"""Leases: each writing process holds a locked file in `_emolake/leases/` while it writes, so `verify --repair`
can tell a live writer's unfinished files from a killed writer's (the lock dies with its process)."""

from __future__ import annotations

import contextvars
import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import safety

DIRECTORY = ("_emolake", "leases")


def directory(root: Path) -> Path:
    """The leases' directory, checked to lie inside the lake (a planted symlink there raises OutsideError)."""
    return safety.contained(root, "/".join(DIRECTORY))


@contextmanager
def held(root: Path) -> Iterator[None]:
    """Holds a lease on the lake for the block (a read-only lake takes none: nothing can be written to it)."""
    folder = directory(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.lock"
        handle = open(path, "w")  # noqa: SIM115 (held for the block, closed below)
    except OSError:
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()
        path.unlink(missing_ok=True)


_writing: contextvars.ContextVar[int] = contextvars.ContextVar("emolake_writing", default=0)


@contextmanager
def writing(root: Path) -> Iterator[None]:
    """Holds the lake's write lock for the block (re-entrant within a process): one process at a time reads what a
    commit depends on, writes its files and commits them. Delta's own check (a commit fails when another landed
    after its base) stays the guarantee; the lock keeps two of this lake's writers from failing each other's
    commits, which would leave the files of a failed attempt behind. A read-only lake takes none."""
    depth = _writing.get()
    if depth:
        token = _writing.set(depth + 1)
        try:
            yield
        finally:
            _writing.reset(token)
        return
    try:
        folder = directory(root)
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder.parent / "write.lock", "a")  # noqa: SIM115 (held for the block, closed below)
    except OSError:
        yield
        return
    token = _writing.set(1)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        _writing.reset(token)
        handle.close()


def live(root: Path) -> list[str]:
    """Names of the leases whose process still holds them; stale ones are removed."""
    out = []
    for path in sorted(directory(root).glob("*.lock")):
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                out.append(path.stem)
                continue
        path.unlink(missing_ok=True)
    return out


def refuse_if_writing(root: Path) -> None:
    found = live(root)
    if found:
        pids = sorted({name.split("-")[0] for name in found})
        raise EmolakeError(
            f"a writer is running on the lake at {root} (process {', '.join(pids)}): "
            "run `emolake verify --repair` when it has finished"
        )
