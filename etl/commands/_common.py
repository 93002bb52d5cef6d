"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def lake_dir(args: argparse.Namespace) -> Path:
    path = Path(args.lake or os.environ.get("EMOLAKE_LAKE") or "lake")
    if path.exists() and not path.is_dir():
        from etl.errors import EmolakeError

        raise EmolakeError(f"the lake {path} is a file: pass --lake DIRECTORY (or set EMOLAKE_LAKE)")
    return path


def refuse_inside_lake(output: Path, args: argparse.Namespace) -> None:
    """A user-chosen --output must not land in the lake: it would join a dataset there (or be removed as stray)."""
    lake = os.path.realpath(lake_dir(args))
    if os.path.commonpath([lake, os.path.realpath(output)]) == lake:
        from etl.errors import EmolakeError

        raise EmolakeError(f"--output {output} is inside the lake at {lake}: write it elsewhere")


def add_scoring_options(command: argparse.ArgumentParser, default_k: int) -> None:
    command.add_argument("--k", type=int, default=default_k, help="how many emotions (171 for all)")
    command.add_argument("--layer", type=int, help="probe layer (default: the best evaluated layer)")
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.add_argument("--kind", help="probe kind (default: the default probe set chosen by the evaluation)")
    command.add_argument(
        "--truncate", action="store_true", help="read only the first 2,048 tokens of longer texts (else refused)"
    )


def add_labelled_input_options(command: argparse.ArgumentParser) -> None:
    """The labelled file of `validate` and `adapt`: one spelling of each option for both."""
    command.add_argument("--input", required=True, type=Path, help="CSV, TSV, Parquet or JSONL file")
    command.add_argument("--text-column", default="text", help="column of the texts (default: text)")
    command.add_argument("--label-column", default="emotion", help="column of the labels (default: emotion)")
    command.add_argument(
        "--label-map", "--map", dest="label_map", type=Path, help="CSV (label,emotion) or JSON {label: emotion}"
    )
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--json", action="store_true", help="print the rows as JSON")


def read_labelled(args: argparse.Namespace) -> tuple[list, list]:
    """The file `add_labelled_input_options` names, read: its texts and its labels (`EmoLake.validate`, `.adapt`)."""
    from etl.commands._tables import read_column

    return read_column(args.input, args.text_column), read_column(args.input, args.label_column)


def note_unmapped(unmapped: list[str]) -> None:
    """One stderr line on the rows whose labels map to no emotion (they were left out)."""
    import sys

    if unmapped:
        shown = sorted(set(unmapped))[:5]
        print(f"note: {len(unmapped)} rows with labels outside the emotions were left out: {shown}", file=sys.stderr)


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


def add_runner_options(command: argparse.ArgumentParser) -> None:
    """--runner, --address, --workers, --gpus-per-worker: where shards run (the `[runner]` table, RunnerConfig)."""
    group = command.add_argument_group("runner (see docs/scale.md)")
    group.add_argument("--runner", choices=["local", "ray"], help="local (default) or ray (needs `.[ray]`)")
    group.add_argument("--address", help="Ray cluster: auto or ray://HOST:10001 (default: a Ray on this machine)")
    group.add_argument("--workers", type=int, help="Ray actors, one model each (default 1)")
    group.add_argument("--gpus-per-worker", type=float, help="GPUs per Ray actor (default 0: CPU)")


def runner_overrides(args: argparse.Namespace) -> list[str]:
    """The runner flags given, as `--set runner.KEY=VALUE` overrides (checked by RunnerConfig like any other)."""
    flags = {"backend": args.runner, "workers": args.workers, "gpus_per_worker": args.gpus_per_worker}
    out = [f"runner.{key}={value}" for key, value in flags.items() if value is not None]
    if args.address is not None:
        out.append(f"runner.address={json.dumps(args.address)}")
    return out


def runner_config(args: argparse.Namespace):
    """A RunnerConfig from the runner flags alone (commands without a preset, such as `score`)."""
    from etl.config.runner import RunnerConfig

    values = {"backend": args.runner, "address": args.address, "workers": args.workers}
    values["gpus_per_worker"] = args.gpus_per_worker
    return RunnerConfig(**{key: value for key, value in values.items() if value is not None})
