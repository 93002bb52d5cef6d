"""CLI commands: each module here has `register(subparsers)`, which adds its parser and sets `handler`.

`COMMANDS` lists them, imported by name (not found by a string), in the order --help shows them: a new command is a
new file and a line here (tests/unit/test_layout.py checks that none is left out). Each keeps its heavy imports
inside its handler, so importing them all is what the CLI's start costs.
"""

from __future__ import annotations

import argparse

from etl.commands import (
    adapt,
    classify,
    export,
    history,
    importing,
    nearest,
    run,
    score,
    serve,
    similar,
    sql,
    steer,
    steer_sweep,
    summary,
    vacuum,
    validate,
    verify,
)

COMMANDS = (
    run,
    summary,
    sql,
    nearest,
    classify,
    export,
    history,
    importing,
    score,
    serve,
    similar,
    steer,
    steer_sweep,
    vacuum,
    validate,
    adapt,
    verify,
)


class _WithParents:
    """Wraps the subparsers action so every command's parser gets the global options (`--lake`, `-v`, `-q`)."""

    def __init__(self, subparsers, parents: list[argparse.ArgumentParser]) -> None:
        self._subparsers, self._parents = subparsers, parents

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        kwargs["parents"] = [*self._parents, *kwargs.get("parents", [])]
        return self._subparsers.add_parser(name, **kwargs)


def register_all(subparsers, parents: list[argparse.ArgumentParser] | None = None) -> None:
    wrapped = _WithParents(subparsers, parents or [])
    for command in COMMANDS:
        command.register(wrapped)
