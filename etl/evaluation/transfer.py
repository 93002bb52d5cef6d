"""Cross-domain transfer: probes built on one domain score the held-out texts of every domain.

Domains are stories (`expression` probes), short first-person texts (`short`) and instructions (`prompted`); the
`pooled` kind averages the unit probes of all three. Each domain's texts fall into folds by topic (stories: their
topic; short texts: their register; instructions: their template). To score fold f of a domain, every probe part
built on that domain, and the query centre, are rebuilt without fold f, and the part's neutral projection without the
baseline texts of fold f's topics or registers: nothing is scored by what it was built from.

The query centre is the mean over emotions of the domain's emotion means: a text is centred on the average
emotional text of its own form. That is what `etl.probes.scoring` does for users' texts (see docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from etl.config.kinds import POOLED
from etl.evaluation.controls import bootstrap_ci, tfidf_centroid_scores
from etl.probes import recipe
from etl.probes.maths import baseline_components, group_means, top_k_hits, unit
from etl.probes.recipe import fold_ids  # noqa: F401 (re-exported: the folds every held-out figure uses)

DOMAIN_OF_KIND = {"expression": "story", "short": "short", "prompted": "prompt"}
RECIPES = {"expression": ("expression",), "short": ("short",), "prompted": ("prompted",), "pooled": POOLED}
Removed = Mapping[str, Collection[int]]
"""Domain -> the folds of it left out of every probe part and centre (the held-out fold, and in the nested
selection the outer fold too)."""


@dataclass
class Domain:
    """One domain's labelled texts at one layer, with its folds, baseline and the variance projected out."""

    x: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    baseline: np.ndarray
    variance: float
    texts: list[str] | None = None
    baseline_folds: np.ndarray | None = None
    """The fold of each baseline text (`recipe.fold_ids`; -1: in none); None: the baseline has no folds."""
    _components: dict = field(default_factory=dict)
    _probes: dict = field(default_factory=dict)
    _centres: dict = field(default_factory=dict)

    def components(self, held: Collection[int] = ()) -> np.ndarray:
        """The principal components (up to `variance`) of the baseline without the `held` folds' neutral texts
        (`recipe.held_out_baseline`), computed once per set of folds."""
        key = frozenset(held)
        if key not in self._components:
            kept = recipe.held_out_baseline(self.baseline, self.baseline_folds, key)
            self._components[key], _ = baseline_components(np.asarray(kept, np.float64), self.variance)
        return self._components[key]

    def probes(self, train: np.ndarray, labels: np.ndarray, n: int, held: Collection[int] = ()) -> np.ndarray:
        """The probe recipe (`recipe.build`) on the training rows, labels given (so the null can shuffle them),
        with the baseline of the training folds only (the `held` folds' neutral texts left out)."""
        components = self.components(held)
        return recipe.build(self.x[train], labels, n, self.baseline, self.variance, components=components).vectors

    def part(self, n: int, held: Collection[int] = ()) -> np.ndarray:
        """`probes` of every text outside the `held` folds, with their true labels; computed once per set of folds."""
        key = frozenset(held)
        if key not in self._probes:
            train = ~np.isin(self.folds, list(key))
            self._probes[key] = self.probes(train, self.labels[train], n, key)
        return self._probes[key]

    def centre(self, n: int, held: Collection[int]) -> np.ndarray:
        """The query centre of texts scored with the `held` folds left out (`centre`), computed once per set."""
        key = frozenset(held)
        if key not in self._centres:
            self._centres[key] = centre(self, n, ~np.isin(self.folds, list(key)))
        return self._centres[key]


def shuffled(labels: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(labels)


def recipe_probes(kind: str, domains: dict[str, Domain], n: int, removed: Removed, null_seed: int | None = None):
    """The unit probes of a kind rebuilt without the `removed` folds of each domain (labels shuffled for the null)."""
    parts = []
    for part in RECIPES[kind]:
        data = domains.get(DOMAIN_OF_KIND[part])
        if data is None:
            continue
        held = frozenset(removed.get(DOMAIN_OF_KIND[part], ()))
        if null_seed is None:
            parts.append(data.part(n, held))
            continue
        train = ~np.isin(data.folds, list(held))
        parts.append(data.probes(train, shuffled(data.labels[train], null_seed), n, held))
    if not parts:
        return None
    return unit(np.sum([p.astype(np.float64) for p in parts], axis=0))


def centre(data: Domain, n: int, train: np.ndarray) -> np.ndarray:
    """The mean over emotions of the training texts' emotion means."""
    means = group_means(data.x[train], data.labels[train], n)
    present = np.bincount(data.labels[train], minlength=n) > 0
    return means[present].mean(axis=0)


def held_out_hits(
    kind: str,
    domains: dict[str, Domain],
    test: str,
    n: int,
    null_seed: int | None = None,
    without: Removed | None = None,
    folds: Collection[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 and top-5 hits of every text of domain `test`, each scored by probes and centre built without its fold.

    `without` leaves more folds out of every probe part and centre (the nested selection's outer fold), `folds`
    limits the folds of `test` that are scored (default: all of them, but those left out by `without`)."""
    without = without or {}
    data = domains[test]
    skipped = set(without.get(test, ()))
    hits1, hits5 = [], []
    for fold in np.unique(data.folds):
        if int(fold) in skipped or (folds is not None and int(fold) not in folds):
            continue
        removed = dict(without) | {test: skipped | {int(fold)}}
        train = ~np.isin(data.folds, list(removed[test]))
        rows = data.folds == fold
        probes = recipe_probes(kind, domains, n, removed, null_seed)
        if probes is None or not train.any():
            continue
        scores = (data.x[rows].astype(np.float64) - data.centre(n, removed[test])) @ probes.T
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
        sub = Domain(
            data.x[keep], data.labels[keep], data.folds[keep], data.baseline, data.variance, None, data.baseline_folds
        )
        sub._components = data._components  # the same baseline, so the same components per set of folds
        hits1, _ = held_out_hits(kind, {DOMAIN_OF_KIND[kind]: sub}, DOMAIN_OF_KIND[kind], n)
        probes = sub.part(n)
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
