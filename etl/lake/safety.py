"""No path read from a lake (a log entry, a table row, a file name) may lead outside it: every such path is checked
here before anything opens, writes, moves or deletes it. A lake someone sends you is data, never instructions."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from etl.errors import EmolakeError


class OutsideError(EmolakeError):
    """A path taken from the lake resolves outside it (a planted `../`, an absolute path or a symlink)."""


def real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def inside(root: Path, dataset: str, logged: str) -> str:
    """The lake-relative path of a file a table's log names (relative to the table), after checking that it stays
    inside that table, symlinks resolved; raises OutsideError otherwise."""
    return inside_all(root, dataset, [logged])[0]


def inside_all(root: Path, dataset: str, logged_paths: list[str]) -> list[str]:
    """`inside` for every path of a table version (the lake and the table directory are resolved once)."""
    contained(root, dataset)
    base = real(Path(root) / dataset)
    out = []
    for logged in logged_paths:
        text = unquote(logged)
        if "://" in text or text.startswith(("/", "\\")) or ".." in Path(text).parts:
            raise OutsideError(
                f"the log of `{dataset}` names {logged!r}, outside the table: the lake is not trustworthy"
            )
        rel = f"{dataset}/{text}"
        target = real(Path(root) / rel)
        if not target.is_relative_to(base):
            raise OutsideError(f"{rel!r} resolves to {target}, outside the lake: the lake is not trustworthy")
        out.append(rel)
    return out


def contained(root: Path, rel: str, within: str = "") -> Path:
    """The absolute path of a lake-relative path that must resolve (symlinks included) inside `root/within`."""
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise OutsideError(f"{rel!r} is not a path inside the lake: the lake is not trustworthy")
    lake = real(root)
    base = real(Path(root) / within) if within else lake
    target = real(Path(root) / rel)
    if not (target.is_relative_to(base) and base.is_relative_to(lake)):
        raise OutsideError(f"{rel!r} resolves to {target}, outside the lake: the lake is not trustworthy")
    return Path(root) / rel
