"""The lake's one write path (`Lake.write`) on Delta tables: schema enforcement, the three modes, and user files."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.lake import Lake, atomic_path, partition_value, write_table

PROMPT = {"prompt_hash": "h1", "prompt_version": "v1", "corpus": "emotional_story", "template": "Write..."}


def rows(lake: Lake, name: str) -> list[dict]:
    return sorted(
        (r for f in lake.files(name) for r in pq.read_table(f).to_pylist()), key=lambda r: sorted(r.items(), key=str)
    )


def test_insert_adds_a_key_once_however_often_it_is_written(tmp_path):
    lake = Lake(tmp_path)
    assert lake.write("prompts", [PROMPT], source="reference") == 1
    assert lake.write("prompts", [PROMPT, {**PROMPT, "prompt_hash": "h2"}], source="reference") == 1
    assert lake.write("prompts", [PROMPT], source="local") == 1  # another partition: another key
    assert len(rows(lake, "prompts")) == 3


def test_replace_swaps_only_the_rows_it_selects(tmp_path):
    lake = Lake(tmp_path)
    norms = [
        {"layer": i, "mean_norm": 1.0, "n_texts": 1, "n_requested": 1, "n_tokens": 9, "created_at": "t"} for i in (0, 1)
    ]
    lake.write("residual_norms", norms, mode="replace", model="m", corpus="a")
    lake.write("residual_norms", norms, mode="replace", model="m", corpus="b")
    lake.write("residual_norms", norms[:1], mode="replace", model="m", corpus="a")
    assert len(lake.files("residual_norms", lake.partition("residual_norms", model="m", corpus="a"))) == 1
    assert len(rows(lake, "residual_norms")) == 3
    with pytest.raises(ValueError, match="outside the replaced scope"):
        lake.write("residual_norms", norms, mode="replace", where={"model": "m", "corpus": "a"}, model="m", corpus="c")


def test_the_registered_schema_is_enforced(tmp_path):
    lake = Lake(tmp_path)
    with pytest.raises(ValueError, match="not in its schema"):
        lake.write("prompts", [{**PROMPT, "extra": 1}], source="reference")
    with pytest.raises(ValueError, match="missing"):
        lake.write("prompts", [{"prompt_hash": "h"}], source="reference")
    with pytest.raises(ValueError, match="partition columns"):
        lake.write("prompts", [PROMPT], source="reference", model="m")
    with pytest.raises(KeyError, match="not a lake dataset"):
        lake.write("nosuch", [PROMPT])
    assert lake.table("prompts") is None  # nothing was written by any refused call


def test_every_write_is_a_version_with_its_history(tmp_path):
    lake = Lake(tmp_path)
    lake.write("prompts", [PROMPT], source="reference")
    lake.write("prompts", [{**PROMPT, "prompt_hash": "h2"}], source="reference")
    lake.delete("prompts", {"source": "reference", "prompt_hash": ["h1"]})
    assert lake.version("prompts") == 3  # version 0 creates the table, empty
    assert [r["prompt_hash"] for r in rows(Lake(tmp_path, as_of={"prompts": 2}), "prompts")] == ["h1", "h2"]
    assert [r["prompt_hash"] for r in rows(lake, "prompts")] == ["h2"]
    with pytest.raises(Exception, match="read-only"):
        Lake(tmp_path, as_of={"prompts": 1}).write("prompts", [PROMPT], source="x")


def test_user_files_are_written_atomically_outside_any_lake(tmp_path):
    path = tmp_path / "out" / "part-0.parquet"
    write_table(pa.table({"a": [1, 2]}), path)
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("killed mid-write")
    assert pq.read_table(path).column("a").to_pylist() == [1, 2]
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB--SmolLM2-135M"), ("a:b", "a--b"), (7, "7"), ("", "none")],
)
def test_partition_values_are_path_safe(value, expected):
    assert partition_value(value) == expected


def test_partition_paths_are_hive_style(tmp_path):
    lake = Lake(tmp_path)
    assert lake.partition("probes", model="m", layer=3).relative_to(tmp_path).as_posix() == "probes/model=m/layer=3"


def test_a_table_written_before_its_schema_grew_takes_the_new_columns(tmp_path, monkeypatch):
    import dataclasses

    from etl.lake import datasets

    norms = {"layer": 0, "mean_norm": 1.0, "n_texts": 1, "n_requested": 1, "n_tokens": 9, "created_at": "t"}
    registered = datasets.DATASETS["residual_norms"]
    older = dataclasses.replace(registered, schema=pa.schema([f for f in registered.schema if f.name != "n_tokens"]))
    monkeypatch.setitem(datasets.DATASETS, "residual_norms", older)
    lake = Lake(tmp_path)
    lake.write(
        "residual_norms", [{k: v for k, v in norms.items() if k != "n_tokens"}], mode="replace", model="m", corpus="a"
    )
    monkeypatch.setitem(datasets.DATASETS, "residual_norms", registered)
    import duckdb

    from etl.lake.views import scan

    # before any write of the grown schema the views read the new column as null
    assert duckdb.sql(f"select layer, n_tokens from {scan(lake, 'residual_norms')}").fetchall() == [(0, None)]
    lake.write("residual_norms", [{**norms, "layer": 1}], mode="replace", model="m", corpus="b")

    found = dict(duckdb.sql(f"select layer, n_tokens from {scan(lake, 'residual_norms')}").fetchall())
    assert found == {0: None, 1: 9}  # the views read both files, the older one without the new column
