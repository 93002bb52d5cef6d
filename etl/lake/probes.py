"""The one reader of stored probe sets, and the one rule that picks a probe set's layer.

Every consumer (scoring, search, token scores, generation's deflection pairs, evaluation, the report, the dashboard,
steering) reads probes through `read` and picks layers through `best_layer` / `best_of`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake


@dataclass
class StoredProbes:
    """One probe set (model, source, kind, layer) as stored: unit vectors in alphabetical emotion order."""

    model: str
    source: str
    kind: str
    layer: int
    emotions: list[str]
    vectors: np.ndarray
    """(n_emotions, hidden) float32 unit vectors."""
    center: np.ndarray | None
    """The mean the probes were built around (what scoring subtracts first); None if not stored."""
    model_spec: str = ""
    baseline_corpora: list[str] = field(default_factory=list)
    baseline_variance: float = 0.0
    norm_kept: list[float | None] = field(default_factory=list)
    """Per emotion: the share of norm left after orthogonalisation (deflection probes), else None."""
    expression_space_variance: float | None = None


def _filters(model: str | None, source: str | None, kinds, layers) -> tuple[str, list]:
    clauses, params = [], []
    for column, value in (("model", model), ("source", source)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if kinds is not None:
        clauses.append("kind in (select unnest(?))")
        params.append(list(kinds))
    if layers is not None:
        clauses.append("cast(layer as integer) in (select unnest(?))")
        params.append([int(layer) for layer in layers])
    return " and ".join(clauses) or "true", params


def read(
    lake: Lake, model: str | None = None, source: str | None = None, kinds=None, layers=None
) -> dict[tuple[str, str, int], StoredProbes]:
    """(source, kind, layer) -> StoredProbes for every stored set that matches; {} when none does."""
    if not lake.has("probes"):
        return {}
    where, params = _filters(model, source, kinds, layers)
    con = duckdb.connect()
    table = con.sql(
        "select * from read_parquet(?, hive_partitioning = true, union_by_name = true) "
        f"where {where} order by model, source, kind, cast(layer as integer), emotion",
        params=[lake.glob("probes"), *params],
    ).to_arrow_table()
    centers = {}
    if lake.has("probe_centers"):
        for m, s, k, layer, vector in con.execute(
            "select model, source, kind, cast(layer as integer), vector "
            f"from read_parquet(?, hive_partitioning = true) where {where}",
            [lake.glob("probe_centers"), *params],
        ).fetchall():
            centers[(m, s, k, layer)] = np.asarray(vector, np.float32)
    rows = table.drop_columns(["vector"]).to_pylist()
    matrix = _matrix(table.column("vector"))
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row["model"], row["source"], row["kind"], int(row["layer"])), []).append(i)
    out = {}
    for (m, s, k, layer), members in groups.items():
        first = rows[members[0]]
        out[(s, k, layer)] = StoredProbes(
            model=m,
            source=s,
            kind=k,
            layer=layer,
            emotions=[rows[i]["emotion"] for i in members],
            vectors=matrix[members],
            center=centers.get((m, s, k, layer)),
            model_spec=first.get("model_spec") or "",
            baseline_corpora=(first.get("baseline_corpora") or "").split(","),
            baseline_variance=float(first.get("baseline_variance") or 0.0),
            norm_kept=[rows[i].get("norm_kept") for i in members],
            expression_space_variance=first.get("expression_space_variance"),
        )
    return out


def read_layers(lake: Lake, model: str, source: str, kinds: list[str], layers: list[int]) -> dict:
    """(kind, layer) -> StoredProbes with centres, for scoring; raises if none of the pairs exists."""
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` (or `make probes`)")
    found = {(k, layer): p for (_, k, layer), p in read(lake, model, source, kinds, layers).items()}
    if not found:
        raise EmolakeError(f"no {kinds} probes at layers {layers} for {model}/{source}: see `emolake sql --list`")
    missing = [key for key, p in found.items() if p.center is None]
    if missing:
        raise EmolakeError(f"probe centres missing for {model}/{source} {missing}: run `emolake run probes --force`")
    return found


def _matrix(column) -> np.ndarray:
    """A list<float> column as an (n, hidden) float32 matrix."""
    import pyarrow as pa

    chunks = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(chunks) == 0:
        return np.zeros((0, 0), np.float32)
    flat = chunks.flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(len(chunks), -1).astype(np.float32, copy=False)


def probe_sets(lake: Lake) -> list[tuple[str, str, str, str, int]]:
    """(model, model_spec, source, kind, layer) of every stored probe set, ordered."""
    if not lake.has("probes"):
        return []
    return (
        duckdb.connect()
        .execute(
            "select distinct model, model_spec, source, kind, cast(layer as integer) "
            "from read_parquet(?, hive_partitioning = true) order by 1, 3, 4, 5",
            [lake.glob("probes")],
        )
        .fetchall()
    )


def pick_model(lake: Lake, model: str | None, source: str, kind: str | None = None) -> tuple[str, str]:
    """(slug, spec) of the probed model: the one asked for (slug or spec), or the only one with such probes."""
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` (or `make probes index`)")
    available = sorted({(m, spec) for m, spec, s, k, _ in probe_sets(lake) if s == source and kind in (None, k)})
    if not available:
        raise EmolakeError(f"no probes from source {source!r} in the lake: run `make probes` or pass --source")
    if model is None:
        if len(available) > 1:
            raise EmolakeError(
                f"the lake has probes for several models {[m for m, _ in available]}: choose one with --model"
            )
        return available[0]
    for slug, spec in available:
        if model in (slug, spec):
            return slug, spec
    raise EmolakeError(f"no probes for model {model!r}: the lake has {[m for m, _ in available]}")


def layers_of(lake: Lake, model: str, source: str, kind: str) -> list[int]:
    return sorted({layer for m, _, s, k, layer in probe_sets(lake) if (m, s, k) == (model, source, kind)})


def best_of(rows: list[dict], kind: str = "expression") -> int | None:
    """The layer of `kind` with the best held-out top-1 among one probe source's evaluation rows (lowest on ties)."""
    scored = [r for r in rows if r.get("kind", kind) == kind and r.get("top1") is not None]
    return int(min(scored, key=lambda r: (-r["top1"], int(r["layer"])))["layer"]) if scored else None


