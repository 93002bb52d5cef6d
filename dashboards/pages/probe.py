"""Probe: one emotion probe's evidence, read from what `make evaluate` precomputed (no model runs here).

Its top-scoring lake texts (stories and short texts, by the cosine of the text's mean residual with the probe) with
per-token cosines, its score distribution over the lake, and its nearest probes. Search by emotion or by a phrase of
a text. The page's state lives in the URL (`?model=&source=&kind=&emotion=&q=`), so a view can be shared.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html

from dashboards.components import GRAPH_CONFIG, card, empty_state, labelled, page_header, parse_probe_value
from dashboards.context import AppContext
from dashboards.permalink import encode, parse, probe_choice
from dashboards.tokens import colour
from etl import catalog

PATH = "/probe"
TITLE = "Probe"
PREFIX = "probe"
NEAREST = 8
SEARCH_HITS = 12
EXCERPT = 600


def layout(ctx: AppContext, query: str = ""):
    header = page_header(
        TITLE, "One probe's evidence: the lake texts it scores highest, its score distribution, and its nearest probes."
    )
    if not ctx.reader.has("probe_examples"):
        return html.Div(
            [header, empty_state("The lake has no probe examples yet.", ctx.reader.target("probe_examples"))]
        )
    state = parse(query)
    value, kind = probe_choice(ctx, state)
    emotions = emotions_of(ctx, value, kind)
    emotion = state.get("emotion") if state.get("emotion") in emotions else (emotions[0] if emotions else None)
    return html.Div(
        [
            dcc.Location(id="probe-url", refresh=False),
            header,
            html.Div(
                [
                    labelled(
                        "Probes",
                        dcc.Dropdown(
                            id="probe-probeset",
                            options=[{"label": f"{m} · {s}", "value": f"{m}|{s}"} for m, s in ctx.models_sources()],
                            value=value,
                            clearable=False,
                        ),
                        "probeset",
                    ),
                    labelled(
                        "Mode",
                        dcc.RadioItems(
                            id="probe-kind",
                            options=ctx.kinds(*parse_probe_value(value)),
                            value=kind,
                            inline=True,
                            className="radio-inline",
                        ),
                    ),
                    labelled(
                        "Emotion",
                        dcc.Dropdown(id="probe-emotion", options=emotions, value=emotion, clearable=False),
                        "emotion",
                    ),
                    labelled(
                        "Search texts",
                        dcc.Input(
                            id="probe-search",
                            type="search",
                            value=state.get("q", ""),
                            debounce=True,
                            placeholder="a phrase of a lake text",
                            className="text-input",
                        ),
                        "search",
                    ),
                ],
                className="controls-row",
            ),
            html.Div(id="probe-hits"),
            html.Div(
                [
                    card(
                        "Score distribution over the lake",
                        dcc.Graph(id="probe-histogram", config=GRAPH_CONFIG),
                        class_name="wide",
                    ),
                    card("Nearest probes", html.Div(id="probe-nearest"), class_name="narrow"),
                ],
                className="two-columns",
            ),
            card(
                "Top-scoring lake texts",
                html.Div(id="probe-examples"),
                subtitle="Cosine of each text's centred mean residual with the probe; tokens coloured by their own "
                "cosine (red above zero, blue below). A probe's own training texts are in-sample here (stories "
                "for expression probes, short texts for short probes); the other form is not.",
            ),
        ]
    )


def emotions_of(ctx: AppContext, value: str, kind: str | None) -> list[str]:
    model, source = parse_probe_value(value)
    return ctx.reader.values(
        "select distinct emotion from probe_examples where model = ? and source = ? and kind = ? order by emotion",
        [model, source, kind],
    )


def examples(ctx: AppContext, model: str, source: str, kind: str, emotion: str) -> list[dict]:
    return ctx.reader.rows(
        "select layer, domain, rank, text_id, label, text, score, tokens, token_scores from probe_examples "
        "where model = ? and source = ? and kind = ? and emotion = ? order by domain desc, rank",
        [model, source, kind, emotion],
    )


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The text cut at the last word boundary before `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")].rstrip(" ,;:") + " …" if " " in cut else cut + "…"


def highlighted(row: dict) -> list:
    """The text with each token's background set by its cosine, or the plain excerpt without token scores."""
    if not row["tokens"]:
        return [excerpt(row["text"])]
    scores = [float(s) for s in row["token_scores"]]
    vmax = max(max((abs(s) for s in scores), default=0.0), 1e-6)
    start = row["text"].find(row["tokens"][0]) if row["tokens"][0] else 0
    # The first token is never scored (an attention sink): it is shown plain, so the text reads as written.
    spans, length = [row["text"][: max(start, 0)]], 0
    for token, score in zip(row["tokens"], scores, strict=True):
        spans.append(
            html.Span(token, className="tok", title=f"{score:+.3f}", style={"background": colour(score, vmax)})
        )
        length += len(token)
        if length > EXCERPT and token.endswith((" ", ".", ",")):
            spans.append(" …")
            break
    return spans


def example_list(rows: list[dict]) -> html.Div:
    if not rows:
        return html.P("No examples for this probe.", className="muted")
    blocks = []
    for domain, title in (("story", "Stories"), ("short", "Short texts")):
        items = [
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(f"{r['score']:+.3f}", className="num"),
                            html.Small(f" · labelled {r['label'] or 'neutral'}"),
                        ]
                    ),
                    html.P(highlighted(r), className="example-text"),
                ],
                className="probe-example",
            )
            for r in rows
            if r["domain"] == domain
        ]
        if items:
            blocks.append(html.Div([html.H4(title), html.Ol(items)], className=f"probe-domain-{domain}"))
    return html.Div(blocks)


