"""Probes adapted to a user's labelled texts (`emolake adapt`): the `short` recipe on their texts, a k-fold
comparison on their data and the adapted set landed under its own source name.

The adapted set is `etl.probes.recipe.build` (the recipe of every stored set) on the user's texts, labelled with the
lake's emotions (their labels mapped as `validate` maps them), at the default set's layer, with the stored `short`
set's baseline (its neutral short texts) projected out. Each fold rebuilds it without the fold's texts; beside it
the same folds score the default set (built without the user's data), the lexical baseline
(`controls.tfidf_centroid_scores`) and the null (the recipe on shuffled training labels). Predictions are restricted
to the labels' emotions (chance 1/k), as in `validate`.

The set lands in `probes` and `probe_centers` under source NAME, kind `short` (estimator `adapt`), so
`--source NAME` selects it in nearest, classify and score; `policy.default_set` reads one source at a time and never
turns to it for another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from etl.errors import EmolakeError
from etl.evaluation import validation
from etl.evaluation.controls import tfidf_centroid_scores
from etl.lake import Lake
from etl.probes.ids import ProbeSetId
from etl.probes.stored import StoredProbes

KIND = "short"
"""The recipe (and kind) of an adapted set: the user's texts are short texts."""

ESTIMATOR = "adapt"
"""What `probes.estimator` holds for an adapted set: a source holding other sets is never overwritten."""

FOLDS = 5
"""Folds of the comparison (fewer when a label has fewer texts)."""

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A set's name is its source partition: lower case, digits, '-' and '_'."""

DEFAULT_BASELINE = (("neutral_short",), 0.5)
"""The short recipe's baseline (ProbesConfig.short_baseline_corpora, baseline_variance) when no stored `short` set
at the layer says otherwise."""


@dataclass
class Adaptation:
    """A checked request: the kept texts and their emotions, the default set beside which they are evaluated."""

    name: str
    input_name: str
    model: str
    model_spec: str
    default: ProbeSetId
    default_probes: StoredProbes
    baseline: tuple[tuple[str, ...], float]
    texts: list[str]
    words: list[str]
    unmapped: list[str]
    folds: int


def prepare(
    lake: Lake,
    labelled: validation.Labelled,
    name: str,
    model: str | None = None,
    source: str = "reference",
    folds: int = FOLDS,
) -> Adaptation:
    """Checks the name, the texts and the labels (each kept label needs 2 texts, and 2 labels are needed), picks the
    default set of `source`; nothing is loaded or written."""
    from etl.probes import policy, stored
    from etl.probes.scoring import check_texts

    if not NAME.match(name):
        raise EmolakeError(f"--name {name!r}: use lower case letters, digits, '-' and '_' (it becomes a source)")
    if name == source:
        raise EmolakeError(f"--name {name!r} is the source the default set is read from: choose another name")
    texts = labelled.texts
    check_texts(texts)
    model, spec = stored.pick_model(lake, model, source)
    taken = [p for p in stored.read(lake, model, name).values() if p.estimator != ESTIMATOR]
    if taken:
        raise EmolakeError(f"source {name!r} holds probes built by the pipeline: choose another --name")
    kind, layer = policy.default_set(lake, model, source)
    default = ProbeSetId(model, source, kind, layer)
    default_probes = stored.read_set(lake, default)
    kept, words, unmapped = labelled.mapped(default_probes.emotions)
    counts = {w: words.count(w) for w in set(words)}
    if len(counts) < 2 or min(counts.values()) < 2:
        raise EmolakeError(
            f"{labelled.path}: adapt needs at least 2 labels naming emotions, each with at least 2 texts (found"
            f" {counts}; unmapped e.g. {sorted(set(unmapped))[:3]}): map labels with --label-map label,emotion"
        )
    short = stored.read(lake, model, source, [KIND], [layer]).get((source, KIND, layer))
    baseline = (tuple(short.baseline_corpora), short.baseline_variance) if short else DEFAULT_BASELINE
    n_folds = max(2, min(folds, min(counts.values())))
    kept_texts = [texts[i] for i in kept]
    return Adaptation(
        name, labelled.path.name, model, spec, default, default_probes, baseline, kept_texts, words, unmapped, n_folds
    )


def run(lake: Lake, a: Adaptation, seed: int = 0) -> list[dict]:
    """Reads the texts' residuals at the default set's layer, compares the four methods over the folds, lands the
    set built from every text; returns the comparison rows (method, n_texts, n_classes, folds, chance, accuracy and
    macro_f1 with their intervals, and for the adapted set its gain in accuracy over the default set)."""
    from etl.model.load import load
    from etl.model.residuals import mean_residuals
    from etl.probes.policy import MAX_TOKENS

    loaded = load(a.model_spec)
    layer = a.default.layer
    result = mean_residuals(loaded.model, loaded.tokenizer, a.texts, [layer], 1, MAX_TOKENS)
    x, n_tokens = result.vectors[:, 0], np.asarray(result.n_tokens)
    baseline = baseline_vectors(lake, a, layer)
    emotions = sorted(set(a.words))
    truth = np.array([emotions.index(w) for w in a.words])
    rows = compare(a, x, n_tokens, truth, emotions, baseline, seed)
    land(lake, a, x, n_tokens, truth, emotions, baseline)
    return rows


