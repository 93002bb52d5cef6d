"""Per-text mean residual-stream vectors: the one function the extract stage and live scoring share."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import numpy as np

from etl.model.hooks import StopForward, capture

Spans = list[tuple[int, int]]
"""Character spans of one segment of a text (e.g. every turn of one speaker)."""


@dataclass
class MeanResult:
    vectors: np.ndarray
    """(n_rows, n_layers, hidden) float32, one row per (text, segment); rows with no token are zero."""
    text_index: np.ndarray
    """The text each row belongs to."""
    segment_index: np.ndarray
    """The segment of that text each row averages (0 when texts have one segment)."""
    n_tokens: np.ndarray
    """Tokens of the row's text after truncation."""
    n_used: np.ndarray
    """Tokens averaged for the row (0 where none was left)."""


def tokenize(tokenizer, texts: list[str], max_tokens: int, offsets: bool = False):
    """Token ids per text (and character offsets per token when `offsets`)."""
    if not texts:  # the tokenizer fails on an empty batch (a rerun whose texts are all extracted already)
        return ([], []) if offsets else []
    encoded = tokenizer(
        texts, add_special_tokens=True, truncation=True, max_length=max_tokens, return_offsets_mapping=offsets
    )
    ids = [list(row) for row in encoded["input_ids"]]
    return (ids, encoded["offset_mapping"]) if offsets else ids


def span_positions(offsets, spans: Spans, n_tokens: int) -> np.ndarray:
    """Positions (from 1) of the tokens that overlap any of `spans`; special tokens (empty offsets) never count."""
    keep = [
        p
        for p in range(1, n_tokens)
        if offsets[p][1] > offsets[p][0] and any(offsets[p][0] < end and offsets[p][1] > start for start, end in spans)
    ]
    return np.array(keep, dtype=np.int64)


def segment_positions(
    lengths: list[int], skip_tokens: int, segments: list[list[Spans] | None] | None, offsets
) -> list[list[np.ndarray]]:
    """For each text, the token positions of each segment: [skip_tokens, n) by default, else tokens in the spans."""
    start = max(1, skip_tokens)
    out = []
    for i, n in enumerate(lengths):
        if segments is None or segments[i] is None:
            out.append([np.arange(start, n, dtype=np.int64)])
        else:
            out.append([span_positions(offsets[i], spans, n) for spans in segments[i]])
    return out


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


def forward_layers(model, ids: list[list[int]], pad_id: int, layers: list[int], padding_side: str = "right"):
    """Runs a padded batch through the blocks up to the deepest layer; returns ({layer: hidden}, mask).

    The LM head and the layers after the deepest one are never run. With right padding every real token sits at its
    own position; with left padding, position ids are rebuilt from the mask so each text still sees positions
    0..n-1, and real tokens sit at columns [width - n, width).
    """
    import torch

    device = next(model.parameters()).device
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, tokens in enumerate(ids):
        columns = slice(width - len(tokens), width) if padding_side == "left" else slice(0, len(tokens))
        input_ids[row, columns] = torch.tensor(tokens)
        mask[row, columns] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    input_ids, mask, positions = (to_device(t, device) for t in (input_ids, mask, positions))
    body = getattr(model, model.base_model_prefix, model)
    with torch.inference_mode(), capture(model, layers) as captured, suppress(StopForward):
        body(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=False)
    return captured, mask


def to_device(tensor, device):
    """On CUDA, copies from pinned memory without blocking (the copy overlaps the host's next work); else `.to`."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def segment_weights(positions: list[list[np.ndarray]], width: int, shifts: list[int]):
    """(batch, max segments, width) averaging weights: 1/len over each segment's positions, 0 elsewhere.

    `shifts` moves each row's token positions to their columns (the left-padding offset, 0 for right padding).
    """
    import torch

    weights = torch.zeros((len(positions), max(len(p) for p in positions), width), dtype=torch.float32)
    for row, segments in enumerate(positions):
        for slot, where in enumerate(segments):
            if len(where):
                weights[row, slot, torch.as_tensor(where + shifts[row])] = 1.0 / len(where)
    return weights


def mean_residuals(
    model,
    tokenizer,
    texts: list[str],
    layers: list[int],
    skip_tokens: int,
    max_tokens: int,
    batch_tokens: int = 4096,
    progress=None,
    segments: list[list[Spans] | None] | None = None,
) -> MeanResult:
    """Averages the residual stream at each layer over each segment of each text.

    A text without segments has one: positions [skip_tokens, length). A text with segments gets one row per
    segment: the tokens overlapping its character spans. Position 0 is never averaged (its norm is ~100x the
    others: an attention sink). Batches are padded on the tokenizer's padding side, and the result is the same
    either way. `progress`, if given, is called with the tokens of each finished batch.
    """
    import torch

    if segments is None:
        ids, offsets = tokenize(tokenizer, texts, max_tokens), None
    else:
        ids, offsets = tokenize(tokenizer, texts, max_tokens, offsets=True)
    lengths = [len(row) for row in ids]
    positions = segment_positions(lengths, skip_tokens, segments, offsets)
    text_index = np.array([i for i, segs in enumerate(positions) for _ in segs], dtype=np.int64)
    segment_index = np.array([j for segs in positions for j in range(len(segs))], dtype=np.int64)
    n_used = np.array([len(p) for segs in positions for p in segs], dtype=np.int64)
    first_row = np.concatenate([[0], np.cumsum([len(segs) for segs in positions])])
    hidden = model.config.get_text_config().hidden_size
    vectors = np.zeros((len(text_index), len(layers), hidden), dtype=np.float32)
    for batch in length_batches(lengths, batch_tokens):
        usable = [i for i in batch if any(len(p) for p in positions[i])]
        if usable:
            side = getattr(tokenizer, "padding_side", "right")
            captured, _ = forward_layers(model, [ids[i] for i in usable], tokenizer.pad_token_id, layers, side)
            width = captured[layers[0]].shape[1]
            shifts = [width - lengths[i] if side == "left" else 0 for i in usable]
            weights = segment_weights([positions[i] for i in usable], width, shifts)
            weights = weights.to(captured[layers[0]].device)
            rows = np.concatenate([first_row[i] + np.arange(len(positions[i])) for i in usable])
            slots = np.concatenate([np.arange(len(positions[i])) for i in usable])
            owners = np.concatenate([np.full(len(positions[i]), k) for k, i in enumerate(usable)])
            for column, layer in enumerate(layers):
                # (batch, segments, seq) @ (batch, seq, hidden): every segment mean of the batch in one matmul.
                means = torch.bmm(weights, captured[layer].float())
                vectors[rows, column] = means[owners, slots].cpu().numpy()
            del captured
        if progress is not None:
            progress(sum(lengths[i] for i in batch))
    n_tokens = np.array(lengths, dtype=np.int64)[text_index]
    return MeanResult(vectors, text_index, segment_index, n_tokens, n_used)
