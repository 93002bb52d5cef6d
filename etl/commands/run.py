"""`emolake run STAGE... --preset P`: run pipeline stages (each skipped when an identical run already finished).

`--plan` prints what the extract stage would do (texts, tokens, layers, disk, time from a few seconds of calibration
on this device, what the lake already holds) and runs nothing; a real run logs the same plan first.
Settings that would build nothing or delete committed data (`etl/config/guard.py`) are refused unless `--force`.
"""

from __future__ import annotations

import logging
import sys

from etl.commands._common import add_preset_options, add_runner_options, runner_overrides
from etl.config.base import PIPELINE, STAGES

log = logging.getLogger("emolake")


def register(subparsers) -> None:
    command = subparsers.add_parser("run", help="run pipeline stages of a preset (skipped when already done)")
    command.add_argument("stages", nargs="+", choices=[*STAGES, "all"])
    add_preset_options(command)
    command.add_argument(
        "--force",
        action="store_true",
        help="run even if an identical run already finished, or if a setting would build nothing (docs/cli.md)",
    )
    command.add_argument("--plan", action="store_true", help="print the extraction plan (no download) and stop")
    add_runner_options(command)
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl import runner
    from etl.config import load_preset
    from etl.config.guard import refuse_destructive
    from etl.lake import Lake
    from etl.report.plan import plan_of, render
    from etl.report.summary import render as summary

    preset = load_preset(
        args.preset, lake=args.lake, model=args.model, overrides=[*args.overrides, *runner_overrides(args)]
    )
    stages = PIPELINE if "all" in args.stages else [s for s in STAGES if s in args.stages]
    refuse_destructive(preset, stages, force=args.force)  # --plan included: a refused run has no plan
    if args.plan:
        print(render(plan_of(preset)))
        return
    if "extract" in stages:
        log_plan(preset, plan_of, render)
    for stage in stages:
        runner.execute(stage, preset, force=args.force)
    if "all" in args.stages:
        print(summary(Lake(preset.common.lake)))
        print_gpu_hint(preset.name)


def log_plan(preset, plan_of, render) -> None:
    """The plan on stderr before a run; a plan that cannot be made (an unknown model's config) never stops the run."""
    from etl.errors import EmolakeError

    try:
        print(render(plan_of(preset, seconds=2.0)), file=sys.stderr)
    except EmolakeError as exc:
        log.warning("no plan before this run: %s", exc)


def print_gpu_hint(preset_name: str) -> None:
    """On a CUDA host, the end of a `run all` that was not the paper run points at it."""
    from etl.model.flops import device_name

    if preset_name != "paper" and device_name() != "cpu":
        print(
            f"\nThis host has a GPU ({device_name()}): `make all PRESET=paper` reproduces the paper at scale "
            "(see `emolake run all --preset paper --plan` and docs/paper.md)."
        )
