"""`emolake validate --input FILE --text-column C --label-column L [--label-map FILE]`: probe sets on your labels.

Scores every labelled text with each probe set asked for (default: the default probe set), restricted to the
emotions the labels use, and writes one `validation_runs` row per probe set (same input and set: replaced).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("validate", help="accuracy and macro-F1 of probe sets on your labelled texts")
    command.add_argument("--input", required=True, type=Path, help="CSV, TSV, Parquet or JSONL file")
    command.add_argument("--text-column", required=True)
    command.add_argument("--label-column", required=True)
    command.add_argument("--label-map", type=Path, help="CSV (label,emotion) or JSON {label: emotion}")
    command.add_argument("--kinds", nargs="+", help="probe kinds (default: the default probe set)")
    command.add_argument("--layers", nargs="+", type=int, help="layers (default: each kind's best layer)")
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.add_argument("--json", action="store_true", help="print the rows as JSON")
    command.set_defaults(handler=handle)


def read_label_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    if not path.is_file():
        raise EmolakeError(f"--label-map {path} does not exist: pass a CSV (label,emotion) or a JSON object")
    if path.suffix == ".json":
        mapping = json.loads(path.read_text())
        if not isinstance(mapping, dict):
            raise EmolakeError(f"--label-map {path}: the JSON must be an object {{label: emotion}}")
        return {str(k): str(v) for k, v in mapping.items()}
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or len(rows[0]) != 2:
        raise EmolakeError(f"--label-map {path}: expected two columns, label and emotion")
    body = rows[1:] if rows[0] == ["label", "emotion"] else rows
    return {label: emotion for label, emotion in body}


def probe_sets(lake, model: str, args) -> list[tuple[str, int]]:
    """(kind, layer) pairs asked for: each kind at each layer, or at its best layer; default: the default set."""
    from etl.probes import policy

    if not args.kinds:
        kind, layer = policy.default_set(lake, model, args.source)
        return [(kind, layer)] if not args.layers else [(kind, x) for x in args.layers]
    layers = args.layers or [None]
    return [(k, policy.best_layer(lake, model, args.source, k, x)) for k in args.kinds for x in layers]


def handle(args) -> None:
    import hashlib
    from datetime import UTC, datetime

    import numpy as np
    import pyarrow as pa

    from etl.commands._tables import format_table, read_column
    from etl.evaluation import validation
    from etl.lake import Lake
    from etl.model.load import load
    from etl.model.residuals import mean_residuals
    from etl.probes import stored as probes
    from etl.probes.scoring import MAX_TOKENS, check_texts

    lake = Lake(lake_dir(args))
    texts = read_column(args.input, args.text_column)
    labels = read_column(args.input, args.label_column)
    check_texts(texts)
    model, spec = probes.pick_model(lake, args.model, args.source)
    stored = {}
    for kind, layer in probe_sets(lake, model, args):
        stored[(kind, layer)] = probes.read(lake, model, args.source, [kind], [layer])[(args.source, kind, layer)]
    emotions = next(iter(stored.values())).emotions
    kept, words, unmapped = validation.map_labels(labels, read_label_map(args.label_map), emotions)
    if len(set(words)) < 2:
        raise EmolakeError(
            f"fewer than 2 labels of {args.input} name one of the probes' emotions (e.g. {sorted(set(unmapped))[:3]}):"
            " map them with --label-map label,emotion"
        )
    if unmapped:
        print(
            f"note: {len(unmapped)} rows with labels outside the emotions were left out: {sorted(set(unmapped))[:5]}",
            file=sys.stderr,
        )
    raw = json.dumps([texts[i] + "\x1f" + w for i, w in zip(kept, words, strict=True)]).encode()
    input_hash = hashlib.sha256(raw).hexdigest()[:16]
    loaded = load(spec)
    layers = sorted({layer for _, layer in stored})
    result = mean_residuals(loaded.model, loaded.tokenizer, [texts[i] for i in kept], layers, 1, MAX_TOKENS)
    out = []
    for (kind, layer), probe_set in sorted(stored.items()):
        code = {e: i for i, e in enumerate(probe_set.emotions)}
        truth = np.array([code[w] for w in words])
        scores = probe_set.project(result.vectors[:, layers.index(layer)], result.n_tokens)
        found = validation.figures(scores, truth, np.unique(truth), seed=0)
        meta = {
            "run_id": validation.run_id(input_hash, model, args.source, kind, layer),
            "input": str(args.input.name),
            "input_hash": input_hash,
            "kind": kind,
            "layer": layer,
            "n_texts": len(kept),
            "n_classes": len(np.unique(truth)),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        row = validation.row(meta, found, probe_set.emotions)
        out.append(row)
    # One commit for every probe set validated; a probe set validated again on the same input replaces its row.
    table = pa.Table.from_pylist(out, schema=validation.SCHEMA)
    lake.write(
        "validation_runs",
        table,
        mode="replace",
        where={"model": model, "source": args.source, "run_id": [r["run_id"] for r in out]},
        model=model,
        source=args.source,
    )
    if args.json:
        print(json.dumps(out))
        return
    columns = ["kind", "layer", "n_texts", "n_classes", "chance", "accuracy", "accuracy_low", "accuracy_high"]
    columns += ["macro_f1", "macro_f1_low", "macro_f1_high"]
    shown = [{c: round(r[c], 3) if isinstance(r[c], float) else r[c] for c in columns} for r in out]
    table = pa.Table.from_pylist(shown)
    print(format_table(table, "table"))
