"""The probed model writes its own texts (generation-based extraction): batched sampling with its chat template.

One chunk of requests is one padded batch: prompts are left-padded (so every row's answer starts at the same
position) with an attention mask, sampled together, and each row stops at the first stop token (EOS or a stop id of
the model's generation config). Dialogues are started with their first speaker's label so that small models keep
the `Name: words` format; the label is part of the text that is parsed into turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from etl.generation import prompts
from etl.generation.plan import Chunk, build_row, derived_seed
from etl.model.sampling import sample

log = logging.getLogger("emolake")


def write(config, pending: list[Chunk], land: Callable[[Chunk, list[dict]], None], pair_source: str | None) -> int:
    """Samples every pending chunk and hands its rows to `land`; returns the number of tokens generated."""
    from etl import progress
    from etl.model.load import load

    loaded = load(config.common.model)
    bar = progress.bar(total=sum(len(c.requests) for c in pending), desc="generate (local)", unit="text")
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
