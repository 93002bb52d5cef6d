"""Bad input gets one clear line on stderr and exit code 2, never a traceback; the lake is left as it was."""

import hashlib
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def assert_one_line_error(result, fragment):
    code, _, err = result
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_missing_lake(cli, tmp_path):
    assert_one_line_error(cli("--lake", tmp_path / "none", "sql", "select 1"), "run `make all`")


def test_empty_lake(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("--lake", tmp_path / "empty", "nearest", "some text"), "has no probes: run `make all`")


def test_unknown_preset(cli, tmp_path):
    assert_one_line_error(cli("--lake", tmp_path, "run", "generate", "--preset", "huge"), "unknown preset 'huge'")


def test_malformed_preset(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("model = [unclosed\n")
    assert_one_line_error(cli("--lake", tmp_path, "run", "generate", "--preset", bad), "is not valid TOML")


def test_unknown_emotion_in_a_preset(cli, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('model = "tiny-random"\nemotions = ["calm", "hangry"]\n')
    assert_one_line_error(
        cli("--lake", tmp_path / "l", "run", "generate", "--preset", preset), "unknown emotion(s) ['hangry']"
    )


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("bundled:gpt-9", "unknown bundled model 'bundled:gpt-9'"), ("no-such-org/no-such-model", "cannot load model")],
)
def test_unknown_model_spec(cli, tiny_lake_copy, spec, fragment):
    before = snapshot(tiny_lake_copy)
    result = cli("--lake", tiny_lake_copy, "run", "extract", "--preset", "tiny", "--model", spec)
    assert_one_line_error(result, fragment)
    assert snapshot(tiny_lake_copy) == before


class TestOnABuiltLake:
    def test_empty_text(self, cli, tiny_lake_copy):
        assert_one_line_error(cli("--lake", tiny_lake_copy, "nearest", "   "), "is empty")

    def test_bad_k_and_layer(self, cli, tiny_lake_copy):
        assert_one_line_error(cli("--lake", tiny_lake_copy, "nearest", "hi there", "--k", "0"), "--k 0")
        assert_one_line_error(cli("--lake", tiny_lake_copy, "nearest", "hi there", "--layer", "99"), "--layer 99")

    def test_column_not_in_file(self, cli, tiny_lake_copy, tmp_path):
        source = tmp_path / "in.csv"
        source.write_text("id,body\n1,hello there\n")
        result = cli(
            "--lake",
            tiny_lake_copy,
            "classify",
            "--input",
            source,
            "--text-column",
            "text",
            "--output",
            tmp_path / "o.parquet",
        )
        assert_one_line_error(result, "column 'text' is not in")

    def test_unreadable_file(self, cli, tiny_lake_copy, tmp_path):
        source = tmp_path / "in.parquet"
        source.write_bytes(b"not parquet at all")
        result = cli(
            "--lake",
            tiny_lake_copy,
            "classify",
            "--input",
            source,
            "--text-column",
            "t",
            "--output",
            tmp_path / "o.parquet",
        )
        assert_one_line_error(result, "cannot read")

    def test_empty_row_in_file(self, cli, tiny_lake_copy, tmp_path):
        source = tmp_path / "in.jsonl"
        source.write_text('{"t": "fine text"}\n{"t": ""}\n')
        result = cli(
            "--lake",
            tiny_lake_copy,
            "classify",
            "--input",
            source,
            "--text-column",
            "t",
            "--output",
            tmp_path / "o.parquet",
        )
        assert_one_line_error(result, "text at row 1 is empty")

    def test_write_sql_is_refused_and_the_lake_is_untouched(self, cli, tiny_lake_copy):
        before = snapshot(tiny_lake_copy)
        assert_one_line_error(cli("--lake", tiny_lake_copy, "sql", "drop view texts"), "only read-only SELECT")
        assert_one_line_error(cli("--lake", tiny_lake_copy, "sql", "select * from nope"), "query failed")
        assert snapshot(tiny_lake_copy) == before
