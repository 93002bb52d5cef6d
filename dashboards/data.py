"""The dashboard's only door to the lake: the `sql/` views in an in-memory DuckDB locked down by the sandbox of
`etl.lake.sandbox` (the one `emolake sql` uses too): lake files only, single SELECTs; the console runs each typed
query in a sandbox process with memory, time, row and result-size limits, at most CONSOLE_SLOTS at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from etl.errors import EmolakeError
from etl.lake import Lake, logs, sandbox, views
from etl.lake.sandbox import QueryResult

ROW_LIMIT = sandbox.ROW_LIMIT
TIME_LIMIT_S = sandbox.TIME_LIMIT_S
CONSOLE_SLOTS = 2
"""Console queries running at once: what bounds the console's memory to about CONSOLE_SLOTS x the sandbox's limit."""
CONSOLE_RESULT_BYTES = 64 * 2**20
DEFAULT_TARGET = "make all"
__all__ = ["LakeReader", "QueryResult", "saved_queries"]


class LakeReader:
    """Read-only views over one lake, shared by every page and every request thread."""

    def __init__(self, lake: Lake, threads: int = 2, memory_limit: str = "2GB") -> None:
        self.lake = lake
        catalog = views.connect(lake)
        self._con = catalog.con
        self.views = list(catalog.views)
        self.missing = dict(catalog.missing)
        self._lock = threading.Lock()
        self._console_slots = threading.BoundedSemaphore(CONSOLE_SLOTS)
        self._seen = commit_mark(lake)
        sandbox.lock_down(self._con, lake, threads, memory_limit)

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
        """Runs one user-typed SELECT in a sandbox process that opens the views itself (sandbox.run_isolated), with
        the sandbox's memory limit and the given row and time limits; raises EmolakeError with one clear line."""
        seconds = sandbox.seconds_limit(time_limit_s)
        if not self._console_slots.acquire(timeout=seconds):
            raise EmolakeError(f"the SQL console is already running {CONSOLE_SLOTS} queries: try again when one ends")
        try:
            limits = sandbox.Limits(seconds, row_limit, result_bytes=CONSOLE_RESULT_BYTES)
            return sandbox.run_isolated(self.lake.location, sql, limits)
        finally:
            self._console_slots.release()


def commit_mark(lake: Lake) -> tuple[int, ...]:
    """Changes whenever a commit lands on any dataset."""
    return logs.commit_mark(lake.root)


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
