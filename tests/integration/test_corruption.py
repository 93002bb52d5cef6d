"""Damage: a file of every kind the lake holds is truncated, bit-flipped or deleted, and the newest log entry of every
table is damaged. `emolake verify` names each damaged file and exits 1; readers refuse the damaged data instead of
returning numbers from it; and `emolake verify --repair` rolls back or removes what is damaged and rebuilds it,
leaving a lake equal to the undamaged one, with nothing deleted (what it moved is in `_quarantine/`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl.config import CORPORA
from etl.errors import EmolakeError
from etl.lake import DATASETS, Lake, files, vectors, views
from etl.lake.verify import shard_rows
from tests.lake_state import differences, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

KINDS = {
    "texts": "texts/",
    "prompts": "prompts/",
    "activations": "activations/",
    "shards": "shards/",
    "probes": "probes/",
    "probe_centers": "probe_centers/",
    "faiss": "index/",
    "evaluation": "evaluation_layers/",
    "probe_map": "probe_map/",
    "manifest": "manifest/stage=probes/",
    "residual_norms": "residual_norms/",
    "steering_runs": "steering_runs/",
    "report": "reports/",
}
"""A kind of file -> the prefix of the file damaged (the first committed one under it, `.faiss` for indexes)."""
DAMAGES = ("truncate", "flip", "delete")


def committed(root: Path) -> list[str]:
    """Every file the lake's newest versions name: table data files, shards, index and report files."""
    lake = Lake(root)
    out = [f.rel for name in DATASETS for f in lake.data_files(name)]
    out += list(shard_rows(lake))
    out += [row["path"] for area in ("index", "reports") for row in files.entries(lake, area).values()]
    return sorted(out)


def victim(root: Path, prefix: str) -> str:
    """The first committed file under `prefix` (for indexes, the first FAISS file)."""
    found = [r for r in committed(root) if r.startswith(prefix)]
    if prefix == "index/":
        found = [r for r in found if r.endswith(".faiss")]
    assert found, f"the tiny lake has no file under {prefix}"
    return found[0]


def newest_log(root: Path, dataset: str) -> str:
    return sorted((root / dataset / "_delta_log").glob("*.json"))[-1].relative_to(root).as_posix()


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x10
        path.write_bytes(bytes(flipped))
    else:
        path.unlink()


@pytest.fixture(scope="module")
def clean(tiny_lake):
    return state(tiny_lake)


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_verify_names_the_damaged_file(cli, tiny_lake_copy, kind, how):
    rel = victim(tiny_lake_copy, KINDS[kind])
    damage(tiny_lake_copy / rel, how)
    code, out, err = cli("--lake", tiny_lake_copy, "verify")
    assert code == 1, out + err
    named = [line for line in out.splitlines() if line.startswith(rel + ":")]
    assert named, f"{rel} is not named in:\n{out}"
    assert "missing" in named[0] if how == "delete" else ("truncated" in named[0] or "altered" in named[0])
    assert "emolake" in named[0]  # the command that mends it


@pytest.mark.parametrize("how", DAMAGES)
def test_readers_refuse_damaged_data(tiny_lake, tiny_lake_copy, how):
    """Each reader that meets a damaged file raises naming it: the views, the vectors behind probes and the index
    (one damaged file at a time, the previous one restored)."""
    from etl.probes.scoring import open_scorer

    lake = Lake(tiny_lake_copy)
    readers = [
        ("texts/", lambda: views.connect(lake)),
        ("probes/", lambda: views.connect(lake)),
        ("shards/", lambda: vectors.load(lake, "tiny-random", 0, list(CORPORA))),
        ("index/", lambda: open_scorer(lake, "tiny-random", "reference", "expression", 0)),
    ]
    for prefix, read in readers:
        rel = victim(tiny_lake_copy, prefix)
        damage(tiny_lake_copy / rel, how)
        with pytest.raises(EmolakeError, match=rel):
            read()
        shutil.copy2(tiny_lake / rel, tiny_lake_copy / rel)


