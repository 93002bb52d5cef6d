"""Reading user files (CSV, TSV, Parquet, JSONL; text files of one text per line) and printing query results."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

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


def read_lines(texts: list[str], input_file: str | None) -> list[str]:
    """`texts` (arguments), then the non-blank lines of `input_file` (stdin for `-`); refuses to return none."""
    import sys

    texts = list(texts)
    if input_file is not None:
        if input_file == "-":
            lines = sys.stdin.read().splitlines()
        else:
            path = Path(input_file)
            if not path.is_file():
                raise EmolakeError(f"--input {path} does not exist: give a text file with one text per line")
            lines = path.read_text(encoding="utf-8").splitlines()
        texts += [line for line in lines if line.strip()]
    if not texts:
        raise EmolakeError("no text given: pass TEXT, or --input FILE (one text per line), or --input - for stdin")
    return texts


def format_table(table: pa.Table, fmt: str, max_width: int = 60) -> str:
    """A query result as text (see `write_table`)."""
    buffer = io.StringIO()
    write_table(table, fmt, buffer, max_width)
    return buffer.getvalue()


def write_table(table: pa.Table, fmt: str, out: TextIO, max_width: int = 60) -> None:
    """Writes a query result to `out` (no final newline), column-wise so repeated column names survive: CSV and JSON
    exactly (floats by their shortest round-trip repr, float32 as the stored value, lists in full), a chunk of rows at
    a time; the aligned text table abbreviated (floats to 4 significant digits, lists to 8 values, cells cut)."""
    names = table.column_names
    if fmt == "json":
        # one row at a time, laid out as json.dumps(rows, indent=1) would
        first = True
        out.write("[")
        for row in _rows(table):
            text = json.dumps(dict(zip(names, row, strict=True)), default=str, indent=1)
            out.write(("\n" if first else ",\n") + textwrap.indent(text, " "))
            first = False
        out.write("]" if first else "\n]")
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        for row in _rows(table):
            writer.writerow([_exact(v) for v in row])
            if buffer.tell() > 2**20:
                out.write(buffer.getvalue()[:-1])
                buffer.seek(0)
                buffer.truncate()
                buffer.write("\n")
        out.write(buffer.getvalue().rstrip("\n"))
        return
    rows = list(_rows(table))
    cells = [names] + [[_cell(v, max_width) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    out.write("\n".join(lines))


def _rows(table: pa.Table, chunk: int = 1_000) -> Iterator[tuple]:
    """The table's rows as tuples of Python values, converted a chunk at a time."""
    if not table.column_names:
        return
    for batch in table.to_batches(max_chunksize=chunk):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _exact(value) -> str:
    """A CSV cell that reads back as the stored value: repr for floats (float32 values arrive as the float64 they
    equal exactly), JSON for lists and structs (its floats are reprs too)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _cell(value, max_width: int) -> str:
    """An abbreviated cell of the text table."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list):
        text = json.dumps(value if len(value) <= 8 else [*value[:8], "..."], default=str)
    else:
        text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= max_width else text[: max_width - 1] + "…"
