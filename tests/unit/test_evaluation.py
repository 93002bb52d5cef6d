"""Evaluation maths on synthetic arrays: k-means, geometry, deflection comparison, held-out rebuilds, tables."""

import math

import numpy as np
import pyarrow as pa
import pytest

from etl import catalog
from etl.evaluation import classification, deflection, geometry, tables
from etl.evaluation.scenarios import diagonal_strength
from etl.evaluation.stats import kmeans
from etl.probes import recipe

RATED = [e for e in catalog.emotions() if e in catalog.norms()][:40]


def blobs(seed=0, k=4, per=12, dim=8, spread=0.05):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3
    labels = np.repeat(np.arange(k), per)
    return centres[labels] + rng.normal(size=(k * per, dim)) * spread, labels


def same_partition(a, b) -> bool:
    pairs = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    return len(pairs) == len(set(a)) == len(set(b))


def test_kmeans_recovers_separated_clusters_and_is_deterministic():
    x, truth = blobs()
    labels = kmeans(x, 4, seed=3)
    assert same_partition(labels, truth)
    np.testing.assert_array_equal(labels, kmeans(x, 4, seed=3))
    assert labels[0] == 0 and sorted(set(labels.tolist())) == [0, 1, 2, 3]


def test_kmeans_with_more_clusters_than_points_gives_each_point_its_own():
    x, _ = blobs(k=2, per=2)
    assert sorted(kmeans(x, 10).tolist()) == [0, 1, 2, 3]


def test_kmeans_beats_a_single_restart_on_a_hard_case():
    x, truth = blobs(seed=1, k=8, per=6, spread=0.4)
    labels = kmeans(x, 8, seed=0, restarts=10)
    inertia = sum(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum() for c in set(labels.tolist()))
    truth_inertia = sum(((x[truth == c] - x[truth == c].mean(axis=0)) ** 2).sum() for c in range(8))
    assert inertia <= truth_inertia + 1e-9


def probes_from_norms(emotions, flip=False, noise=0.05, seed=0):
    """Probes whose two dominant directions carry valence and arousal exactly."""
    rng = np.random.default_rng(seed)
    norms = catalog.norms()
    valence = np.array([norms[e]["valence"] for e in emotions])
    arousal = np.array([norms[e]["arousal"] for e in emotions])
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    vectors = (
        np.outer(valence - valence.mean(), basis[0]) * 3
        + np.outer(arousal - arousal.mean(), basis[1])
        + rng.normal(size=(len(emotions), 16)) * noise
    )
    return -vectors if flip else vectors


@pytest.mark.parametrize("flip", [False, True])
def test_geometry_finds_valence_on_pc1_and_arousal_on_pc2_whatever_the_sign(flip):
    vectors = probes_from_norms(RATED, flip=flip)
    out = geometry.correlations(vectors, RATED)
    assert out["pc1_valence_r"] > 0.99 and out["pc1_valence_spearman"] > 0.98
    assert out["pc2_arousal_r"] > 0.95
    assert out["pc1_var"] > out["pc2_var"] > 0
    assert out["n_rated"] == len(RATED)


def test_geometry_of_unrelated_probes_is_weak():
    vectors = np.random.default_rng(5).normal(size=(len(RATED), 64))
    assert abs(geometry.correlations(vectors, RATED)["pc1_valence_r"]) < 0.5


def test_map_rows_match_the_correlations_and_leave_unrated_emotions_without_norms():
    unrated = [e for e in catalog.emotions() if e not in catalog.norms()][:2]
    emotions = RATED + unrated
    vectors = np.vstack([probes_from_norms(RATED), np.random.default_rng(1).normal(size=(2, 16)) * 0.1])
    rows = geometry.map_rows(vectors, emotions, np.zeros(len(emotions), dtype=int))
    assert [r["emotion"] for r in rows] == emotions
    assert set(rows[0]) == {"emotion", "pc1", "pc2", "valence", "arousal", "cluster"}
    assert rows[-1]["valence"] is None and rows[-1]["arousal"] is None
    rated = rows[: len(RATED)]
    assert np.corrcoef([r["pc1"] for r in rated], [r["valence"] for r in rated])[0, 1] > 0.99


