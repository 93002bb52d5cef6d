"""The largest extraction batch that fits in free GPU memory, measured once per (model, device, length) and cached.

On CUDA, `extract.auto_batch` doubles a batch of `max_tokens`-long texts from `batch_tokens` until the forward pass
runs out of memory (or a ceiling), keeps 90% of the largest that fit (headroom for fragmentation and longer
activations of other batches), and writes it to the model cache so later runs read it instead of searching.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from etl.lake import write_json
from etl.model.load import cache_dir

log = logging.getLogger("emolake")
CEILING_TOKENS = 1 << 20
"""Stop doubling here: past ~1M tokens a batch no longer raises throughput, it only delays the first shard."""


def largest_fitting(start: int, fits: Callable[[int], bool], ceiling: int = CEILING_TOKENS) -> int:
    """The largest of start, 2 x start, 4 x start... (up to `ceiling`) for which `fits(tokens)` holds, x 0.9;
    `start` itself when even it does not fit (the caller's value stays the floor)."""
    best, tokens = 0, start
    while tokens <= ceiling and fits(tokens):
        best, tokens = tokens, tokens * 2
    return max(start, int(best * 0.9)) if best else start


def tuned_batch_tokens(loaded, batch_tokens: int, max_tokens: int, blocks: int, enabled: bool) -> int:
    """`batch_tokens`, or on CUDA with `enabled` the cached (else measured) largest batch that fits."""
    import torch

    if not enabled or not torch.cuda.is_available():
        return batch_tokens
    path = cache_dir() / "batch_tokens.json"
    key = f"{loaded.slug}|{torch.cuda.get_device_name()}|{max_tokens}|{blocks}"
    cached = json.loads(path.read_text()) if path.exists() else {}
    if key not in cached:
        cached[key] = largest_fitting(batch_tokens, lambda tokens: _fits(loaded, tokens, max_tokens, blocks))
        write_json(cached, path)
        log.info("extract: largest batch that fits on %s: %d tokens (cached in %s)", key, cached[key], path)
    return int(cached[key])


def _fits(loaded, tokens: int, max_tokens: int, blocks: int) -> bool:
    """Whether a forward of tokens // max_tokens texts of max_tokens tokens through `blocks` blocks fits."""
    import torch

    from etl.model.residuals import forward_layers

    rows = max(1, tokens // max_tokens)
    ids = [[loaded.tokenizer.pad_token_id or 0] * max_tokens for _ in range(rows)]
    try:
        captured, _ = forward_layers(loaded.model, ids, loaded.tokenizer.pad_token_id or 0, [blocks - 1])
        del captured
        return True
    except torch.cuda.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()
