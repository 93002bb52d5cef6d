"""Two writers at once lose and double nothing: two `run all` on one empty lake, two imports of one corpus, two
probes runs with different configs, and `score` beside `extract`. Each pair runs as two real processes started
together; the outcome is compared with the same work done one at a time.

A race shows only in some interleavings: raise REPEATS to repeat each pair here; `bench/concurrency.py` repeats the
full-pipeline pair (10 times by default) and counts the outcomes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from corpus_copy import DATASET, published_copy

from etl.lake import Lake, views
from tests.lake_state import differences, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 1
ORDERING = {"manifest"}
"""Which runs recorded themselves differs with the interleaving; what the lake holds does not."""


def start(lake: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(lake), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def together(*commands: tuple[Path, tuple[str, ...]]) -> list[tuple[int, str, str]]:
    """Starts every command at once; returns (exit code, stdout, stderr) of each when all have ended."""
    running = [start(lake, *args) for lake, args in commands]
    out = []
    for proc in running:
        stdout, stderr = proc.communicate(timeout=900)
        out.append((proc.returncode, stdout, stderr))
    return out


def held(lake: Path) -> dict:
    return {k: v for k, v in state(lake).items() if k not in ORDERING}


def versions(lake: Path) -> dict[str, int | None]:
    from etl.lake import DATASETS

    return {name: Lake(lake).version(name) for name in DATASETS}


@pytest.fixture(scope="module")
def serial(tiny_cli_lake) -> Path:
    """The tiny pipeline run once, alone (read-only: copy it before changing it)."""
    return tiny_cli_lake


@pytest.mark.parametrize("repeat", range(REPEATS))
def test_two_full_runs_at_once_hold_what_one_run_holds(cli, tmp_path, serial, repeat):
    lake = tmp_path / "lake"
    results = together((lake, ("run", "all", "--preset", "tiny")), (lake, ("run", "all", "--preset", "tiny")))
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    assert differences(held(lake), held(serial)) == []  # every text has its vectors, once; probes from all of them
    code, out, _ = cli("--lake", lake, "verify")
    assert code == 0, out
    before = versions(lake)
    ((code, _, err),) = together((lake, ("run", "all", "--preset", "tiny")))
    assert code == 0, err
    assert versions(lake) == before  # a rerun finds every stage done and writes nothing


@pytest.mark.parametrize("repeat", range(REPEATS))
def test_two_imports_at_once_land_each_row_once(cli, tmp_path, repeat):
    copy = published_copy(tmp_path)[0]
    args = ("import", str(copy), "--dataset", DATASET, "--revision", "abc123")
    alone = tmp_path / "alone"
    assert together((alone, args))[0][0] == 0
    lake = tmp_path / "lake"
    results = together((lake, args), (lake, args))
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    assert differences(held(lake), held(alone)) == []
    code, out, _ = cli("--lake", lake, "import", copy, "--dataset", DATASET, "--revision", "abc123")
    assert code == 0 and "files: 3 (3 already imported, skipped)" in out


def test_two_probes_runs_with_different_configs_leave_the_one_the_manifest_names(cli, tmp_path, serial):
    lake = tmp_path / "lake"
    shutil.copytree(serial, lake)
    only = ("run", "probes", "--preset", "tiny", "--set", 'probes.kinds=["expression"]')
    every = ("run", "probes", "--preset", "tiny", "--set", 'probes.kinds=["expression", "short"]')
    results = together((lake, only), (lake, every))
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    kinds = {k for (k,) in duckdb.sql(f"select distinct kind from {views.scan(Lake(lake), 'probes')}").fetchall()}
    winner = ["expression"] if kinds == {"expression"} else ["expression", "short"]
    assert kinds == set(winner)
    # the run whose probes the lake holds is the one recorded as current: rerunning it changes nothing, rerunning
    # the other rebuilds
    before = Lake(lake).version("probes")
    config = ("run", "probes", "--preset", "tiny", "--set", f"probes.kinds={winner}".replace("'", '"'))
    assert together((lake, config))[0][0] == 0
    assert Lake(lake).version("probes") == before
    loser = only if winner == ["expression", "short"] else every
    assert together((lake, loser))[0][0] == 0
    assert Lake(lake).version("probes") != before


def test_score_beside_extract_both_land(cli, tmp_path, serial):
    lake = tmp_path / "lake"
    shutil.copytree(serial, lake)
    texts = tmp_path / "mine.csv"
    texts.write_text("text\nI waited all night for the phone to ring.\nWe won the final and the street sang.\n")
    score = ("score", "--input", str(texts), "--text-column", "text", "--kinds", "expression")
    extract = ("run", "extract", "--preset", "tiny", "--force")
    results = together((lake, score), (lake, extract))
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    assert differences(held(lake), held(serial)) == ["scores"]
    assert cli("--lake", lake, "verify")[0] == 0
