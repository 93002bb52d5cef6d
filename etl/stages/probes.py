"""Stage `probes`: expression probes per layer and text source, written to `probes` and `probe_centers`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from etl import catalog, vectors
from etl.config import ProbesConfig, config_hash
from etl.errors import EmolakeError
from etl.lake import Lake, write_table
from etl.models import model_slug
from etl.probe_math import expression_probes
from etl.runner import StageResult

log = logging.getLogger("emolake")


def probe_rows(emotions, probe_set, counts, meta: dict) -> pa.Table:
    """One row per emotion that has stories: its unit vector (fixed-size float32 list) and provenance."""
    rows = [
        {"emotion": e, "vector": probe_set.vectors[i].tolist(), "n_texts": int(counts[i]), **meta}
        for i, e in enumerate(emotions)
        if counts[i] > 0
    ]
    table = pa.Table.from_pylist(rows)
    vector_type = pa.list_(pa.float32(), probe_set.vectors.shape[1])
    index = table.schema.get_field_index("vector")
    return table.set_column(index, pa.field("vector", vector_type), table.column(index).cast(vector_type))


def build_layer(lake: Lake, model: str, layer: int, source: str, config: ProbesConfig) -> int:
    """Builds and writes one layer's probes for one text source; returns the number of probes written."""
    emotions = catalog.select(config.common.emotions)
    stories = vectors.load(lake, model, layer, ["emotional_story"], [source])
    stories_meta = [(m, i) for i, m in enumerate(stories.meta) if m["emotion"] in emotions]
    if not stories_meta:
        raise EmolakeError(f"no extracted emotional stories from source {source!r}: run `make generate extract`")
    code = {e: i for i, e in enumerate(emotions)}
    labels = np.array([code[m["emotion"]] for m, _ in stories_meta])
    x = stories.x[[i for _, i in stories_meta]]
    baseline = vectors.load(lake, model, layer, list(config.baseline_corpora), [source])
    if not baseline.meta:
        baseline = vectors.load(lake, model, layer, list(config.baseline_corpora))
    if len(baseline.meta) < 2:
        raise EmolakeError(
            f"fewer than 2 baseline texts in {list(config.baseline_corpora)}: run `make generate extract`"
        )
    probe_set = expression_probes(x, labels, len(emotions), baseline.x, config.baseline_variance)
    counts = np.bincount(labels, minlength=len(emotions))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {
        "baseline_corpora": ",".join(config.baseline_corpora),
        "baseline_variance": config.baseline_variance,
        "baseline_components": probe_set.n_components,
        "variance_removed": probe_set.variance_removed,
        "n_baseline_texts": len(baseline.meta),
        "config_hash": config_hash(config),
        "model_spec": config.common.model,
        "created_at": created,
    }
    path = lake.partition("probes", model=model, source=source, kind="expression", layer=layer) / "part-0.parquet"
    write_table(probe_rows(emotions, probe_set, counts, meta), path)
    center = pa.table(
        {
            "vector": pa.array([probe_set.center.tolist()], pa.list_(pa.float32(), len(probe_set.center))),
            "n_emotions": [int((counts > 0).sum())],
        }
    )
    write_table(center, lake.partition("probe_centers", model=model, source=source, layer=layer) / "part-0.parquet")
    return int((counts > 0).sum())


def run(config: ProbesConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    layers = vectors.model_layers(lake, model)
    result = StageResult()
    for source in config.sources:
        written = 0
        for layer in tqdm(layers, desc=f"probes ({source})", unit="layer"):
            written += build_layer(lake, model, layer, source, config)
        result.rows_read += len(layers)
        log.info("probes: %s: %d probes over %d layers", source, written, len(layers))
        result.rows_written += written
        result.details[source] = {"layers": len(layers), "probes": written}
    return result
