"""Dataset explorer: filter the lake's texts, open one to see its per-token scores, and generation-quality stats."""

from __future__ import annotations

from dash import Input, Output, State, dash_table, dcc, html, no_update

from dashboards.components import GRAPH_CONFIG, card, cell_style, empty_state, error_box, labelled, page_header
from dashboards.context import AppContext
from dashboards.permalink import encode, parse
from dashboards.tokens import heatmap_figure, p99, token_text, top_emotions
from etl.errors import EmolakeError

PATH = "/data"
TITLE = "Dataset"
MAX_ROWS = 500
TABLE_COLUMNS = ("text_id", "corpus", "source", "emotion", "topic", "words", "preview")


def layout(ctx: AppContext, query: str = ""):
    header = page_header(TITLE, "Browse the texts the probes were built from, and how generation went.")
    if not ctx.reader.has("texts"):
        return html.Div([header, empty_state("The lake has no texts yet.", ctx.reader.target("texts"))])
    state = parse(query)
    corpora = [c for c in state.get("corpus", "").split(",") if c]
    return html.Div(
        [
            dcc.Location(id="ds-url", refresh=False),
            header,
            html.Div(
                [
                    labelled(
                        "Corpus",
                        dcc.Dropdown(
                            id="ds-corpus", options=distinct(ctx, "corpus"), value=corpora or None, multi=True
                        ),
                    ),
                    labelled(
                        "Source",
                        dcc.Dropdown(id="ds-source", options=distinct(ctx, "source"), value=state.get("source")),
                    ),
                    labelled(
                        "Emotion",
                        dcc.Dropdown(id="ds-emotion", options=distinct(ctx, "emotion"), value=state.get("emotion")),
                    ),
                    labelled(
                        "Topic", dcc.Dropdown(id="ds-topic", options=distinct(ctx, "topic"), value=state.get("topic"))
                    ),
                    labelled(
                        "Contains",
                        dcc.Input(
                            id="ds-search",
                            type="text",
                            debounce=True,
                            placeholder="word or phrase",
                            value=state.get("q", ""),
                        ),
                    ),
                ],
                className="controls-row",
            ),
            html.P(id="ds-count", className="muted"),
            dash_table.DataTable(
                id="ds-table",
                columns=[{"name": c, "id": c} for c in TABLE_COLUMNS],
                page_size=12,
                sort_action="native",
                style_table={"overflowX": "auto"},
                style_cell=cell_style(max_width=420),
            ),
            card("Text", html.Div("Click a row to open its text.", id="ds-detail", className="muted")),
            card("Generation quality", html.Div(quality(ctx), id="ds-quality")),
        ]
    )


def distinct(ctx: AppContext, column: str) -> list[str]:
    return [v for v in ctx.reader.values(f"select distinct {column} from texts order by 1") if v is not None]


