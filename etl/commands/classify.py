"""`emolake classify --input FILE --text-column COL --output OUT.parquet`: nearest emotions for every row; a row
whose text is under `MIN_TOKENS` tokens carries a `warning` (null elsewhere), and their count is logged. The rows are
`EmoLake.classify`'s (etl/api); this module reads the input, writes the Parquet file and logs."""

from __future__ import annotations

import logging
from pathlib import Path

from etl.commands._common import add_scoring_options, lake_dir, refuse_inside_lake
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("classify", help="nearest emotions for every row of a CSV/TSV/Parquet/JSONL file")
    command.add_argument("--input", required=True, type=Path)
    command.add_argument("--text-column", required=True)
    command.add_argument("--id-column", help="a column of the input carried into the output beside row_id")
    command.add_argument("--output", required=True, type=Path)
    command.add_argument("--batch-size", type=int, default=64)
    add_scoring_options(command, default_k=5)
    command.set_defaults(handler=handle)


def handle(args) -> None:
    import pyarrow as pa

    from etl import api
    from etl.commands._tables import read_column
    from etl.lake import write_table

    if args.output.suffix != ".parquet":
        raise EmolakeError(f"--output {args.output}: write to a .parquet file")
    refuse_inside_lake(args.output, args)
    if args.batch_size < 1:
        raise EmolakeError(f"--batch-size {args.batch_size}: use a positive integer")
    texts = read_column(args.input, args.text_column)
    api.check_texts(texts)
    ids = read_column(args.input, args.id_column) if args.id_column else None
    if args.id_column in ("row_id", "emotions", "scores", "warning"):
        raise EmolakeError(f"--id-column {args.id_column}: the output has its own column of that name; rename it")
    lake = api.open(lake_dir(args), args.model, args.source)
    rows = lake.classify(texts, args.k, args.kind, args.layer, args.truncate, args.batch_size)
    if ids is not None:  # the id column sits beside row_id, before the answers
        rows = [{"row_id": row["row_id"], args.id_column: ids[row["row_id"]]} | row for row in rows]
    table = pa.Table.from_pylist(rows)
    warnings = pa.array([row["warning"] for row in rows], pa.string())  # a string column even when all are null
    write_table(table.set_column(table.schema.get_field_index("warning"), "warning", warnings), args.output)
    log = logging.getLogger("emolake")
    short = sum(row["warning"] is not None for row in rows)
    if short:
        log.warning(
            "classify: %d of %d texts are under %d tokens: their rows carry a warning", short, len(rows), api.MIN_TOKENS
        )
    log.info("classify: %d rows -> %s (layer %d)", len(rows), args.output, lake.probe_set(args.kind, args.layer).layer)
