"""Compare: the probed models of the lake side by side (`make compare` puts Gemma 3 270M beside SmolLM2).

Layer curves on one axis of relative depth ((layer + 1) / layers, so a 30-layer and an 18-layer model line up),
each model's best layer with its figures, and how much the two agree: Spearman r between their probe cosine
matrices and between their valence axes (the `model_comparison` view). State lives in the URL
(`?source=&kind=&metric=`).
"""

from __future__ import annotations

from dash import Input, Output, dash_table, dcc, html

from dashboards.components import GRAPH_CONFIG, card, cell_style, empty_state, labelled, page_header
from dashboards.context import AppContext
from dashboards.permalink import encode, parse

PATH = "/compare"
TITLE = "Compare"
PREFIX = "cmp"
METRICS = {
    "top1": "held-out top-1 (stories)",
    "short_top1": "held-out top-1 (short texts)",
    "pc1_valence_r": "PC1 vs valence r",
}
WEAK_VALENCE_R = 0.2
"""Below this |r| with the valence norms, a PC1's orientation says little."""
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")
TABLE_COLUMNS = (
    ("model", "model"),
    ("best_layer", "best layer"),
    ("n_layers", "layers"),
    ("relative_depth", "depth"),
    ("top1", "top-1"),
    ("top1_interval", "95% interval"),
    ("null_top1", "null"),
    ("short_top1", "short top-1"),
    ("pc1_valence_r", "PC1-valence r"),
    ("other_model", "vs model"),
    ("shared_emotions", "emotions"),
    ("cosine_spearman", "cosine-matrix ρ"),
    ("valence_spearman", "valence-axis ρ"),
)


def layout(ctx: AppContext, query: str = ""):
    header = page_header(
        TITLE,
        "The lake's models side by side: layer curves by relative depth, and how much their emotion spaces agree.",
    )
    if not ctx.reader.has("model_comparison"):
        return html.Div([header, empty_state("The lake has no model comparison yet.", "make compare")])
    state = parse(query)
    options = ctx.reader.rows("select distinct source, kind from model_comparison order by source, kind")
    sources = sorted({o["source"] for o in options})
    source = state.get("source") if state.get("source") in sources else initial_source(ctx, sources)
    kinds = sorted({o["kind"] for o in options if o["source"] == source}, key=lambda k: (k != "expression", k))
    kind = state.get("kind") if state.get("kind") in kinds else kinds[0]
    metric = state.get("metric") if state.get("metric") in METRICS else "top1"
    return html.Div(
        [
            dcc.Location(id="cmp-url", refresh=False),
            header,
            html.Div(
                [
                    labelled("Source", dcc.Dropdown(id="cmp-source", options=sources, value=source, clearable=False)),
                    labelled(
                        "Mode",
                        dcc.RadioItems(id="cmp-kind", options=kinds, value=kind, inline=True, className="radio-inline"),
                    ),
                    labelled(
                        "Curve",
                        dcc.RadioItems(
                            id="cmp-metric",
                            options=[{"label": label, "value": key} for key, label in METRICS.items()],
                            value=metric,
                            inline=True,
                            className="radio-inline",
                        ),
                    ),
                ],
                className="controls-row",
            ),
            card("Agreement", html.Div(id="cmp-agreement")),
            card(
                "Layer curves by relative depth",
                dcc.Graph(id="cmp-curves", config=GRAPH_CONFIG),
                subtitle="Relative depth = (layer + 1) / layers; the shaded band is the 95% interval of held-out "
                "top-1; a ring marks each model's best layer.",
            ),
            card("Best layer of each model", html.Div(id="cmp-table", className="table-scroll")),
        ]
    )


def initial_source(ctx: AppContext, sources: list[str]) -> str:
    """The source the page opens on: the preferred one (`reference`), else the first whose probe sets are not all
    degenerate in `best_layers` (too few held-out texts per emotion: its curves are empty), else the first."""
    degenerate = set()
    if ctx.reader.has("best_layers"):
        rows = ctx.reader.rows("select source from best_layers group by source having bool_and(degenerate)")
        degenerate = {r["source"] for r in rows}
    usable = [s for s in sorted(sources, key=lambda s: (s != ctx.source, s)) if s not in degenerate]
    return usable[0] if usable else sources[0]


def comparison_rows(ctx: AppContext, source: str, kind: str) -> list[dict]:
    return ctx.reader.rows(
        "select * from model_comparison where source = ? and kind = ? order by model, other_model", [source, kind]
    )


