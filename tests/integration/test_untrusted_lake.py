"""A lake someone sent you is data, never instructions: a planted `../`, absolute or symlinked path in any kind of
record (a table's log, a shard row, an index row, a lease or quarantine directory, a table directory) makes no
command read, write, move or delete anything outside the lake, and no command ends in a traceback.

Every command a user would try runs on each planted lake: verify, verify --repair, sql, summary, history, vacuum,
run all, and nothing beside the lake changes (bytes and modification times)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl.cli import BUG
from etl.lake import Lake

pytestmark = pytest.mark.integration

COMMANDS = (
    ("verify",),
    ("verify", "--repair", "--preset", "tiny"),
    ("sql", "select count(*) from texts"),
    ("sql", "select count(*) from activations"),
    ("summary",),
    ("history",),
    ("vacuum", "--retention-hours", "0"),
    ("run", "all", "--preset", "tiny"),
)


def outside_state(top: Path, lake: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under `top` but not in the lake: its bytes and modification time (symlinks are not followed)."""
    out = {}
    for path in top.rglob("*"):
        if path.is_file() and not path.is_relative_to(lake):
            out[path.relative_to(top).as_posix()] = (path.stat().st_mtime_ns, path.stat().st_size, path.read_bytes())
    return out


def add_log_version(lake: Path, dataset: str, action: dict) -> None:
    """Appends one version to a table's log holding a single action, as a tampered lake would."""
    log = lake / dataset / "_delta_log"
    last = max(int(p.stem) for p in log.glob("*.json"))
    commit = {"commitInfo": {"timestamp": int(time.time() * 1000), "operation": "WRITE"}}
    (log / f"{last + 1:020d}.json").write_text(json.dumps(commit) + "\n" + json.dumps(action) + "\n")


def file_action(kind: str, path: str, size: int) -> dict:
    body = {"path": path, "dataChange": True}
    if kind == "add":
        body |= {"partitionValues": {}, "size": size, "modificationTime": 0, "stats": json.dumps({"numRecords": 1})}
    else:
        body |= {"deletionTimestamp": 0, "extendedFileMetadata": False}
    return {kind: body}


def plant(how: str, lake: Path, outside: Path) -> None:
    victim = outside / "victim.parquet"
    if how == "log-add-relative":
        add_log_version(lake, "texts", file_action("add", "../../outside/victim.parquet", victim.stat().st_size))
    elif how == "log-add-absolute":
        add_log_version(lake, "texts", file_action("add", victim.as_uri(), victim.stat().st_size))
    elif how == "log-remove":
        add_log_version(lake, "prompts", file_action("remove", "../../outside/victim.parquet", 0))
    elif how == "table-symlink":
        shutil.move(lake / "rejects", outside / "rejects")
        (lake / "rejects").symlink_to(outside / "rejects")
    elif how == "shard-row":
        first = Lake(lake).files("activations")[0]
        row = pq.read_table(first).slice(0, 1).to_pylist()[0]
        row["npy_path"] = "../outside/victim.npy"
        Lake(lake).write("activations", [row], mode="append", **parts_of(lake, first))
    elif how == "index-row":
        row = {"name": "index/model=x/evil.faiss", "path": "../outside/victim.txt", "bytes": 6, "sha256": "0" * 64}
        Lake(lake).write("files", [row | {"created_at": "t"}], mode="append", area="index")
    elif how == "leases-symlink":
        shutil.rmtree(lake / "_emolake", ignore_errors=True)
        (outside / "state").mkdir()
        (outside / "state" / "leases").mkdir()
        (outside / "state" / "leases" / "mine.lock").write_text("a lock of another program")
        (lake / "_emolake").symlink_to(outside / "state")
    elif how == "quarantine-symlink":
        (outside / "quarantine").mkdir()
        (lake / "_quarantine").symlink_to(outside / "quarantine")
        stray = next((lake / "texts").rglob("*.parquet"))
        shutil.copy(stray, stray.with_name("part-00000-0123abcd-0123-4567-89ab-0123456789ab-c000.snappy.parquet"))
    else:
        raise ValueError(how)


