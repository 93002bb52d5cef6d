"""What a steered continuation is judged by: repetition, regime, sign test (perplexity: `etl.model.perplexity`).

Regimes describe the quality of the steered text, compared with the unsteered continuation of the same prompt and
seed (thresholds live in `[steer]` of the preset):

    repetitive  repetition rate >= max_repetition                 the text loops (repetitive collapse)
    explosive   perplexity ratio >= max_perplexity_ratio          the unsteered model finds the text unlikely
    surgical    neither                                           fluent text, steered

Repetition is checked first: a looping text is often *likely* under the model, so its perplexity alone would call
it fluent. A run is a success when its regime is surgical and the target probe rose (target_delta > 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def repetition_rate(ids: Sequence[int], n: int) -> float:
    """Share of the token n-grams of `ids` that repeat an n-gram seen earlier in the same sequence (0 when short)."""
    grams = [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[int, ...]] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams)


def regime(perplexity_ratio: float, repetition: float, max_perplexity_ratio: float, max_repetition: float) -> str:
    """The regime of one steered text (see the module docstring); NaN perplexity counts as explosive."""
    if repetition >= max_repetition:
        return "repetitive"
    if not perplexity_ratio < max_perplexity_ratio:
        return "explosive"
    return "surgical"


def sign_test(deltas: Sequence[float]) -> tuple[int, int, float]:
    """One-sided exact sign test of "deltas tend to be positive": (positives, non-zero count, p-value).

    Zero and NaN deltas are dropped (a tie carries no sign). p = P(X >= positives) for X ~ Binomial(n, 1/2).
    """
    signs = [d for d in deltas if d == d and d != 0]
    n, positives = len(signs), sum(d > 0 for d in signs)
    if n == 0:
        return 0, 0, 1.0
    p = sum(math.comb(n, k) for k in range(positives, n + 1)) / 2**n
    return positives, n, p
