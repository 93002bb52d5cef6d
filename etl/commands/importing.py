"""`emolake import SOURCE`: land a published corpus (a hub dataset or local Parquet/JSONL/CSV) in `texts`.

The module is `importing` because `import` is a keyword; the command is `emolake import`.
"""

from __future__ import annotations

from etl.commands._common import add_preset_options


def register(subparsers) -> None:
    command = subparsers.add_parser(
        "import",
        help="land a published corpus (hub dataset id or local Parquet/JSONL/CSV) as source import:NAME",
        description="Land a published corpus in `texts` through the lake's filters (refusals go to `rejects`). "
        "Re-importing changes nothing; an interrupted import resumes by file.",
    )
    command.add_argument("source", metavar="SOURCE", help="owner/name[@revision] on the hub, or a file or directory")
    command.add_argument("--name", help="NAME of the source import:NAME (default: the corpus's own, else the file's)")
    command.add_argument("--corpus", help="land every row in this corpus (default: from the file name or a column)")
    command.add_argument(
        "--map",
        action="append",
        default=[],
        dest="mapping",
        metavar="COLUMN=FIELD",
        help="read FIELD (text, emotion, displayed_emotion, topic, writer_model, corpus, id, spans, masking_speaker) "
        "from the input's COLUMN (repeatable)",
    )
    command.add_argument("--dataset", help="the dataset id a local copy came from (picks its built-in mapping)")
    command.add_argument("--revision", help="its revision (default: the hub commit, or the files' content hash)")
    command.add_argument("--licence", help="its licence (default: the dataset card's)")
    command.add_argument(
        "--force", action="store_true", help="import files already imported again, replacing their earlier rows"
    )
    add_preset_options(command)
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from pathlib import Path

    from etl.config import load_preset
    from etl.generation.importing import import_corpus, parse_map
    from etl.generation.published import resolve
    from etl.lake import Lake, partition_value

    overrides = parse_map(args.mapping)  # a bad --map fails before anything is read or written
    preset = load_preset(args.preset, lake=args.lake, model=args.model, overrides=args.overrides)
    origin = resolve(args.source, args.dataset, args.revision, args.licence)
    default_name = origin.published.name if origin.published else Path(origin.dataset).stem
    name = args.name or partition_value(default_name.lower()).replace(".", "-")
    summary = import_corpus(
        Lake(preset.common.lake), origin, name, preset.generate, args.corpus, overrides, force=args.force
    )
    print(f"import:{name} ({origin.dataset} @ {origin.revision}, licence {origin.licence or 'not stated'})")
    print(f"  files: {summary.files} ({summary.skipped_files} already imported, skipped); rows read: {summary.read}")
    for corpus in sorted(set(summary.kept) | set(summary.rejected)):
        print(f"  {corpus}: {summary.kept.get(corpus, 0)} kept, {summary.rejected.get(corpus, 0)} rejected")
    print(f"  lake source: {summary.source} (query: select * from texts where source = '{summary.source}')")
