"""`emolake score --input FILE --text-column COL`: per-token probe scores of every row, written to the lake.

The scoring and the writing are `EmoLake.write_scores` (etl/api), which calls `etl.probes.scores_dataset` (the
`scores` dataset: one row per text, token and emotion, idempotent by text id, one commit per call); this module
parses, calls and prints. Texts under `MIN_TOKENS` tokens are scored too, and named on stderr with a warning: their
scores rest on a few tokens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from etl.commands._common import add_runner_options, lake_dir, runner_config
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("score", help="per-token probe scores of a file's texts, written to the lake")
    command.add_argument("--input", required=True, type=Path, help="CSV, TSV, Parquet or JSONL file")
    command.add_argument("--text-column", required=True)
    command.add_argument("--id-column", help="column with each row's text_id (default: a hash of the text)")
    command.add_argument("--layers", type=int, nargs="+", help="probe layers (default: the first kind's best layer)")
    command.add_argument(
        "--kinds", nargs="+", help="probe kinds, e.g. expression deflection (default: the lake's default probe set)"
    )
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.add_argument("--batch-tokens", type=int, default=8192, help="padded tokens per forward batch")
    add_runner_options(command)
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl import api
    from etl.commands._tables import read_column

    if args.batch_tokens < 1:
        raise EmolakeError(f"--batch-tokens {args.batch_tokens}: use a positive integer")
    runner = runner_config(args)
    texts = read_column(args.input, args.text_column)
    api.check_texts(texts)
    ids = read_column(args.input, args.id_column) if args.id_column else None
    lake = api.open(lake_dir(args), args.model, args.source)
    done = lake.write_scores(texts, ids, args.id_column, args.kinds, args.layers, args.batch_tokens, runner)
    kinds = ", ".join(done.kinds)
    print(f"scored {done.n_texts} texts at layers {done.layers} ({kinds}): {done.rows} rows in `scores`")
    for text_id, warning in done.warnings.items():
        print(f"warning: text {text_id!r}: {warning}", file=sys.stderr)
