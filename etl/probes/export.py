"""Probe sets out of the lake: one (model, source, kind) at some layers as a [layers, emotions, hidden] stack, written
as safetensors, as `.npy` with a JSON sidecar, or as one llama.cpp control vector (GGUF) per emotion.

The GGUF layout is the one llama.cpp's `--control-vector` loader reads (`common_control_vector_load_one` in
llama.cpp's common/common.cpp): architecture `controlvector`, one 1-D F32 tensor per layer named `direction.<k>`, all
of length n_embd, k >= 1; the vector of `direction.k` is added to the output of block k (0-based, `l_out`), at every
position. emolake's layer L is the output of decoder block L too (`etl.model.hooks`), so layer L is written as
`direction.L`; llama.cpp refuses k = 0, so layer 0 cannot be exported as a control vector. The loader reads no
metadata; `controlvector.model_hint` and `controlvector.layer_count` are written as llama.cpp's own generator does,
and emolake's provenance under `emolake.*`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake, atomic_path
from etl.probes import stored

log = logging.getLogger("emolake")
FORMAT = "emolake-probes/1"
FORMATS = ("safetensors", "npy", "gguf")


@dataclass
class ProbeStack:
    """One probe set at several layers: unit probe vectors [layers, emotions, hidden] and where they came from."""

    model: str
    model_spec: str
    source: str
    kind: str
    layers: list[int]
    emotions: list[str]
    vectors: np.ndarray
    """(n_layers, n_emotions, hidden) float32 unit vectors, emotions in `emotions` order."""
    centers: np.ndarray | None = None
    """(n_layers, hidden): the mean each layer's probes were built around (subtract it before projecting)."""
    recipe: dict = field(default_factory=dict)
    lake_run: dict = field(default_factory=dict)
    """The probes stage run that wrote these probes: run_key, config_hash, code_version (version+commit), started_at."""

    def __array__(self, dtype=None, copy=None):
        return self.vectors if dtype is None else self.vectors.astype(dtype)

    def layer(self, layer: int) -> np.ndarray:
        """(n_emotions, hidden) probes of one layer."""
        if layer not in self.layers:
            raise EmolakeError(f"layer {layer} is not in this probe stack: it holds {self.layers}")
        return self.vectors[self.layers.index(layer)]

    def metadata(self) -> dict:
        return {
            "format": FORMAT,
            "model": self.model,
            "model_spec": self.model_spec,
            "source": self.source,
            "kind": self.kind,
            "layers": self.layers,
            "emotions": self.emotions,
            "recipe": self.recipe,
            "lake_run": self.lake_run,
        }


def stack(
    lake: Lake,
    model: str | None = None,
    source: str = "reference",
    kind: str | None = None,
    layers: list[int] | str | None = None,
) -> ProbeStack:
    """Reads one probe set from the lake. Without a kind: the default set (`policy.default_set`) at its layer;
    without layers: the kind's best layer; `layers="all"`: every layer the kind has probes at."""
    from etl.probes import policy

    model, spec = stored.pick_model(lake, model, source, kind)
    if kind is None:
        kind, default_layer = policy.default_set(lake, model, source)
        layers = [default_layer] if layers is None else layers
    available = stored.layers_of(lake, model, source, kind)
    if layers is None:
        layers = [policy.best_layer(lake, model, source, kind)]
    elif layers == "all":
        layers = available
    missing = [layer for layer in layers if layer not in available]
    if missing or not available:
        raise EmolakeError(f"no {kind} probes at layers {missing} for {model}/{source}: it has layers {available}")
    sets = stored.read(lake, model, source, [kind], layers)
    ordered = [sets[(source, kind, layer)] for layer in layers]
    emotions = ordered[0].emotions
    if any(p.emotions != emotions for p in ordered):
        raise EmolakeError(f"{kind} probes of {model}/{source} cover other emotions at some layers: export them apart")
    centers = None if any(p.center is None for p in ordered) else np.stack([p.center for p in ordered])
    first = ordered[0]
    recipe = {
        "estimator": first.estimator,
        "unit_vectors": True,
        "baseline_corpora": [c for c in first.baseline_corpora if c],
        "baseline_variance": first.baseline_variance,
        "layer_meaning": "output of decoder block L (0-based)",
        "score": "cosine of (mean residual of tokens 1.. minus the layer's centre) with the probe",
    }
    return ProbeStack(
        model=model,
        model_spec=spec,
        source=source,
        kind=kind,
        layers=[int(layer) for layer in layers],
        emotions=list(emotions),
        vectors=np.stack([p.vectors for p in ordered]).astype(np.float32),
        centers=None if centers is None else centers.astype(np.float32),
        recipe=recipe,
        lake_run=probes_run(lake, spec),
    )


