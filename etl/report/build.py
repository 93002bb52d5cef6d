"""Builds `reports/<model>/report.html` with PNG/SVG plots, only from the lake's evaluation tables.

Figures come first and the page last, each written atomically, so a reader never sees a page without its figures.
The per-emotion figures use the first source (`reference` when present) at its best expression layer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from etl.errors import EmolakeError
from etl.evaluation.scenarios import SCENARIOS
from etl.lake import Lake, atomic_path
from etl.report import data, html, plots
from etl.report.controls import controls_section

log = logging.getLogger("emolake")

LENS_SHOWN = 12
"""Emotions whose logit-lens tokens the report lists."""


def write_report(lake: Lake, model: str) -> Path:
    """Writes the report of one model from its evaluation tables; returns the page's path."""
    layer_rows = data.rows(lake, "evaluation_layers", model)
    if not layer_rows:
        raise EmolakeError(f"no evaluation of {model} in the lake at {lake.root}: run `make evaluate`")
    directory = lake.report_dir(model)
    directory.mkdir(parents=True, exist_ok=True)
    best = data.best_layers(layer_rows)
    sources = sorted({r["source"] for r in layer_rows}, key=lambda s: (s != "reference", s))
    primary = sources[0]
    layer = best.get(primary)
    sections = [summary_section(layer_rows, sources), controls_section(lake, model, layer_rows)]
    sections.append(layer_section(layer_rows, directory))
    if layer is not None:
        where = f"{primary} source, expression probes, layer {layer}"
        sections += [
            map_section(lake, model, primary, layer, where, directory),
            similarity_section(lake, model, primary, layer, where, directory),
            dose_section(lake, model, primary, layer, where, directory),
            scenario_section(lake, model, primary, layer, where, directory),
            lens_section(lake, model, primary, layer, where),
        ]
    sections.append(deflection_section(layer_rows, directory))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    intro = [
        html.paragraph(
            f"Emotion probes of {model}: how well they classify held-out texts, how they are arranged, and how they "
            f"respond to text that evokes an emotion without naming it. Generated {created} by `make evaluate` "
            "from the lake's evaluation tables (query them with `emolake sql`)."
        )
    ]
    page = html.page(f"emolake report: {model}", intro, [s for s in sections if s])
    final = directory / "report.html"
    with atomic_path(final) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return final


def summary_section(layer_rows: list[dict], sources: list[str]) -> str:
    headers = ["source", "kind", "best layer", "top-1", "top-5", "chance", "valence r", "valence rho", "arousal r"]
    headers += ["valence decoded r", "split-half cos", "PC1 var", "PC2 var"]
    body = []
    for source in sources:
        for kind in sorted({r["kind"] for r in layer_rows if r["source"] == source}):
            series = [r for r in layer_rows if r["source"] == source and r["kind"] == kind]
            scored = [r for r in series if r.get("top1") is not None]
            row = max(scored, key=lambda r: (r["top1"], -r["layer"])) if scored else series[-1]
            keys = ("top1", "top5", "chance_top1", "pc1_valence_r", "pc1_valence_spearman", "pc2_arousal_r")
            keys += ("valence_decoded_r", "split_half_cos", "pc1_var", "pc2_var")
            body.append([source, kind, row["layer"], *(row.get(k) for k in keys)])
    note = html.paragraph(
        "Best layer = highest held-out top-1 of that kind (topics held out by fold). Valence/arousal r: Pearson r "
        "of PC1 with valence and PC2 with arousal over the emotions rated by Warriner et al. (2013); rho: Spearman. "
        "Valence decoded r: 5-fold ridge regression of valence from the probes (valence may be linearly present "
        "without being PC1). Split-half cos: each emotion's probes rebuilt from two disjoint halves of its texts, "
        "compared; low values mean the probes are dominated by sampling noise and need more texts per emotion.",
        "note",
    )
    return html.section("Summary", [html.table(headers, body, set(range(2, 13))), note], "summary")


def layer_section(layer_rows: list[dict], directory: Path) -> str:
    files = plots.layer_curve(layer_rows, directory)
    return html.section(
        "Layer curve",
        [html.figure(files, "held-out accuracy by layer", "Held-out top-1 and top-5 and the valence/arousal r.")],
        "layers",
    )


def map_section(lake, model, source, layer, where, directory) -> str:
    items = data.rows(lake, "probe_map", model, "source = ? and kind = 'expression' and layer = ?", [source, layer])
    if not items:
        return ""
    files = plots.emotion_map(items, f"Emotion probes on PC1/PC2 ({where})", directory)
    clusters: dict[int, list[str]] = {}
    for r in sorted(items, key=lambda r: -r["pc1"]):
        clusters.setdefault(r["cluster"], []).append(r["emotion"])
    body = [[c, len(m), ", ".join(m)] for c, m in sorted(clusters.items())]
    return html.section(
        "Emotion map and clusters",
        [
            html.figure(
                files,
                "emotion map",
                f"Each probe on the first two principal components, coloured by valence ({where}).",
            ),
            html.paragraph(f"k-means clusters of the unit probes (members ordered by PC1), {where}:"),
            html.table(["cluster", "size", "members"], body, {0, 1}),
        ],
        "map",
    )


