"""Emotion map: the probes of one layer in two dimensions; click an emotion for its neighbours and stories.

Coordinates come from the `probe_map` view when the evaluation report has filled it; otherwise the first two
principal components of the layer's probes are computed here on read, with valence and arousal from the Warriner
norms and the emotion groups of the catalog as clusters.
"""

from __future__ import annotations

import numpy as np
from dash import Input, Output, dcc, html

from dashboards.components import (
    GRAPH_CONFIG,
    card,
    empty_state,
    labelled,
    page_header,
    parse_probe_value,
    probe_controls,
    probe_state,
    register_probe_controls,
)
from dashboards.context import AppContext
from dashboards.pages.probe import excerpt, highlighted, histogram
from dashboards.permalink import encode, parse
from etl import catalog

PATH = "/map"
TITLE = "Emotion map"
PREFIX = "map"
COLOUR_BY = {"valence": "valence", "arousal": "arousal", "cluster": "cluster"}
NEIGHBOURS = 8
EXAMPLES = 2
LABEL_GAP = 0.07


def layout(ctx: AppContext, query: str = ""):
    header = page_header(TITLE, "The probes of one layer, projected on their first two principal components.")
    if not ctx.models_sources():
        return html.Div([header, empty_state("The lake has no probes yet.", ctx.reader.target("probes"))])
    state = parse(query)
    return html.Div(
        [
            dcc.Location(id="map-url", refresh=False),
            dcc.Store(id="map-emotion", data=state.get("emotion")),
            header,
            html.Div(
                [
                    probe_controls(ctx, PREFIX, state=state),
                    labelled(
                        "Colour by",
                        dcc.RadioItems(
                            id="map-colour",
                            options=list(COLOUR_BY),
                            value=state.get("colour") if state.get("colour") in COLOUR_BY else "valence",
                            inline=True,
                            className="radio-inline",
                        ),
                    ),
                ],
                className="controls-row",
            ),
            html.Div(
                [
                    card(
                        "Map",
                        dcc.Graph(id="map-graph", config=GRAPH_CONFIG),
                        html.P(id="map-source", className="muted"),
                        class_name="wide",
                    ),
                    card(
                        "Selected emotion",
                        html.Div("Click an emotion on the map.", id="map-detail", className="muted"),
                        class_name="narrow",
                    ),
                ],
                className="two-columns",
            ),
        ]
    )


def probe_matrix(ctx: AppContext, model: str, source: str, kind: str, layer: int) -> tuple[list[str], np.ndarray]:
    rows = ctx.reader.rows(
        "select emotion, vector from probes where model = ? and source = ? and kind = ? and layer = ? order by emotion",
        [model, source, kind, layer],
    )
    return [r["emotion"] for r in rows], np.array([r["vector"] for r in rows], dtype=np.float32)


def map_points(ctx: AppContext, model: str, source: str, kind: str, layer: int) -> tuple[list[dict], str]:
    """One point per emotion (emotion, pc1, pc2, valence, arousal, cluster) and where the coordinates came from."""
    if ctx.reader.has("probe_map"):
        rows = ctx.reader.rows(
            "select emotion, pc1, pc2, valence, arousal, cast(cluster as varchar) as cluster from probe_map "
            "where model = ? and source = ? and kind = ? and layer = ? order by emotion",
            [model, source, kind, layer],
        )
        if rows:
            return rows, "coordinates from the probe_map view"
    emotions, vectors = probe_matrix(ctx, model, source, kind, layer)
    return pca_points(emotions, vectors), (
        "PCA computed on read from `probes` (run `make evaluate` for the probe_map view and its clusters)"
    )


def pca_points(emotions: list[str], vectors: np.ndarray) -> list[dict]:
    """Before `make evaluate`: the evaluation's own map (`geometry.map_rows`, same axes and orientation as the
    `probe_map` view), coloured by catalog group instead of the k-means clusters evaluate adds."""
    from etl.evaluation.geometry import map_rows

    group_of = catalog.group_of()
    rows = map_rows(vectors, emotions, np.zeros(len(emotions), dtype=int)) if len(emotions) >= 2 else []
    for row in rows:
        row["cluster"] = group_of.get(row["emotion"], "other")
        row["pc2"] = row["pc2"] if row["pc2"] is not None else 0.0
    return rows


