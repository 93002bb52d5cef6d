"""Reading user files (CSV, TSV, Parquet, JSONL) and printing query results."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa

from etl.errors import EmolakeError

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def read_column(path: Path, column: str) -> list[str]:
    """The values of one column of a CSV/TSV/Parquet/JSONL file, as strings."""
    import polars as pl

    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise EmolakeError(f"cannot read {path}: use a .csv, .tsv, .parquet or .jsonl file")
    if not path.is_file():
        raise EmolakeError(f"input file {path} does not exist")
    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        elif kind == "jsonl":
            frame = pl.read_ndjson(path)
        else:
            frame = pl.read_csv(path, separator="\t" if kind == "tsv" else ",", infer_schema=False)
    except Exception as exc:
        raise EmolakeError(f"cannot read {path} as {kind}: {str(exc).splitlines()[0][:200]}") from exc
    if column not in frame.columns:
        raise EmolakeError(f"column {column!r} is not in {path}: its columns are {frame.columns}")
    if frame.height == 0:
        raise EmolakeError(f"{path} has no rows")
    return [str(v) if v is not None else "" for v in frame.get_column(column).to_list()]


def format_table(table: pa.Table, fmt: str, max_width: int = 60) -> str:
    """A query result as an aligned text table, CSV or JSON (column-wise, so repeated column names survive)."""
    names = table.column_names
    rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True)) if names else []
    if fmt == "json":
        return json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str, indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[_cell(v, 10**9) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [names] + [[_cell(v, max_width) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def _cell(value, max_width: int) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list):
        text = json.dumps(value if len(value) <= 8 else [*value[:8], "..."], default=str)
    else:
        text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= max_width else text[: max_width - 1] + "…"