def agreement(rows: list[dict]) -> html.Div:
    """One line per model pair: the two Spearman r values, each pair once."""
    seen, lines = set(), []
    pc1 = {r["model"]: r["pc1_valence_r"] for r in rows}
    for r in rows:
        if not r["other_model"] or frozenset((r["model"], r["other_model"])) in seen:
            continue
        seen.add(frozenset((r["model"], r["other_model"])))
        lines.append(
            html.Li(
                [
                    html.Strong(f"{r['model']} vs {r['other_model']}"),
                    f" over {r['shared_emotions']} emotions: cosine matrices ρ = ",
                    html.Span(fmt(r["cosine_spearman"]), className="num agreement-cosine"),
                    ", valence axes ρ = ",
                    html.Span(fmt(r["valence_spearman"]), className="num agreement-valence"),
                    weak_axis_note(pc1, (r["model"], r["other_model"])),
                ]
            )
        )
    if not lines:
        return html.P("Only one model has been evaluated: run `make compare` for a second.", className="muted")
    return html.Ul(lines, id="cmp-agreement-list")


def weak_axis_note(pc1: dict, models: tuple[str, str]) -> str:
    """Each PC1 is oriented by its correlation with the valence norms; where that is weak, the orientation (and so
    the sign of the valence-axis agreement) is arbitrary: say so."""
    weak = [m for m in models if pc1.get(m) is None or abs(pc1[m]) < WEAK_VALENCE_R]
    if not weak:
        return ""
    return f" (PC1 barely tracks valence in {', '.join(weak)}: |r| < {WEAK_VALENCE_R}, so the sign is arbitrary)"


def fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def curves_figure(ctx: AppContext, source: str, kind: str, metric: str, best: dict[str, int]):
    import plotly.graph_objects as go

    rows = ctx.reader.rows(
        "select model, layer, relative_depth, top1, top1_low, top1_high, short_top1, pc1_valence_r "
        "from model_layer_curves where source = ? and kind = ? order by model, layer",
        [source, kind],
    )
    figure = go.Figure()
    for i, model in enumerate(sorted({r["model"] for r in rows})):
        part = [r for r in rows if r["model"] == model and r[metric] is not None]
        colour_hex = COLOURS[i % len(COLOURS)]
        if metric == "top1" and all(r["top1_low"] is not None for r in part) and part:
            band_x = [r["relative_depth"] for r in part] + [r["relative_depth"] for r in reversed(part)]
            band_y = [r["top1_high"] for r in part] + [r["top1_low"] for r in reversed(part)]
            figure.add_trace(
                go.Scatter(
                    x=band_x,
                    y=band_y,
                    fill="toself",
                    line={"width": 0},
                    opacity=0.15,
                    fillcolor=colour_hex,
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[r["relative_depth"] for r in part],
                y=[r[metric] for r in part],
                mode="lines+markers",
                name=model,
                line={"color": colour_hex},
                customdata=[r["layer"] for r in part],
                hovertemplate=f"{model}<br>layer %{{customdata}} (depth %{{x:.2f}})<br>%{{y:.3f}}<extra></extra>",
            )
        )
        top = [r for r in part if r["layer"] == best.get(model)]
        figure.add_trace(
            go.Scatter(
                x=[r["relative_depth"] for r in top],
                y=[r[metric] for r in top],
                mode="markers",
                marker={"size": 16, "symbol": "circle-open", "color": colour_hex, "line": {"width": 2}},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        template="plotly_white",
        height=420,
        xaxis_title="relative depth",
        yaxis_title=METRICS[metric],
        xaxis={"range": [0, 1.02]},
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.18},
    )
    return figure


def best_table(rows: list[dict]) -> dash_table.DataTable:
    records = []
    for r in rows:
        record = {key: r.get(key) for key, _ in TABLE_COLUMNS if key != "top1_interval"}
        low, high = r.get("top1_low"), r.get("top1_high")
        record["top1_interval"] = f"[{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
        records.append({k: round(v, 3) if isinstance(v, float) else v for k, v in record.items()})
    return dash_table.DataTable(
        id="cmp-best",
        columns=[{"name": label, "id": key} for key, label in TABLE_COLUMNS],
        data=records,
        style_cell=cell_style(max_width=220),
        style_table={"overflowX": "auto"},
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(
        Output("cmp-agreement", "children"),
        Output("cmp-curves", "figure"),
        Output("cmp-table", "children"),
        Output("cmp-url", "search"),
        Input("cmp-source", "value"),
        Input("cmp-kind", "value"),
        Input("cmp-metric", "value"),
    )
    def show(source, kind, metric):
        rows = comparison_rows(ctx, source, kind)
        best = {r["model"]: r["best_layer"] for r in rows}
        url = "?" + encode({"source": source, "kind": kind, "metric": metric})
        return agreement(rows), curves_figure(ctx, source, kind, metric, best), best_table(rows), url
