"""The closing summary of `make all`: what was written where, row counts, stage timings, what to try next."""

from __future__ import annotations

from etl.config.base import STAGES
from etl.lake import Lake, views
from etl.probes.policy import MIN_HELD_OUT_PER_EMOTION

COUNTS = {
    "texts": "select corpus || ' (' || source || ')' as what, count(*) as n from texts group by all order by 1",
    "activations": "select 'vectors of ' || model as what, count(*) as n from activations group by all",
    "probes": (
        "select kind || ' probes (' || source || ')' as what, count(*) as n from probes group by kind, source "
        "order by source <> 'reference', source, kind <> 'expression', kind"
    ),
}


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def interval(row: dict, name: str, digits: int = 3) -> str:
    """`name` with its interval columns (`top1_low`, or `pc1_valence_low` for `pc1_valence_r`)."""
    base = name.removesuffix("_r")
    low, high = fmt(row.get(base + "_low"), digits), fmt(row.get(base + "_high"), digits)
    return f"{fmt(row.get(name), digits)} [{low}, {high}]"


def default_set_lines(lake: Lake, catalog) -> list[str]:
    """The default probe set of each model (reference source) with its figures beside their baselines and nulls."""
    from etl.probes.policy import default_set

    lines = []
    models = [m for (m,) in catalog.con.execute("select distinct model from evaluation_layers order by 1").fetchall()]
    for model in models:
        kind, layer = default_set(lake, model, "reference")
        found = catalog.con.sql(
            "select * from evaluation_layers where model = ? and source = 'reference' and kind = ? and layer = ?",
            params=[model, kind, layer],
        ).to_arrow_table()
        found = found.to_pylist()
        if not found:
            continue
        row = found[0]
        lexical = {}
        if "lexical_baseline" in catalog.views:
            lexical = {
                (d, m): t
                for d, m, t in catalog.con.execute(
                    "select test_domain, method, top1 from lexical_baseline where model = ? and source = 'reference'",
                    [model],
                ).fetchall()
            }
        lex = {key: fmt(value) for key, value in lexical.items()}
        valence_p = fmt(row.get("pc1_valence_p"), 4)
        lines += [
            "",
            f"  default probe set of {model} (nearest, classify, score, validate): reference {kind}, layer {layer}",
            "    (the evaluated set with the best mean held-out top-1 on stories and short texts; docs/evaluation.md)",
            f"    stories      held-out top-1 {interval(row, 'story_top1')}"
            f"  lexical {lex.get(('story', 'tfidf_in_domain'))}"
            f"  null {fmt(row.get('story_null_top1'))}  chance {fmt(row.get('chance_top1'))}",
            f"    short texts  held-out top-1 {interval(row, 'short_top1')}, top-5 {fmt(row.get('short_top5'))}"
            f"  lexical {lex.get(('short', 'tfidf_in_domain'))} (in-domain), "
            f"{lex.get(('short', 'tfidf_from_stories'))} (from stories)  null {fmt(row.get('short_null_top1'))}",
            *nested_lines(catalog, model),
            *learning_lines(catalog, model, layer),
            f"    geometry     PC1 vs valence r {interval(row, 'pc1_valence_r', 2)} (permutation p {valence_p}),"
            f" PC2 vs arousal r {interval(row, 'pc2_arousal_r', 2)}",
        ]
    return lines


def nested_lines(catalog, model: str) -> list[str]:
    """The nested held-out figures (the set chosen inside each outer fold, `nested_selection`), when evaluated."""
    if "nested_selection" not in catalog.views:
        return []
    found = catalog.con.sql(
        "select * from nested_selection where model = ? and source = 'reference' order by test_domain desc",
        params=[model],
    ).to_arrow_table()
    rows = {r["test_domain"]: r for r in found.to_pylist()}
    if not rows:
        return []
    named = {"story": "stories", "short": "short texts"}
    figures = ", ".join(f"{named[d]} {interval(rows[d], 'top1')}" for d in ("story", "short") if d in rows)
    first = next(iter(rows.values()))
    picks = sorted({c.split(":", 1)[1] for r in rows.values() for c in (r["choices"] or "").split(", ") if c})
    return [
        f"    nested       held-out top-1 {figures}",
        f"                 (chosen again in each outer fold among {first['n_candidates']} sets, from its training"
        f" folds only: {', '.join(picks)})",
    ]


