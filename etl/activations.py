"""Per-text mean residual-stream vectors: the one function the extract stage and live scoring share."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import numpy as np

from etl.hooks import StopForward, capture


@dataclass
class MeanResult:
    vectors: np.ndarray
    """(n_texts, n_layers, hidden) float32; rows of skipped texts are zero."""
    n_tokens: np.ndarray
    """Tokens per text after truncation."""
    n_used: np.ndarray
    """Tokens averaged per text (0 where skipped)."""


def tokenize(tokenizer, texts: list[str], max_tokens: int) -> list[list[int]]:
    encoded = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_tokens)
    return [list(ids) for ids in encoded["input_ids"]]


def length_batches(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Groups text indices into batches of similar length whose padded size stays within `batch_tokens`."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, current = [], []
    for index in order:
        longest = max([lengths[i] for i in current] + [lengths[index]])
        if current and longest * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def forward_layers(model, ids: list[list[int]], pad_id: int, layers: list[int]):
    """Runs a right-padded batch through the blocks up to the deepest layer; returns ({layer: hidden}, mask).

    Right padding keeps every real token at its true position, so a causal model sees exactly what it would
    see for the text alone; the LM head and the layers after the deepest one are never run.
    """
    import torch

    device = next(model.parameters()).device
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, tokens in enumerate(ids):
        input_ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    body = getattr(model, model.base_model_prefix, model)
    with torch.inference_mode(), capture(model, layers) as captured, suppress(StopForward):
        body(input_ids=input_ids, attention_mask=mask, use_cache=False)
    return captured, mask


def mean_residuals(
    model,
    tokenizer,
    texts: list[str],
    layers: list[int],
    skip_tokens: int,
    max_tokens: int,
    batch_tokens: int = 4096,
    progress=None,
) -> MeanResult:
    """Averages the residual stream of each text over positions [skip_tokens, length) at each layer.

    Position 0 is never averaged (its norm is ~100x the others: an attention sink). Texts with no position
    left are skipped (n_used = 0). `progress`, if given, is called with the tokens of each finished batch.
    """
    ids = tokenize(tokenizer, texts, max_tokens)
    lengths = [len(row) for row in ids]
    hidden = model.config.get_text_config().hidden_size
    vectors = np.zeros((len(texts), len(layers), hidden), dtype=np.float32)
    start = max(1, skip_tokens)
    n_used = np.array([max(0, n - start) for n in lengths])
    for batch in length_batches(lengths, batch_tokens):
        usable = [i for i in batch if n_used[i] > 0]
        if usable:
            captured, mask = forward_layers(model, [ids[i] for i in usable], tokenizer.pad_token_id, layers)
            keep = mask.clone()
            keep[:, :start] = 0
            weights = (keep / keep.sum(dim=1, keepdim=True)).unsqueeze(-1).float()
            for column, layer in enumerate(layers):
                means = (captured[layer].float() * weights).sum(dim=1)
                vectors[usable, column] = means.cpu().numpy()
            del captured
        if progress is not None:
            progress(sum(lengths[i] for i in batch))
    return MeanResult(vectors=vectors, n_tokens=np.array(lengths), n_used=n_used)