def histogram(ctx: AppContext, model: str, source: str, kind: str, emotion: str):
    import plotly.graph_objects as go

    rows = ctx.reader.rows(
        "select domain, bin_low, bin_high, n_texts, n_labelled from probe_histograms "
        "where model = ? and source = ? and kind = ? and emotion = ? order by domain desc, bin_low",
        [model, source, kind, emotion],
    )
    figure = go.Figure()
    for domain, colour_hex in (("story", "#1f77b4"), ("short", "#ff7f0e")):
        part = [r for r in rows if r["domain"] == domain]
        if not part:
            continue
        centres = [(r["bin_low"] + r["bin_high"]) / 2 for r in part]
        figure.add_trace(
            go.Bar(
                x=centres,
                y=[r["n_texts"] for r in part],
                name=f"{domain}: all texts",
                marker_color=colour_hex,
                opacity=0.45,
            )
        )
        figure.add_trace(
            go.Bar(
                x=centres,
                y=[r["n_labelled"] for r in part],
                name=f"{domain}: labelled {emotion}",
                marker_color=colour_hex,
            )
        )
    figure.update_layout(
        template="plotly_white",
        barmode="overlay",
        height=320,
        xaxis_title="cosine with the probe",
        yaxis_title="texts",
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def nearest(ctx: AppContext, model: str, source: str, kind: str, layer: int, emotion: str) -> html.Ol:
    rows = ctx.reader.rows(
        "select emotion_b, cosine from evaluation_cosines where model = ? and source = ? and kind = ? and layer = ? "
        "and emotion_a = ? and emotion_b <> ? order by cosine desc, emotion_b limit ?",
        [model, source, kind, layer, emotion, emotion, NEAREST],
    )
    return html.Ol(
        [
            html.Li(
                [
                    html.A(r["emotion_b"], href=f"{PATH}?{encode_near(model, source, kind, r['emotion_b'])}"),
                    html.Span(f" {r['cosine']:+.3f}", className="num"),
                ]
            )
            for r in rows
        ],
        id="probe-nearest-list",
    )


def encode_near(model: str, source: str, kind: str, emotion: str) -> str:
    return encode({"model": model, "source": source, "kind": kind, "emotion": emotion})


def search(ctx: AppContext, model: str, source: str, kind: str, phrase: str):
    """Probes for which a lake text containing `phrase` is a top example, best score first."""
    if not phrase or len(phrase.strip()) < 3:
        return None
    rows = ctx.reader.rows(
        "select emotion, domain, score, text from probe_examples where model = ? and source = ? and kind = ? "
        "and text ilike ? order by score desc limit ?",
        [model, source, kind, f"%{phrase.strip()}%", SEARCH_HITS],
    )
    if not rows:
        return html.P(f"No top example contains “{phrase}”.", className="muted", id="probe-hit-list")
    return card(
        f"Probes whose top texts contain “{phrase}”",
        html.Ul(
            [
                html.Li(
                    [
                        html.A(r["emotion"], href=f"{PATH}?{encode_near(model, source, kind, r['emotion'])}"),
                        html.Span(f" {r['score']:+.3f} ({r['domain']}) ", className="num"),
                        html.Small(excerpt(r["text"], 140)),
                    ]
                )
                for r in rows
            ],
            id="probe-hit-list",
        ),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(
        Output("probe-kind", "options"),
        Output("probe-kind", "value"),
        Input("probe-probeset", "value"),
        State("probe-kind", "value"),
        prevent_initial_call=True,
    )
    def kinds_for(value, current):
        kinds = ctx.kinds(*parse_probe_value(value))
        return kinds, current if current in kinds else (kinds[0] if kinds else None)

    @app.callback(
        Output("probe-emotion", "options"),
        Output("probe-emotion", "value"),
        Input("probe-probeset", "value"),
        Input("probe-kind", "value"),
        State("probe-emotion", "value"),
        prevent_initial_call=True,
    )
    def emotion_choices(value, kind, current):
        emotions = emotions_of(ctx, value, kind)
        return emotions, current if current in emotions else (emotions[0] if emotions else None)

    @app.callback(
        Output("probe-histogram", "figure"),
        Output("probe-nearest", "children"),
        Output("probe-examples", "children"),
        Output("probe-hits", "children"),
        Output("probe-url", "search"),
        Input("probe-probeset", "value"),
        Input("probe-kind", "value"),
        Input("probe-emotion", "value"),
        Input("probe-search", "value"),
    )
    def show(value, kind, emotion, phrase):
        model, source = parse_probe_value(value)
        url = "?" + encode({"model": model, "source": source, "kind": kind, "emotion": emotion, "q": phrase})
        hits = search(ctx, model, source, kind, phrase or "")
        if not emotion:
            return {}, None, html.P("No probe selected.", className="muted"), hits, url
        rows = examples(ctx, model, source, kind, emotion)
        layer = rows[0]["layer"] if rows else None
        near = nearest(ctx, model, source, kind, layer, emotion) if layer is not None else None
        title = html.P(
            [
                html.Strong(emotion, id="probe-selected"),
                f" · group {catalog.group_of().get(emotion, 'other')} · {kind} probes at layer {layer} (best)",
            ],
            className="muted",
        )
        return histogram(ctx, model, source, kind, emotion), near, html.Div([title, example_list(rows)]), hits, url
