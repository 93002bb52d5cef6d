"""A few seconds of measured throughput on this device, for the plan's time estimate.

With the model at hand (tiny, bundled, a local directory, or a hub model already in the hub cache) the real
extraction path runs on sample texts; otherwise a matmul of the model's MLP shape is timed (in the model's compute
precision, `etl.model.load.precision`) and the forward's FLOPs per token turn it into tokens/s: an optimistic rate,
since a forward does more than matmuls, so that estimate is a lower bound on time. Nothing is downloaded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from etl.model.flops import KNOWN_SHAPES, Shape, device_name, flops_per_token, shape_of
from etl.model.load import is_tiny


@dataclass(frozen=True)
class Throughput:
    tokens_per_s: float
    how: str
    """What was measured, in words (printed by the plan)."""
    device: str


def model_at_hand(spec: str) -> bool:
    """Whether loading `spec` downloads nothing."""
    if is_tiny(spec) or spec.startswith("bundled:") or Path(spec).is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(spec, "model.safetensors.index.json") or try_to_load_from_cache(
            spec, "model.safetensors"
        )
    except (ImportError, ValueError):
        return False
    return isinstance(found, str)


def model_shape(spec: str) -> Shape | None:
    """The Shape of `spec` without loading weights: the table of known models, else a config on disk, else None."""
    if spec in KNOWN_SHAPES:
        return KNOWN_SHAPES[spec]
    try:
        from transformers import AutoConfig

        return shape_of(AutoConfig.from_pretrained(spec, local_files_only=True))
    except (OSError, ValueError):
        return None


def measure(spec: str, shape: Shape, blocks: int, length: int, texts: list[str], seconds: float = 3.0) -> Throughput:
    """Tokens/s of extraction through `blocks` blocks: measured on the model if at hand, else from a matmul."""
    if model_at_hand(spec) and texts:
        return _measure_model(spec, blocks, texts, seconds)
    return _measure_matmul(spec, shape, blocks, length, seconds)


def _measure_model(spec: str, blocks: int, texts: list[str], seconds: float) -> Throughput:
    from etl.model.load import load
    from etl.model.residuals import mean_residuals, tokenize

    loaded = load(spec)
    layer = [min(blocks, loaded.n_layers) - 1]
    mean_residuals(loaded.model, loaded.tokenizer, texts[:2], layer, 1, 512)  # warm-up
    tokens, start = 0, time.perf_counter()
    for i in range(0, len(texts), 16):
        batch = texts[i : i + 16]
        mean_residuals(loaded.model, loaded.tokenizer, batch, layer, 1, 512)
        tokens += sum(len(ids) for ids in tokenize(loaded.tokenizer, batch, 512))
        if time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    how = f"extraction of {tokens} tokens of sample texts through {layer[0] + 1} blocks in {elapsed:.1f} s"
    return Throughput(tokens / elapsed, how, device_name())


def _measure_matmul(spec: str, shape: Shape, blocks: int, length: int, seconds: float) -> Throughput:
    import torch

    from etl.model.load import precision

    cuda = torch.cuda.is_available()
    dtype, device = getattr(torch, precision(spec)), "cuda" if cuda else "cpu"
    a = torch.randn(1024, shape.hidden, dtype=dtype, device=device)
    b = torch.randn(shape.hidden, shape.intermediate, dtype=dtype, device=device)
    torch.matmul(a, b)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        runs += 1
        if cuda and runs % 50 == 0:
            torch.cuda.synchronize()
    if cuda:
        torch.cuda.synchronize()
    rate = 2 * 1024 * shape.hidden * shape.intermediate * runs / (time.perf_counter() - start)
    how = (
        f"{rate / 1e12:.3f} TFLOP/s of a {1024}x{shape.hidden}x{shape.intermediate} matmul over {seconds:.0f} s "
        f"(model not at hand), / {flops_per_token(shape, blocks, length) / 1e9:.2f} GFLOP per token: a lower bound"
    )
    return Throughput(rate / flops_per_token(shape, blocks, length), how, device_name())
