"""Steered generation for a sweep: our batched sampler (one batch, one vector and strength per row) vs the naive path
(`model.generate` one setting at a time under its own hooks), on the same prompts, settings and token budget.

    python -m bench.steer [--model tiny-random] [--rows 16] [--max-new-tokens 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from etl.model.generate import encode_prompts, generate
from etl.model.load import load
from etl.model.steer import Intervention, steer

PROMPTS = (
    "Write a short story about a man waiting for a train.",
    "Tell me about the old house at the end of the street.",
)


def naive(loaded, prompt_ids, vectors, strengths, layer, max_new_tokens) -> int:
    """One `generate` call per row, each under its own steering hooks; returns the tokens generated."""
    import torch

    tokens = 0
    for row, ids in enumerate(prompt_ids):
        intervention = Intervention(layer, vectors[row], float(strengths[row]), 1.0)
        torch.manual_seed(row)
        with steer(loaded.model, [intervention]), torch.inference_mode():
            out = loaded.model.generate(
                torch.tensor([ids]),
                do_sample=True,
                temperature=0.7,
                top_p=0.95,
                max_new_tokens=max_new_tokens,
                min_new_tokens=max_new_tokens,
                pad_token_id=loaded.tokenizer.pad_token_id,
            )
        tokens += out.shape[1] - len(ids)
    return tokens


def ours(loaded, prompt_ids, vectors, strengths, layer, max_new_tokens) -> int:
    intervention = Intervention(layer, vectors, strengths, 1.0)
    out = generate(loaded, prompt_ids, list(range(len(prompt_ids))), max_new_tokens, 0.7, 0.95, [intervention])
    return sum(len(ids) for ids in out.new_ids)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    loaded = load(args.model)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.rows, loaded.hidden)).astype(np.float32)
    strengths = np.linspace(0.0, 0.3, args.rows).astype(np.float32)
    prompt_ids = encode_prompts(loaded.tokenizer, [PROMPTS[i % len(PROMPTS)] for i in range(args.rows)])
    layer = loaded.n_layers // 3
    timings = {}
    for name, fn in (("ours", ours), ("naive", naive)):
        start = time.perf_counter()
        tokens = fn(loaded, prompt_ids, vectors, strengths, layer, args.max_new_tokens)
        timings[name] = (time.perf_counter() - start, tokens)
    result = {
        "model": loaded.slug,
        "rows": args.rows,
        "max_new_tokens": args.max_new_tokens,
        "ours_s": round(timings["ours"][0], 2),
        "ours_tokens_per_s": round(timings["ours"][1] / timings["ours"][0], 1),
        "naive_s": round(timings["naive"][0], 2),
        "naive_tokens_per_s": round(timings["naive"][1] / timings["naive"][0], 1),
    }
    result["speedup"] = round(result["ours_tokens_per_s"] / result["naive_tokens_per_s"], 2)
    print(json.dumps(result) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
