"""The steering recipe: which probe kind's vector is added after which layer, scaled by which residual norm.

One home for what `emolake steer`, the Python API's `steer`, the dashboard's Steering page and the exported control
vectors (`emolake export --format gguf`) use, so a strength means the same push everywhere: `strength` x the layer's
mean residual norm on `norm_texts` texts of `norm_corpus` (the `[steer]` table of the preset) x the unit probe.
Reads probes and residual norms from the lake (measuring the norms when missing); writes the norms only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.config import SteerConfig
from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.policy import steering_kind, steering_layer
from etl.probes.stored import layers_of, probe_sets


@dataclass(frozen=True)
class Recipe:
    """One steering setting as every front door resolves it."""

    model: str
    source: str
    kind: str
    layer: int
    norms: dict[int, float]
    """Mean residual norm per layer: the unit of a strength."""
    norm_corpus: str
    norm_texts: int

    @property
    def norm(self) -> float:
        """The norm at the steered layer."""
        return self.norms[self.layer]

    def scale_note(self) -> str:
        """What a strength of 1 means, in words (written into exported files)."""
        return (
            f"strength 1 = the mean residual norm at the layer over {self.norm_texts} {self.norm_corpus} texts "
            "(positions 1.., emolake's `residual_norms`)"
        )


def preset_config(preset: str, lake: Lake, spec: str, source: str) -> SteerConfig:
    """The `[steer]` table of `preset` for this lake, model spec and probe source (what a caller without a preset of
    its own steers by: the API, exported control vectors)."""
    from dataclasses import replace

    from etl.config import load_preset

    config = load_preset(preset, lake=lake.root, model=spec).steer
    return config if config.source == source else replace(config, source=source)


def norms(lake: Lake, loaded, config: SteerConfig, store: bool) -> dict[int, float]:
    """The residual norms a strength refers to: `[steer] norm_corpus` and `norm_texts` of `config` (measured on
    the lake's texts when not stored; stored only when `store`)."""
    from etl.steering.norms import layer_norms

    return layer_norms(lake, loaded, config.norm_corpus, config.norm_texts, store=store)


def resolve(
    lake: Lake,
    loaded,
    config: SteerConfig,
    kind: str | None = None,
    layer: int | None = None,
    store: bool = False,
) -> Recipe:
    """The recipe of `config` for the loaded model: its kind and layer (`kind_and_layer`) and the residual norms."""
    kind, layer = kind_and_layer(lake, loaded, config, kind, layer)
    found = norms(lake, loaded, config, store)
    return Recipe(
        model=loaded.slug,
        source=config.source,
        kind=kind,
        layer=layer,
        norms=found,
        norm_corpus=config.norm_corpus,
        norm_texts=config.norm_texts,
    )


def kind_and_layer(
    lake: Lake, loaded, config: SteerConfig, kind: str | None = None, layer: int | None = None
) -> tuple[str, int]:
    """The probe kind whose vectors steer (given, else the config's first kind when the lake has it, else
    `expression`) and the layer (given, else `steering_layer` of the config, snapped to a layer with probes)."""
    kinds = sorted({k for m, _, s, k, _ in probe_sets(lake) if (m, s) == (loaded.slug, config.source)})
    if not kinds:
        raise EmolakeError(
            f"the lake at {lake.root} has no {config.source} probes of {loaded.slug}: run `make all` first"
        )
    kind = kind or steering_kind(kinds, config.kinds[0])
    available = layers_of(lake, loaded.slug, config.source, kind)
    if not available:
        raise EmolakeError(f"no {kind} probes of {loaded.slug}/{config.source}: choose one of {kinds}")
    if layer is None:
        layer = steering_layer(loaded.n_layers, config.layers, available)
    check_layer(layer, loaded.n_layers)
    if layer not in available:
        raise EmolakeError(f"layer {layer} has no {kind} probes of {loaded.slug}: use one of {list(available)}")
    return kind, layer


def check_layer(layer: int, n_layers: int) -> None:
    if not 0 <= layer < n_layers:
        raise EmolakeError(f"steering layer {layer} does not exist: the model has layers 0..{n_layers - 1}")
