"""Small statistics on arrays: Pearson and Spearman correlation, k-means clustering.

Pearson stays a three-line formula: scipy's `pearsonr` gives the same r (to 4e-16) but warns on a constant input
where this returns NaN, and costs more per call in the bootstrap loops. k-means stays hand-written too: scikit-learn's
`KMeans` seeds its restarts from another random stream, so it returns other partitions of the same probes (none of
20 random 171-probe sets, k = 10, came out the same) and every stored `cluster` would change.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of the ranks (ties share their average rank: scipy's `rankdata`, exact and vectorised)."""
    return pearson(rankdata(a), rankdata(b))


def kmeans(x: np.ndarray, k: int, seed: int = 0, restarts: int = 10, max_iter: int = 100) -> np.ndarray:
    """Cluster labels of the rows of `x`: Lloyd's k-means from k-means++ seeds, the lowest-inertia of `restarts`.

    Deterministic for a given seed. Clusters are renumbered by their first member's row, so the labels do not
    depend on which restart won.
    """
    x = np.asarray(x, dtype=np.float64)
    k = min(k, len(x))
    rng = np.random.default_rng(seed)
    best_labels, best_inertia = None, np.inf
    for _ in range(restarts):
        labels, inertia = _lloyd(x, _plus_plus(x, k, rng), max_iter)
        if inertia < best_inertia - 1e-12:
            best_labels, best_inertia = labels, inertia
    return _renumber(best_labels)


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre drawn with probability proportional to its squared distance."""
    centres = [x[rng.integers(len(x))]]
    distances = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = distances.sum()
        pick = rng.choice(len(x), p=distances / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
        distances = np.minimum(distances, ((x - x[pick]) ** 2).sum(axis=1))
    return np.array(centres)


def _lloyd(x: np.ndarray, centres: np.ndarray, max_iter: int) -> tuple[np.ndarray, float]:
    labels = np.full(len(x), -1)
    squared = (x**2).sum(axis=1)[:, None]
    for _ in range(max_iter):
        distances = squared - 2 * x @ centres.T + (centres**2).sum(axis=1)[None, :]
        new_labels = distances.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for cluster in range(len(centres)):
            members = x[labels == cluster]
            # An emptied cluster takes the point farthest from its centre, so k clusters always come back.
            centres[cluster] = members.mean(axis=0) if len(members) else x[distances.min(axis=1).argmax()]
    inertia = float(((x - centres[labels]) ** 2).sum())
    return labels, inertia


def _renumber(labels: np.ndarray) -> np.ndarray:
    order = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels])
