"""The dataset registry: every table of the lake, once. Each entry names the table's file columns (its Arrow schema),
its partition columns, the key that identifies a row within a partition, the stage or command that writes it, the
staging view that reads it and a line for the docs. `Lake.write` enforces the schema; `verify`, the staging views'
headers and `docs/lake.md` are checked against this registry by tests (tests/unit/test_datasets.py).

Each dataset is a Delta Lake table at `<lake>/<name>/` (see `etl.lake.delta`). Two more kinds of files live beside
the tables: the float16 activation shards (`shards/`, named in `activations` rows with their size and checksum) and
the files of the `files` table (FAISS indexes, their sidecars, the HTML report and its plots).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from etl.lake import evaluation_schemas as ev
from etl.lake import schemas as s

STR, I64 = pa.string(), pa.int64()
PARTITION_TYPES = {"layer": I64}
"""Partition columns are strings, except these."""


@dataclass(frozen=True)
class Dataset:
    name: str
    schema: pa.Schema
    """The columns stored in its files (partition columns excluded)."""
    partitions: tuple[str, ...]
    key: tuple[str, ...]
    """Columns that identify a row within a partition: `insert` writes skip rows whose key is already there."""
    writer: str
    """The stage (`generate`, `extract`, ...) or command (`emolake score`) that writes it."""
    view: str
    """The staging view (sql/staging/) that reads it."""
    doc: str

    @property
    def stage(self) -> str | None:
        """The stage whose re-run rebuilds it, or None for a user command's output."""
        return None if self.writer.startswith("emolake ") else self.writer

    def table_schema(self) -> pa.Schema:
        """The Delta table's schema: partition columns first, then the file columns (dictionaries as plain values)."""
        fields = [pa.field(p, PARTITION_TYPES.get(p, STR)) for p in self.partitions]
        return pa.schema(fields + [pa.field(f.name, plain(f.type)) for f in self.schema])


def plain(kind: pa.DataType) -> pa.DataType:
    """Delta stores no dictionary encoding or fixed-size lists: their value type and a plain list instead."""
    if pa.types.is_dictionary(kind):
        return kind.value_type
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(kind.value_type)
    return kind


FILES = pa.schema(
    [
        ("name", STR),
        ("path", STR),
        ("bytes", I64),
        ("sha256", STR),
        ("created_at", STR),
    ]
)
"""One row per file beside the tables: its logical name (what readers ask for), the file that holds its current
version (unique per write, so a reader of the old one is never cut short), its size and checksum."""

CHECKSUMS = pa.schema([("path", STR), ("bytes", I64), ("sha256", STR)])
"""One row per data file of a table (the partition names the table)."""

MODEL_SOURCE = ("model", "source")
EVALUATION_DOCS = {
    "evaluation_layers": "held-out accuracy, geometry and valence/arousal figures per (kind, layer)",
    "chosen_layers": "per kind, the layer `etl.probes.policy.best_of` chose (null: none has a held-out figure)",
    "probe_map": "the probes' 2-D map (PCA) with valence and arousal ratings",
    "logit_lens": "the tokens each probe promotes through the unembedding",
    "dose_curve": "probe score against the dose of a scenario's intensity",
    "scenario_scores": "probe scores of the hand-written scenarios",
    "invariance": "the default set's answers kept under neutral prefixes, suffixes, casing and punctuation",
    "deflection_vs_expression": "cosines between deflection and expression probes",
    "cross_domain": "held-out accuracy when probes and texts come from different domains",
    "lexical_baseline": "a TF-IDF nearest-centroid baseline on the same folds",
    "learning_curve": "held-out accuracy against texts per emotion",
    "nested_selection": "the default set's held-out top-1 with the set chosen inside each outer fold (nested)",
}

STAGING_VIEWS = {
    "probe_map": "evaluation_probe_map",
    "logit_lens": "evaluation_logit_lens",
    "dose_curve": "evaluation_dose_curve",
    "scenario_scores": "evaluation_scenario_scores",
    "deflection_vs_expression": "evaluation_deflection",
}
"""Evaluation tables whose staging view has another name (a mart of the table's name sits on top)."""

