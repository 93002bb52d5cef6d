import numpy as np
import pytest

from etl.evaluation.stats import pearson, spearman
from etl.probes.maths import (
    baseline_components,
    expression_probes,
    group_means,
    principal_axes,
    project_out,
    scores,
    top_k_hits,
)


def naive_probes(x, labels, n, baseline, variance):
    """The recipe written out with loops and an eigendecomposition, as a reference."""
    means = np.array([x[labels == e].mean(axis=0) for e in range(n)])
    center = means.mean(axis=0)
    diffs = means - center
    centred = baseline - baseline.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    share = np.cumsum(values) / values.sum()
    k = int(np.argmax(share >= variance)) + 1
    basis = vectors[:, :k]
    for i in range(n):
        for j in range(k):
            diffs[i] -= (diffs[i] @ basis[:, j]) * basis[:, j]
        diffs[i] /= np.linalg.norm(diffs[i])
    return diffs, center, k


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)) + rng.normal(size=(1, 16)) * 3
    labels = np.repeat(np.arange(6), 50)
    rng.shuffle(labels)
    baseline = rng.normal(size=(80, 16)) * np.linspace(4, 0.5, 16)
    return x, labels, baseline


def test_group_means_match_a_loop(data):
    x, labels, _ = data
    expected = np.array([x[labels == e].mean(axis=0) for e in range(6)])
    np.testing.assert_allclose(group_means(x, labels, 6), expected, atol=1e-5)


def test_group_means_of_an_absent_group_are_zero(data):
    x, labels, _ = data
    assert np.all(group_means(x, labels, 8)[6:] == 0)


def test_group_means_of_float16_do_not_accumulate_in_float16():
    x = np.full((40000, 2), 1000.1, dtype=np.float16)
    assert group_means(x, np.zeros(40000, dtype=int), 1)[0, 0] == pytest.approx(float(np.float16(1000.1)), rel=1e-6)


def test_expression_probes_match_the_naive_recipe(data):
    x, labels, baseline = data
    expected, center, k = naive_probes(x, labels, 6, baseline, 0.5)
    probe_set = expression_probes(x, labels, 6, baseline, 0.5)
    assert probe_set.n_components == k
    np.testing.assert_allclose(probe_set.center, center, atol=1e-5)
    np.testing.assert_allclose(probe_set.vectors, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(probe_set.vectors, axis=1), 1, atol=1e-6)


def test_projected_probes_are_orthogonal_to_the_baseline_components(data):
    x, labels, baseline = data
    components, share = baseline_components(baseline, 0.5)
    assert share >= 0.5
    probe_set = expression_probes(x, labels, 6, baseline, 0.5)
    assert np.abs(probe_set.vectors @ components.T).max() < 1e-5


def test_zero_variance_projects_nothing(data):
    x, _, baseline = data
    components, share = baseline_components(baseline, 0.0)
    assert components.shape == (0, 16) and share == 0
    np.testing.assert_array_equal(project_out(x, components), x)


def test_scores_rank_the_planted_emotion_first():
    rng = np.random.default_rng(1)
    directions = np.eye(8)[:4] * 5
    labels = np.repeat(np.arange(4), 30)
    x = directions[labels] + rng.normal(size=(120, 8)) * 0.5
    probe_set = expression_probes(x, labels, 4, rng.normal(size=(30, 8)) * 0.01, 0.0)
    assert top_k_hits(scores(x, probe_set), labels, 1).mean() > 0.95


def test_principal_axes_find_the_dominant_direction():
    rng = np.random.default_rng(2)
    t = rng.normal(size=50)
    points = np.outer(t, [3, 0, 0]) + rng.normal(size=(50, 3)) * 0.1
    axes, explained = principal_axes(points, 2)
    assert abs(pearson(axes[:, 0], t)) > 0.99 and explained[0] > 0.9


def test_correlations():
    # Ties share their average rank: [10, 20, 20, 5] ranks as [2, 3.5, 3.5, 1].
    assert spearman(np.array([10, 20, 20, 5]), np.array([2, 3.5, 3.5, 1])) == pytest.approx(1)
    assert spearman(np.array([10, 20, 20, 5]), np.array([2, 3, 4, 1])) < 1
    assert spearman(np.array([1, 2, 3, 4]), np.array([1, 4, 9, 16])) == pytest.approx(1)
    assert pearson(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1)


def test_top_k_hits_rank_as_a_stable_sort_does_ties_and_minus_infinity_included():
    from etl.probes.maths import top_k_hits

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(300, 9)).astype(float)  # many ties
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    labels = rng.integers(0, 9, size=300)
    order = np.argsort(-scores, axis=1, kind="stable")
    for k in (1, 2, 5, 9):
        np.testing.assert_array_equal(top_k_hits(scores, labels, k), (order[:, :k] == labels[:, None]).any(axis=1))
