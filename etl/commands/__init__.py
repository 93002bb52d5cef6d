"""CLI commands: each module here has `register(subparsers)`, which adds its parser and sets `handler`.

Modules are discovered by name, so a new command is a new file; `ORDER` fixes where known ones appear in --help.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

ORDER = ("run", "summary", "sql", "nearest", "classify")


def modules() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return [m for m in ORDER if m in found] + sorted(m for m in found if m not in ORDER)


class _WithParents:
    """Wraps the subparsers action so every command's parser gets the global options (`--lake`, `-v`, `-q`)."""

    def __init__(self, subparsers, parents: list[argparse.ArgumentParser]) -> None:
        self._subparsers, self._parents = subparsers, parents

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        kwargs["parents"] = [*self._parents, *kwargs.get("parents", [])]
        return self._subparsers.add_parser(name, **kwargs)


def register_all(subparsers, parents: list[argparse.ArgumentParser] | None = None) -> None:
    wrapped = _WithParents(subparsers, parents or [])
    for name in modules():
        importlib.import_module(f"{__name__}.{name}").register(wrapped)
