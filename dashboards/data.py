"""The dashboard's only door to the lake: the `sql/` views in an in-memory DuckDB that cannot reach anything else.

After the views are created, file access is limited to the lake directory (which the views read), external access
is switched off and the configuration is locked, so a query typed into the SQL console cannot read /etc/passwd,
COPY, ATTACH, INSTALL or turn the settings back on. Only single SELECT statements run; each one runs on its own
cursor with a row limit and a time limit (DuckDB has no statement timeout, so a timer interrupts the cursor).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl.errors import EmolakeError
from etl.lake import Lake, views

ROW_LIMIT = 10_000
TIME_LIMIT_S = 10.0
DEFAULT_TARGET = "make all"


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict]
    truncated: bool
    """More rows matched than the row limit allowed."""
    seconds: float


class LakeReader:
    """Read-only views over one lake, shared by every page and every request thread."""

    def __init__(self, lake: Lake, threads: int = 2, memory_limit: str = "2GB") -> None:
        self.lake = lake
        catalog = views.connect(lake)
        self._con = catalog.con
        self.views = list(catalog.views)
        self.missing = dict(catalog.missing)
        self._lock = threading.Lock()
        self._seen = commit_mark(lake)
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
            self._con.execute(statement)

    def has(self, view: str) -> bool:
        return view in self.views

    def target(self, view: str) -> str:
        """The command that fills a view (from its `-- built by:` line)."""
        return self.missing.get(view, DEFAULT_TARGET)

    def retry_missing(self) -> list[str]:
        """Creates views whose data has appeared since start-up (e.g. after `make evaluate`); returns the new ones."""
        with self._lock:
            self._seen = commit_mark(self.lake)
            created = views.create_views(self._con, self.lake, only=set(self.missing))
            added = [v for v in created.views if v in self.missing]
            self.missing = {v: target for v, target in self.missing.items() if v not in added}
            self.views += added
        return added

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            self._follow_commits()
            return self._con.cursor()

    def _follow_commits(self) -> None:
        """Re-creates the views on the newest committed files when a writer committed since they were made (the
        views list committed files, so without this the app would keep answering from the version it started on)."""
        mark = commit_mark(self.lake)
        if mark == self._seen:
            return
        catalog = views.create_views(self._con, self.lake, only=set(self.views) | set(self.missing))
        for gone in set(self.views) - set(catalog.views):
            self._con.execute(f'drop view if exists "{gone}"')
        self.views = list(catalog.views)
        self.missing = {**{v: t for v, t in self.missing.items() if v not in catalog.views}, **catalog.missing}
        self._seen = mark

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        """Rows of a trusted query written by the dashboard (parameters bound, never formatted in)."""
        cursor = self.cursor()
        try:
            result = cursor.execute(sql, params or [])
            columns = [d[0] for d in result.description]
            return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
        finally:
            cursor.close()

    def values(self, sql: str, params: list | None = None) -> list:
        """The first column of a trusted query."""
        return [next(iter(row.values())) for row in self.rows(sql, params)]

    def columns(self, view: str) -> list[tuple[str, str]]:
        return [(r["column_name"], r["column_type"]) for r in self.rows(f'describe "{view}"')]

    def console(self, sql: str, row_limit: int = ROW_LIMIT, time_limit_s: float = TIME_LIMIT_S) -> QueryResult:
        """Runs one user-typed SELECT with a row limit and a time limit; raises EmolakeError with one clear line."""
        views.check_read_only(sql)
        if len(duckdb.extract_statements(sql)) != 1:
            raise EmolakeError("run one statement at a time")
        cursor = self.cursor()
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
            raise EmolakeError(console_message(exc, self.missing)) from exc
        finally:
            timer.cancel()
            cursor.close()
        rows = table.slice(0, row_limit).to_pylist()
        return QueryResult(table.column_names, rows, table.num_rows > row_limit, time.perf_counter() - started)


def commit_mark(lake: Lake) -> int:
    """Changes whenever a commit lands (records are renamed into `_commits/`, which changes its mtime)."""
    try:
        return (lake.root / "_commits").stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def console_message(exc: duckdb.Error, missing: dict[str, str]) -> str:
    """One line for a failed console query; names the make target when the query used a view that is empty."""
    text = views.first_line(exc)
    if isinstance(exc, duckdb.PermissionException):
        return "refused: the console reads only the lake's views (no files, no network, no settings)"
    if isinstance(exc, duckdb.CatalogException):
        for view, target in missing.items():
            if f'"{view}"' in text or f" {view} " in f" {text} ":
                return f"the lake has no `{view}` yet: run `{target}`"
    return text


def saved_queries(directory: Path | None = None) -> list[tuple[str, str, str]]:
    """(name, description, sql) of each saved query in sql/queries/; the description is its first comment line."""
    directory = directory or views.SQL_DIR / "queries"
    out = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text()
        first = text.strip().splitlines()[0] if text.strip() else ""
        description = first.removeprefix("--").strip() if first.startswith("--") else path.stem.replace("_", " ")
        out.append((path.stem, description, text))
    return out
