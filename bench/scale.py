"""Scale-out overhead: extraction shards on the Ray runner with 1 and 2 CPU actors vs the local runner, one run.

    python -m bench.scale [--model tiny-random] [--shard-texts 8] [--layers 0 1 2 3] [--json]

Every path runs the same shard plan of the `tiny` preset's reference corpus through `etl.executors.run_shards` and
`etl.stages.extract`'s shard function, each into a fresh copy of one generated lake. Ray runs on a local cluster of
2 CPUs started once before timing (`ray_init_s`). The shard function is wrapped to record, in the process that ran
it, when each shard started and finished, so the figures do not depend on start-up (whose variance on a shared
machine is larger than the work) or on Ray delivering results to the driver in bursts:
  startup_s             first shard started - run started (Ray: actor start and model load)
  compute_s_per_shard   mean time inside the shard function (model and writes)
  gap_s_per_shard       mean time between one shard finishing and the next starting in the same process: the
                        per-shard overhead of the runner (Ray: scheduling, moving the row and the outcome)
  steady_shards_per_s   shards / (last finish - first start): throughput once every worker is up
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa


def timed_worker(worker):
    """The shard function of `worker`, made to record its process, start and finish on each output row."""
    return functools.partial(timed_call, worker())


def timed_call(function, row: dict) -> pa.Table:
    started = time.time()
    out = function(row)
    finished = time.time()
    stamps = {"pid": os.getpid(), "started": started, "finished": finished}
    return pa.table({name: [value] * out.num_rows for name, value in stamps.items()})


def run_timed(base: Path, target: Path, config, plan, layers, runner) -> dict:
    """Runs the plan into a fresh copy of `base`; returns the timing figures of that path."""
    from etl.executors import run_shards
    from etl.model.load import model_slug
    from etl.stages import extract

    shutil.copytree(base, target)
    config = dataclasses.replace(config, common=dataclasses.replace(config.common, lake=target), runner=runner)
    worker = functools.partial(extract.extract_worker, config, model_slug(config.common.model), layers)
    start = time.time()
    stamps = [
        table.to_pylist()[0]
        for _, table in run_shards(plan, functools.partial(timed_worker, worker), runner, f"{runner.backend}")
    ]
    total = time.time() - start
    by_process: dict[int, list[dict]] = {}
    for stamp in sorted(stamps, key=lambda s: s["started"]):
        by_process.setdefault(stamp["pid"], []).append(stamp)
    gaps = [b["started"] - a["finished"] for run in by_process.values() for a, b in itertools.pairwise(run)]
    first, last = min(s["started"] for s in stamps), max(s["finished"] for s in stamps)
    return {
        "total_s": round(total, 2),
        "startup_s": round(first - start, 2),
        "compute_s_per_shard": round(sum(s["finished"] - s["started"] for s in stamps) / len(stamps), 4),
        "gap_s_per_shard": round(sum(gaps) / max(len(gaps), 1), 4),
        "steady_shards_per_s": round(len(stamps) / (last - first), 2),
        "processes": len(by_process),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--shard-texts", type=int, default=8)
    parser.add_argument("--layers", type=int, nargs="+", help="layers to extract (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import ray

    from etl import runner as stage_runner
    from etl.config import RunnerConfig, load_preset
    from etl.lake import Lake
    from etl.model.load import load
    from etl.stages import extract

    work = Path(tempfile.mkdtemp(prefix="emolake-scale-"))
    overrides = [f"extract.shard_texts={args.shard_texts}"]
    preset = load_preset("tiny", lake=work / "base", model=args.model, overrides=overrides)
    stage_runner.execute("generate", preset)
    loaded = load(args.model)
    layers = list(args.layers or range(loaded.n_layers))
    plan = extract.plan_shards(Lake(work / "base"), preset.extract, loaded.tokenizer, loaded.slug, layers)
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray_init_s = time.perf_counter() - start
    runners = {"local": RunnerConfig(), **{f"ray_{n}": RunnerConfig(backend="ray", workers=n) for n in (1, 2)}}
    paths = {}
    try:
        for name, runner in runners.items():
            paths[name] = run_timed(work / "base", work / name, preset.extract, plan, layers, runner)
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "model": loaded.slug,
        "texts": sum(len(t) for t in plan.column("texts").to_pylist()),
        "shards": plan.num_rows,
        "tokens": sum(plan.column("tokens").to_pylist()),
        "layers": len(layers),
        "ray_init_s": round(ray_init_s, 2),
        **{f"{name}_{key}": value for name, figures in paths.items() for key, value in figures.items()},
    }
    steady = {name: figures["steady_shards_per_s"] for name, figures in paths.items()}
    result["steady_ray_1_vs_local"] = round(steady["ray_1"] / steady["local"], 3)
    result["steady_ray_2_vs_local"] = round(steady["ray_2"] / steady["local"], 3)
    result["steady_ray_2_vs_ray_1"] = round(steady["ray_2"] / steady["ray_1"], 3)
    result["total_ray_2_vs_local"] = round(paths["local"]["total_s"] / paths["ray_2"]["total_s"], 3)
    overhead = paths["ray_1"]["gap_s_per_shard"] - paths["local"]["gap_s_per_shard"]
    result["per_shard_overhead_s"] = round(overhead, 4)
    result["overhead_vs_compute"] = round(overhead / paths["local"]["compute_s_per_shard"], 3)
    print(json.dumps(result) if args.json else "\n".join(f"{k:>28}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
