"""Hook sites on the residual stream: one naming function, hooks that are always removed.

Layer L means the output of decoder block L (0-based), i.e. the residual stream after block L.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StopForward(Exception):
    """Raised by the capture hook once the deepest requested layer has run, so later layers are never computed."""


def decoder_layers(model):
    """The ModuleList of decoder blocks of a causal LM (Llama, Gemma, Qwen, Mistral, GPT-2 style)."""
    import torch

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    n_layers = config.num_hidden_layers
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return module
    raise ValueError(f"cannot find the {n_layers} decoder layers of {type(model).__name__}")


@contextmanager
def capture(model, layers: list[int], stop_after: bool = True) -> Iterator[dict[int, object]]:
    """Records the residual stream (batch, seq, hidden) after each block in `layers` into the yielded dict.

    With `stop_after`, the forward pass raises StopForward after the deepest layer; callers catch it.
    """
    blocks = decoder_layers(model)
    captured: dict[int, object] = {}
    deepest = max(layers)
    handles = []

    def make_hook(index: int):
        def hook(_module, _inputs, output):
            hidden = output[0] if isinstance(output, tuple) else output
            captured[index] = hidden.detach()
            if stop_after and index == deepest:
                raise StopForward

        return hook

    try:
        for index in sorted(set(layers)):
            handles.append(blocks[index].register_forward_hook(make_hook(index)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
