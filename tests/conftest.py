"""Shared fixtures: a tiny lake built once per session, and a helper to run the CLI in-process."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest-xdist worker per core: each worker (and every CLI it starts) computes on one thread,
    # so workers share the cores instead of spinning against each other's thread pools.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")

# `emolake` (the public API) is etl/api installed under its own name by pyproject's package-dir. A venv installed
# before that mapping existed cannot import it; the tests then alias the same files, so they test the same code.
if importlib.util.find_spec("emolake") is None:
    sys.modules["emolake"] = importlib.import_module("etl.api")


@pytest.fixture(scope="session")
def tiny_lake(tmp_path_factory):
    """A lake with the whole `tiny` pipeline run once (read-only for tests: copy it before changing it)."""
    from etl import runner
    from etl.config import load_preset

    lake = tmp_path_factory.mktemp("tiny") / "lake"
    preset = load_preset("tiny", lake=lake)
    for stage in runner.STAGES:
        runner.execute(stage, preset)
    return lake


@pytest.fixture(scope="session")
def tiny_cli_lake(tmp_path_factory):
    """The `tiny` pipeline run once by the CLI in a process of its own with one torch thread, the way the
    concurrency and object-store tests run their writers (read-only for tests)."""
    import subprocess
    from pathlib import Path

    lake = tmp_path_factory.mktemp("tiny-cli") / "lake"
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(lake), "run", "all", "--preset", "tiny"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("EMOLAKE_LAKE", None)
    done = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return lake


@pytest.fixture
def tiny_lake_copy(tiny_lake, tmp_path):
    target = tmp_path / "lake"
    shutil.copytree(tiny_lake, target)
    return target


@pytest.fixture
def cli(capsys):
    """Runs `emolake ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from etl.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def two_model_lake(tiny_lake, tmp_path_factory):
    """The tiny lake plus a second tiny random model of another depth (6 layers) on the same texts, evaluated after
    the first: what `make compare` builds, in seconds (read-only for tests)."""
    from etl import runner
    from etl.config import load_preset

    lake = tmp_path_factory.mktemp("two-models") / "lake"
    shutil.copytree(tiny_lake, lake)
    preset = load_preset("tiny", lake=lake, model="tiny-random-6")
    for stage in ("generate", "extract", "probes", "evaluate"):
        runner.execute(stage, preset)
    return lake


def pytest_collection_modifyitems(config, items):
    """Files that load the bundled model run first: under `make test`'s one-file-per-worker scheduling the longest
    files then start early instead of finishing last on one worker while the others idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
