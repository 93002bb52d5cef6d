"""The one sandbox for SQL a person types (the CLI's `emolake sql` and the dashboard's console): the `sql/` views in
an in-memory DuckDB that can read the lake's committed files and nothing else, in a process of its own.

Each query runs in a fresh child process (`run_isolated`) that opens the views itself, locks the connection down and
then runs the query under limits that cover executing and fetching alike:

- memory: the child's address space may grow by at most `memory_bytes` past what it held once the views were open
  (RLIMIT_AS), so an allocation DuckDB's own memory_limit does not track (`repeat('x', 3000000000)`) fails at once;
- time: the parent kills the child when the query has run `seconds` (from the moment the views are open);
- result: at most `rows` rows and `result_bytes` bytes of Arrow data come back; the rest is cut, and said so.

Inside, file access is limited to the lake directory, spilling to disk is off (DuckDB's default temp directory,
`./.tmp`, would otherwise be readable), external access and extension installs are off and the configuration is
locked, so a query cannot read /etc/passwd or a file beside the lake, reach a URL, COPY, ATTACH, INSTALL, or turn a
setting back on. Only single SELECT statements run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import pyarrow as pa

from etl import resources
from etl.errors import EmolakeError
from etl.lake import Lake, views

ROW_LIMIT = 10_000
TIME_LIMIT_S = 10.0
MAX_TIME_S = 600.0
MAX_ROWS = 10_000_000
MEMORY_LIMIT = 2 * 2**30
RESULT_BYTES = 256 * 2**20
STARTUP_LIMIT_S = 300.0
"""How long the child may take to open the views (checking the lake's files) before the query's clock starts."""
BATCH_ROWS = 2048
IMPORT_ROOT = resources.package_dir().parent
"""Where this `etl` was imported from (a checkout or site-packages): the child imports the same code."""
CHILD = "from etl.lake.sandbox import child_main; child_main()"


@dataclass
class QueryResult:
    columns: list[str]
    table: pa.Table
    """The rows as a pyarrow table (at most the row limit)."""
    truncated: bool
    """More rows matched than the row limit or the result-size limit allowed."""
    seconds: float
    cut: str = ""
    """What cut the result: "rows" or "bytes" ("" when it is whole)."""

    @cached_property
    def rows(self) -> list[dict]:
        return self.table.to_pylist()


@dataclass(frozen=True)
class Limits:
    seconds: float = TIME_LIMIT_S
    rows: int = ROW_LIMIT
    memory_bytes: int = MEMORY_LIMIT
    result_bytes: int = RESULT_BYTES
    threads: int = 2


def seconds_limit(value: str | float, name: str = "time limit") -> float:
    """A time limit as a number of seconds above 0 and at most MAX_TIME_S; raises naming `value` otherwise."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIME_S):
        raise EmolakeError(f"{name} {value}: give a number of seconds above 0 and at most {MAX_TIME_S:g}")
    return seconds


def rows_limit(value: str | int, name: str = "row limit") -> int:
    """A row limit as a whole number from 1 to MAX_ROWS; raises naming `value` otherwise."""
    try:
        rows = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else 0
    except ValueError:
        rows = 0
    if not 1 <= rows <= MAX_ROWS:
        raise EmolakeError(f"{name} {value}: give a whole number of rows from 1 to {MAX_ROWS:,}")
    return rows


def lock_down(
    con: duckdb.DuckDBPyConnection, lake: Lake | Path, threads: int = 2, memory_limit: str | int = "2GB"
) -> None:
    """Restricts a connection whose views exist to reading the lake directory (see the module docstring)."""
    root = str(Path(lake.root if isinstance(lake, Lake) else lake).resolve()).replace("'", "''")
    memory = f"{memory_limit}B" if isinstance(memory_limit, int) else memory_limit
    for statement in (
        f"set threads = {int(threads)}",
        f"set memory_limit = '{memory}'",
        "set temp_directory = ''",
        "set autoinstall_known_extensions = false",
        "set autoload_known_extensions = false",
        f"set allowed_directories = ['{root}/']",
        "set enable_external_access = false",
        "set lock_configuration = true",
    ):
        con.execute(statement)


def run_isolated(
    root: Path | str, sql: str, limits: Limits | None = None, connector: str = "lake", as_of: str | None = None
) -> QueryResult:
    """Runs one typed SELECT in a sandbox process over the views of the lake at `root` (read `as_of` a time or
    versions, see etl/lake/history.py; or, with the "plain" connector, over no views, reading files under `root`
    only); raises EmolakeError in one line."""
    limits = limits or Limits()
    if connector not in ("lake", "plain"):
        raise ValueError(f"unknown sandbox connector {connector!r}")
    seconds = seconds_limit(limits.seconds)
    rows = rows_limit(limits.rows)
    views.check_read_only(sql)
    if len(duckdb.extract_statements(sql)) != 1:
        raise EmolakeError("run one statement at a time")
    request = {
        "connector": connector,
        "root": str(root),
        "as_of": as_of,
        "sql": sql,
        "rows": rows,
        "memory_bytes": int(limits.memory_bytes),
        "result_bytes": int(limits.result_bytes),
        "threads": int(limits.threads),
        "seconds": seconds,
    }
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": os.pathsep.join([str(IMPORT_ROOT), *_pythonpath()])}
    with tempfile.TemporaryFile() as errors:
        # -P: nothing importable from the working directory
        command = [sys.executable, "-P", "-c", CHILD]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env)
        try:
            with contextlib.suppress(BrokenPipeError):
                child.stdin.write(json.dumps(request).encode())
                child.stdin.close()
            status, body = _receive(child, seconds, 2 * limits.result_bytes + 2**20)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
            code = child.wait()
            child.stdout.close()
            with contextlib.suppress(OSError):
                child.stdin.close()
        errors.seek(max(0, errors.seek(0, 2) - 4000))
        stderr = errors.read().decode(errors="replace")
    return _result(status, body, code, stderr, limits)


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


