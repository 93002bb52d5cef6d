"""Probe sets out of the lake through the facade: reading sets (safetensors, npy) and control vectors that steer as
`emolake steer` does (gguf). `emolake export` and `EmoLake.export` call `export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from etl.lake import Lake


def export(
    lake: Lake,
    model: str | None,
    source: str,
    fmt: str,
    output: Path,
    kind: str | None = None,
    layers: Sequence[int] | str | None = None,
    preset: str = "default",
) -> tuple[object, list[Path]]:
    """Writes one probe set; returns (the probe stack, the files). safetensors and npy: the reading set (the default
    set unless `kind`/`layers`), unit probes and centres; gguf: `control_vectors` with the `preset`'s recipe."""
    from etl.probes.export import stack, write

    if fmt == "gguf":
        return control_vectors(lake, model, source, kind, layers, output, preset)
    probes = stack(lake, model, source, kind, layers)
    return probes, write(probes, fmt, output)


def control_vectors(
    lake: Lake,
    model: str | None,
    source: str,
    kind: str | None,
    layers: Sequence[int] | str | None,
    output: Path,
    preset: str = "default",
) -> tuple[object, list[Path]]:
    """Writes llama.cpp control vectors of the steering recipe of `preset`'s `[steer]` table (`etl.steering.recipe`):
    its kind unless `kind`, its layer unless `layers`; each direction is the unit probe times the recipe's residual
    norm at its layer (measured when the lake has none stored; nothing is written to the lake). Returns (the probe
    stack, the files)."""
    from etl.model.load import load
    from etl.probes.export import stack, write_gguf
    from etl.probes.stored import pick_model
    from etl.steering.recipe import preset_config, resolve

    _, spec = pick_model(lake, model, source, kind)
    loaded = load(spec)
    recipe = resolve(lake, loaded, preset_config(preset, lake, spec, source), kind)
    wanted = [recipe.layer] if layers is None else layers
    probes = stack(lake, loaded.slug, source, recipe.kind, wanted)
    note = recipe.scale_note() + (
        f"; llama.cpp `--control-vector-scaled FILE S` adds, after each exported block L, what `emolake steer "
        f"--layer L --strength S --operator add --positions all` adds with {recipe.kind} probes"
    )
    return probes, write_gguf(probes, output, recipe.norms, note)
