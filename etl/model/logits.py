"""Next-token logits of a batch of prompts, optionally under steering: what a forced choice reads (no sampling)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from etl.model.steer import Intervention, steer


def last_logits(loaded, ids: list[list[int]], interventions: Sequence[Intervention] = ()) -> np.ndarray:
    """(prompts, vocabulary) float32 logits after each prompt's last token, every position steered by
    `interventions`. Left padding with position ids rebuilt from the mask, so each prompt sees positions 0..n-1."""
    import torch

    pad = loaded.tokenizer.pad_token_id
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, tokens in enumerate(ids):
        input_ids[row, width - len(tokens) :] = torch.tensor(tokens)
        mask[row, width - len(tokens) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    device = next(loaded.model.parameters()).device
    with torch.inference_mode(), steer(loaded.model, interventions, "all"):
        out = loaded.model(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=False,
            logits_to_keep=1,
        )
    return out.logits[:, -1, :].float().cpu().numpy()
