"""Crash safety: every stage and `score` is killed (SIGKILL) at write boundaries spread over its run, including the
window between extract's last shard and its manifest row. After each kill, readers see only whole committed
versions (each dataset as it was before the stage or as a clean run leaves it; for the stages that commit by chunk
or shard, whole chunks and shards of the clean run), and a rerun leaves a lake equal to a clean one.

The kill points are the lake's write boundaries (`etl.lake.faults.boundary`): before and after each Delta commit.
A clean run counts them first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from etl import runner
from etl.config import load_preset
from etl.lake import Lake, views
from tests.lake_state import canonical_rows, differences, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PRESET = Path(__file__).parent / "presets" / "crash.toml"
EVALUATION = {
    "evaluation_layers", "probe_map", "logit_lens", "dose_curve", "scenario_scores", "deflection_vs_expression",
    "cross_domain", "lexical_baseline", "learning_curve", "evaluation_cosines", "probe_examples",
    "probe_histograms", "model_agreement", "nested_selection", "invariance",
}  # fmt: skip
PER_UNIT = {
    "generate": {"texts", "rejects", "prompts"},
    "extract": {"activations"},
    "probes": {"probes", "probe_centers"},
    "index": {"files"},
    "evaluate": {"files", *EVALUATION},
}
"""Stages that commit unit by unit (a chunk, a shard, a table, a file): a kill may leave some of their units, never
part of one."""
STEPS = ("generate", "extract", "probes", "index", "evaluate", "steer", "score")
KILLS = {"generate": 5, "extract": 8, "probes": 4, "index": 3, "evaluate": 4, "steer": 3, "score": 4}
"""Kill points per step, spread evenly over its boundaries (extract's include every boundary after its last shard)."""
SCORED = "text\nI waited all night for the phone to ring.\nWe won the final and the whole street sang.\n"


def command(step: str, lake: Path, inputs: Path) -> list[str]:
    base = [sys.executable, "-m", "etl", "-q", "--lake", str(lake)]
    if step == "score":
        return [*base, "score", "--input", str(inputs), "--text-column", "text", "--kinds", "expression"]
    return [*base, "run", step, "--preset", str(PRESET)]


def run_step(step: str, lake: Path, inputs: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(command(step, lake, inputs), cwd=ROOT, env=full, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """Lakes before and after each step of a clean run, with the boundaries each step passes."""
    base = tmp_path_factory.mktemp("crash")
    inputs = base / "scored.csv"
    inputs.write_text(SCORED)
    lake = base / "lake"
    before, after, boundaries = {}, {}, {}
    for step in STEPS:
        before[step] = base / f"before-{step}"
        if lake.exists():
            shutil.copytree(lake, before[step])
        counted = base / f"{step}.boundaries"
        done = run_step(step, lake, inputs, {"EMOLAKE_CRASH_COUNT": str(counted)})
        assert done.returncode == 0, done.stderr[-2000:]
        boundaries[step] = counted.read_text().splitlines()
        after[step] = state(lake)
    return {"base": base, "inputs": inputs, "before": before, "after": after, "boundaries": boundaries}


def kill_points(step: str, lines: list[str]) -> list[int]:
    """KILLS[step] boundary numbers: spread over the run, and for extract the whole window after its last shard (the
    manifest row's own commit) plus points spread over its shards."""
    n, k = len(lines), KILLS[step]
    window = []
    if step == "extract":
        last_shard = max(i for i, line in enumerate(lines, 1) if line.endswith("after-commit activations"))
        window = list(range(last_shard + 1, n + 1))
        n = last_shard
    spread = k - len(window)
    return sorted({1 + round(i * (n - 1) / (spread - 1)) for i in range(spread)} | set(window))


def trials() -> list[tuple[str, int]]:
    """(step, index of the kill point); the points themselves are known only once the clean run counted them."""
    return [(step, i) for step in STEPS for i in range(KILLS[step])]


@pytest.mark.parametrize(("step", "which"), trials(), ids=[f"{s}-{i}" for s, i in trials()])
def test_a_killed_step_shows_whole_versions_and_resumes_to_a_clean_lake(lakes, tmp_path, step, which):
    points = kill_points(step, lakes["boundaries"][step])
    if which >= len(points):
        pytest.fail(f"{step} has only {len(points)} distinct kill points; lower KILLS[{step!r}]")
    point = points[which]
    lake = tmp_path / "lake"
    if lakes["before"][step].exists():
        shutil.copytree(lakes["before"][step], lake)
    killed = run_step(step, lake, lakes["inputs"], {"EMOLAKE_CRASH_AT": str(point)})
    assert killed.returncode == -signal.SIGKILL, f"{step} was not killed at boundary {point}: {killed.stderr[-1500:]}"

    before = lakes["after"][STEPS[STEPS.index(step) - 1]] if step != "generate" else {}
    clean = lakes["after"][step]
    seen = readable_state(lake)
    for dataset in set(seen) - {"vectors", "manifest"}:
        if dataset in PER_UNIT.get(step, ()):
            assert_whole_files(lake, dataset, clean)
        else:
            assert seen[dataset] in (before.get(dataset), clean[dataset]), f"{dataset} shows a partial version"
    for key, vector in seen["vectors"].items():
        assert clean["vectors"][key] == vector, f"vector {key} differs from the clean run's"

    resumed = run_step(step, lake, lakes["inputs"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert differences(state(lake), clean) == []


def readable_state(root: Path) -> dict:
    """What readers see: every view builds and answers (finishing an interrupted commit first), then the state."""
    catalog = views.connect(Lake(root))
    for name in catalog.views:
        catalog.con.execute(f"select count(*) from {name}").fetchall()
    return state(root)


def assert_whole_files(root: Path, dataset: str, clean: dict) -> None:
    """Each committed file of a chunk- or shard-committing dataset holds exactly the rows the clean run gave it."""
    import pyarrow.parquet as pq

    lake = Lake(root)
    clean_rows = set(clean[dataset][0])
    for found in lake.data_files(dataset):
        keys = tuple(f"{k}={v}" for k, v in sorted(found.partition.items()))
        rows = canonical_rows(keys, pq.read_table(root / found.rel))
        if dataset == "files":
            rows = [r for r in rows if not r[0].endswith("=reports")]
        assert set(rows) <= clean_rows, f"{found.rel} holds rows a clean run does not"


def test_the_steps_were_killed_at_least_thirty_times():
    assert len(trials()) >= 30


def test_resume_runs_in_process_as_well(lakes, tmp_path):
    """A kill right after extract's first shard, resumed through the runner in this process (not the CLI)."""
    lake = tmp_path / "lake"
    shutil.copytree(lakes["before"]["extract"], lake)
    lines = lakes["boundaries"]["extract"]
    first = next(i for i, line in enumerate(lines, 1) if line.endswith("after-commit activations"))
    killed = run_step("extract", lake, lakes["inputs"], {"EMOLAKE_CRASH_AT": str(first)})
    assert killed.returncode == -signal.SIGKILL
    runner.execute("extract", load_preset(str(PRESET), lake=lake))
    assert differences(state(lake), lakes["after"]["extract"]) == []
