"""Read-only SQL over the lake: the views defined by the files in `sql/` (staging first, then marts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from etl import resources
from etl.errors import EmolakeError
from etl.lake import Lake

SQL_DIR = resources.sql_dir()
BUILT_BY = re.compile(r"--\s*built by:\s*(.+)")
CTE = re.compile(r"\b(\w+)\s+as\s*\(", flags=re.I)


@dataclass
class Views:
    """An in-memory DuckDB holding every view of `sql/` whose data exists."""

    con: duckdb.DuckDBPyConnection
    views: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    """View name -> the make target that fills it (its dataset, or a view it reads, is not in the lake yet)."""


@dataclass(frozen=True)
class ViewFile:
    name: str
    path: Path
    sql: str
    datasets: tuple[str, ...]
    """Lake datasets the view reads directly (`${lake}/NAME/`)."""
    target: str
    """The make target that fills it (its `-- built by:` line)."""


def view_files() -> list[Path]:
    return sorted((SQL_DIR / "staging").glob("*.sql")) + sorted((SQL_DIR / "marts").glob("*.sql"))


def parse(path: Path) -> ViewFile:
    text = path.read_text()
    target = BUILT_BY.search(text)
    datasets = tuple(sorted(set(re.findall(r"\$\{lake\}/(\w+)/", text))))
    return ViewFile(path.stem, path, text, datasets, target.group(1).strip() if target else "make all")


def in_dependency_order(files: list[ViewFile]) -> list[tuple[ViewFile, tuple[str, ...]]]:
    """(view, the views it reads) with every view after the views it reads; a cycle raises naming its files."""
    names = {f.name for f in files}
    reads = {f.name: tuple(sorted(views_read(f.sql) & names - {f.name})) for f in files}
    by_name, done, ordered = {f.name: f for f in files}, set(), []
    while len(ordered) < len(files):
        ready = [f for f in files if f.name not in done and set(reads[f.name]) <= done]
        if not ready:
            stuck = sorted(f"sql/{by_name[n].path.parent.name}/{n}.sql" for n in names - done)
            raise EmolakeError(f"the views {stuck} read each other in a cycle: break it")
        for f in ready:
            done.add(f.name)
            ordered.append((f, reads[f.name]))
    return ordered


def views_read(sql: str) -> set[str]:
    """Relations named after `from` / `join` that are not the file's own CTEs (lake paths are string literals).

    A CTE shadows a view only after its definition and outside its own body: `with texts as (select * from texts)`
    reads the view `texts`.
    """
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    ctes = {m.group(1).lower(): (m.start(), _closing(code, m.end() - 1)) for m in CTE.finditer(code)}
    out = set()
    for ref in re.finditer(r"\b(?:from|join)\s+(\w+)", code, flags=re.I):
        name, at = ref.group(1).lower(), ref.start()
        span = ctes.get(name)
        if span is None or at < span[0] or at < span[1]:
            out.add(name)
    return out


def _closing(code: str, opening: int) -> int:
    """The index of the parenthesis that closes the one at `opening`."""
    depth = 0
    for i in range(opening, len(code)):
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        if depth == 0:
            return i
    return len(code)


def create_views(con: duckdb.DuckDBPyConnection, lake: Lake, only: set[str] | None = None) -> Views:
    """Creates the views (or `only` these) in dependency order. A view whose dataset or upstream view is absent is
    listed in `missing`; a view whose SQL fails on existing data raises, naming its file."""
    catalog = Views(con)
    scans: dict[str, str | None] = {}
    for view, reads in in_dependency_order([parse(p) for p in view_files()]):
        if only is not None and view.name not in only:
            catalog.views.append(view.name)
            continue
        for dataset in view.datasets:
            if dataset not in scans:
                scans[dataset] = scan(lake, dataset)
        absent = [d for d in view.datasets if scans[d] is None]
        upstream = [n for n in reads if n in catalog.missing]
        if absent or upstream:
            catalog.missing[view.name] = catalog.missing[upstream[0]] if upstream and not absent else view.target
            continue
        try:
            con.execute(committed_sql(view, scans))
        except duckdb.Error as exc:
            where = f"sql/{view.path.parent.name}/{view.path.name}"
            raise EmolakeError(f"view `{view.name}` ({where}) failed: {first_line(exc)}") from exc
        catalog.views.append(view.name)
    if only is not None:
        catalog.views = [v for v in catalog.views if v in only and v not in catalog.missing]
    return catalog


SCAN = re.compile(r"read_parquet\('\$\{lake\}/(\w+)/\*\*/\*\.parquet'[^)]*\)")
DUCKDB_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "int32": "INTEGER", "double": "DOUBLE", "float": "FLOAT",
                "bool": "BOOLEAN"}  # fmt: skip


def duckdb_type(kind: pa.DataType) -> str:
    if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
        return duckdb_type(kind.value_type) + "[]"
    return DUCKDB_TYPES[str(kind)]


def scan(lake: Lake, dataset: str) -> str | None:
    """SQL reading one committed table version: its checked files, partition columns typed as registered (an empty
    table is a typed empty relation); None when the table was never written."""
    from etl.lake import datasets

    if lake.table(dataset) is None:
        return None
    entry = datasets.get(dataset)
    schema = entry.table_schema()
    found = lake.files(dataset)
    typed = ", ".join(f"cast(null as {duckdb_type(f.type)}) as {f.name}" for f in schema)
    if not found:
        return f"(select {typed} limit 0)"
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in found) + "]"
    types = ", ".join(f"'{p}': '{duckdb_type(schema.field(p).type)}'" for p in entry.partitions)
    files = f"read_parquet({listed}, hive_partitioning = true, hive_types = {{{types}}}, union_by_name = true)"
    # By name, with every registered column: a table written before its schema grew (delta.schema_mode) holds files
    # with and without the new columns, or only without them; those read as null.
    return f"(select * from {files} union all by name (select {typed} limit 0))"


def committed_sql(view: ViewFile, scans: dict[str, str]) -> str:
    """The view's SQL reading each dataset from one committed table version: never a file a writer has not
    committed (a leftover, a partial write, a superseded version)."""
    return SCAN.sub(lambda m: f"(select * from {scans[m.group(1)]})", view.sql)


def connect(lake: Lake) -> Views:
    """An in-memory DuckDB with every view whose data exists; the others are listed in `missing`."""
    if not lake.root.is_dir():
        raise EmolakeError(f"no lake at {lake.root}: run `make all` (or pass --lake / set EMOLAKE_LAKE)")
    return create_views(duckdb.connect(), lake)


def check_read_only(sql: str) -> None:
    """Accepts only SELECT statements (with CTEs); anything that writes, attaches or installs is refused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise EmolakeError(f"SQL does not parse: {first_line(exc)}") from exc
    if not statements:
        raise EmolakeError('empty SQL: pass a query such as "select count(*) from texts"')
    for statement in statements:
        if statement.type != duckdb.StatementType.SELECT:
            raise EmolakeError(f"only read-only SELECT queries are allowed, not {statement.type.name}")


def run(lake: Lake, sql: str):
    """Runs one read-only query over the views; returns a pyarrow table."""
    check_read_only(sql)
    catalog = connect(lake)
    try:
        return catalog.con.sql(sql).to_arrow_table()
    except duckdb.CatalogException as exc:
        for view, target in catalog.missing.items():
            if re.search(rf"\b{view}\b", str(exc)):
                raise EmolakeError(f"the lake has no `{view}` yet: run `{target}`") from exc
        raise EmolakeError(f"query failed: {first_line(exc)} (see `emolake sql --list`)") from exc
    except duckdb.Error as exc:
        raise EmolakeError(f"query failed: {first_line(exc)}") from exc


def describe(lake: Lake) -> list[tuple[str, str]]:
    """(view, columns or the make target that fills it) for every view of `sql/`."""
    catalog = connect(lake)
    out = []
    for name in catalog.views:
        columns = catalog.con.execute(f"describe {name}").fetchall()
        out.append((name, ", ".join(f"{c[0]} {c[1]}" for c in columns)))
    out += [(name, f"(empty: run `{target}`)") for name, target in catalog.missing.items()]
    return out


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
