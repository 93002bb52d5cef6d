"""The default probe set is picked by its stated rule from the evaluation, never by hand."""

import pyarrow as pa
from fake_lake import put

from etl.lake import Lake, atomic_path
from etl.probes.policy import best_layer, best_of, default_set


def write_probes(lake: Lake, kind: str, layer: int) -> None:
    table = pa.table({"emotion": ["calm"], "vector": [[1.0, 0.0]], "model_spec": ["tiny-random"]})
    put(table, lake.partition("probes", model="m", source="reference", kind=kind, layer=layer) / "part-0.parquet")
    with atomic_path(lake.faiss_path("m", "reference", kind, layer)) as tmp:  # committed, as the index stage does
        tmp.write_bytes(b"index")


def evaluation(lake: Lake, rows: list[dict]) -> None:
    rows = [{"n_test": 60, "n_emotions": 6} | row for row in rows]
    put(
        pa.Table.from_pylist(rows),
        lake.partition("evaluation_layers", model="m", source="reference") / "part-0.parquet",
    )


def test_the_best_mean_of_story_and_short_text_top1_wins_ties_to_the_lower_layer(tmp_path):
    lake = Lake(tmp_path)
    for kind, layer in (("expression", 3), ("pooled", 3), ("pooled", 5), ("short", 5)):
        write_probes(lake, kind, layer)
    evaluation(
        lake,
        [
            {"kind": "expression", "layer": 3, "top1": 0.5, "story_top1": 0.5, "short_top1": 0.0},  # mean 0.25
            # Binary fractions, so that the tie is exact on every machine.
            {"kind": "pooled", "layer": 3, "top1": 0.25, "story_top1": 0.25, "short_top1": 0.375},  # mean 0.3125
            {"kind": "pooled", "layer": 5, "top1": 0.125, "story_top1": 0.125, "short_top1": 0.5},  # mean 0.3125
            {"kind": "short", "layer": 5, "top1": 0.9, "story_top1": None, "short_top1": 0.9},  # not on both
        ],
    )
    assert default_set(lake, "m", "reference") == ("pooled", 3)


def test_an_unevaluated_lake_falls_back_to_the_expression_probes(tmp_path):
    lake = Lake(tmp_path)
    for layer in (0, 1, 2):
        write_probes(lake, "expression", layer)
    assert default_set(lake, "m", "reference") == ("expression", 2)


def test_a_degenerate_set_is_never_the_default_nor_the_best(tmp_path):
    lake = Lake(tmp_path)
    for kind, layer in (("expression", 1), ("expression", 2), ("pooled", 2)):
        write_probes(lake, kind, layer)
    evaluation(
        lake,
        [
            {"kind": "expression", "layer": 1, "top1": 0.25, "story_top1": 0.25, "short_top1": 0.25},
            # 2 texts per emotion held out: the best figures, and noise.
            {"kind": "expression", "layer": 2, "top1": 0.5, "story_top1": 0.5, "short_top1": 0.5, "n_test": 12},
            {"kind": "pooled", "layer": 2, "top1": 0.75, "story_top1": 0.75, "short_top1": 0.75, "n_test": 12},
        ],
    )
    assert default_set(lake, "m", "reference") == ("expression", 1)
    assert best_layer(lake, "m", "reference", "expression") == 1
    assert best_of([{"layer": 3, "top1": 0.9, "n_test": 5, "n_emotions": 5}]) is None
    assert best_of([{"layer": 3, "top1": 0.9, "n_test": 15, "n_emotions": 5}]) == 3


def test_the_best_layers_view_uses_the_same_threshold():
    from pathlib import Path

    from etl.probes.policy import MIN_HELD_OUT_PER_EMOTION

    mart = (Path(__file__).resolve().parents[2] / "sql" / "marts" / "best_layers.sql").read_text()
    assert f"n_test < {MIN_HELD_OUT_PER_EMOTION} * n_emotions" in mart