def probes_run(lake: Lake, model_spec: str) -> dict:
    """The latest finished `probes` stage run for a model spec, from the manifest ({} when none is recorded)."""
    files = lake.files("manifest", under=lake.partition("manifest", stage="probes"))
    if not files:
        return {}
    row = (
        duckdb.connect()
        .execute(
            "select run_key, config_hash, code_version, started_at from read_parquet(?) where model = ? "
            "order by started_at desc limit 1",
            [files, model_spec],
        )
        .fetchone()
    )
    return dict(zip(("run_key", "config_hash", "code_version", "started_at"), row, strict=True)) if row else {}


def write(probes: ProbeStack, fmt: str, output: Path) -> list[Path]:
    """Writes `probes` as safetensors or npy (unit probes and centres, for reading); returns the files written.
    GGUF control vectors steer, so they carry the steering recipe's norms: `etl.api.steering.control_vectors`."""
    if fmt == "safetensors":
        return [write_safetensors(probes, output)]
    if fmt == "npy":
        return write_npy(probes, output)
    if fmt == "gguf":
        raise EmolakeError("gguf control vectors are written by `etl.api.steering.control_vectors` (they need norms)")
    raise EmolakeError(f"--format {fmt!r} is unknown: choose one of {list(FORMATS)}")


def write_safetensors(probes: ProbeStack, path: Path) -> Path:
    """Tensor `probes` [layers, emotions, hidden] (and `centers` [layers, hidden]); metadata values are JSON text."""
    from safetensors.numpy import save_file

    tensors = {"probes": np.ascontiguousarray(probes.vectors)}
    if probes.centers is not None:
        tensors["centers"] = np.ascontiguousarray(probes.centers)
    metadata = {key: value if isinstance(value, str) else json.dumps(value) for key, value in probes.metadata().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_safetensors(path: Path) -> ProbeStack:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        meta = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (not a dict)
    parsed = {
        key: value if key in ("format", "model", "model_spec", "source", "kind") else json.loads(value)
        for key, value in meta.items()
    }
    return _from_metadata(parsed, tensors["probes"], tensors.get("centers"))


def write_npy(probes: ProbeStack, path: Path) -> list[Path]:
    """`path` (.npy, [layers, emotions, hidden]), `<stem>.centers.npy` and `<stem>.json` (the metadata)."""
    path = path if path.suffix == ".npy" else path.with_suffix(".npy")
    written = [path]
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, probes.vectors)
    meta = probes.metadata() | {"array": path.name}
    if probes.centers is not None:
        centers = path.with_name(f"{path.stem}.centers.npy")
        with atomic_path(centers) as tmp, tmp.open("wb") as handle:
            np.save(handle, probes.centers)
        meta["centers"] = centers.name
        written.append(centers)
    sidecar = path.with_suffix(".json")
    with atomic_path(sidecar) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    return [*written, sidecar]


def read_npy(path: Path) -> ProbeStack:
    meta = json.loads(path.with_suffix(".json").read_text())
    centers = np.load(path.with_name(meta["centers"])) if "centers" in meta else None
    return _from_metadata(meta, np.load(path), centers)