def baseline_vectors(lake: Lake, a: Adaptation, layer: int) -> np.ndarray:
    """The neutral texts projected out (`recipe.baseline_texts`: the default source's, else every source's)."""
    from etl.lake import vectors
    from etl.probes import recipe

    corpora = list(a.baseline[0])

    def read(any_source: bool):
        return vectors.load(lake, a.model, layer, corpora, None if any_source else [a.default.source])

    return recipe.baseline_texts(read, corpora)


def compare(a, x, n_tokens, truth, emotions, baseline, seed: int) -> list[dict]:
    """Out-of-fold predictions of each method (stratified folds), scored as accuracy and macro-F1."""
    from sklearn.model_selection import StratifiedKFold

    from etl.probes import recipe
    from etl.probes.maths import scores

    k, variance = len(emotions), a.baseline[1]
    columns = [a.default_probes.emotions.index(e) for e in emotions]
    rng = np.random.default_rng(seed)
    predicted = {m: np.zeros(len(truth), dtype=np.int64) for m in ("adapted", "default", "lexical", "null")}
    folds = StratifiedKFold(n_splits=a.folds, shuffle=True, random_state=seed)
    for train, test in folds.split(x, truth):
        built = recipe.build(x[train], truth[train], k, baseline, variance)
        predicted["adapted"][test] = np.argmax(scores(x[test], built), axis=1)
        shuffled = recipe.build(x[train], rng.permutation(truth[train]), k, baseline, variance)
        predicted["null"][test] = np.argmax(scores(x[test], shuffled), axis=1)
        default = a.default_probes.project(x[test], n_tokens[test])[:, columns]
        predicted["default"][test] = np.argmax(default, axis=1)
        train_texts, test_texts = [a.texts[i] for i in train], [a.texts[i] for i in test]
        lexical = tfidf_centroid_scores(train_texts, truth[train], test_texts, k)
        predicted["lexical"][test] = np.argmax(lexical, axis=1)
    names = {"adapted": f"adapted ({a.name})", "default": f"default ({a.default.kind} layer {a.default.layer})"}
    names |= {"lexical": "lexical baseline (TF-IDF centroid)", "null": "null (shuffled labels)"}
    given = {"n_texts": len(truth), "n_classes": k, "folds": a.folds, "chance": 1 / k}
    figures = {m: validation.with_intervals(p, truth, seed) for m, p in predicted.items()}
    rows = [{"method": names[m]} | given | {k: v for k, v in f.items() if k != "per_class"} for m, f in figures.items()]
    gain = gain_over(predicted["adapted"], predicted["default"], truth, seed)
    for row, method in zip(rows, predicted, strict=True):
        row |= gain if method == "adapted" else dict.fromkeys(gain)
    return rows


def gain_over(adapted: np.ndarray, default: np.ndarray, truth: np.ndarray, seed: int) -> dict:
    """The adapted set's accuracy minus the default set's on the same texts, with a paired bootstrap 95% interval
    (the same texts resampled for both): the interval that says whether adapting helped."""
    from etl.evaluation.controls import N_BOOTSTRAP, interval, resampled

    difference = (adapted == truth).astype(np.float64) - (default == truth).astype(np.float64)
    low, high = interval(resampled((difference,), np.mean, seed, N_BOOTSTRAP))
    return {"gain": float(difference.mean()), "gain_low": low, "gain_high": high}


def land(lake: Lake, a: Adaptation, x, n_tokens, truth, emotions, baseline) -> None:
    """The set built from every text, in `probes` and `probe_centers` under (model, NAME), replacing any earlier
    adaptation of that name, and its probe index."""
    import pyarrow as pa

    from etl.lake import schemas
    from etl.probes import recipe
    from etl.probes.search import write_probe_index

    corpora, variance = a.baseline
    built = recipe.build(x, truth, len(emotions), baseline, variance)
    counts = np.bincount(truth, minlength=len(emotions))
    meta = {
        "norm_kept": None,
        "baseline_corpora": ",".join(corpora),
        "baseline_variance": variance,
        "estimator": ESTIMATOR,
        "expression_space_variance": None,
        "baseline_components": built.n_components,
        "variance_removed": built.variance_removed,
        "config_hash": a.input_name,
        "model_spec": a.model_spec,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    rows = [
        {"emotion": e, "vector": built.vectors[i].tolist(), "n_texts": int(counts[i]), **meta}
        for i, e in enumerate(emotions)
    ]
    where = {"kind": KIND, "layer": a.default.layer}
    probes = schemas.fixed_vectors(pa.Table.from_pylist(rows, schema=schemas.PROBES))
    center = pa.Table.from_pylist(
        [{"vector": built.center.tolist(), "n_emotions": len(emotions), "median_tokens": float(np.median(n_tokens))}],
        schema=schemas.PROBE_CENTERS,
    )
    for dataset, table in (("probes", probes), ("probe_centers", center)):
        for column, value in where.items():
            table = table.append_column(column, pa.array([value] * table.num_rows))
        lake.write(dataset, table, mode="replace", model=a.model, source=a.name)
    with lake.file_batch():  # the index `nearest` and `classify` search, as the index stage writes it
        write_probe_index(lake, a.model, a.name, KIND, a.default.layer, emotions, built.vectors)