class _Deadline:
    """When to kill the child: STARTUP_LIMIT_S for opening the views, then `seconds` for the query (from its "R")."""

    def __init__(self, child: subprocess.Popen, seconds: float) -> None:
        self.child, self.seconds, self.ready = child, seconds, False
        self.at = time.monotonic() + STARTUP_LIMIT_S

    def start(self) -> None:
        self.ready, self.at = True, time.monotonic() + self.seconds

    def wait(self, fd: int) -> None:
        """Returns once `fd` can be read; kills the child and raises when the deadline passes first."""
        while True:
            left = self.at - time.monotonic()
            if left <= 0:
                self.child.kill()
                if self.ready:
                    raise EmolakeError(f"the query ran past the {self.seconds:g} s limit and was stopped")
                raise EmolakeError(f"the lake's views did not open within {STARTUP_LIMIT_S:g} s: check the lake's disk")
            if select.select([fd], [], [], left)[0]:
                return


def _receive(child: subprocess.Popen, seconds: float, max_bytes: int) -> tuple[dict | None, pa.Buffer | None]:
    """The child's status (None when it died before sending one) and its Arrow IPC stream, read into one aligned
    buffer (the rows are not copied again)."""
    fd, deadline, head = child.stdout.fileno(), _Deadline(child, seconds), b""
    while b"\n" not in head:
        deadline.wait(fd)
        chunk = os.read(fd, 2**16)
        if not chunk:
            return None, None
        if not deadline.ready and not head and chunk[:1] == b"R":
            deadline.start()
            chunk = chunk[1:]
        head += chunk
    line, _, rest = head.partition(b"\n")
    status = json.loads(line)
    size = status.get("bytes", 0)
    if size > max_bytes:
        child.kill()
        raise RuntimeError(f"the SQL sandbox sent {size:,} bytes, over its limit of {max_bytes:,}")
    body = pa.allocate_buffer(size)
    view = memoryview(body).cast("B")
    view[: len(rest)] = rest
    filled = len(rest)
    while filled < size:
        deadline.wait(fd)
        n = os.readv(fd, [view[filled:]])
        if not n:
            raise RuntimeError("the SQL sandbox stopped in the middle of its result")
        filled += n
    return status, body


