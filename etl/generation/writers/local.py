"""The probed model writes its own texts (generation-based extraction): batched sampling with its chat template.

One chunk of requests is one padded batch: prompts are left-padded (so every row's answer starts at the same
position) with an attention mask, sampled together, and each row stops at the first stop token (EOS or a stop id of
the model's generation config). Dialogues are started with their first speaker's label so that small models keep
the `Name: words` format; the label is part of the text that is parsed into turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from etl.generation import prompts
from etl.generation.plan import Chunk, build_row, chat_prompt, derived_seed

log = logging.getLogger("emolake")
TOP_P = 0.95


@dataclass
class Sampled:
    text: str
    """The decoded answer without special tokens, stripped."""
    n_tokens: int
    """Tokens generated up to and including the first stop token (what the row actually cost)."""


def stop_ids(loaded) -> list[int]:
    """The tokenizer's EOS plus any stop ids of the model's generation config."""
    ids = {loaded.tokenizer.eos_token_id}
    configured = getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def sampling_options(loaded, max_new_tokens: int, temperature: float) -> dict:
    """The keyword arguments of `generate` for nucleus sampling that stops at any stop id."""
    return {
        "do_sample": True,
        "temperature": temperature,
        "top_p": TOP_P,
        "max_new_tokens": max_new_tokens,
        "pad_token_id": loaded.tokenizer.pad_token_id,
        "eos_token_id": stop_ids(loaded),
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


def write(config, pending: list[Chunk], land: Callable[[Chunk, list[dict]], None], pair_source: str | None) -> int:
    """Samples every pending chunk and hands its rows to `land`; returns the number of tokens generated."""
    from tqdm import tqdm

    from etl.model.load import load

    loaded = load(config.common.model)
    bar = tqdm(total=sum(len(c.requests) for c in pending), desc="generate (local)", unit="text")
    tokens = 0
    for chunk in pending:
        rows, used = write_chunk(loaded, chunk, config, pair_source)
        land(chunk, rows)
        tokens += used
        bar.set_postfix(tokens=tokens, refresh=False)
        bar.update(len(rows))
    bar.close()
    return tokens


def write_chunk(loaded, chunk: Chunk, config, pair_source: str | None = None) -> tuple[list[dict], int]:
    """Samples one text per request of the chunk; returns (`texts` rows with full provenance, tokens generated)."""
    requests = chunk.requests
    fields = [r.fields() for r in requests]
    asks = [prompts.render(chunk.corpus, **f) for f in fields]
    prefixes = [prompts.assistant_prefix(chunk.corpus, **f) for f in fields]
    dialogue = chunk.corpus.endswith("_dialogue")
    max_new = config.local.dialogue_max_new_tokens if dialogue else config.local.max_new_tokens
    seed = derived_seed(config.common.seed, chunk.key)
    outputs = sample(loaded, asks, max_new, config.temperature, seed, prefixes)
    provenance = {
        "source": "local",
        "writer_model": loaded.slug,
        "prompt_hash": prompts.template_hash(chunk.corpus, "local"),
        "prompt_version": prompts.PROMPT_VERSION,
        "seed": seed,
        "temperature": config.temperature,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pair_source": pair_source,
    }
    rows = [
        build_row(request, f"{prefix} {out.text}".strip() if prefix else out.text, None, provenance)
        for request, prefix, out in zip(requests, prefixes, outputs, strict=True)
    ]
    return rows, sum(out.n_tokens for out in outputs)
