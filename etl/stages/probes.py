"""Stage `probes`: probes per kind, layer and text source, written to `probes` and `probe_centers`.

Kinds (each the paper's recipe on different tokens and labels):
    expression       emotional stories, labelled by their emotion; baseline: `baseline_corpora`
    deflection       the masking speaker's turns of deflection dialogues, labelled by the hidden (target) emotion;
                     baseline: `dialogue_baseline_corpora`; then orthogonalised against the expression space
    present_speaker  each speaker's turns of speaker dialogues, labelled by that speaker's emotion
    other_speaker    the same turns, labelled by the other speaker's emotion
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from etl import catalog, progress
from etl.config import ProbesConfig, config_hash
from etl.config.kinds import KINDS, POOLED, KindSpec
from etl.errors import EmolakeError
from etl.lake import Lake, schemas, vectors
from etl.lake.schemas import fixed_vectors
from etl.model.load import model_slug
from etl.probes import recipe
from etl.probes.maths import BuiltProbes, unit
from etl.stages import StageResult

log = logging.getLogger("emolake")
# Part of the stage's run key: a lake whose probes were written with other columns is built again, once.
OUTPUT_SIGNATURE = hashlib.sha256(f"{schemas.PROBES}|{schemas.PROBE_CENTERS}".encode()).hexdigest()[:12]


def probe_rows(emotions, probe_set: BuiltProbes, counts, meta: dict, norm_kept=None) -> pa.Table:
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
    return fixed_vectors(pa.Table.from_pylist(rows, schema=schemas.PROBES))


def labelled(
    lake: Lake, model: str, layer: int, source: str, spec: KindSpec, emotions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, integer labels, token counts) of the kind's segments whose label is one of `emotions`."""
    data = vectors.load(lake, model, layer, [spec.corpus], [source], list(spec.segments))
    keep, labels = recipe.labelled_rows(data.meta, spec.label, emotions)
    return data.x[keep], labels, np.array([data.meta[i]["n_tokens"] for i in keep])


def baseline(lake: Lake, model: str, layer: int, source: str, corpora: tuple[str, ...]) -> np.ndarray:
    """Baseline vectors of `corpora`, chosen by `recipe.baseline_texts` (this source's, else every source's)."""

    def load(any_source: bool) -> vectors.Vectors:
        return vectors.load(lake, model, layer, list(corpora), None if any_source else [source])

    return recipe.baseline_texts(load, corpora)


def baseline_of(spec: KindSpec, config: ProbesConfig) -> tuple[tuple[str, ...], float]:
    """(neutral corpora, variance share) projected out of one kind's probes."""
    corpora = {
        "story": config.baseline_corpora,
        "dialogue": config.dialogue_baseline_corpora,
        "short": config.short_baseline_corpora,
        "prompt": config.prompt_baseline_corpora,
    }[spec.baseline]
    return corpora, config.prompt_baseline_variance if spec.baseline == "prompt" else config.baseline_variance


def pooled(built: dict[str, tuple[BuiltProbes, np.ndarray, dict]], config: ProbesConfig):
    """The `pooled` kind: the mean of the unit probes of the `POOLED` kinds built at this layer, unit norm.

    Each domain (stories, short texts, instructions) weighs the same whatever its size; an emotion counts where any
    domain has it. Its centre is the expression probes' (scoring centres queries by their form anyway)."""
    parts = [built[k] for k in POOLED if k in built]
    if len(parts) < 2:
        return None
    total = sum(p[0].vectors.astype(np.float64) for p in parts)
    counts = sum(p[1] for p in parts)
    center = parts[0][0].center
    probe_set = BuiltProbes(unit(total).astype(np.float32), center, 0, 0.0)
    meta = {
        **parts[0][2]["meta"],
        "baseline_corpora": "",
        "baseline_variance": 0.0,
        "baseline_components": 0,
        "variance_removed": 0.0,
        "estimator": f"pooled:{'+'.join(k for k in POOLED if k in built)}",
    }
    return probe_set, counts, {"meta": meta, "norm_kept": None}


