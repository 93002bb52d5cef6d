"""The nested figure of the default set (etl/evaluation/nested.py, #22 item 2): nothing a fold is scored with was
chosen or built from that fold's texts, its neutral texts included. Tiny arrays, no model."""

import numpy as np
import pytest

from etl.evaluation import nested, transfer
from etl.probes.policy import rank_default
from tests.unit.test_held_out_baseline import HIDDEN, N, domain


def test_the_selection_inside_a_fold_never_sees_that_fold():
    domains = {"story": domain(2), "short": domain(3)}
    rows = nested.candidates(["expression", "short", "pooled"], domains, N, layer=0)
    changed = {"story": domain(2), "short": domain(3)}
    fold = changed["story"].folds == 1
    changed["story"].x[fold] = np.random.default_rng(9).normal(size=(int(fold.sum()), HIDDEN)) * 50
    changed["story"].baseline[changed["story"].baseline_folds == 1] *= 30
    again = nested.candidates(["expression", "short", "pooled"], changed, N, layer=0)
    for a, b in zip(rows, again, strict=True):
        if a["test_domain"] == "story" and a["fold"] == 1:
            assert (a["story_top1"], a["short_top1"]) == (b["story_top1"], b["short_top1"])  # what chooses
            assert not np.array_equal(a["hits1"], b["hits1"])  # what is scored: the fold's own texts
    assert {(r["test_domain"], r["kind"]) for r in rows} == {
        (d, k) for d in ("story", "short") for k in ("expression", "short", "pooled")
    }


def row(fold: int, kind: str, layer: int, inner: float, hits: list[bool]) -> dict:
    hits1 = np.array(hits)
    place = {"test_domain": "story", "fold": fold, "kind": kind, "layer": layer, "n_emotions": N}
    return place | {"story_top1": inner, "short_top1": 0.5, "n_test": None, "hits1": hits1, "hits5": hits1}


def test_each_outer_fold_takes_the_rules_choice_on_its_inner_figures_not_its_own_hits():
    rows = [
        row(0, "pooled", 15, 0.4, [True, False]),
        row(0, "short", 12, 0.3, [True, True]),  # the better fold-0 hits, but the worse inner figure
        row(1, "pooled", 15, 0.2, [False, False]),
        row(1, "short", 12, 0.2, [True, True]),  # a tie: the rule takes the lower layer
    ]
    (found,) = nested.nested_rows(rows, {"kind": "pooled", "layer": 15, "story_top1": 0.6}, seed=0)
    assert found["choices"] == "0:pooled@15, 1:short@12"
    assert found["top1"] == 0.75 and found["n_test"] == 4 and found["n_folds"] == 2
    assert found["n_candidates"] == 2 and (found["selected_kind"], found["selected_top1"]) == ("pooled", 0.6)
    assert rank_default([rows[2], rows[3]])[0]["kind"] == "short"


def test_choosing_among_many_noise_sets_is_optimistic_and_the_nested_figure_is_not():
    """Forty layers of pure noise: the best of them on all folds beats chance by luck; chosen inside each fold and
    scored on that fold, the luck does not carry over."""
    rows, layer_rows = [], []
    for layer in range(40):
        domains = {"story": domain(100 + layer, signal=0.0), "short": domain(200 + layer, signal=0.0)}
        rows += nested.candidates(["expression"], domains, N, layer)
        story, _ = transfer.held_out_hits("expression", domains, "story", N)
        short, _ = transfer.held_out_hits("expression", domains, "short", N)
        layer_rows.append(
            {"kind": "expression", "layer": layer, "story_top1": story.mean(), "short_top1": short.mean()}
        )
    best = rank_default(layer_rows)[0]
    found = {r["test_domain"]: r for r in nested.nested_rows(rows, best, seed=0)}
    assert best["story_top1"] > 0.4  # chance is 0.25
    assert found["story"]["top1"] < best["story_top1"] - 0.1
    assert found["story"]["top1"] == pytest.approx(0.25, abs=0.15)
