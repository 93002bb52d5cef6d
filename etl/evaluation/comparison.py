"""Cross-model agreement: do two probed models arrange the emotions alike?

For each probe kind, the evaluated model's probes at its best layer are compared with every other model's probes
of the same source and kind at that model's best layer: Spearman r between the upper triangles of the two cosine
matrices (the emotion similarity structure) and between the emotions' coordinates on each model's valence axis
(PC1, oriented to correlate positively with the valence norms). Only emotions both sets hold count. A model
evaluated before the other existed has no pair row; the other model's evaluation writes it, and the
`model_comparison` view reads the pair from whichever side holds it.

Writes `model_agreement/model=M/source=S/part-0.parquet` (schema `etl.lake.schemas.MODEL_AGREEMENT`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from etl.evaluation.geometry import cosine_matrix, oriented_axes
from etl.evaluation.stats import spearman
from etl.lake import Lake, schemas
from etl.probes.policy import best_layer
from etl.probes.stored import StoredProbes, layers_of, probe_sets
from etl.probes.stored import read as read_probes

log = logging.getLogger("emolake")


def aligned(a: StoredProbes, b: StoredProbes) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The emotions both probe sets hold, in a's order, and each set's vectors in that order."""
    position = {e: i for i, e in enumerate(b.emotions)}
    shared = [e for e in a.emotions if e in position]
    own = {e: i for i, e in enumerate(a.emotions)}
    return shared, a.vectors[[own[e] for e in shared]], b.vectors[[position[e] for e in shared]]


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """The entries above the diagonal, row by row."""
    rows, columns = np.triu_indices(len(matrix), k=1)
    return matrix[rows, columns]


def cosine_agreement(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman r between the upper triangles of the cosine matrices of two aligned probe sets."""
    if len(x) < 3:
        return None
    return float(spearman(upper_triangle(cosine_matrix(x)), upper_triangle(cosine_matrix(y))))


def valence_agreement(emotions: list[str], x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman r between the emotions' coordinates on each set's oriented PC1 (its valence axis)."""
    if len(emotions) < 3:
        return None
    first, _ = oriented_axes(x, emotions)
    second, _ = oriented_axes(y, emotions)
    return float(spearman(first[:, 0], second[:, 0]))


def relative_depth(layer: int | None, n_layers: int | None) -> float | None:
    """(layer + 1) / n_layers: the share of the model's blocks the residual stream has passed at `layer`."""
    if layer is None or not n_layers:
        return None
    return (layer + 1) / n_layers


def model_depth(lake: Lake, model: str, spec: str) -> int | None:
    """The model's number of layers, as its latest extract run recorded it; else one past its highest probe layer."""
    if lake.has("manifest"):
        rows = (
            duckdb.connect()
            .execute(
                "select details from read_parquet(?, hive_partitioning = true, union_by_name = true) "
                "where stage = 'extract' and model = ? order by started_at desc",
                [lake.files("manifest"), spec],
            )
            .fetchall()
        )
        for (details,) in rows:
            depth = json.loads(details or "{}").get("model_layers")
            if depth:
                return int(depth)
    layers = [layer for m, _, _, _, layer in probe_sets(lake) if m == model]
    return max(layers) + 1 if layers else None


def agreement_rows(lake: Lake, model: str, source: str) -> list[dict]:
    """One row per (kind, other model) for the evaluated model; a kind no other model shares gets one row."""
    sets = probe_sets(lake)
    specs = {m: spec for m, spec, _, _, _ in sets}
    kinds = sorted({k for m, _, s, k, _ in sets if (m, s) == (model, source)})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    depth = model_depth(lake, model, specs.get(model, model))
    rows = []
    for kind in kinds:
        layer = best_layer(lake, model, source, kind)
        mine = read_probes(lake, model, source, [kind], [layer])[(source, kind, layer)]
        base = {"kind": kind, "layer": layer, "n_layers": depth, "relative_depth": relative_depth(layer, depth)}
        base |= {"n_emotions": len(mine.emotions), "created_at": now}
        others = sorted({m for m, _, s, k, _ in sets if (s, k) == (source, kind) and m != model})
        evaluated = [m for m in others if _evaluated(lake, m, source)]
        if not evaluated:
            rows.append(base)
            continue
        for other in evaluated:
            if not layers_of(lake, other, source, kind):
                continue
            other_layer = best_layer(lake, other, source, kind)
            theirs = read_probes(lake, other, source, [kind], [other_layer])[(source, kind, other_layer)]
            emotions, x, y = aligned(mine, theirs)
            other_depth = model_depth(lake, other, specs.get(other, other))
            rows.append(
                base
                | {
                    "other_model": other,
                    "other_layer": other_layer,
                    "other_n_layers": other_depth,
                    "other_relative_depth": relative_depth(other_layer, other_depth),
                    "n_emotions": len(emotions),
                    "cosine_spearman": cosine_agreement(x, y),
                    "valence_spearman": valence_agreement(emotions, x, y),
                }
            )
    return rows


def _evaluated(lake: Lake, model: str, source: str) -> bool:
    """Whether `model` has evaluation rows for `source` (its best layer is then the evaluation's, not a guess)."""
    return lake.has("evaluation_layers", lake.partition("evaluation_layers", model=model, source=source))


def write(lake: Lake, model: str, source: str) -> int:
    """Writes the model's `model_agreement` rows for one source; returns how many."""
    rows = agreement_rows(lake, model, source)
    columns = {f.name: [_clean(r.get(f.name)) for r in rows] for f in schemas.MODEL_AGREEMENT}
    table = pa.table(columns, schema=schemas.MODEL_AGREEMENT)
    lake.write("model_agreement", table, mode="replace", model=model, source=source)
    for row in rows:
        if row.get("other_model"):
            log.info(
                "evaluate: %s vs %s (%s): cosine-matrix Spearman %.3f, valence-axis Spearman %.3f over %d emotions",
                model,
                row["other_model"],
                row["kind"],
                row["cosine_spearman"] if row["cosine_spearman"] is not None else float("nan"),
                row["valence_spearman"] if row["valence_spearman"] is not None else float("nan"),
                row["n_emotions"],
            )
    return len(rows)


def _clean(value):
    """NaN (an undefined correlation) is stored as null."""
    return None if isinstance(value, float) and np.isnan(value) else value
