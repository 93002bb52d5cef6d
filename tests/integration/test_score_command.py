"""`emolake score`: per-token scores land in the lake, match the scoring function, and are idempotent."""

import csv
import re

import numpy as np
import pytest

from etl.lake import Lake, views
from etl.model.load import load
from etl.probes.stored import read_layers
from etl.probes.token_scores import score_texts

pytestmark = pytest.mark.integration

TEXTS = {
    "r1": "We won! I cannot believe we actually won the final.",
    "r2": "The lights went out and something moved in the hall.\nI held my breath.",
}


@pytest.fixture
def input_csv(tmp_path):
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body"])
        writer.writerows(TEXTS.items())
    return path


def test_scores_are_queryable_and_equal_the_scoring_function(tiny_lake_copy, input_csv, cli):
    args = ["--lake", tiny_lake_copy, "score", "--input", input_csv, "--text-column", "body", "--id-column", "id"]
    code, _, err = cli(*args, "--layers", "1", "3")
    assert code == 0, err
    lake = Lake(tiny_lake_copy)
    probes = read_layers(lake, "tiny-random", "reference", ["expression"], [1, 3])
    expected = dict(zip(TEXTS, score_texts(load("tiny-random"), list(TEXTS.values()), probes), strict=True))
    counts = views.run(
        lake,
        "select text_id, layer, count(*) as n, count(distinct token_idx) as tokens, count(distinct emotion) as e "
        "from scores group by all order by all",
    ).to_pylist()
    n_emotions = len(expected["r1"].emotions[("expression", 1)])
    assert counts == [
        {
            "text_id": t,
            "layer": layer,
            "n": len(expected[t].tokens) * n_emotions,
            "tokens": len(expected[t].tokens),
            "e": n_emotions,
        }
        for t in TEXTS
        for layer in (1, 3)
    ]
    rows = views.run(
        lake,
        "select token_idx, token, char_start, char_end, emotion, score from scores "
        "where text_id = 'r2' and layer = 3 and kind = 'expression' order by token_idx, emotion",
    ).to_pylist()
    scored = expected["r2"]
    matrix = np.array([r["score"] for r in rows]).reshape(len(scored.tokens), n_emotions)
    np.testing.assert_allclose(matrix, scored.scores[("expression", 3)], atol=1e-5)
    first = rows[0]
    assert first["token_idx"] == 1 and (first["char_start"], first["char_end"]) == scored.offsets[0]
    assert TEXTS["r2"][first["char_start"] : first["char_end"]] == first["token"]

    code, _, err = cli(*args, "--layers", "1", "3")
    assert code == 0, err
    again = views.run(lake, "select count(*) as n from scores").to_pylist()[0]["n"]
    assert again == sum(c["n"] for c in counts)


def test_default_is_the_best_layer_and_a_content_hash_id(tiny_lake_copy, input_csv, cli):
    code, out, err = cli("--lake", tiny_lake_copy, "score", "--input", input_csv, "--text-column", "body")
    assert code == 0, err
    lake = Lake(tiny_lake_copy)
    ids = views.run(lake, "select distinct text_id, layer from scores order by all").to_pylist()
    assert len(ids) == 2 and all(len(r["text_id"]) == 20 for r in ids)
    assert f"at layers [{ids[0]['layer']}]" in out


def test_a_sigma_question_can_be_asked_in_sql(tiny_lake_copy, input_csv, cli):
    code, _, err = cli(
        "--lake",
        tiny_lake_copy,
        "score",
        "--input",
        input_csv,
        "--text-column",
        "body",
        "--id-column",
        "id",
        "--layers",
        "2",
    )
    assert code == 0, err
    sql = """
        with stats as (select emotion, avg(score) as mu, stddev_pop(score) as sd from scores group by emotion)
        select s.text_id, s.token_idx, s.token, (s.score - mu) / sd as z
        from scores s join stats using (emotion)
        where s.emotion = 'afraid' and s.score > mu + 2 * sd
    """
    rows = views.run(Lake(tiny_lake_copy), sql).to_pylist()
    assert all(r["z"] > 2 for r in rows)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layers", "99"], r"no probes for \['expression/99'\]"),
        (["--kinds", "nonsense"], r"no probes of kind \[.nonsense.\]"),
        (["--batch-tokens", "0"], "--batch-tokens 0"),
    ],
)
def test_bad_requests_get_one_line_naming_the_fix(tiny_lake_copy, input_csv, cli, extra, message):
    code, _, err = cli("--lake", tiny_lake_copy, "score", "--input", input_csv, "--text-column", "body", *extra)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert re.search(message, err), err


def test_too_long_text_is_refused_before_scoring(tiny_lake_copy, input_csv, cli, monkeypatch):
    monkeypatch.setattr("etl.probes.token_scores.MAX_TOKENS", 20)
    code, _, err = cli(
        "--lake", tiny_lake_copy, "score", "--input", input_csv, "--text-column", "body", "--id-column", "id"
    )
    assert code == 1
    assert "'r1' has" in err and "the limit is 20; split it" in err
    assert not (tiny_lake_copy / "scores").exists()


def test_repeated_id_with_another_text_is_refused(tiny_lake_copy, tmp_path, cli):
    path = tmp_path / "dup.csv"
    path.write_text("id,body\na,first text here\na,second text here\n")
    code, _, err = cli("--lake", tiny_lake_copy, "score", "--input", path, "--text-column", "body", "--id-column", "id")
    assert code == 1 and "repeated with another text at row 1" in err