def learning_lines(catalog, model: str, layer: int) -> list[str]:
    """The learning curve at the default set's layer (`learning_curve`): held-out top-1 of the single-domain probes
    built from k texts per emotion, for stories and short texts; does the figure still rise with more texts?"""
    if "learning_curve" not in catalog.views:
        return []
    found = catalog.con.execute(
        "select kind, texts_per_emotion, top1 from learning_curve where model = ? and source = 'reference'"
        " and layer = ? and kind in ('short', 'expression') order by kind desc, texts_per_emotion",
        [model, layer],
    ).fetchall()
    curves: dict[str, list[tuple[int, float]]] = {}
    for kind, k, top1 in found:
        curves.setdefault(kind, []).append((k, top1))
    named = {"short": "short texts", "expression": "stories"}
    parts = [
        f"{named[kind]} {' / '.join(fmt(t) for _, t in points)} at {' / '.join(str(k) for k, _ in points)}"
        for kind, points in curves.items()
    ]
    if not parts:
        return []
    return [f"    learning     held-out top-1 by texts per emotion (layer {layer}): {'; '.join(parts)}"]


def render(lake: Lake) -> str:
    catalog = views.connect(lake)
    lines = [f"emolake: lake at {lake.root.resolve()}", ""]
    for view, sql in COUNTS.items():
        if view in catalog.views:
            for what, n in catalog.con.execute(sql).fetchall():
                lines.append(f"  {what:<44} {n:>8} rows   ({lake.dataset(view)})")
    if "best_layers" in catalog.views:
        lines.append("")
        for (
            model,
            source,
            kind,
            layer,
            top1,
            top5,
            chance,
            valence,
            decoded,
            stability,
            bad,
            per,
        ) in catalog.con.execute(
            "select model, source, kind, layer, top1, top5, chance_top1, pc1_valence_r, valence_decoded_r, "
            "split_half_cos, degenerate, held_out_per_emotion "
            "from best_layers order by model, source <> 'reference', source, kind <> 'expression', kind"
        ).fetchall():
            if bad:
                lines.append(
                    f"  best {kind} layer {model}/{source}: none (degenerate: {fmt(per, 1)} held-out texts per "
                    f"emotion; a held-out figure needs {MIN_HELD_OUT_PER_EMOTION})"
                )
                continue
            lines.append(
                f"  best {kind} layer {model}/{source}: {layer}  held-out top-1 {fmt(top1)} (chance {fmt(chance)}), "
                f"top-5 {fmt(top5)}, valence r {fmt(valence, 2)} (PC1) / {fmt(decoded, 2)} (decoded), "
                f"split-half cos {fmt(stability, 2)}"
            )
    if "evaluation_layers" in catalog.views:
        lines += default_set_lines(lake, catalog)
    if "runs" in catalog.views:
        lines.append("")
        # Pipeline order, not start time: runs start within the same second on a small lake (a tie).
        timings = catalog.con.execute(
            "select stage, round(arg_max(seconds, started_at), 1) from runs group by stage "
            "order by coalesce(list_position(?, stage), 99), stage",
            [list(STAGES)],
        ).fetchall()
        shown = ", ".join(f"{stage} {seconds}" for stage, seconds in timings)
        lines.append(f"  stage time (s), each stage's latest run: {shown}")
    lines += [
        "",
        "Try next:",
        '  .venv/bin/emolake nearest "She checked the lock three times and still could not sleep."',
        '  .venv/bin/emolake sql "select * from best_layers"',
        "  .venv/bin/emolake sql --list",
    ]
    return "\n".join(lines)