def parts_of(lake: Path, path: str) -> dict:
    """Partition values from a data file's hive path."""
    return {
        k: int(v) if k == "layer" else v
        for k, _, v in (p.partition("=") for p in Path(path).relative_to(lake).parts if "=" in p)
    }


PLANTS = (
    "log-add-relative",
    "log-add-absolute",
    "log-remove",
    "table-symlink",
    "shard-row",
    "index-row",
    "leases-symlink",
    "quarantine-symlink",
)


@pytest.mark.parametrize("how", PLANTS)
def test_a_planted_path_touches_nothing_outside_the_lake(cli, tiny_lake_copy, how):
    lake = tiny_lake_copy
    top = lake.parent
    outside = top / "outside"
    outside.mkdir()
    shutil.copy(next((lake / "texts").rglob("*.parquet")), outside / "victim.parquet")
    (outside / "victim.npy").write_bytes(b"\x93NUMPY not really")
    (outside / "victim.txt").write_text("mine\n")
    (top / "beside.txt").write_text("beside the lake\n")
    plant(how, lake, outside)
    before = outside_state(top, lake)
    for command in COMMANDS:
        code, _, err = cli("-q", "--lake", lake, *command)
        assert code != BUG and "Traceback" not in err, (command, err)
        assert outside_state(top, lake) == before, command
    code, out, _ = cli("--lake", lake, "verify")
    if how in ("table-symlink", "leases-symlink", "quarantine-symlink"):
        assert code == 1 and "outside the lake" in out + _  # named, and left for the user
    else:
        assert code == 0, out  # the planted record was rolled back or dropped, and the lake rebuilt


def test_repair_refuses_beside_a_live_writer_and_changes_nothing(cli, tiny_lake_copy):
    from cli_checks import snapshot

    from etl.lake import leases

    stray = next((tiny_lake_copy / "texts").rglob("*.parquet"))
    shutil.copy(stray, stray.with_name("part-00000-0123abcd-0123-4567-89ab-0123456789ab-c000.snappy.parquet"))
    before = snapshot(tiny_lake_copy)
    with leases.held(tiny_lake_copy):  # this process is the writer
        code, _, err = cli("--lake", tiny_lake_copy, "verify", "--repair", "--preset", "tiny")
        assert code == 1 and f"process {os.getpid()}" in err
        code, _, err = cli("--lake", tiny_lake_copy, "vacuum", "--retention-hours", "0")
        assert code == 1 and "a writer is running" in err
    after = snapshot(tiny_lake_copy)
    assert {k: v for k, v in after.items() if "_emolake" not in k} == {
        k: v for k, v in before.items() if "_emolake" not in k
    }


def test_user_files_inside_the_lake_survive_repair(cli, tiny_lake_copy):
    lake = tiny_lake_copy
    (lake / "notes").mkdir()
    (lake / "notes" / "n.txt").write_text("my notes\n")
    (lake / "texts" / "README.md").write_text("what these texts are\n")
    (lake / ".git").mkdir()
    (lake / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    stray = next((lake / "probes").rglob("*.parquet"))
    shutil.copy(stray, stray.with_name("part-00000-0123abcd-0123-4567-89ab-0123456789ab-c000.snappy.parquet"))
    code, out, err = cli("--lake", lake, "verify", "--repair", "--preset", "tiny")
    assert code == 0, out + err
    assert (lake / "notes" / "n.txt").read_text() == "my notes\n"
    assert (lake / "texts" / "README.md").exists() and (lake / ".git" / "HEAD").exists()
    assert list((lake / "_quarantine").rglob("part-00000-0123abcd-*"))  # the stray was moved, not deleted
    assert cli("--lake", lake, "verify")[0] == 0
