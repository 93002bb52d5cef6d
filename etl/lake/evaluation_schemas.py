"""Arrow schemas of the evaluation datasets (`make evaluate`) and of `validation_runs`: the file columns of each, as
the dataset registry (`etl.lake.datasets`) declares them. Explicit schemas keep every table identical in its columns
whether or not a value could be computed, so the SQL views never break on a missing column."""

from __future__ import annotations

import pyarrow as pa

F64, I32, STR = pa.float64(), pa.int32(), pa.string()

SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "evaluation_layers": [
        ("layer", I32),
        ("kind", STR),
        ("n_emotions", I32),
        ("chance_top1", F64),
        ("top1", F64),
        ("top5", F64),
        ("n_test", I32),
        ("top1_low", F64),
        ("top1_high", F64),
        ("null_top1", F64),
        ("story_top1", F64),
        ("story_top1_low", F64),
        ("story_top1_high", F64),
        ("story_null_top1", F64),
        ("short_top1", F64),
        ("short_top5", F64),
        ("short_top1_low", F64),
        ("short_top1_high", F64),
        ("short_null_top1", F64),
        ("pc1_valence_r", F64),
        ("pc1_valence_low", F64),
        ("pc1_valence_high", F64),
        ("pc1_valence_p", F64),
        ("pc1_valence_spearman", F64),
        ("pc2_arousal_r", F64),
        ("pc2_arousal_low", F64),
        ("pc2_arousal_high", F64),
        ("pc2_arousal_p", F64),
        ("pc2_arousal_spearman", F64),
        ("pc1_var", F64),
        ("pc2_var", F64),
        ("n_rated", I32),
        ("split_half_cos", F64),
        ("valence_decoded_r", F64),
        ("arousal_decoded_r", F64),
        ("scenario_diagonal", F64),
        ("scenario_target_rank", F64),
        ("scenario_top5", F64),
        ("n_scenarios", I32),
        ("matched_cosine", F64),
        ("raw_matched_cosine", F64),
        ("matched_abs_cosine", F64),
        ("unmatched_abs_cosine", F64),
        ("norm_kept", F64),
        ("n_pairs", I32),
    ],
    "chosen_layers": [
        ("kind", STR),
        ("layer", I32),
    ],
    "probe_map": [
        ("kind", STR),
        ("layer", I32),
        ("emotion", STR),
        ("pc1", F64),
        ("pc2", F64),
        ("valence", F64),
        ("arousal", F64),
        ("cluster", I32),
    ],
    "deflection_vs_expression": [
        ("layer", I32),
        ("emotion", STR),
        ("cosine", F64),
        ("raw_cosine", F64),
        ("unmatched_abs_cosine", F64),
        ("norm_kept", F64),
    ],
    "logit_lens": [
        ("kind", STR),
        ("layer", I32),
        ("emotion", STR),
        ("end", STR),
        ("rank", I32),
        ("token_id", pa.int64()),
        ("token", STR),
        ("logit", F64),
        ("relative", F64),
    ],
    "dose_curve": [
        ("template", STR),
        ("dose_index", I32),
        ("dose", STR),
        ("kind", STR),
        ("layer", I32),
        ("emotion", STR),
        ("score_mean", F64),
        ("score_last", F64),
    ],
    "cross_domain": [
        ("kind", STR),
        ("layer", I32),
        ("test_domain", STR),
        ("top1", F64),
        ("top5", F64),
        ("top1_low", F64),
        ("top1_high", F64),
        ("null_top1", F64),
        ("chance_top1", F64),
        ("n_test", I32),
    ],
    "lexical_baseline": [
        ("test_domain", STR),
        ("method", STR),
        ("top1", F64),
        ("top5", F64),
        ("top1_low", F64),
        ("top1_high", F64),
        ("chance_top1", F64),
        ("n_test", I32),
    ],
    "nested_selection": [
        ("test_domain", STR),
        ("top1", F64),
        ("top5", F64),
        ("top1_low", F64),
        ("top1_high", F64),
        ("chance_top1", F64),
        ("n_test", I32),
        ("selected_kind", STR),
        ("selected_layer", I32),
        ("selected_top1", F64),
        ("n_candidates", I32),
        ("n_folds", I32),
        ("choices", STR),
    ],
    "learning_curve": [
        ("kind", STR),
        ("layer", I32),
        ("texts_per_emotion", I32),
        ("top1", F64),
        ("pc1_valence_r", F64),
        ("n_texts", I32),
    ],
    "invariance": [
        ("kind", STR),
        ("layer", I32),
        ("test_set", STR),
        ("perturbation", STR),
        ("n_texts", I32),
        ("family_same", F64),
        ("top1_same", F64),
        ("family_hit", F64),
        ("family_hit_before", F64),
    ],
    "scenario_scores": [
        ("scenario", STR),
        ("target", STR),
        ("kind", STR),
        ("layer", I32),
        ("emotion", STR),
        ("score", F64),
        ("rank", I32),
    ],
}

COSINES = pa.schema(
    [
        ("kind", STR),
        ("layer", I32),
        ("emotion_a", pa.dictionary(I32, STR)),
        ("emotion_b", pa.dictionary(I32, STR)),
        ("cosine", pa.float32()),
    ]
)


VALIDATION_RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("input", pa.string()),
        ("input_hash", pa.string()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("n_texts", pa.int32()),
        ("n_classes", pa.int32()),
        ("chance", pa.float64()),
        ("accuracy", pa.float64()),
        ("accuracy_low", pa.float64()),
        ("accuracy_high", pa.float64()),
        ("macro_f1", pa.float64()),
        ("macro_f1_low", pa.float64()),
        ("macro_f1_high", pa.float64()),
        ("per_class_f1", pa.string()),
        ("confusion", pa.string()),
        ("created_at", pa.string()),
    ]
)

VALIDATION_CLASSES = pa.schema(
    [
        ("run_id", pa.string()),
        ("input", pa.string()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("emotion", pa.string()),
        ("family", pa.string()),
        ("precision", pa.float64()),
        ("recall", pa.float64()),
        ("f1", pa.float64()),
        ("support", pa.int32()),
    ]
)
"""Per run of `validation_runs`, one row per emotion the labels use (`etl.evaluation.per_class`)."""

VALIDATION_FAMILIES = pa.schema(
    [
        ("run_id", pa.string()),
        ("input", pa.string()),
        ("kind", pa.string()),
        ("layer", pa.int32()),
        ("true_family", pa.string()),
        ("predicted_family", pa.string()),
        ("n", pa.int32()),
    ]
)
"""Per run of `validation_runs`, the confusion between emotion families: one row per pair that occurs."""
