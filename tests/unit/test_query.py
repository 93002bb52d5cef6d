import pytest
from fake_lake import put

from etl.errors import EmolakeError
from etl.generation.texts import to_table
from etl.lake import Lake, views


@pytest.fixture
def small_lake(tmp_path):
    lake = Lake(tmp_path / "lake")
    rows = [{"text_id": "a", "emotion": "calm", "topic": "t", "text": "x", "created_at": "2026-01-01T00:00:00"}]
    put(to_table(rows), lake.partition("texts", source="reference", corpus="emotional_story") / "part-0.parquet")
    return lake


def test_views_read_hive_partitions(small_lake):
    table = views.run(small_lake, "select corpus, source, count(*) as n from texts group by all")
    assert table.to_pylist() == [{"corpus": "emotional_story", "source": "reference", "n": 1}]
    assert views.run(small_lake, "select count(*) as n from stories").to_pylist() == [{"n": 1}]


@pytest.mark.parametrize(
    "sql",
    [
        "copy (select 1) to '/tmp/x.csv'",
        "create table t as select 1",
        "attach 'x.db'",
        "install httpfs",
        "drop view texts",
        "select 1; delete from texts",
    ],
)
def test_only_select_is_allowed(small_lake, sql):
    with pytest.raises(EmolakeError, match="only read-only SELECT"):
        views.run(small_lake, sql)


def test_missing_view_names_the_make_target(small_lake):
    with pytest.raises(EmolakeError, match=r"no `probes` yet: run `make probes`"):
        views.run(small_lake, "select * from probes")


def test_missing_lake_says_how_to_build_it(tmp_path):
    with pytest.raises(EmolakeError, match="run `make all`"):
        views.run(Lake(tmp_path / "nowhere"), "select 1")


def test_bad_sql_is_one_clear_line(small_lake):
    with pytest.raises(EmolakeError, match="does not parse"):
        views.run(small_lake, "selec 1")


def test_describe_lists_present_and_missing_views(small_lake):
    described = dict(views.describe(small_lake))
    assert "text_id VARCHAR" in described["texts"]
    assert described["evaluation_layers"] == "(empty: run `make evaluate`)"
