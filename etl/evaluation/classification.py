"""Held-out classification: probes rebuilt without one topic fold score the texts of that fold.

Each probe kind is rebuilt from the texts it was built from (`etl.probes.kinds.KINDS`: the same corpora, segments
and labels as the probes stage), with the baseline recorded in the probes' provenance.
"""

from __future__ import annotations

import numpy as np

from etl import catalog
from etl.probes.maths import probes_excluding, scores, top_k_hits

"""Where each probe kind's texts come from: the same table the probes stage builds from."""


def held_out(
    x: np.ndarray,
    labels: np.ndarray,
    topics: list[str],
    n_emotions: int,
    baseline: np.ndarray,
    variance: float,
    folds: int,
    exclude: np.ndarray | None = None,
) -> dict:
    """Top-1/top-5 over all emotions on texts whose topic fold was left out of the probes.

    `exclude`, if given, holds orthonormal directions (k, hidden) projected out of the rebuilt probes, as the probes
    stage does for kinds orthogonalised against another probe space.
    """
    fold_of = np.array([catalog.topic_fold(t, folds) for t in topics])
    hits1, hits5 = [], []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        if not train.any() or not test.any():
            continue
        probe_set = probes_excluding(x[train], labels[train], n_emotions, baseline, variance, exclude)
        known = np.isin(labels[test], np.unique(labels[train]))
        matrix = scores(x[test][known], probe_set)
        matrix[:, np.bincount(labels[train], minlength=n_emotions) == 0] = -np.inf
        hits1.append(top_k_hits(matrix, labels[test][known], 1))
        hits5.append(top_k_hits(matrix, labels[test][known], 5))
    n_test = int(sum(len(h) for h in hits1))
    if n_test == 0:
        return {"top1": None, "top5": None, "n_test": 0}
    return {"top1": float(np.concatenate(hits1).mean()), "top5": float(np.concatenate(hits5).mean()), "n_test": n_test}
