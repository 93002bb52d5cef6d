"""Stage `steer`: the steering sweep, emotions x strengths x layers x prompts x seeds.

Reads probes, texts (for the residual norms and the TF-IDF judge) and the evaluation from the lake; writes
`steering_runs` (one row per paired run, each judge's reading of both texts beside the own probe's) and
`steering_judged` (success rates per reader and setting, with bootstrap intervals), partitioned by model and sweep.
Runs through `etl.runner` like every stage, so an unchanged sweep over unchanged probes is skipped and a changed output
schema runs it again.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import Counter
from datetime import UTC, datetime

import pyarrow as pa

from etl import progress
from etl.config import SteerConfig, config_hash
from etl.config.steer import NULL_KINDS
from etl.lake import Lake
from etl.lake.schemas import STEERING_CHOICE, STEERING_CHOICE_EFFECTS, STEERING_JUDGED, STEERING_RUNS
from etl.stages import StageResult
from etl.steering.compare import Case, Comparison, Setting, Steerer, measures, number, steered_layers

log = logging.getLogger("emolake")


def grid(config: SteerConfig, layers: tuple[int, ...]) -> list[tuple[Setting, Case]]:
    """Every (setting, case) of the sweep, in a fixed order."""
    seeds = [config.common.seed + i for i in range(config.seeds)]
    return [
        (Setting(emotion, layer, strength, operator, positions, kind), Case(prompt, seed))
        for kind, operator, positions, layer, emotion, strength, prompt, seed in itertools.product(
            config.kinds,
            config.operators,
            config.position_sets,
            layers,
            config.emotions,
            config.strengths,
            config.prompts,
            seeds,
        )
    ]


def run(config: SteerConfig) -> StageResult:
    """Runs the sweep and writes its runs; returns counts and rates."""
    from etl.evaluation.judges import default_judges
    from etl.evaluation.readers import model_readers
    from etl.model.load import load, model_slug

    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    started = datetime.now(UTC)
    readers = model_readers(lake, config.readers, model, config.source)  # refused before the model loads
    loaded = load(config.common.model)
    judges = default_judges(lake) + readers
    steerer = Steerer(lake, loaded, config)
    pairs = grid(config, steered_layers(config, loaded.n_layers))
    n_cases = len({case for _, case in pairs})
    log.info("steer: %d settings x %d prompt/seed cases = %d steered runs", len(pairs) // n_cases, n_cases, len(pairs))
    with progress.bar(total=len(pairs) + n_cases, desc="steer", unit="text") as bar:
        comparisons = steerer.run(pairs, progress=bar.update)
    table = runs_table(comparisons, judge_all(judges, comparisons), steerer, config, started)
    lake.write("steering_runs", table, mode="replace", model=model, sweep=config.common.preset)
    rows = table.to_pylist()
    rates = rates_table(rows, config.common.seed, started)
    lake.write("steering_judged", rates, mode="replace", model=model, sweep=config.common.preset)
    choice = run_choice(lake, steerer, config, model, started) if config.choice_strengths else {}
    regimes = Counter(c.regime for c in comparisons)
    steered = [row for row in rows if not row["control"]]
    result = {
        "runs": len(comparisons),
        "control_runs": len(rows) - len(steered),
        "judged_success_rate": round(sum(r["judged_success"] for r in steered) / len(steered), 4),
        "own_probe_success_rate": round(sum(r["success"] for r in steered) / len(steered), 4),
        "regimes": dict(sorted(regimes.items())),
        "path": str(lake.partition("steering_runs", model=model, sweep=config.common.preset)),
    } | choice
    log.info("steer: wrote %d runs to %s (%s)", len(comparisons), lake.dataset("steering_runs"), result)
    return StageResult(rows_read=n_cases, rows_written=len(comparisons), details=result)


def run_choice(lake: Lake, steerer: Steerer, config: SteerConfig, model: str, started: datetime) -> dict:
    """The forced-choice experiment at the steering layer with the steering kind; writes `steering_choice` and
    `steering_choice_effects`; returns the primary effect (docs/steering.md)."""
    from etl.evaluation.choice import effects
    from etl.steering.choice import measure
    from etl.steering.recipe import resolve

    recipe = resolve(lake, steerer.loaded, config)  # the kind and layer `emolake steer` pushes; norms already stored
    kind, layer = recipe.kind, recipe.layer
    emotions = list(dict.fromkeys(config.choice_positive + config.choice_negative))
    rows = measure(steerer, emotions, config.choice_strengths, config.choice_random, layer, kind)
    created = {"created_at": started.isoformat(timespec="seconds")}
    table = pa.Table.from_pylist([r | created for r in rows], schema=STEERING_CHOICE)
    lake.write("steering_choice", table, mode="replace", model=model, sweep=config.common.preset)
    found = [
        e | {"kind": kind, "layer": layer} | created
        for e in effects(rows, config.choice_positive, config.choice_negative, config.common.seed)
    ]
    lake.write(
        "steering_choice_effects",
        pa.Table.from_pylist(found, schema=STEERING_CHOICE_EFFECTS),
        mode="replace",
        model=model,
        sweep=config.common.preset,
    )
    primary = next(e for e in reversed(found) if e["second"] == config.choice_negative[0])
    log.info("steer: forced choice, %d prompts x conditions; primary %s", len(rows), primary)
    return {"choice_effect": round(primary["effect"], 4), "choice_null_p95": round(primary["null_p95_abs"], 4)}


def judge_all(judges, comparisons: list[Comparison]) -> list:
    """Each judge's verdicts on every paired run (etl/evaluation/judges.py)."""
    from etl.evaluation.judges import judge_pairs

    return judge_pairs(
        judges,
        [c.baseline.text for c in comparisons],
        [c.steered.text for c in comparisons],
        [c.setting.emotion for c in comparisons],
    )


