"""The Steering page's sweep card: judged success against strength per kind, the best setting per emotion
(`steering_best`, with each judge and the own probe beside it) and the controls' rates (`steering_judged`)."""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboards.components import GRAPH_CONFIG, cell_style, empty_state
from dashboards.context import AppContext

BEST_COLUMNS = [
    ("emotion", "emotion"),
    ("kind", "kind"),
    ("strength", "strength"),
    ("n_runs", "runs"),
    ("judged", "judged success [95%]"),
    ("nrc_lexicon_success_rate", "NRC lexicon"),
    ("tfidf_family_success_rate", "TF-IDF family"),
    ("own_probe_success_rate", "own probe"),
    ("surgical_rate", "surgical"),
]


def latest_sweep(ctx: AppContext, model: str) -> str | None:
    """The model's most recent sweep, by the time its runs were written."""
    found = ctx.reader.values(
        "select sweep from steering_runs where model = ? order by created_at desc limit 1", [model]
    )
    return found[0] if found else None


def summary_rows(ctx: AppContext, model: str, sweep: str) -> list[dict]:
    return ctx.reader.rows(
        "select kind, control, layer, emotion, strength, n_runs, judged_success_rate, surgical_rate "
        "from steering_summary where model = ? and sweep = ? order by kind, layer, emotion, strength",
        [model, sweep],
    )


def curve_figure(rows: list[dict]):
    """Judged success (solid) and surgical rate (dotted) against strength, averaged over emotions, per kind."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    figure = go.Figure()
    kinds = sorted({r["kind"] for r in rows})
    for index, kind in enumerate(kinds):
        mine = [r for r in rows if r["kind"] == kind]
        strengths = sorted({r["strength"] for r in mine})
        colour = qualitative.Plotly[index % len(qualitative.Plotly)]
        for metric, dash in (("judged_success_rate", None), ("surgical_rate", "dot")):
            values = [_mean([r[metric] for r in mine if r["strength"] == s]) for s in strengths]
            figure.add_trace(
                go.Scatter(
                    x=strengths,
                    y=values,
                    name=kind if dash is None else f"{kind} surgical",
                    legendgroup=kind,
                    showlegend=dash is None,
                    line={"color": colour, "dash": dash},
                )
            )
    figure.update_layout(
        template="plotly_white",
        height=320,
        margin={"l": 50, "r": 20, "t": 20, "b": 40},
        xaxis={"title": "strength (fraction of residual norm)"},
        yaxis={"title": "share of runs (solid: judged success, dotted: surgical)", "range": [0, 1.05]},
    )
    return figure


def best_table(ctx: AppContext, model: str, sweep: str) -> dash_table.DataTable:
    """The best setting per emotion (the pre-registered rule; never a control)."""
    rows = ctx.reader.rows("select * from steering_best where model = ? and sweep = ? order by emotion", [model, sweep])
    records = []
    for row in rows:
        record = {key: row.get(key) for key, _ in BEST_COLUMNS if key != "judged"}
        low, high = row.get("judged_success_low"), row.get("judged_success_high")
        rate = row.get("judged_success_rate")
        record["judged"] = f"{rate:.2f} [{low:.2f}, {high:.2f}]" if None not in (rate, low, high) else ""
        records.append({k: round(v, 2) if isinstance(v, float) else v for k, v in record.items()})
    return dash_table.DataTable(
        id="st-best",
        columns=[{"name": label, "id": key} for key, label in BEST_COLUMNS],
        data=records,
        style_cell=cell_style(max_width=200),
        style_table={"overflowX": "auto"},
    )


def model_readers(ctx: AppContext, model: str, sweep: str) -> list[str]:
    """The other models whose probes read the sweep (`[steer] readers`), as `steering_judged` names them."""
    return ctx.reader.values(
        "select distinct reader from steering_judged where model = ? and sweep = ? and reader like 'model:%' "
        "order by reader",
        [model, sweep],
    )


def controls_line(ctx: AppContext, model: str, sweep: str, reader: str = "judged") -> str:
    """The success rate of each kind over all its runs by `reader` (default: the judged rate), controls among
    them: what chance agreement gives."""
    rows = ctx.reader.rows(
        "select kind, n_runs, success_rate, success_low, success_high from steering_judged "
        "where model = ? and sweep = ? and scope = 'kind' and reader = ? order by kind",
        [model, sweep, reader],
    )
    head = (
        "Judged success per kind over all its runs: "
        if reader == "judged"
        else f"Read by {reader.removeprefix('model:')}'s probes (another model; not part of judged success), per kind: "
    )
    return head + "; ".join(
        f"{r['kind']} {r['success_rate']:.2f} [{r['success_low']:.2f}, {r['success_high']:.2f}] ({r['n_runs']} runs)"
        for r in rows
        if r["success_rate"] is not None
    )


def section(ctx: AppContext):
    """The card's body: caption, curve, best settings and the controls, or a notice naming `make steer`."""
    if not ctx.reader.has("steering_summary"):
        return empty_state("No steering sweep yet.", ctx.reader.target("steering_runs"), "st-sweep-empty")
    model, _ = ctx.models_sources()[0]
    sweep = latest_sweep(ctx, model)
    rows = summary_rows(ctx, model, sweep) if sweep else []
    if not rows:
        return empty_state(f"No steering sweep for {model} yet.", "make steer", "st-sweep-empty")
    runs = sum(r["n_runs"] for r in rows)
    caption = (
        f"Sweep {sweep!r} of {model}: {runs} paired runs. A judged success is a surgical run where both judges "
        "(the NRC lexicon and the TF-IDF family reader, neither of them the steered model) read the target rise."
    )
    parts = [
        html.P(caption, className="muted", id="st-sweep-caption"),
        dcc.Graph(id="st-sweep", figure=curve_figure(rows), config=GRAPH_CONFIG),
        html.H4("Best setting per emotion"),
    ]
    if ctx.reader.has("steering_best"):
        parts.append(best_table(ctx, model, sweep))
    if ctx.reader.has("steering_judged"):
        parts.append(html.P(controls_line(ctx, model, sweep), className="muted", id="st-controls"))
        parts += [
            html.P(controls_line(ctx, model, sweep, reader), className="muted", id=f"st-reader-{i}")
            for i, reader in enumerate(model_readers(ctx, model, sweep))
        ]
    return html.Div(parts)


def _mean(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
