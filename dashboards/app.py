"""The Dash app: a navigation bar, the page registry of dashboards/pages, and the context every page shares.

`create_app(lake)` builds it (the tests use it, and `emolake serve` through `create_server`, which mounts the JSON
API beside it); the app reads the lake only through `LakeReader` and the facade (`etl.api.EmoLake`, for probe sets),
scores live text only through `LiveScorer` (which calls the facade), and never writes to the lake.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dash import Dash, Input, Output, State, dcc, html

from dashboards.context import AppContext
from dashboards.data import LakeReader
from dashboards.live import LiveScorer
from dashboards.pages import modules
from etl.api import EmoLake
from etl.lake import Lake

ASSETS = Path(__file__).parent / "assets"


def create_app(lake: Lake | str | Path, model: str | None = None, source: str = "reference") -> Dash:
    """The app for one lake; `model` and `source` pick the probe set shown first."""
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    facade = EmoLake(lake, model, source)
    ctx = AppContext(LakeReader(lake), LiveScorer(facade), model=model, source=source, api=facade)
    pages = modules()
    app = Dash(
        __name__,
        title="emolake",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            html.Nav(
                [html.Span("emolake", className="brand")]
                + [
                    dcc.Link(page.TITLE, href=page.PATH, className="nav-link", id=f"nav-{page.__name__.split('.')[-1]}")
                    for page in pages
                ]
                + [html.Span(str(lake.root), className="lake-path", title="the lake this app reads")],
                className="navbar",
            ),
            html.Main(id="page", className="page"),
        ]
    )
    by_path = {page.PATH: page for page in pages}

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname, search):
        page = by_path.get(pathname or "/")
        if page is None:
            return html.Div([html.H2("Not found"), html.P(f"No page at {pathname}.")], className="empty-state")
        ctx.reader.retry_missing()
        # A page that keeps its state in the URL builds itself from the query string (a permalink).
        takes_query = "query" in inspect.signature(page.layout).parameters
        return page.layout(ctx, query=search or "") if takes_query else page.layout(ctx)

    for page in pages:
        page.register(app, ctx)
    app.emolake_context = ctx  # the tests and bench/latency.py reach the reader and scorer through it
    return app


def create_server(lake: Lake, model: str | None, source: str, window_s: float, max_batch: int):
    """The Flask server of `emolake serve`: the dashboards with the JSON API mounted beside them. One model lock for
    both: they share the loaded model and its capture hooks."""
    from etl.service.answers import Service
    from etl.service.app import mount

    app = create_app(lake, model=model, source=source)
    lock = app.emolake_context.scorer.model_lock
    mount(app.server, Service(lake, model, source, window_s, lock, max_batch))
    return app.server


@contextmanager
def serve_in_thread(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serves a Dash app on a free loopback port in a daemon thread; yields its base URL, then shuts it down."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request would drown the output
    server = make_server(host, 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="emolake-dash", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
