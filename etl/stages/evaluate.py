"""Stage `evaluate`: how good and how structured the probes are, per source, kind and layer, plus the report.

Reads `probes` and the per-text vectors; writes, per (model, source):
    evaluation_layers         one row per (layer, kind): held-out top-1/top-5, valence/arousal r, PC variance,
                              split-half stability, norms decoded from the probes, and the scenario diagonal
                              (expression) or matched cosine with expression (deflection)
    probe_map                 each probe on its PC1/PC2 plane, with its norms and k-means cluster
    evaluation_cosines        the cosine matrix of each probe set
    deflection_vs_expression  matched deflection/expression pairs (only when deflection probes exist)
    chosen_layers             per kind, the layer `etl.probes.policy.best_of` chose (what `best_layers` shows)
    nested_selection          the default set's held-out top-1 with the set chosen inside each outer fold
    logit_lens, dose_curve, scenario_scores, invariance
                              (these load the probed model; `model_checks = false` skips them)
and `reports/<model>/report.html`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from etl import progress
from etl.config import EvaluateConfig
from etl.config.kinds import KINDS
from etl.errors import EmolakeError
from etl.evaluation import classification, deflection, evidence_tables, geometry, nested, reliability, tables, transfer
from etl.executors.processes import in_processes
from etl.lake import Lake, vectors
from etl.model.load import model_slug
from etl.probes import recipe
from etl.probes.policy import best_of, best_of_each, rank_default
from etl.probes.stored import StoredProbes
from etl.probes.stored import read as read_probes
from etl.stages import StageResult

log = logging.getLogger("emolake")

OUTPUT_SIGNATURE = tables.signature() + evidence_tables.signature()
"""Part of the stage's run key: a lake evaluated before a schema change is evaluated again, once."""

DEFAULT_EXPRESSION_SPACE_VARIANCE = 0.99
"""Used for held-out deflection probes when the probes' provenance does not record it."""


class VectorCache:
    """Per-layer vectors of (corpora, segments), read once from the lake for every kind that needs them."""

    def __init__(self, lake: Lake, model: str, layer: int, source: str) -> None:
        self.lake, self.model, self.layer, self.source = lake, model, layer, source
        self.loaded: dict[tuple, vectors.Vectors] = {}

    def get(self, corpora: list[str], segments: list[str] | None = None, any_source: bool = False) -> vectors.Vectors:
        key = (tuple(corpora), tuple(segments or ()), any_source)
        if key not in self.loaded:
            sources = None if any_source else [self.source]
            self.loaded[key] = vectors.load(self.lake, self.model, self.layer, corpora, sources, segments)
        return self.loaded[key]


@dataclass
class KindInputs:
    """What rebuilding one kind's probes at one layer takes: its labelled texts, baseline and excluded space."""

    x: np.ndarray
    labels: np.ndarray
    topics: list[str]
    baseline: np.ndarray
    exclude: np.ndarray | None
    texts: list[str]
    baseline_topics: list[str] | None = None
    """The topic (register, template) of each baseline text: a held-out fold leaves its own out of the baseline."""


def kind_inputs(cache: VectorCache, kind: str, probes: StoredProbes, expression: StoredProbes | None):
    """The KindInputs of one probe set, following its provenance; None when the kind's texts are not in the lake."""
    spec = KINDS.get(kind)
    if spec is None:
        log.info("evaluate: no held-out recipe for probe kind %r; geometry only", kind)
        return None
    data = cache.get([spec.corpus], list(spec.segments))
    keep, labels = recipe.labelled_rows(data.meta, spec.label, probes.emotions)
    if not keep:
        return None
    corpora = probes.baseline_corpora
    baseline = recipe.baseline_rows(lambda any_source: cache.get(corpora, any_source=any_source), corpora)
    exclude = None
    if any(v is not None for v in probes.norm_kept) and expression is not None:
        variance = probes.expression_space_variance or DEFAULT_EXPRESSION_SPACE_VARIANCE
        exclude = recipe.excluded_space(expression.vectors, variance)
    return KindInputs(
        x=data.x[keep],
        labels=labels,
        topics=[data.meta[i]["topic"] or "" for i in keep],
        baseline=baseline.x,
        exclude=exclude,
        texts=[data.meta[i]["text"] for i in keep],
        baseline_topics=[m.get("topic") or "" for m in baseline.meta],
    )


