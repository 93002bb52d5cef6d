"""FLOPs of a decoder's forward pass, achieved TFLOP/s and MFU against the device's dense bf16 peak.

Per token, a forward through L blocks costs 2 x (the blocks' weights) for the matmuls, plus causal attention: QK^T and
AV each take 2 x heads x head_dim multiply-adds per earlier position, about n/2 positions on average for a text of n
tokens, so 2 x 2 x heads x head_dim x n/2 per token per block. Extraction stops after the deepest probed block and
never runs the LM head, so neither counts. MFU is achieved FLOP/s over the peak: dense (no sparsity) bf16 tensor-core
figures from the vendors' data sheets, overridable (`extract.peak_tflops`, `bench.extract --peak-tflops`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Dense bf16 peaks in TFLOP/s, matched in order against torch.cuda.get_device_name() (first substring wins).
PEAK_BF16_TFLOPS = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 70.0),  # AWS's A10G runs below the A10's 125 (lower clocks and power)
    ("A10", 125.0),
    ("RTX 4090", 165.2),
)


@dataclass(frozen=True)
class Shape:
    """What the FLOPs of a decoder depend on."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    gated_mlp: bool = True
    """Llama/Gemma MLPs have three matrices (gate, up, down); GPT-2-style ones have two."""

    def block_params(self) -> int:
        """Weights of one block's matmuls (norm weights are negligible and do no matmul)."""
        attention = self.hidden * self.head_dim * (self.heads * 2 + self.kv_heads * 2)
        mlp = (3 if self.gated_mlp else 2) * self.hidden * self.intermediate
        return attention + mlp

    def params(self) -> int:
        """Matmul weights of every block plus the embedding (for reporting the model's size)."""
        return self.layers * self.block_params() + self.vocab * self.hidden


def shape_of(config) -> Shape:
    """The Shape of a transformers config (its text config for a multimodal model)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text.num_attention_heads
    return Shape(
        layers=text.num_hidden_layers,
        hidden=text.hidden_size,
        intermediate=getattr(text, "intermediate_size", 4 * text.hidden_size),
        heads=heads,
        kv_heads=getattr(text, "num_key_value_heads", None) or heads,
        head_dim=getattr(text, "head_dim", None) or text.hidden_size // heads,
        vocab=text.vocab_size,
    )


def forward_flops(shape: Shape, blocks: int, lengths: list[int]) -> float:
    """FLOPs of running texts of these lengths (tokens) through the first `blocks` blocks."""
    tokens = sum(lengths)
    attention_per_block = sum(2 * shape.heads * shape.head_dim * n * n for n in lengths)  # 4 x h x d x n x n/2
    return float(blocks * (2 * shape.block_params() * tokens + attention_per_block))


def flops_per_token(shape: Shape, blocks: int, length: int) -> float:
    """FLOPs per token of a text of `length` tokens through `blocks` blocks."""
    return forward_flops(shape, blocks, [length]) / length


def peak_tflops(device_name: str, override: float | None = None) -> float | None:
    """The device's dense bf16 peak (TFLOP/s): `override` if given, else the table's, else None (unknown card)."""
    if override:
        return float(override)
    return next((peak for needle, peak in PEAK_BF16_TFLOPS if needle.lower() in device_name.lower()), None)


def device_name() -> str:
    """The CUDA device's name, or `cpu`."""
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def efficiency(flops: float, seconds: float, device: str, override: float | None = None) -> dict:
    """Achieved TFLOP/s, and MFU where the device's peak is known (None on CPU or an unknown card)."""
    achieved = flops / seconds / 1e12 if seconds > 0 else 0.0
    peak = peak_tflops(device, override) if device != "cpu" or override else None
    return {
        "device": device,
        "tflops": round(achieved, 3),
        "peak_tflops": peak,
        "mfu": round(achieved / peak, 4) if peak else None,
    }


def extraction_efficiency(model, blocks: int, lengths: list[int], seconds: float, override: float | None) -> dict:
    """`efficiency` of an extraction pass: texts of `lengths` through the first `blocks` blocks of `model`."""
    flops = forward_flops(shape_of(model.config), blocks, lengths)
    return {"flops": flops, **efficiency(flops, seconds, device_name(), override)}


# Shapes of the models the presets name, so a plan prints without downloading anything (values from their configs).
KNOWN_SHAPES = {
    "google/gemma-3-4b-it": Shape(
        layers=34, hidden=2560, intermediate=10240, heads=8, kv_heads=4, head_dim=256, vocab=262208
    ),
    "meta-llama/Llama-3.2-3B-Instruct": Shape(
        layers=28, hidden=3072, intermediate=8192, heads=24, kv_heads=8, head_dim=128, vocab=128256
    ),
    "bundled:smollm2-135m-instruct": Shape(
        layers=30, hidden=576, intermediate=1536, heads=9, kv_heads=3, head_dim=64, vocab=49152
    ),
    "bundled:gemma3-270m": Shape(
        layers=18, hidden=640, intermediate=2048, heads=4, kv_heads=1, head_dim=256, vocab=262144
    ),
    "tiny-random": Shape(layers=4, hidden=64, intermediate=128, heads=4, kv_heads=2, head_dim=16, vocab=262),
}


def log_extraction(model, blocks: int, lengths: list[int], seconds: float, override: float | None) -> dict:
    """Logs (and returns) what an extraction pass achieved: TFLOP/s, and MFU on a card of known peak."""
    import logging

    found = extraction_efficiency(model, blocks, lengths, seconds, override)
    mfu = f", MFU {found['mfu']:.1%} of {found['peak_tflops']:.0f} TFLOP/s bf16" if found["mfu"] is not None else ""
    logging.getLogger("emolake").info(
        "extract: %.3g FLOPs in %.1f s on %s: %.2f TFLOP/s%s",
        found["flops"],
        seconds,
        found["device"],
        found["tflops"],
        mfu,
    )
    return found