def build_kind(
    lake, model, layer, source, kind, config, expression_vectors
) -> tuple[BuiltProbes, np.ndarray, dict] | None:
    spec = KINDS[kind]
    emotions = catalog.select(config.common.emotions)
    x, labels, n_tokens = labelled(lake, model, layer, source, spec, emotions)
    if len(labels) == 0:
        return None
    corpora, variance = baseline_of(spec, config)
    exclude = None
    if kind == "deflection" and expression_vectors is not None:
        exclude = recipe.excluded_space(expression_vectors, config.expression_space_variance)
    texts = baseline(lake, model, layer, source, corpora)
    probe_set = recipe.build(x, labels, len(emotions), texts, variance, exclude)
    counts = np.bincount(labels, minlength=len(emotions))
    norm_kept = probe_set.norm_kept
    meta = {
        "baseline_corpora": ",".join(corpora),
        "baseline_variance": variance,
        "estimator": spec.estimator,
        "expression_space_variance": config.expression_space_variance if kind == "deflection" else None,
        "baseline_components": probe_set.n_components,
        "variance_removed": probe_set.variance_removed,
        "config_hash": config_hash(config),
        "model_spec": config.common.model,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return probe_set, counts, {"meta": meta, "norm_kept": norm_kept, "median_tokens": float(np.median(n_tokens))}


def build_layer(
    lake: Lake, model: str, layer: int, source: str, config: ProbesConfig, out: dict[str, list]
) -> dict[str, int]:
    """Builds one layer's probes of every configured kind for one source (their tables appended to `out`, by
    dataset); returns probes per kind."""
    emotions = catalog.select(config.common.emotions)
    written: dict[str, int] = {}
    expression_vectors = None
    done: dict[str, tuple] = {}
    for kind in config.kinds:
        if kind == "pooled":
            built = pooled(done, config)
        else:
            built = build_kind(lake, model, layer, source, kind, config, expression_vectors)
        if built is None:
            continue
        done[kind] = built
        probe_set, counts, extra = built
        if kind == "expression":
            expression_vectors = probe_set.vectors[counts > 0]
        table = probe_rows(emotions, probe_set, counts, extra["meta"], extra["norm_kept"])
        where = {"kind": kind, "layer": layer}
        out["probes"].append(with_columns(table, where))
        center = pa.table(
            {
                "vector": [probe_set.center.tolist()],
                "n_emotions": [int((counts > 0).sum())],
                "median_tokens": [extra.get("median_tokens")],
            },
            schema=pa.schema(
                [("vector", pa.list_(pa.float32())), ("n_emotions", pa.int64()), ("median_tokens", pa.float64())]
            ),
        )
        out["probe_centers"].append(with_columns(center, where))
        written[kind] = int((counts > 0).sum())
    if "expression" in config.kinds and "expression" not in written:
        raise EmolakeError(f"no extracted emotional stories from source {source!r}: run `make generate extract`")
    return written


def with_columns(table: pa.Table, values: dict) -> pa.Table:
    """`table` with constant columns added (the partition values of its rows)."""
    for name, value in values.items():
        table = table.append_column(name, pa.array([value] * table.num_rows))
    return table


def run(config: ProbesConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    layers = vectors.model_layers(lake, model)
    result = StageResult()
    for source in config.sources:
        per_kind: dict[str, int] = {}
        out: dict[str, list] = {"probes": [], "probe_centers": []}
        for layer in progress.bar(layers, desc=f"probes ({source})", unit="layer"):
            for kind, n in build_layer(lake, model, layer, source, config, out).items():
                per_kind[kind] = per_kind.get(kind, 0) + n
        # This run's probes replace every probe set of the source in one commit per table: sets it no longer
        # builds go, and a reader sees the old sets or the new ones, never a mix.
        for dataset, tables in out.items():
            rows = pa.concat_tables(tables) if tables else []
            lake.write(dataset, rows, mode="replace", model=model, source=source)
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
