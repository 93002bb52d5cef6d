"""SQL console: read-only SELECTs over the lake's views, saved queries one click away, results as CSV."""

from __future__ import annotations

import csv
import io

from dash import ALL, Input, Output, State, dash_table, dcc, html
from dash import ctx as callback_context

from dashboards.components import card, cell_style, error_box, page_header
from dashboards.context import AppContext
from dashboards.data import ROW_LIMIT, TIME_LIMIT_S, saved_queries
from dashboards.permalink import encode, parse
from etl.errors import EmolakeError

PATH = "/sql"
TITLE = "SQL"
DEFAULT_SQL = "select corpus, source, count(*) as n_texts\nfrom texts\ngroup by all\norder by all"


def layout(ctx: AppContext, query: str = ""):
    saved = saved_queries()
    return html.Div(
        [
            dcc.Location(id="sql-url", refresh=False),
            page_header(
                TITLE,
                f"Read-only SQL over the lake's views (SELECT only, {ROW_LIMIT:,} rows, "
                f"{TIME_LIMIT_S:g} s per query; files outside the lake cannot be read).",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                [html.Span("Saved queries:", className="muted")]
                                + [
                                    html.Button(
                                        name.replace("_", " "),
                                        id={"type": "sql-saved", "name": name},
                                        title=description,
                                        className="chip",
                                    )
                                    for name, description, _ in saved
                                ],
                                className="saved-queries",
                            ),
                            dcc.Textarea(
                                id="sql-text",
                                value=parse(query).get("q", DEFAULT_SQL),
                                className="sql-input",
                                rows=8,
                                spellCheck=False,
                            ),
                            html.Div(
                                [
                                    html.Button("Run", id="sql-run", n_clicks=0, className="primary"),
                                    html.Button("Download CSV", id="sql-csv", n_clicks=0),
                                    dcc.Download(id="sql-download"),
                                ],
                                className="controls-row",
                            ),
                            html.Div(id="sql-status"),
                            dcc.Loading(html.Div(id="sql-result"), delay_show=300),
                        ],
                        className="wide",
                    ),
                    card("Views", views_list(ctx), class_name="narrow"),
                ],
                className="two-columns",
            ),
        ]
    )


def views_list(ctx: AppContext):
    present = [
        html.Details(
            [
                html.Summary(view),
                html.Ul([html.Li(f"{name} {kind.lower()}") for name, kind in ctx.reader.columns(view)]),
            ]
        )
        for view in ctx.reader.views
    ]
    missing = [
        html.P([html.Code(view), " empty: run ", html.Code(target)], className="muted")
        for view, target in ctx.reader.missing.items()
    ]
    return html.Div(present + missing, id="sql-views")


def run_query(ctx: AppContext, sql: str):
    """(status, result) components for a console query; errors become one red line."""
    try:
        result = ctx.reader.console(sql or "")
    except EmolakeError as exc:
        return error_box(str(exc)), None
    more = f" (stopped at the {ROW_LIMIT:,}-row limit)" if result.truncated else ""
    status = html.P(f"{len(result.rows):,} rows in {result.seconds:.2f} s{more}", className="muted", id="sql-row-count")
    rows = [{k: cell(v) for k, v in row.items()} for row in result.rows]
    table = dash_table.DataTable(
        id="sql-table",
        data=rows,
        columns=[{"name": c, "id": c} for c in result.columns],
        page_size=20,
        sort_action="native",
        style_table={"overflowX": "auto"},
        style_cell=cell_style(max_width=480),
    )
    return status, table


def cell(value):
    """A value a DataTable can show: numbers and text as they are, lists and the rest as short text."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, list) and len(value) > 8:
        return f"[{', '.join(map(str, value[:8]))}, … ({len(value)} values)]"
    return str(value)


def to_csv(ctx: AppContext, sql: str) -> str:
    result = ctx.reader.console(sql or "")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([[row[c] for c in result.columns] for row in result.rows])
    return buffer.getvalue()


def register(app, ctx: AppContext) -> None:
    saved = {name: text for name, _, text in saved_queries()}

    @app.callback(
        Output("sql-text", "value"),
        Output("sql-status", "children"),
        Output("sql-result", "children"),
        Output("sql-url", "search"),
        Input("sql-run", "n_clicks"),
        Input({"type": "sql-saved", "name": ALL}, "n_clicks"),
        State("sql-text", "value"),
    )
    def run(_run, _saved, sql):
        trigger = callback_context.triggered_id
        if isinstance(trigger, dict):
            sql = saved.get(trigger["name"], sql)
        return (sql, *run_query(ctx, sql), "?" + encode({"q": sql}))

    @app.callback(
        Output("sql-download", "data"),
        Output("sql-status", "children", allow_duplicate=True),
        Input("sql-csv", "n_clicks"),
        State("sql-text", "value"),
        prevent_initial_call=True,
    )
    def download(_clicks, sql):
        try:
            return dcc.send_string(to_csv(ctx, sql), "emolake-query.csv"), None
        except EmolakeError as exc:
            return None, error_box(str(exc))
