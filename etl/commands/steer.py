"""`emolake steer --emotion E --strength S --prompt "..."`: the unsteered and the steered continuation, side by side."""

from __future__ import annotations

import json
import textwrap

from etl.errors import EmolakeError

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
    from etl.lake import Lake
    from etl.model.load import load
    from etl.probes.policy import steering_layer
    from etl.stages.steer import steered_layers
    from etl.steering.compare import Case, Setting, Steerer, check_request

    strength = check_request(args.emotion, args.strength, args.prompt)
    config = load_preset(args.preset, lake=args.lake, model=args.model).steer
    overrides = {"operator": args.operator, "positions": args.positions, "max_new_tokens": args.max_new_tokens}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    loaded = load(config.common.model)
    layer = args.layer if args.layer is not None else steering_layer(loaded.n_layers, config.layers)
    steered_layers(replace(config, layers=(layer,)), loaded.n_layers)
    seed = args.seed if args.seed is not None else config.common.seed
    if not 0 <= seed < 2**32:
        raise EmolakeError(f"--seed {seed}: use a whole number from 0 to {2**32 - 1}")
    lake = Lake(config.common.lake)
    steerer = Steerer(lake, loaded, config)
    setting = Setting(args.emotion, layer, strength, config.operator, config.positions, config.kinds[0])
    (result,) = steerer.run([(setting, Case(args.prompt, seed))])
    report = as_dict(result, steerer)
    print(json.dumps(report, indent=1) if args.json else render(report))


def as_dict(result, steerer) -> dict:
    """The comparison as plain values: texts, target scores, perplexities, repetition, regime."""
    s = result.setting
    return {
        "emotion": s.emotion,
        "layer": s.layer,
        "strength": s.strength,
        "operator": s.operator,
        "positions": s.positions,
        "seed": result.case.seed,
        "prompt": result.case.prompt,
        "baseline": result.baseline.text,
        "steered": result.steered.text,
        "baseline_target": _round(result.baseline.scores[result.target]),
        "steered_target": _round(result.steered.scores[result.target]),
        "target_delta": _round(result.target_delta),
        "baseline_perplexity": _round(result.baseline.perplexity),
        "steered_perplexity": _round(result.steered.perplexity),
        "perplexity_ratio": _round(result.perplexity_ratio),
        "repetition_rate": _round(result.steered.repetition),
        "regime": result.regime,
        "success": result.success,
        "score_layer": steerer.score_layer,
        "norm": _round(steerer.norms[s.layer]),
    }


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


def _round(value) -> float | None:
    value = float(value)
    return None if value != value else round(value, 4)
