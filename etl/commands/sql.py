"""`emolake sql QUERY|FILE.sql [--format]` and `emolake sql --list`: read-only SQL over the lake's views."""

from __future__ import annotations

from pathlib import Path

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("sql", help="run a read-only SQL query over the lake's views")
    command.add_argument("query", nargs="?", help="a SELECT query, or a path to a .sql file")
    command.add_argument("--list", action="store_true", help="list the views and their columns")
    command.add_argument("--format", choices=["table", "csv", "json"], default="table")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.commands._tables import format_table
    from etl.lake import Lake, views

    lake = Lake(lake_dir(args))
    if args.list:
        for name, columns in views.describe(lake):
            print(f"{name}: {columns}")
        return
    if not args.query:
        raise EmolakeError('give a query, e.g. emolake sql "select count(*) from texts", or --list')
    text = args.query
    if text.endswith(".sql"):
        path = Path(text)
        if not path.is_file():
            raise EmolakeError(f"SQL file {path} does not exist (saved queries live in sql/queries/)")
        text = path.read_text()
    print(format_table(views.run(lake, text), args.format))
