"""Assertions shared by the bad-input tests: one-line errors and unchanged lakes."""

import hashlib
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def assert_one_line_error(result, fragment):
    code, _, err = result
    assert code == 1
    assert err.startswith("error: ") and "Traceback" not in err
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
