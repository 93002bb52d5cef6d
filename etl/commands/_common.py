"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def lake_dir(args: argparse.Namespace) -> Path:
    return Path(args.lake or os.environ.get("EMOLAKE_LAKE") or "lake")


def add_scoring_options(command: argparse.ArgumentParser, default_k: int) -> None:
    command.add_argument("--k", type=int, default=default_k, help="how many emotions (171 for all)")
    command.add_argument("--layer", type=int, help="probe layer (default: the best evaluated layer)")
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.add_argument("--kind", help="probe kind (default: the default probe set chosen by the evaluation)")


def add_preset_options(command: argparse.ArgumentParser) -> None:
    """--preset, --model and the repeatable --set of the commands that run stages."""
    command.add_argument("--preset", default="default", help="tiny, default, full, or a path to a .toml preset")
    command.add_argument("--model", help="override the preset's model spec")
    command.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="SECTION.KEY=VALUE",
        help="override a preset value (repeatable; VALUE is TOML), e.g. --set extract.skip_tokens=20",
    )
