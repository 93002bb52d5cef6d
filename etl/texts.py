"""The schema of the `texts` dataset and helpers to build its rows."""

from __future__ import annotations

import hashlib

import pyarrow as pa

TEXT_SCHEMA = pa.schema(
    [
        ("text_id", pa.string()),
        ("emotion", pa.string()),
        ("displayed_emotion", pa.string()),
        ("topic", pa.string()),
        ("text", pa.string()),
        ("model", pa.string()),
        ("prompt_hash", pa.string()),
        ("prompt_version", pa.string()),
        ("seed", pa.int64()),
        ("temperature", pa.float64()),
        ("spans", pa.string()),
        ("created_at", pa.string()),
    ]
)
REJECT_SCHEMA = TEXT_SCHEMA.append(pa.field("reason", pa.string()))


def text_id(*parts: object) -> str:
    """A stable id from the parts that define a text's cell (generator, corpus, emotion, topic, index...)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:20]


def to_table(rows: list[dict], schema: pa.Schema = TEXT_SCHEMA) -> pa.Table:
    """Rows (dicts) to a table of `schema`; missing columns are null, partition columns are dropped."""
    return pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema)
