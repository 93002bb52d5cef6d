"""The one sandbox for SQL a person types (the CLI's `emolake sql` and the dashboard's console): the `sql/` views in
an in-memory DuckDB that can read the lake's committed files and nothing else.

After the views are created, file access is limited to the lake directory, external access and extension installs
are switched off and the configuration is locked, so a query cannot read /etc/passwd or a file beside the lake,
reach a URL, COPY, ATTACH, INSTALL, or turn a setting back on. Only single SELECT statements run, each on its own
cursor with a row limit and a time limit (DuckDB has no statement timeout, so a timer interrupts the cursor).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import duckdb

from etl.errors import EmolakeError
from etl.lake import Lake, views

ROW_LIMIT = 10_000
TIME_LIMIT_S = 10.0


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict]
    truncated: bool
    """More rows matched than the row limit allowed."""
    seconds: float
    table: object = None
    """The rows as a pyarrow table (at most the row limit)."""


def lock_down(con: duckdb.DuckDBPyConnection, lake: Lake, threads: int = 2, memory_limit: str = "2GB") -> None:
    """Restricts a connection whose views exist to reading the lake directory (see the module docstring)."""
    root = str(lake.root.resolve()).replace("'", "''")
    for statement in (
        f"set threads = {int(threads)}",
        f"set memory_limit = '{memory_limit}'",
        "set autoinstall_known_extensions = false",
        "set autoload_known_extensions = false",
        f"set allowed_directories = ['{root}/']",
        "set enable_external_access = false",
        "set lock_configuration = true",
    ):
        con.execute(statement)


def sandboxed(lake: Lake) -> views.Views:
    """The lake's views in a locked-down connection."""
    catalog = views.connect(lake)
    lock_down(catalog.con, lake)
    return catalog


def run(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    missing: dict[str, str],
    row_limit: int = ROW_LIMIT,
    time_limit_s: float = TIME_LIMIT_S,
) -> QueryResult:
    """Runs one typed SELECT on a sandboxed cursor with a row and a time limit; raises EmolakeError in one line."""
    views.check_read_only(sql)
    if len(duckdb.extract_statements(sql)) != 1:
        raise EmolakeError("run one statement at a time")
    if not time_limit_s > 0 or row_limit < 1:
        raise EmolakeError(f"limits {row_limit} rows, {time_limit_s} s: use a positive row limit and time limit")
    timer = threading.Timer(time_limit_s, cursor.interrupt)
    started = time.perf_counter()
    timer.start()
    try:
        relation = cursor.sql(sql)
        if relation is None:
            raise EmolakeError("the statement returned no rows: write a SELECT")
        table = relation.limit(row_limit + 1).to_arrow_table()
    except duckdb.InterruptException as exc:
        raise EmolakeError(f"the query ran past the {time_limit_s:g} s limit and was stopped") from exc
    except duckdb.Error as exc:
        raise EmolakeError(message(exc, missing)) from exc
    finally:
        timer.cancel()
    kept = table.slice(0, row_limit)
    seconds = time.perf_counter() - started
    return QueryResult(table.column_names, kept.to_pylist(), table.num_rows > row_limit, seconds, kept)


def message(exc: duckdb.Error, missing: dict[str, str]) -> str:
    """One line for a failed query; names the make target when the query used a view that is empty."""
    text = views.first_line(exc)
    if isinstance(exc, duckdb.PermissionException) or "external access" in text.lower():
        return "refused: queries read only the lake's views (no files, no network, no settings)"
    if isinstance(exc, duckdb.CatalogException):
        for view, target in missing.items():
            if f'"{view}"' in text or f" {view} " in f" {text} ":
                return f"the lake has no `{view}` yet: run `{target}`"
        return f"query failed: {text} (the views and their columns: `emolake sql --list`)"
    return f"query failed: {text}"
