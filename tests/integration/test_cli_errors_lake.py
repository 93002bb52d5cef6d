"""Bad input against a built lake: one clear line on stderr, exit code 1, the lake left as it was."""

import pytest
from cli_checks import assert_one_line_error, snapshot

pytestmark = pytest.mark.integration


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


def test_an_index_older_than_its_probes_is_refused_not_served(cli, tiny_lake_copy):
    import pyarrow as pa
    import pyarrow.compute as pc
    from fake_lake import rewrite

    def negated(table):  # the probes were rebuilt (here: negated); the index was not
        vectors = table.column("vector").combine_chunks()
        flipped = pc.list_flatten(vectors).to_numpy() * -1
        size = len(flipped) // len(vectors)
        column = pa.FixedSizeListArray.from_arrays(pa.array(flipped, pa.float32()), size)
        return table.set_column(table.schema.get_field_index("vector"), "vector", column)

    rewrite(tiny_lake_copy, "probes", negated, model="tiny-random", source="reference", kind="expression", layer=1)
    result = cli("--lake", tiny_lake_copy, "nearest", "The kettle clicked off.", "--kind", "expression", "--layer", "1")
    assert_one_line_error(result, "run `make index`")
