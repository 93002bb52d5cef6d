"""The one place pages are registered: a page is a module here, named in PAGES, in navigation order.

Each page module defines PATH (its URL), TITLE (its navigation label), `layout(ctx)` (the page's components,
built on each visit; a `query` parameter, when it has one, gets the URL's query string: its permalink) and
`register(app, ctx)` (its callbacks). Component ids start with the page's own prefix.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PAGES = ("token_viewer", "emotion_map", "probe", "compare", "probe_quality", "dataset", "steering", "sql_console")


def modules(names: tuple[str, ...] = PAGES) -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
