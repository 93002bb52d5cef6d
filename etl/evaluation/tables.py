"""Arrow schemas of the evaluation datasets, and conversions between rows, arrays and tables.

Explicit schemas keep every file of a dataset identical in its columns whether or not a value could be computed
(a layer with no rated emotions, a lake without deflection probes), so the SQL views never break on a missing column.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa

from etl.lake.evaluation_schemas import COSINES, F64, I32, SCHEMAS, STR  # noqa: F401 (re-exported)


def from_rows(name: str, rows: list[dict]) -> pa.Table:
    """The rows as a table of dataset `name`'s schema; keys a row lacks are null, unknown keys are an error."""
    schema = pa.schema(SCHEMAS[name])
    unknown = {key for row in rows for key in row} - set(schema.names)
    if unknown:
        raise ValueError(f"{name}: columns {sorted(unknown)} are not in its schema")
    columns = {field.name: [_clean(row.get(field.name)) for row in rows] for field in schema}
    return pa.table(columns, schema=schema)


def _clean(value):
    """NaN (an undefined correlation) is stored as null."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def vector_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A (fixed-size) list column of equal-length vectors as an (n, width) float32 array, without Python lists."""
    array = column.combine_chunks()
    if len(array) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    values = np.asarray(array.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return values.reshape(len(array), -1)


def cosine_table(blocks: list[tuple[str, int, list[str], np.ndarray]]) -> pa.Table:
    """`evaluation_cosines` rows (kind, layer, emotion_a, emotion_b, cosine) of each (kind, layer, emotions, matrix)."""
    kinds, layers, first, second, values = [], [], [], [], []
    for kind, layer, emotions, matrix in blocks:
        n = len(emotions)
        names = np.array(emotions, dtype=object)
        kinds.append(np.full(n * n, kind, dtype=object))
        layers.append(np.full(n * n, layer, dtype=np.int32))
        first.append(np.repeat(names, n))
        second.append(np.tile(names, n))
        values.append(np.asarray(matrix, dtype=np.float32).reshape(-1))
    if not blocks:
        return pa.table({"kind": [], "layer": [], "emotion_a": [], "emotion_b": [], "cosine": []}, schema=COSINES)
    return pa.table(
        {
            "kind": pa.array(np.concatenate(kinds), STR),
            "layer": pa.array(np.concatenate(layers).astype(np.int32), I32),
            "emotion_a": pa.array(np.concatenate(first), STR).dictionary_encode(),
            "emotion_b": pa.array(np.concatenate(second), STR).dictionary_encode(),
            "cosine": pa.array(np.concatenate(values).astype(np.float32), pa.float32()),
        },
        schema=COSINES,
    )


def signature() -> str:
    """A short hash of every evaluation dataset's columns and types: it changes whenever a schema does."""
    described = {name: [(column, str(kind)) for column, kind in columns] for name, columns in SCHEMAS.items()}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]
