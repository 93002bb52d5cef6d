"""Per-emotion means over a float16 memory map: our sorted gather vs the replications' path (load all as float32,
then one boolean mask per emotion).

    python -m bench.probe_means [--texts 205000] [--hidden 2560] [--emotions 171] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from etl.probes.maths import group_means


def naive_means(x: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """What the replications do: every activation loaded as float32, then one boolean mask per emotion."""
    everything = np.array(x, dtype=np.float32)
    return np.stack([everything[labels == g].mean(axis=0) for g in range(n_groups)])


def timed(fn, *args) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--hidden", type=int, default=2560)
    parser.add_argument("--emotions", type=int, default=171)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, args.emotions, size=args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shard.npy"
        mmap = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(args.texts, args.hidden))
        for start in range(0, args.texts, 8192):
            mmap[start : start + 8192] = rng.standard_normal((min(8192, args.texts - start), args.hidden))
        mmap.flush()
        x = np.load(path, mmap_mode="r")
        ours_s, ours = timed(group_means, x, labels, args.emotions)
        naive_s, naive = timed(naive_means, x, labels, args.emotions)
    result = {
        "texts": args.texts,
        "hidden": args.hidden,
        "emotions": args.emotions,
        "ours_s": round(ours_s, 3),
        "naive_s": round(naive_s, 3),
        "speedup": round(naive_s / ours_s, 2),
        "max_abs_diff": float(np.abs(ours - naive).max()),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
