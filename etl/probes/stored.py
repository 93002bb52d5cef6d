"""The one reader of stored probe sets and their evaluation rows.

Every consumer (scoring, search, token scores, generation's deflection pairs, evaluation, the report, the dashboard,
steering) reads probes through `read`; which set and layer to use is decided in `etl.probes.policy`. A set centres
and projects texts itself (`StoredProbes.centre_for`, `project`): science on the stored data, so it lives in probes/,
above the lake it reads (etl/layers.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import duckdb
import numpy as np

from etl.config.kinds import FORM_KINDS
from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId


@dataclass(frozen=True)
class FormCentre:
    """The mean emotional text of one form at one layer (a probe kind's centre) and the median length of its texts."""

    kind: str
    median_tokens: float
    vector: np.ndarray


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
    estimator: str = "mean_diff"
    forms: list[FormCentre] = field(default_factory=list)
    """Centres of the forms at this layer and source (see `centre_for`)."""

    def centre_for(self, n_tokens: int) -> np.ndarray:
        """What a text of `n_tokens` tokens is centred on before scoring: the mean emotional text of the form whose
        median length is nearest its own on a log scale (a short message is centred on short messages, a story on
        stories), else the probes' own centre. Centring on the wrong form leaves the form's offset in every score,
        along directions many probes share (measured: story-centred short texts score at chance)."""
        if not self.forms:
            return self.center
        nearest = min(self.forms, key=lambda f: (abs(np.log(max(n_tokens, 1)) - np.log(f.median_tokens)), f.kind))
        return nearest.vector

    def centred(self, x: np.ndarray, n_tokens) -> np.ndarray:
        """Rows of `x` minus their centre (`centre_for`): `n_tokens` is one length for every row, or one per row."""
        if np.ndim(n_tokens) == 0:
            return x - self.centre_for(int(n_tokens))
        return x - np.stack([self.centre_for(int(n)) for n in n_tokens])

    def project(self, x: np.ndarray, n_tokens, cosine: bool = False) -> np.ndarray:
        """(rows, n_emotions) float32: the centred rows' projections on the unit probes (per-token scores, held-out
        figures), or with `cosine` their cosines (text-level scores, `nearest`). The one centre-and-project."""
        centred = self.centred(x, n_tokens)
        if cosine:
            norms = np.linalg.norm(centred, axis=1, keepdims=True)
            centred = centred / np.where(norms == 0, 1.0, norms)
        return (centred @ self.vectors.T).astype(np.float32)


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
        params=[lake.files("probes"), *params],
    ).to_arrow_table()
    centers, forms = {}, {}
    if lake.has("probe_centers"):
        every, every_params = _filters(model, source, None, layers)
        for m, s, k, layer, vector, median in con.execute(
            "select model, source, kind, cast(layer as integer), vector, median_tokens "
            f"from read_parquet(?, hive_partitioning = true, union_by_name = true) where {every}",
            [lake.files("probe_centers"), *every_params],
        ).fetchall():
            centers[(m, s, k, layer)] = np.asarray(vector, np.float32)
            if k in FORM_KINDS and median:
                forms.setdefault((m, s, layer), []).append(FormCentre(k, float(median), centers[(m, s, k, layer)]))
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
            estimator=first.get("estimator") or "mean_diff",
            forms=sorted(forms.get((m, s, layer), []), key=lambda f: f.kind),
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


def read_set(lake: Lake, probe_set: ProbeSetId) -> StoredProbes:
    """One probe set with its centres, for scoring (`read_layers`)."""
    pair = (probe_set.kind, probe_set.layer)
    return read_layers(lake, probe_set.model, probe_set.source, [pair[0]], [pair[1]])[pair]


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
    # Keyed by the table's file list: a new version writes new files, so it is read afresh.
    files = lake.files("probes")
    return list(_probe_sets(tuple(files), ()))


@functools.lru_cache(maxsize=8)
def _probe_sets(files: tuple[str, ...], version: tuple[str, ...]) -> tuple[tuple[str, str, str, str, int], ...]:
    return tuple(
        duckdb.connect()
        .execute(
            "select distinct model, model_spec, source, kind, cast(layer as integer) "
            "from read_parquet(?, hive_partitioning = true) order by 1, 3, 4, 5",
            [list(files)],
        )
        .fetchall()
    )


def pick_model(lake: Lake, model: str | None, source: str, kind: str | None = None) -> tuple[str, str]:
    """(slug, spec) of the probed model: the one asked for (slug or spec), or the only one with such probes."""
    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` (or `make probes index`)")
    sets = probe_sets(lake)
    available = sorted({(m, spec) for m, spec, s, k, _ in sets if s == source and kind in (None, k)})
    if not available:
        kinds = sorted({k for _, _, s, k, _ in sets if s == source})
        if kinds and kind is not None:
            raise EmolakeError(f"no probes of kind {kind!r} from source {source!r}: the lake has kinds {kinds}")
        sources = sorted({s for _, _, s, _, _ in sets})
        raise EmolakeError(f"no probes from source {source!r} in the lake (it has {sources}): pass --source")
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


def evaluation_rows(lake: Lake, model: str, source: str, kind: str | None = None) -> list[dict]:
    """The `evaluation_layers` rows of one probe source (one kind, or all), layer as an int; [] when unevaluated."""
    if not lake.has("evaluation_layers"):
        return []
    where, params = _filters(model, source, None if kind is None else [kind], None)
    table = duckdb.connect().sql(
        f"select * from read_parquet(?, hive_partitioning = true, union_by_name = true) where {where}",
        params=[lake.files("evaluation_layers"), *params],
    )
    return [row | {"layer": int(row["layer"])} for row in table.to_arrow_table().to_pylist()]


def has_index(lake: Lake, model: str, source: str, kind: str, layer: int) -> bool:
    """Whether the probe set's FAISS index (what `nearest` searches) is committed."""
    return lake.exists(lake.faiss_path(model, source, kind, layer))
