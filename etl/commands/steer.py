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
        help="steered layer (default: the preset's first steering layer, else 0.4 of the depth)",
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

    from etl.api.steering import compare
    from etl.config import load_preset

    config = load_preset(args.preset, lake=args.lake, model=args.model).steer
    overrides = {"operator": args.operator, "positions": args.positions, "max_new_tokens": args.max_new_tokens}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    report = compare(config, args.emotion, args.strength, args.prompt, args.layer, args.seed)
    print(json.dumps(report, indent=1) if args.json else render(report))


def render(report: dict) -> str:
    """Both continuations in two columns under a header with the measures."""
    head = (
        f"{report['emotion']} x {report['strength']:+g} at layer {report['layer']} ({report['kind']} probes, "
        f"{report['operator']}, {report['positions']} positions, norm {report['norm']:.1f}, seed {report['seed']})"
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
        f"perplexity (unsteered model): {report['baseline_perplexity']} -> {report['steered_perplexity']}  "
        f"(ratio {report['perplexity_ratio']}), repetition {report['repetition_rate']}, regime: {report['regime']}",
        *judge_lines(report),
        f"own probe, the steered model's {report['emotion']} probe (layer {report['score_layer']}): "
        f"{report['baseline_target']} -> {report['steered_target']}  (target_delta {report['target_delta']:+}; "
        f"{'rose' if (report['target_delta'] or 0) > 0 else 'did not rise'})",
        f"verdict: {verdict(report)}",
    ]
    return "\n".join(lines)


def judge_lines(report: dict) -> list[str]:
    """One line per judge: what it read for the target in both texts and whether it agrees the target rose."""
    lines = []
    for judge, reading in report["judges"].items():
        shown = " -> ".join(
            "no known word" if v is None else f"{v:.3f}" for v in (reading["baseline"], reading["steered"])
        )
        lines.append(
            f"judge {judge} ({reading['label']}): {shown}  ({'agrees' if reading['agrees'] else 'does not agree'})"
        )
    return lines


def verdict(report: dict) -> str:
    """Judged success first (the pre-registered rule, docs/steering.md), then why not."""
    if report["judged_success"]:
        return "judged success (surgical, and every judge read the target rise)"
    if report["regime"] != "surgical":
        return f"no judged success: the steered text is {report['regime']}"
    against = [judge for judge, reading in report["judges"].items() if not reading["agrees"]]
    return f"no judged success: {', '.join(against)} did not read the target rise"
