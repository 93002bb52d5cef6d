"""THE probe recipe: what the probes stage stores and what evaluate rebuilds (held-out folds, split halves, deflection
before orthogonalisation), in one place.

Both stages take a kind's labelled rows through `labelled_rows`, its baseline texts through `baseline_texts`, the
space a kind is orthogonalised against through `excluded_space`, and the probes through `build`, so a stored probe
set and its held-out rebuild cannot follow two recipes. The arithmetic itself is `etl.probes.maths`.

A held-out rebuild leaves a fold out of everything the probes see: its labelled texts, and (`held_out_baseline`) the
neutral baseline texts of the same topics, registers or templates (`fold_ids` gives both their folds), so the
neutral projection is not built from the held-out fold's neutral texts either.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

import numpy as np

from etl import catalog
from etl.errors import EmolakeError
from etl.probes.maths import BuiltProbes, baseline_components, expression_probes, project_out, unit

MIN_BASELINE_TEXTS = 2
"""Fewer baseline texts have no principal direction to project out."""

RESIDUE = 1e-6
"""A projected probe shorter than this share of its original norm is rounding residue, and becomes zero."""


class Rows(Protocol):
    """What a vector reader returns (`etl.lake.vectors.Vectors`): one meta dict per row and the rows."""

    meta: list[dict]
    x: np.ndarray


def labelled_rows(meta: list[dict], label: str, emotions: Sequence[str]) -> tuple[list[int], np.ndarray]:
    """(row indices, integer labels) of the rows whose `label` field is one of `emotions`, coded in their order."""
    code = {e: i for i, e in enumerate(emotions)}
    keep = [i for i, m in enumerate(meta) if m.get(label) in code]
    return keep, np.array([code[meta[i][label]] for i in keep], dtype=np.int64)


def baseline_texts(load: Callable[[bool], Rows], corpora: Sequence[str]) -> np.ndarray:
    """The baseline's vectors (`baseline_rows`)."""
    return baseline_rows(load, corpora).x


def baseline_rows(load: Callable[[bool], Rows], corpora: Sequence[str]) -> Rows:
    """The baseline's rows: the probed source's texts of `corpora` when it has at least `MIN_BASELINE_TEXTS`,
    else every source's; fewer even then raises EmolakeError. `load(any_source)` reads the corpora's vectors.

    The one rule for the degenerate case (a source with a single baseline text): it falls back to every source,
    as an empty source does, rather than failing while other sources hold a usable baseline."""
    data = load(False)
    if len(data.meta) < MIN_BASELINE_TEXTS:
        data = load(True)
    if len(data.meta) < MIN_BASELINE_TEXTS:
        raise EmolakeError(
            f"fewer than {MIN_BASELINE_TEXTS} baseline texts in {list(corpora)}: run `make generate extract`"
        )
    return data


def fold_ids(topics: Sequence[str], folds: int, labelled: Sequence[str] | None = None) -> np.ndarray:
    """A fold per text: one per topic when the labelled texts have few topics (registers, templates), else the
    topic's hash (`catalog.topic_fold`). `labelled` (default: `topics`) are the topics of the labelled texts the
    folds are made for; a baseline text gets its fold from them, and -1 (in no fold) when its register or template
    is not one of theirs."""
    distinct = sorted(set(topics if labelled is None else labelled))
    if len(distinct) <= 2 * folds:
        place = {t: i for i, t in enumerate(distinct)}
        return np.array([place.get(t, -1) for t in topics], dtype=np.int64)
    return np.array([catalog.topic_fold(t, folds) for t in topics], dtype=np.int64)


def held_out_baseline(baseline: np.ndarray, folds: np.ndarray | None, held: Collection[int]) -> np.ndarray:
    """The baseline without the texts of the `held` folds (the neutral texts of the held-out topics, registers or
    templates). `folds` is None when the baseline's texts have no folds; when leaving the folds out would leave
    fewer than `MIN_BASELINE_TEXTS` (a tiny lake), the whole baseline is kept."""
    if folds is None or not len(held):
        return baseline
    keep = ~np.isin(folds, list(held))
    return baseline[keep] if keep.sum() >= MIN_BASELINE_TEXTS else baseline


def excluded_space(probes: np.ndarray, variance: float) -> np.ndarray:
    """The orthonormal principal directions (k, hidden) of a probe set up to `variance`: the expression space that
    deflection probes are orthogonalised against."""
    components, _ = baseline_components(np.asarray(probes, dtype=np.float64), variance)
    return components


def build(
    x: np.ndarray,
    labels: np.ndarray,
    n_emotions: int,
    baseline: np.ndarray,
    variance: float,
    exclude: np.ndarray | None = None,
    components: np.ndarray | None = None,
) -> BuiltProbes:
    """The paper's recipe (`maths.expression_probes`), then, with `exclude`, those orthonormal directions projected
    out and unit norm restored; `norm_kept` holds each probe's share of norm left by that projection. `components`:
    the baseline's principal directions when the caller already has them (`baseline_components` of the same baseline
    and variance; evaluate's folds share them), else they are computed."""
    probe_set = expression_probes(x, labels, n_emotions, baseline, variance, components)
    if exclude is None:
        return probe_set
    before = probe_set.vectors.astype(np.float64)
    after = project_out(before, exclude)
    norm_kept = np.linalg.norm(after, axis=1)
    # A probe that lived wholly in the excluded space keeps only rounding residue; normalising that residue would
    # turn it into a machine-dependent random direction, so it becomes zero (it carries nothing).
    after[norm_kept <= RESIDUE * np.linalg.norm(before, axis=1)] = 0.0
    probe_set.vectors = unit(after).astype(np.float32)
    probe_set.norm_kept = norm_kept
    return probe_set