def held_out_row(inputs: KindInputs | None, probes: StoredProbes, folds: int, seed: int) -> dict:
    """Held-out top-1/top-5 of one probe set (with its interval and shuffled-label null), rebuilt with the recipe its
    provenance records."""
    if inputs is None:
        return {}
    n = len(probes.emotions)
    args = (inputs.x, inputs.labels, inputs.topics, n, inputs.baseline, probes.baseline_variance, folds, inputs.exclude)
    result = classification.held_out(*args, baseline_topics=inputs.baseline_topics)
    null = classification.held_out(*args, null_seed=seed, baseline_topics=inputs.baseline_topics)
    return result | {"chance_top1": 1 / n, "null_top1": null["top1"]}


def transfer_domains(cache: VectorCache, probe_sets: dict, layer: int, emotions: list[str], folds: int) -> dict:
    """The story, short-text and instruction domains at one layer, labelled in one emotion order."""
    code = {e: i for i, e in enumerate(emotions)}
    domains = {}
    for kind, name in transfer.DOMAIN_OF_KIND.items():
        probes = probe_sets.get((kind, layer))
        inputs = kind_inputs(cache, kind, probes, None) if probes is not None else None
        if inputs is None:
            continue
        names = np.array(probes.emotions)[inputs.labels]
        keep = np.array([e in code for e in names])
        kept_texts = [text for text, k in zip(inputs.texts, keep, strict=True) if k]
        topics = [t for t, k in zip(inputs.topics, keep, strict=True) if k]
        domains[name] = transfer.Domain(
            x=inputs.x[keep],
            labels=np.array([code[e] for e in names[keep]]),
            folds=recipe.fold_ids(topics, folds),
            baseline=inputs.baseline,
            variance=probes.baseline_variance,
            texts=kept_texts,
            baseline_folds=recipe.fold_ids(inputs.baseline_topics, folds, topics),
        )
    return domains


def transfer_rows(cache: VectorCache, probe_sets: dict, layer: int, config: EvaluateConfig, first: bool) -> dict:
    """Cross-domain rows, learning curves and (once per source) the lexical baseline for one layer."""
    kinds = [k for (k, probe_layer) in probe_sets if probe_layer == layer and k in transfer.RECIPES]
    if not kinds:
        return {}
    reference = probe_sets.get(("pooled", layer)) or probe_sets.get((kinds[0], layer))
    emotions = reference.emotions
    domains = transfer_domains(cache, probe_sets, layer, emotions, config.folds)
    seed = config.common.seed
    out = {
        "cross_domain": [{"layer": layer} | r for r in transfer.cross_domain_rows(kinds, domains, len(emotions), seed)]
    }
    out["learning_curve"] = [
        {"layer": layer} | r
        for kind, name in transfer.DOMAIN_OF_KIND.items()
        if name in domains
        for r in transfer.learning_rows(kind, domains[name], emotions, seed)
    ]
    if first:
        out["lexical_baseline"] = transfer.lexical_rows(domains, len(emotions), seed)
    out["nested_candidates"] = nested.candidates(kinds, domains, len(emotions), layer)
    return out


def transfer_columns(kind: str, cross: list[dict]) -> dict:
    """The cross-domain figures a kind's `evaluation_layers` row carries (story and short-text held-out)."""
    mine = {r["test_domain"]: r for r in cross if r["kind"] == kind}
    out = {}
    for domain, columns in (
        ("story", ("top1", "top1_low", "top1_high")),
        ("short", ("top1", "top5", "top1_low", "top1_high")),
    ):
        if domain in mine:
            out |= {f"{domain}_{c}": mine[domain][c] for c in columns}
    for domain in ("story", "short"):
        if domain in mine:
            out[f"{domain}_null_top1"] = mine[domain]["null_top1"]
    if kind == "pooled" and "story" in mine:
        story = mine["story"]
        out |= {c: story[c] for c in ("top1", "top5", "top1_low", "top1_high", "null_top1", "chance_top1", "n_test")}
    return out


def stability_row(inputs: KindInputs | None, probes: StoredProbes, seed: int) -> dict:
    """Split-half cosine of one probe set, rebuilt with the recipe its provenance records."""
    if inputs is None:
        return {}
    n = len(probes.emotions)
    return reliability.split_half_cosine(
        inputs.x, inputs.labels, n, inputs.baseline, probes.baseline_variance, seed, inputs.exclude
    )


def unorthogonalised(inputs: KindInputs | None, probes: StoredProbes) -> np.ndarray | None:
    """The probes rebuilt on all their texts without the excluded space: deflection before orthogonalisation."""
    if inputs is None:
        return None
    n = len(probes.emotions)
    return recipe.build(inputs.x, inputs.labels, n, inputs.baseline, probes.baseline_variance).vectors


