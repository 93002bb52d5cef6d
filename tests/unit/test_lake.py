import glob

import pyarrow as pa
import pytest

from etl.lake import Lake, atomic_path, clean_temporaries, partition_value, write_table


def test_write_table_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "ds" / "part-0.parquet"
    write_table(pa.table({"a": [1, 2]}), path)
    write_table(pa.table({"a": [3]}), path)
    assert pa.parquet.read_table(path).column("a").to_pylist() == [3]
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "part-0.parquet"
    write_table(pa.table({"a": [1]}), path)
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("killed mid-write")
    assert pa.parquet.read_table(path).column("a").to_pylist() == [1]
    assert list(tmp_path.iterdir()) == [path]


def test_temporary_names_never_match_the_parquet_glob(tmp_path):
    lake = Lake(tmp_path)
    final = lake.partition("texts", source="x", corpus="y") / "part-0.parquet"
    with atomic_path(final) as tmp:
        pa.parquet.write_table(pa.table({"a": [1]}), tmp)
        assert glob.glob(str(lake.dataset("texts") / "**" / "*.parquet"), recursive=True) == []
    assert glob.glob(str(lake.dataset("texts") / "**" / "*.parquet"), recursive=True) == [str(final)]


def test_clean_temporaries_removes_leftovers_of_a_killed_writer(tmp_path):
    leftover = tmp_path / "texts" / ".tmp-abc-part-0.parquet.partial"
    leftover.parent.mkdir()
    leftover.write_bytes(b"x")
    assert clean_temporaries(tmp_path) == 1
    assert not leftover.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB--SmolLM2-135M"), ("a:b", "a--b"), (7, "7"), ("", "none")],
)
def test_partition_values_are_path_safe(value, expected):
    assert partition_value(value) == expected


def test_partition_paths_are_hive_style(tmp_path):
    lake = Lake(tmp_path)
    assert lake.partition("probes", model="m", layer=3).relative_to(tmp_path).as_posix() == "probes/model=m/layer=3"
