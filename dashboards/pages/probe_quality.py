"""Probe quality: held-out accuracy and valence/arousal r by layer, the probes' cosine matrix, the logit lens."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, dash_table, dcc, html

from dashboards.components import (
    GRAPH_CONFIG,
    card,
    cell_style,
    empty_state,
    page_header,
    parse_probe_value,
    probe_controls,
    probe_state,
    register_probe_controls,
)
from dashboards.context import AppContext
from dashboards.permalink import encode, parse
from etl import catalog

PATH = "/quality"
TITLE = "Probe quality"
PREFIX = "pq"
TABLE_ROWS = 500
LOGIT_VIEWS = ("logit_lens", "evaluation_logit_lens")


def layout(ctx: AppContext, query: str = ""):
    header = page_header(TITLE, "Which layer separates the emotions best, and how the probes relate to each other.")
    if not ctx.models_sources():
        return html.Div([header, empty_state("The lake has no probes yet.", ctx.reader.target("probes"))])
    return html.Div(
        [
            dcc.Location(id="pq-url", refresh=False),
            header,
            probe_controls(ctx, PREFIX, state=parse(query)),
            card(
                "Layer curves",
                html.Div(id="pq-curves"),
                subtitle="Held-out top-1/top-5 over all emotions (topics held out); right: r of PC1/PC2 of the "
                "probes with human valence/arousal ratings, valence decoded from the probes by ridge regression, "
                "and the split-half cosine (how little the probes depend on which texts they saw).",
            ),
            card(
                "Outside its own data",
                html.Div(id="pq-transfer"),
                subtitle="Each probe kind at the chosen layer scoring held-out stories, short texts and instructions "
                "(probes and centre rebuilt without the text's fold), with a bootstrap 95% interval and the "
                "shuffled-label null; below, the TF-IDF nearest-centroid baseline on the same folds, the learning "
                "curve (held-out top-1 by texts per emotion) and the `emolake validate` runs on users' labelled texts.",
            ),
            card(
                "Cosine matrix",
                dcc.Graph(id="pq-cosines", config=GRAPH_CONFIG),
                subtitle="Cosine between the unit probes of the chosen layer, ordered by emotion group.",
            ),
            card(
                "Logit lens",
                html.Div(id="pq-logit"),
                subtitle="The tokens each probe promotes (top) and suppresses (bottom) through the unembedding.",
            ),
        ]
    )


CURVES = (
    ("top1", 1, "solid", "circle"),
    ("top5", 1, "dash", "square"),
    ("pc1_valence_r", 2, "solid", "circle"),
    ("pc2_arousal_r", 2, "dot", "triangle-up"),
    ("valence_decoded_r", 2, "dashdot", "diamond"),
    ("split_half_cos", 2, "longdash", "x"),
)
"""(evaluation_layers column, subplot, line dash, marker) of the layer curves: accuracy left; norms (PC1/PC2 r,
ridge-decoded valence r) and split-half stability right."""


SOURCE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
"""One colour per text source; the line style tells the columns apart."""


def curves(ctx: AppContext, model: str, kind: str, layer: int | None):
    """The layer-curve figure for every source of a model, or an empty state naming `make evaluate`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not ctx.reader.has("evaluation_layers"):
        return empty_state("No evaluation yet.", ctx.reader.target("evaluation_layers"))
    rows = ctx.reader.rows(
        "select source, layer, top1, top5, chance_top1, pc1_valence_r, pc2_arousal_r, valence_decoded_r, "
        "split_half_cos "
        "from evaluation_layers "
        "where model = ? and kind = ? order by source, layer",
        [model, kind],
    )
    if not rows:
        return empty_state(f"No evaluation of {kind} probes for {model}.", ctx.reader.target("evaluation_layers"))
    figure = make_subplots(rows=1, cols=2, subplot_titles=("held-out accuracy", "human norms and stability"))
    sources = sorted({r["source"] for r in rows})
    for index, source in enumerate(sources):
        mine = [r for r in rows if r["source"] == source]
        colour = SOURCE_COLOURS[index % len(SOURCE_COLOURS)]
        layers = [r["layer"] for r in mine]
        for column, col, dash, symbol in CURVES:
            figure.add_trace(
                go.Scatter(
                    x=layers,
                    y=[r[column] for r in mine],
                    name=f"{source} {column}",
                    mode="lines+markers",
                    line={"dash": dash, "color": colour},
                    marker={"symbol": symbol},
                    showlegend=False,
                    hovertemplate=f"{source} · {column}<br>layer %{{x}}: %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    for trace in legend_keys(go, sources):
        figure.add_trace(trace, row=1, col=1)
    chance = rows[0]["chance_top1"]
    figure.add_hline(y=chance, line_dash="dot", line_color="grey", annotation_text="chance top-1", row=1, col=1)
    if layer is not None:
        figure.add_vline(x=layer, line_color="#999", line_width=1)
    figure.update_layout(
        template="plotly_white",
        height=420,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2, "groupclick": "toggleitem"},
    )
    figure.update_xaxes(title_text="layer")
    return dcc.Graph(figure=figure, config=GRAPH_CONFIG, id="pq-curves-graph")


def legend_keys(go, sources: list[str]) -> list:
    """A two-part legend instead of one entry per (source, column): line styles name the columns (in grey),
    colours name the sources. The keys carry no data."""
    keys = [
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines+markers",
            name=column,
            legendgroup="curve",
            legendgrouptitle_text="curve",
            line={"dash": dash, "color": "#666"},
            marker={"symbol": symbol},
            hoverinfo="skip",
        )
        for column, _, dash, symbol in CURVES
    ]
    keys += [
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=source,
            legendgroup="source",
            legendgrouptitle_text="source",
            line={"color": SOURCE_COLOURS[index % len(SOURCE_COLOURS)], "width": 4},
            hoverinfo="skip",
        )
        for index, source in enumerate(sources)
    ]
    return keys


