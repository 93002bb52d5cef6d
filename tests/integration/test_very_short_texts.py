"""Texts under MIN_TOKENS tokens (#22 item 6): scored, and every way of asking (nearest, classify, score, the Python
API, the JSON API and its client) says beside the answer that it is a weak guess; longer texts carry no warning.
The tiny model's byte tokenizer makes "ugh" three tokens."""

import json
import warnings

import pyarrow.parquet as pq
import pytest

from etl.errors import ShortTextWarning
from etl.lake import Lake
from etl.probes.policy import MIN_TOKENS
from etl.service.app import create_app

pytestmark = pytest.mark.integration
SHORT, LONG = "ugh", "The storm took the roof and we ran."


def test_nearest_prints_a_warning_line_for_a_short_text_only(tiny_lake, cli):
    code, out, err = cli("--lake", tiny_lake, "nearest", SHORT, "--k", "3")
    assert code == 0, err
    assert f"warning: only 3 tokens (under {MIN_TOKENS})" in out and len(out.strip().splitlines()) == 5
    code, out, _ = cli("--lake", tiny_lake, "nearest", LONG, "--k", "3")
    assert code == 0 and "warning" not in out

    code, out, err = cli("--lake", tiny_lake, "nearest", SHORT, "--json")
    assert code == 0 and len(json.loads(out)) == 5 and err.startswith("warning: only 3 tokens")
    code, out, _ = cli("--lake", tiny_lake, "nearest", SHORT, LONG, "--json")
    short, long = (json.loads(line) for line in out.splitlines())
    assert "under" in short["warning"] and "warning" not in long


def test_classify_marks_the_rows_of_short_texts(tiny_lake, cli, tmp_path, caplog):
    source = tmp_path / "texts.csv"
    source.write_text(f"text\n{LONG}\n{SHORT}\n")
    out = tmp_path / "out.parquet"
    code, _, err = cli("--lake", tiny_lake, "classify", "--input", source, "--text-column", "text", "--output", out)
    assert code == 0, err
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["warning"] is None and "under" in rows[1]["warning"] and len(rows[1]["emotions"]) == 5
    assert "1 of 2 texts are under" in caplog.text


def test_score_names_short_texts_on_stderr(tiny_lake_copy, cli, tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text(f"id,text\na,{LONG}\nb,{SHORT}\n")
    code, out, err = cli("--lake", tiny_lake_copy, "score", "--input", source, "--text-column", "text",
                         "--id-column", "id")  # fmt: skip
    assert code == 0 and "scored 2 texts" in out
    assert err.count("warning:") == 1 and "text 'b'" in err


def test_the_python_api_warns(tiny_lake):
    from etl import api as emolake  # the installed `emolake` may be another checkout's etl/api

    lake = emolake.open(tiny_lake)
    with pytest.warns(ShortTextWarning, match="under 8"):
        assert len(lake.nearest(SHORT, k=2)) == 2
    with pytest.warns(ShortTextWarning):
        lake.score([LONG, SHORT])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lake.nearest(LONG, k=2)


def test_the_json_api_answers_with_warnings(tiny_lake):
    client = create_app(Lake(tiny_lake)).test_client()
    answer = client.post("/api/v1/nearest", json={"texts": [LONG, SHORT], "k": 2}).get_json()
    assert answer["warnings"][0] is None and "under" in answer["warnings"][1]
    one = client.post("/api/v1/nearest", json={"text": SHORT}).get_json()
    assert len(one["nearest"]) == 5 and "under" in one["warnings"][0]
    rows = client.post("/api/v1/classify", json={"texts": [SHORT, LONG]}).get_json()["rows"]
    assert "under" in rows[0]["warning"] and rows[1]["warning"] is None
    assert "under" in client.post("/api/v1/score", json={"text": SHORT}).get_json()["warning"]
    assert client.post("/api/v1/score", json={"text": LONG}).get_json()["warning"] is None


def test_a_single_token_text_gets_no_emotions_and_the_others_are_answered(tiny_lake, cli):
    code, out, err = cli("--lake", tiny_lake, "nearest", "k", LONG, "--json", "--k", "2")
    assert code == 0, err
    single, long = (json.loads(line) for line in out.splitlines())
    assert single["emotions"] == [] and single["warning"].endswith("no emotions given")
    assert len(long["emotions"]) == 2 and "warning" not in long
    code, _, err = cli("--lake", tiny_lake, "nearest", "")
    assert code == 1 and "empty" in err  # an empty text is still refused
