"""The nested figure of the default probe set: the selection made inside each outer fold.

The default probe set is chosen among every evaluated (kind, layer) by its held-out top-1 on the folds it is then
reported on (`etl.probes.policy.rank_default`); over about 120 candidates the winner's figure is optimistic. Here the
same rule chooses again for each outer fold f of the story and the short-text domains, from figures that never saw
fold f: the inner folds of f's own domain (every other fold held out in turn, f left out of the probes and centres
too) and the other domain's held-out figure with f left out of every probe part. The chosen set, rebuilt without f,
then scores fold f's texts. Folds may choose different sets; the hits of all outer folds give the nested figure.
"""

from __future__ import annotations

import numpy as np

from etl.evaluation.transfer import Domain, figures, held_out_hits
from etl.probes.policy import rank_default

FIGURE = {"story": "story_top1", "short": "short_top1"}
"""The domains the default set is chosen on, and the evaluation column each one's held-out top-1 fills."""


def candidates(kinds: list[str], domains: dict[str, Domain], n: int, layer: int) -> list[dict]:
    """One row per (domain, outer fold, kind) at one layer: the figures the selection sees for that fold (in the
    columns `rank_default` reads) and the fold's own held-out hits (`hits1`, `hits5`)."""
    if not all(name in domains for name in FIGURE):
        return []
    rows = []
    for test, column in FIGURE.items():
        (other,) = set(FIGURE) - {test}
        for fold in np.unique(domains[test].folds).tolist():
            without = {test: {fold}}
            for kind in kinds:
                inner, _ = held_out_hits(kind, domains, test, n, without=without)
                across, _ = held_out_hits(kind, domains, other, n, without=without)
                hits1, hits5 = held_out_hits(kind, domains, test, n, folds={fold})
                if not len(inner) or not len(across) or not len(hits1):
                    continue
                rows.append(
                    {"test_domain": test, "fold": fold, "kind": kind, "layer": layer, "n_emotions": n}
                    | {column: float(inner.mean()), FIGURE[other]: float(across.mean()), "n_test": len(inner)}
                    | {"hits1": hits1, "hits5": hits5}
                )
    return rows


def nested_rows(rows: list[dict], reported: dict | None, seed: int) -> list[dict]:
    """Per domain, the nested held-out top-1 (with its interval) of the rule's choice made inside each outer fold,
    beside the figure reported for the default set (`reported`: its `evaluation_layers` row, or None)."""
    out = []
    for test, column in FIGURE.items():
        mine = [r for r in rows if r["test_domain"] == test]
        hits1, hits5, chosen = [], [], []
        for fold in sorted({r["fold"] for r in mine}):
            ranked = rank_default([r for r in mine if r["fold"] == fold])
            if not ranked:
                continue
            best = ranked[0]
            hits1.append(best["hits1"])
            hits5.append(best["hits5"])
            chosen.append(f"{fold}:{best['kind']}@{best['layer']}")
        if not hits1:
            continue
        n = mine[0]["n_emotions"]
        found = figures(np.concatenate(hits1), np.concatenate(hits5), n, seed)
        out.append(
            {"test_domain": test}
            | found
            | {
                "selected_kind": None if reported is None else reported["kind"],
                "selected_layer": None if reported is None else reported["layer"],
                "selected_top1": None if reported is None else reported.get(column),
                "n_candidates": len({(r["kind"], r["layer"]) for r in mine}),
                "n_folds": len(chosen),
                "choices": ", ".join(chosen),
            }
        )
    return out
