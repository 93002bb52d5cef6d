"""`emolake validate --input FILE --text-column C --label-column L [--label-map FILE]`: probe sets on your labels.

Scores every labelled text with each probe set asked for (default: the default probe set), restricted to the
emotions the labels use, and writes one `validation_runs` row per probe set (same input and set: replaced); the work
is `EmoLake.validate` (etl/api), which calls `etl.evaluation.validation`.
"""

from __future__ import annotations

import json

from etl.commands._common import add_labelled_input_options, lake_dir, note_unmapped, read_labelled

COLUMNS = ["kind", "layer", "n_texts", "n_classes", "chance", "accuracy", "accuracy_low", "accuracy_high"]
COLUMNS += ["macro_f1", "macro_f1_low", "macro_f1_high"]
"""What the table shows of each row (--json prints them whole)."""
CLASS_COLUMNS = ["emotion", "family", "precision", "recall", "f1", "support"]
"""What the per-class table shows of each label (`validation_classes` holds them)."""


def register(subparsers) -> None:
    command = subparsers.add_parser("validate", help="accuracy and macro-F1 of probe sets on your labelled texts")
    add_labelled_input_options(command)
    command.add_argument("--kinds", nargs="+", help="probe kinds (default: the default probe set)")
    command.add_argument("--layers", nargs="+", type=int, help="layers (default: each kind's best layer)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    import pyarrow as pa

    from etl import api
    from etl.commands._tables import format_table

    texts, labels = read_labelled(args)
    lake = api.open(lake_dir(args), args.model, args.source)
    done = lake.validate(texts, labels, args.label_map, args.kinds, args.layers, input_name=args.input)
    note_unmapped(done.unmapped)
    rows = done.rows
    if args.json:
        print(json.dumps(rows))
        return
    shown = [{c: round(r[c], 3) if isinstance(r[c], float) else r[c] for c in COLUMNS} for r in rows]
    print(format_table(pa.Table.from_pylist(shown), "table"))
    for r in rows:
        print(f"\nper class, {r['kind']} layer {r['layer']} (families: the validation_families table):")
        per_class = [{c: round(x, 3) if isinstance(x, float) else x for c, x in row.items()} for row in r["classes"]]
        print(format_table(pa.Table.from_pylist(per_class).select(CLASS_COLUMNS), "table"))
