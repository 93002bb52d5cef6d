"""Per-class precision/recall/F1 and the family confusion of a validation, by hand."""

import numpy as np
import pytest

from etl.evaluation import per_class, validation

EMOTIONS = ["afraid", "angry", "nervous", "sad"]  # families: fear, anger, fear, sadness


def test_per_class_precision_recall_and_f1_by_hand():
    truth = np.array([0, 0, 0, 1, 1, 3])
    predicted = np.array([0, 0, 2, 1, 0, 3])
    rows = {r["emotion"]: r for r in per_class.class_rows(predicted, truth, np.array([0, 1, 3]), EMOTIONS)}
    # afraid: 2 of the 3 predicted afraid are afraid (precision 2/3), 2 of the 3 afraid texts found (recall 2/3)
    assert rows["afraid"]["precision"] == pytest.approx(2 / 3) and rows["afraid"]["recall"] == pytest.approx(2 / 3)
    assert rows["angry"] == {
        "emotion": "angry",
        "family": "anger",
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert rows["sad"]["f1"] == 1.0 and rows["sad"]["family"] == "sadness"
    assert "nervous" not in rows  # not a label: no row


def test_family_confusion_counts_misses_inside_and_across_families():
    truth = np.array([0, 0, 0, 1, 1, 3])
    predicted = np.array([0, 0, 2, 1, 0, 3])
    rows = per_class.family_rows(predicted, truth, EMOTIONS)
    assert rows == [
        {"true_family": "anger", "predicted_family": "anger", "n": 1},
        {"true_family": "anger", "predicted_family": "fear", "n": 1},
        {"true_family": "fear", "predicted_family": "fear", "n": 3},  # afraid read as nervous stays in fear
        {"true_family": "sadness", "predicted_family": "sadness", "n": 1},
    ]


def test_figures_return_the_predictions_the_per_class_rows_use():
    scores = np.array([[5.0, 0, 0], [0, 5.0, 9.0], [0, 5.0, 0], [5.0, 0, 0]])
    found = validation.figures(scores, np.array([0, 1, 1, 1]), np.array([0, 1]), seed=0)
    assert found["predicted"].tolist() == [0, 1, 1, 0]
