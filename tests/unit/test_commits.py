"""The commit layer: staged writes are invisible until commit, a commit is all-or-nothing, damage is named."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.errors import EmolakeError
from etl.lake import Lake, clean_temporaries, commits, lake_root_of, remove, write_table
from etl.lake.commits import DamageError


def part(lake: Lake, name: str, key: str = "0"):
    return lake.partition(name, model="m", source="s") / f"part-{key}.parquet"


def test_writes_in_a_transaction_are_invisible_until_it_commits(tmp_path):
    lake = Lake(tmp_path)
    with lake.transaction():
        write_table(pa.table({"a": [1]}), part(lake, "probes"))
        write_table(pa.table({"b": [2]}), part(lake, "probe_centers"))
        assert commits.snapshot(tmp_path) == {}  # what every other reader sees
        assert len(lake.files("probes")) == 1  # the writer itself reads what it staged
    assert [pq.read_table(f).column(0).to_pylist() for f in lake.files("probes")] == [[1]]
    assert lake.has("probe_centers")


def test_a_failed_transaction_leaves_the_committed_version_and_no_temporary(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1]}), part(lake, "probes"))
    with pytest.raises(RuntimeError), lake.transaction():
        write_table(pa.table({"a": [2]}), part(lake, "probes"))
        write_table(pa.table({"a": [3]}), part(lake, "probes", "1"))
        raise RuntimeError("killed")
    assert [pq.read_table(f).column(0).to_pylist() for f in lake.files("probes")] == [[1]]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_superseded_files_go_at_the_commit_that_replaces_them(tmp_path):
    lake = Lake(tmp_path)
    for key in ("0", "1"):
        write_table(pa.table({"a": [int(key)]}), part(lake, "probes", key))
    with lake.transaction() as tx:
        tx.supersede(lake.partition("probes", model="m"))
        write_table(pa.table({"a": [9]}), part(lake, "probes", "0"))
        assert len(commits.snapshot(tmp_path)["probes"]["files"]) == 2
    assert [os.path.basename(f) for f in lake.files("probes")] == ["part-0.parquet"]
    assert not part(lake, "probes", "1").exists()


def test_remove_is_recorded_and_readers_stop_listing_the_file(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1]}), part(lake, "scores"))
    remove(part(lake, "scores"))
    assert lake.files("scores") == [] and not part(lake, "scores").exists()


def test_a_commit_killed_after_its_journal_is_rolled_forward_by_the_next_reader(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1]}), part(lake, "probes"))
    tx = commits.Transaction(commits.absolute(tmp_path))
    token = commits._current.set(tx)
    try:
        write_table(pa.table({"a": [2]}), part(lake, "probes"))
        write_table(pa.table({"a": [3]}), part(lake, "probes", "1"))
    finally:
        commits._current.reset(token)
    staged = {rel: (tmp, entry) for rel, (tmp, entry) in tx.writes.items()}
    journal = {
        "renames": [[tmp.relative_to(tx.root).as_posix(), rel] for rel, (tmp, _) in staged.items()],
        "removals": [],
        "records": {"probes": {"dataset": "probes", "version": 2, "files": {r: e for r, (_, e) in staged.items()}}},
    }
    # The journal landed and one rename was made before the kill.
    commits.write_json_durably(journal, commits.records_dir(tmp_path) / "journal-x.json")
    first_tmp, first_rel = journal["renames"][0]
    os.replace(tmp_path / first_tmp, tmp_path / first_rel)
    values = sorted(pq.read_table(f).column(0).to_pylist()[0] for f in lake.files("probes"))
    assert values == [2, 3]
    assert not list(commits.records_dir(tmp_path).glob("journal-*"))


def test_damage_is_named_not_read(tmp_path):
    lake = Lake(tmp_path)
    path = part(lake, "texts")
    write_table(pa.table({"a": list(range(100))}), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DamageError, match=r"texts/model=m/source=s/part-0.parquet is altered"):
        lake.files("texts")
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(DamageError, match="truncated"):
        lake.files("texts")
    path.unlink()
    with pytest.raises(DamageError, match="missing"):
        lake.files("texts")


def test_clean_temporaries_spares_a_live_transaction(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1]}), part(lake, "texts"))
    stray = part(lake, "texts").parent / ".tmp-deadbeef-00-part-9.parquet.partial"
    stray.write_bytes(b"x")
    with lake.transaction():
        write_table(pa.table({"a": [2]}), part(lake, "texts", "1"))
        assert clean_temporaries(tmp_path) == 1
    assert not stray.exists() and len(lake.files("texts")) == 2


def test_only_lake_layouts_are_committed(tmp_path):
    assert lake_root_of(tmp_path / "lake" / "probes" / "model=m" / "part-0.parquet") == tmp_path / "lake"
    assert lake_root_of(tmp_path / "out" / "probes.parquet") is None
    assert lake_root_of(tmp_path / "texts" / "out.parquet") is None
    write_table(pa.table({"a": [1]}), tmp_path / "out" / "classified.parquet")
    assert not (tmp_path / "out" / "_commits").exists()


def test_a_lake_without_records_asks_to_be_adopted(tmp_path):
    path = tmp_path / "texts" / "source=s" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(EmolakeError, match="verify --repair"):
        Lake(tmp_path).files("texts")


def test_records_hold_size_rows_and_checksum(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1, 2, 3]}), part(lake, "texts"))
    record = json.loads((tmp_path / "_commits" / "texts.json").read_text())
    (entry,) = record["files"].values()
    assert entry["rows"] == 3 and entry["bytes"] == part(lake, "texts").stat().st_size and len(entry["sha256"]) == 64


def test_a_reader_sees_each_new_version_of_a_record_and_never_a_record_changed_under_it(tmp_path):
    lake = Lake(tmp_path)
    write_table(pa.table({"a": [1]}), part(lake, "probes"))
    first = commits.read_record(tmp_path, "probes")
    held = json.dumps(first, sort_keys=True)
    write_table(pa.table({"a": [2]}), part(lake, "probes"))  # same path and size: only the record's bytes differ
    second = commits.read_record(tmp_path, "probes")
    assert second["version"] == first["version"] + 1
    assert json.dumps(first, sort_keys=True) == held  # the commit changed its own copy, not the one readers hold
    assert [pq.read_table(f).column(0).to_pylist() for f in lake.files("probes")] == [[2]]
    assert commits.read_record(tmp_path, "probes") is second  # unchanged bytes are not parsed again