def test_cosine_matrix_is_symmetric_with_unit_diagonal():
    vectors = np.random.default_rng(0).normal(size=(7, 5))
    matrix = geometry.cosine_matrix(vectors * np.arange(1, 8)[:, None])
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert matrix[0, 1] == pytest.approx(
        vectors[0] @ vectors[1] / np.linalg.norm(vectors[0]) / np.linalg.norm(vectors[1])
    )


def test_clusters_group_probes_by_direction_not_length():
    x, truth = blobs(dim=6)
    scaled = x * np.random.default_rng(2).uniform(0.5, 5, size=(len(x), 1))
    assert same_partition(geometry.clusters(scaled, 4, seed=0), truth)


def test_deflection_compare_measures_matched_cosine_and_unmatched_baseline():
    rng = np.random.default_rng(0)
    expression = np.linalg.qr(rng.normal(size=(10, 5)))[0].T  # 5 orthonormal rows in 10 dims
    names = ["afraid", "angry", "calm", "happy", "sad"]
    other = np.linalg.qr(np.hstack([expression.T, rng.normal(size=(10, 1))]))[0][:, 5]
    # Deflection probe of each emotion: cos 0.2 with its expression probe, the rest orthogonal to every expression.
    defl = 0.2 * expression[[1, 3]] + math.sqrt(1 - 0.04) * other
    rows = deflection.compare(
        (names, expression), (["angry", "happy", "bored"], np.vstack([defl, other])), {"angry": 0.9}
    )
    assert [r["emotion"] for r in rows] == ["angry", "happy"]
    assert rows[0]["cosine"] == pytest.approx(0.2)
    assert rows[0]["unmatched_abs_cosine"] == pytest.approx(0.0, abs=1e-9)
    assert rows[0]["norm_kept"] == 0.9 and rows[1]["norm_kept"] is None
    summary = deflection.summarise(rows)
    assert summary["matched_cosine"] == pytest.approx(0.2) and summary["n_pairs"] == 2
    assert summary["norm_kept"] == 0.9
    raw = np.vstack([expression[1], expression[4], other])  # before orthogonalisation: angry == expression angry
    with_raw = deflection.compare(
        (names, expression), (["angry", "happy", "bored"], np.vstack([defl, other])), None, raw
    )
    assert with_raw[0]["raw_cosine"] == pytest.approx(1.0) and with_raw[1]["raw_cosine"] == pytest.approx(0.0, abs=1e-9)
    assert deflection.summarise(with_raw)["raw_matched_cosine"] == pytest.approx(0.5)
    assert summary["raw_matched_cosine"] is None and summary["norm_kept"] == 0.9
    assert deflection.compare((names, expression), (["bored"], other[None])) == []
    assert deflection.summarise([]) == {}


def stories(seed=0, n_emotions=4, per=20, dim=12):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_emotions, dim)) * 2
    labels = np.repeat(np.arange(n_emotions), per)
    x = centres[labels] + rng.normal(size=(len(labels), dim)) * 0.3
    topics = [f"topic {i % per}" for i in range(len(labels))]
    baseline = rng.normal(size=(30, dim)) * 0.1
    return x, labels, topics, baseline


def test_held_out_classifies_separable_texts_and_counts_every_test_text():
    x, labels, topics, baseline = stories()
    out = classification.held_out(x, labels, topics, 4, baseline, 0.5, folds=4)
    assert out["top1"] == 1.0 and out["top5"] == 1.0 and out["n_test"] == len(labels)


