"""`emolake verify [--repair]`: check every lake file against its commit record; mend what can be rebuilt."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("verify", help="check every lake file against its commit record (and --repair)")
    command.add_argument("--repair", action="store_true", help="remove damaged and stray files and rebuild them")
    command.add_argument("--preset", help="preset to rebuild with (default: the one each stage's last run recorded)")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.lake import Lake, verify

    lake = Lake(lake_dir(args))
    if not lake.root.is_dir():
        raise EmolakeError(f"no lake at {lake.root}: pass --lake or set EMOLAKE_LAKE")
    if args.repair and lake.remote is not None:
        raise EmolakeError(
            f"--repair mends a local lake, not {lake.location}: `emolake verify` names the damage and the stage to "
            "rerun with `emolake run STAGE --force`"
        )
    problems = verify.check(lake)
    if lake.remote is not None:
        # In a store, a writer that lost a race leaves its uploads unnamed (no lock keeps it from trying): they are
        # never read, so they are counted, not called damage.
        unnamed = [p for p in problems if p.kind == "stray"]
        problems = [p for p in problems if p.kind != "stray"]
        if unnamed:
            print(f"note: {len(unnamed)} object(s) no version names (uploads of writers that lost a race or were "
                  "killed); readers never see them", file=sys.stderr)  # fmt: skip
    for problem in problems:
        print(problem.line())
    if not args.repair:
        if problems:
            raise EmolakeError(
                f"{len(problems)} problem(s) in the lake at {lake.location}: `emolake verify --repair` mends them"
            )
        print(f"ok: every file of the lake at {lake.location} matches its commit record")
        return
    from etl.lake.repair import repair

    left = repair(lake, args.preset, rebuild=functools.partial(rebuild, lake.root))
    for problem in left:
        print(f"still: {problem.line()}")
    if left:
        raise EmolakeError(f"{len(left)} problem(s) could not be mended (listed above)")
    print(
        f"repaired: {len(problems)} problem(s) mended; every file of the lake at {lake.location} matches its record",
        file=sys.stdout,
    )


def rebuild(root: Path, stage: str, preset_name: str, force: bool) -> None:
    """Runs one stage of a preset on the lake again: what repair calls for each stage it rebuilds."""
    from etl import runner
    from etl.config import load_preset

    runner.execute(stage, load_preset(preset_name, lake=Path(root)), force=force)
