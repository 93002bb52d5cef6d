"""`emolake vacuum [--retention-hours H] [--dry-run]`: remove files only old versions name (etl/lake/vacuum.py)."""

from __future__ import annotations

import sys

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("vacuum", help="remove files that only versions older than a window name")
    command.add_argument(
        "--retention-hours", type=int, default=None, help="keep what versions of the last H hours name (168)"
    )
    command.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.lake import Lake
    from etl.lake.vacuum import RETENTION_HOURS, vacuum

    lake = Lake(lake_dir(args))
    if not lake.root.is_dir():
        raise EmolakeError(f"no lake at {lake.root}: pass --lake or set EMOLAKE_LAKE")
    if lake.remote is not None:
        raise EmolakeError(
            f"vacuum works on a local lake, not yet on {lake.location}: old versions there stay readable"
        )
    hours = RETENTION_HOURS if args.retention_hours is None else args.retention_hours
    removed = vacuum(lake, hours, args.dry_run)
    for rel in removed:
        print(rel)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(removed)} file(s) that only versions older than {hours:g} h name", file=sys.stderr)