def filter_texts(ctx: AppContext, corpora, source, emotion, topic, search) -> tuple[list[dict], int]:
    """Texts matching the filters (at most MAX_ROWS) and how many matched in all."""
    where, params = ["true"], []
    if corpora:
        where.append("corpus in (select unnest(?))")
        params.append(list(corpora))
    for column, value in (("source", source), ("emotion", emotion), ("topic", topic)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if search:
        where.append("contains(lower(text), lower(?))")
        params.append(search)
    condition = " and ".join(where)
    total = ctx.reader.values(f"select count(*) from texts where {condition}", params)[0]
    rows = ctx.reader.rows(
        "select text_id, corpus, source, emotion, topic, len(string_split(text, ' ')) as words, "
        f"left(text, 140) as preview from texts where {condition} order by corpus, emotion, text_id limit {MAX_ROWS}",
        params,
    )
    return rows, total


def scored_sets(ctx: AppContext, text_id: str) -> list[dict]:
    if not ctx.reader.has("scores"):
        return []
    return ctx.reader.rows(
        "select distinct model, source, kind, layer from scores where text_id = ? order by all", [text_id]
    )


def open_text(ctx: AppContext, text_id: str, live: bool = False):
    """A text with its per-token scores: from the `scores` view if it was scored, else live on request."""
    from dashboards.tokens import from_rows

    found = ctx.reader.rows(
        "select text_id, corpus, source, emotion, topic, text from texts where text_id = ?", [text_id]
    )
    if not found:
        return error_box(f"text {text_id} is not in the lake")
    row = found[0]
    meta = html.P(
        f"{row['corpus']} · {row['source']} · {row['emotion'] or 'no emotion'} · {row['topic'] or ''}",
        className="muted",
    )
    sets = scored_sets(ctx, text_id)
    if sets:
        chosen = sets[0]
        rows = ctx.reader.rows(
            "select token_idx, token, char_start, char_end, emotion, score from scores where text_id = ? and "
            "model = ? and source = ? and kind = ? and layer = ?",
            [text_id, chosen["model"], chosen["source"], chosen["kind"], chosen["layer"]],
        )
        where = "from the `scores` view: {model}/{source} {kind}, layer {layer}".format(**chosen)
        return scores_view(meta, from_rows(row["text"], rows), where)
    if not live:
        return html.Div(
            [
                meta,
                html.P(row["text"], className="plain-text"),
                html.P(
                    ["No per-token scores in the lake for this text (", html.Code("emolake score"), " writes them)."],
                    className="muted",
                ),
                html.Button("Score it live", id="ds-live", n_clicks=0, className="primary"),
            ]
        )
    pairs = ctx.models_sources()
    if not pairs:
        return empty_state("The lake has no probes yet.", ctx.reader.target("probes"))
    model, source = pairs[0]
    layer = ctx.best_layer(model, source, "expression")
    scores = ctx.scorer.score(row["text"], ctx.probe_set(model, source, "expression", layer))
    return scores_view(meta, scores, f"scored live: {model}/{source} expression, layer {layer}")


def scores_view(meta, scores, where: str):
    emotions = top_emotions(scores)
    focus = emotions[0]
    column = scores.scores[:, scores.emotions.index(focus)]
    return html.Div(
        [
            meta,
            html.P(f"Per-token scores {where}; text coloured by its strongest emotion, {focus}.", className="muted"),
            html.Div(token_text(scores, focus, p99(column)), className="token-text", id="ds-tokens"),
            dcc.Graph(figure=heatmap_figure(scores, emotions), config=GRAPH_CONFIG),
        ]
    )


def small_table(rows: list[dict], table_id: str):
    return dash_table.DataTable(
        id=table_id,
        data=rows,
        columns=[{"name": c, "id": c} for c in rows[0]] if rows else [],
        page_size=12,
        sort_action="native",
        style_cell=cell_style(),
    )


def quality(ctx: AppContext):
    """Texts and rejects per corpus, reject reasons, per-emotion generation stats and text lengths."""
    import plotly.express as px

    if ctx.reader.has("corpus_summary"):
        summary = ctx.reader.rows("select * from corpus_summary order by source, corpus")
    else:  # the mart needs `rejects`; count kept texts alone when nothing was rejected
        summary = ctx.reader.rows(
            "select source, corpus, count(*) as n_texts, count(distinct emotion) as n_emotions, 0 as n_rejected "
            "from texts group by all order by all"
        )
    parts = [html.H4("Texts per corpus"), small_table(summary, "ds-summary")]
    reasons = []
    if ctx.reader.has("rejects"):
        reasons = ctx.reader.rows("select source, reason, count(*) as n from rejects group by all order by n desc")
    if reasons:
        figure = px.bar(
            reasons,
            x="reason",
            y="n",
            color="source",
            template="plotly_white",
            height=280,
            title="rejected texts by reason",
        )
        parts.append(dcc.Graph(figure=figure, config=GRAPH_CONFIG))
    else:
        parts.append(html.P("No texts were rejected by the quality filters.", className="muted"))
    if ctx.reader.has("generation_quality"):
        rows = ctx.reader.rows("select * from generation_quality order by all limit 2000")
        parts += [html.H4("Per source, corpus and emotion"), small_table(rows, "ds-generation")]
    lengths = ctx.reader.rows(
        "select source || ' / ' || corpus as source, len(string_split(text, ' ')) as words from texts"
    )
    if lengths:
        figure = px.box(lengths, x="source", y="words", template="plotly_white", height=320, title="words per text")
        parts.append(dcc.Graph(figure=figure, config=GRAPH_CONFIG))
    return parts


def register(app, ctx: AppContext) -> None:
    @app.callback(
        Output("ds-table", "data"),
        Output("ds-table", "active_cell"),
        Output("ds-count", "children"),
        Output("ds-url", "search"),
        Input("ds-corpus", "value"),
        Input("ds-source", "value"),
        Input("ds-emotion", "value"),
        Input("ds-topic", "value"),
        Input("ds-search", "value"),
    )
    def filter_rows(corpora, source, emotion, topic, search):
        rows, total = filter_texts(ctx, corpora, source, emotion, topic, search)
        shown = f"showing the first {len(rows)}" if total > len(rows) else "showing all"
        rows = [{**row, "id": row["text_id"]} for row in rows]
        state = {"corpus": ",".join(corpora or []), "source": source, "emotion": emotion, "topic": topic, "q": search}
        return rows, None, f"{total} texts match; {shown}. Click a row to open it.", "?" + encode(state)

    @app.callback(
        Output("ds-detail", "children"),
        Input("ds-table", "active_cell"),
    )
    def select(cell):
        if not cell or not cell.get("row_id"):
            return "Click a row to open its text."
        return open_text(ctx, cell["row_id"])

    @app.callback(
        Output("ds-detail", "children", allow_duplicate=True),
        Input("ds-live", "n_clicks"),
        State("ds-table", "active_cell"),
        prevent_initial_call=True,
    )
    def score_live(clicks, cell):
        if not clicks or not cell or not cell.get("row_id"):
            return no_update  # the button was just drawn (n_clicks 0): keep the text it belongs to
        try:
            return open_text(ctx, cell["row_id"], live=True)
        except EmolakeError as exc:
            return error_box(str(exc))
