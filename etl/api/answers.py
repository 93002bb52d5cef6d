"""What `EmoLake`'s methods return beyond plain lists and frames (named results that carry their probe set and each
text's warning as values, for callers such as the CLI and the dashboard that show them rather than raise Python
warnings), and the argument checks the methods share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from etl.errors import EmolakeError
from etl.probes.ids import ProbeSetId

FRAME_COLUMNS = ["text", "token_idx", "token", "char_start", "char_end", "emotion", "score"]
"""The columns of `EmoLake.score`'s DataFrame (and `RemoteLake.score`'s)."""


@dataclass(frozen=True)
class Matches:
    """`EmoLake.match`: the nearest emotions of each text, with the probe set used and each text's warning."""

    probe_set: ProbeSetId
    nearest: list[list[dict]]
    """Per text, its best-matching emotions as {"emotion", "score"} (cosine), best first; [] for a one-token text."""
    warnings: list[str | None]
    """Per text, its short-text warning (under `MIN_TOKENS` tokens), else None."""


@dataclass(frozen=True)
class TokenScores:
    """`EmoLake.token_scores`: one text's per-token scores against one probe set."""

    probe_set: ProbeSetId
    text: str
    tokens: list[str]
    """The tokens from position 1 on (position 0 is never scored), as written in `text`."""
    offsets: list[tuple[int, int]]
    """Each token's character span in `text`."""
    emotions: list[str]
    scores: np.ndarray
    """(n_tokens, n_emotions) float32: each token's centred residual projected on each unit probe."""
    cosines: np.ndarray
    """(n_tokens, n_emotions) float32: the same as cosines, the scale `nearest` answers on."""
    warning: str | None
    """The text's short-text warning, else None."""


@dataclass(frozen=True)
class LabelledRun:
    """`EmoLake.validate` and `EmoLake.adapt`: the rows they wrote and printed, and the labels they left out."""

    rows: list[dict]
    """validate: one row per probe set (its per-class rows under "classes"); adapt: one row per method compared."""
    unmapped: list[str]
    """The labels that named no emotion (their texts were left out)."""


def frame(scored: Sequence[TokenScores]):
    """The rows of `EmoLake.score`: one per text, token and emotion, as a polars DataFrame of FRAME_COLUMNS."""
    import polars as pl

    rows = []
    for row, text in enumerate(scored):
        for t, (token, (start, end)) in enumerate(zip(text.tokens, text.offsets, strict=True)):
            for e, emotion in enumerate(text.emotions):
                rows.append((row, t + 1, token, start, end, emotion, float(text.scores[t, e])))
    return pl.DataFrame(rows, schema=FRAME_COLUMNS, orient="row")


def layers_arg(layers: Sequence[int] | str) -> list[int] | str:
    """`layers=` of `probes` and `export`: a list of layer numbers, or "all"."""
    if isinstance(layers, str):
        if layers != "all":
            raise EmolakeError(f"layers={layers!r}: give a list of layer numbers, or 'all'")
        return layers
    return [int(layer) for layer in layers]


def text_list(texts: str | Sequence[str]) -> list[str]:
    """One text as a list of one; a sequence of texts as a list."""
    return [texts] if isinstance(texts, str) else list(texts)


def check_texts(texts: Sequence[str]) -> None:
    """Refuses what no model should read (empty texts, invalid Unicode, texts far over the token limit) with an
    EmolakeError naming the row (`etl.probes.scoring.check_texts`); reads nothing. Every method that scores texts
    checks them so first."""
    from etl.probes.scoring import check_texts as check

    check(list(texts))
