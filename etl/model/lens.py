"""Logit lens: which output tokens each probe direction promotes and suppresses through the unembedding.

A probe is a direction, not a residual-stream state, so the final norm is applied as the map it induces on a
direction: final_norm(v) - final_norm(0). For RMSNorm (Llama, SmolLM2) that is the elementwise gain times v over a
positive scalar, and for Gemma's (1 + weight) gain likewise; the scalar never changes a ranking. For LayerNorm the
subtraction removes the bias, which belongs to no direction. Logit soft-capping (Gemma) is monotone and is skipped.
"""

from __future__ import annotations

import numpy as np

FINAL_NORM_NAMES = ("norm", "final_layernorm", "ln_f", "final_norm")


def final_norm(model):
    """The norm applied to the last residual stream before the unembedding, or None if the model has none."""
    body = getattr(model, model.base_model_prefix, model)
    for holder in (body, getattr(body, "language_model", None)):
        for name in FINAL_NORM_NAMES:
            module = getattr(holder, name, None) if holder is not None else None
            if module is not None:
                return module
    return None


def direction_logits(model, vectors: np.ndarray):
    """(n, vocab) torch tensor: each unit direction through the final norm's gain and the output embeddings."""
    import torch

    unembedding = model.get_output_embeddings().weight
    directions = torch.as_tensor(np.asarray(vectors), dtype=unembedding.dtype, device=unembedding.device)
    norm = final_norm(model)
    with torch.inference_mode():
        if norm is not None:
            # Scaled up to a typical residual norm so the norm's epsilon is negligible against the direction.
            scaled = directions * float(np.sqrt(directions.shape[1]))
            directions = norm(scaled) - norm(torch.zeros_like(scaled))
        return (directions @ unembedding.T).float()


def lens_rows(loaded, emotions: list[str], vectors: np.ndarray, k: int) -> list[dict]:
    """The k most promoted and k most suppressed tokens of each probe, relative to the other probes of its set.

    Raw logits of a direction are dominated by a few high-norm tokens that nearly every direction promotes (the
    embeddings are anisotropic), so tokens are ranked by `relative`: the token's logit under this probe as a
    z-score over the probes of the set (with fewer than 3 probes, the raw logit centred per probe). `logit` keeps
    the raw logit, centred per probe.
    """
    import torch

    logits = direction_logits(loaded.model, vectors)
    centred = logits - logits.mean(dim=1, keepdim=True)
    if len(emotions) >= 3:
        spread = logits.std(dim=0, keepdim=True).clamp_min(1e-6)
        relative = (logits - logits.mean(dim=0, keepdim=True)) / spread
    else:
        relative = centred
    k = min(k, logits.shape[1])
    rows = []
    for end, largest in (("top", True), ("bottom", False)):
        values, ids = torch.topk(relative, k, dim=1, largest=largest)
        for i, emotion in enumerate(emotions):
            for rank, (value, token_id) in enumerate(zip(values[i].tolist(), ids[i].tolist(), strict=True)):
                rows.append(
                    {
                        "emotion": emotion,
                        "end": end,
                        "rank": rank + 1,
                        "token_id": int(token_id),
                        "token": loaded.tokenizer.decode([token_id]),
                        "logit": float(centred[i, token_id]),
                        "relative": float(value),
                    }
                )
    return rows
