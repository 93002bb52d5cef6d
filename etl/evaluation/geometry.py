"""Geometry of one probe set: principal axes against valence/arousal norms, cosine matrix, k-means clusters.

Principal-component signs are arbitrary, so PC1 is oriented to correlate positively with valence and PC2 with
arousal (over the norm-rated emotions) before anything is reported or plotted.
"""

from __future__ import annotations

import numpy as np

from etl import catalog
from etl.evaluation.stats import kmeans, pearson, spearman
from etl.probes.maths import principal_axes

AXES = (("valence", 0), ("arousal", 1))
"""Which norm each principal component is compared with."""


def oriented_axes(vectors: np.ndarray, emotions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) scores on PC1/PC2, each sign-flipped to correlate positively with its norm, and their variance shares."""
    axes, explained = principal_axes(np.asarray(vectors, dtype=np.float64), 2)
    norms = catalog.norms()
    rated = [i for i, e in enumerate(emotions) if e in norms]
    for name, column in AXES:
        if column < axes.shape[1] and len(rated) >= 3:
            target = np.array([norms[emotions[i]][name] for i in rated])
            if pearson(axes[rated, column], target) < 0:
                axes[:, column] *= -1
    return axes, explained


def correlations(vectors: np.ndarray, emotions: list[str]) -> dict:
    """pc1_var/pc2_var, and Pearson and Spearman r of PC1 with valence and PC2 with arousal on the rated emotions."""
    if len(emotions) < 3:
        return {}
    axes, explained = oriented_axes(vectors, emotions)
    out = {"pc1_var": float(explained[0]), "pc2_var": float(explained[1]) if len(explained) > 1 else None}
    norms = catalog.norms()
    rated = [i for i, e in enumerate(emotions) if e in norms]
    out["n_rated"] = len(rated)
    if len(rated) < 3:
        return out
    for name, column in AXES:
        if column >= axes.shape[1]:
            continue
        target = np.array([norms[emotions[i]][name] for i in rated])
        prefix = f"pc{column + 1}_{name}"  # which component against which norm, e.g. pc1_valence_r
        out[f"{prefix}_r"] = pearson(axes[rated, column], target)
        out[f"{prefix}_spearman"] = spearman(axes[rated, column], target)
    return out


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarity of the rows (zero rows give zero similarity)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    return unit @ unit.T


def clusters(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means labels of the unit probes (on unit vectors, Euclidean k-means groups by cosine)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return kmeans(vectors / np.where(norms == 0, 1.0, norms), k, seed=seed)


def map_rows(vectors: np.ndarray, emotions: list[str], labels: np.ndarray) -> list[dict]:
    """One row per emotion: its oriented PC1/PC2 coordinates, its norms (None if unrated) and its cluster."""
    axes, _ = oriented_axes(vectors, emotions)
    norms = catalog.norms()
    return [
        {
            "emotion": emotion,
            "pc1": float(axes[i, 0]),
            "pc2": float(axes[i, 1]) if axes.shape[1] > 1 else None,
            "valence": norms.get(emotion, {}).get("valence"),
            "arousal": norms.get(emotion, {}).get("arousal"),
            "cluster": int(labels[i]),
        }
        for i, emotion in enumerate(emotions)
    ]


def correlation_controls(vectors: np.ndarray, emotions: list[str], seed: int) -> dict:
    """A bootstrap 95% interval and a permutation p for PC1 vs valence and PC2 vs arousal (the `correlations`)."""
    from etl.evaluation.controls import correlation_ci, permutation_p

    norms = catalog.norms()
    rated = [i for i, e in enumerate(emotions) if e in norms]
    if len(emotions) < 3 or len(rated) < 5:
        return {}
    axes, _ = oriented_axes(vectors, emotions)
    out = {}
    for name, column in AXES:
        if column >= axes.shape[1]:
            continue
        target = np.array([norms[emotions[i]][name] for i in rated])
        prefix = f"pc{column + 1}_{name}"
        out[f"{prefix}_low"], out[f"{prefix}_high"] = correlation_ci(axes[rated, column], target, seed)
        out[f"{prefix}_p"] = permutation_p(axes[rated, column], target, seed)
    return out
