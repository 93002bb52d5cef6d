"""Extraction throughput: the naive path vs ours, on the same texts and model in one run.

    python -m bench.extract [--model bundled:smollm2-135m-instruct] [--texts 128] [--depth 0.67] [--json]

naive: AutoModelForCausalLM forward with output_hidden_states=True (every layer and the LM head), texts in arrival
       order, fixed batches of --batch texts padded to the longest.
ours:  etl.model.residuals.mean_residuals at one layer (about 2/3 depth): the forward stops after that layer, never runs
       the LM head, and batches are bucketed by length under a token budget.
matmul_utilisation: our achieved FLOP/s over the layers actually run, divided by a float32 torch matmul of the
       model's MLP shape measured on this machine in the same run.
achieved_tflops, mfu: the same FLOPs counted by etl.model.flops (2 x weights per token + causal attention), and on
       CUDA their share of the card's dense bf16 peak (table in etl/model/flops.py, or --peak-tflops).
--architecture NAME builds a randomly initialised Llama-style model of a known shape (etl.model.flops.KNOWN_SHAPES,
       e.g. meta-llama/Llama-3.2-3B-Instruct) with the byte tokenizer: no download, the same FLOPs per token.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from etl.generation.writers.reference import read_corpus
from etl.model.flops import KNOWN_SHAPES, device_name, efficiency, forward_flops, shape_of
from etl.model.hooks import decoder_layers
from etl.model.load import load
from etl.model.residuals import mean_residuals, tokenize


def naive_means(model, tokenizer, texts: list[str], layer: int, skip: int, batch: int) -> np.ndarray:
    import torch

    out = []
    for start in range(0, len(texts), batch):
        encoded = tokenizer(
            texts[start : start + batch], return_tensors="pt", padding=True, truncation=True, max_length=512
        )
        encoded = encoded.to(next(model.parameters()).device)
        with torch.inference_mode():
            hidden = model(**encoded, output_hidden_states=True).hidden_states[layer + 1].float()
        mask = encoded["attention_mask"].clone()
        mask[:, :skip] = 0
        out.append(((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).cpu().numpy())
    return np.concatenate(out)


def layer_flops(model, layer: int, lengths: list[int]) -> float:
    """Useful FLOPs of blocks 0..layer on texts of these lengths: 2 per weight per token, plus causal attention."""
    blocks = decoder_layers(model)
    params = sum(p.numel() for block in list(blocks)[: layer + 1] for p in block.parameters())
    hidden = model.config.get_text_config().hidden_size
    tokens = sum(lengths)
    attention = sum(2 * n * n * hidden for n in lengths) * (layer + 1)  # QK^T and AV over a causal half, x2 flops
    return 2 * params * tokens + attention


def matmul_flops_per_s(model, rows: int = 2048, repeats: int = 20) -> float:
    import torch

    config = model.config.get_text_config()
    a = torch.randn(rows, config.hidden_size)
    b = torch.randn(config.hidden_size, config.intermediate_size)
    torch.matmul(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.matmul(a, b)
    seconds = time.perf_counter() - start
    return 2 * rows * config.hidden_size * config.intermediate_size * repeats / seconds


def random_architecture(name: str):
    """A Loaded-like (model, tokenizer, slug, n_layers) of a known shape with random weights, bf16 on CUDA."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from etl.model.families import tiny_tokenizer
    from etl.model.load import Loaded

    shape = KNOWN_SHAPES[name]
    tokenizer = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        head_dim=shape.head_dim,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
    )
    cuda = torch.cuda.is_available()
    with torch.device("cuda" if cuda else "cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16 if cuda else torch.float32).eval()
    return Loaded(model, tokenizer, name, f"random-{name.split('/')[-1]}", shape.layers, shape.hidden)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled:smollm2-135m-instruct")
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--depth", type=float, default=2 / 3, help="probed layer as a fraction of depth")
    parser.add_argument("--batch", type=int, default=16, help="naive path's fixed batch size")
    parser.add_argument("--batch-tokens", type=int, default=4096, help="our token budget per batch")
    parser.add_argument("--architecture", choices=sorted(KNOWN_SHAPES), help="random weights of a known shape")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak (default: looked up)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import torch

    loaded = random_architecture(args.architecture) if args.architecture else load(args.model)
    corpus = read_corpus("emotional_story") + read_corpus("neutral_dialogue") + read_corpus("deflection_dialogue")
    rng = np.random.default_rng(0)
    texts = [corpus[i]["text"] for i in rng.choice(len(corpus), size=args.texts, replace=False)]
    layer = max(0, round(args.depth * loaded.n_layers) - 1)
    lengths = [len(ids) for ids in tokenize(loaded.tokenizer, texts, 512)]
    loaded.tokenizer.padding_side = "right"
    mean_residuals(loaded.model, loaded.tokenizer, texts[:4], [layer], 50, 512)  # warm-up
    start = time.perf_counter()
    ours = mean_residuals(loaded.model, loaded.tokenizer, texts, [layer], 50, 512, args.batch_tokens)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    naive = naive_means(loaded.model, loaded.tokenizer, texts, layer, 50, args.batch)
    naive_s = time.perf_counter() - start
    counted = efficiency(
        forward_flops(shape_of(loaded.model.config), layer + 1, lengths), ours_s, device_name(), args.peak_tflops
    )
    peak = matmul_flops_per_s(loaded.model)
    achieved = layer_flops(loaded.model, layer, lengths) / ours_s
    result = {
        "model": loaded.slug,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "texts": len(texts),
        "tokens": sum(lengths),
        "layer": layer,
        "n_layers": loaded.n_layers,
        "naive_tokens_per_s": round(sum(lengths) / naive_s, 1),
        "ours_tokens_per_s": round(sum(lengths) / ours_s, 1),
        "speedup": round(naive_s / ours_s, 2),
        "achieved_gflops": round(achieved / 1e9, 2),
        "matmul_gflops": round(peak / 1e9, 2),
        "matmul_utilisation": round(achieved / peak, 3),
        "device_name": counted["device"],
        "achieved_tflops": counted["tflops"],
        "peak_tflops": counted["peak_tflops"],
        "mfu": counted["mfu"],
        "max_abs_diff_vs_naive": float(np.abs(ours.vectors[:, 0] - naive).max()),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k:>24}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
