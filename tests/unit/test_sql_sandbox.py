"""The SQL sandbox's limits (etl/lake/sandbox.py) and `emolake sql`'s exact output, without a lake: the queries run in
the sandbox process over a plain DuckDB connection (no views) that may read one directory, so these tests do not
depend on how the lake's views find its files."""

import csv
import functools
import io
import json
import time

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from etl.commands._tables import format_table
from etl.errors import EmolakeError
from etl.lake import sandbox, write_table

SMALL = sandbox.Limits(seconds=3.0, rows=1_000, memory_bytes=300 * 2**20, result_bytes=2**20)


def run(root, sql, limits=SMALL):
    return sandbox.run_isolated(root, sql, limits, connector="plain")


def one_line_error(root, sql, limits=SMALL) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(EmolakeError) as caught:
        run(root, sql, limits)
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text, time.monotonic() - started


@pytest.fixture
def plain_cli(cli, monkeypatch):
    """`emolake sql` whose sandbox opens a plain connection instead of the lake's views."""
    monkeypatch.setattr(sandbox, "run_isolated", functools.partial(sandbox.run_isolated, connector="plain"))
    return functools.partial(cli, "sql")


# memory and time


@pytest.mark.parametrize(
    "sql",
    [
        "select length(repeat('x', 3000000000)) as n",  # one allocation DuckDB's memory_limit does not track
        "select list(range) as l from range(400000000)",  # grows step by step past 3 GB
    ],
)
def test_a_memory_bomb_is_stopped_at_the_memory_limit_in_one_line(tmp_path, sql):
    text, seconds = one_line_error(tmp_path, sql)
    assert "300 MB memory limit" in text
    assert seconds < 2 * SMALL.seconds


def test_a_query_within_the_memory_limit_still_runs(tmp_path):
    assert run(tmp_path, "select sum(range) as s from range(10000000)").rows == [{"s": 49999995000000}]


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) as n from range(100000000000)",
        # the rows come slowly, so the time goes to fetching them
        "select range from range(100000000000) where range % 1000000007 = 0",
    ],
)
def test_a_slow_query_is_stopped_within_twice_the_time_limit(tmp_path, sql):
    limits = sandbox.Limits(seconds=1.0, rows=1_000_000, memory_bytes=300 * 2**20)
    text, seconds = one_line_error(tmp_path, sql, limits)
    assert "ran past the 1 s limit" in text
    assert seconds < 2 * limits.seconds + 1  # + the sandbox's start-up, which the limit does not count


# result size


def test_a_huge_result_is_cut_at_the_row_limit(tmp_path):
    result = run(tmp_path, "select * from range(200000000)")
    assert result.table.num_rows == SMALL.rows and result.truncated and result.cut == "rows"
    assert result.rows[-1] == {"range": SMALL.rows - 1}


def test_a_wide_result_is_cut_at_the_byte_limit(tmp_path):
    limits = sandbox.Limits(seconds=3.0, rows=1_000_000, memory_bytes=300 * 2**20, result_bytes=2**20)
    result = run(tmp_path, "select range, repeat('x', 1000) as s from range(200000000)", limits)
    assert result.truncated and result.cut == "bytes"
    assert 0 < result.table.num_rows < 2_000 and result.table.nbytes <= limits.result_bytes


def test_a_whole_result_is_not_marked_cut(tmp_path):
    result = run(tmp_path, "select * from range(1000)")
    assert result.table.num_rows == 1000 and not result.truncated and result.cut == ""


def test_csv_of_a_huge_result_is_bounded_and_says_so(plain_cli):
    code, out, err = plain_cli("select * from range(200000000)", "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "range" and len(lines) == 1 + 1_000_000 and lines[-1] == "999999"
    assert "only the first 1,000,000 rows" in err and len(err.strip().splitlines()) == 1


def test_max_rows_raises_and_lowers_the_csv_cap(plain_cli):
    code, out, err = plain_cli("select * from range(200000000)", "--format", "json", "--max-rows", "3")
    assert code == 0 and json.loads(out) == [{"range": 0}, {"range": 1}, {"range": 2}]
    assert "only the first 3 rows" in err


# limits are validated


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--timeout", "inf"),
        ("--timeout", "nan"),
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--timeout", "1e9"),
        ("--timeout", "601"),
        ("--timeout", "soon"),
        ("--max-rows", "0"),
        ("--max-rows", "-1"),
        ("--max-rows", "1e6"),
        ("--max-rows", "2.5"),
        ("--max-rows", "10000001"),
    ],
)
def test_bad_limits_are_refused_in_one_line(plain_cli, flag, value):
    code, out, err = plain_cli("select 1", flag, value)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert f"{flag} {value}:" in err


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 0, -1, 1e9])
def test_the_dashboard_path_refuses_bad_time_limits(tmp_path, seconds):
    with pytest.raises(EmolakeError, match="number of seconds above 0 and at most 600"):
        run(tmp_path, "select 1", sandbox.Limits(seconds=seconds))


