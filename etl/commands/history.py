"""`emolake history [DATASET ...]`: each dataset's versions, newest first: when, by which command, rows added and
removed. Any version can be read back with `emolake sql --as-of`."""

from __future__ import annotations

import sys

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("history", help="each dataset's versions: when, by what, rows added and removed")
    command.add_argument("datasets", nargs="*", metavar="DATASET", help="datasets to list (default: every one)")
    command.add_argument("--limit", type=int, default=None, help="at most this many versions per dataset (newest)")
    command.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.commands._tables import write_table
    from etl.lake import Lake, datasets
    from etl.lake.history import as_table, versions

    lake = Lake(lake_dir(args))
    root = lake.root
    if not root.is_dir():
        raise EmolakeError(f"no lake at {lake.location}: pass --lake or set EMOLAKE_LAKE")
    for name in args.datasets:
        if name not in datasets.DATASETS:
            raise EmolakeError(f"no dataset {name!r}: one of {', '.join(sorted(datasets.DATASETS))}")
    if args.limit is not None and args.limit < 1:
        raise EmolakeError(f"--limit {args.limit}: give a whole number of versions, 1 or more")
    write_table(as_table(versions(root, args.datasets or None, args.limit)), args.format, sys.stdout)
    sys.stdout.write("\n")
