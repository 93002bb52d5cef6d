"""Two writers at once: repeated pairs of `emolake run all` started together on one empty lake, each lake compared with
one written by a single run, in the same session.

    python -m bench.concurrency [--preset tiny] [--repeats 10] [--json]

For each repeat: both exit codes, whether the lake holds exactly what the single run's lake holds (tests/lake_state.py:
every row of every table less times and counts, every vector once), whether `emolake verify` passes, and whether a
third run finds every stage done. Also the wall time of the pair against the single run (a ratio: two writers share
the work of one, plus the re-planning their conflicts cost).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def emolake(lake: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(lake), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed(*procs: subprocess.Popen) -> tuple[list[int], float]:
    started = time.perf_counter()
    codes = [proc.wait() for proc in procs]
    return codes, time.perf_counter() - started


def held(lake: Path) -> dict:
    from tests.lake_state import state

    return {k: v for k, v in state(lake).items() if k != "manifest"}


def versions(lake: Path) -> dict:
    from etl.lake import DATASETS, Lake

    return {name: Lake(lake).version(name) for name in DATASETS}


def one_repeat(scratch: Path, preset: str, expected: dict) -> dict:
    lake = scratch / "lake"
    codes, seconds = timed(*(emolake(lake, "run", "all", "--preset", preset) for _ in range(2)))
    from tests.lake_state import differences

    differ = differences(held(lake), expected) if all(c == 0 for c in codes) else ["(a run failed)"]
    verify = emolake(lake, "verify").wait()
    before = versions(lake)
    rerun = emolake(lake, "run", "all", "--preset", preset).wait()
    return {
        "codes": codes,
        "seconds": round(seconds, 1),
        "differs": differ,
        "verify_ok": verify == 0,
        "rerun_writes_nothing": rerun == 0 and versions(lake) == before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        single = Path(scratch) / "single"
        (code,), single_seconds = timed(emolake(single, "run", "all", "--preset", args.preset))
        if code != 0:
            sys.exit("the single run failed: nothing to compare with")
        expected = held(single)
        results = []
        for i in range(args.repeats):
            with tempfile.TemporaryDirectory(dir=scratch) as each:
                results.append(one_repeat(Path(each), args.preset, expected))
            print(f"repeat {i + 1}: {results[-1]}", file=sys.stderr)
    whole = [r for r in results if r["codes"] == [0, 0] and not r["differs"] and r["verify_ok"]]
    pair = sorted(r["seconds"] for r in results)[len(results) // 2]
    summary = {
        "preset": args.preset,
        "repeats": args.repeats,
        "both_exit_0": sum(r["codes"] == [0, 0] for r in results),
        "lake_equals_single_run": sum(not r["differs"] for r in results),
        "verify_ok": sum(r["verify_ok"] for r in results),
        "rerun_writes_nothing": sum(r["rerun_writes_nothing"] for r in results),
        "whole": len(whole),
        "single_run_s": round(single_seconds, 1),
        "pair_median_s": pair,
        "pair_over_single": round(pair / single_seconds, 2),
    }
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
