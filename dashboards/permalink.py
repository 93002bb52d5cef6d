"""Page state in the URL: each page reads its controls from the query string when it is built and writes them back
(through its own `dcc.Location`, without a reload) when they change, so any view can be shared as a link."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from dashboards.context import AppContext


def parse(search: str | None) -> dict[str, str]:
    """`?a=1&b=x` -> {"a": "1", "b": "x"} (blank values dropped)."""
    return {k: v for k, v in parse_qsl((search or "").lstrip("?")) if v}


def encode(state: dict) -> str:
    """The query string of a page's state, without the `?`; None and empty values are left out."""
    return urlencode({k: v for k, v in state.items() if v not in (None, "", [])})


def probe_choice(ctx: AppContext, state: dict[str, str]) -> tuple[str, str | None]:
    """The (model|source value, kind) a query names when the lake has them, else the preferred probe set's."""
    pairs = ctx.models_sources()
    wanted = (state.get("model"), state.get("source", ctx.source))
    model, source = wanted if wanted in pairs else pairs[0]
    kinds = ctx.kinds(model, source)
    kind = state.get("kind") if state.get("kind") in kinds else (kinds[0] if kinds else None)
    return f"{model}|{source}", kind