def write_gguf(probes: ProbeStack, directory: Path, norms: dict[int, float], scale_note: str) -> list[Path]:
    """One `<emotion>.gguf` control vector per emotion in `directory`, a `direction.L` tensor per exported layer.

    Each direction is the unit probe times the layer's mean residual norm (`norms`, the steering recipe's), so
    llama.cpp's `--control-vector-scaled FILE S` adds what `emolake steer --strength S --operator add` adds; the
    factors are `emolake.scale`, and `emolake.strength_unit` says in words what a strength of 1 is."""
    import gguf

    layers = [layer for layer in probes.layers if layer >= 1]
    if not layers:
        raise EmolakeError("llama.cpp control vectors cannot steer layer 0: export layers 1 and up (--layers)")
    if len(layers) < len(probes.layers):
        log.warning("export: layer 0 left out of the control vectors (llama.cpp refuses direction.0)")
    missing = [layer for layer in layers if layer not in norms]
    if missing:
        raise EmolakeError(f"no residual norm at layers {missing}: run `emolake steer` once, then export again")
    scales = [float(norms[layer]) for layer in layers]
    written = []
    for e, emotion in enumerate(probes.emotions):
        path = directory / f"{emotion}.gguf"
        with atomic_path(path) as tmp:
            writer = gguf.GGUFWriter(str(tmp), "controlvector")
            writer.add_string("controlvector.model_hint", probes.model)
            writer.add_int32("controlvector.layer_count", len(layers))
            writer.add_string("emolake.emotion", emotion)
            for key in ("model_spec", "source", "kind"):
                writer.add_string(f"emolake.{key}", getattr(probes, key))
            writer.add_array("emolake.layers", layers)
            writer.add_array("emolake.scale", scales)
            writer.add_string("emolake.scale_unit", "mean residual norm")
            writer.add_string("emolake.strength_unit", scale_note)
            writer.add_string("emolake.lake_run", json.dumps(probes.lake_run))
            for layer, scale in zip(layers, scales, strict=True):
                direction = probes.vectors[probes.layers.index(layer), e] * scale
                writer.add_tensor(f"direction.{layer}", np.ascontiguousarray(direction, dtype=np.float32))
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
        written.append(path)
    return written


def read_gguf(path: Path) -> tuple[dict[int, np.ndarray], dict]:
    """({layer: direction}, {key: value}) of one control vector file, read with gguf's own reader."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    directions = {}
    for tensor in reader.tensors:
        prefix, _, index = tensor.name.partition(".")
        if prefix != "direction" or not index.isdigit():
            raise EmolakeError(f"{path}: tensor {tensor.name!r} is not a control-vector direction")
        directions[int(index)] = np.asarray(tensor.data, dtype=np.float32).reshape(-1)
    fields = {name: _field_value(f) for name, f in reader.fields.items() if not name.startswith("GGUF.")}
    return directions, fields


def _field_value(field):
    import gguf

    if field.types[0] == gguf.GGUFValueType.ARRAY:
        return [field.parts[i].tolist()[0] for i in field.data]
    part = field.parts[field.data[0]]
    if field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(part).decode("utf-8")
    return part.tolist()[0]


def _from_metadata(meta: dict, vectors: np.ndarray, centers: np.ndarray | None) -> ProbeStack:
    if meta.get("format") != FORMAT:
        raise EmolakeError(f"not an emolake probe export (format {meta.get('format')!r}, expected {FORMAT!r})")
    return ProbeStack(
        model=meta["model"],
        model_spec=meta["model_spec"],
        source=meta["source"],
        kind=meta["kind"],
        layers=list(meta["layers"]),
        emotions=list(meta["emotions"]),
        vectors=np.asarray(vectors, np.float32),
        centers=None if centers is None else np.asarray(centers, np.float32),
        recipe=meta.get("recipe", {}),
        lake_run=meta.get("lake_run", {}),
    )