def fallback_layer(layers: list[int]) -> int:
    """Unevaluated probes: two thirds of the way up, where emotion probes usually peak."""
    return layers[(2 * len(layers)) // 3]


def best_layer(lake: Lake, model: str, source: str, kind: str, layer: int | None = None) -> int:
    """`layer` if it has probes; else the best evaluated layer (held-out top-1), else `fallback_layer`."""
    layers = layers_of(lake, model, source, kind)
    if not layers:
        raise EmolakeError(f"no {kind} probes for {model}/{source}: run `make probes` (see `emolake sql --list`)")
    if layer is not None:
        if layer not in layers:
            raise EmolakeError(f"--layer {layer} has no probes: choose one of {layers[0]}..{layers[-1]}")
        return layer
    if lake.has("evaluation_layers"):
        rows = (
            duckdb.connect()
            .execute(
                "select model, source, kind, cast(layer as integer) as layer, top1 "
                "from read_parquet(?, hive_partitioning = true, union_by_name = true) "
                "where model = ? and source = ? and kind = ?",
                [lake.glob("evaluation_layers"), model, source, kind],
            )
            .fetchall()
        )
        evaluated = [dict(zip(("model", "source", "kind", "layer", "top1"), r, strict=True)) for r in rows]
        best = best_of([r for r in evaluated if r["layer"] in layers], kind)
        if best is not None:
            return best
    return fallback_layer(layers)
