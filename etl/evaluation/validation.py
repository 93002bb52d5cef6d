"""Validation on labelled texts a user brings (`emolake validate`): accuracy, macro-F1, per-class F1 and a confusion
matrix per probe set, one `validation_runs` row each.

Predictions are restricted to the emotions the labels use (k of them), so chance is 1/k, and every text is centred
on the mean emotional text of its form, as `nearest` does. Intervals are bootstrap 95% intervals over texts.
`prepare` checks everything a run needs before the model is loaded; `run` scores the texts and lands the rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from etl.errors import EmolakeError
from etl.evaluation import per_class
from etl.evaluation.controls import N_BOOTSTRAP, interval, macro_f1, resampled
from etl.lake import Lake
from etl.lake.evaluation_schemas import VALIDATION_CLASSES as CLASSES
from etl.lake.evaluation_schemas import VALIDATION_FAMILIES as FAMILIES
from etl.lake.evaluation_schemas import VALIDATION_RUNS as SCHEMA
from etl.probes.ids import ProbeSetId
from etl.probes.stored import StoredProbes


@dataclass
class Validation:
    """A checked request: the labelled texts kept, the probe sets to score them with, the input's hash."""

    input_name: str
    model: str
    model_spec: str
    source: str
    probes: dict[ProbeSetId, StoredProbes]
    texts: list[str]
    """The kept texts (their labels name an emotion of the probes), in input order."""
    words: list[str]
    """The emotion each kept text is labelled with."""
    unmapped: list[str]
    """The labels that named no emotion (their rows were left out)."""
    input_hash: str


@dataclass(frozen=True)
class Labelled:
    """A user's labelled file as read (`validate` and `adapt`): its path, texts and labels, and the label map that
    turns labels into emotions (None: the labels are emotion words)."""

    path: Path
    texts: list[str]
    labels: list[str]
    label_map: Path | None = None

    def mapped(self, emotions: list[str]) -> tuple[list[int], list[str], list[str]]:
        """`map_labels` of the labels onto `emotions`, with the label map read: (kept rows, their emotions,
        unmapped labels)."""
        return map_labels(self.labels, read_label_map(self.label_map), emotions)


def read_label_map(path: Path | None) -> dict[str, str]:
    """A CSV (label,emotion, with or without that header) or a JSON object {label: emotion}; {} without a path."""
    if path is None:
        return {}
    if not path.is_file():
        raise EmolakeError(f"--label-map {path} does not exist: pass a CSV (label,emotion) or a JSON object")
    if path.suffix == ".json":
        mapping = json.loads(path.read_text())
        if not isinstance(mapping, dict):
            raise EmolakeError(f"--label-map {path}: the JSON must be an object {{label: emotion}}")
        return {str(k): str(v) for k, v in mapping.items()}
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or len(rows[0]) != 2:
        raise EmolakeError(f"--label-map {path}: expected two columns, label and emotion")
    body = rows[1:] if rows[0] == ["label", "emotion"] else rows
    return {label: emotion for label, emotion in body}


def probe_sets(lake: Lake, model: str, source: str, kinds: list[str] | None, layers: list[int] | None):
    """The sets asked for: each kind at each layer, or at its best layer; no kinds: the default set (at `layers`)."""
    from etl.probes import policy

    if not kinds:
        kind, layer = policy.default_set(lake, model, source)
        return [ProbeSetId(model, source, kind, x) for x in layers or [layer]]
    best = policy.best_layer
    return [ProbeSetId(model, source, k, best(lake, model, source, k, x)) for k in kinds for x in layers or [None]]


def prepare(
    lake: Lake,
    labelled: Labelled,
    model: str | None,
    source: str,
    kinds: list[str] | None = None,
    layers: list[int] | None = None,
) -> Validation:
    """Checks the texts, picks the probe sets and maps the labels onto their emotions; refuses fewer than 2 labels
    that name an emotion. Nothing is loaded or written."""
    from etl.probes import stored
    from etl.probes.scoring import check_texts

    texts = labelled.texts
    check_texts(texts)
    model, spec = stored.pick_model(lake, model, source)
    probes = {}
    for probe_set in probe_sets(lake, model, source, kinds, layers):
        found = stored.read(lake, model, source, [probe_set.kind], [probe_set.layer])
        probes[probe_set] = found[(source, probe_set.kind, probe_set.layer)]
    emotions = next(iter(probes.values())).emotions
    kept, words, unmapped = labelled.mapped(emotions)
    if len(set(words)) < 2:
        raise EmolakeError(
            f"fewer than 2 labels of {labelled.path} name one of the probes' emotions"
            f" (e.g. {sorted(set(unmapped))[:3]}): map them with --label-map label,emotion"
        )
    raw = json.dumps([texts[i] + "\x1f" + w for i, w in zip(kept, words, strict=True)]).encode()
    input_hash = hashlib.sha256(raw).hexdigest()[:16]
    kept_texts = [texts[i] for i in kept]
    return Validation(labelled.path.name, model, spec, source, probes, kept_texts, words, unmapped, input_hash)