def runs_table(
    comparisons: list[Comparison], verdicts: list, steerer: Steerer, config: SteerConfig, started: datetime
) -> pa.Table:
    """One row per comparison: the setting, both texts, every probe score of both outputs, each judge's reading of
    both texts and the verdicts."""
    from etl.evaluation.judges import judged_success

    prompt_index = {prompt: i for i, prompt in enumerate(config.prompts)}
    created = started.isoformat(timespec="seconds")
    rows = []
    for c, judged in zip(comparisons, verdicts, strict=True):
        s, case = c.setting, c.case
        run_id = hashlib.sha256(f"{s}|{case}".encode()).hexdigest()[:16]
        rows.append(
            {"run_id": run_id}
            | measures(c)
            | {
                "prompt_index": prompt_index.get(case.prompt, -1),
                "baseline_tokens": len(c.baseline.new_ids),
                "steered_tokens": len(c.steered.new_ids),
                "baseline_repetition": c.baseline.repetition,
                "probe_emotions": c.emotions,
                "baseline_scores": [number(v) for v in c.baseline.scores],
                "steered_scores": [number(v) for v in c.steered.scores],
                "judges": [v.judge for v in judged],
                "judge_labels": [v.label for v in judged],
                "judge_baseline": [number(v.baseline) for v in judged],
                "judge_steered": [number(v.steered) for v in judged],
                "judge_opposite_baseline": [number(v.baseline_opposite) for v in judged],
                "judge_opposite_steered": [number(v.steered_opposite) for v in judged],
                "judge_agrees": [v.agrees for v in judged],
                "judged_success": judged_success(c.regime == "surgical", judged),
                "source": config.source,
                "score_layer": steerer.score_layer,
                "norm": steerer.norms[s.layer],
                "max_perplexity_ratio": config.max_perplexity_ratio,
                "max_repetition": config.max_repetition,
                "temperature": config.temperature,
                "top_p": config.top_p,
                "max_new_tokens": config.max_new_tokens,
                "config_hash": config_hash(config),
                "model_spec": config.common.model,
                "created_at": created,
                "control": s.kind in NULL_KINDS,
            }
        )
    return pa.Table.from_pylist(rows, schema=STEERING_RUNS)


