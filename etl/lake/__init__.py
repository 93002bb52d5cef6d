"""The one module that knows where things live in the lake, and how to write there safely.

Layout (hive-partitioned Parquet; partition values come from the path, never from inside the file):
    texts/source=S/corpus=C/part-KEY.parquet         every text, with provenance
    rejects/source=S/corpus=C/part-KEY.parquet       texts a quality filter refused, with the reason
    prompts/source=S/part-CORPUS-HASH.parquet        each writing template, stored once by corpus and hash
    imports/source=S/part-KEY.parquet                one row per imported input file: dataset, revision, licence
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
Writes go to a hidden temporary name, are staged in a transaction and become visible when it commits: readers list
files from the commit records (`_commits/`, see `etl.lake.commits`), never by globbing.
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

from etl.errors import EmolakeError
from etl.lake import commits, durable

DATASETS = (
    "texts",
    "rejects",
    "prompts",
    "imports",
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
KNOWN_DIRS = frozenset(DATASETS) | {"shards", "index", "reports"}
"""Top-level directories of a lake (datasets and the files beside them): what `lake_root_of` recognises."""


class Lake:
    """Paths and atomic writes under one lake root."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def dataset(self, name: str) -> Path:
        return self.root / name

    def glob(self, name: str) -> str:
        """Every Parquet file under a dataset, committed or not: for tests and debugging (readers use `files`)."""
        return str(self.dataset(name) / "**" / "*.parquet")

    def transaction(self):
        """A block whose lake writes become visible together when it ends (see `etl.lake.commits`)."""
        return commits.transaction(self.root)

    def committed(self, name: str) -> dict[str, dict]:
        """{relative path: record entry} of a dataset's files as this process sees them: the committed ones, plus the
        writes and less the removals of its own open transaction (a stage reads what it wrote before it commits)."""
        if not commits.has_records(self.root):
            if self.dataset(name).is_dir() and any(self.dataset(name).rglob("*.parquet")):
                raise EmolakeError(
                    f"the lake at {self.root} has no commit records (an older emolake wrote it): "
                    "run `emolake verify --repair` once to adopt its files"
                )
            entries = {}
        else:
            entries = commits.snapshot(self.root, [name]).get(name, {}).get("files", {})
        tx = commits.current(self.root / name)
        return entries if tx is None else tx.overlay(name, entries)

    def files(self, name: str, under: Path | None = None, suffix: str = ".parquet") -> list[str]:
        """Absolute paths of a dataset's committed files (under a partition directory, if given), each checked
        against its recorded size and checksum; raises naming the first damaged one."""
        prefix = "" if under is None else self.rel(under).rstrip("/") + "/"
        entries = self.committed(name)
        chosen = sorted(r for r in entries if r.endswith(suffix) and r.startswith(prefix))
        return [str(self.verified(self.root / r, entries[r])) for r in chosen]

    def has(self, name: str, under: Path | None = None) -> bool:
        """Whether a dataset (or one partition of it) has committed Parquet files."""
        prefix = "" if under is None else self.rel(under).rstrip("/") + "/"
        return any(r.endswith(".parquet") and r.startswith(prefix) for r in self.committed(name))

    def verified(self, path: Path, entry: dict | None = None) -> Path:
        """The path to read a committed file from, after checking its size and checksum against `entry` (its record
        entry; read from the records when not given); raises naming it when damaged. A file staged by this process's
        open transaction is read from its temporary."""
        rel = self.rel(path)
        tx = commits.current(path)
        if tx is not None and rel in tx.writes:
            return tx.writes[rel][0]
        return commits.verified(self.root, rel, entry)

    def exists(self, path: Path) -> bool:
        """Whether a file is committed (present in its dataset's record, or staged by this process)."""
        rel = self.rel(path)
        return rel in self.committed(commits.dataset_of(rel))

    def rel(self, path: Path) -> str:
        return commits.absolute(path).relative_to(commits.absolute(self.root)).as_posix()

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
    """Yields a hidden temporary path beside `final`. When the block succeeds, the file is fsynced and staged in the
    open transaction of the lake holding `final` (visible at its commit); a lake file written outside a transaction
    commits alone; any other file is renamed into place at once."""
    tx = commits.current(final)
    root = None if tx is not None else lake_root_of(final)
    if root is not None:
        with commits.transaction(root), atomic_path(final) as tmp:
            yield tmp
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{tx.id if tx else uuid.uuid4().hex}-{uuid.uuid4().hex[:8]}-{final.name}.partial"
    try:
        yield tmp
        if tx is not None:
            tx.stage(tmp, final)
            return
        durable.fsync_file(tmp)
        os.replace(tmp, final)
        durable.fsync_dir(final.parent)
    finally:
        if tx is None and tmp.exists():
            tmp.unlink()


def lake_root_of(path: Path) -> Path | None:
    """The lake that holds `path` by its layout (DATASET/key=value/... under a root, or a root with commit records),
    or None for a file outside any lake (e.g. a user's output file)."""
    path = commits.absolute(path)
    for ancestor in path.parents:
        if ancestor.name not in KNOWN_DIRS:
            continue
        inner = path.relative_to(ancestor).parts
        if commits.has_records(ancestor.parent) or (len(inner) >= 2 and "=" in inner[0]):
            return ancestor.parent
    return None


def write_table(table: pa.Table, final: Path) -> Path:
    """Writes a Parquet file atomically (temp file + rename): readers see the old file or the new one."""
    with atomic_path(final) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return final


def write_json(payload: dict, final: Path) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return final


def remove(final: Path) -> None:
    """Removes a lake file at the commit of the open transaction that owns it (or of its own); any other at once."""
    tx = commits.current(final)
    root = None if tx is not None else lake_root_of(final)
    if tx is None and root is not None:
        with commits.transaction(root) as own:
            own.remove(final)
    elif tx is not None:
        tx.remove(final)
    else:
        final.unlink(missing_ok=True)


def clean_temporaries(root: Path) -> int:
    """Removes temporaries left by killed writers (never those of a live transaction); returns how many."""
    if not commits.has_records(root):
        return sum(1 for tmp in Path(root).rglob(".tmp-*.partial") if tmp.unlink() is None)
    commits.recover(root)
    removed = 0
    with commits.locked(root, exclusive=True):
        live = commits.live_transactions(root)
        for tmp in Path(root).rglob(".tmp-*.partial"):
            if tmp.name.split("-")[1] not in live:
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed
