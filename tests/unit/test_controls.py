"""Controls, transfer and validation figures on small inputs whose answers are worked out by hand."""

import numpy as np
import pytest

from etl.evaluation import controls, transfer, validation
from etl.probes.stored import FormCentre, StoredProbes


def test_bootstrap_interval_of_constant_hits_is_that_constant():
    assert controls.bootstrap_ci(np.ones(30)) == (1.0, 1.0)
    assert controls.bootstrap_ci(np.zeros(0)) == (None, None)
    low, high = controls.bootstrap_ci(np.array([1, 0] * 50))
    assert low < 0.5 < high


def test_perfect_correlation_has_a_degenerate_interval_and_the_smallest_p():
    a = np.arange(20, dtype=float)
    assert controls.correlation_ci(a, 2 * a + 1) == pytest.approx((1.0, 1.0))
    # No shuffle of 20 distinct values reaches |r| = 1 again, so p is (0 + 1) / (n + 1).
    assert controls.permutation_p(a, 2 * a + 1, n=999) == pytest.approx(1 / 1000)


def test_tfidf_nearest_centroid_picks_the_class_that_shares_the_words():
    train = ["the cat sat on the mat", "a cat and a kitten", "the dog barked loudly", "a dog chased a ball"]
    scores = controls.tfidf_centroid_scores(train, np.array([0, 0, 1, 1]), ["my cat", "the dog", "nothing"], 3)
    assert scores[0].argmax() == 0 and scores[1].argmax() == 1
    assert np.all(scores[2, :2] == 0)  # no shared word: cosine 0 with both centroids
    assert np.all(np.isneginf(scores[:, 2]))  # a class with no training text can never win


def test_tfidf_weights_follow_the_stated_definition():
    """Sublinear tf (1 + log tf), smoothed IDF (log((1 + n) / (1 + df)) + 1), L2 rows, words as `WORD`, computed
    here by hand on a small fixture and compared with the library's scores."""
    import math
    from collections import Counter

    train = ["Calm calm sea, don't run", "the sea is calm", "RUN run run away", "away we run"]
    labels, test = np.array([0, 0, 1, 1]), ["calm sea", "don't run away", "run run"]
    documents = [controls.WORD.findall(t.lower()) for t in train]
    vocabulary = sorted({w for d in documents for w in d})
    df = Counter(w for d in documents for w in set(d))
    idf = {w: math.log((1 + len(train)) / (1 + df[w])) + 1 for w in vocabulary}

    def vector(text: str) -> np.ndarray:
        counts = Counter(w for w in controls.WORD.findall(text.lower()) if w in idf)
        v = np.array([(1 + math.log(counts[w])) * idf[w] if counts[w] else 0.0 for w in vocabulary])
        return v / (np.linalg.norm(v) or 1.0)

    centroids = np.array([sum(vector(t) for t, y in zip(train, labels, strict=True) if y == c) for c in (0, 1)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    expected = np.array([vector(t) for t in test]) @ centroids.T
    scores = controls.tfidf_centroid_scores(train, labels, test, 2)
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


def test_macro_f1_by_hand():
    predicted, labels = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    # class 0: tp 1, fp 1, fn 0 -> 2/3; class 1: tp 2, fp 0, fn 1 -> 4/5
    f1, per_class = controls.macro_f1(predicted, labels)
    assert per_class == pytest.approx({0: 2 / 3, 1: 4 / 5})
    assert f1 == pytest.approx((2 / 3 + 4 / 5) / 2)


def test_few_topics_get_a_fold_each_and_many_are_hashed():
    assert transfer.fold_ids(["diary", "chat", "diary", "email"], 5).tolist() == [1, 0, 1, 2]
    many = [f"topic {i}" for i in range(40)]
    assert set(transfer.fold_ids(many, 5)) <= set(range(5))


def separable_domain(seed: int, n_emotions: int = 4, per: int = 6, hidden: int = 12) -> transfer.Domain:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_emotions, hidden)) * 5
    labels = np.repeat(np.arange(n_emotions), per)
    x = centres[labels] + rng.normal(size=(len(labels), hidden)) * 0.1
    folds = np.tile(np.arange(per), n_emotions)
    return transfer.Domain(x, labels, folds, rng.normal(size=(10, hidden)), 0.0, [f"text {i}" for i in labels])