def group_ticks(emotions: list[str]) -> tuple[list[float], list[str], list[float]]:
    """(tick positions at each group's middle, group names, boundaries between groups) of emotions in group order."""
    group_of = catalog.group_of()
    groups = [group_of.get(e, "other") for e in emotions]
    starts = [i for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1]]
    ends = [*starts[1:], len(groups)]
    middles = [(a + b - 1) / 2 for a, b in zip(starts, ends, strict=True)]
    return middles, [groups[a] for a in starts], [a - 0.5 for a in starts[1:]]


def cosine_matrix(ctx: AppContext, model: str, source: str, kind: str, layer: int) -> tuple[list[str], np.ndarray, str]:
    """(emotions in group order, cosine matrix, where it came from): the evaluation_cosines view, else the probes."""
    keys = [model, source, kind, layer]
    order = {e: i for i, e in enumerate(e for words in catalog.groups().values() for e in words)}
    pairs = []
    if ctx.reader.has("evaluation_cosines"):
        pairs = ctx.reader.rows(
            "select emotion_a, emotion_b, cosine from evaluation_cosines "
            "where model = ? and source = ? and kind = ? and layer = ?",
            keys,
        )
    if pairs:
        emotions = sorted(
            {p["emotion_a"] for p in pairs} | {p["emotion_b"] for p in pairs},
            key=lambda e: (order.get(e, len(order)), e),
        )
        index = {e: i for i, e in enumerate(emotions)}
        matrix = np.eye(len(emotions), dtype=np.float32)
        for p in pairs:
            a, b = index[p["emotion_a"]], index[p["emotion_b"]]
            matrix[a, b] = matrix[b, a] = p["cosine"]
        return emotions, matrix, "from the evaluation_cosines view"
    rows = ctx.reader.rows(
        "select emotion, vector from probes where model = ? and source = ? and kind = ? and layer = ?", keys
    )
    rows.sort(key=lambda r: (order.get(r["emotion"], len(order)), r["emotion"]))
    vectors = np.array([r["vector"] for r in rows], dtype=np.float32).reshape(len(rows), -1)
    return [r["emotion"] for r in rows], vectors @ vectors.T, "computed from the unit probes"


