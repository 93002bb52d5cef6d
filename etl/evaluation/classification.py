"""Held-out classification: probes rebuilt without one topic fold score the texts of that fold.

Each probe kind is rebuilt from the texts it was built from (`etl.config.kinds.KINDS`: the same corpora, segments
and labels as the probes stage), with the baseline recorded in the probes' provenance, by the probes stage's own
recipe (`etl.probes.recipe.build`); the baseline texts of the left-out fold's topics are left out of it too
(`recipe.held_out_baseline`).
"""

from __future__ import annotations

import numpy as np

from etl.evaluation.controls import bootstrap_ci
from etl.evaluation.transfer import shuffled
from etl.probes import recipe
from etl.probes.maths import scores, top_k_hits


def held_out(
    x: np.ndarray,
    labels: np.ndarray,
    topics: list[str],
    n_emotions: int,
    baseline: np.ndarray,
    variance: float,
    folds: int,
    exclude: np.ndarray | None = None,
    null_seed: int | None = None,
    baseline_topics: list[str] | None = None,
) -> dict:
    """Top-1/top-5 over all emotions on texts whose topic fold was left out of the probes, with a bootstrap 95%
    interval of top-1; with `null_seed`, the training labels are shuffled first (the shuffled-label null).

    `exclude`, if given, holds orthonormal directions (k, hidden) projected out of the rebuilt probes, as the probes
    stage does for kinds orthogonalised against another probe space. `baseline_topics` (one per baseline text) put
    the baseline texts in the same folds, so each fold's neutral texts are left out with it.
    """
    fold_of = recipe.fold_ids(topics, folds)
    baseline_folds = None if baseline_topics is None else recipe.fold_ids(baseline_topics, folds, topics)
    hits1, hits5 = [], []
    for fold in np.unique(fold_of):
        train, test = fold_of != fold, fold_of == fold
        if not train.any() or not test.any():
            continue
        train_labels = labels[train] if null_seed is None else shuffled(labels[train], null_seed)
        kept = recipe.held_out_baseline(baseline, baseline_folds, [fold])
        probe_set = recipe.build(x[train], train_labels, n_emotions, kept, variance, exclude)
        known = np.isin(labels[test], np.unique(labels[train]))
        matrix = scores(x[test][known], probe_set)
        matrix[:, np.bincount(labels[train], minlength=n_emotions) == 0] = -np.inf
        hits1.append(top_k_hits(matrix, labels[test][known], 1))
        hits5.append(top_k_hits(matrix, labels[test][known], 5))
    n_test = int(sum(len(h) for h in hits1))
    if n_test == 0:
        return {"top1": None, "top5": None, "n_test": 0}
    all1 = np.concatenate(hits1)
    low, high = bootstrap_ci(all1, seed=0)
    return {"top1": float(all1.mean()), "top5": float(np.concatenate(hits5).mean()), "n_test": n_test} | {
        "top1_low": low,
        "top1_high": high,
    }
