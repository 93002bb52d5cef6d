"""model_comparison on two tiny random models of different depths, and the viewer's evidence tables."""

import numpy as np
import pytest

from etl.evaluation.comparison import upper_triangle
from etl.evaluation.stats import spearman
from etl.lake import Lake, views
from etl.probes.stored import read

pytestmark = pytest.mark.integration


def rows(lake, sql: str) -> list[dict]:
    con = views.connect(Lake(lake)).con
    result = con.execute(sql)
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, r, strict=True)) for r in result.fetchall()]


def test_each_model_has_its_depth_and_the_pair_reads_the_same_from_both_sides(two_model_lake):
    found = rows(two_model_lake, "select * from model_comparison where kind = 'expression' order by model")
    assert [r["model"] for r in found] == ["tiny-random", "tiny-random-6"]
    assert [r["n_layers"] for r in found] == [4, 6]
    for r in found:
        assert r["relative_depth"] == pytest.approx((r["best_layer"] + 1) / r["n_layers"])
    first, second = found
    assert (first["other_model"], second["other_model"]) == ("tiny-random-6", "tiny-random")
    assert first["cosine_spearman"] == second["cosine_spearman"]
    assert first["valence_spearman"] == second["valence_spearman"]
    assert first["shared_emotions"] == 6


def test_cosine_agreement_is_the_spearman_of_the_two_cosine_matrices(two_model_lake):
    (row,) = rows(two_model_lake, "select * from model_comparison where kind = 'short' and model = 'tiny-random'")
    lake = Lake(two_model_lake)
    mine = read(lake, "tiny-random", "reference", ["short"], [row["best_layer"]])
    (a,) = mine.values()
    theirs = read(lake, "tiny-random-6", "reference", ["short"], None)
    other_layer = rows(
        two_model_lake, "select best_layer from model_comparison where kind = 'short' and model = 'tiny-random-6'"
    )[0]["best_layer"]
    b = theirs[("reference", "short", other_layer)]
    assert a.emotions == b.emotions
    expected = spearman(upper_triangle(a.vectors @ a.vectors.T), upper_triangle(b.vectors @ b.vectors.T))
    assert row["cosine_spearman"] == pytest.approx(expected, abs=1e-6)


def test_layer_curves_put_both_models_on_one_depth_axis(two_model_lake):
    found = rows(
        two_model_lake, "select model, layer, relative_depth from model_layer_curves where kind = 'expression'"
    )
    depths = {r["model"]: sorted(r["relative_depth"] for r in found if r["model"] == r["model"]) for r in found}
    assert max(r["relative_depth"] for r in found) == pytest.approx(1.0)
    assert {r["model"] for r in found} == set(depths) == {"tiny-random", "tiny-random-6"}
    assert len([r for r in found if r["model"] == "tiny-random-6"]) == 6


def test_probe_examples_are_each_probes_top_texts_with_token_cosines(tiny_lake):
    found = rows(
        tiny_lake, "select * from probe_examples where kind = 'expression' and emotion = 'afraid' order by domain, rank"
    )
    assert {r["domain"] for r in found} == {"story", "short"}
    for domain in ("story", "short"):
        scores = [r["score"] for r in found if r["domain"] == domain]
        assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    traced = [r for r in found if r["tokens"] is not None]
    assert traced and all(len(r["tokens"]) == len(r["token_scores"]) for r in traced)
    assert all(np.all(np.abs(r["token_scores"]) <= 1.0 + 1e-5) for r in traced)
    assert all(r["rank"] == 1 for r in traced)


def test_histograms_count_every_text_once_per_probe(tiny_lake):
    (total,) = rows(tiny_lake, "select count(*) as n from texts where corpus in ('short_text', 'neutral_short')")
    counts = rows(
        tiny_lake,
        "select emotion, sum(n_texts) as n from probe_histograms where kind = 'expression' "
        "and domain = 'short' group by emotion",
    )
    assert counts and all(c["n"] == total["n"] for c in counts)
