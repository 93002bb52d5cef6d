"""Hook sites on the residual stream: one naming function, hooks that are always removed.

Layer L means the output of decoder block L (0-based), i.e. the residual stream after block L.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from etl.errors import EmolakeError


class StopForward(Exception):
    """Raised by the capture hook once the deepest requested layer has run, so later layers are never computed."""


BLOCK_PATHS = (
    "model.layers",
    "model.language_model.layers",
    "transformer.h",
    "gpt_neox.layers",
    "model.decoder.layers",
    "transformer.blocks",
)
"""Where the decoder blocks live: Llama, Qwen, Gemma, Mistral, Phi-3; Gemma 3 with vision; GPT-2, GPT-J; GPT-NeoX;
OPT; MPT. Other models fall back to the one ModuleList as long as the layer count."""


def decoder_layers(model):
    """The ModuleList of decoder blocks of a decoder-only causal LM: a known path, else the one list as long as the
    config's layer count. Raises EmolakeError for encoders and models whose blocks cannot be found."""
    import torch

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    n_layers = getattr(config, "num_hidden_layers", None)
    needs = "emolake needs a decoder-only causal LM (Llama, Qwen, Gemma, Mistral, Phi, GPT-2 or GPT-NeoX style)"
    for path in BLOCK_PATHS:
        found = _attribute(model, path)
        if isinstance(found, torch.nn.ModuleList) and len(found) == n_layers:
            return found
    if (
        getattr(config, "is_encoder_decoder", False)
        or any(name.endswith("encoder") for name, _ in model.named_children())
        or any(name.endswith("encoder") for child in model.children() for name, _ in child.named_children())
    ):
        raise EmolakeError(f"{type(model).__name__} has an encoder: {needs}")
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers]
    if not lists:
        raise EmolakeError(f"cannot find the {n_layers} decoder blocks of {type(model).__name__}: {needs}")
    return lists[0]


def _attribute(model, path: str):
    """`model.a.b.c` for path `a.b.c`, or None."""
    for name in path.split("."):
        model = getattr(model, name, None)
    return model


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