def map_figure(points: list[dict], colour_by: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    labels = labelled_points(points)
    if colour_by == "cluster":
        for cluster in sorted({p["cluster"] for p in points}):
            group = [p for p in points if p["cluster"] == cluster]
            figure.add_trace(scatter(go, group, name=str(cluster), marker={"size": 10}, labels=labels))
    else:
        rated = [p for p in points if p[colour_by] is not None]
        unrated = [p for p in points if p[colour_by] is None]
        scale = "RdYlGn" if colour_by == "valence" else "Viridis"
        marker = {
            "size": 11,
            "color": [p[colour_by] for p in rated],
            "colorscale": scale,
            "showscale": True,
            "colorbar": {"title": {"text": colour_by}, "thickness": 12},
        }
        # The colour bar is this trace's legend: a legend entry would show one arbitrary colour of the scale.
        figure.add_trace(
            scatter(go, rated, name=f"rated ({colour_by})", marker=marker, showlegend=False, labels=labels)
        )
        figure.add_trace(scatter(go, unrated, name="not rated", marker={"size": 8, "color": "#c4c4c4"}, labels=labels))
    figure.update_layout(
        template="plotly_white",
        height=620,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis_title="PC1",
        yaxis_title="PC2",
        legend={"orientation": "h", "y": -0.12},
        clickmode="event",
    )
    return figure


def labelled_points(points: list[dict], min_gap: float = LABEL_GAP) -> set[str]:
    """Emotions whose label is drawn: the outermost first, then any point at least `min_gap` (in shares of the
    map's width and height) from every labelled one, so labels do not pile up in the crowded middle; the rest
    show their name on hover."""
    if not points:
        return set()
    xs, ys = [p["pc1"] for p in points], [p["pc2"] or 0.0 for p in points]
    width, height = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    scaled = {p["emotion"]: ((p["pc1"] - cx) / width, ((p["pc2"] or 0.0) - cy) / height) for p in points}
    order = sorted(scaled, key=lambda e: (-(scaled[e][0] ** 2 + scaled[e][1] ** 2), e))
    kept: list[tuple[float, float]] = []
    chosen = set()
    for emotion in order:
        x, y = scaled[emotion]
        if all(abs(x - a) > min_gap or abs(y - b) > min_gap / 2 for a, b in kept):
            kept.append((x, y))
            chosen.add(emotion)
    return chosen


def scatter(go, points: list[dict], name: str, marker: dict, showlegend: bool = True, labels: set | None = None):
    labels = labels if labels is not None else {p["emotion"] for p in points}
    return go.Scatter(
        x=[p["pc1"] for p in points],
        y=[p["pc2"] for p in points],
        mode="markers+text",
        showlegend=showlegend,
        text=[p["emotion"] if p["emotion"] in labels else "" for p in points],
        textposition="top center",
        textfont={"size": 9, "color": "#555"},
        customdata=[p["emotion"] for p in points],
        name=name,
        marker=marker,
        hovertemplate="<b>%{customdata}</b><br>PC1 %{x:.3f}<br>PC2 %{y:.3f}<extra></extra>",
    )


def neighbours(emotions: list[str], vectors: np.ndarray, emotion: str, k: int = NEIGHBOURS) -> list[tuple[str, float]]:
    """The k emotions whose unit probes have the highest cosine with `emotion`'s, itself left out."""
    i = emotions.index(emotion)
    cosines = vectors @ vectors[i]
    order = [j for j in np.argsort(-cosines, kind="stable") if j != i][:k]
    return [(emotions[j], float(cosines[j])) for j in order]


def detail(ctx: AppContext, value: str, kind: str, layer: int, emotion: str):
    model, source = parse_probe_value(value)
    emotions, vectors = probe_matrix(ctx, model, source, kind, layer)
    if emotion not in emotions:
        return html.P(f"No {kind} probe for {emotion!r} at layer {layer}.", className="muted")
    near = html.Ol(
        [
            html.Li([html.Span(e), html.Span(f" {c:+.3f}", className="num")])
            for e, c in neighbours(emotions, vectors, emotion)
        ],
        id="map-neighbours",
    )
    return html.Div(
        [
            html.H4(emotion, id="map-selected"),
            html.P(f"group: {catalog.group_of().get(emotion, 'other')}", className="muted"),
            html.H5("Nearest emotions (cosine of probes)"),
            near,
            html.H5("Top-scoring lake texts"),
            *evidence(ctx, model, source, kind, emotion),
        ]
    )


def labelled_stories(ctx: AppContext, emotion: str) -> list:
    """Before `make evaluate`: stories labelled with the emotion (not yet the texts its probe scores highest)."""
    stories = []
    if ctx.reader.has("stories"):
        stories = ctx.reader.rows(
            "select text_id, source, topic, text from stories where emotion = ? order by source, text_id limit ?",
            [emotion, EXAMPLES],
        )
    note = html.P(
        [
            "Stories labelled with it; ",
            html.Code(ctx.reader.target("probe_examples")),
            " adds the texts its probe scores highest.",
        ],
        className="muted",
    )
    quotes = [
        html.Blockquote([html.Small(f"{s['source']} · {s['topic']}"), html.P(excerpt(s["text"], 420))]) for s in stories
    ] or [html.P("No stories with this emotion in the lake.", className="muted")]
    return [note, *quotes]


def evidence(ctx: AppContext, model: str, source: str, kind: str, emotion: str) -> list:
    """The probe's best stories and short texts (per-token cosines where stored), its score histogram over the
    lake, and a link to its Probe page (all from `probe_examples` / `probe_histograms`)."""
    if not ctx.reader.has("probe_examples"):
        return labelled_stories(ctx, emotion)
    rows = ctx.reader.rows(
        "select layer, domain, text, score, tokens, token_scores from probe_examples where model = ? and source = ? "
        "and kind = ? and emotion = ? and rank <= ? order by domain desc, rank",
        [model, source, kind, emotion, EXAMPLES],
    )
    quotes = [
        html.Blockquote(
            [html.Small(f"{r['domain']} · cosine {r['score']:+.3f}"), html.P(highlighted(r), className="example-text")]
        )
        for r in rows
    ] or [html.P("No examples for this probe.", className="muted")]
    if rows:
        figure = histogram(ctx, model, source, kind, emotion).update_layout(height=220, showlegend=False)
        quotes.append(dcc.Graph(figure=figure, config=GRAPH_CONFIG, id="map-histogram"))
    href = "/probe?" + encode({"model": model, "source": source, "kind": kind, "emotion": emotion})
    layer = f" (layer {rows[0]['layer']}, the best)" if rows else ""
    return [*quotes, html.A(f"All evidence for {emotion}{layer} on the Probe page →", href=href, id="map-probe-link")]


def register(app, ctx: AppContext) -> None:
    register_probe_controls(app, ctx, PREFIX)

    @app.callback(
        Output("map-graph", "figure"),
        Output("map-source", "children"),
        Input("map-probeset", "value"),
        Input("map-kind", "value"),
        Input("map-layer", "value"),
        Input("map-colour", "value"),
    )
    def draw(value, kind, layer, colour_by):
        if layer is None:
            return {}, "no probes at this setting"
        points, where = map_points(ctx, *parse_probe_value(value), kind, layer)
        return map_figure(points, colour_by), f"{len(points)} emotions, layer {layer}; {where}."

    @app.callback(
        Output("map-emotion", "data"),
        Input("map-graph", "clickData"),
        prevent_initial_call=True,
    )
    def click(data):
        return data["points"][0]["customdata"] if data and data.get("points") else None

    @app.callback(
        Output("map-detail", "children"),
        Output("map-url", "search"),
        Input("map-emotion", "data"),
        Input("map-probeset", "value"),
        Input("map-kind", "value"),
        Input("map-layer", "value"),
        Input("map-colour", "value"),
    )
    def select(emotion, value, kind, layer, colour_by):
        url = "?" + encode(probe_state(value, kind, layer) | {"colour": colour_by, "emotion": emotion})
        if not emotion or layer is None:
            return "Click an emotion on the map.", url
        return detail(ctx, value, kind, layer, emotion), url
