"""Deflection vs expression: how far the probes of a hidden emotion point from those of the shown one.

For each emotion with both probes at a layer: the cosine of the matching pair (the paper reports ~0.05), the same
cosine before orthogonalisation against the expression space (when the deflection texts are in the lake), the mean
|cosine| of the deflection probe with every other emotion's expression probe (what "unrelated" looks like here),
and, when the probes stage recorded it, the share of the raw deflection direction's norm that survived
orthogonalisation.
"""

from __future__ import annotations

import numpy as np

from etl.evaluation.geometry import cosine_matrix

"""Provenance columns of `probes` that may hold the share of norm left after orthogonalisation."""


def compare(
    expression: tuple[list[str], np.ndarray],
    deflection: tuple[list[str], np.ndarray],
    norm_kept: dict[str, float] | None = None,
    raw: np.ndarray | None = None,
) -> list[dict]:
    """One row per emotion present in both (emotions, vectors) sets, in the deflection set's order.

    `raw`, if given, holds the deflection probes before orthogonalisation (rows in the deflection set's order);
    their matched cosine (`raw_cosine`) says how close the two representations were to begin with.
    """
    expression_emotions, expression_vectors = expression
    deflection_emotions, deflection_vectors = deflection
    position = {e: i for i, e in enumerate(expression_emotions)}
    shared = [e for e in deflection_emotions if e in position]
    if not shared:
        return []
    rows_d = [deflection_emotions.index(e) for e in shared]
    both = np.vstack([np.asarray(deflection_vectors)[rows_d], np.asarray(expression_vectors)])
    cosines = cosine_matrix(both)[: len(shared), len(shared) :]
    raw_cosines = None
    if raw is not None:
        raw_both = np.vstack([np.asarray(raw)[rows_d], np.asarray(expression_vectors)])
        raw_cosines = cosine_matrix(raw_both)[: len(shared), len(shared) :]
    out = []
    for row, emotion in enumerate(shared):
        matched = position[emotion]
        others = np.delete(cosines[row], matched)
        out.append(
            {
                "emotion": emotion,
                "cosine": float(cosines[row, matched]),
                "raw_cosine": None if raw_cosines is None else float(raw_cosines[row, matched]),
                "unmatched_abs_cosine": float(np.abs(others).mean()) if len(others) else None,
                "norm_kept": None if norm_kept is None else norm_kept.get(emotion),
            }
        )
    return out


def summarise(rows: list[dict]) -> dict:
    """Means over the matched pairs, for the deflection row of `evaluation_layers`."""
    if not rows:
        return {}
    kept = [r["norm_kept"] for r in rows if r["norm_kept"] is not None]
    unmatched = [r["unmatched_abs_cosine"] for r in rows if r["unmatched_abs_cosine"] is not None]
    raw = [r["raw_cosine"] for r in rows if r.get("raw_cosine") is not None]
    return {
        "raw_matched_cosine": float(np.mean(raw)) if raw else None,
        "matched_cosine": float(np.mean([r["cosine"] for r in rows])),
        "matched_abs_cosine": float(np.mean([abs(r["cosine"]) for r in rows])),
        "unmatched_abs_cosine": float(np.mean(unmatched)) if unmatched else None,
        "norm_kept": float(np.mean(kept)) if kept else None,
        "n_pairs": len(rows),
    }