def similarity_section(lake, model, source, layer, where, directory) -> str:
    emotions, matrix = data.cosine_block(lake, model, source, "expression", layer)
    if not emotions:
        return ""
    items = data.rows(lake, "probe_map", model, "source = ? and kind = 'expression' and layer = ?", [source, layer])
    order_key = {r["emotion"]: (r["cluster"], -r["pc1"]) for r in items}
    order = sorted(range(len(emotions)), key=lambda i: order_key.get(emotions[i], (0, 0.0)))
    clusters = [order_key.get(emotions[i], (0, 0.0))[0] for i in order]
    boundaries = [i for i in range(1, len(order)) if clusters[i] != clusters[i - 1]]
    title = f"Probe cosine similarity ({where})"
    files = plots.similarity_matrix(
        [emotions[i] for i in order], matrix[np.ix_(order, order)], title, directory, boundaries
    )
    caption = "Cosine of every pair of probes, ordered by k-means cluster (lines) and then by PC1."
    return html.section("Similarity matrix", [html.figure(files, "similarity matrix", caption)], "similarity")


def dose_section(lake, model, source, layer, where, directory) -> str:
    items = data.rows(lake, "dose_curve", model, "source = ? and kind = 'expression'", [source])
    if not items:
        return html.section("Dose curve", [html.paragraph("Not computed (model checks were off).", "note")], "dose")
    files = plots.dose_curve([r for r in items if r["layer"] == layer], where, directory)
    by_layer = plots.dose_by_layer(items, directory)
    caption = (
        "One user message with a quantity rising from harmless to dangerous, each probe's score as the change from "
        "the first dose. Solid: mean over the tokens from the quantity on; dashed: the prompt's last token, where "
        "the assistant is about to answer."
    )
    caption_layers = "Spearman rho of each probe's score with the dose's rank, at every layer (1: rises steadily)."
    return html.section(
        "Dose curve",
        [html.figure(files, "dose curve", caption), html.figure(by_layer, "dose response by layer", caption_layers)],
        "dose",
    )


def scenario_section(lake, model, source, layer, where, directory) -> str:
    items = data.rows(
        lake, "scenario_scores", model, "source = ? and kind = 'expression' and layer = ?", [source, layer]
    )
    if not items:
        return ""
    scenarios = list(dict.fromkeys(r["scenario"] for r in items))
    targets = [next(r["target"] for r in items if r["scenario"] == s) for s in scenarios]
    z = np.zeros((len(scenarios), len(targets)))
    ranks = []
    for i, scenario in enumerate(scenarios):
        scores = {r["emotion"]: r for r in items if r["scenario"] == scenario}
        values = np.array([r["score"] for r in scores.values()])
        spread = values.std() or 1.0
        z[i] = [(scores[t]["score"] - values.mean()) / spread for t in targets]
        ranks.append([scenario, targets[i], scores[targets[i]]["rank"], len(values)])
    contrast = float(np.mean(np.diag(z)) - np.mean(z[~np.eye(len(z), dtype=bool)])) if len(z) > 1 else None
    files = plots.scenario_matrix(scenarios, targets, z, f"Implicit scenarios ({where})", directory)
    return html.section(
        "Implicit scenarios",
        [
            html.figure(
                files,
                "scenario matrix",
                "Each scenario's mean token score on each target's probe, z-scored over all emotions.",
            ),
            html.paragraph(
                f"Diagonal strength: mean target z-score {html.fmt(float(np.mean(np.diag(z))), 2)} "
                f"(`scenario_diagonal` in `evaluation_layers`); diagonal minus off-diagonal mean in this matrix "
                f"{html.fmt(contrast, 2)}."
            ),
            html.table(["scenario", "target", "target's rank", "of"], ranks, {2, 3}),
        ],
        "scenarios",
    )


def lens_section(lake, model, source, layer, where) -> str:
    items = data.rows(lake, "logit_lens", model, "source = ? and kind = 'expression' and layer = ?", [source, layer])
    if not items:
        return ""
    present = list(dict.fromkeys(r["emotion"] for r in items))
    # The scenario targets first: emotions a reader has just seen evoked, then the catalog order.
    preferred = [target for _, target, _ in SCENARIOS if target in present]
    shown = list(dict.fromkeys(preferred + present))[:LENS_SHOWN]
    body = []
    for emotion in shown:
        ends = {
            end: " ".join(repr(r["token"]) for r in items if r["emotion"] == emotion and r["end"] == end)
            for end in ("top", "bottom")
        }
        body.append([emotion, ends["top"], ends["bottom"]])
    note = html.paragraph(
        "Each probe direction through the final norm's gain and the unembedding (model.get_output_embeddings()), "
        "tokens ranked by their logit relative to the same token under the other probes (z-score across probes); "
        f"{where}. The full table is the `logit_lens` view.",
        "note",
    )
    return html.section("Logit lens", [html.table(["emotion", "promoted", "suppressed"], body), note], "lens")


def deflection_section(layer_rows: list[dict], directory: Path) -> str:
    series = [r for r in layer_rows if r["kind"] == "deflection" and r.get("matched_cosine") is not None]
    if not series:
        return html.section(
            "Deflection vs expression",
            [html.paragraph("No deflection probes in the lake: nothing to compare.", "note")],
            "deflection",
        )
    files = plots.deflection_curve(series, directory)
    keys = ("matched_cosine", "raw_matched_cosine", "unmatched_abs_cosine", "norm_kept", "n_pairs")
    body = [
        [r["source"], r["layer"], *(r.get(k) for k in keys)]
        for r in sorted(series, key=lambda r: (r["source"], r["layer"]))
    ]
    headers = ["source", "layer", "matched cosine", "before orthogonalisation", "|unmatched| cosine", "norm kept"]
    headers.append("pairs")
    return html.section(
        "Deflection vs expression",
        [
            html.figure(
                files, "deflection vs expression", "Cosine of the deflection and expression probes of the same emotion."
            ),
            html.table(headers, body, {1, 2, 3, 4, 5, 6}),
        ],
        "deflection",
    )
