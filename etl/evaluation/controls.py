"""Controls every probe figure is shown beside: a lexical baseline, intervals and permutation p-values.

All functions are plain numpy and seeded, so the same inputs give the same figures on every machine.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from etl.evaluation.stats import pearson

N_BOOTSTRAP = 1000
N_PERMUTATIONS = 2000
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def bootstrap_ci(hits: np.ndarray, seed: int = 0, n: int = N_BOOTSTRAP) -> tuple[float | None, float | None]:
    """95% percentile interval of the mean of per-item hits (0/1), resampling items with replacement."""
    hits = np.asarray(hits, dtype=np.float64)
    if len(hits) == 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = hits[rng.integers(0, len(hits), size=(n, len(hits)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def correlation_ci(a: np.ndarray, b: np.ndarray, seed: int = 0, n: int = N_BOOTSTRAP) -> tuple[float, float]:
    """95% percentile interval of Pearson r, resampling (a, b) pairs with replacement."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(n, len(a)))
    values = [pearson(a[p], b[p]) for p in picks]
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def permutation_p(a: np.ndarray, b: np.ndarray, seed: int = 0, n: int = N_PERMUTATIONS) -> float:
    """Two-sided permutation p of |Pearson r| against shuffled pairings: (exceedances + 1) / (n + 1)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    observed = abs(pearson(a, b))
    rng = np.random.default_rng(seed)
    a_c = (a - a.mean()) / (a.std() or 1.0)
    shuffled = np.stack([rng.permutation(b) for _ in range(n)])
    shuffled = (shuffled - shuffled.mean(axis=1, keepdims=True)) / (b.std() or 1.0)
    null = np.abs(shuffled @ a_c) / len(a)
    return float((np.sum(null >= observed - 1e-12) + 1) / (n + 1))


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def tfidf_matrix(texts: list[str], vocabulary: dict[str, int], idf: np.ndarray) -> np.ndarray:
    """Rows of L2-normalised TF-IDF weights (sublinear term frequency) over a fixed vocabulary."""
    out = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, text in enumerate(texts):
        for word, count in Counter(tokens(text)).items():
            column = vocabulary.get(word)
            if column is not None:
                out[row, column] = (1.0 + math.log(count)) * idf[column]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def tfidf_centroid_scores(
    train_texts: list[str], train_labels: np.ndarray, test_texts: list[str], n_classes: int
) -> np.ndarray:
    """(n_test, n_classes) cosine of each test text's TF-IDF vector with each class centroid (the lexical baseline).

    The vocabulary and IDF come from the training texts only; classes without training texts score -inf.
    """
    documents = [set(tokens(t)) for t in train_texts]
    frequency = Counter(word for words in documents for word in words)
    vocabulary = {word: i for i, word in enumerate(sorted(frequency))}
    idf = np.array([math.log((1 + len(documents)) / (1 + frequency[w])) + 1.0 for w in vocabulary], np.float32)
    train = tfidf_matrix(train_texts, vocabulary, idf)
    centroids = np.zeros((n_classes, len(vocabulary)), dtype=np.float32)
    np.add.at(centroids, train_labels, train)
    present = np.bincount(train_labels, minlength=n_classes) > 0
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids /= np.where(norms == 0, 1.0, norms)
    scores = tfidf_matrix(test_texts, vocabulary, idf) @ centroids.T
    scores[:, ~present] = -np.inf
    return scores


def macro_f1(predicted: np.ndarray, labels: np.ndarray, classes: np.ndarray | None = None) -> tuple[float, dict]:
    """Macro-averaged F1 over `classes` (default: the labels present) and each class's F1."""
    classes = np.unique(labels) if classes is None else classes
    per_class = {}
    for c in classes:
        tp = int(np.sum((predicted == c) & (labels == c)))
        fp = int(np.sum((predicted == c) & (labels != c)))
        fn = int(np.sum((predicted != c) & (labels == c)))
        per_class[int(c)] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return (float(np.mean(list(per_class.values()))) if per_class else 0.0), per_class
