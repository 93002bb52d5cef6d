"""Local generation throughput: our batched sampling (one left-padded batch, attention mask, stop at EOS) vs the
naive path (one `generate` call per prompt), on the same prompts in one run.

    python -m bench.generate [--model bundled:smollm2-135m-instruct] [--prompts 16] [--max-new-tokens 64]
                             [--rounds 2] [--json]

Both paths sample with the same settings, so token counts differ slightly; throughput is generated tokens (up to
and including each row's stop token) per second. CPU seconds are reported too: on a shared machine they show the
work done, independent of how much of the machine the run was given; the two paths run in ABBA order.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from etl import catalog
from etl.generation import prompts


def bench_prompts(n: int) -> list[str]:
    """The local emotional-story prompts of the first n emotions (the prompts the `generate` stage sends)."""
    emotions = catalog.emotions()
    topics = catalog.topics()
    return [prompts.render("emotional_story", emotion=emotions[i], topic=topics[i % len(topics)]) for i in range(n)]


def naive(loaded, requests: list[str], max_new_tokens: int, temperature: float, seed: int) -> int:
    """One `generate` per prompt; returns the tokens generated."""
    import torch

    from etl.model.generate import chat_prompt, stop_ids
    from etl.model.sampling import sampling_options

    tokenizer, model = loaded.tokenizer, loaded.model
    stops = stop_ids(loaded)
    tokens = 0
    torch.manual_seed(seed)
    for request in requests:
        batch = tokenizer([chat_prompt(tokenizer, request)], return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            output = model.generate(**batch, **sampling_options(loaded, max_new_tokens, temperature))
        new = output[0, batch["input_ids"].shape[1] :].tolist()
        tokens += next((i + 1 for i, t in enumerate(new) if t in stops), len(new))
    return tokens


def batched(loaded, requests: list[str], max_new_tokens: int, temperature: float, seed: int, batch_size: int) -> int:
    from etl.model.sampling import sample

    tokens = 0
    for start in range(0, len(requests), batch_size):
        outputs = sample(loaded, requests[start : start + batch_size], max_new_tokens, temperature, seed + start)
        tokens += sum(o.n_tokens for o in outputs)
    return tokens


def measured(fn, *args) -> tuple[int, float, float]:
    """(tokens, wall seconds, CPU seconds of this process)."""
    cpu, wall = time.process_time(), time.perf_counter()
    tokens = fn(*args)
    return tokens, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="bundled:smollm2-135m-instruct")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=0, help="0: all prompts in one batch")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--rounds", type=int, default=2, help="1: batched then naive; 2: ABBA (drift-robust)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from etl.model.load import load

    loaded = load(args.model)
    requests = bench_prompts(args.prompts)
    # Warm-up: first-call costs (allocations, kernel selection) are not throughput.
    naive(loaded, requests[:1], 4, args.temperature, 0)
    batched(loaded, requests[:2], 4, args.temperature, 0, 2)
    size = args.batch_size or len(requests)
    ours, base = (0, 0.0, 0.0), (0, 0.0, 0.0)
    for round_ in range(args.rounds):
        # ABBA order: on a shared machine the load drifts, and alternating the paths cancels a steady drift.
        for which in ("batched", "naive") if round_ % 2 == 0 else ("naive", "batched"):
            if which == "batched":
                got = measured(batched, loaded, requests, args.max_new_tokens, args.temperature, round_, size)
                ours = tuple(a + b for a, b in zip(ours, got, strict=True))
            else:
                got = measured(naive, loaded, requests, args.max_new_tokens, args.temperature, round_)
                base = tuple(a + b for a, b in zip(base, got, strict=True))
    result = {
        "model": loaded.slug,
        "prompts": args.prompts,
        "max_new_tokens": args.max_new_tokens,
        "rounds": args.rounds,
        "threads": _threads(),
        "batched_tokens": ours[0],
        "batched_s": round(ours[1], 2),
        "batched_tok_per_s": round(ours[0] / ours[1], 2),
        "batched_tok_per_cpu_s": round(ours[0] / ours[2], 2),
        "naive_tokens": base[0],
        "naive_s": round(base[1], 2),
        "naive_tok_per_s": round(base[0] / base[1], 2),
        "naive_tok_per_cpu_s": round(base[0] / base[2], 2),
    }
    result["ratio"] = round(result["batched_tok_per_s"] / result["naive_tok_per_s"], 2)
    result["ratio_cpu"] = round(result["batched_tok_per_cpu_s"] / result["naive_tok_per_cpu_s"], 2)
    print(json.dumps(result) if args.json else "\n".join(f"{k:>22}: {v}" for k, v in result.items()))
    return result


def _threads() -> int:
    import torch

    return torch.get_num_threads() if os.environ.get("OMP_NUM_THREADS") is None else int(os.environ["OMP_NUM_THREADS"])


if __name__ == "__main__":
    main()
