"""Fault injection for the crash tests: `EMOLAKE_CRASH_AT=N` kills the process (SIGKILL) at the Nth write boundary;
`EMOLAKE_CRASH_COUNT=FILE` appends one line per boundary, so a test can count them for a clean run."""

from __future__ import annotations

import os
import signal

_seen = {"n": 0}


def boundary(label: str) -> None:
    """A point where a kill must leave a lake that the next run resumes from."""
    _seen["n"] += 1
    count_file = os.environ.get("EMOLAKE_CRASH_COUNT")
    if count_file:
        with open(count_file, "a") as handle:
            handle.write(f"{_seen['n']} {label}\n")
    if os.environ.get("EMOLAKE_CRASH_AT") == str(_seen["n"]):
        os.kill(os.getpid(), signal.SIGKILL)
