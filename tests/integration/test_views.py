"""Every view of `sql/` builds on the tiny lake; a broken view fails loudly, naming its file."""

import shutil

import pytest

from etl.errors import EmolakeError
from etl.lake import Lake, views
from etl.probes.policy import best_of_each

pytestmark = pytest.mark.integration


def test_every_view_builds_on_the_tiny_lake(tiny_lake_copy, cli):
    # Per-token scores too (`emolake score`), so that every dataset, and every view over it, exists.
    texts = tiny_lake_copy.parent / "score-input.csv"
    texts.write_text("id,text\nq1,The kettle clicked off and the kitchen went quiet again.\n")
    args = ("score", "--input", texts, "--text-column", "text", "--id-column", "id")
    code, _, err = cli("--lake", tiny_lake_copy, *args)
    assert code == 0, err
    # ... and a validation run (`emolake validate`), the other dataset only a user command fills.
    labelled = tiny_lake_copy.parent / "labelled.csv"
    labelled.write_text('text,label\n"We won the final!",happy\n"My cat died today.",sad\n')
    args = ("validate", "--input", labelled, "--text-column", "text", "--label-column", "label")
    code, _, err = cli("--lake", tiny_lake_copy, *args)
    assert code == 0, err
    # ... and an imported corpus (`emolake import`), which fills `imports`.
    corpus = tiny_lake_copy.parent / "stories.csv"
    corpus.write_text(
        "text,emotion,topic\n"
        '"She read the letter twice, folded it small, and kept it in her coat all winter long.",calm,a letter\n'
    )
    code, _, err = cli("--lake", tiny_lake_copy, "import", corpus, "--name", "mine", "--corpus", "emotional_story")
    assert code == 0, err
    catalog = views.connect(Lake(tiny_lake_copy))
    every = {path.stem for path in views.view_files()}
    assert catalog.missing == {}
    assert set(catalog.views) == every
    for name in every:
        catalog.con.execute(f"select * from {name} limit 1").fetchall()


def test_a_broken_view_raises_with_its_file_name(tiny_lake, tmp_path, monkeypatch):
    sql_dir = tmp_path / "sql"
    shutil.copytree(views.SQL_DIR, sql_dir)
    mart = sql_dir / "marts" / "best_layers.sql"
    mart.write_text(mart.read_text().replace("ev.top5,", "ev.no_such_column,"))
    monkeypatch.setattr(views, "SQL_DIR", sql_dir)
    with pytest.raises(EmolakeError, match=r"view `best_layers` \(sql/marts/best_layers.sql\) failed"):
        views.connect(Lake(tiny_lake))


def test_views_are_created_after_the_views_they_read():
    order = [view.name for view, _ in views.in_dependency_order([views.parse(p) for p in views.view_files()])]
    for view, reads in views.in_dependency_order([views.parse(p) for p in views.view_files()]):
        assert all(order.index(upstream) < order.index(view.name) for upstream in reads)
    assert order.index("steering_effects") < order.index("steering_summary")
    assert order.index("texts") < order.index("stories")


def test_a_view_over_an_absent_dataset_names_the_target_that_fills_it(tiny_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(tiny_lake, lake, ignore=shutil.ignore_patterns("steering_runs", "steering_judged"))
    catalog = views.connect(Lake(lake))
    assert catalog.missing == {
        "scores": "emolake score --input FILE --text-column COL",
        "imports": "emolake import (or the generate stage of a preset with an import:NAME source)",
        "validation_runs": "emolake validate --input FILE --text-column C --label-column L",
        "validation_classes": "emolake validate --input FILE --text-column C --label-column L",
        "validation_families": "emolake validate --input FILE --text-column C --label-column L",
        "steering_runs": "make steer",
        "steering_judged": "make steer",
        "steering_effects": "make steer",
        "steering_summary": "make steer",
        "steering_best": "make steer",
    }


def test_a_degenerate_probe_set_is_flagged_in_best_layers_and_the_summary(tiny_lake_copy, cli):

    lake = Lake(tiny_lake_copy)
    rows = lake.table("evaluation_layers").to_pyarrow_table().to_pylist()
    few = [row | {"source": "local", "n_test": row["n_emotions"] * 2} for row in rows]  # 2 texts per emotion held out
    lake.write("evaluation_layers", few, mode="replace", where={"model": "tiny-random", "source": "local"})
    chosen = [{"kind": k, "layer": v, "model": "tiny-random", "source": "local"} for k, v in best_of_each(few).items()]
    lake.write("chosen_layers", chosen, mode="replace", where={"model": "tiny-random", "source": "local"})
    best = views.run(lake, "select source, kind, layer, degenerate from best_layers where kind = 'expression'")
    flags = {(r["source"], r["degenerate"], r["layer"] is None) for r in best.to_pylist()}
    assert flags == {("reference", False, False), ("local", True, True)}
    code, out, _ = cli("--lake", tiny_lake_copy, "summary")
    assert code == 0 and "best expression layer tiny-random/local: none (degenerate: 2.0 held-out" in out
