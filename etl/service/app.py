"""The Flask routes of the JSON API under /api/v1/, on the dashboards' server or on a Flask app of their own.

Every answer is JSON. A request the API cannot answer gets a 4xx and `{"error": "one line"}`: an EmolakeError
(a bad body, text or probe set) keeps its message; an unknown route under /api/ is a 404 and a known one asked with
the wrong method a 405, also when the dashboards' catch-all page route sits beside them. Anything else is a bug: a
500 with one line, its traceback logged to stderr, never sent.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.service.answers import DEFAULT_WINDOW_S, Service
from etl.service.requests import MAX_BODY, MAX_TEXTS, RequestError, parse_json

PREFIX = "/api/v1"
ROUTES = {
    "/nearest": ("POST", "nearest"),
    "/classify": ("POST", "classify"),
    "/score": ("POST", "score"),
    "/probes": ("GET", "probes"),
    "/health": ("GET", "health"),
    "/openapi.json": ("GET", "openapi"),
}
"""Route -> (method, Service method or `openapi`): the API's whole surface, which openapi.json describes."""
log = logging.getLogger("emolake")


def create_app(
    lake: Lake,
    model: str | None = None,
    source: str = "reference",
    window_s: float = DEFAULT_WINDOW_S,
    max_batch: int = MAX_TEXTS,
):
    """A Flask app serving only the API (`emolake serve --api-only`): no Dash is imported."""
    from flask import Flask

    app = Flask("emolake.api")
    mount(app, Service(lake, model, source, window_s, max_batch=max_batch))

    @app.errorhandler(404)
    def elsewhere(_error):
        return error(f"no route {one_line(request_path())}: the API is under {PREFIX}/ ({PREFIX}/openapi.json)", 404)

    @app.errorhandler(405)
    def wrong_method(_error):
        return error(f"{request_method()} is not allowed on {one_line(request_path())}", 405)

    return app


def listen(server, host: str, port: int, what: str, lake: Lake) -> None:
    """Runs a Flask `server` (the API alone, or the dashboards with the API) on host:port until it is stopped."""
    log.info("serving %s for the lake at %s on http://%s:%d/ (Ctrl-C to stop)", what, lake.root, host, port)
    if not is_loopback(host):
        log.warning("listening on %s: anyone who can reach this address can read the lake", host)
    server.run(host=host, port=port, debug=False, threaded=True)


def check_host(host: str) -> None:
    """Refuses an address that is not an IP address (or `localhost`): a host name could resolve anywhere."""
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise EmolakeError(f"--host {host!r} is not an IP address: use 127.0.0.1 (default) or localhost") from exc


def is_loopback(host: str) -> bool:
    return host == "localhost" or ipaddress.ip_address(host).is_loopback


def mount(app, service: Service) -> None:
    """Registers the API on a Flask app (the Dash app's `server` in `emolake serve`); `app.emolake_api` is the
    Service (the tests and bench/service.py reach its scorers through it)."""
    from flask import Blueprint

    api = Blueprint("emolake_api", __name__, url_prefix=PREFIX)
    for path, (method, name) in ROUTES.items():
        api.add_url_rule(path, name, view(service, name, method), methods=[method])
    api.add_url_rule("/", "unrouted", unrouted, defaults={"rest": ""}, methods=ALL_METHODS)
    api.add_url_rule("/<path:rest>", "unrouted", unrouted, methods=ALL_METHODS)
    api.register_error_handler(Exception, failed)
    app.register_blueprint(api)
    app.emolake_api = service


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def view(service: Service, name: str, method: str):
    """The view of one route: the body parsed for POST, the Service's answer as JSON."""
    from flask import jsonify, request

    def answer():
        if name == "openapi":
            from etl.service.openapi import spec

            return jsonify(spec())
        if method == "GET":
            return jsonify(getattr(service, name)())
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise RequestError(f"the body has {request.content_length:,} bytes: the limit is {MAX_BODY:,}", 413)
        return jsonify(getattr(service, name)(parse_json(request.stream.read(MAX_BODY + 1))))

    answer.__name__ = name
    return answer


def unrouted(rest: str):
    """Whatever else is asked under /api/v1/: 405 on a known route, else 404 (before any catch-all page route)."""
    path = "/" + rest
    if path in ROUTES:
        allowed = ROUTES[path][0]
        response = error(f"{request_method()} is not allowed on {PREFIX}{path}: use {allowed}", 405)
        response[0].headers["Allow"] = allowed
        return response
    return error(f"no route {PREFIX}{one_line(path)}: the routes are {sorted(ROUTES)} ({PREFIX}/openapi.json)", 404)


def failed(exc: Exception):
    """An EmolakeError or HTTP error -> its 4xx with one line; anything else -> 500, the traceback to stderr only."""
    from werkzeug.exceptions import HTTPException

    if isinstance(exc, EmolakeError):
        return error(api_words(str(exc)), getattr(exc, "status", 400))
    if isinstance(exc, HTTPException):
        return error(f"{exc.name}: {exc.description}", exc.code or 500)
    log.exception("internal error answering %s %s", request_method(), request_path())
    return error("internal error (a bug): the traceback is in the server's log", 500)


def error(message: str, status: int):
    from flask import jsonify

    return jsonify({"error": one_line(message)}), status


def api_words(message: str) -> str:
    """The scorer's messages name CLI flags (`--layer 9`, `pass --truncate`): here they name the body's fields."""
    message = message.replace("--truncate", '"truncate": true')
    return re.sub(r"--(k|layer|model|source|kind)\b", r"\1", message)


def one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def request_path() -> str:
    from flask import request

    return request.path


def request_method() -> str:
    from flask import request

    return request.method