def evaluate_layer(
    lake: Lake, model: str, source: str, layer: int, probe_sets: dict, config: EvaluateConfig, first: bool = False
) -> tuple[list[dict], dict[str, list[dict]]]:
    """Rows of `evaluation_layers` for one layer (one per kind) and the rows of the other tables it fills."""
    cache = VectorCache(lake, model, layer, source)
    expression = probe_sets.get(("expression", layer))
    extra = {"probe_map": [], "deflection_vs_expression": [], "cross_domain": [], "learning_curve": []}
    extra |= transfer_rows(cache, probe_sets, layer, config, first)
    rows = []
    for (kind, probe_layer), probes in probe_sets.items():
        if probe_layer != layer:
            continue
        row = {"layer": layer, "kind": kind, "n_emotions": len(probes.emotions)}
        inputs = kind_inputs(cache, kind, probes, expression)
        row |= held_out_row(inputs, probes, config.folds, config.common.seed)
        row |= transfer_columns(kind, extra["cross_domain"])
        row |= stability_row(inputs, probes, config.common.seed)
        row |= geometry.correlations(probes.vectors, probes.emotions)
        row |= geometry.correlation_controls(probes.vectors, probes.emotions, config.common.seed)
        row |= reliability.decoded_norms(probes.vectors, probes.emotions)
        labels = geometry.clusters(probes.vectors, config.clusters, config.common.seed)
        extra["probe_map"] += [
            {"kind": kind, "layer": layer} | r for r in geometry.map_rows(probes.vectors, probes.emotions, labels)
        ]
        if kind == "deflection" and expression is not None:
            kept = dict(zip(probes.emotions, probes.norm_kept, strict=True))
            pairs = deflection.compare(
                (expression.emotions, expression.vectors),
                (probes.emotions, probes.vectors),
                kept,
                unorthogonalised(inputs, probes),
            )
            extra["deflection_vs_expression"] += [{"layer": layer} | p for p in pairs]
            row |= deflection.summarise(pairs)
        rows.append(row)
    return rows, extra


def evaluate_source(lake: Lake, model: str, source: str, probe_sets: dict, config: EvaluateConfig) -> dict:
    """Every model-free result of one source, as rows per output table."""
    layers = sorted({layer for _, layer in probe_sets})
    out: dict[str, list[dict]] = {"evaluation_layers": [], "probe_map": [], "deflection_vs_expression": []}
    out |= {"cross_domain": [], "learning_curve": [], "lexical_baseline": [], "nested_candidates": []}
    jobs = [
        (lake.location, model, source, layer, {k: p for k, p in probe_sets.items() if k[1] == layer}, config, i == 0)
        for i, layer in enumerate(layers)
    ]
    results = progress.bar(in_processes(layer_job, jobs, config.workers), desc=f"evaluate ({source})", total=len(jobs))
    for rows, extra in results:
        out["evaluation_layers"] += rows
        for name, items in extra.items():
            out[name] += items
    chosen = best_of_each(out["evaluation_layers"])
    out["chosen_layers"] = [{"kind": kind, "layer": layer} for kind, layer in chosen.items()]
    ranked = rank_default(out["evaluation_layers"])
    candidates = out.pop("nested_candidates")
    out["nested_selection"] = nested.nested_rows(candidates, ranked[0] if ranked else None, config.common.seed)
    return out


def layer_job(job: tuple) -> tuple[list[dict], dict]:
    """One layer's evaluation from picklable parts (the lake by its location), with one BLAS thread: the matrices are
    small (171 x hidden), so BLAS threads only contend, and on shared cores they spin."""
    location, model, source, layer, probe_sets, config, first = job
    with threadpool_limits(limits=1, user_api="blas"):
        return evaluate_layer(Lake(location), model, source, layer, probe_sets, config, first)


def run_model_checks(lake: Lake, model: str, source: str, probe_sets: dict, config: EvaluateConfig) -> dict:
    """Logit lens, dose curve and implicit scenarios through the probed model; rows per output table."""
    from etl.evaluation import dose, scenarios
    from etl.model.lens import lens_rows
    from etl.model.load import load
    from etl.probes.stored import read_layers

    spec = next(iter(probe_sets.values())).model_spec
    if not spec:
        log.warning("evaluate: probes of %s/%s record no model_spec; skipping model checks", model, source)
        return {}
    loaded = load(spec)
    lens = []
    for (kind, layer), probes in progress.bar(probe_sets.items(), desc=f"logit lens ({source})", unit="set"):
        lens += [
            {"kind": kind, "layer": layer} | r
            for r in lens_rows(loaded, probes.emotions, probes.vectors, config.lens_tokens)
        ]
    layers = sorted({layer for kind, layer in probe_sets if kind == "expression"})
    if not layers:
        return {"logit_lens": lens}
    probe_layers = read_layers(lake, model, source, ["expression"], layers)
    emotions = set(probe_layers[("expression", layers[0])].emotions)
    dose_emotions = [e for e in config.dose_emotions if e in emotions]
    if len(dose_emotions) < len(config.dose_emotions):
        log.info("evaluate: dose emotions without probes skipped: %s", sorted(set(config.dose_emotions) - emotions))
    return {
        "logit_lens": lens,
        "dose_curve": dose.curve_rows(loaded, probe_layers, dose_emotions),
        "scenario_scores": scenarios.scenario_rows(loaded, probe_layers, emotions),
    }