def cosine_figure(ctx: AppContext, model: str, source: str, kind: str, layer: int):
    import plotly.graph_objects as go

    emotions, cosines, where = cosine_matrix(ctx, model, source, kind, layer)
    names = np.array(emotions, dtype=object)
    figure = go.Figure(
        go.Heatmap(
            z=cosines,
            customdata=np.stack(np.broadcast_arrays(names[:, None], names[None, :]), axis=-1),
            colorscale="RdBu_r",
            zmin=-1,
            zmax=1,
            zmid=0,
            hovertemplate="%{customdata[0]} · %{customdata[1]}: %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12},
        )
    )
    # Every emotion's name fits only on small sets; large ones are labelled by group, with a line between groups.
    middles, groups, boundaries = group_ticks(emotions)
    each = len(emotions) <= 60
    ticks = (
        {"tickvals": list(range(len(emotions))), "ticktext": emotions}
        if each
        else {"tickvals": middles, "ticktext": groups}
    )
    for edge in boundaries:
        for axis in ("x", "y"):
            line = (
                {"x0": edge, "x1": edge, "y0": -0.5, "y1": len(emotions) - 0.5}
                if axis == "x"
                else {"y0": edge, "y1": edge, "x0": -0.5, "x1": len(emotions) - 0.5}
            )
            figure.add_shape(type="line", line={"color": "#333", "width": 0.6}, **line)
    figure.update_layout(
        template="plotly_white",
        height=min(900, max(450, 12 * len(emotions) + 140)),
        margin={"l": 110, "r": 10, "t": 30, "b": 110},
        title={"text": f"{len(emotions)} probes, layer {layer}, {where}", "font": {"size": 12}},
        yaxis={"autorange": "reversed", "tickfont": {"size": 10}, "showgrid": False, **ticks},
        xaxis={"tickangle": -60, "tickfont": {"size": 10}, "showgrid": False, **ticks},
    )
    return figure


def view_table(ctx: AppContext, view: str, filters: dict, table_id: str):
    """A DataTable of a view's rows matching whichever of `filters` the view has as columns."""
    columns = [name for name, _ in ctx.reader.columns(view)]
    usable = {k: v for k, v in filters.items() if k in columns and v is not None}
    where = " and ".join(f'"{k}" = ?' for k in usable) or "true"
    rows = ctx.reader.rows(f'select * from "{view}" where {where} limit {TABLE_ROWS}', list(usable.values()))
    rows = [{k: cell(v) for k, v in r.items() if k not in usable} for r in rows]  # filtered columns are constant
    if not rows:
        return html.P(f"`{view}` has no rows for {usable}.", className="muted")
    return dash_table.DataTable(
        id=table_id,
        data=rows,
        columns=[{"name": c, "id": c} for c in rows[0]],
        page_size=15,
        sort_action="native",
        filter_action="native",
        style_table={"overflowX": "auto", "maxWidth": "100%"},
        style_cell=cell_style(max_width=320),
        tooltip_duration=None,
    )


def cell(value):
    """A table cell: floats rounded, lists (e.g. the logit lens's tokens) joined into one short line."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        shown = [f"{v:.2f}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v) for v in value[:12]]
        return " ".join(shown) + (" …" if len(value) > 12 else "")
    return value


def logit_lens(ctx: AppContext, filters: dict):
    """The first logit-lens view that has data (the wide mart before its long staging table), or an empty state."""
    for view in LOGIT_VIEWS:
        if ctx.reader.has(view):
            return view_table(ctx, view, filters, "pq-logit-table")
    return empty_state("No logit-lens table yet.", ctx.reader.target(LOGIT_VIEWS[0]), "pq-logit-empty")


def transfer(ctx: AppContext, filters: dict):
    """The cross-domain table of the chosen layer (every kind) and the lexical baseline, or an empty state."""
    if not ctx.reader.has("cross_domain"):
        return empty_state("No cross-domain evaluation yet.", ctx.reader.target("cross_domain"), "pq-transfer-empty")
    layer_filters = {k: v for k, v in filters.items() if k != "kind"}
    parts = [view_table(ctx, "cross_domain", layer_filters, "pq-transfer-table")]
    for view in ("lexical_baseline", "learning_curve", "validation_runs", "validation_classes", "validation_families"):
        if ctx.reader.has(view):
            parts += [html.H4(view.replace("_", " ")), view_table(ctx, view, layer_filters, f"pq-{view}-table")]
    return html.Div(parts)


def register(app, ctx: AppContext) -> None:
    register_probe_controls(app, ctx, PREFIX)

    @app.callback(
        Output("pq-curves", "children"),
        Output("pq-cosines", "figure"),
        Output("pq-logit", "children"),
        Output("pq-transfer", "children"),
        Output("pq-url", "search"),
        Input("pq-probeset", "value"),
        Input("pq-kind", "value"),
        Input("pq-layer", "value"),
    )
    def update(value, kind, layer):
        model, source = parse_probe_value(value)
        filters = {"model": model, "source": source, "kind": kind, "layer": layer}
        figure = cosine_figure(ctx, model, source, kind, layer) if layer is not None else {}
        url = "?" + encode(probe_state(value, kind, layer))
        return curves(ctx, model, kind, layer), figure, logit_lens(ctx, filters), transfer(ctx, filters), url
