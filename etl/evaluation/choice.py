"""Effects of the forced-choice experiment (docs/steering.md, "Behaviour: a forced choice"), from its rows.

Reads the rows `etl.steering.choice.measure` gives (condition, strength, situation, order, logodds); returns one row
per contrast and strength: the mean over situations of the log-odds difference, its bootstrap interval over
situations, and where it falls among the same statistic for every pair of random directions (the null).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from etl.evaluation.controls import bootstrap_ci

RESAMPLES = 2000
"""Bootstrap resamples of situations, as pre-registered."""


def per_situation(rows: Sequence[dict]) -> dict[tuple[str, float], np.ndarray]:
    """(condition, strength) -> log-odds per situation, the mean over both orders (situations in index order)."""
    grouped: dict[tuple[str, float], dict[int, list[float]]] = {}
    for row in rows:
        key = (row["condition"], row["strength"])
        grouped.setdefault(key, {}).setdefault(row["situation"], []).append(row["logodds"])
    return {key: np.array([np.mean(v) for _, v in sorted(by.items())]) for key, by in grouped.items()}


def effects(rows: Sequence[dict], positives: Sequence[str], negatives: Sequence[str], seed: int = 0) -> list[dict]:
    """Per strength: each contrast (positive - negative), each emotion's shift from the baseline, with intervals,
    beside the null of random-direction pairs at that strength."""
    lo = per_situation(rows)
    baseline = lo[("baseline", 0.0)]
    out = []
    for strength in sorted({s for (_, s) in lo if s != 0.0}):
        randoms = [v for (name, s), v in sorted(lo.items()) if s == strength and name.startswith("random_")]
        null = np.array([np.mean(a - b) for a, b in itertools.combinations(randoms, 2)])
        contrasts = [(p, n, lo[(p, strength)] - lo[(n, strength)]) for p, n in zip(positives, negatives, strict=True)]
        shifts = [(e, "baseline", lo[(e, strength)] - baseline) for e in dict.fromkeys([*positives, *negatives])]
        for first, second, differences in contrasts + shifts:
            out.append(summary(first, second, strength, differences, null, seed))
    return out


def summary(first: str, second: str, strength: float, differences: np.ndarray, null: np.ndarray, seed: int) -> dict:
    """One contrast: mean difference over situations, its 95% interval, and the null's spread and p-value."""
    effect = float(differences.mean())
    low, high = bootstrap_ci(differences, seed, RESAMPLES)
    magnitude = np.abs(null)
    return {
        "contrast": f"{first} - {second}",
        "first": first,
        "second": second,
        "strength": strength,
        "n_situations": len(differences),
        "effect": effect,
        "effect_low": low,
        "effect_high": high,
        "null_median_abs": float(np.median(magnitude)) if len(null) else None,
        "null_p95_abs": float(np.percentile(magnitude, 95)) if len(null) else None,
        "null_p": float((1 + (magnitude >= abs(effect)).sum()) / (1 + len(null))) if len(null) else None,
        "n_null": len(null),
    }
