"""Runs a stage once per (config, upstream state): a manifest row marks a finished run, so reruns are skipped."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from etl import __version__
from etl.config import Preset, config_hash
from etl.config.base import STAGES
from etl.errors import EmolakeError
from etl.lake import DATASETS, WRITES, ConflictError, Lake, delta
from etl.stages import StageResult

log = logging.getLogger("emolake")

ATTEMPTS = 6
"""Runs of a stage that another writer's commit may interrupt before it fails (each re-plans from the lake, after a
pause that doubles each time, so that a writer doing the same work can finish first)."""
UPSTREAM = {name: STAGES[:i] for i, name in enumerate(STAGES)}


def stage_module(stage: str) -> ModuleType:
    """The module of a stage. Each import is written out, so the layer test sees it (tests/unit/test_layout.py), and
    made only here, when a stage runs, so that the CLI starts without what the stages load (pyarrow, duckdb, ...)."""
    match stage:
        case "generate":
            from etl.stages import generate as module
        case "extract":
            from etl.stages import extract as module
        case "probes":
            from etl.stages import probes as module
        case "index":
            from etl.stages import index as module
        case "evaluate":
            from etl.stages import evaluate as module
        case "steer":
            from etl.stages import steer as module
        case _:
            raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    return module


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def current_key(lake: Lake, stage: str, model: str) -> str | None:
    """The run key of the stage's newest finished run for a model: the run whose outputs the lake holds (an older
    run with another config was overwritten since, so its key no longer counts as done)."""
    import duckdb

    found = lake.files("manifest", under=lake.partition("manifest", stage=stage))
    if not found:
        return None
    query = "select run_key from read_parquet(?) where model = ? order by finished_at desc, run_key limit 1"
    row = duckdb.connect().execute(query, [found, model]).fetchone()
    return row[0] if row else None


def upstream_state(lake: Lake, stage: str, model: str) -> str:
    """The current run key of every upstream stage: a new upstream run changes this stage's run key."""
    return ",".join(f"{upstream}:{current_key(lake, upstream, model)}" for upstream in UPSTREAM[stage])


def output_signature(stage: str) -> str:
    """The stage module's OUTPUT_SIGNATURE (a hash of what it writes), or "" if it declares none."""
    return getattr(stage_module(stage), "OUTPUT_SIGNATURE", "")


def run_key(lake: Lake, stage: str, config) -> str:
    # The output signature is part of the key so that a code change that adds columns re-runs the stage once,
    # instead of skipping it and leaving files the new views cannot read.
    state = upstream_state(lake, stage, config.common.model)
    payload = f"{stage}|{config_hash(config)}|{state}|{output_signature(stage)}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def execute(stage: str, preset: Preset, force: bool = False) -> StageResult | None:
    """Runs one stage of a preset unless an identical run already finished; returns its result, or None if skipped.
    A run that another writer interrupts (a `ConflictError`) is planned again from the lake, up to ATTEMPTS times."""
    config = preset.stage_configs[stage]
    lake = Lake(config.common.lake)
    lake.check_writable()  # before any work: a read-only lake fails now, in one line, not after the stage's work
    module = stage_module(stage)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return execute_once(stage, module, preset, config, lake, force)
        except ConflictError as exc:
            log.info("%s: %s (attempt %d of %d): planning again", stage, exc, attempt, ATTEMPTS)
            conflict = exc
            time.sleep(min(2.0**attempt, 30.0) * random.uniform(0.5, 1.0))
    raise EmolakeError(
        f"{stage}: another writer kept changing `{conflict.dataset}` ({ATTEMPTS} attempts): "
        f"run `emolake run {stage}` again when it has finished"
    )


def execute_once(stage: str, module, preset: Preset, config, lake: Lake, force: bool) -> StageResult | None:
    key = run_key(lake, stage, config)
    if current_key(lake, stage, config.common.model) == key and not force:
        log.info("%s: already done for this config and input (run %s), skipping", stage, key)
        return None
    log.info("%s: starting (preset %s, model %s, lake %s)", stage, preset.name, config.common.model, lake.root)
    started, clock = datetime.now(UTC), time.perf_counter()
    writes_before = dict(WRITES)
    with delta.run(lake.root, stage) as run:
        outputs = [name for name, ds in DATASETS.items() if ds.stage == stage]
        for name in outputs:
            lake.version(name)  # noted as read: another writer's replace of our outputs makes ours conflict
        result: StageResult = module.run(config)
        # Inputs changed by another writer since this run read them (a text added to what extract read), or our
        # replaced rows replaced again by another: this run is not what the lake holds; plan it again. Rows others
        # inserted into tables we only insert into are theirs and change nothing of ours.
        delta.check_reads(lake.root, "manifest", ignore=frozenset(outputs) - run.replaced)
        # The table versions the run read and wrote: a figure can be traced to its inputs (`emolake history`).
        result.details["read_versions"] = dict(sorted(run.reads.items()))
        result.details["wrote_versions"] = dict(sorted(run.writes.items()))
        result.details["lake_writes"] = WRITES["writes"] - writes_before["writes"]
        result.details["lake_write_seconds"] = round(WRITES["seconds"] - writes_before["seconds"], 3)
        seconds = time.perf_counter() - clock
        row = manifest_row(stage, key, preset, config, result, started, seconds)
        lake.write("manifest", [row], mode="insert", stage=stage)
    log.info("%s: done in %.1f s, read %d rows, wrote %d rows", stage, seconds, result.rows_read, result.rows_written)
    return result


def manifest_row(stage: str, key: str, preset: Preset, config, result: StageResult, started, seconds: float) -> dict:
    """The row that marks a finished stage run."""
    return {
        "run_key": key,
        "preset": preset.name,
        "config_hash": config_hash(config),
        "model": config.common.model,
        "code_version": code_version(),
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "details": json.dumps(result.details, default=str),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "seconds": round(seconds, 2),
    }
