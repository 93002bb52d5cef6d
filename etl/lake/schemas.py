"""Explicit Arrow schemas of the lake's datasets: every writer (and every test that fakes a lake) uses these, so a
view never meets a file without one of its columns, and the staging views need no `union_by_name`. Partition columns
(model, source, corpus, kind, layer, stage...) live in the path, never in the file. The evaluation datasets' schemas
are in `etl.evaluation.tables`, `validation_runs`' in `etl.evaluation.validation`."""

from __future__ import annotations

import pyarrow as pa

TEXT_SCHEMA = pa.schema(
    [
        ("text_id", pa.string()),
        ("emotion", pa.string()),
        ("displayed_emotion", pa.string()),
        ("topic", pa.string()),
        ("text", pa.string()),
        ("writer_model", pa.string()),
        ("prompt_hash", pa.string()),
        ("prompt_version", pa.string()),
        ("seed", pa.int64()),
        ("temperature", pa.float64()),
        ("spans", pa.string()),
        ("created_at", pa.string()),
    ]
)
REJECT_SCHEMA = TEXT_SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("detail", pa.string()))
"""A rejected row: the text with its provenance, the filter that refused it and what it found (a word, an id...)."""

ACTIVATIONS = pa.schema(
    [
        ("text_id", pa.string()),
        ("segment", pa.string()),
        ("corpus", pa.string()),
        ("source", pa.string()),
        ("shard", pa.int64()),
        ("row", pa.int64()),
        ("n_tokens", pa.int64()),
        ("n_used", pa.int64()),
        ("skip_tokens", pa.int64()),
        ("settings_hash", pa.string()),
        ("status", pa.string()),
        ("npy_path", pa.string()),
        ("npy_bytes", pa.int64()),
        ("npy_sha256", pa.string()),
    ]
)
"""The index of the float16 shards: one row per (text, segment) at one layer, pointing at its row of the `.npy`."""