def test_held_out_topics_never_leak_between_train_and_test(monkeypatch):
    x, labels, topics, baseline = stories()
    topic_ids = np.array([int(t.split()[1]) for t in topics], dtype=float)
    x = np.hstack([x, topic_ids[:, None]])  # the last column names each text's topic
    seen = []
    build, score = recipe.build, classification.scores

    def spy_build(train_x, *args):
        seen.append({"train": set(train_x[:, -1].tolist())})
        return build(train_x, *args)

    def spy_score(test_x, probe_set):
        seen[-1]["test"] = set(np.asarray(test_x)[:, -1].tolist())
        return score(test_x, probe_set)

    monkeypatch.setattr(recipe, "build", spy_build)
    monkeypatch.setattr(classification, "scores", spy_score)
    out = classification.held_out(x, labels, topics, 4, np.hstack([baseline, np.zeros((30, 1))]), 0.5, folds=5)
    assert len(seen) > 1 and out["n_test"] == len(labels)
    assert all(fold["train"].isdisjoint(fold["test"]) for fold in seen)
    assert set().union(*(fold["test"] for fold in seen)) == set(topic_ids.tolist())


def test_held_out_with_an_excluded_space_loses_what_lives_there():
    x, labels, topics, baseline = stories(dim=6)
    centred = x - x.mean(axis=0)
    # Excluding every direction that separates the emotions leaves nothing to classify with.
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = classification.held_out(x, labels, topics, 4, baseline, 0.0, 4, exclude=vt[:6])
    # Every probe is emptied, so every score ties at exactly 0 and the first emotion wins everywhere: chance.
    assert out["top1"] == pytest.approx(np.mean(labels == 0))
    assert classification.held_out(x, labels, topics, 4, baseline, 0.0, 4, exclude=vt[:0])["top1"] == 1.0


def test_held_out_with_a_single_topic_has_no_test_set():
    x, labels, _, baseline = stories()
    out = classification.held_out(x, labels, ["same"] * len(labels), 4, baseline, 0.5, folds=3)
    assert out == {"top1": None, "top5": None, "n_test": 0}


def test_kind_data_covers_every_probe_kind_the_config_knows():
    from etl.config import PROBE_KINDS
    from etl.config.kinds import KINDS

    assert set(KINDS) == set(PROBE_KINDS)


def test_scenario_diagonal_strength_is_high_when_each_target_wins():
    emotions = ["afraid", "calm", "sad", "happy", "proud", "angry"]
    rows = []
    for scenario, target in (("a", "afraid"), ("b", "calm")):
        for i, emotion in enumerate(emotions):
            score = 5.0 if emotion == target else float(i) / 10
            rank = 1 if emotion == target else 2 + i
            rows.append(
                {"scenario": scenario, "target": target, "kind": "expression", "layer": 3, "emotion": emotion}
                | {"score": score, "rank": rank}
            )
    strength = diagonal_strength(rows)[("expression", 3)]
    assert strength["scenario_diagonal"] > 2 and strength["scenario_target_rank"] == 1
    assert strength["scenario_top5"] == 1.0 and strength["n_scenarios"] == 2
    flipped = [r | {"score": -r["score"]} for r in rows]
    assert diagonal_strength(flipped)[("expression", 3)]["scenario_diagonal"] < 0


def test_tables_have_fixed_schemas_and_store_nan_as_null():
    table = tables.from_rows("evaluation_layers", [{"layer": 1, "kind": "expression", "pc1_valence_r": float("nan")}])
    assert table.schema.names == [name for name, _ in tables.SCHEMAS["evaluation_layers"]]
    assert table.column("pc1_valence_r").to_pylist() == [None] and table.column("top1").to_pylist() == [None]
    assert tables.from_rows("probe_map", []).num_rows == 0
    with pytest.raises(ValueError, match="bogus"):
        tables.from_rows("probe_map", [{"bogus": 1}])


def test_vector_matrix_and_cosine_table_round_trip():
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    column = pa.chunked_array([pa.array(vectors.tolist(), pa.list_(pa.float32(), 4))])
    np.testing.assert_array_equal(tables.vector_matrix(column), vectors)
    table = tables.cosine_table([("expression", 2, ["a", "b"], np.array([[1.0, 0.5], [0.5, 1.0]]))])
    assert table.num_rows == 4
    assert table.column("emotion_b").to_pylist() == ["a", "b", "a", "b"]
    assert table.column("cosine").to_pylist() == [1.0, 0.5, 0.5, 1.0]
    assert tables.cosine_table([]).schema == table.schema
