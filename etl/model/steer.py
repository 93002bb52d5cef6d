"""Steering: edit the residual stream after chosen decoder blocks while a model runs, and always undo it.

Layer L is the output of decoder block L (as in `etl.model.hooks`), so a probe read at layer L and a vector added at
layer L live in the same space. Operators, for a unit direction v and a residual vector h at one position:

    add             h + s * n * v                       (s: strength, n: mean residual norm at L on neutral text)
    ablate          h - (h . v) v                       (no component along v is left; s is ignored)
    add_normalised  (h + s * n * v) * |h| / |h + s n v|  (the same push, but each position keeps its norm)

Positions: `all`, `prompt` (positions before `prompt_length`) or `generated` (positions from `prompt_length` on).
Positions are counted per hooked layer across the forward calls made inside the context, so a KV-cached decoding
loop (prompt first, then one token per call) is steered correctly; `prompt_length` defaults to the length of the
first call. A vector may be one direction for the whole batch, shape (hidden,), or one per row, (batch, hidden),
and the strength a scalar or one value per row: a sweep can then run many settings in one batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from etl.config.steer import OPERATORS, POSITIONS
from etl.errors import EmolakeError
from etl.model.hooks import decoder_layers


@dataclass(frozen=True)
class Intervention:
    """One edit at one layer: a direction (unit after normalisation), a strength and the layer's residual norm."""

    layer: int
    vector: np.ndarray
    """(hidden,) or (batch, hidden); normalised to unit length per row."""
    strength: float | np.ndarray = 0.0
    """Fraction of `norm`: a scalar or one value per batch row."""
    norm: float = 1.0
    """Mean residual-stream norm at `layer` on neutral text (see `etl.steering.norms`)."""
    operator: str = "add"

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise EmolakeError(f"steering operator {self.operator!r} is unknown: choose one of {list(OPERATORS)}")
        if not np.isfinite(self.norm) or self.norm <= 0:
            raise EmolakeError(f"residual norm {self.norm} at layer {self.layer} must be positive: re-measure it")


@dataclass
class SteeringState:
    """What the hooks saw: tokens processed per layer and how many forward calls each layer ran."""

    prompt_length: int | None
    seen: dict[int, int] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=dict)


@contextmanager
def steer(
    model, interventions: Sequence[Intervention], positions: str = "all", prompt_length: int | None = None
) -> Iterator[SteeringState]:
    """Applies `interventions` to every forward pass of `model` inside the block; hooks are removed on any exit."""
    import torch

    if positions not in POSITIONS:
        raise EmolakeError(f"steering positions {positions!r} are unknown: choose one of {list(POSITIONS)}")
    blocks = decoder_layers(model)
    for item in interventions:
        if not 0 <= item.layer < len(blocks):
            raise EmolakeError(f"steering layer {item.layer} does not exist: use 0..{len(blocks) - 1}")
    state = SteeringState(prompt_length=prompt_length)
    by_layer: dict[int, list[Intervention]] = {}
    for item in interventions:
        by_layer.setdefault(item.layer, []).append(item)

    def make_hook(layer: int, items: list[Intervention]):
        def hook(_module, _inputs, output):
            hidden = output[0] if isinstance(output, tuple) else output
            start = state.seen.get(layer, 0)
            if state.prompt_length is None:
                state.prompt_length = hidden.shape[1]
            state.seen[layer] = start + hidden.shape[1]
            state.calls[layer] = state.calls.get(layer, 0) + 1
            mask = position_mask(positions, start, hidden.shape[1], state.prompt_length)
            if not mask.any():
                return None
            edited = hidden
            for item in items:
                edited = apply(edited, item, torch.as_tensor(mask, device=hidden.device))
            return (edited, *output[1:]) if isinstance(output, tuple) else edited

        return hook

    handles = []
    try:
        for layer, items in sorted(by_layer.items()):
            handles.append(blocks[layer].register_forward_hook(make_hook(layer, items)))
        yield state
    finally:
        for handle in handles:
            handle.remove()


def position_mask(positions: str, start: int, length: int, prompt_length: int) -> np.ndarray:
    """Which of the positions [start, start + length) are steered."""
    index = np.arange(start, start + length)
    if positions == "prompt":
        return index < prompt_length
    if positions == "generated":
        return index >= prompt_length
    return np.ones(length, dtype=bool)


def apply(hidden, item: Intervention, mask):
    """The edited residual stream (batch, seq, hidden) for one intervention; positions outside `mask` untouched."""
    import torch

    batch = hidden.shape[0]
    direction = torch.as_tensor(np.asarray(item.vector, dtype=np.float32), device=hidden.device)
    direction = direction.reshape(-1, hidden.shape[-1])
    if direction.shape[0] not in (1, batch):
        raise EmolakeError(f"steering vectors have {direction.shape[0]} rows but the batch has {batch}: match them")
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    direction = direction[:, None, :].to(hidden.dtype)
    keep = mask.to(hidden.dtype)[None, :, None]
    if item.operator == "ablate":
        component = (hidden * direction).sum(dim=-1, keepdim=True)
        return hidden - keep * component * direction
    strength = torch.as_tensor(np.asarray(item.strength, dtype=np.float32), device=hidden.device).reshape(-1)
    if strength.shape[0] not in (1, batch):
        raise EmolakeError(f"steering strengths have {strength.shape[0]} values but the batch has {batch}")
    push = (strength[:, None, None] * float(item.norm)).to(hidden.dtype) * direction
    steered = hidden + keep * push
    if item.operator == "add_normalised":
        scale = hidden.norm(dim=-1, keepdim=True) / steered.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        steered = torch.where(keep.bool(), steered * scale, hidden)
    return steered