def _result(status: dict | None, body: pa.Buffer | None, code: int, stderr: str, limits: Limits) -> QueryResult:
    """The QueryResult the child sent, or the one-line error it sent or died of."""
    if status is None:
        if code == -signal.SIGXCPU:
            raise EmolakeError(f"the query used more CPU time than the {limits.seconds:g} s limit allows: stopped")
        if code < 0 or "MemoryError" in stderr:
            how = f"signal {-code}" if code < 0 else "out of memory"
            raise EmolakeError(
                f"the query stopped its sandbox process ({how}): it most likely needed more than the "
                f"{_size(limits.memory_bytes)} memory limit"
            )
        raise RuntimeError(f"the SQL sandbox failed (exit {code}): {stderr.strip()[-2000:]}")
    if "error" in status:
        raise EmolakeError(status["error"])
    table = pa.ipc.open_stream(body).read_all()
    return QueryResult(table.column_names, table, bool(status["cut"]), status["seconds"], status["cut"])


def child_main() -> None:
    """The sandbox process: reads a request (JSON) on stdin, writes "R" once its views are open, then a status line
    (JSON: "error", or "cut", "seconds" and "bytes") and the rows as an Arrow IPC stream of that many bytes."""
    out = sys.stdout.buffer
    request = json.loads(sys.stdin.buffer.read())
    try:
        status, table = _child_query(request, out)
    except EmolakeError as exc:
        status, table = {"error": str(exc)}, None
    body = None
    if table is not None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        body = sink.getvalue()
        status["bytes"] = body.size
    out.write(json.dumps(status).encode() + b"\n")
    if body is not None:
        out.write(body)
    out.flush()


def _child_query(request: dict, out) -> tuple[dict, pa.Table]:
    root = Path(request["root"])
    if request["connector"] == "lake":
        from etl.lake.history import parse_as_of

        as_of = parse_as_of(request["as_of"]) if request.get("as_of") else None
        lake = Lake(request["root"], as_of=as_of)
        catalog = views.connect(lake)
        con, missing = catalog.con, catalog.missing
        root = lake.root
    else:
        con, missing = duckdb.connect(), {}
    memory = request["memory_bytes"]
    # DuckDB's own limit sits below the process limit so that operators it tracks fail with its clearer message
    lock_down(con, root, request["threads"], memory * 3 // 4)
    out.write(b"R")
    out.flush()
    limit_address_space(memory)
    # a backstop for a child whose parent died: the CPU time of twice the time limit on every thread
    limit_cpu(2 * request["seconds"] * request["threads"] + 5)
    started = time.perf_counter()
    try:
        relation = con.sql(request["sql"])
        if relation is None:
            raise EmolakeError("the statement returned no rows: write a SELECT")
        reader = relation.limit(request["rows"] + 1).to_arrow_reader(BATCH_ROWS)
        batches, cut = collect(reader, request["rows"], request["result_bytes"])
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except (duckdb.OutOfMemoryException, MemoryError):
        raise EmolakeError(f"the query needed more than the {_size(memory)} memory limit and was stopped") from None
    except duckdb.Error as exc:
        raise EmolakeError(message(exc, missing)) from None
    except pa.ArrowException as exc:
        raise EmolakeError(f"query failed: {views.first_line(exc)}") from None
    return {"cut": cut, "seconds": time.perf_counter() - started}, table


def limit_address_space(extra: int) -> None:
    """Lets this process's address space grow by at most `extra` bytes from now on (Linux; elsewhere a no-op)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return
    size = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmSize:"))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def limit_cpu(extra: float) -> None:
    """Kills this process (SIGXCPU) once it has used `extra` more seconds of CPU time."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(used.ru_utime + used.ru_stime + extra)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def collect(reader: pa.RecordBatchReader, rows: int, max_bytes: int) -> tuple[list[pa.RecordBatch], str]:
    """At most `rows` rows and `max_bytes` bytes of the reader's batches, and what cut them ("rows", "bytes" or "")."""
    kept, n, size, cut = [], 0, 0, ""
    for batch in reader:
        if n + batch.num_rows > rows:
            batch, cut = batch.slice(0, rows - n), "rows"
        while batch.num_rows and size + batch.nbytes > max_bytes:
            batch, cut = batch.slice(0, batch.num_rows // 2), "bytes"
        kept.append(batch)
        n, size = n + batch.num_rows, size + batch.nbytes
        if cut:
            break
    return kept, cut


def _size(n: int) -> str:
    return f"{n / 2**30:g} GB" if n >= 2**30 else f"{n / 2**20:g} MB"


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
