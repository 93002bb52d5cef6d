"""Per-class figures of a validation (`emolake validate`): precision, recall and F1 of each emotion the labels use,
and the confusion counted between emotion families (`etl/data/emotion_groups.toml`), the rows of `validation_classes`
and `validation_families`.

A confusion between 171 fine emotions is mostly empty cells; between the 14 families it shows whether a miss stays
near (anxious for afraid: fear for fear) or crosses into another family.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from etl import catalog


def class_rows(predicted: np.ndarray, truth: np.ndarray, classes: np.ndarray, emotions: list[str]) -> list[dict]:
    """One row per class of `classes` (codes into `emotions`): its precision, recall and F1 (scikit-learn's,
    0 where undefined) and support (texts labelled with it), with the emotion's family."""
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, average=None, zero_division=0.0
    )
    family = catalog.group_of()
    return [
        {
            "emotion": emotions[c],
            "family": family.get(emotions[c], ""),
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(n),
        }
        for c, p, r, f, n in zip(classes, precision, recall, f1, support, strict=True)
    ]


def family_rows(predicted: np.ndarray, truth: np.ndarray, emotions: list[str]) -> list[dict]:
    """One row per (true family, predicted family) pair that occurs, with its count of texts."""
    family = catalog.group_of()
    pairs = Counter(
        (family.get(emotions[t], ""), family.get(emotions[p], "")) for t, p in zip(truth, predicted, strict=True)
    )
    return [{"true_family": t, "predicted_family": p, "n": n} for (t, p), n in sorted(pairs.items())]
