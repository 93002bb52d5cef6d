"""Token viewer: paste text, see every token's probe scores as a heatmap and as coloured text; rank a span."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html

from dashboards.components import (
    GRAPH_CONFIG,
    card,
    empty_state,
    error_box,
    labelled,
    page_header,
    parse_probe_value,
    probe_controls,
    probe_state,
    register_probe_controls,
)
from dashboards.context import AppContext
from dashboards.permalink import encode, parse
from dashboards.tokens import heatmap_figure, p99, shown_emotions, span_table, token_text
from etl import catalog
from etl.errors import EmolakeError

PATH = "/"
TITLE = "Token viewer"
PREFIX = "tv"
EXAMPLE = (
    "I heard the front door click open at three in the morning. Nobody else has a key. "
    "I lay still and listened to slow footsteps on the stairs, then my sister's voice: "
    '"Surprise! I caught the early flight home!" I laughed so hard I cried.'
)
MAX_URL_TEXT = 2000
"""Longest text a permalink carries."""
SPAN_HINT = "Drag across the text above to rank all emotions over the tokens you select."


def layout(ctx: AppContext, query: str = ""):
    header = page_header(TITLE, "Paste a text and watch each emotion's probe score rise and fall, token by token.")
    if not ctx.models_sources():
        return html.Div([header, empty_state("The lake has no probes yet.", ctx.reader.target("probes"))])
    state = parse(query)
    return html.Div(
        [
            dcc.Location(id="tv-url", refresh=False),
            header,
            probe_controls(ctx, PREFIX, state=state),
            dcc.Textarea(id="tv-text", value=state.get("text", EXAMPLE)[:MAX_URL_TEXT], className="text-input", rows=5),
            html.Div(
                [
                    html.Button("Score", id="tv-score", n_clicks=0, className="primary"),
                    labelled(
                        "Emotions",
                        dcc.Dropdown(id="tv-group", options=group_options(), value="top", clearable=False),
                        "group",
                    ),
                    labelled("Colour text by", dcc.Dropdown(id="tv-focus", clearable=False), "focus"),
                ],
                className="controls-row",
            ),
            html.Details(
                [
                    html.Summary("Choose emotions"),
                    dcc.Checklist(id="tv-emotions", value=[], inline=True, className="emotion-checklist"),
                ],
                className="emotion-picker",
            ),
            html.Div(id="tv-status"),
            dcc.Loading(
                [
                    card(
                        "Text",
                        html.Div(id="tv-tokens", className="token-text", **{"data-store": "tv-span"}),
                        subtitle="Hover a token for its score and rank; drag across tokens to rank a span.",
                    ),
                    card("Tokens × emotions", dcc.Graph(id="tv-heatmap", config=GRAPH_CONFIG)),
                ],
                delay_show=300,
            ),
            dcc.Store(id="tv-span"),
            card("Span ranking", html.Div(SPAN_HINT, id="tv-span-out", className="muted")),
        ]
    )


def group_options() -> list[dict]:
    groups = [{"label": f"group: {name} ({len(words)})", "value": name} for name, words in catalog.groups().items()]
    return [{"label": "top 12 in this text", "value": "top"}, *groups, {"label": "all emotions", "value": "all"}]


def emotion_options(ctx: AppContext, value: str, kind: str, layer: int) -> list[dict]:
    """The probe set's emotions, grouped (catalog group order), as checklist options."""
    model, source = parse_probe_value(value)
    emotions = ctx.reader.values(
        "select emotion from probes where model = ? and source = ? and kind = ? and layer = ?",
        [model, source, kind, layer],
    )
    order = {e: i for i, e in enumerate(e for words in catalog.groups().values() for e in words)}
    return [{"label": e, "value": e} for e in sorted(emotions, key=lambda e: (order.get(e, len(order)), e))]


def group_selection(group: str, available: list[str]) -> list[str]:
    """The emotions a group choice checks: none for `top` (the text's strongest), every one for `all`."""
    if group == "top":
        return []
    if group == "all":
        return list(available)
    members = set(catalog.groups().get(group, ()))
    return [e for e in available if e in members]


def render(ctx: AppContext, text: str, value: str, kind: str, layer: int, checked: list[str], focus: str | None):
    """(heatmap figure, coloured text, focus options, focus, status) for one text and probe set."""
    model, source = parse_probe_value(value)
    scores = ctx.scorer.score(text, ctx.probe_set(model, source, kind, layer))
    emotions = shown_emotions(scores, checked)
    focus = focus if focus in emotions else emotions[0]
    figure = heatmap_figure(scores, emotions)
    column = scores.scores[:, scores.emotions.index(focus)]
    status = html.P(
        f"{len(scores.tokens)} tokens scored against {len(scores.emotions)} {kind} probes of {model} ({source}), "
        f"layer {layer}; the first token is never scored.",
        className="muted",
        id="tv-summary",
    )
    return figure, token_text(scores, focus, p99(column)), emotions, focus, status


def rank_span(ctx: AppContext, span: dict | None, text: str, value: str, kind: str, layer: int):
    if not span:
        return SPAN_HINT
    model, source = parse_probe_value(value)
    scores = ctx.scorer.score(text, ctx.probe_set(model, source, kind, layer))
    return span_table(scores, int(span["start"]), int(span["end"]))


def register(app, ctx: AppContext) -> None:
    register_probe_controls(app, ctx, PREFIX)

    @app.callback(
        Output("tv-url", "search"),
        Input("tv-score", "n_clicks"),
        Input("tv-probeset", "value"),
        Input("tv-kind", "value"),
        Input("tv-layer", "value"),
        State("tv-text", "value"),
    )
    def remember(_clicks, value, kind, layer, text):
        """The scored text and probe set as the URL query (a permalink)."""
        return "?" + encode(probe_state(value, kind, layer) | {"text": (text or "")[:MAX_URL_TEXT]})

    @app.callback(
        Output("tv-emotions", "options"),
        Input("tv-probeset", "value"),
        Input("tv-kind", "value"),
        Input("tv-layer", "value"),
    )
    def options_for(value, kind, layer):
        if layer is None:
            return []
        return emotion_options(ctx, value, kind, layer)

    @app.callback(
        Output("tv-emotions", "value"),
        Input("tv-group", "value"),
        State("tv-emotions", "options"),
        prevent_initial_call=True,
    )
    def check_group(group, options):
        return group_selection(group, [o["value"] for o in options or []])

    @app.callback(
        Output("tv-heatmap", "figure"),
        Output("tv-tokens", "children"),
        Output("tv-focus", "options"),
        Output("tv-focus", "value"),
        Output("tv-status", "children"),
        Output("tv-span", "data"),
        Input("tv-score", "n_clicks"),
        Input("tv-kind", "value"),
        Input("tv-layer", "value"),
        Input("tv-emotions", "value"),
        Input("tv-focus", "value"),
        State("tv-text", "value"),
        State("tv-probeset", "value"),
    )
    def update(_clicks, kind, layer, checked, focus, text, value):
        try:
            figure, tokens, emotions, focus, status = render(ctx, text, value, kind, layer, checked, focus)
        except EmolakeError as exc:
            return {}, [], [], None, error_box(str(exc)), None
        return figure, tokens, emotions, focus, status, None

    @app.callback(
        Output("tv-span-out", "children"),
        Input("tv-span", "data"),
        State("tv-text", "value"),
        State("tv-probeset", "value"),
        State("tv-kind", "value"),
        State("tv-layer", "value"),
    )
    def span(data, text, value, kind, layer):
        try:
            return rank_span(ctx, data, text, value, kind, layer)
        except EmolakeError as exc:
            return error_box(str(exc))
