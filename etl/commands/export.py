"""`emolake export --format safetensors|npy|gguf --output PATH`: a probe set out of the lake, for other tools."""

from __future__ import annotations

from pathlib import Path

from etl.commands._common import lake_dir, refuse_inside_lake
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser(
        "export", help="write a probe set as safetensors, .npy + JSON, or GGUF control vectors"
    )
    command.add_argument("--format", required=True, choices=["safetensors", "npy", "gguf"])
    command.add_argument(
        "--output",
        required=True,
        type=Path,
        help="a .safetensors or .npy file; for gguf, a directory (one file per emotion)",
    )
    command.add_argument("--model", help="model in the lake (needed when it holds several)")
    command.add_argument("--source", default="reference", help="text source the probes were built from")
    command.add_argument(
        "--kind", help="probe kind (default: the default reading set; for gguf, the steering kind of `emolake steer`)"
    )
    command.add_argument(
        "--layers",
        nargs="+",
        help="layer numbers, or `all` (default: the default set's layer or the kind's best; for gguf, the steering "
        "layer of `emolake steer`)",
    )
    command.add_argument(
        "--preset", default="default", help="for gguf: the preset whose [steer] table gives the steering recipe"
    )
    command.set_defaults(handler=handle)


def parse_layers(values: list[str] | None) -> list[int] | str | None:
    if values is None or values == ["all"]:
        return None if values is None else "all"
    try:
        return [int(v) for v in values]
    except ValueError:
        raise EmolakeError(f"--layers {' '.join(values)}: give layer numbers, or `all`") from None


def handle(args) -> None:
    from etl.api.exports import export
    from etl.lake import Lake

    refuse_inside_lake(args.output, args)
    lake = Lake(lake_dir(args))
    if args.format == "gguf" and args.output.suffix:
        raise EmolakeError(
            f"--output {args.output}: for gguf give a directory; one <emotion>.gguf is written per emotion"
        )
    if args.format == "safetensors" and args.output.suffix != ".safetensors":
        raise EmolakeError(f"--output {args.output}: write to a .safetensors file")
    if args.format == "npy" and args.output.suffix != ".npy":
        raise EmolakeError(f"--output {args.output}: write to a .npy file (the JSON sidecar goes beside it)")
    layers = parse_layers(args.layers)
    probes, written = export(lake, args.model, args.source, args.format, args.output, args.kind, layers, args.preset)
    where = args.output if args.format == "gguf" else ", ".join(str(p) for p in written)
    print(
        f"{probes.model} {probes.source} {probes.kind} probes, layers {probes.layers}, {len(probes.emotions)} emotions "
        f"-> {where}" + (f" ({len(written)} files)" if args.format == "gguf" else "")
    )
