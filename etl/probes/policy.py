"""The one home of emolake's defaults about probes: which probe set is the default, which layer a kind is read at,
which layer steering pushes, and the longest text scored.

The CLI (`score`, `nearest`, `classify`, `steer`), the Python API, the service and the dashboard call these
functions, so they cannot disagree. The lake reading lives in `etl.probes.stored`; only the decisions live here.
"""

from __future__ import annotations

from collections.abc import Sequence

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId, ProbeSetQuery
from etl.probes.stored import evaluation_rows, has_index, layers_of, pick_model, probe_sets

MAX_TOKENS = 2048
"""The longest text (in tokens) that scoring reads; longer texts are refused, or truncated when asked."""

MIN_TOKENS = 8
"""The shortest text (in its own tokens, special tokens not counted) scored without a warning. Every held-out figure
rests on texts of 5 words and more (about 8 tokens and up); a greeting, "ugh" or "thanks!!" is still scored, but
`nearest`, `classify`, `score`, the API and the service say, beside the answer, that it is a weak guess."""

MIN_HELD_OUT_PER_EMOTION = 3
"""A held-out figure counts only when the evaluation tested at least this many texts per emotion (n_test /
n_emotions): with fewer, each probe is rebuilt from one or two texts and its top-1 is noise. The `best_layers` view
reads the layers this rule chose (`best_of_each`, stored by evaluate in `chosen_layers`) and never applies it again."""

FALLBACK_KIND = "expression"
"""The default kind of a lake without a usable evaluation (every lake has expression probes)."""


def has_held_out_figure(row: dict) -> bool:
    """Whether an evaluation row's held-out top-1 exists and rests on enough texts per emotion."""
    if row.get("top1") is None:
        return False
    n_test, n_emotions = row.get("n_test"), row.get("n_emotions")
    return n_test is None or not n_emotions or n_test >= MIN_HELD_OUT_PER_EMOTION * n_emotions


def best_of(rows: list[dict], kind: str = "expression") -> int | None:
    """The layer of `kind` with the best held-out top-1 among one probe source's evaluation rows (lowest on ties);
    degenerate rows (too few texts per emotion, `has_held_out_figure`) are never chosen."""
    scored = [r for r in rows if r.get("kind", kind) == kind and has_held_out_figure(r)]
    return int(min(scored, key=lambda r: (-r["top1"], int(r["layer"])))["layer"]) if scored else None


def best_of_each(rows: list[dict]) -> dict[str, int | None]:
    """Kind -> `best_of` its rows (None: no layer has a held-out figure): what evaluate stores in `chosen_layers`."""
    return {kind: best_of(rows, kind) for kind in sorted({r["kind"] for r in rows})}


