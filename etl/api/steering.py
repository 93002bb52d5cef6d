"""Steering through the facade: one paired run, judged by the pre-registered judges (`emolake steer` calls it)."""

from __future__ import annotations

from etl.config import SteerConfig
from etl.lake import Lake


def compare(config: SteerConfig, emotion: str, strength, prompt: str, layer: int | None, seed: int | None) -> dict:
    """One paired run (`etl.steering.compare.compare_once`, strength checked first) with each judge's reading of
    both texts and the judged verdict (docs/steering.md): `judges` maps a judge to its label, readings and whether
    it agrees; `judged_success` is surgical with every judge agreeing. `success` stays the own probe's verdict."""
    from etl.evaluation.judges import default_judges, judge_pairs, judged_success
    from etl.steering.compare import check_request, compare_once

    strength = check_request(emotion, strength, prompt)
    report = compare_once(config, emotion, strength, prompt, layer, seed)
    judges = default_judges(Lake(config.common.lake))
    (verdicts,) = judge_pairs(judges, [report["baseline"]], [report["steered"]], [report["emotion"]])
    report["judges"] = {
        v.judge: {"label": v.label, "baseline": _round(v.baseline), "steered": _round(v.steered), "agrees": v.agrees}
        for v in verdicts
    }
    report["judged_success"] = judged_success(report["regime"] == "surgical", verdicts)
    return report


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN: the judge found no word it knows
