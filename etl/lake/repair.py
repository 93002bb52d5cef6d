"""`emolake verify --repair`: mends what `verify.check` finds, and only that, without deleting anything.

- A table whose log is unreadable (or names a path outside the lake) rolls back to its last good version: the log
  entries after it move to `_quarantine/`.
- A damaged data file: the table is restored (a new Delta commit) to the version before the file appeared.
- A damaged shard or index/report file: the rows that name it are removed in one commit.
- Files the lake wrote that no version names (a killed writer's) move to `_quarantine/`.
Every moved file is listed in `_quarantine/<time>/MANIFEST.json`. Then the stages that wrote the damaged data run
again (with every later stage of the pipeline), so the lake is whole. The plan is written to `_emolake/repair.json`
first and removed last: a killed repair is finished by the next one (and `verify` names it meanwhile). Repair beside
a live writer refuses (`leases`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from etl.config.base import PIPELINE
from etl.errors import EmolakeError
from etl.lake import Lake, delta, leases, logs, safety
from etl.lake.verify import QUARANTINE, STATE, Problem, check, stage_of

log = logging.getLogger("emolake")
Rebuild = Callable[[str, str, bool], None]
"""Runs one stage again: (stage, preset name, force)."""
ROUNDS = 4


def repair(lake: Lake, preset: str | None, rebuild: Rebuild) -> list[Problem]:
    """Mends the lake; returns what is still wrong afterwards (empty when it is whole again). `rebuild` runs a
    stage again; the caller passes it in (`emolake verify` passes the runner's), as the lake sits below the runner."""
    leases.refuse_if_writing(lake.root)
    plan_path = lake.root / STATE / "repair.json"
    plan = json.loads(plan_path.read_text()) if plan_path.exists() else {"stages": [], "preset": preset}
    moved: list[dict] = []
    stages = set(plan["stages"])
    forced = set(plan.get("forced", plan["stages"]))
    # Mending one problem can uncover another (a table rolled back names a shard that is also gone): check again
    # until nothing new turns up.
    mended: set[str] = set()
    for _ in range(ROUNDS):
        problems = [p for p in check(lake) if p.kind != "repair" and p.rel not in mended]
        for problem in problems:
            mended.add(problem.rel)
            stage = mend(lake, problem, moved)
            if stage:
                stages.add(stage)
                forced.add(stage)
        if not problems:
            break
    if moved:
        write_manifest(lake, moved)
    if "generate" in stages and lake.table("steering_runs") is not None:
        stages.add("steer")  # everything is rebuilt: the sweep too, when the lake had one
    order = rerun_order(stages)
    plan = {"stages": order, "forced": sorted(forced & set(order)), "preset": plan.get("preset") or preset}
    if order:
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        plan_path.write_text(json.dumps(plan))
        for stage in order:
            # A damaged stage runs again whatever the manifest says; a later one only if its key changed (its
            # inputs were rebuilt differently, or its manifest row was lost), like any `run all`.
            preset_name = plan["preset"] or recorded_preset(lake, stage)
            log.info("verify: re-running %s (preset %s) to rebuild what was damaged", stage, preset_name)
            rebuild(stage, preset_name, stage in forced)
    plan_path.unlink(missing_ok=True)
    return check(lake)


def mend(lake: Lake, problem: Problem, moved: list[dict]) -> str | None:
    """Mends one problem; returns the stage to run again (None when nothing needs rebuilding)."""
    if problem.kind == "outside":
        return None  # a symlink the user made: theirs to remove
    if problem.kind == "stray":
        quarantine(lake, problem.rel, "not committed", moved)
        return None
    if problem.kind == "log":
        roll_back(lake, problem.dataset, moved)
    elif problem.kind == "file":
        restore_before(lake, problem.dataset, problem.rel)
        quarantine(lake, problem.rel, problem.what, moved)
    elif problem.kind == "shard":
        lake.delete("activations", {"npy_path": problem.rel})
        quarantine(lake, problem.rel, problem.what, moved)
        return "extract"
    elif problem.kind == "blob":
        name = problem.what.rsplit("(holds ", 1)[-1].rstrip(")")
        lake.delete("files", {"area": problem.dataset, "name": name})
        quarantine(lake, problem.rel, problem.what, moved)
    return stage_of(problem.dataset)


def roll_back(lake: Lake, dataset: str, moved: list[dict]) -> None:
    """Moves the log entries from the first that cannot be parsed or names an outside path, and any after the
    last version that still loads, to the quarantine."""
    from etl.lake.verify import version_paths

    folder = logs.table_dir(lake.root, dataset) / "_delta_log"
    entries_found = sorted(folder.glob("*.json"))
    versions = sorted(int(p.name.split(".")[0]) for p in entries_found if p.name.split(".")[0].isdigit())
    for checkpoint in folder.glob("*checkpoint*"):
        quarantine(lake, checkpoint.relative_to(lake.root).as_posix(), "checkpoint of a damaged log", moved)
    entries = {v: logs.log_text(lake.root, dataset, f"{v:020d}.json") for v in versions}
    planted = [v for v in versions if not all(safe(lake, dataset, p) for p in version_paths(entries[v]))]
    good = None
    for version in reversed([v for v in versions if not planted or v < planted[0]]):
        try:
            delta.data_files(lake.root, dataset, delta.open_table(lake.root, dataset, version))
            good = version
            break
        except EmolakeError:
            continue
    for path in entries_found:
        number = path.name.split(".")[0]
        if not number.isdigit() or good is None or int(number) > good:
            quarantine(lake, path.relative_to(lake.root).as_posix(), "after the last good version", moved)
    log.info("repair: %s rolled back to version %s", dataset, good)


def safe(lake: Lake, dataset: str, logged: str) -> bool:
    try:
        safety.inside(lake.root, dataset, logged)
    except EmolakeError:
        return False
    return True


def restore_before(lake: Lake, dataset: str, rel: str) -> None:
    """Restores a table to the version before the one that added `rel` (a new commit; history is kept)."""
    table = delta.open_table(lake.root, dataset)
    added = None
    for entry in sorted(table.history(), key=lambda e: e["version"]):
        files = delta.data_files(lake.root, dataset, delta.open_table(lake.root, dataset, entry["version"]))
        if any(f.rel == rel for f in files):
            added = entry["version"]
            break
    if added is None:
        return
    if added == 0:
        lake.delete(dataset, {})
    else:
        table.restore(added - 1)
    log.info("repair: %s restored to version %s (before %s appeared)", dataset, max(added - 1, 0), rel)


def quarantine(lake: Lake, rel: str, why: str, moved: list[dict]) -> None:
    """Moves one lake-written file into `_quarantine/<time>/` (same relative path), never deleting it; a path
    leading outside the lake is never touched."""
    try:
        source = safety.contained(lake.root, rel)
        safety.contained(lake.root, QUARANTINE)
    except safety.OutsideError:
        log.warning("repair: left %s alone (outside the lake)", rel)
        return
    stamp = moved[0]["batch"] if moved else datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = lake.root / QUARANTINE / stamp / rel
    if not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    moved.append({"batch": stamp, "file": rel, "why": why})


def write_manifest(lake: Lake, moved: list[dict]) -> None:
    path = lake.root / QUARANTINE / moved[0]["batch"] / "MANIFEST.json"
    earlier = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(earlier + [{"file": m["file"], "why": m["why"]} for m in moved], indent=1))


def rerun_order(stages: set[str]) -> list[str]:
    """The damaged stages and every later stage of the pipeline, in order (steer only if it was damaged)."""
    if not stages:
        return []

    first = min((PIPELINE.index(s) for s in stages if s in PIPELINE), default=len(PIPELINE))
    return list(PIPELINE[first:]) + (["steer"] if "steer" in stages else [])


def recorded_preset(lake: Lake, stage: str) -> str:
    """The preset of the stage's latest recorded run; else the latest of any stage."""
    import duckdb

    found = lake.files("manifest")
    if not found:
        raise EmolakeError(f"no recorded run of `{stage}` names its preset: pass --preset to `emolake verify --repair`")
    query = "select preset from read_parquet(?, hive_partitioning = true) order by (stage = ?) desc, started_at desc"
    return duckdb.connect().execute(query, [found, stage]).fetchone()[0]
