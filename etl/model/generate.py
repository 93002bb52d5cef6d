"""Batched sampling with common random numbers, optionally under steering, for paired baseline/steered runs.

Each row draws its uniforms from its own generator seeded with the row's seed, and picks a token by inverting the
(top-p truncated) distribution at that uniform. So a row's text depends only on its prompt, seed and steering, never
on what else is in the batch, and a baseline and a steered run with the same seed share every random draw: where the
two distributions agree they pick the same token, and the difference between the texts is the steering's doing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from etl.model.steer import Intervention, steer


@dataclass
class Generated:
    prompt_ids: list[list[int]]
    new_ids: list[list[int]]
    """Generated token ids per row, the stop token included when one was produced."""
    texts: list[str]
    """The decoded continuation without special tokens, stripped."""


def chat_prompt(tokenizer, request: str) -> str:
    """The request wrapped in the model's chat template, ready for the assistant's answer."""
    messages = [{"role": "user", "content": request}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_prompts(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of each prompt wrapped in the model's chat template, ready for the assistant's answer."""
    texts = [chat_prompt(tokenizer, prompt) for prompt in prompts]
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def stop_ids(loaded) -> set[int]:
    """The tokenizer's EOS plus any stop tokens in the model's generation config."""
    ids = {loaded.tokenizer.eos_token_id}
    configured = getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    return {i for i in ids if i is not None}


def generate(
    loaded,
    prompt_ids: list[list[int]],
    seeds: Sequence[int],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    interventions: Sequence[Intervention] = (),
    positions: str = "all",
) -> Generated:
    """One continuation per row (left-padded batch, KV cache), steered by `interventions` when given."""
    import torch

    model, pad = loaded.model, loaded.tokenizer.pad_token_id
    device = next(model.parameters()).device
    width = max(len(row) for row in prompt_ids)
    input_ids = torch.full((len(prompt_ids), width), pad, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    for row, ids in enumerate(prompt_ids):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        mask[row, width - len(ids) :] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    positions_ids = (mask.cumsum(-1) - 1).clamp_min(0)
    generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    stops = torch.tensor(sorted(stop_ids(loaded)), device=device)
    new_ids: list[list[int]] = [[] for _ in prompt_ids]
    finished = torch.zeros(len(prompt_ids), dtype=torch.bool, device=device)
    context = steer(model, interventions, positions, prompt_length=width) if interventions else nullcontext()
    cache_name = cache_argument(model)
    with torch.inference_mode(), context:
        out = model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions_ids, use_cache=True, logits_to_keep=1
        )
        for _ in range(max_new_tokens):
            chosen = choose(out.logits[:, -1, :].float(), temperature, top_p, generators).to(device)
            for row in torch.nonzero(~finished).flatten().tolist():
                new_ids[row].append(int(chosen[row]))
            finished |= torch.isin(chosen, stops)
            if bool(finished.all()):
                break
            chosen = torch.where(finished, torch.full_like(chosen, pad), chosen)
            mask = torch.cat([mask, (~finished).long()[:, None]], dim=1)
            positions_ids = positions_ids[:, -1:] + 1
            out = model(
                input_ids=chosen[:, None],
                attention_mask=mask,
                position_ids=positions_ids,
                **{cache_name: kv_cache(out)},
                use_cache=True,
                logits_to_keep=1,
            )
    texts = [loaded.tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in new_ids]
    return Generated(prompt_ids=[list(r) for r in prompt_ids], new_ids=new_ids, texts=texts)


def cache_argument(model) -> str:
    """The forward argument that takes the KV cache: `cache` from transformers 5.2x (`past_key_values` before it,
    deprecated since and due to go in 5.40)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def kv_cache(out):
    """The KV cache of a forward's output, under its new name (`cache`) or its old one."""
    return out["cache"] if "cache" in out else out["past_key_values"]


def choose(logits, temperature: float, top_p: float, generators):
    """Next token per row: argmax at temperature 0, else inverse-CDF sampling of the top-p distribution."""
    import torch

    uniforms = torch.stack([torch.rand((), generator=g) for g in generators])
    if temperature == 0:
        return logits.argmax(dim=-1).cpu()
    probs = torch.softmax(logits / temperature, dim=-1).cpu()
    sorted_probs, order = probs.sort(dim=-1, descending=True, stable=True)
    cumulative = sorted_probs.cumsum(dim=-1)
    # Keep the smallest prefix whose mass reaches top_p (the first token is always kept).
    keep = (cumulative - sorted_probs) < top_p
    kept = torch.where(keep, sorted_probs, torch.zeros_like(sorted_probs)).cumsum(dim=-1)
    target = uniforms[:, None] * kept[:, -1:]
    index = torch.searchsorted(kept, target, right=True).clamp_max(probs.shape[-1] - 1)
    return order.gather(-1, index).squeeze(-1)
