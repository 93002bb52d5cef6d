"""`emolake classify --input FILE --text-column COL --output OUT.parquet`: nearest emotions for every row; a row
whose text is under `MIN_TOKENS` tokens carries a `warning` (null elsewhere), and their count is logged."""

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

    from etl import progress
    from etl.commands._tables import read_column
    from etl.lake import Lake, write_table
    from etl.probes.policy import MIN_TOKENS
    from etl.probes.scoring import check_k, check_texts, classified, open_scorer

    if args.output.suffix != ".parquet":
        raise EmolakeError(f"--output {args.output}: write to a .parquet file")
    refuse_inside_lake(args.output, args)
    if args.batch_size < 1:
        raise EmolakeError(f"--batch-size {args.batch_size}: use a positive integer")
    texts = read_column(args.input, args.text_column)
    check_texts(texts)
    ids = read_column(args.input, args.id_column) if args.id_column else None
    if args.id_column in ("row_id", "emotions", "scores", "warning"):
        raise EmolakeError(f"--id-column {args.id_column}: the output has its own column of that name; rename it")
    scorer = open_scorer(Lake(lake_dir(args)), args.model, args.source, args.kind, args.layer)
    k = check_k(args.k, len(scorer.emotions))
    rows = []
    for start in progress.bar(range(0, len(texts), args.batch_size), desc="classify", unit="batch"):
        batch = texts[start : start + args.batch_size]
        found = zip(scorer.nearest(batch, k, args.truncate), scorer.warnings(batch), strict=True)
        for offset, (matches, warning) in enumerate(found):
            row = {"row_id": start + offset}
            if ids is not None:
                row[args.id_column] = ids[start + offset]
            rows.append(row | classified(matches) | {"warning": warning})
    table = pa.Table.from_pylist(rows)
    warnings = pa.array([row["warning"] for row in rows], pa.string())  # a string column even when all are null
    write_table(table.set_column(table.schema.get_field_index("warning"), "warning", warnings), args.output)
    log = logging.getLogger("emolake")
    short = sum(row["warning"] is not None for row in rows)
    if short:
        log.warning(
            "classify: %d of %d texts are under %d tokens: their rows carry a warning", short, len(rows), MIN_TOKENS
        )
    log.info("classify: %d rows -> %s (layer %d)", len(rows), args.output, scorer.probe_set.layer)
