"""How much of a probe set is signal: split-half stability, and norms decoded from the probes by ridge regression.

PC1-versus-valence asks whether valence is the *dominant* axis of the probes. When probes are averaged over few
texts per emotion, sampling noise and writing style can take the top components even though valence is still
linearly present; these two figures tell those cases apart.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from etl import catalog
from etl.evaluation.stats import pearson
from etl.probes import recipe

RIDGE = 1.0
"""Ridge penalty for decoding norms from unit probe vectors (in units of the probes' squared norm)."""


def split_halves(labels: np.ndarray, seed: int) -> np.ndarray:
    """A boolean mask putting half of each label's texts (rounded down) in the first half, seeded."""
    rng = np.random.default_rng(seed)
    first = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        first[rng.permutation(members)[: len(members) // 2]] = True
    return first


def split_half_cosine(
    x: np.ndarray,
    labels: np.ndarray,
    n_emotions: int,
    baseline: np.ndarray,
    variance: float,
    seed: int,
    exclude: np.ndarray | None = None,
) -> dict:
    """Mean cosine between each emotion's probes rebuilt from two disjoint halves of its texts (same recipe).

    1.0 means a probe does not depend on which texts it saw; near 0 means it is mostly sampling noise. Only
    emotions with at least two texts count.
    """
    usable = np.bincount(labels, minlength=n_emotions) >= 2
    if not usable.any():
        return {"split_half_cos": None}
    first = split_halves(labels, seed)
    halves = [
        recipe.build(x[mask], labels[mask], n_emotions, baseline, variance, exclude).vectors.astype(np.float64)
        for mask in (first, ~first)
    ]
    cosines = np.sum(halves[0] * halves[1], axis=1)[usable]
    return {"split_half_cos": float(cosines.mean())}


def decoded_norms(vectors: np.ndarray, emotions: list[str], folds: int = 5) -> dict:
    """Cross-validated Pearson r of valence and arousal predicted from the probe vectors by ridge regression.

    Folds interleave the rated emotions in catalog order.
    """
    norms = catalog.norms()
    rated = [i for i, e in enumerate(emotions) if e in norms]
    if len(rated) < 2 * folds:
        return {}
    x = np.asarray(vectors, dtype=np.float64)[rated]
    fold_of = np.arange(len(rated)) % folds
    out = {}
    for name in ("valence", "arousal"):
        target = np.array([norms[emotions[i]][name] for i in rated])
        predicted = np.zeros(len(rated))
        for fold in range(folds):
            train, test = fold_of != fold, fold_of == fold
            predicted[test] = ridge_predict(x[train], target[train], x[test])
        out[f"{name}_decoded_r"] = pearson(predicted, target)
    return out


def ridge_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Ridge regression with intercept (scikit-learn's `Ridge`, penalty `RIDGE`), fitted on (x_train, y_train),
    evaluated on x_test."""
    return Ridge(alpha=RIDGE).fit(x_train, y_train).predict(x_test)