def fallback_layer(layers: list[int]) -> int:
    """Unevaluated probes: two thirds of the way up, where emotion probes usually peak."""
    return layers[(2 * len(layers)) // 3]


def _on_both_forms(row: dict) -> bool:
    """Whether a row has held-out top-1 on stories and on short texts, resting on enough texts per emotion."""
    if row.get("story_top1") is None or row.get("short_top1") is None:
        return False
    n_test, n_emotions = row.get("n_test"), row.get("n_emotions")
    return n_test is None or (n_emotions is not None and n_test >= MIN_HELD_OUT_PER_EMOTION * n_emotions)


def rank_default(rows: list[dict]) -> list[dict]:
    """The evaluation rows that can be the default probe set, best first: the rule of `default_set` on rows alone.

    Rows with a held-out top-1 on stories and on short texts (`story_top1`, `short_top1`) resting on enough texts
    per emotion, by the highest mean of the two; ties go to the lower layer, then the kind's name. Evaluate's nested
    figure applies it to figures computed inside each outer fold (`etl.evaluation.nested`), so it is written once."""
    rows = [r for r in rows if _on_both_forms(r)]
    return sorted(rows, key=lambda r: (-(r["story_top1"] + r["short_top1"]) / 2, r["layer"], r["kind"]))


def default_set(lake: Lake, model: str, source: str) -> tuple[str, int]:
    """(kind, layer) that `score`, `nearest`, `classify`, the API and the dashboard use unless told otherwise.

    The rule, applied to the evaluation and never by hand: the evaluated, indexed probe set with the highest mean of
    its held-out top-1 on stories and on the short-text set (`story_top1`, `short_top1`: each text scored by probes
    and a centre built without its fold); ties go to the lower layer (`rank_default`). Unevaluated lakes fall back
    to the expression probes at `best_layer`; a source without expression probes (an adapted set, `emolake adapt`)
    to its first kind. Only `source`'s sets are candidates: another source (an adapted set among them) is never
    chosen for it.
    """
    stored = {(k, layer) for m, _, s, k, layer in probe_sets(lake) if (m, s) == (model, source)}
    for row in rank_default(evaluation_rows(lake, model, source)):
        key = (row["kind"], row["layer"])
        if key in stored and has_index(lake, model, source, *key):
            return key
    kinds = sorted({k for m, _, s, k, _ in probe_sets(lake) if (m, s) == (model, source)})
    kind = FALLBACK_KIND if FALLBACK_KIND in kinds or not kinds else kinds[0]
    return kind, best_layer(lake, model, source, kind)


def best_layer(lake: Lake, model: str, source: str, kind: str, layer: int | None = None) -> int:
    """`layer` if it has probes; else the best evaluated layer (held-out top-1), else `fallback_layer`."""
    layers = layers_of(lake, model, source, kind)
    if not layers:
        raise EmolakeError(f"no {kind} probes for {model}/{source}: run `make probes` (see `emolake sql --list`)")
    if layer is not None:
        if layer not in layers:
            raise EmolakeError(f"--layer {layer} has no probes: choose one of {layers[0]}..{layers[-1]}")
        return layer
    evaluated = [r for r in evaluation_rows(lake, model, source, kind) if r["layer"] in layers]
    best = best_of(evaluated, kind)
    return fallback_layer(layers) if best is None else best


def pick_set(lake: Lake, model: str, source: str, kind: str | None, layer: int | None) -> tuple[str, int]:
    """(kind, layer) for a request: the default set when neither is given, else that kind's `best_layer`."""
    if kind is None:
        kind, default_layer = default_set(lake, model, source)
        layer = default_layer if layer is None else layer
    return kind, best_layer(lake, model, source, kind, layer)


def resolve(lake: Lake, query: ProbeSetQuery) -> ProbeSetId:
    """The stored set a query names: its model (`pick_model`), then its kind and layer (`pick_set`). The one rule by
    which `nearest`, `classify`, `similar`, the Python API and the JSON API find their probe set."""
    model, _ = pick_model(lake, query.model, query.source, query.kind)
    kind, layer = pick_set(lake, model, query.source, query.kind, query.layer)
    return ProbeSetId(model, query.source, kind, layer)


# Where steering pushes, as a share of the depth: early-to-middle. SmolLM2's strengths were calibrated at layer 12
# of 30 (docs/results.md, "Steering"); a share rather than a layer number carries the choice to models of any depth.
STEERING_DEPTH = 0.4


def steering_layer(n_layers: int, configured: Sequence[int] | None = None, available: Sequence[int] = ()) -> int:
    """The layer steering pushes unless told otherwise: the first `[steer] layers` entry of the preset when the
    model has it, else the layer at `STEERING_DEPTH` of the depth (12 of SmolLM2's 30, 7 of Gemma 3 270M's 18);
    with `available` (layers holding probes), the nearest.

    Not the best reading layer (`best_layer`, deeper): probes read emotions best there, but pushing the residual
    stream that deep mostly breaks fluency, while an early-to-middle layer shifts the emotion and keeps the text
    fluent; the preset's strengths were calibrated at this layer (README, "Steering").
    """
    wanted = configured[0] if configured and 0 <= configured[0] < n_layers else round(STEERING_DEPTH * n_layers)
    if available:
        return min(available, key=lambda layer: (abs(layer - wanted), layer))
    return wanted


def default_steering_layer(n_layers: int, available: Sequence[int] = ()) -> int:
    """`steering_layer` with the default preset's `[steer] layers`: what the CLI `steer`, the API and the dashboard
    use when no layer and no preset is given."""
    from etl.config import load_preset

    return steering_layer(n_layers, load_preset("default").steer.layers, available)


def default_steering_kind() -> str:
    """The probe kind whose vectors steer unless told otherwise: the default preset's first `[steer] kinds` entry,
    what `emolake steer`, the API and the dashboard add. `pooled` since the judged sweep of 2026-12-07: its vectors
    raised what two independent readers see above the random-direction control, the story probes' did not
    (docs/results.md, "Judged steering")."""
    from etl.config import load_preset

    return load_preset("default").steer.kinds[0]


def steering_kind(available: Sequence[str], preferred: str | None = None) -> str:
    """`preferred` (default: `default_steering_kind`) when `available` (the kinds with probes where steering happens)
    holds it, else the paper's `expression` probes: a lake built without the default kind still steers."""
    kind = preferred or default_steering_kind()
    return kind if kind in available or "expression" not in available else "expression"
