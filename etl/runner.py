"""Runs a stage once per (config, upstream state): a manifest row marks a finished run, so reruns are skipped."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import subprocess
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from etl import __version__
from etl.config import Preset, config_hash
from etl.lake import Lake, clean_temporaries, durable, schemas, write_table

log = logging.getLogger("emolake")

STAGES = ("generate", "extract", "probes", "index", "evaluate", "steer")
PIPELINE = STAGES[:5]
"""What `run all` (and so `make all`) runs; the steering sweep is its own target (`make steer`)."""
UPSTREAM = {name: STAGES[:i] for i, name in enumerate(STAGES)}


@dataclass
class StageResult:
    """What a stage's run() returns: counts for the manifest and the summary."""

    rows_read: int = 0
    rows_written: int = 0
    details: dict = field(default_factory=dict)


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


def upstream_state(lake: Lake, stage: str) -> str:
    """Names of the manifest files of every upstream stage: a new upstream run changes this stage's run key."""
    names = []
    for upstream in UPSTREAM[stage]:
        prefix = f"manifest/stage={upstream}/run-"
        names += sorted(r.rsplit("/", 1)[-1] for r in lake.committed("manifest") if r.startswith(prefix))
    return ",".join(names)


def output_signature(stage: str) -> str:
    """The stage module's OUTPUT_SIGNATURE (a hash of what it writes), or "" if it declares none."""
    return getattr(importlib.import_module(f"etl.stages.{stage}"), "OUTPUT_SIGNATURE", "")


def run_key(lake: Lake, stage: str, config) -> str:
    # The output signature is part of the key so that a code change that adds columns re-runs the stage once,
    # instead of skipping it and leaving files the new views cannot read.
    payload = f"{stage}|{config_hash(config)}|{upstream_state(lake, stage)}|{output_signature(stage)}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def execute(stage: str, preset: Preset, force: bool = False) -> StageResult | None:
    """Runs one stage of a preset unless an identical run already finished; returns its result, or None if skipped."""
    config = preset.stage_configs[stage]
    lake = Lake(config.common.lake)
    module = importlib.import_module(f"etl.stages.{stage}")
    removed = clean_temporaries(lake.root) if lake.root.exists() else 0
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", removed)
    key = run_key(lake, stage, config)
    manifest = lake.manifest_path(stage, key)
    if lake.exists(manifest) and not force:
        log.info("%s: already done for this config and input (%s), skipping", stage, manifest)
        return None
    log.info("%s: starting (preset %s, model %s, lake %s)", stage, preset.name, config.common.model, lake.root)
    started, clock = datetime.now(UTC), time.perf_counter()
    cost = dict(durable.COST)
    # A stage's files and its manifest row commit together; stages whose unit of resume is smaller (generate's
    # chunks, extract's shards) commit each unit themselves, and their manifest row commits alone after the last.
    with nullcontext() if getattr(module, "COMMITS_PER_UNIT", False) else lake.transaction():
        result: StageResult = module.run(config)
        seconds = time.perf_counter() - clock
        # What the commit layer cost this stage so far (checksums and fsyncs of every file it wrote or read).
        result.details["commit_seconds"] = round(durable.COST["seconds"] - cost["seconds"], 3)
        result.details["checksummed_mb"] = round((durable.COST["bytes"] - cost["bytes"]) / 1e6, 1)
        row = manifest_row(stage, key, preset, config, result, started, seconds)
        with lake.transaction():
            write_table(pa.Table.from_pylist([row], schema=schemas.MANIFEST), manifest)
    log.info(
        "%s: done in %.1f s, read %d rows, wrote %d rows; checksums and fsync took %.2f s",
        stage,
        seconds,
        result.rows_read,
        result.rows_written,
        durable.COST["seconds"] - cost["seconds"],
    )
    return result


def manifest_row(stage: str, key: str, preset: Preset, config, result: StageResult, started, seconds: float) -> dict:
    """The row that marks a finished stage run."""
    return {
        "stage": stage,
        "run_key": key,
        "preset": preset.name,
        "config_hash": config_hash(config),
        "model": config.common.model,
        "code_version": code_version(),
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "details": json.dumps(result.details, default=str),
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
    }
