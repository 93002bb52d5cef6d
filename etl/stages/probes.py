"""Stage `probes`: probes per kind, layer and text source, written to `probes` and `probe_centers`.

Kinds (each the paper's recipe on different tokens and labels):
    expression       emotional stories, labelled by their emotion; baseline: `baseline_corpora`
    deflection       the masking speaker's turns of deflection dialogues, labelled by the hidden (target) emotion;
                     baseline: `dialogue_baseline_corpora`; then orthogonalised against the expression space
    present_speaker  each speaker's turns of speaker dialogues, labelled by that speaker's emotion
    other_speaker    the same turns, labelled by the other speaker's emotion
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from etl import catalog
from etl.config import ProbesConfig, config_hash
from etl.errors import EmolakeError
from etl.lake import Lake, vectors, write_table
from etl.model.load import model_slug
from etl.probes.kinds import KINDS, KindSpec
from etl.probes.maths import ProbeSet, baseline_components, expression_probes, project_out, unit
from etl.runner import StageResult

log = logging.getLogger("emolake")


def vector_column(table: pa.Table, name: str, width: int) -> pa.Table:
    """Casts a list column to a fixed-size float32 list (DuckDB reads it as FLOAT[width])."""
    vector_type = pa.list_(pa.float32(), width)
    index = table.schema.get_field_index(name)
    return table.set_column(index, pa.field(name, vector_type), table.column(index).cast(vector_type))


def probe_rows(emotions, probe_set: ProbeSet, counts, meta: dict, norm_kept=None) -> pa.Table:
    """One row per emotion that has texts: its unit vector and provenance."""
    rows = [
        {
            "emotion": e,
            "vector": probe_set.vectors[i].tolist(),
            "n_texts": int(counts[i]),
            "norm_kept": None if norm_kept is None else float(norm_kept[i]),
            **meta,
        }
        for i, e in enumerate(emotions)
        if counts[i] > 0
    ]
    return vector_column(pa.Table.from_pylist(rows), "vector", probe_set.vectors.shape[1])


def labelled(
    lake: Lake, model: str, layer: int, source: str, spec: KindSpec, emotions
) -> tuple[np.ndarray, np.ndarray]:
    """(x, integer labels) of the kind's segments whose label is one of `emotions`."""
    data = vectors.load(lake, model, layer, [spec.corpus], [source], list(spec.segments))
    code = {e: i for i, e in enumerate(emotions)}
    keep = [i for i, m in enumerate(data.meta) if m.get(spec.label) in code]
    labels = np.array([code[data.meta[i][spec.label]] for i in keep], dtype=np.int64)
    return data.x[keep], labels


def baseline(lake: Lake, model: str, layer: int, source: str, corpora: tuple[str, ...]) -> np.ndarray:
    """Baseline vectors from the same source, else from every source; at least two are needed."""
    data = vectors.load(lake, model, layer, list(corpora), [source])
    if not data.meta:
        data = vectors.load(lake, model, layer, list(corpora))
    if len(data.meta) < 2:
        raise EmolakeError(f"fewer than 2 baseline texts in {list(corpora)}: run `make generate extract`")
    return data.x


def orthogonalise(probe_set: ProbeSet, expression: np.ndarray, variance: float) -> np.ndarray:
    """Removes the expression space (its components up to `variance`) from the probes; returns norm kept."""
    components, _ = baseline_components(expression.astype(np.float64), variance)
    residual = project_out(probe_set.vectors.astype(np.float64), components)
    norm_kept = np.linalg.norm(residual, axis=1)
    probe_set.vectors = unit(residual).astype(np.float32)
    probe_set.vectors[norm_kept == 0] = 0.0
    return norm_kept


def build_kind(
    lake, model, layer, source, kind, config, expression_vectors
) -> tuple[ProbeSet, np.ndarray, dict] | None:
    spec = KINDS[kind]
    emotions = catalog.select(config.common.emotions)
    x, labels = labelled(lake, model, layer, source, spec, emotions)
    if len(labels) == 0:
        return None
    corpora = config.dialogue_baseline_corpora if spec.dialogue else config.baseline_corpora
    probe_set = expression_probes(
        x, labels, len(emotions), baseline(lake, model, layer, source, corpora), config.baseline_variance
    )
    counts = np.bincount(labels, minlength=len(emotions))
    norm_kept = None
    if kind == "deflection" and expression_vectors is not None:
        norm_kept = orthogonalise(probe_set, expression_vectors, config.expression_space_variance)
    meta = {
        "baseline_corpora": ",".join(corpora),
        "baseline_variance": config.baseline_variance,
        "expression_space_variance": config.expression_space_variance if kind == "deflection" else None,
        "baseline_components": probe_set.n_components,
        "variance_removed": probe_set.variance_removed,
        "config_hash": config_hash(config),
        "model_spec": config.common.model,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return probe_set, counts, {"meta": meta, "norm_kept": norm_kept}


def build_layer(lake: Lake, model: str, layer: int, source: str, config: ProbesConfig) -> dict[str, int]:
    """Builds and writes one layer's probes of every configured kind for one source; returns probes per kind."""
    emotions = catalog.select(config.common.emotions)
    written: dict[str, int] = {}
    expression_vectors = None
    for kind in config.kinds:
        built = build_kind(lake, model, layer, source, kind, config, expression_vectors)
        if built is None:
            continue
        probe_set, counts, extra = built
        if kind == "expression":
            expression_vectors = probe_set.vectors[counts > 0]
        table = probe_rows(emotions, probe_set, counts, extra["meta"], extra["norm_kept"])
        write_table(
            table, lake.partition("probes", model=model, source=source, kind=kind, layer=layer) / "part-0.parquet"
        )
        center = pa.table({"vector": [probe_set.center.tolist()], "n_emotions": [int((counts > 0).sum())]})
        center_path = lake.partition("probe_centers", model=model, source=source, kind=kind, layer=layer)
        write_table(vector_column(center, "vector", len(probe_set.center)), center_path / "part-0.parquet")
        written[kind] = int((counts > 0).sum())
    if "expression" in config.kinds and "expression" not in written:
        raise EmolakeError(f"no extracted emotional stories from source {source!r}: run `make generate extract`")
    return written


def run(config: ProbesConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    layers = vectors.model_layers(lake, model)
    result = StageResult()
    for source in config.sources:
        per_kind: dict[str, int] = {}
        for layer in tqdm(layers, desc=f"probes ({source})", unit="layer"):
            for kind, n in build_layer(lake, model, layer, source, config).items():
                per_kind[kind] = per_kind.get(kind, 0) + n
        missing = [k for k in config.kinds if k not in per_kind]
        log.info(
            "probes: %s: %s over %d layers%s",
            source,
            per_kind,
            len(layers),
            f"; no data for {missing}" if missing else "",
        )
        result.rows_read += len(layers)
        result.rows_written += sum(per_kind.values())
        result.details[source] = {"layers": len(layers), "probes": per_kind, "missing_kinds": missing}
    return result
