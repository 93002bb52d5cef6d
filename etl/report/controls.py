"""The report's "Outside its own data" section: each probe kind scored on held-out stories, short texts and
instructions at the default probe set's layer, beside the lexical baseline and the shuffled-label null."""

from __future__ import annotations

from etl.lake import Lake
from etl.report import data, html


def span(row: dict, name: str = "top1") -> str:
    return f"{html.fmt(row[name + '_low'])}-{html.fmt(row[name + '_high'])}"


def controls_section(lake: Lake, model: str, layer_rows: list[dict]) -> str:
    from etl.probes.policy import default_set

    source = "reference"
    if not any(r["source"] == source and r.get("story_top1") is not None for r in layer_rows):
        return ""
    kind, layer = default_set(lake, model, source)
    cross = data.rows(lake, "cross_domain", model, "source = ? and layer = ?", [source, layer])
    lexical = data.rows(lake, "lexical_baseline", model, "source = ?", [source])
    headers = ["probes / method", "tested on", "top-1", "95% interval", "top-5", "shuffled-label null"]
    headers += ["chance", "texts"]
    body = [
        [r["kind"], r["test_domain"], r["top1"], span(r), r["top5"], r["null_top1"], r["chance_top1"], r["n_test"]]
        for r in sorted(cross, key=lambda r: (r["test_domain"], r["kind"]))
    ]
    body += [
        [r["method"], r["test_domain"], r["top1"], span(r), r["top5"], None, r["chance_top1"], r["n_test"]]
        for r in sorted(lexical, key=lambda r: (r["test_domain"], r["method"]))
    ]
    default = next((r for r in layer_rows if r["source"] == source and r["kind"] == kind and r["layer"] == layer), {})
    note = html.paragraph(
        f"Default probe set (what nearest, classify, score and validate use): {kind} probes at layer {layer}, chosen "
        "as the evaluated set with the best mean held-out top-1 on stories and short texts. Every text is scored by "
        "probes and a centre rebuilt without its fold (stories: topic; short texts: register; instructions: "
        "template). The lexical baseline is a TF-IDF nearest-centroid classifier on the same folds; the null "
        "rebuilds the probes with shuffled labels. PC1 vs valence of the default set: r = "
        f"{html.fmt(default.get('pc1_valence_r'), 2)} (95% interval {html.fmt(default.get('pc1_valence_low'), 2)}-"
        f"{html.fmt(default.get('pc1_valence_high'), 2)}, permutation p {html.fmt(default.get('pc1_valence_p'), 4)}).",
        "note",
    )
    parts = [html.table(headers, body, {2, 4, 5, 6, 7}), note]
    parts += learning_parts(lake, model, source, layer) + validation_parts(lake, model, source)
    return html.section("Outside its own data", parts, "controls")


def learning_parts(lake: Lake, model: str, source: str, layer: int) -> list[str]:
    """Held-out top-1 and PC1-vs-valence r by texts per emotion, at the default set's layer."""
    rows = data.rows(lake, "learning_curve", model, "source = ? and layer = ?", [source, layer])
    if not rows:
        return []
    body = [[r["kind"], r["texts_per_emotion"], r["top1"], r["pc1_valence_r"], r["n_texts"]] for r in rows]
    headers = ["probes built on", "texts per emotion", "held-out top-1", "PC1 vs valence r", "texts"]
    caption = html.paragraph(
        f"Learning curve at layer {layer}: a curve still rising at the right means more texts per emotion would pay.",
        "note",
    )
    return [html.table(headers, body, {1, 2, 3, 4}), caption]


def validation_parts(lake: Lake, model: str, source: str) -> list[str]:
    """Every `emolake validate` run on the lake: the probes on labelled texts users brought."""
    if not lake.has("validation_runs"):
        return []
    rows = data.rows(lake, "validation_runs", model, "source = ?", [source])
    headers = ["file", "kind", "layer", "texts", "chance", "accuracy", "macro-F1", "macro-F1 95% interval"]
    body = [
        [
            r["input"],
            r["kind"],
            r["layer"],
            r["n_texts"],
            r["chance"],
            r["accuracy"],
            r["macro_f1"],
            span(r, "macro_f1"),
        ]
        for r in rows
    ]
    caption = html.paragraph(
        "Labelled texts users brought (`emolake validate`), scored among their own labels.", "note"
    )
    return [html.table(headers, body, {2, 3, 4, 5, 6}), caption]