def run(lake: Lake, validation: Validation) -> list[dict]:
    """Scores the kept texts with each probe set and lands one `validation_runs` row per set, in one commit (a set
    validated again on the same input replaces its row), with its `validation_classes` and `validation_families`
    rows; returns the runs' rows, each with its per-class rows under "classes"."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from etl.model.load import load
    from etl.model.residuals import mean_residuals
    from etl.probes.policy import MAX_TOKENS

    v = validation
    loaded = load(v.model_spec)
    layers = sorted({p.layer for p in v.probes})
    result = mean_residuals(loaded.model, loaded.tokenizer, v.texts, layers, 1, MAX_TOKENS)
    out, classes, families = [], [], []
    for probe_set, stored in sorted(v.probes.items()):
        code = {e: i for i, e in enumerate(stored.emotions)}
        truth = np.array([code[w] for w in v.words])
        scores = stored.project(result.vectors[:, layers.index(probe_set.layer)], result.n_tokens)
        meta = {
            "run_id": run_id(v.input_hash, v.model, v.source, probe_set.kind, probe_set.layer),
            "input": v.input_name,
            "input_hash": v.input_hash,
            "kind": probe_set.kind,
            "layer": probe_set.layer,
            "n_texts": len(v.texts),
            "n_classes": len(np.unique(truth)),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        found = figures(scores, truth, np.unique(truth), seed=0)
        out.append(row(meta, found, stored.emotions))
        keys = {k: meta[k] for k in ("run_id", "input", "kind", "layer")}
        predicted, labels = found["predicted"], np.unique(truth)
        classes += [keys | r for r in per_class.class_rows(predicted, truth, labels, stored.emotions)]
        families += [keys | r for r in per_class.family_rows(predicted, truth, stored.emotions)]
    lake.write(
        "validation_runs",
        pa.Table.from_pylist(out, schema=SCHEMA),
        mode="replace",
        where={"model": v.model, "source": v.source, "run_id": [r["run_id"] for r in out]},
        model=v.model,
        source=v.source,
    )
    for name, rows, schema in (("validation_classes", classes, CLASSES), ("validation_families", families, FAMILIES)):
        lake.write(
            name,
            pa.Table.from_pylist(rows, schema=schema),
            mode="replace",
            where={"model": v.model, "source": v.source, "run_id": [r["run_id"] for r in out]},
            model=v.model,
            source=v.source,
        )
    return [r | {"classes": [c for c in classes if c["run_id"] == r["run_id"]]} for r in out]


def map_labels(labels: list[str], mapping: dict[str, str], emotions: list[str]) -> tuple[list[int], list[str], list]:
    """(kept row indices, their emotion words, unmapped labels). A label maps through `mapping`, else must be one of
    the probe emotions itself; rows whose label maps to nothing are dropped (and reported)."""
    known = set(emotions)
    kept, words, unmapped = [], [], []
    for row, label in enumerate(labels):
        word = mapping.get(label, label)
        if word in known:
            kept.append(row)
            words.append(word)
        else:
            unmapped.append(label)
    return kept, words, unmapped


def resampled_macro_f1(predicted: np.ndarray, truth: np.ndarray, axis: int = -1) -> np.ndarray:
    """Macro-F1 of each resample (row): it averages the classes that resample holds (a class drawn zero times has
    no F1)."""
    return np.array([macro_f1(p, t)[0] for p, t in zip(predicted, truth, strict=True)])


def figures(scores: np.ndarray, truth: np.ndarray, classes: np.ndarray, seed: int) -> dict:
    """Accuracy and macro-F1 (with bootstrap intervals), per-class F1, the confusion matrix and the predictions (codes)
    of restricted argmax."""
    predicted = classes[np.argmax(scores[:, classes], axis=1)]
    confusion = {int(t): {} for t in classes}
    for t, p in zip(truth, predicted, strict=True):
        confusion[int(t)][int(p)] = confusion[int(t)].get(int(p), 0) + 1
    return (
        {"chance": 1 / len(classes)}
        | with_intervals(predicted, truth, seed, classes)
        | {"confusion": confusion, "predicted": predicted}
    )


def with_intervals(predicted: np.ndarray, truth: np.ndarray, seed: int, classes: np.ndarray | None = None) -> dict:
    """Accuracy and macro-F1 (over `classes`, default the labels present) of predictions, each with its bootstrap 95%
    interval over texts, and the per-class F1 (`per_class`): what `validate` and `adapt` report."""
    f1, per_class = macro_f1(predicted, truth, classes)
    # Both intervals resample the same texts (one seed): accuracy from the hits, macro-F1 from the pairs.
    accuracies = resampled(((predicted == truth).astype(np.float64),), np.mean, seed, N_BOOTSTRAP)
    f1s = resampled((predicted, truth), resampled_macro_f1, seed, N_BOOTSTRAP)
    return {
        "accuracy": float(np.mean(predicted == truth)),
        "accuracy_low": interval(accuracies)[0],
        "accuracy_high": interval(accuracies)[1],
        "macro_f1": f1,
        "macro_f1_low": interval(f1s)[0],
        "macro_f1_high": interval(f1s)[1],
        "per_class": per_class,
    }


def run_id(input_hash: str, model: str, source: str, kind: str, layer: int) -> str:
    """Same input, mapping and probe set -> same id: a repeated validation replaces its row."""
    return hashlib.sha256(f"{input_hash}|{model}|{source}|{kind}|{layer}".encode()).hexdigest()[:16]


def row(meta: dict, found: dict, emotions: list[str]) -> dict:
    """One `validation_runs` row; classes and confusion are stored by emotion word as JSON."""
    return {
        **meta,
        **{k: v for k, v in found.items() if k not in ("per_class", "confusion", "predicted")},
        "per_class_f1": json.dumps({emotions[c]: round(v, 4) for c, v in found["per_class"].items()}),
        "confusion": json.dumps(
            {emotions[t]: {emotions[p]: n for p, n in row_.items()} for t, row_ in found["confusion"].items()}
        ),
    }