IMPORTS = pa.schema(
    [
        ("file", pa.string()),
        ("file_sha256", pa.string()),
        ("dataset", pa.string()),
        ("revision", pa.string()),
        ("licence", pa.string()),
        ("writer_model", pa.string()),
        ("mapping", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_kept", pa.int64()),
        ("rows_rejected", pa.int64()),
        ("imported_at", pa.string()),
    ]
)
"""One row per imported input file (partition: source): its provenance, how its columns were mapped, its counts."""

PROMPTS = pa.schema(
    [("prompt_hash", pa.string()), ("prompt_version", pa.string()), ("corpus", pa.string()), ("template", pa.string())]
)
"""One writing template (or guideline) of a source, stored once by its hash."""

RESIDUAL_NORMS = pa.schema(
    [
        ("layer", pa.int64()),
        ("mean_norm", pa.float64()),
        ("n_texts", pa.int64()),
        ("n_requested", pa.int64()),
        ("n_tokens", pa.int64()),
        ("created_at", pa.string()),
    ]
)
"""The mean residual norm per layer on neutral text: the unit of steering strengths."""

MANIFEST = pa.schema(
    [
        ("run_key", pa.string()),
        ("preset", pa.string()),
        ("config_hash", pa.string()),
        ("model", pa.string()),
        ("code_version", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_written", pa.int64()),
        ("details", pa.string()),
        ("started_at", pa.string()),
        ("finished_at", pa.string()),
        ("seconds", pa.float64()),
    ]
)
"""One row per finished stage run (the stage is the partition); a stage's newest row per model (by finished_at) is
the run whose outputs the lake holds."""

PROBES = pa.schema(
    [
        ("emotion", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("n_texts", pa.int64()),
        ("norm_kept", pa.float64()),
        ("baseline_corpora", pa.string()),
        ("baseline_variance", pa.float64()),
        ("estimator", pa.string()),
        ("expression_space_variance", pa.float64()),
        ("baseline_components", pa.int64()),
        ("variance_removed", pa.float64()),
        ("config_hash", pa.string()),
        ("model_spec", pa.string()),
        ("created_at", pa.string()),
    ]
)
"""One row per emotion of a probe set: the unit vector (written as a fixed-size list) and its provenance."""

PROBE_CENTERS = pa.schema(
    [("vector", pa.list_(pa.float32())), ("n_emotions", pa.int64()), ("median_tokens", pa.float64())]
)
"""One row per probe set: the mean over emotions, how many emotions it averages, the median length of the texts."""


def fixed_vectors(table: pa.Table, name: str = "vector") -> pa.Table:
    """Casts a list column to a fixed-size float32 list (DuckDB reads it as FLOAT[width])."""
    width = len(table.column(name)[0]) if len(table) else 0
    vector_type = pa.list_(pa.float32(), width)
    index = table.schema.get_field_index(name)
    return table.set_column(index, pa.field(name, vector_type), table.column(index).cast(vector_type))


STEERING_RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("emotion", pa.string()),
        ("layer", pa.int32()),
        ("strength", pa.float64()),
        ("operator", pa.string()),
        ("positions", pa.string()),
        ("kind", pa.string()),
        ("prompt_index", pa.int32()),
        ("prompt", pa.string()),
        ("seed", pa.int64()),
        ("baseline", pa.string()),
        ("steered", pa.string()),
        ("baseline_tokens", pa.int32()),
        ("steered_tokens", pa.int32()),
        ("baseline_target", pa.float64()),
        ("steered_target", pa.float64()),
        ("target_delta", pa.float64()),
        ("baseline_perplexity", pa.float64()),
        ("steered_perplexity", pa.float64()),
        ("perplexity_ratio", pa.float64()),
        ("baseline_repetition", pa.float64()),
        ("repetition_rate", pa.float64()),
        ("regime", pa.string()),
        ("success", pa.bool_()),
        ("probe_emotions", pa.list_(pa.string())),
        ("baseline_scores", pa.list_(pa.float32())),
        ("steered_scores", pa.list_(pa.float32())),
        ("judges", pa.list_(pa.string())),
        ("judge_labels", pa.list_(pa.string())),
        ("judge_baseline", pa.list_(pa.float64())),
        ("judge_steered", pa.list_(pa.float64())),
        ("judge_opposite_baseline", pa.list_(pa.float64())),
        ("judge_opposite_steered", pa.list_(pa.float64())),
        ("judge_agrees", pa.list_(pa.bool_())),
        ("judged_success", pa.bool_()),
        ("source", pa.string()),
        ("score_layer", pa.int32()),
        ("norm", pa.float64()),
        ("max_perplexity_ratio", pa.float64()),
        ("max_repetition", pa.float64()),
        ("temperature", pa.float64()),
        ("top_p", pa.float64()),
        ("max_new_tokens", pa.int32()),
        ("config_hash", pa.string()),
        ("model_spec", pa.string()),
        ("created_at", pa.string()),
        ("control", pa.bool_()),
    ]
)
"""One row per steering setting, prompt and seed of a sweep. `success` is the steered model's own reading (surgical
and its target probe rose); the `judge_*` lists hold each judge's reading of both texts (etl/evaluation/judges.py), and
`judged_success` is surgical with every judge agreeing. `control` marks the sweep's null directions
(`etl.config.steer.NULL_KINDS`: a random direction, another emotion's vector)."""

STEERING_JUDGED = pa.schema(
    [
        ("scope", pa.string()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("emotion", pa.string()),
        ("strength", pa.float64()),
        ("operator", pa.string()),
        ("positions", pa.string()),
        ("reader", pa.string()),
        ("n_runs", pa.int32()),
        ("success_rate", pa.float64()),
        ("success_low", pa.float64()),
        ("success_high", pa.float64()),
        ("agree_rate", pa.float64()),
        ("mean_delta", pa.float64()),
        ("mean_opposite_delta", pa.float64()),
        ("created_at", pa.string()),
    ]
)
"""Success rates of a sweep with bootstrap 95% intervals, per reader (`judged`: every judge; `own_probe`: the
steered model's probes; each judge), per setting (scope `setting`), per kind (scope `kind`: every run of one probe
kind or control) and over all runs of the probe kinds, controls left out (scope `overall`, setting columns null)."""

STEERING_CHOICE = pa.schema(
    [
        ("condition", pa.string()),
        ("control", pa.bool_()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("strength", pa.float64()),
        ("situation", pa.int32()),
        ("order", pa.string()),
        ("logodds", pa.float64()),
        ("created_at", pa.string()),
    ]
)
"""The forced-choice experiment (docs/steering.md): per condition (`baseline`, an emotion's probe, `random_NN`),
strength, situation and order, the log-odds of the approach option's letter at the first answer position."""

STEERING_CHOICE_EFFECTS = pa.schema(
    [
        ("contrast", pa.string()),
        ("first", pa.string()),
        ("second", pa.string()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("strength", pa.float64()),
        ("n_situations", pa.int32()),
        ("effect", pa.float64()),
        ("effect_low", pa.float64()),
        ("effect_high", pa.float64()),
        ("null_median_abs", pa.float64()),
        ("null_p95_abs", pa.float64()),
        ("null_p", pa.float64()),
        ("n_null", pa.int32()),
        ("created_at", pa.string()),
    ]
)
"""Per contrast (`first - second`: a positive and a negative emotion, or an emotion and the baseline) and strength:
the mean log-odds difference over situations with a bootstrap 95% interval, and the null of random-direction pairs."""

MODEL_AGREEMENT = pa.schema(
    [
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("n_layers", pa.int32()),
        ("relative_depth", pa.float64()),
        ("other_model", pa.string()),
        ("other_layer", pa.int32()),
        ("other_n_layers", pa.int32()),
        ("other_relative_depth", pa.float64()),
        ("n_emotions", pa.int32()),
        ("cosine_spearman", pa.float64()),
        ("valence_spearman", pa.float64()),
        ("created_at", pa.string()),
    ]
)
"""Cross-model agreement of one probe kind, written by the evaluated model: its best layer and depth, and per other
model in the lake (null `other_*` when there is none) the Spearman r between the two cosine matrices' upper
triangles and between the emotions' valence-axis (oriented PC1) coordinates, over the emotions both share.
`relative_depth` = (layer + 1) / n_layers: the share of the model's blocks the residual stream has passed."""

PROBE_EXAMPLES = pa.schema(
    [
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("emotion", pa.string()),
        ("domain", pa.string()),
        ("rank", pa.int32()),
        ("text_id", pa.string()),
        ("corpus", pa.string()),
        ("label", pa.string()),
        ("text", pa.string()),
        ("score", pa.float64()),
        ("tokens", pa.list_(pa.string())),
        ("token_scores", pa.list_(pa.float32())),
    ]
)
"""A probe's top-activating lake texts per domain (`story`, `short`), by the cosine of the text's centred mean
residual with the probe; `label` is the text's own emotion (null: neutral); `tokens`/`token_scores` are per-token
cosines of the probe (null when the evaluation did not load the model)."""

PROBE_HISTOGRAMS = pa.schema(
    [
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("emotion", pa.string()),
        ("domain", pa.string()),
        ("bin_low", pa.float64()),
        ("bin_high", pa.float64()),
        ("n_texts", pa.int64()),
        ("n_labelled", pa.int64()),
    ]
)
"""A probe's score distribution over the lake's texts of one domain: counts per cosine bin, and how many of those
texts are labelled with the probe's own emotion."""


SCORES = pa.schema(
    [
        ("text_id", pa.string()),
        ("token_idx", pa.int32()),
        ("token", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("emotion", pa.string()),
        ("score", pa.float32()),
    ]
)
"""Per-token probe scores of a user's texts (`emolake score`): one row per (text, token, emotion) of a probe set."""
