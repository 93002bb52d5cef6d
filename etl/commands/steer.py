"""`emolake steer --emotion E --strength S --prompt "..."`: the unsteered and the steered continuation, side by side.

The paired run is `etl.steering.compare.compare_once` (the dashboard's Steering page runs the same `Steerer`)."""

from __future__ import annotations

import json
import textwrap

COLUMN = 58


def register(subparsers) -> None:
    from etl.config.steer import OPERATORS, POSITIONS

    command = subparsers.add_parser("steer", help="add an emotion vector to the residual stream and compare outputs")
    command.add_argument("--emotion", required=True, help="target emotion (it needs a probe in the lake)")
    command.add_argument("--strength", type=float, required=True, help="fraction of the layer's mean residual norm")
    command.add_argument("--prompt", required=True, help="user message (wrapped in the model's chat template)")
    command.add_argument(
        "--layer",
        type=int,
        help="steered layer (default: the preset's first steering layer, else a third of the depth)",
    )
    command.add_argument("--operator", choices=OPERATORS, help="default: the preset's")
    command.add_argument("--positions", choices=POSITIONS, help="default: the preset's")
    command.add_argument("--max-new-tokens", type=int, help="default: the preset's [steer] max_new_tokens")
    command.add_argument("--seed", type=int, help="sampling seed, shared by both runs (default: the preset's)")
    command.add_argument("--preset", default="default", help="preset whose [steer] table gives the defaults")
    command.add_argument("--model", help="override the preset's model spec")
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from dataclasses import replace

    from etl.config import load_preset
    from etl.steering.compare import check_request, compare_once

    strength = check_request(args.emotion, args.strength, args.prompt)
    config = load_preset(args.preset, lake=args.lake, model=args.model).steer
    overrides = {"operator": args.operator, "positions": args.positions, "max_new_tokens": args.max_new_tokens}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    report = compare_once(config, args.emotion, strength, args.prompt, args.layer, args.seed)
    print(json.dumps(report, indent=1) if args.json else render(report))


def render(report: dict) -> str:
    """Both continuations in two columns under a header with the measures."""
    head = (
        f"{report['emotion']} x {report['strength']:+g} at layer {report['layer']} ({report['operator']}, "
        f"{report['positions']} positions, norm {report['norm']:.1f}, seed {report['seed']})"
    )
    left = textwrap.wrap(report["baseline"], COLUMN) or ["(empty)"]
    right = textwrap.wrap(report["steered"], COLUMN) or ["(empty)"]
    lines = [head, "", f"{'baseline':<{COLUMN}}  | steered", f"{'-' * COLUMN}  | {'-' * COLUMN}"]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        lines.append(f"{a:<{COLUMN}}  | {b}")
    lines += [
        "",
        f"{report['emotion']} probe (layer {report['score_layer']}): {report['baseline_target']} -> "
        f"{report['steered_target']}  (target_delta {report['target_delta']:+})",
        f"perplexity (unsteered model): {report['baseline_perplexity']} -> {report['steered_perplexity']}  "
        f"(ratio {report['perplexity_ratio']}), repetition {report['repetition_rate']}",
        f"regime: {report['regime']}{'  (success: target up, surgical)' if report['success'] else ''}",
    ]
    return "\n".join(lines)
