"""Validation on labelled texts a user brings: accuracy, macro-F1, per-class F1 and a confusion matrix per probe set.

Predictions are restricted to the emotions the labels use (k of them), so chance is 1/k, and every text is centred
on the mean emotional text of its form, as `nearest` does. Intervals are bootstrap 95% intervals over texts.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from etl.evaluation.controls import N_BOOTSTRAP, interval, macro_f1, resampled
from etl.lake.evaluation_schemas import VALIDATION_RUNS as SCHEMA  # noqa: F401 (re-exported)


def map_labels(labels: list[str], mapping: dict[str, str], emotions: list[str]) -> tuple[list[int], list[str], list]:
    """(kept row indices, their emotion words, unmapped labels). A label maps through `mapping`, else must be one of
    the probe emotions itself; rows whose label maps to nothing are dropped (and reported)."""
    known = set(emotions)
    kept, words, unmapped = [], [], []
    for row, label in enumerate(labels):
        word = mapping.get(label, label)
        if word in known:
            kept.append(row)
            words.append(word)
        else:
            unmapped.append(label)
    return kept, words, unmapped


def resampled_macro_f1(predicted: np.ndarray, truth: np.ndarray, axis: int = -1) -> np.ndarray:
    """Macro-F1 of each resample (row): it averages the classes that resample holds (a class drawn zero times has
    no F1)."""
    return np.array([macro_f1(p, t)[0] for p, t in zip(predicted, truth, strict=True)])


def figures(scores: np.ndarray, truth: np.ndarray, classes: np.ndarray, seed: int) -> dict:
    """Accuracy and macro-F1 (with bootstrap intervals), per-class F1 and the confusion matrix of restricted argmax."""
    predicted = classes[np.argmax(scores[:, classes], axis=1)]
    accuracy = float(np.mean(predicted == truth))
    f1, per_class = macro_f1(predicted, truth, classes)
    # Both intervals resample the same texts (one seed): accuracy from the hits, macro-F1 from the pairs.
    accuracies = resampled(((predicted == truth).astype(np.float64),), np.mean, seed, N_BOOTSTRAP)
    f1s = resampled((predicted, truth), resampled_macro_f1, seed, N_BOOTSTRAP)
    confusion = {int(t): {} for t in classes}
    for t, p in zip(truth, predicted, strict=True):
        confusion[int(t)][int(p)] = confusion[int(t)].get(int(p), 0) + 1
    return {
        "chance": 1 / len(classes),
        "accuracy": accuracy,
        "accuracy_low": interval(accuracies)[0],
        "accuracy_high": interval(accuracies)[1],
        "macro_f1": f1,
        "macro_f1_low": interval(f1s)[0],
        "macro_f1_high": interval(f1s)[1],
        "per_class": per_class,
        "confusion": confusion,
    }


def run_id(input_hash: str, model: str, source: str, kind: str, layer: int) -> str:
    """Same input, mapping and probe set -> same id: a repeated validation replaces its row."""
    return hashlib.sha256(f"{input_hash}|{model}|{source}|{kind}|{layer}".encode()).hexdigest()[:16]


def row(meta: dict, found: dict, emotions: list[str]) -> dict:
    """One `validation_runs` row; classes and confusion are stored by emotion word as JSON."""
    return {
        **meta,
        **{k: v for k, v in found.items() if k not in ("per_class", "confusion")},
        "per_class_f1": json.dumps({emotions[c]: round(v, 4) for c, v in found["per_class"].items()}),
        "confusion": json.dumps(
            {emotions[t]: {emotions[p]: n for p, n in row_.items()} for t, row_ in found["confusion"].items()}
        ),
    }
