"""Rendering per-token scores: the coloured text, the tokens x emotions heatmap and the ranking of a span.

Colours are diverging (blue below zero, red above) and saturate at the 99th percentile of |score| over what is
shown, so that one extreme token does not wash out the rest.
"""

from __future__ import annotations

import numpy as np
from dash import html

from dashboards.live import LiveScores

TOP_EMOTIONS = 12
MAX_TICK_LABELS = 80


def p99(values: np.ndarray) -> float:
    """The 99th percentile of |values| (at least a tiny positive number, so a colour scale never collapses)."""
    if values.size == 0:
        return 1.0
    return max(float(np.percentile(np.abs(values), 99)), 1e-6)


def colour(value: float, vmax: float) -> str:
    """An rgba background for a score: red above zero, blue below, alpha proportional to |value| / vmax."""
    strength = min(abs(value) / vmax, 1.0)
    rgb = "220, 38, 38" if value >= 0 else "37, 99, 235"
    return f"rgba({rgb}, {0.08 + 0.72 * strength:.3f})"


def top_emotions(scores: LiveScores, n: int = TOP_EMOTIONS) -> list[str]:
    """The n emotions with the highest peak score anywhere in the text, best first."""
    peaks = scores.scores.max(axis=0)
    return [scores.emotions[i] for i in np.argsort(-peaks, kind="stable")[:n]]


def shown_emotions(scores: LiveScores, checked: list[str] | None) -> list[str]:
    """The checked emotions this probe set has, in catalog order; the text's top emotions when none are checked."""
    known = set(scores.emotions)
    chosen = [e for e in checked or [] if e in known]
    return chosen or top_emotions(scores)


def token_label(token: str) -> str:
    return token.replace("\n", "⏎").replace(" ", "·") or "∅"


def heatmap_figure(scores: LiveScores, emotions: list[str]):
    """Tokens (x) by emotions (y); hover shows the token, its score and the emotion's rank among all emotions."""
    import plotly.graph_objects as go

    columns = [scores.emotions.index(e) for e in emotions]
    z = scores.scores[:, columns].T
    ranks = scores.ranks()[:, columns].T
    vmax = p99(z)
    labels = [token_label(t) for t in scores.tokens]
    custom = np.dstack([np.broadcast_to(np.array(labels, dtype=object), z.shape), ranks.astype(object)])
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(labels))),
            y=emotions,
            customdata=custom,
            colorscale="RdBu_r",
            zmin=-vmax,
            zmax=vmax,
            zmid=0,
            colorbar={"title": {"text": "score"}, "thickness": 12},
            hovertemplate=(
                "token %{x}: <b>%{customdata[0]}</b><br>%{y}: %{z:.3f}<br>"
                f"rank %{{customdata[1]}} of {len(scores.emotions)}<extra></extra>"
            ),
        )
    )
    tick_step = max(1, len(labels) // MAX_TICK_LABELS + (len(labels) % MAX_TICK_LABELS > 0))
    ticks = list(range(0, len(labels), tick_step))
    figure.update_layout(
        template="plotly_white",
        height=max(220, 28 * len(emotions) + 110),
        margin={"l": 110, "r": 20, "t": 30, "b": 70},
        title={"text": f"colour saturates at ±{vmax:.3g} (99th percentile of |score| shown)", "font": {"size": 12}},
        xaxis={"tickvals": ticks, "ticktext": [labels[i] for i in ticks], "tickangle": -60, "tickfont": {"size": 10}},
        yaxis={"autorange": "reversed", "tickfont": {"size": 11}},
    )
    return figure


def token_text(scores: LiveScores, emotion: str, vmax: float | None = None) -> list:
    """The text with each scored token in a span coloured by `emotion`; hover (title) gives score and rank.

    Characters between tokens and the unscored first token are kept as plain text, so the text reads as pasted.
    Each span carries data-i (its token index) for the drag-select script.
    """
    column = scores.emotions.index(emotion)
    values = scores.scores[:, column]
    ranks = scores.ranks()[:, column]
    vmax = vmax or p99(values)
    children, cursor = [], 0
    for i, (token, (start, end)) in enumerate(zip(scores.tokens, scores.offsets, strict=True)):
        if start > cursor:
            children.append(html.Span(scores.text[cursor:start], className="tok-gap"))
        title = f"{token!r} · {emotion} {values[i]:+.3f} · rank {ranks[i]} of {len(scores.emotions)}"
        children.append(
            html.Span(
                token if end > start else "",
                className="tok",
                title=title,
                style={"backgroundColor": colour(float(values[i]), vmax)},
                **{"data-i": str(i)},
            )
        )
        cursor = max(cursor, end)
    if cursor < len(scores.text):
        children.append(html.Span(scores.text[cursor:], className="tok-gap"))
    return children


def span_table(scores: LiveScores, start: int, end: int, n: int = 12) -> html.Div:
    """The emotions ranked by their mean score over a span of tokens, with bars."""
    ranking = scores.span_ranking(start, end)
    lo, hi = sorted((max(0, start), min(len(scores.tokens) - 1, end)))
    span_text = "".join(scores.tokens[lo : hi + 1])
    top = ranking[:n]
    peak = max((abs(v) for _, v in top), default=1.0) or 1.0
    rows = [
        html.Tr(
            [
                html.Td(str(rank)),
                html.Td(emotion),
                html.Td(f"{value:+.3f}", className="num"),
                html.Td(html.Div(className="bar", style={"width": f"{100 * abs(value) / peak:.0f}%"})),
            ]
        )
        for rank, (emotion, value) in enumerate(top, 1)
    ]
    return html.Div(
        [
            html.P(
                [f"Tokens {lo}–{hi} ({hi - lo + 1}): ", html.Q(span_text.strip()[:200])],
                className="span-caption",
            ),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th("#"), html.Th("emotion"), html.Th("mean score"), html.Th("")])),
                    html.Tbody(rows),
                ],
                className="rank-table",
                id="span-ranking-table",
            ),
        ]
    )


def from_rows(text: str, rows: list[dict]) -> LiveScores:
    """LiveScores from `scores` view rows of one text (token_idx, token, char_start, char_end, emotion, score)."""
    emotions = sorted({r["emotion"] for r in rows})
    positions = sorted({r["token_idx"] for r in rows})
    row_of = {p: i for i, p in enumerate(positions)}
    col_of = {e: j for j, e in enumerate(emotions)}
    matrix = np.zeros((len(positions), len(emotions)), np.float32)
    tokens = [""] * len(positions)
    offsets = [(0, 0)] * len(positions)
    for r in rows:
        i = row_of[r["token_idx"]]
        matrix[i, col_of[r["emotion"]]] = r["score"]
        tokens[i] = r["token"]
        offsets[i] = (r["char_start"], r["char_end"])
    return LiveScores(text, tokens, offsets, matrix, emotions)
