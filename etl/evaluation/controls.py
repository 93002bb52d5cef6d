"""Controls every probe figure is shown beside: a lexical baseline, intervals and permutation p-values.

Every function is seeded, so the same inputs give the same figures on every machine. The well-kept libraries do the
work where they give the same numbers: scipy's `bootstrap` draws the resamples (and evaluates the statistic on all
of them at once), scikit-learn's `TfidfVectorizer` the TF-IDF weights, `f1_score` the F1. The permutation p stays
hand-written: scipy's `permutation_test` draws other permutations, so every stored p would move (by up to 0.01 on
126 rated emotions), and this one is a single matrix product.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import scipy.sparse
from scipy import stats as scipy_stats
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.preprocessing import normalize

from etl.evaluation.stats import pearson

N_BOOTSTRAP = 1000
N_PERMUTATIONS = 2000
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
"""A word of the lexical baseline: lower-case letters, with one inner apostrophe (don't, she'd)."""


def resampled(data: tuple[np.ndarray, ...], statistic, seed: int, n: int) -> np.ndarray:
    """`statistic` of `n` seeded bootstrap resamples of `data` (paired when it holds several arrays): scipy's draws,
    one `rng.integers(0, len, (n, len))` as before, so the figures are those of the earlier hand-written loop."""
    if len(data[0]) == 1:  # every resample is the one observation (scipy refuses a single one)
        return np.repeat(np.asarray(statistic(*(np.asarray(d)[None, :] for d in data), axis=-1), np.float64), n)
    with warnings.catch_warnings():
        # Raised when some resample's statistic is NaN (a constant resample's r): those are dropped by the caller.
        warnings.simplefilter("ignore", scipy_stats.DegenerateDataWarning)
        result = scipy_stats.bootstrap(
            data,
            statistic,
            n_resamples=n,
            paired=len(data) > 1,
            vectorized=True,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return np.asarray(result.bootstrap_distribution, dtype=np.float64)


def interval(values: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap values (numpy's linear quantile, the figures' one definition)."""
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def bootstrap_ci(hits: np.ndarray, seed: int = 0, n: int = N_BOOTSTRAP) -> tuple[float | None, float | None]:
    """95% percentile interval of the mean of per-item hits (0/1), resampling items with replacement."""
    hits = np.asarray(hits, dtype=np.float64)
    if len(hits) == 0:
        return None, None
    return interval(resampled((hits,), np.mean, seed, n))


def pearson_along(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """`stats.pearson` of many pairs of rows at once (NaN where a row is constant)."""
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=axis) * (b**2).sum(axis=axis))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=axis) / denominator, np.nan)


def correlation_ci(a: np.ndarray, b: np.ndarray, seed: int = 0, n: int = N_BOOTSTRAP) -> tuple[float, float]:
    """95% percentile interval of Pearson r, resampling (a, b) pairs with replacement; resamples whose r is undefined
    (a constant side) are left out."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    values = resampled((a, b), pearson_along, seed, n)
    return interval(values[~np.isnan(values)])


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


def tfidf_centroid_scores(
    train_texts: list[str], train_labels: np.ndarray, test_texts: list[str], n_classes: int
) -> np.ndarray:
    """(n_test, n_classes) cosine of each test text's TF-IDF vector with each class centroid (the lexical baseline).

    The vocabulary and IDF come from the training texts only: scikit-learn's `TfidfVectorizer` with words as `WORD`
    finds them in lower-cased text, sublinear term frequency (1 + log tf), smoothed IDF (log((1 + n) / (1 + df)) + 1)
    and L2-normalised rows. A centroid is the normalised sum of its class's rows; classes without training texts
    score -inf.
    """
    return TfidfCentroids(train_texts, train_labels, n_classes).scores(test_texts)


class TfidfCentroids:
    """The lexical baseline fitted once (`tfidf_centroid_scores`), to score many texts later: a steering judge."""

    def __init__(self, train_texts: list[str], train_labels: np.ndarray, n_classes: int) -> None:
        train_labels = np.asarray(train_labels, dtype=np.int64)
        self.n_classes = n_classes
        self.present = np.bincount(train_labels, minlength=n_classes) > 0
        self.vectorizer = TfidfVectorizer(
            lowercase=True, token_pattern=WORD.pattern, sublinear_tf=True, smooth_idf=True, norm="l2"
        )
        try:
            train = self.vectorizer.fit_transform(train_texts)
        except ValueError:  # no training text holds a word: nothing to share with any test text
            self.centroids = None
        else:
            members = scipy.sparse.csr_matrix(
                (np.ones(len(train_labels)), (train_labels, np.arange(len(train_labels)))),
                shape=(n_classes, len(train_labels)),
            )
            self.centroids = normalize(members @ train)

    def scores(self, texts: list[str]) -> np.ndarray:
        """(n_texts, n_classes) cosines with the class centroids; -inf for classes without training texts."""
        if self.centroids is None:
            scores = np.zeros((len(texts), self.n_classes))
        else:
            scores = (self.vectorizer.transform(texts) @ self.centroids.T).toarray()
        scores[:, ~self.present] = -np.inf
        return scores


def macro_f1(predicted: np.ndarray, labels: np.ndarray, classes: np.ndarray | None = None) -> tuple[float, dict]:
    """Macro-averaged F1 over `classes` (default: the labels present) and each class's F1 (0 where it has no true
    positive): scikit-learn's `f1_score`."""
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    if len(classes) == 0:
        return 0.0, {}
    scores = f1_score(labels, predicted, labels=classes, average=None, zero_division=0.0)
    per_class = {int(c): float(f) for c, f in zip(classes, scores, strict=True)}
    return float(np.mean(list(per_class.values()))), per_class
