"""The closing summary of `make all`: what was written where, row counts, stage timings, what to try next."""

from __future__ import annotations

from etl.lake import Lake, views

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


def render(lake: Lake) -> str:
    catalog = views.connect(lake)
    lines = [f"emolake: lake at {lake.root.resolve()}", ""]
    for view, sql in COUNTS.items():
        if view in catalog.views:
            for what, n in catalog.con.execute(sql).fetchall():
                lines.append(f"  {what:<44} {n:>8} rows   ({lake.dataset(view)})")
    if "best_layers" in catalog.views:
        lines.append("")
        for model, source, kind, layer, top1, top5, chance, valence, decoded, stability in catalog.con.execute(
            "select model, source, kind, layer, top1, top5, chance_top1, pc1_valence_r, valence_decoded_r, "
            "split_half_cos "
            "from best_layers order by model, source <> 'reference', source, kind <> 'expression', kind"
        ).fetchall():
            lines.append(
                f"  best {kind} layer {model}/{source}: {layer}  held-out top-1 {fmt(top1)} (chance {fmt(chance)}), "
                f"top-5 {fmt(top5)}, valence r {fmt(valence, 2)} (PC1) / {fmt(decoded, 2)} (decoded), "
                f"split-half cos {fmt(stability, 2)}"
            )
    if "runs" in catalog.views:
        lines.append("")
        timings = catalog.con.execute(
            "select stage, round(sum(seconds), 1) from runs group by stage order by min(started_at)"
        ).fetchall()
        lines.append("  stage time (s): " + ", ".join(f"{stage} {seconds}" for stage, seconds in timings))
    lines += [
        "",
        "Try next:",
        '  .venv/bin/emolake nearest "She checked the lock three times and still could not sleep."',
        '  .venv/bin/emolake sql "select * from best_layers"',
        "  .venv/bin/emolake sql --list",
    ]
    return "\n".join(lines)
