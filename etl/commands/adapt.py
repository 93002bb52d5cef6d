"""`emolake adapt --input FILE --name NAME [--text-column text --label-column emotion --map FILE]`: probes built
from your labelled texts.

Builds a `short` probe set from the labelled texts (labels mapped onto the lake's emotions), prints its k-fold
comparison on them beside the default set, the lexical baseline and a shuffled-label null, and lands it under source
NAME (`--source NAME` selects it in nearest, classify and score; never the default). The work is
`etl.evaluation.adapt` (`prepare`, then `run`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from etl.commands._common import lake_dir


def register(subparsers) -> None:
    command = subparsers.add_parser("adapt", help="probes built from your labelled texts, compared on them")
    command.add_argument("--input", required=True, type=Path, help="CSV, TSV, Parquet or JSONL file")
    command.add_argument("--name", required=True, help="the set's name: select it later with --source NAME")
    command.add_argument("--text-column", default="text")
    command.add_argument("--label-column", default="emotion")
    command.add_argument("--map", type=Path, help="CSV (label,emotion) or JSON {label: emotion}")
    command.add_argument("--folds", type=int, default=5, help="k of the k-fold comparison (fewer if a label is rare)")
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source of the default set compared against")
    command.add_argument("--json", action="store_true", help="print the comparison as JSON")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    import pyarrow as pa

    from etl.commands._tables import format_table, read_column
    from etl.evaluation import adapt
    from etl.lake import Lake

    lake = Lake(lake_dir(args))
    texts = read_column(args.input, args.text_column)
    labels = read_column(args.input, args.label_column)
    asked = adapt.prepare(lake, args.input, texts, labels, args.map, args.name, args.model, args.source, args.folds)
    if asked.unmapped:
        n, shown = len(asked.unmapped), sorted(set(asked.unmapped))[:5]
        print(f"note: {n} rows with labels outside the emotions were left out: {shown}", file=sys.stderr)
    rows = adapt.run(lake, asked)
    if args.json:
        print(json.dumps(rows))
        return
    shown = [{c: round(v, 3) if isinstance(v, float) else v for c, v in r.items()} for r in rows]
    print(format_table(pa.Table.from_pylist(shown), "table"))
    print(
        f"\nlanded as source {args.name!r}: select it with --source {args.name} (e.g. emolake nearest --source"
        f' {args.name} "...")'
    )