def invariance_rows(lake: Lake, model: str, source: str, layer_rows: list[dict], config: EvaluateConfig) -> list[dict]:
    """The invariance of the set these rows make the default (`rank_default`, the rule of `default_set`)."""
    from etl.evaluation import invariance

    ranked = rank_default(layer_rows)
    if not ranked:
        return []
    return invariance.measure(lake, model, source, ranked[0]["kind"], ranked[0]["layer"], config.common.seed)


def write_source(lake: Lake, model: str, source: str, out: dict[str, list[dict]], probe_sets: dict) -> int:
    """Writes every evaluation table of one source, replacing its rows; a table this run did not compute loses its
    rows for the source, rather than keeping stale ones."""
    written = 0
    for name in tables.SCHEMAS:
        rows = out.get(name) or []
        written += lake.write(name, tables.from_rows(name, rows), mode="replace", model=model, source=source)
    blocks = [(kind, layer, p.emotions, geometry.cosine_matrix(p.vectors)) for (kind, layer), p in probe_sets.items()]
    lake.write("evaluation_cosines", tables.cosine_table(blocks), mode="replace", model=model, source=source)
    return written


def merge_scenarios(layer_rows: list[dict], scenario_rows: list[dict]) -> None:
    """Adds each (kind, layer)'s scenario diagonal strength to its `evaluation_layers` row."""
    from etl.evaluation.scenarios import diagonal_strength

    strength = diagonal_strength(scenario_rows)
    for row in layer_rows:
        row |= strength.get((row["kind"], row["layer"]), {})


def run(config: EvaluateConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    result = StageResult()
    parts: dict[str, float] = {}
    for source in config.sources:
        probe_sets = {(k, layer): p for (_, k, layer), p in read_probes(lake, model, source).items()}
        if not probe_sets:
            raise EmolakeError(f"no probes for {model}/{source} in the lake at {lake.root}: run `make probes`")
        with timed(parts, f"{source}/layers"):
            out = evaluate_source(lake, model, source, probe_sets, config)
        if config.model_checks:
            with timed(parts, f"{source}/model_checks"):
                out |= run_model_checks(lake, model, source, probe_sets, config)
            merge_scenarios(out["evaluation_layers"], out.get("scenario_scores", []))
            out["invariance"] = invariance_rows(lake, model, source, out["evaluation_layers"], config)
        result.rows_read += sum(len(p.emotions) for p in probe_sets.values())
        with timed(parts, f"{source}/write"):
            result.rows_written += write_source(lake, model, source, out, probe_sets)
        with timed(parts, f"{source}/evidence"):
            result.rows_written += evidence_tables.write(lake, model, source, config)
        summary = summarise(out["evaluation_layers"])
        log.info("evaluate: %s: %s", source, summary)
        result.details[source] = summary
    if config.report:
        from etl.report import write_report

        with timed(parts, "report"), lake.file_batch():  # the page and its figures land in one commit
            path = write_report(lake, model)
        log.info("evaluate: report written to %s", path)
        result.details["report"] = str(path)
    result.details["part_seconds"] = {name: round(seconds, 1) for name, seconds in parts.items()}
    log.info("evaluate: seconds per part: %s", result.details["part_seconds"])
    return result


@contextmanager
def timed(parts: dict[str, float], name: str) -> Iterator[None]:
    """Adds the block's wall time to `parts[name]` (the stage's profile, kept in the `runs` table's details)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        parts[name] = parts.get(name, 0.0) + time.perf_counter() - started


def summarise(rows: list[dict]) -> dict:
    """The best expression layer's figures, and the kinds evaluated."""
    layer = best_of(rows)
    best = next((r for r in rows if r["kind"] == "expression" and r["layer"] == layer), {})
    keys = ("layer", "top1", "top5", "pc1_valence_r", "pc2_arousal_r", "scenario_diagonal")
    return {k: best.get(k) for k in keys} | {"kinds": sorted({r["kind"] for r in rows})}
