"""Steering through the facade: one paired run, judged by the pre-registered judges (`emolake steer` calls it)."""

from __future__ import annotations

from etl.config import SteerConfig
from etl.lake import Lake


def compare(config: SteerConfig, emotion: str, strength, prompt: str, layer: int | None, seed: int | None) -> dict:
    """One paired run (`etl.steering.compare.compare_once`, strength checked first) with each judge's reading of
    both texts and the judged verdict (docs/steering.md): `judges` maps a judge to its label, readings and whether
    it agrees; `judged_success` is surgical with every judge agreeing. `success` stays the own probe's verdict."""
    from etl.steering.compare import check_request, compare_once

    strength = check_request(emotion, strength, prompt)
    report = compare_once(config, emotion, strength, prompt, layer, seed)
    surgical = report["regime"] == "surgical"
    lake = Lake(config.common.lake)
    readings, judged = judge(lake, report["baseline"], report["steered"], report["emotion"], surgical)
    return report | {"judges": readings, "judged_success": judged}


def judge(lake: Lake, baseline: str, steered: str, emotion: str, surgical: bool) -> tuple[dict[str, dict], bool]:
    """Each pre-registered judge's reading of the target in both texts ({judge: {label, baseline, steered,
    agrees}}) and the judged verdict (`etl.evaluation.judges.judged_success`: surgical and every judge agrees)."""
    from etl.evaluation.judges import judge_pairs, judged_success

    (verdicts,) = judge_pairs(judges_of(lake), [baseline], [steered], [emotion])
    readings = {
        v.judge: {"label": v.label, "baseline": _round(v.baseline), "steered": _round(v.steered), "agrees": v.agrees}
        for v in verdicts
    }
    return readings, judged_success(surgical, verdicts)


_judges: dict[str, list] = {}


def judges_of(lake: Lake) -> list:
    """The lake's judges, trained once per lake and process (the TF-IDF judge reads the shipped texts)."""
    from etl.evaluation.judges import default_judges

    key = str(lake.root)
    if key not in _judges:
        _judges[key] = default_judges(lake)
    return _judges[key]


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN: the judge found no word it knows
