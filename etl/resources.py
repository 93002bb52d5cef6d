"""Where the shipped files are: the SQL views (`sql/`), the reference texts (`data/`) and etl's own tables
(`etl/data/`), whether etl runs from a checkout or from an installed wheel.

In the repository `sql/` and `data/` stay at the top level; pyproject maps them into the wheel as `etl/_sql` and
`etl/_data`. Every reader asks this module, never `Path(__file__).parents[...]`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from etl.errors import EmolakeError


def _shipped(inside: str, top: str) -> Path:
    """The directory `inside` of the installed package if present (a wheel), else the checkout's top-level `top`.

    The package's own copy wins so an installed etl never reads a stray `sql/` beside site-packages; a checkout
    (editable or `python -m etl`) has no such copy, so it reads the top-level directory of the checkout it was
    imported from, not of some other worktree an editable finder points at."""
    root = package_dir()
    for candidate in (root / inside, root.parent / top):
        if candidate.is_dir():
            return candidate
    raise EmolakeError(f"shipped directory {top}/ not found beside {root}: reinstall emolake (pip install emolake)")


def package_dir() -> Path:
    """The installed etl package as a directory; raises if it was imported from a zip (DuckDB and globbing need
    real files)."""
    root = files("etl")
    if not isinstance(root, Path):
        raise EmolakeError(f"etl is imported from {root}, not a directory: install emolake from its wheel with pip")
    return root


def sql_dir() -> Path:
    """The directory of the view definitions (staging/, marts/, queries/)."""
    return _shipped("_sql", "sql")


def data_dir() -> Path:
    """The directory of the shipped texts (reference_corpus/, short_texts/, examples/)."""
    return _shipped("_data", "data")


def etl_data_dir() -> Path:
    """etl's own tables: the emotion catalog, norms, topics and prompt templates (always inside the package)."""
    return package_dir() / "data"
