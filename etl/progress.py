"""Progress bars that follow the CLI's verbosity: shown on a TTY or with `-v`, hidden otherwise.

Every long loop makes its bar through `bar`, so one switch (`set_visible`, called by `etl.cli`) decides for the whole
process, including the model-loading bar of transformers (`etl.model.load` asks `visible()`).
"""

from __future__ import annotations

import sys

_visible: bool | None = None
"""True: always show; False: never; None: only when stderr is a terminal (tqdm's own rule)."""


def set_visible(visible: bool | None) -> None:
    global _visible
    _visible = visible


def visible() -> bool:
    return _visible if _visible is not None else sys.stderr.isatty()


def bar(iterable=None, **kwargs):
    """A tqdm bar (rate and ETA) on stderr, or a silent one when progress is hidden."""
    from tqdm import tqdm

    return tqdm(iterable, disable=not visible(), **kwargs)
