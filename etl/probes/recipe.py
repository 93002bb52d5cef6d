"""THE probe recipe: what the probes stage stores and what evaluate rebuilds (held-out folds, split halves, deflection
before orthogonalisation), in one place.

Both stages take a kind's labelled rows through `labelled_rows`, its baseline texts through `baseline_texts`, the
space a kind is orthogonalised against through `excluded_space`, and the probes through `build`, so a stored probe
set and its held-out rebuild cannot follow two recipes. The arithmetic itself is `etl.probes.maths`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

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
    """The baseline's vectors: the probed source's texts of `corpora` when it has at least `MIN_BASELINE_TEXTS`,
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
    return data.x


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
) -> BuiltProbes:
    """The paper's recipe (`maths.expression_probes`), then, with `exclude`, those orthonormal directions projected
    out and unit norm restored; `norm_kept` holds each probe's share of norm left by that projection."""
    probe_set = expression_probes(x, labels, n_emotions, baseline, variance)
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
