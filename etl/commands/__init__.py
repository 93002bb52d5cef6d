"""CLI commands: each module here has `register(subparsers)`, which adds its parser and sets `handler`.

Modules are discovered by name, so a new command is a new file; `ORDER` fixes where known ones appear in --help.
"""

from __future__ import annotations

import importlib
import pkgutil

ORDER = ("run", "summary", "sql", "nearest", "classify")


def modules() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return [m for m in ORDER if m in found] + sorted(m for m in found if m not in ORDER)


def register_all(subparsers) -> None:
    for name in modules():
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
