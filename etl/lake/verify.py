"""`emolake verify`: every committed file against its record, shards against their index, indexes against their
probes, and files no record lists; `repair` removes what is damaged or stray and re-runs the stages that rebuild it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from etl.lake import Lake, commits

log = logging.getLogger("emolake")

STAGE_OF = {
    "texts": "generate",
    "rejects": "generate",
    "prompts": "generate",
    "imports": "generate",
    "activations": "extract",
    "shards": "extract",
    "probes": "probes",
    "probe_centers": "probes",
    "index": "index",
    "residual_norms": "steer",
    "steering_runs": "steer",
}
"""The stage that rebuilds each dataset; evaluation tables and reports are rebuilt by `evaluate`."""
USER_INPUT = {"scores": "emolake score --input FILE", "validation_runs": "emolake validate --input FILE"}
"""Datasets made from a user's own file: a damaged file is removed and named, and its command must be run again."""


@dataclass(frozen=True)
class Problem:
    rel: str
    """The file, relative to the lake root."""
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.rel}: {self.what}; {self.fix}"


def stage_of(rel: str) -> str | None:
    """The stage that writes a file again (for a manifest row, the stage it marks); None for a user's input."""
    dataset = commits.dataset_of(rel)
    if dataset in USER_INPUT:
        return None
    if dataset == "manifest":
        return rel.split("/")[1].removeprefix("stage=")
    return STAGE_OF.get(dataset, "evaluate")


def fix_for(rel: str) -> str:
    dataset = commits.dataset_of(rel)
    if dataset in USER_INPUT:
        return f"`emolake verify --repair` removes it; run `{USER_INPUT[dataset]}` again"
    if dataset == "manifest":
        return f"rebuilt by `emolake run {stage_of(rel)}` (`emolake verify --repair` does it)"
    return f"rebuilt by `emolake run {stage_of(rel)}` (`emolake verify --repair` does it)"


def check(lake: Lake) -> list[Problem]:
    """Every problem of the lake, one per file (nothing is changed, except that an interrupted commit is finished)."""
    root = commits.absolute(lake.root)
    if not root.is_dir():
        return []
    if not commits.has_records(root):
        stray = data_files(root)
        fix = "`emolake verify --repair` adopts them (records their current checksums)"
        return [Problem(str(p.relative_to(root)), "not in any commit record (an older lake)", fix) for p in stray]
    records = commits.snapshot(root)
    problems = []
    listed = set()
    for record in records.values():
        for rel, entry in sorted(record.get("files", {}).items()):
            listed.add(rel)
            what = commits.check_file(root, rel, entry)
            if what:
                problems.append(Problem(rel, what, fix_for(rel)))
    damaged = {p.rel for p in problems}
    problems += shard_problems(lake, records, damaged)
    problems += index_problems(lake, records, damaged)
    for path in data_files(root):
        rel = path.relative_to(root).as_posix()
        if rel not in listed:
            problems.append(
                Problem(rel, "not committed (a leftover no reader sees)", "`emolake verify --repair` removes it")
            )
    return problems


def data_files(root: Path) -> list[Path]:
    """Every file in the lake's directories except the commit records themselves. Files at the root (the lake's
    README, a user's notes) are not lake data: every dataset lives in a directory of its own."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and len(p.relative_to(root).parts) > 1 and p.relative_to(root).parts[0] != commits.RECORDS
    )


def shard_problems(lake: Lake, records: dict, damaged: set[str]) -> list[Problem]:
    """Index rows pointing past the end of their `.npy` shard (or at a shard that is not committed)."""
    import numpy as np
    import pyarrow.parquet as pq

    shards = records.get("shards", {}).get("files", {})
    problems = []
    for rel in sorted(records.get("activations", {}).get("files", {})):
        if rel in damaged:
            continue
        table = pq.read_table(lake.root / rel, columns=["npy_path", "row"])
        for npy, rows in group_rows(table).items():
            if npy not in shards:
                problems.append(Problem(rel, f"points at {npy}, which is not committed", fix_for(rel)))
            elif npy not in damaged:
                array = np.load(lake.root / npy, mmap_mode="r")
                if array.ndim != 2 or max(rows) >= array.shape[0]:
                    what = f"points at row {max(rows)} of {npy}, shaped {array.shape}"
                    problems.append(Problem(rel, what, fix_for(rel)))
    return problems


def group_rows(table) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for npy, row in zip(table.column("npy_path").to_pylist(), table.column("row").to_pylist(), strict=True):
        out.setdefault(npy, []).append(row)
    return out


def index_problems(lake: Lake, records: dict, damaged: set[str]) -> list[Problem]:
    """Probe indexes whose recorded fingerprint differs from the probes the lake holds now."""
    from etl.lake.probes import read
    from etl.probes.search import fingerprint

    problems = []
    sidecars = [r for r in records.get("index", {}).get("files", {}) if r.endswith(".json") and "/layer-" in r]
    if not sidecars or any(commits.dataset_of(r) in ("probes", "probe_centers") for r in damaged):
        return problems
    for rel in sorted(sidecars):
        if rel in damaged:
            continue
        meta = json.loads((lake.root / rel).read_text())
        model = rel.split("/")[1].removeprefix("model=")
        found = read(lake, model, meta["source"], [meta["kind"]], [meta["layer"]])
        stored = next(iter(found.values()), None)
        if stored is None or fingerprint(stored.emotions, stored.vectors) != meta.get("fingerprint"):
            problems.append(Problem(rel, "built from other probes than the lake holds", fix_for(rel)))
    return problems