@pytest.mark.parametrize("how", DAMAGES)
def test_repair_rebuilds_every_kind_at_once_into_an_equal_lake(cli, tmp_path, tiny_lake, clean, how):
    lake = tmp_path / "lake"
    shutil.copytree(tiny_lake, lake)
    damaged = [victim(lake, prefix) for prefix in KINDS.values()]
    # a shard is checked against the rows that name it: damage one that the damaged activations file does not name
    named = set(pq.read_table(lake / victim(lake, KINDS["activations"]), columns=["npy_path"]).column(0).to_pylist())
    shard = next(r for r in committed(lake) if r.startswith(KINDS["shards"]) and r not in named)
    damaged[list(KINDS).index("shards")] = shard
    for rel in damaged:
        damage(lake / rel, how)
    stray = lake / "probes" / "source=reference" / "part-00000-00000000-0000-0000-0000-000000000000-c000.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"not committed")
    code, out, err = cli("--lake", lake, "verify", "--repair")
    assert code == 0, out + err
    assert all(any(line.startswith(rel + ":") for line in out.splitlines()) for rel in damaged), out
    assert not stray.exists()
    moved = list((lake / "_quarantine").rglob(stray.name))
    assert len(moved) == 1 and moved[0].read_bytes() == b"not committed"  # moved aside, not deleted
    code, out, err = cli("--lake", lake, "verify")
    assert code == 0 and out.startswith("ok:"), out + err
    assert differences(state(lake), clean) == []


@pytest.mark.parametrize("dataset", ["texts", "activations", "probes", "evaluation_layers", "files", "manifest"])
def test_a_damaged_log_is_named_rolled_back_and_rebuilt(cli, tmp_path, tiny_lake, clean, dataset):
    lake = tmp_path / "lake"
    shutil.copytree(tiny_lake, lake)
    rel = newest_log(lake, dataset)
    (lake / rel).write_text((lake / rel).read_text()[:40])
    code, out, err = cli("--lake", lake, "verify")
    assert code == 1 and f"{dataset}/_delta_log: unreadable" in out, out + err
    view = DATASETS[dataset].view
    read = ("nearest", "I finally won.") if dataset == "files" else ("sql", f"select count(*) from {view}")
    code, out, err = cli("--lake", lake, *read)
    assert code == 1 and "verify --repair" in err  # a reader names the damage, never reads past it
    code, out, err = cli("--lake", lake, "verify", "--repair")
    assert code == 0, out + err
    assert (lake / "_quarantine").is_dir()
    assert differences(state(lake), clean) == []


def test_files_at_the_lake_root_are_not_lake_data(cli, tiny_lake_copy):
    """The repository ships `lake/README.md`: verify must not call it a leftover, nor repair delete it."""
    readme = tiny_lake_copy / "README.md"
    readme.write_text("what this lake holds\n")
    code, out, err = cli("--lake", tiny_lake_copy, "verify")
    assert code == 0 and out.startswith("ok:"), out + err
    code, out, err = cli("--lake", tiny_lake_copy, "verify", "--repair")
    assert code == 0, out + err
    assert readme.read_text() == "what this lake holds\n"


REPAIR_KILLS = 3
"""Kill points spread over a repair's write boundaries."""


def repair_process(lake: Path, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(lake), "verify", "--repair", "--preset", "tiny"]
    full = {**os.environ, **env}  # threads as the tiny lake was built with: the same float sums, the same ties
    return subprocess.run(command, cwd=ROOT, env=full, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, tiny_lake):
    """A lake with a probes file deleted (repair rolls it back and rebuilds probes and every stage after), and the
    write boundaries of a repair that runs to the end."""
    base = tmp_path_factory.mktemp("repair-kills")
    lake = base / "damaged"
    shutil.copytree(tiny_lake, lake)
    (lake / victim(lake, "probes/")).unlink()
    counted = base / "boundaries"
    whole = base / "whole"
    shutil.copytree(lake, whole)
    done = repair_process(whole, {"EMOLAKE_CRASH_COUNT": str(counted)})
    assert done.returncode == 0, done.stderr[-2000:]
    return lake, len(counted.read_text().splitlines())


@pytest.mark.parametrize("which", range(REPAIR_KILLS))
def test_a_killed_repair_is_finished_by_the_next(cli, tmp_path, damaged, clean, which):
    source, n = damaged
    point = 1 + round(which * (n - 1) / (REPAIR_KILLS - 1))
    lake = tmp_path / "lake"
    shutil.copytree(source, lake)
    killed = repair_process(lake, {"EMOLAKE_CRASH_AT": str(point)})
    assert killed.returncode == -signal.SIGKILL, f"not killed at boundary {point} of {n}: {killed.stderr[-1500:]}"
    code, out, _ = cli("--lake", lake, "verify")
    assert code == 1, "a lake a killed repair left must not verify as ok"
    resumed = repair_process(lake, {})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    code, out, err = cli("--lake", lake, "verify")
    assert code == 0 and out.startswith("ok:"), out + err
    assert differences(state(lake), clean) == []