def test_the_largest_limits_are_accepted(plain_cli):
    assert plain_cli("select 1 as a", "--timeout", "600", "--max-rows", "10000000", "--format", "csv")[:2] == (
        0,
        "a\n1\n",
    )


# exact output


EXACT_SQL = (
    "select 0.1234567890123::double as f, 0.1::float as f32, list_transform(range(20), lambda x: x / 3) as l, "
    "{'a': 1e-300, 'b': 'x,y'} as s, null as n"
)


def check_exact(row: dict) -> None:
    assert row["f"] == 0.1234567890123
    assert np.float32(row["f32"]) == np.float32(0.1) and row["f32"] == float(np.float32(0.1))
    assert row["l"] == [x / 3 for x in range(20)]
    assert row["s"] == {"a": 1e-300, "b": "x,y"}


def test_csv_returns_the_stored_values_exactly(plain_cli):
    code, out, _ = plain_cli(EXACT_SQL, "--format", "csv")
    assert code == 0
    (row,) = csv.DictReader(io.StringIO(out))
    check_exact({"f": float(row["f"]), "f32": float(row["f32"]), "l": json.loads(row["l"]), "s": json.loads(row["s"])})
    assert row["n"] == ""


def test_json_returns_the_stored_values_exactly(plain_cli):
    code, out, _ = plain_cli(EXACT_SQL, "--format", "json")
    assert code == 0
    (row,) = json.loads(out)
    check_exact(row)
    assert row["n"] is None


def test_only_the_table_format_abbreviates():
    table = pa.table({"f": [0.1234567890123], "l": [list(range(20))]})
    shown = format_table(table, "table")
    assert "0.1235" in shown and '"..."' in shown and "0.1234567890123" not in shown
    (row,) = list(csv.reader(io.StringIO(format_table(table, "csv"))))[1:]
    assert row == ["0.1234567890123", json.dumps(list(range(20)))]


def test_json_keeps_its_layout():
    table = pa.table({"a": [1, 2], "l": [[0.5], []]})
    assert format_table(table, "json") == json.dumps(table.to_pylist(), indent=1)
    assert format_table(table.slice(0, 0), "json") == "[]"


# files


def test_the_working_directorys_temp_directory_is_not_readable(tmp_path, monkeypatch):
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("secret")
    lake = tmp_path / "lake"
    lake.mkdir()
    write_table(pa.table({"a": [1]}), lake / "part-0.parquet")
    monkeypatch.chdir(tmp_path)
    for sql in (
        "select content from read_text('.tmp/secret.txt')",
        f"select content from read_text('{tmp_path}/.tmp/secret.txt')",
        f"select * from glob('{lake}/../.tmp/*')",
        "select * from read_text('/etc/passwd')",
    ):
        assert one_line_error(lake, sql)[0].startswith("refused"), sql
    assert run(lake, f"select a from read_parquet('{lake}/part-0.parquet')").rows == [{"a": 1}]


def test_lock_down_turns_spilling_off_for_trusted_connections_too(tmp_path, monkeypatch):
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("secret")
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect()
    sandbox.lock_down(con, tmp_path / "lake")
    with pytest.raises(duckdb.PermissionException):
        con.sql("select content from read_text('.tmp/secret.txt')").fetchall()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("install httpfs", "only read-only SELECT"),
        ("set memory_limit = '100GB'", "only read-only SELECT"),
        ("select 1; select 2", "one statement"),
        ("select * from query('set memory_limit = ''100GB''')", "query failed"),
        ("select current_setting('memory_limit') as m", None),
    ],
)
def test_the_sandbox_keeps_its_other_protections(tmp_path, sql, message):
    if message is None:
        assert run(tmp_path, sql).rows == [{"m": "225.0 MiB"}]  # DuckDB's own limit: 3/4 of the process's
    else:
        assert message in one_line_error(tmp_path, sql)[0]
