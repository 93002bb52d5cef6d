"""Stage `evaluate`: held-out classification by topic fold and valence/arousal geometry, per layer.

Writes `evaluation_layers/model=M/source=S/part-0.parquet`, one row per (layer, kind). Principal-component signs
are arbitrary, so each component is oriented to correlate positively with its norm before reporting r.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pyarrow as pa
from tqdm import tqdm

from etl import catalog, vectors
from etl.config import EvaluateConfig
from etl.lake import Lake, write_table
from etl.models import model_slug
from etl.probe_math import expression_probes, principal_axes, scores, top_k_hits
from etl.runner import StageResult
from etl.stats import pearson, spearman

log = logging.getLogger("emolake")


def held_out(x, labels, topics, n_emotions, baseline, variance, folds) -> dict:
    """Top-1/top-5 over all emotions on stories whose topic fold was left out of the probes."""
    fold_of = np.array([catalog.topic_fold(t, folds) for t in topics])
    hits1, hits5 = [], []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        if not train.any() or not test.any():
            continue
        probe_set = expression_probes(x[train], labels[train], n_emotions, baseline, variance)
        known = np.isin(labels[test], np.unique(labels[train]))
        matrix = scores(x[test][known], probe_set)
        matrix[:, np.bincount(labels[train], minlength=n_emotions) == 0] = -np.inf
        hits1.append(top_k_hits(matrix, labels[test][known], 1))
        hits5.append(top_k_hits(matrix, labels[test][known], 5))
    n_test = int(sum(len(h) for h in hits1))
    if n_test == 0:
        return {"top1": None, "top5": None, "n_test": 0}
    return {"top1": float(np.concatenate(hits1).mean()), "top5": float(np.concatenate(hits5).mean()), "n_test": n_test}


def geometry(probe_vectors: np.ndarray, emotions: list[str]) -> dict:
    """PC1/PC2 of the probes against valence/arousal norms, on the rated emotions."""
    if len(emotions) < 3:
        return {}
    axes, explained = principal_axes(probe_vectors, 2)
    norms = catalog.norms()
    rated = [i for i, e in enumerate(emotions) if e in norms]
    out = {"pc1_var": float(explained[0]), "pc2_var": float(explained[1]) if len(explained) > 1 else None}
    if len(rated) < 3:
        return out
    for name, column in (("valence", 0), ("arousal", 1)):
        if column >= axes.shape[1]:
            continue
        target = np.array([norms[emotions[i]][name] for i in rated])
        component = axes[rated, column]
        sign = 1.0 if pearson(component, target) >= 0 else -1.0
        out[f"{name}_r"] = pearson(sign * component, target)
        out[f"{name}_spearman"] = spearman(sign * component, target)
    out["n_rated"] = len(rated)
    return out


def read_probes(lake: Lake, model: str, source: str, layer: int) -> pa.Table:
    """The layer's expression probes with their provenance (baseline corpora and variance used)."""
    path = lake.partition("probes", model=model, source=source, kind="expression", layer=layer) / "part-0.parquet"
    query = "select emotion, vector, baseline_corpora, baseline_variance from read_parquet(?) order by emotion"
    return duckdb.connect().sql(query, params=[str(path)]).to_arrow_table()


def evaluate_layer(lake: Lake, model: str, layer: int, source: str, config: EvaluateConfig) -> dict:
    emotions = list(catalog.select(config.common.emotions))
    code = {e: i for i, e in enumerate(emotions)}
    stories = vectors.load(lake, model, layer, ["emotional_story"], [source])
    keep = [i for i, m in enumerate(stories.meta) if m["emotion"] in code]
    labels = np.array([code[stories.meta[i]["emotion"]] for i in keep])
    topics = [stories.meta[i]["topic"] for i in keep]
    probes = read_probes(lake, model, source, layer)
    # Held-out probes are rebuilt with the same baseline recipe the probes stage recorded in the lake.
    baseline_corpora = probes.column("baseline_corpora")[0].as_py().split(",")
    variance = probes.column("baseline_variance")[0].as_py()
    baseline = vectors.load(lake, model, layer, baseline_corpora, [source])
    if not baseline.meta:
        baseline = vectors.load(lake, model, layer, baseline_corpora)
    row = {
        "layer": layer,
        "kind": "expression",
        "n_emotions": len(set(labels.tolist())),
        "chance_top1": 1 / len(emotions),
    }
    row |= held_out(stories.x[keep], labels, topics, len(emotions), baseline.x, variance, config.folds)
    probe_vectors = np.array(probes.column("vector").to_pylist(), dtype=np.float32)
    row |= geometry(probe_vectors, probes.column("emotion").to_pylist())
    return row


def run(config: EvaluateConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    layers = vectors.model_layers(lake, model)
    result = StageResult()
    for source in config.sources:
        rows = [
            evaluate_layer(lake, model, layer, source, config) for layer in tqdm(layers, desc=f"evaluate ({source})")
        ]
        write_table(
            pa.Table.from_pylist(rows),
            lake.partition("evaluation_layers", model=model, source=source) / "part-0.parquet",
        )
        best = max(rows, key=lambda r: r.get("top1") or 0)
        log.info(
            "evaluate: %s: best layer %d: %s",
            source,
            best["layer"],
            {k: best.get(k) for k in ("top1", "top5", "n_test", "valence_r", "arousal_r")},
        )
        result.rows_written += len(rows)
        result.details[source] = {k: best.get(k) for k in ("layer", "top1", "top5", "valence_r", "arousal_r")}
    return result
