"""The one module that knows where things live in the lake, and how to write there safely.

Layout (hive-partitioned Parquet; partition values come from the path, never from inside the file):
    texts/source=S/corpus=C/part-KEY.parquet         every text, with provenance
    rejects/source=S/corpus=C/part-KEY.parquet       texts a quality filter refused, with the reason
    prompts/source=S/part-CORPUS-HASH.parquet        each writing template, stored once by corpus and hash
    activations/model=M/layer=L/shard-NNNNN.parquet     index rows (text, segment) pointing into the .npy shard
    shards/model=M/layer=L/shard-NNNNN.npy              float16 mean vectors, one row per text segment
    probes/model=M/source=S/kind=K/layer=L/part-0.parquet
    probe_centers/model=M/source=S/kind=K/layer=L/part-0.parquet
    evaluation_layers/model=M/source=S/part-0.parquet
    probe_map, evaluation_cosines, logit_lens, dose_curve, scenario_scores, deflection_vs_expression:
        NAME/model=M/source=S/part-0.parquet           further evaluation results (`make evaluate`)
    reports/M/report.html                               the evaluation report and its PNG/SVG plots
    index/model=M/source=S/kind=K/layer-L.faiss         nearest-emotion indexes (+ .json with ids)
    index/model=M/source=S/kind=K/stories-layer-L.faiss story-vector indexes (+ .parquet ids, .json fingerprint)
    scores/model=M/source=S/kind=K/layer=L/part-KEY-NNNNN.parquet   per-token probe scores (`emolake score`)
    manifest/stage=STAGE/run-KEY.parquet                one row per finished stage run
    residual_norms/model=M/corpus=C/part-0.parquet      mean residual norm per layer on neutral text (steering unit)
    validation_runs/model=M/source=S/run-ID.parquet      one row per probe set validated on a user's labelled file
    steering_runs/model=M/sweep=KEY/part-0.parquet      one row per steering setting, prompt and seed of a sweep
Writes go to a hidden temporary name that no `*.parquet` glob matches, then are renamed into place.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATASETS = (
    "texts",
    "rejects",
    "prompts",
    "activations",
    "probes",
    "probe_centers",
    "evaluation_layers",
    "probe_map",
    "evaluation_cosines",
    "logit_lens",
    "dose_curve",
    "scenario_scores",
    "deflection_vs_expression",
    "cross_domain",
    "lexical_baseline",
    "learning_curve",
    "probe_examples",
    "probe_histograms",
    "model_agreement",
    "validation_runs",
    "scores",
    "manifest",
    "residual_norms",
    "steering_runs",
)


class Lake:
    """Paths and atomic writes under one lake root."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def dataset(self, name: str) -> Path:
        return self.root / name

    def glob(self, name: str) -> str:
        """The Parquet glob of a dataset, as DuckDB and Polars read it."""
        return str(self.dataset(name) / "**" / "*.parquet")

    def has(self, name: str) -> bool:
        return any(self.dataset(name).rglob("*.parquet"))

    def partition(self, name: str, **keys: object) -> Path:
        """The directory of one partition, keys in the order given."""
        path = self.dataset(name)
        for key, value in keys.items():
            path = path / f"{key}={partition_value(value)}"
        return path

    # activations
    def shard_npy(self, model: str, layer: int, shard: int) -> Path:
        return self.partition("shards", model=model, layer=layer) / f"shard-{shard:05d}.npy"

    def shard_index(self, model: str, layer: int, shard: int) -> Path:
        return self.partition("activations", model=model, layer=layer) / f"shard-{shard:05d}.parquet"

    # indexes and reports
    def faiss_path(self, model: str, source: str, kind: str, layer: int) -> Path:
        return self.partition("index", model=model, source=source, kind=kind) / f"layer-{layer}.faiss"

    def story_index_path(self, model: str, source: str, kind: str, layer: int) -> Path:
        """The story-vector index of one probe set; `.parquet` beside it holds the story ids in row order."""
        return self.partition("index", model=model, source=source, kind=kind) / f"stories-layer-{layer}.faiss"

    def scores_path(self, model: str, source: str, kind: str, layer: int, key: str, chunk: int) -> Path:
        """One chunk of per-token scores of one scored input (`key` identifies the input)."""
        directory = self.partition("scores", model=model, source=source, kind=kind, layer=layer)
        return directory / f"part-{key}-{chunk:05d}.parquet"

    def evaluation_path(self, name: str, model: str, source: str) -> Path:
        """One evaluation result file per (dataset, model, source), e.g. `probe_map` or `dose_curve`."""
        return self.partition(name, model=model, source=source) / "part-0.parquet"

    def report_dir(self, model: str) -> Path:
        return self.dataset("reports") / partition_value(model)

    # steering
    def residual_norms_path(self, model: str, corpus: str) -> Path:
        return self.partition("residual_norms", model=model, corpus=corpus) / "part-0.parquet"

    def steering_runs_path(self, model: str, sweep: str) -> Path:
        return self.partition("steering_runs", model=model, sweep=sweep) / "part-0.parquet"

    def manifest_path(self, stage: str, run_key: str) -> Path:
        return self.partition("manifest", stage=stage) / f"run-{run_key}.parquet"


def partition_value(value: object) -> str:
    """A partition value that is safe in a path: `org/name:tag` becomes `org--name--tag`."""
    text = str(value)
    safe = re.sub(r"[/:\\\s=]+", "--", text)
    return safe.strip("-") or "none"


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yields a hidden temporary path beside `final`; renames it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{uuid.uuid4().hex}-{final.name}.partial"
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(table: pa.Table, final: Path) -> Path:
    """Writes a Parquet file atomically (temp file + rename): readers see the old file or the new one."""
    with atomic_path(final) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return final


def write_json(payload: dict, final: Path) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return final


def clean_temporaries(root: Path) -> int:
    """Removes temporaries left by a killed writer; returns how many were removed."""
    removed = 0
    for tmp in Path(root).rglob(".tmp-*.partial"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed
