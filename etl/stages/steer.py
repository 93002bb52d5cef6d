"""Stage `steer`: the steering sweep, emotions x strengths x layers x prompts x seeds.

Reads probes, texts (for the residual norms) and the evaluation from the lake; writes
`steering_runs/model=M/sweep=PRESET/part-0.parquet`. Runs through `etl.runner` like every stage, so an unchanged
sweep over unchanged probes is skipped and a changed output schema runs it again.
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
from etl.lake import Lake
from etl.lake.schemas import STEERING_RUNS
from etl.stages import StageResult
from etl.steering.compare import Case, Comparison, Setting, Steerer, measures, number, steered_layers

log = logging.getLogger("emolake")


def grid(config: SteerConfig, layers: tuple[int, ...]) -> list[tuple[Setting, Case]]:
    """Every (setting, case) of the sweep, in a fixed order."""
    seeds = [config.common.seed + i for i in range(config.seeds)]
    return [
        (Setting(emotion, layer, strength, config.operator, config.positions), Case(prompt, seed))
        for layer, emotion, strength, prompt, seed in itertools.product(
            layers, config.emotions, config.strengths, config.prompts, seeds
        )
    ]


def run(config: SteerConfig) -> StageResult:
    """Runs the sweep and writes its runs; returns counts and rates."""
    from etl.model.load import load, model_slug

    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    started = datetime.now(UTC)
    loaded = load(config.common.model)
    steerer = Steerer(lake, loaded, config)
    pairs = grid(config, steered_layers(config, loaded.n_layers))
    n_cases = len({case for _, case in pairs})
    log.info("steer: %d settings x %d prompt/seed cases = %d steered runs", len(pairs) // n_cases, n_cases, len(pairs))
    with progress.bar(total=len(pairs) + n_cases, desc="steer", unit="text") as bar:
        comparisons = steerer.run(pairs, progress=bar.update)
    table = runs_table(comparisons, steerer, config, started)
    lake.write("steering_runs", table, mode="replace", model=model, sweep=config.common.preset)
    regimes = Counter(c.regime for c in comparisons)
    result = {
        "runs": len(comparisons),
        "success_rate": round(sum(c.success for c in comparisons) / len(comparisons), 4),
        "regimes": dict(sorted(regimes.items())),
        "path": str(lake.partition("steering_runs", model=model, sweep=config.common.preset)),
    }
    log.info("steer: wrote %d runs to %s (%s)", len(comparisons), lake.dataset("steering_runs"), result)
    return StageResult(rows_read=n_cases, rows_written=len(comparisons), details=result)


def runs_table(comparisons: list[Comparison], steerer: Steerer, config: SteerConfig, started: datetime) -> pa.Table:
    """One row per comparison: the setting, both texts, every probe score of both outputs and the verdicts."""
    prompt_index = {prompt: i for i, prompt in enumerate(config.prompts)}
    created = started.isoformat(timespec="seconds")
    rows = []
    for c in comparisons:
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
            }
        )
    return pa.Table.from_pylist(rows, schema=STEERING_RUNS)


# A change to the runs' columns runs the sweep again instead of leaving old files marked done.
OUTPUT_SIGNATURE = hashlib.sha256(str(STEERING_RUNS).encode()).hexdigest()[:12]
