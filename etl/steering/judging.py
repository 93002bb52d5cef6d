"""What a steered continuation is judged by: perplexity under the unsteered model, repetition, regime, sign test.

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

import numpy as np

MAX_LOGIT_CELLS = 1 << 25
"""Upper bound on batch x length x vocabulary of one perplexity chunk (128 MB of float32 logits)."""


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


def perplexities(loaded, prompt_ids: list[list[int]], new_ids: list[list[int]]) -> np.ndarray:
    """Perplexity of each continuation given its prompt under the model as it is (call outside any steering)."""
    import torch

    vocab = loaded.model.get_output_embeddings().weight.shape[0]
    pad = loaded.tokenizer.pad_token_id
    device = next(loaded.model.parameters()).device
    result = np.full(len(prompt_ids), np.nan)
    rows = [i for i, ids in enumerate(new_ids) if ids]
    for chunk in _chunks(rows, [len(prompt_ids[i]) + len(new_ids[i]) for i in rows], vocab):
        width = max(len(prompt_ids[i]) + len(new_ids[i]) for i in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(chunk):
            sequence = prompt_ids[i] + new_ids[i]
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.inference_mode():
            logits = loaded.model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        for row, i in enumerate(chunk):
            start, targets = len(prompt_ids[i]), torch.tensor(new_ids[i])
            predicted = logprobs[row, start - 1 : start - 1 + len(targets)]
            nll = -predicted.gather(-1, targets[:, None]).mean()
            result[i] = math.exp(float(nll))
    return result


def _chunks(rows: list[int], lengths: list[int], vocab: int) -> list[list[int]]:
    """Consecutive groups of rows whose padded logits stay under MAX_LOGIT_CELLS."""
    chunks, current, longest = [], [], 0
    for row, length in zip(rows, lengths, strict=True):
        wider = max(longest, length)
        if current and wider * vocab * (len(current) + 1) > MAX_LOGIT_CELLS:
            chunks.append(current)
            current, wider = [], length
        current.append(row)
        longest = wider
    if current:
        chunks.append(current)
    return chunks


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
