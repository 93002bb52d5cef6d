"""The `emolake` command line: run stages, query the lake, ask which emotions a text is closest to."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from etl.errors import EmolakeError
from etl.runner import STAGES

EXAMPLE = 'emolake nearest "The letter shook in her hand as she read it again."'


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="emolake", description="A data lake for emotion probes in language models.")
    root.add_argument("--lake", help="lake directory (default: $EMOLAKE_LAKE or ./lake)")
    root.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    sub = root.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run pipeline stages of a preset (skipped when already done)")
    run.add_argument("stages", nargs="+", choices=[*STAGES, "all"])
    run.add_argument("--preset", default="default", help="tiny, default, full, or a path to a .toml preset")
    run.add_argument("--model", help="override the preset's model spec")
    run.add_argument("--force", action="store_true", help="run even if an identical run already finished")

    sub.add_parser("summary", help="what the lake holds, best layers, stage timings")

    sql = sub.add_parser("sql", help="run a read-only SQL query over the lake's views")
    sql.add_argument("query", nargs="?", help="a SELECT query, or a path to a .sql file")
    sql.add_argument("--list", action="store_true", help="list the views and their columns")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")

    near = sub.add_parser("nearest", help="the emotions whose probes best match a text")
    near.add_argument("text")
    _scoring_options(near, default_k=5)
    near.add_argument("--json", action="store_true", help="print a JSON list of {emotion, score}")

    classify = sub.add_parser("classify", help="nearest emotions for every row of a CSV/TSV/Parquet/JSONL file")
    classify.add_argument("--input", required=True, type=Path)
    classify.add_argument("--text-column", required=True)
    classify.add_argument("--output", required=True, type=Path)
    classify.add_argument("--batch-size", type=int, default=64)
    _scoring_options(classify, default_k=5)
    return root


def _scoring_options(command: argparse.ArgumentParser, default_k: int) -> None:
    command.add_argument("--k", type=int, default=default_k, help="how many emotions (171 for all)")
    command.add_argument("--layer", type=int, help="probe layer (default: the best evaluated layer)")
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")


def lake_dir(args) -> Path:
    return Path(args.lake or os.environ.get("EMOLAKE_LAKE") or "lake")


def cmd_run(args) -> None:
    from etl import runner
    from etl.config import load_preset
    from etl.summary import render

    preset = load_preset(args.preset, lake=args.lake, model=args.model)
    stages = STAGES if "all" in args.stages else [s for s in STAGES if s in args.stages]
    for stage in stages:
        runner.execute(stage, preset, force=args.force)
    if "all" in args.stages:
        from etl.lake import Lake

        print(render(Lake(preset.common.lake)))


def cmd_summary(args) -> None:
    from etl.lake import Lake
    from etl.summary import render

    print(render(Lake(lake_dir(args))))


def cmd_sql(args) -> None:
    from etl import query
    from etl.lake import Lake
    from etl.tables import format_table

    lake = Lake(lake_dir(args))
    if args.list:
        for name, columns in query.describe(lake):
            print(f"{name}: {columns}")
        return
    if not args.query:
        raise EmolakeError('give a query, e.g. emolake sql "select count(*) from texts", or --list')
    text = args.query
    if text.endswith(".sql"):
        path = Path(text)
        if not path.is_file():
            raise EmolakeError(f"SQL file {path} does not exist (saved queries live in sql/queries/)")
        text = path.read_text()
    print(format_table(query.run(lake, text), args.format))


def cmd_nearest(args) -> None:
    from etl.lake import Lake
    from etl.scoring import check_texts, open_scorer

    check_texts([args.text])
    scorer = open_scorer(Lake(lake_dir(args)), args.model, args.source, layer=args.layer)
    matches = scorer.nearest([args.text], args.k)[0]
    if args.json:
        print(json.dumps(matches))
        return
    print(f"nearest emotions ({scorer.model}, {scorer.source} probes, layer {scorer.layer}):")
    for rank, match in enumerate(matches, 1):
        print(f"  {rank:>3}. {match['emotion']:<16} {match['score']:+.3f}")


def cmd_classify(args) -> None:
    import pyarrow as pa
    from tqdm import tqdm

    from etl.lake import Lake, write_table
    from etl.scoring import check_k, check_texts, open_scorer
    from etl.tables import read_column

    if args.output.suffix != ".parquet":
        raise EmolakeError(f"--output {args.output}: write to a .parquet file")
    if args.batch_size < 1:
        raise EmolakeError(f"--batch-size {args.batch_size}: use a positive integer")
    texts = read_column(args.input, args.text_column)
    check_texts(texts)
    scorer = open_scorer(Lake(lake_dir(args)), args.model, args.source, layer=args.layer)
    k = check_k(args.k, len(scorer.emotions))
    rows = []
    for start in tqdm(range(0, len(texts), args.batch_size), desc="classify", unit="batch"):
        for offset, matches in enumerate(scorer.nearest(texts[start : start + args.batch_size], k)):
            rows.append(
                {
                    "row_id": start + offset,
                    "emotions": [m["emotion"] for m in matches],
                    "scores": [m["score"] for m in matches],
                }
            )
    write_table(pa.Table.from_pylist(rows), args.output)
    logging.getLogger("emolake").info("classify: %d rows -> %s (layer %d)", len(rows), args.output, scorer.layer)


COMMANDS = {
    "run": cmd_run,
    "summary": cmd_summary,
    "sql": cmd_sql,
    "nearest": cmd_nearest,
    "classify": cmd_classify,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("transformers", "httpx", "filelock", "faiss", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        COMMANDS[args.command](args)
    except EmolakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards and files are kept; rerun to resume", file=sys.stderr)
        return 130
    return 0
