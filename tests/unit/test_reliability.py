"""Split-half stability and ridge decoding of norms from probes."""

import numpy as np

from etl import catalog
from etl.evaluation import reliability

RATED = [e for e in catalog.emotions() if e in catalog.norms()][:60]


def texts(signal: float, per: int = 10, n_emotions: int = 12, dim: int = 32, seed: int = 0):
    """Texts whose emotion means lie `signal` apart, with unit noise per text."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_emotions, dim)) * signal
    labels = np.repeat(np.arange(n_emotions), per)
    return centres[labels] + rng.normal(size=(len(labels), dim)), labels


def test_split_halves_put_half_of_each_label_on_each_side_and_are_seeded():
    labels = np.repeat(np.arange(3), [4, 5, 1])
    first = reliability.split_halves(labels, seed=2)
    assert [int(first[labels == k].sum()) for k in range(3)] == [2, 2, 0]
    np.testing.assert_array_equal(first, reliability.split_halves(labels, seed=2))


def test_split_half_cosine_is_near_one_for_strong_signal_and_near_zero_for_noise():
    baseline = np.zeros((4, 32))
    strong_x, strong_labels = texts(signal=5.0)
    noise_x, _ = texts(signal=0.0)
    strong = reliability.split_half_cosine(strong_x, strong_labels, 12, baseline, 0.0, seed=0)["split_half_cos"]
    noise = reliability.split_half_cosine(noise_x, strong_labels, 12, baseline, 0.0, seed=0)["split_half_cos"]
    assert strong > 0.95
    assert abs(noise) < 0.2


def test_split_half_cosine_ignores_emotions_with_a_single_text():
    x, labels = texts(signal=5.0, per=1)
    assert reliability.split_half_cosine(x, labels, 12, np.zeros((4, 32)), 0.0, seed=0) == {"split_half_cos": None}


def test_an_excluded_space_is_removed_from_both_halves():
    x, labels = texts(signal=5.0)
    everything = np.eye(32)
    out = reliability.split_half_cosine(x, labels, 12, np.zeros((4, 32)), 0.0, seed=0, exclude=everything)
    assert out["split_half_cos"] == 0.0


def test_ridge_predict_matches_the_primal_solution():
    rng = np.random.default_rng(3)
    x_train, y_train, x_test = rng.normal(size=(20, 50)), rng.normal(size=20), rng.normal(size=(5, 50))
    centred = x_train - x_train.mean(axis=0)
    gram = centred.T @ centred + reliability.RIDGE * np.eye(50)
    weights = np.linalg.solve(gram, centred.T @ (y_train - y_train.mean()))
    expected = (x_test - x_train.mean(axis=0)) @ weights + y_train.mean()
    np.testing.assert_allclose(reliability.ridge_predict(x_train, y_train, x_test), expected, atol=1e-9)


def test_decoded_norms_find_valence_hidden_off_the_top_components():
    rng = np.random.default_rng(1)
    norms = catalog.norms()
    valence = np.array([norms[e]["valence"] for e in RATED])
    # Valence lives on one small direction; larger random variance dominates the principal components.
    vectors = rng.normal(size=(len(RATED), 24)) * 2.0
    vectors[:, 0] = (valence - valence.mean()) * 0.5
    decoded = reliability.decoded_norms(vectors, RATED)
    assert decoded["valence_decoded_r"] > 0.8
    assert abs(reliability.decoded_norms(rng.normal(size=(len(RATED), 24)), RATED)["valence_decoded_r"]) < 0.4


def test_decoded_norms_need_enough_rated_emotions():
    assert reliability.decoded_norms(np.ones((4, 8)), RATED[:4]) == {}
