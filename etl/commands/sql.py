"""`emolake sql QUERY|FILE.sql [--format] [--timeout S] [--max-rows N]` and `emolake sql --list`: read-only SQL over
the lake's views, in the same sandbox as the dashboard's console (etl/lake/sandbox.py): lake files only, no network,
no extension installs, one SELECT at a time, a time limit, and a row limit for table output."""

from __future__ import annotations

from pathlib import Path

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("sql", help="run a read-only SQL query over the lake's views")
    command.add_argument("query", nargs="?", help="a SELECT query, or a path to a .sql file")
    command.add_argument("--list", action="store_true", help="list the views and their columns")
    command.add_argument("--format", choices=["table", "csv", "json"], default="table")
    command.add_argument("--timeout", type=float, default=60.0, help="stop the query after this many seconds (60)")
    command.add_argument(
        "--max-rows", type=int, default=10_000, help="rows shown in table format (csv and json return every row)"
    )
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
    from etl.lake import sandbox

    if not args.timeout > 0 or args.max_rows < 1:
        raise EmolakeError(f"--timeout {args.timeout} --max-rows {args.max_rows}: use positive numbers")
    catalog = sandbox.sandboxed(lake)
    row_limit = args.max_rows if args.format == "table" else 2**62
    result = sandbox.run(catalog.con.cursor(), text, catalog.missing, row_limit, args.timeout)
    print(format_table(result.table, args.format))
    if result.truncated:
        print(f"(only the first {args.max_rows:,} rows: pass --max-rows N, or --format csv for all)")
