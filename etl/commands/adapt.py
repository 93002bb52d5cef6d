"""`emolake adapt --input FILE --name NAME [--text-column text --label-column emotion --label-map FILE]`: probes built
from your labelled texts.

Builds a `short` probe set from the labelled texts (labels mapped onto the lake's emotions), prints its k-fold
comparison on them beside the default set, the lexical baseline and a shuffled-label null, and lands it under source
NAME (`--source NAME` selects it in nearest, classify and score; never the default). The work is
`EmoLake.adapt` (etl/api), which calls `etl.evaluation.adapt`.
"""

from __future__ import annotations

import json

from etl.commands._common import add_labelled_input_options, lake_dir, note_unmapped, read_labelled


def register(subparsers) -> None:
    command = subparsers.add_parser("adapt", help="probes built from your labelled texts, compared on them")
    add_labelled_input_options(command)
    command.add_argument("--name", required=True, help="the set's name: select it later with --source NAME")
    command.add_argument("--folds", type=int, default=5, help="k of the k-fold comparison (fewer if a label is rare)")
    command.add_argument("--source", default="reference", help="text source of the default set compared against")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    import pyarrow as pa

    from etl import api
    from etl.commands._tables import format_table

    texts, labels = read_labelled(args)
    lake = api.open(lake_dir(args), args.model, args.source)
    done = lake.adapt(args.name, texts, labels, args.label_map, args.folds, input_name=args.input)
    note_unmapped(done.unmapped)
    rows = done.rows
    if args.json:
        print(json.dumps(rows))
        return
    shown = [
        {"method": r["method"], "n_texts": r["n_texts"], "chance": round(r["chance"], 3)}
        | {name: with_interval(r, name) for name in ("accuracy", "macro_f1", "gain")}
        for r in rows
    ]
    print(format_table(pa.Table.from_pylist(shown), "table"))
    print(
        f"\nlanded as source {args.name!r}: select it with --source {args.name} (e.g. emolake nearest --source"
        f' {args.name} "...")'
    )


def with_interval(row: dict, name: str) -> str:
    """A figure and its 95% interval as `0.561 [0.439, 0.682]`; empty where the row has none (`gain` of the
    methods other than the adapted set)."""
    if row[name] is None:
        return ""
    return f"{row[name]:.3f} [{row[f'{name}_low']:.3f}, {row[f'{name}_high']:.3f}]"
