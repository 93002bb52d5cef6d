"""Read-only SQL over the lake: the views defined by the files in `sql/` (staging first, then marts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from etl.errors import EmolakeError
from etl.lake import Lake

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
BUILT_BY = re.compile(r"--\s*built by:\s*(.+)")


@dataclass
class Catalog:
    con: duckdb.DuckDBPyConnection
    views: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    """View name -> the make target that fills it."""


def view_files() -> list[Path]:
    return sorted((SQL_DIR / "staging").glob("*.sql")) + sorted((SQL_DIR / "marts").glob("*.sql"))


def connect(lake: Lake) -> Catalog:
    """An in-memory DuckDB with every view whose data exists; the others are listed in `missing`."""
    if not lake.root.is_dir():
        raise EmolakeError(f"no lake at {lake.root}: run `make all` (or pass --lake / set EMOLAKE_LAKE)")
    catalog = Catalog(duckdb.connect())
    root = str(lake.root.resolve()).replace("'", "''")
    for path in view_files():
        name, text = path.stem, path.read_text()
        target = BUILT_BY.search(text)
        try:
            catalog.con.execute(text.replace("${lake}", root))
            catalog.views.append(name)
        except duckdb.Error:
            catalog.missing[name] = target.group(1).strip() if target else "make all"
    return catalog


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
