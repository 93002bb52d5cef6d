"""Cross-domain transfer: probes built on one domain score the held-out texts of every domain.

Domains are stories (`expression` probes), short first-person texts (`short`) and instructions (`prompted`); the
`pooled` kind averages the unit probes of all three. Each domain's texts fall into folds by topic (stories: their
topic; short texts: their register; instructions: their template). To score fold f of a domain, every probe part
built on that domain, and the query centre, are rebuilt without fold f: nothing is scored by what it was built from.

The query centre is the mean over emotions of the domain's emotion means: a text is centred on the average
emotional text of its own form. That is what `etl.probes.scoring` does for users' texts (see docs/evaluation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl import catalog
from etl.config.kinds import POOLED
from etl.evaluation.controls import bootstrap_ci, tfidf_centroid_scores
from etl.probes.maths import baseline_components, expression_probes, group_means, project_out, top_k_hits, unit

DOMAIN_OF_KIND = {"expression": "story", "short": "short", "prompted": "prompt"}
RECIPES = {"expression": ("expression",), "short": ("short",), "prompted": ("prompted",), "pooled": POOLED}


@dataclass
class Domain:
    """One domain's labelled texts at one layer, with its folds, baseline and the variance projected out."""

    x: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    baseline: np.ndarray
    variance: float
    texts: list[str] | None = None
    _components: np.ndarray | None = None

    def components(self) -> np.ndarray:
        """The baseline's principal components up to `variance`, computed once (every fold shares them)."""
        if self._components is None:
            self._components, _ = baseline_components(np.asarray(self.baseline, np.float64), self.variance)
        return self._components

    def probes(self, train: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
        """The recipe of `expression_probes` on the training rows (labels given, so the null can shuffle them)."""
        means = group_means(self.x[train], labels, n)
        present = np.bincount(labels, minlength=n) > 0
        vectors = unit(project_out(means - means[present].mean(axis=0), self.components()))
        vectors[~present] = 0.0
        return vectors


def fold_ids(topics: list[str], folds: int) -> np.ndarray:
    """A fold per text: one per topic when there are few topics (registers, templates), else the topic hash."""
    distinct = sorted(set(topics))
    if len(distinct) <= 2 * folds:
        return np.array([distinct.index(t) for t in topics])
    return np.array([catalog.topic_fold(t, folds) for t in topics])


def shuffled(labels: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(labels)


def recipe_probes(
    kind: str, domains: dict[str, Domain], n: int, held: tuple[str, int] | None, null_seed: int | None = None
) -> np.ndarray | None:
    """The unit probes of a kind rebuilt without fold `held[1]` of domain `held[0]` (labels shuffled for the null)."""
    parts = []
    for part in RECIPES[kind]:
        data = domains.get(DOMAIN_OF_KIND[part])
        if data is None:
            continue
        train = (
            np.ones(len(data.labels), bool)
            if held is None or held[0] != DOMAIN_OF_KIND[part]
            else data.folds != held[1]
        )
        labels = data.labels[train] if null_seed is None else shuffled(data.labels[train], null_seed)
        parts.append(data.probes(train, labels, n))
    if not parts:
        return None
    return unit(np.sum([p.astype(np.float64) for p in parts], axis=0))


def centre(data: Domain, n: int, train: np.ndarray) -> np.ndarray:
    """The mean over emotions of the training texts' emotion means."""
    means = group_means(data.x[train], data.labels[train], n)
    present = np.bincount(data.labels[train], minlength=n) > 0
    return means[present].mean(axis=0)


def held_out_hits(
    kind: str, domains: dict[str, Domain], test: str, n: int, null_seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 and top-5 hits of every text of domain `test`, each scored by probes and centre built without its fold."""
    data = domains[test]
    hits1, hits5 = [], []
    for fold in np.unique(data.folds):
        train, rows = data.folds != fold, data.folds == fold
        probes = recipe_probes(kind, domains, n, (test, fold), null_seed)
        if probes is None or not train.any():
            continue
        scores = (data.x[rows].astype(np.float64) - centre(data, n, train)) @ probes.T
        scores[:, ~probes.any(axis=1)] = -np.inf
        hits1.append(top_k_hits(scores, data.labels[rows], 1))
        hits5.append(top_k_hits(scores, data.labels[rows], 5))
    if not hits1:
        return np.zeros(0, bool), np.zeros(0, bool)
    return np.concatenate(hits1), np.concatenate(hits5)


def cross_domain_rows(kinds: list[str], domains: dict[str, Domain], n: int, seed: int) -> list[dict]:
    """One row per (kind, test domain): held-out top-1/top-5 with a bootstrap interval and a shuffled-label null."""
    rows = []
    for kind in kinds:
        if kind not in RECIPES:
            continue
        for test in domains:
            hits1, hits5 = held_out_hits(kind, domains, test, n)
            if len(hits1) == 0:
                continue
            null1, _ = held_out_hits(kind, domains, test, n, null_seed=seed)
            null = {"null_top1": float(null1.mean()) if len(null1) else None}
            rows.append({"kind": kind, "test_domain": test} | figures(hits1, hits5, n, seed) | null)
    return rows


def figures(hits1: np.ndarray, hits5: np.ndarray, n: int, seed: int) -> dict:
    """Top-1 (with its bootstrap interval), top-5, chance and the number of texts of a set of held-out hits."""
    low, high = bootstrap_ci(hits1, seed)
    return {
        "top1": float(hits1.mean()),
        "top5": float(hits5.mean()),
        "top1_low": low,
        "top1_high": high,
        "chance_top1": 1 / n,
        "n_test": len(hits1),
    }


def lexical_rows(domains: dict[str, Domain], n: int, seed: int) -> list[dict]:
    """The TF-IDF nearest-centroid baseline on the same folds: trained in-domain, and trained on stories alone."""
    rows = []
    for test, data in domains.items():
        if data.texts is None:
            continue
        methods = [("tfidf_in_domain", test)] + ([("tfidf_from_stories", "story")] if test != "story" else [])
        for method, source in methods:
            train_domain = domains.get(source)
            if train_domain is None or train_domain.texts is None:
                continue
            hits1, hits5 = [], []
            for fold in np.unique(data.folds):
                rows_ = np.flatnonzero(data.folds == fold)
                train = (
                    np.flatnonzero(train_domain.folds != fold)
                    if source == test
                    else np.arange(len(train_domain.labels))
                )
                scores = tfidf_centroid_scores(
                    [train_domain.texts[i] for i in train],
                    train_domain.labels[train],
                    [data.texts[i] for i in rows_],
                    n,
                )
                hits1.append(top_k_hits(scores, data.labels[rows_], 1))
                hits5.append(top_k_hits(scores, data.labels[rows_], 5))
            found = figures(np.concatenate(hits1), np.concatenate(hits5), n, seed)
            rows.append({"test_domain": test, "method": method} | found)
    return rows


def learning_rows(kind: str, data: Domain, emotions: list[str], seed: int) -> list[dict]:
    """Held-out top-1 of a single-domain kind built from k texts per emotion, k = 1, 2, 4, ... up to what it holds."""
    from etl.evaluation.geometry import correlations

    n = len(emotions)
    most = int(np.bincount(data.labels, minlength=n).max())
    sizes = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k < most} | {most})
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.labels))
    rank = np.zeros(len(data.labels), dtype=int)
    seen: dict[int, int] = {}
    for i in order:
        rank[i] = seen.get(int(data.labels[i]), 0)
        seen[int(data.labels[i])] = rank[i] + 1
    rows = []
    for k in sizes:
        keep = rank < k
        sub = Domain(data.x[keep], data.labels[keep], data.folds[keep], data.baseline, data.variance)
        sub._components = data.components()
        hits1, _ = held_out_hits(kind, {DOMAIN_OF_KIND[kind]: sub}, DOMAIN_OF_KIND[kind], n)
        probes = expression_probes(sub.x, sub.labels, n, sub.baseline, sub.variance).vectors
        geometry = correlations(probes, emotions)
        rows.append(
            {
                "kind": kind,
                "texts_per_emotion": k,
                "top1": float(hits1.mean()) if len(hits1) else None,
                "pc1_valence_r": geometry.get("pc1_valence_r"),
                "n_texts": int(keep.sum()),
            }
        )
    return rows