SETTING = ("kind", "layer", "emotion", "strength", "operator", "positions")
"""The columns that name one setting of a sweep (within a model and sweep)."""


def rates_table(rows: list[dict], seed: int, started: datetime) -> pa.Table:
    """Success rates with bootstrap 95% intervals per reader, per setting and over all runs (`steering_judged`).

    Readers: `judged` (surgical and every pre-registered judge agrees), `own_probe` (surgical and the target probe
    rose) and each judge or model reader (surgical and it agrees); `agree_rate` counts agreement whatever the regime.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in SETTING), []).append(row)
    created = started.isoformat(timespec="seconds")
    out = [
        rate | dict(zip(SETTING, key, strict=True)) | {"scope": "setting", "created_at": created}
        for key, members in sorted(groups.items())
        for rate in reader_rates(members, seed)
    ]
    kinds: dict[str, list[dict]] = {}
    for row in rows:
        kinds.setdefault(row["kind"], []).append(row)
    out += [
        rate | dict.fromkeys(SETTING) | {"kind": kind, "scope": "kind", "created_at": created}
        for kind, members in kinds.items()
        for rate in reader_rates(members, seed)
    ]
    steered = [row for row in rows if not row["control"]]
    out += [
        rate | dict.fromkeys(SETTING) | {"scope": "overall", "created_at": created}
        for rate in reader_rates(steered, seed)
    ]
    return pa.Table.from_pylist(out, schema=STEERING_JUDGED)


def reader_rates(rows: list[dict], seed: int) -> list[dict]:
    """One rate row per reader over `rows` (paired runs of one or many settings)."""
    import numpy as np

    from etl.evaluation.controls import bootstrap_ci
    from etl.evaluation.judges import judges_agree

    surgical = np.array([r["regime"] == "surgical" for r in rows])
    readers = {
        "judged": (np.array([judges_agree(r["judges"], r["judge_agrees"]) for r in rows]), None, None),
        "own_probe": (np.array([(r["target_delta"] or 0) > 0 for r in rows]), _column(rows, "target_delta"), None),
    }
    for i, judge in enumerate(rows[0]["judges"] if rows else []):
        agrees = np.array([r["judge_agrees"][i] for r in rows])
        delta = _column(rows, "judge_steered", i) - _column(rows, "judge_baseline", i)
        opposite = _column(rows, "judge_opposite_steered", i) - _column(rows, "judge_opposite_baseline", i)
        readers[judge] = (agrees, delta, opposite)
    out = []
    for reader, (agrees, delta, opposite) in readers.items():
        hits = (surgical & agrees).astype(np.float64)
        low, high = (None if v is None else float(v) for v in bootstrap_ci(hits, seed))
        out.append(
            {
                "reader": reader,
                "n_runs": len(rows),
                "success_rate": number(hits.mean()) if len(rows) else None,
                "success_low": low,
                "success_high": high,
                "agree_rate": number(agrees.mean()) if len(rows) else None,
                "mean_delta": _mean(delta),
                "mean_opposite_delta": _mean(opposite),
            }
        )
    return out


def _column(rows: list[dict], name: str, index: int | None = None):
    """A float column of `rows` (an element of a list column when `index` is given); None reads as NaN."""
    import numpy as np

    values = [r[name] if index is None else r[name][index] for r in rows]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _mean(values) -> float | None:
    """The mean of the finite values, or None."""
    if values is None:
        return None
    finite = values[values == values]
    return number(finite.mean()) if len(finite) else None


# A change to the runs' columns runs the sweep again instead of leaving old files marked done.
OUTPUT_SIGNATURE = hashlib.sha256(
    f"{STEERING_RUNS}{STEERING_JUDGED}{STEERING_CHOICE}{STEERING_CHOICE_EFFECTS}".encode()
).hexdigest()[:12]
