"""`emolake run STAGE... --preset P`: run pipeline stages (each skipped when an identical run already finished)."""

from __future__ import annotations

from etl.commands._common import add_preset_options, add_runner_options, runner_overrides
from etl.runner import PIPELINE, STAGES


def register(subparsers) -> None:
    command = subparsers.add_parser("run", help="run pipeline stages of a preset (skipped when already done)")
    command.add_argument("stages", nargs="+", choices=[*STAGES, "all"])
    add_preset_options(command)
    command.add_argument("--force", action="store_true", help="run even if an identical run already finished")
    add_runner_options(command)
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl import runner
    from etl.config import load_preset
    from etl.lake import Lake
    from etl.report.summary import render

    preset = load_preset(
        args.preset, lake=args.lake, model=args.model, overrides=[*args.overrides, *runner_overrides(args)]
    )
    stages = PIPELINE if "all" in args.stages else [s for s in STAGES if s in args.stages]
    for stage in stages:
        runner.execute(stage, preset, force=args.force)
    if "all" in args.stages:
        print(render(Lake(preset.common.lake)))
