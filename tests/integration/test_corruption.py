"""Damage: a file of every kind the lake holds is truncated, bit-flipped or deleted. `emolake verify` names each
damaged file and exits 1; readers refuse the damaged data instead of returning numbers from it; and
`emolake verify --repair` rebuilds what was lost, leaving a lake equal to the undamaged one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config import CORPORA
from etl.errors import EmolakeError
from etl.lake import Lake, commits, vectors, views
from tests.lake_state import differences, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KINDS = {
    "texts": "texts/",
    "rejects": "rejects/",
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


def victim(root: Path, prefix: str) -> str:
    """The first committed file under `prefix` (for indexes, the first FAISS file)."""
    files = sorted(r for record in commits.snapshot(root).values() for r in record["files"] if r.startswith(prefix))
    if prefix == "index/":
        files = [r for r in files if r.endswith(".faiss")]
    assert files, f"the tiny lake has no file under {prefix}"
    return files[0]


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
    for rel in damaged:
        damage(lake / rel, how)
    stray = lake / "probes" / "left-behind.parquet"
    stray.write_bytes(b"not committed")
    code, out, err = cli("--lake", lake, "verify", "--repair")
    assert code == 0, out + err
    assert all(any(line.startswith(rel + ":") for line in out.splitlines()) for rel in damaged), out
    assert not stray.exists()
    code, out, err = cli("--lake", lake, "verify")
    assert code == 0 and out.startswith("ok:"), out + err
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