_ENTRIES = [
    Dataset("texts", s.TEXT_SCHEMA, ("source", "corpus"), ("text_id",), "generate", "texts",
            "every text, with provenance"),
    Dataset("rejects", s.REJECT_SCHEMA, ("source", "corpus"), ("text_id",), "generate", "rejects",
            "texts a quality filter refused, with the reason"),
    Dataset("prompts", s.PROMPTS, ("source",), ("corpus", "prompt_hash"), "generate", "prompts",
            "each writing template, stored once by corpus and hash"),
    Dataset("imports", s.IMPORTS, ("source",), ("file_sha256",), "generate", "imports",
            "one row per imported input file: dataset, revision, licence, mapping, counts"),
    Dataset("activations", s.ACTIVATIONS, ("model", "layer"), ("text_id", "segment"), "extract", "activations",
            "one row per (text, segment) and layer, pointing at its row of a float16 shard"),
    Dataset("probes", s.PROBES, ("model", "source", "kind", "layer"), ("emotion",), "probes", "probes",
            "one unit probe per emotion, per probe set"),
    Dataset("probe_centers", s.PROBE_CENTERS, ("model", "source", "kind", "layer"), (), "probes", "probe_centers",
            "the mean over emotions of each probe set (the centre texts are scored against)"),
    *[
        Dataset(name, pa.schema(ev.SCHEMAS[name]), MODEL_SOURCE, (), "evaluate", STAGING_VIEWS.get(name, name), doc)
        for name, doc in EVALUATION_DOCS.items()
    ],
    Dataset("evaluation_cosines", ev.COSINES, MODEL_SOURCE, (), "evaluate", "evaluation_cosines",
            "the cosine between every two probes of a set"),
    Dataset("probe_examples", s.PROBE_EXAMPLES, MODEL_SOURCE, (), "evaluate", "probe_examples",
            "each probe's top-activating lake texts"),
    Dataset("probe_histograms", s.PROBE_HISTOGRAMS, MODEL_SOURCE, (), "evaluate", "probe_histograms",
            "each probe's score distribution over the lake's texts"),
    Dataset("model_agreement", s.MODEL_AGREEMENT, MODEL_SOURCE, (), "evaluate", "model_agreement",
            "agreement between the probes of two models"),
    Dataset("validation_runs", ev.VALIDATION_RUNS, MODEL_SOURCE, ("run_id",), "emolake validate", "validation_runs",
            "one row per probe set validated on a user's labelled file"),
    Dataset("validation_classes", ev.VALIDATION_CLASSES, MODEL_SOURCE, ("run_id", "emotion"), "emolake validate",
            "validation_classes", "per validated probe set, each label's precision, recall, F1 and support"),
    Dataset("validation_families", ev.VALIDATION_FAMILIES, MODEL_SOURCE, ("run_id", "true_family",
            "predicted_family"), "emolake validate", "validation_families",
            "per validated probe set, the confusion counts between emotion families"),
    Dataset("scores", s.SCORES, ("model", "source", "kind", "layer"), (),
            "emolake score", "scores", "per-token probe scores of a user's texts"),
    Dataset("manifest", s.MANIFEST, ("stage",), ("run_key", "finished_at"), "runner", "runs",
            "one row per finished stage run"),
    Dataset("residual_norms", s.RESIDUAL_NORMS, ("model", "corpus"), ("layer",), "steer", "residual_norms",
            "the mean residual norm per layer on neutral text (the unit of steering strengths)"),
    Dataset("steering_runs", s.STEERING_RUNS, ("model", "sweep"), ("run_id",), "steer", "steering_runs",
            "one row per steering setting, prompt and seed of a sweep, with each judge's reading of both texts"),
    Dataset("steering_judged", s.STEERING_JUDGED, ("model", "sweep"), (), "steer", "steering_judged",
            "a sweep's success rates per reader (judges, own probe) and setting, with bootstrap 95% intervals"),
    Dataset("steering_choice", s.STEERING_CHOICE, ("model", "sweep"), ("condition", "strength", "situation", "order"),
            "steer", "steering_choice",
            "the forced-choice experiment: log-odds of the approach option per condition, situation and order"),
    Dataset("steering_choice_effects", s.STEERING_CHOICE_EFFECTS, ("model", "sweep"), (), "steer",
            "steering_choice_effects",
            "the forced choice's effects: log-odds differences with intervals, beside random-direction pairs"),
    Dataset("checksums", CHECKSUMS, ("dataset",), ("path",), "lake", "-",
            "the size and sha256 of every table data file, written right after the commit that added it"),
    Dataset("files", FILES, ("area",), ("name",), "index", "-",
            "the files beside the tables (indexes, the report): logical name, file, size, checksum"),
]  # fmt: skip

DATASETS: dict[str, Dataset] = {d.name: d for d in _ENTRIES}
FILE_AREAS = ("index", "reports")
"""Top-level directories whose files are listed in the `files` table."""
SHARDS = "shards"
"""The directory of the float16 activation shards (named, sized and checksummed in `activations`)."""
OWN_DIRS = (*DATASETS, *FILE_AREAS, SHARDS)
"""Every top-level directory the lake writes; anything else in a lake is the user's."""


def markdown() -> str:
    """The registry as the Markdown table of docs/lake.md (a test keeps the two equal)."""
    lines = ["| dataset | partitions | key | written by | view | what |", "| --- | --- | --- | --- | --- | --- |"]
    for d in DATASETS.values():
        writer = d.writer if d.writer.startswith("emolake ") else f"`{d.writer}`"
        cells = [f"`{d.name}`", ", ".join(d.partitions) or "-", ", ".join(d.key) or "-", writer, d.view, d.doc]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a lake dataset (etl/lake/datasets.py lists them)") from None
