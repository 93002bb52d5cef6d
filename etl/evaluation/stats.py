"""Small statistics on arrays: Pearson and Spearman correlation, k-means clustering."""

from __future__ import annotations

import numpy as np


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        out[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return pearson(ranks(a), ranks(b))


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
