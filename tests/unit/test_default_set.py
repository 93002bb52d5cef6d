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


def test_the_best_layers_view_shows_the_layers_the_policy_chose(tmp_path):
    """The view applies no rule of its own: for every kind its layer is `best_layer`'s, and it is degenerate exactly
    when `best_of` finds no layer (n_test missing, top1 missing, too few texts per emotion, ties)."""
    from etl.evaluation import tables
    from etl.lake import views
    from etl.probes.policy import best_of_each

    rows = [
        {"kind": "expression", "layer": 0, "top1": 0.5, "n_test": 18, "n_emotions": 6},
        {"kind": "expression", "layer": 1, "top1": 0.5, "n_test": 18, "n_emotions": 6},  # a tie: the lower layer
        {"kind": "expression", "layer": 2, "top1": 0.9, "n_test": 12, "n_emotions": 6},  # best figure, too few texts
        {"kind": "short", "layer": 0, "top1": None, "n_test": 0, "n_emotions": 6},
        {"kind": "short", "layer": 1, "top1": 0.25, "n_test": 6, "n_emotions": 6},
        {"kind": "pooled", "layer": 1, "top1": 0.25, "n_test": None, "n_emotions": 6},  # no count: the figure counts
        {"kind": "pooled", "layer": 2, "top1": 0.125, "n_test": 30, "n_emotions": 6},
    ]
    lake = Lake(tmp_path / "lake")
    for kind, layer in {(r["kind"], r["layer"]) for r in rows}:
        write_probes(lake, kind, layer)
    chosen = [{"kind": k, "layer": v} for k, v in best_of_each(rows).items()]
    for name, items in (("evaluation_layers", rows), ("chosen_layers", chosen)):
        lake.write(name, tables.from_rows(name, items), mode="replace", model="m", source="reference")
    shown = {r["kind"]: r for r in views.run(lake, "select * from best_layers").to_pylist()}
    assert {k: r["layer"] for k, r in shown.items()} == {"expression": 0, "short": None, "pooled": 1}
    for kind, row in shown.items():
        assert row["degenerate"] == (row["layer"] is None)
        if row["layer"] is not None:
            assert row["layer"] == best_layer(lake, "m", "reference", kind)
    assert shown["expression"]["top1"] == 0.5 and shown["expression"]["held_out_per_emotion"] == 3.0
    assert shown["short"]["top1"] is None and shown["short"]["held_out_per_emotion"] == 1.0
