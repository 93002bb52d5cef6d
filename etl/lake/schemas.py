"""Explicit Arrow schemas of the lake's probe datasets: every writer (and every test that fakes a lake) uses these,
so a view never meets a file without one of its columns. Partition columns (model, source, kind, layer) live in the
path, never in the file. The evaluation datasets' schemas are in `etl.evaluation.tables`."""

from __future__ import annotations

import pyarrow as pa

PROBES = pa.schema(
    [
        ("emotion", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("n_texts", pa.int64()),
        ("norm_kept", pa.float64()),
        ("baseline_corpora", pa.string()),
        ("baseline_variance", pa.float64()),
        ("estimator", pa.string()),
        ("expression_space_variance", pa.float64()),
        ("baseline_components", pa.int64()),
        ("variance_removed", pa.float64()),
        ("config_hash", pa.string()),
        ("model_spec", pa.string()),
        ("created_at", pa.string()),
    ]
)
"""One row per emotion of a probe set: the unit vector (written as a fixed-size list) and its provenance."""

PROBE_CENTERS = pa.schema(
    [("vector", pa.list_(pa.float32())), ("n_emotions", pa.int64()), ("median_tokens", pa.float64())]
)
"""One row per probe set: the mean over emotions, how many emotions it averages, the median length of the texts."""


def fixed_vectors(table: pa.Table, name: str = "vector") -> pa.Table:
    """Casts a list column to a fixed-size float32 list (DuckDB reads it as FLOAT[width])."""
    width = len(table.column(name)[0]) if len(table) else 0
    vector_type = pa.list_(pa.float32(), width)
    index = table.schema.get_field_index(name)
    return table.set_column(index, pa.field(name, vector_type), table.column(index).cast(vector_type))
