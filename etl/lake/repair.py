"""`emolake verify --repair`: adopt an unrecorded lake, remove stray and damaged files (a damaged shard goes whole, at
every layer), forget the runs that made them, and re-run those stages so that they write the files again."""

from __future__ import annotations

import logging
import re

from etl.errors import EmolakeError
from etl.lake import Lake, clean_temporaries, commits, remove
from etl.lake.verify import Problem, check, data_files, stage_of

log = logging.getLogger("emolake")
ORDER = ("generate", "extract", "probes", "index", "evaluate", "steer")


def adopt(lake: Lake) -> int:
    """Records every file of a lake written before commit records existed, as it is now; returns how many."""
    root = commits.absolute(lake.root)
    clean = [p for p in data_files(root) if not p.name.startswith(".tmp-")]
    for tmp in set(data_files(root)) - set(clean):
        tmp.unlink()
    records: dict[str, dict] = {}
    for path in clean:
        rel = path.relative_to(root).as_posix()
        record = records.setdefault(commits.dataset_of(rel), {"dataset": commits.dataset_of(rel), "version": 1})
        record.setdefault("files", {})[rel] = commits.describe(path)
    with commits.locked(root, exclusive=True):
        for dataset, record in records.items():
            commits.write_json_durably(record, commits.records_dir(root) / f"{dataset}.json")
    return len(clean)


def repair(lake: Lake, preset: str | None) -> list[Problem]:
    """Mends what `check` finds; returns what is still wrong afterwards (empty when the lake is whole again)."""
    if not commits.has_records(lake.root):
        log.info("verify: adopted %d files of a lake without commit records", adopt(lake))
    clean_temporaries(lake.root)
    problems = check(lake)
    stray = [p for p in problems if p.what.startswith("not committed")]
    for problem in stray:
        (lake.root / problem.rel).unlink(missing_ok=True)
    damaged = [p for p in problems if p not in stray]
    stages = sorted({s for p in damaged if (s := stage_of(p.rel))}, key=ORDER.index)
    presets = {stage: preset or recorded_preset(lake, stage) for stage in stages}
    with lake.transaction():
        for rel in sorted(set().union(*[removal_set(lake, p.rel) for p in damaged])):
            remove(lake.root / rel)
        for stage in stages:
            for rel in lake.committed("manifest"):
                if rel.startswith(f"manifest/stage={stage}/"):
                    remove(lake.root / rel)
    for stage in stages:
        rerun(lake, stage, presets[stage])
    return check(lake)


def removal_set(lake: Lake, rel: str) -> set[str]:
    """What goes with a damaged file: a whole shard (index and arrays at every layer), an index with its sidecars."""
    dataset = commits.dataset_of(rel)
    if dataset in ("activations", "shards"):
        model = rel.split("/")[1]
        number = re.search(r"shard-(\d+)", rel).group(1)
        out = set()
        for name in ("activations", "shards"):
            out |= {r for r in lake.committed(name) if r.startswith(f"{name}/{model}/") and f"shard-{number}." in r}
        return out | {rel}
    if dataset == "index":
        stem = rel.rsplit(".", 1)[0]
        return {r for r in lake.committed("index") if r.rsplit(".", 1)[0] == stem} | {rel}
    return {rel}


def recorded_preset(lake: Lake, stage: str) -> str:
    """The preset of the stage's latest recorded run; if its manifest rows are the damage, the latest of any stage."""
    import pyarrow.parquet as pq

    rows: dict[bool, list[dict]] = {True: [], False: []}
    for rel in lake.committed("manifest"):
        try:
            found = pq.read_table(lake.root / rel, columns=["preset", "started_at"]).to_pylist()
        except Exception:  # a damaged manifest row names no preset; the others still do
            continue
        rows[rel.startswith(f"manifest/stage={stage}/")] += found
    chosen = rows[True] or rows[False]
    if not chosen:
        raise EmolakeError(f"no recorded run of `{stage}` names its preset: pass --preset to `emolake verify --repair`")
    return max(chosen, key=lambda r: r["started_at"])["preset"]


def rerun(lake: Lake, stage: str, preset_name: str) -> None:
    from etl import runner
    from etl.config import load_preset

    log.info("verify: re-running %s (preset %s) to rebuild what was damaged", stage, preset_name)
    runner.execute(stage, load_preset(preset_name, lake=lake.root))
