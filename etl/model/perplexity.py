"""Perplexity of continuations under the model as it is: how steering judges whether text stayed fluent."""

from __future__ import annotations

import math

import numpy as np

MAX_LOGIT_CELLS = 1 << 25
"""Upper bound on batch x length x vocabulary of one perplexity chunk (128 MB of float32 logits)."""


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
