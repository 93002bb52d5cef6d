"""Batched nucleus sampling with the model's chat template: how the probed model writes its own texts."""

from __future__ import annotations

from dataclasses import dataclass

from etl.model.generate import chat_prompt, stop_ids

TOP_P = 0.95


@dataclass
class Sampled:
    text: str
    """The decoded answer without special tokens, stripped."""
    n_tokens: int
    """Tokens generated up to and including the first stop token (what the row actually cost)."""


def sampling_options(loaded, max_new_tokens: int, temperature: float) -> dict:
    """The keyword arguments of `generate` for nucleus sampling that stops at any stop id."""
    return {
        "do_sample": True,
        "temperature": temperature,
        "top_p": TOP_P,
        "max_new_tokens": max_new_tokens,
        "pad_token_id": loaded.tokenizer.pad_token_id,
        "eos_token_id": sorted(stop_ids(loaded)),
    }


def sample(
    loaded, requests: list[str], max_new_tokens: int, temperature: float, seed: int, prefixes: list[str] | None = None
) -> list[Sampled]:
    """One sampled answer per request, in order, from a single left-padded batch; `prefixes` start the answers."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.model
    prefixes = prefixes or [""] * len(requests)
    texts = [chat_prompt(tokenizer, r) + p for r, p in zip(requests, prefixes, strict=True)]
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = previous_side
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    stops = stop_ids(loaded)
    torch.manual_seed(seed)
    with torch.inference_mode():
        output = model.generate(**batch, **sampling_options(loaded, max_new_tokens, temperature))
    new_tokens = output[:, batch["input_ids"].shape[1] :].tolist()
    out = []
    for row in new_tokens:
        end = next((i + 1 for i, token in enumerate(row) if token in stops), len(row))
        out.append(Sampled(tokenizer.decode(row[:end], skip_special_tokens=True).strip(), end))
    return out
