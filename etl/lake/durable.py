"""Durable files and the crash tests' kill points: fsync, checksums, JSON written by rename, and the boundaries at
which `EMOLAKE_CRASH_AT` kills the process. `COST` sums what this process spent on checksums and fsyncs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import uuid
from pathlib import Path

COST = {"seconds": 0.0, "files": 0, "bytes": 0}
"""Time this process spent checksumming and fsyncing (the price of the commit layer; stages log it)."""


# -- fault injection: the crash tests kill the process at the Nth write boundary ---------------------------------------
_boundaries = {"seen": 0}


def boundary(label: str) -> None:
    """A point where a kill must leave a recoverable lake; EMOLAKE_CRASH_AT=N kills the process (SIGKILL) at the Nth.

    EMOLAKE_CRASH_COUNT=FILE appends one line per boundary, so a test can count them for a clean run.
    """
    _boundaries["seen"] += 1
    count_file = os.environ.get("EMOLAKE_CRASH_COUNT")
    if count_file:
        with open(count_file, "a") as handle:
            handle.write(f"{_boundaries['seen']} {label}\n")
    if os.environ.get("EMOLAKE_CRASH_AT") == str(_boundaries["seen"]):
        os.kill(os.getpid(), signal.SIGKILL)


# -- durable files ---------------------------------------------------------------------------------------------------
def fsync_file(path: Path) -> None:
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    COST["seconds"] += time.perf_counter() - started


def fsync_dir(path: Path) -> None:
    """fsync_file for a directory; one that is gone has nothing to make durable."""
    try:
        fsync_file(path)
    except FileNotFoundError:
        return


def sha256(path: Path) -> str:
    started = time.perf_counter()
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    COST["seconds"] += time.perf_counter() - started
    COST["files"] += 1
    COST["bytes"] += path.stat().st_size
    return digest


def describe(path: Path) -> dict:
    """Size, checksum and (for Parquet) row count of a file about to be committed."""
    rows = None
    if path.name.endswith(".parquet") or path.name.endswith(".parquet.partial"):
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    return {"bytes": path.stat().st_size, "rows": rows, "sha256": sha256(path)}


def write_json_durably(payload: dict, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{uuid.uuid4().hex}-{final.name}.partial"
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    fsync_file(tmp)
    os.replace(tmp, final)
    fsync_dir(final.parent)
