"""`emolake sql QUERY|FILE.sql [--format] [--timeout S] [--max-rows N]` and `emolake sql --list`: read-only SQL over
the lake's views, in the same sandbox as the dashboard's console (etl/lake/sandbox.py): a process of its own with a
memory limit, lake files only, no network, no extension installs, one SELECT at a time, a time limit, and a row limit
and a result-size limit for every format."""

from __future__ import annotations

import sys
from pathlib import Path

from etl.commands._common import lake_dir
from etl.errors import EmolakeError

ROWS = {"table": 10_000, "csv": 1_000_000, "json": 1_000_000}
"""Rows returned when --max-rows is not given."""


def register(subparsers) -> None:
    command = subparsers.add_parser("sql", help="run a read-only SQL query over the lake's views")
    command.add_argument("query", nargs="?", help="a SELECT query, or a path to a .sql file")
    command.add_argument("--list", action="store_true", help="list the views and their columns")
    command.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (floats to 4 digits, lists to 8 values, long cells cut) or csv/json (exact values)",
    )
    command.add_argument("--timeout", default="60", help="stop the query after this many seconds (60; at most 600)")
    command.add_argument(
        "--max-rows", default=None, help="rows returned (10,000 for table, 1,000,000 for csv/json; at most 10,000,000)"
    )
    command.add_argument(
        "--as-of",
        metavar="WHEN",
        help="read the lake as it was: a UTC time (2026-12-06T10:00) or DATASET=VERSION[,...]",
    )
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.commands._tables import write_table
    from etl.lake import Lake, sandbox, views
    from etl.lake.history import as_of_text, parse_as_of

    as_of = parse_as_of(args.as_of) if args.as_of else None
    lake = Lake(lake_dir(args), as_of=as_of)
    if args.list:
        for name, columns in views.describe(lake):
            print(f"{name}: {columns}")
        return
    if not args.query:
        raise EmolakeError('give a query, e.g. emolake sql "select count(*) from texts", or --list')
    seconds = sandbox.seconds_limit(args.timeout, "--timeout")
    rows = sandbox.rows_limit(ROWS[args.format] if args.max_rows is None else args.max_rows, "--max-rows")
    text = args.query
    if text.endswith(".sql"):
        path = Path(text)
        if not path.is_file():
            saved = views.SQL_DIR / "queries"
            raise EmolakeError(f"SQL file {path} does not exist: give an existing file (saved queries: {saved}/)")
        text = path.read_text()
    limits = sandbox.Limits(seconds=seconds, rows=rows)
    result = sandbox.run_isolated(lake.location, text, limits, as_of=as_of_text(as_of))
    write_table(result.table, args.format, sys.stdout)
    sys.stdout.write("\n")
    if result.cut == "rows":
        print(f"(only the first {rows:,} rows: pass --max-rows N, at most {sandbox.MAX_ROWS:,})", file=sys.stderr)
    elif result.cut:
        print(
            f"(only the first {result.table.num_rows:,} rows: the result passed the "
            f"{sandbox.RESULT_BYTES // 2**20:,} MB limit; select fewer columns or rows)",
            file=sys.stderr,
        )
