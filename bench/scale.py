"""Scale-out overhead: extraction on the Ray runner with 1 and 2 CPU actors vs the local runner, same texts, one run.

    python -m bench.scale [--model tiny-random] [--shard-texts 16] [--layers 0 1 2 3] [--json]

Each path extracts the `tiny` preset's reference corpus into a fresh copy of one generated lake (so every path does
the same shards) through `etl.stages.extract.run`. Ray runs on a local cluster of 2 CPUs started once before timing
(its start-up is reported apart); actor start-up (model load) is inside the timing, as it is in a real run.
per_shard_overhead_s = (ray with 1 actor - local) / shards: what Ray Data adds to each shard with no parallelism.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path


def timed_extract(base: Path, target: Path, config, runner) -> float:
    """Extracts into a fresh copy of `base` at `target` with `runner`; returns the seconds it took."""
    from etl.stages import extract

    shutil.copytree(base, target)
    config = dataclasses.replace(config, common=dataclasses.replace(config.common, lake=target), runner=runner)
    start = time.perf_counter()
    extract.run(config)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--shard-texts", type=int, default=16)
    parser.add_argument("--layers", type=int, nargs="+", help="layers to extract (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import ray

    from etl import runner as stage_runner
    from etl.config import RunnerConfig, load_preset
    from etl.model.load import load
    from etl.stages import extract

    work = Path(tempfile.mkdtemp(prefix="emolake-scale-"))
    overrides = [f"extract.shard_texts={args.shard_texts}"]
    if args.layers:
        overrides.append(f"extract.layers={args.layers}")
    preset = load_preset("tiny", lake=work / "base", model=args.model, overrides=overrides)
    stage_runner.execute("generate", preset)
    loaded = load(args.model)
    layers = list(args.layers or range(loaded.n_layers))
    plan = extract.plan_shards(extract.Lake(work / "base"), preset.extract, loaded.tokenizer, loaded.slug, layers)
    texts = sum(len(t) for t in plan.column("texts").to_pylist())
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray_start_s = time.perf_counter() - start
    try:
        seconds = {"local": timed_extract(work / "base", work / "local", preset.extract, RunnerConfig())}
        for workers in (1, 2):
            ray_runner = RunnerConfig(backend="ray", workers=workers)
            seconds[f"ray_{workers}"] = timed_extract(work / "base", work / f"ray{workers}", preset.extract, ray_runner)
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "model": loaded.slug,
        "texts": texts,
        "shards": plan.num_rows,
        "tokens": sum(plan.column("tokens").to_pylist()),
        "ray_init_s": round(ray_start_s, 2),
        **{f"{name}_s": round(s, 2) for name, s in seconds.items()},
        **{f"{name}_texts_per_s": round(texts / s, 1) for name, s in seconds.items()},
        "ray_1_vs_local": round(seconds["local"] / seconds["ray_1"], 3),
        "ray_2_vs_local": round(seconds["local"] / seconds["ray_2"], 3),
        "ray_2_vs_ray_1": round(seconds["ray_1"] / seconds["ray_2"], 3),
        "per_shard_overhead_s": round((seconds["ray_1"] - seconds["local"]) / plan.num_rows, 3),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k:>24}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