def test_held_out_hits_on_separable_emotions_are_perfect_and_the_null_is_not():
    domains = {"story": separable_domain(0)}
    hits1, hits5 = transfer.held_out_hits("expression", domains, "story", 4)
    assert hits1.all() and hits5.all() and len(hits1) == 24
    null1, _ = transfer.held_out_hits("expression", domains, "story", 4, null_seed=1)
    assert null1.mean() < 1.0


def test_cross_domain_rows_cover_each_kind_and_domain_once():
    domains = {"story": separable_domain(0), "short": separable_domain(1)}
    rows = transfer.cross_domain_rows(["expression", "short", "pooled"], domains, 4, seed=0)
    assert sorted((r["kind"], r["test_domain"]) for r in rows) == [
        (k, d) for k in ("expression", "pooled", "short") for d in ("short", "story")
    ]
    own = {(r["kind"], r["test_domain"]): r["top1"] for r in rows}
    assert own[("expression", "story")] == 1.0 and own[("short", "short")] == 1.0
    assert all(r["chance_top1"] == 0.25 and r["top1_low"] <= r["top1"] <= r["top1_high"] for r in rows)


def test_learning_curve_sizes_double_up_to_what_the_domain_holds():
    rows = transfer.learning_rows("expression", separable_domain(0), ["afraid", "calm", "happy", "sad"], seed=0)
    assert [r["texts_per_emotion"] for r in rows] == [1, 2, 4, 6]
    assert [r["n_texts"] for r in rows] == [4, 8, 16, 24]
    assert rows[-1]["top1"] == 1.0


def test_validation_figures_by_hand():
    scores = np.array([[5.0, 0, 0], [0, 5.0, 9.0], [0, 5.0, 0], [5.0, 0, 0]])
    truth = np.array([0, 1, 1, 1])
    found = validation.figures(scores, truth, np.array([0, 1]), seed=0)  # class 2 is not a label: never predicted
    # predictions 0, 1, 1, 0: accuracy 3/4; class 0 F1 2/3, class 1 F1 4/5
    assert found["accuracy"] == 0.75 and found["chance"] == 0.5
    assert found["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert found["confusion"] == {0: {0: 1}, 1: {1: 2, 0: 1}}


def test_labels_map_through_the_map_or_must_be_emotions():
    kept, words, unmapped = validation.map_labels(["joy", "sad", "meh"], {"joy": "happy"}, ["happy", "sad"])
    assert (kept, words, unmapped) == ([0, 1], ["happy", "sad"], ["meh"])


def test_a_text_is_centred_on_the_form_nearest_its_length():
    short, story = FormCentre("short", 40.0, np.ones(2)), FormCentre("expression", 150.0, 2 * np.ones(2))
    probes = StoredProbes("m", "reference", "pooled", 3, ["a"], np.ones((1, 2)), np.zeros(2), forms=[short, story])
    assert probes.centre_for(30).tolist() == [1.0, 1.0]
    assert probes.centre_for(400).tolist() == [2.0, 2.0]
    # 77 tokens is nearer 40 than 150 on a log scale (log 77 - log 40 = 0.65 < log 150 - log 77 = 0.67)
    assert probes.centre_for(77).tolist() == [1.0, 1.0]
    alone = StoredProbes("m", "reference", "expression", 3, ["a"], np.ones((1, 2)), np.full(2, 7.0))
    assert alone.centre_for(30).tolist() == [7.0, 7.0]
