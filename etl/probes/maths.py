"""Probe maths on plain arrays: group means, baseline components, projection, normalisation, scoring.

Shapes: X is (n_texts, hidden); labels are integer codes in [0, n_groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BuiltProbes:
    """A probe set as the recipe builds it, before it is stored (then read back as `etl.probes.stored.StoredProbes`)."""

    vectors: np.ndarray
    """(n_emotions, hidden) unit vectors."""
    center: np.ndarray
    """(hidden,) the mean over emotions of the emotion means: subtract it before scoring."""
    n_components: int
    """Baseline components projected out."""
    variance_removed: float
    """Share of the baseline's variance those components explain."""
    norm_kept: np.ndarray | None = None
    """Per probe, the share of norm left after an excluded space was projected out (`etl.probes.recipe.build`)."""


def group_means(x: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean row of `x` per label; `x` may be a float16 memory map and is never materialised whole.

    Rows are gathered group by group in ascending row order (sequential reads of the map) and summed in float32
    with numpy's pairwise summation, which keeps the error far below float16 resolution.
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_groups + 1))
    means = np.zeros((n_groups, x.shape[1]), dtype=np.float64)
    for group in range(n_groups):
        rows = order[bounds[group] : bounds[group + 1]]
        if len(rows):
            means[group] = np.asarray(x[rows], dtype=np.float32).sum(axis=0, dtype=np.float32) / len(rows)
    return means


def baseline_components(baseline: np.ndarray, variance: float) -> tuple[np.ndarray, float]:
    """Top principal directions of the centred baseline texts that together explain `variance` of it.

    Returns (components (k, hidden), share explained). variance = 0 returns no component.
    """
    if variance <= 0 or len(baseline) < 2:
        return np.zeros((0, baseline.shape[1])), 0.0
    centred = baseline - baseline.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    k = int(np.searchsorted(np.cumsum(explained), variance) + 1)
    k = min(k, len(explained))
    return vt[:k], float(np.sum(explained[:k]))


def project_out(vectors: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Removes the span of orthonormal `components` (k, hidden) from each row of `vectors`."""
    if len(components) == 0:
        return vectors
    return vectors - (vectors @ components.T) @ components


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def expression_probes(
    x: np.ndarray,
    labels: np.ndarray,
    n_emotions: int,
    baseline: np.ndarray,
    variance: float,
    components: np.ndarray | None = None,
) -> BuiltProbes:
    """The paper's recipe: emotion mean minus the mean over emotions, baseline PCs projected out, unit norm.
    `components`, if given, are the baseline's PCs up to `variance`, computed before (then `variance_removed` is
    not known: NaN)."""
    means = group_means(x, labels, n_emotions)
    present = np.bincount(labels, minlength=n_emotions) > 0
    center = means[present].mean(axis=0)
    if components is None:
        components, removed = baseline_components(np.asarray(baseline, dtype=np.float64), variance)
    else:
        removed = float("nan")
    vectors = unit(project_out(means - center, components))
    vectors[~present] = 0.0
    return BuiltProbes(vectors.astype(np.float32), center.astype(np.float32), len(components), removed)


def scores(x: np.ndarray, probes: BuiltProbes) -> np.ndarray:
    """(n_texts, n_emotions) projections of centred texts on the probe directions."""
    return (np.asarray(x, dtype=np.float32) - probes.center) @ probes.vectors.T


def top_k_hits(score_matrix: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Whether each row's true label is among its k highest scores; tied scores rank by emotion order (what a stable
    sort of the negated scores gives, on every machine), counted without sorting: the label is in the top k when
    fewer than k emotions score above it or tie with it from an earlier column."""
    scores = np.asarray(score_matrix)
    labels = np.asarray(labels)
    true = scores[np.arange(len(labels)), labels][:, None]
    earlier = np.arange(scores.shape[1])[None, :] < labels[:, None]
    return ((scores > true) | ((scores == true) & earlier)).sum(axis=1) < k


def principal_axes(vectors: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the rows of `vectors` on their first n principal components, and each component's share."""
    centred = vectors - vectors.mean(axis=0)
    u, singular, _ = np.linalg.svd(centred, full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    return u[:, :n] * singular[:n], explained[:n]
