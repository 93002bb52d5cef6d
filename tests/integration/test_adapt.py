"""`emolake adapt`: a probe set built from a user's labelled texts, compared by k-fold, selectable by its name and
never the default."""

import json

import pyarrow.parquet as pq
import pytest
from cli_checks import assert_one_line_error, snapshot

from etl.lake import Lake
from etl.probes import policy, stored

pytestmark = pytest.mark.integration

TEXTS = {
    "fear": ["someone is at the back door at 3am", "the brakes stopped working on the hill", "lump on my neck"],
    "joy": ["we won the cup!!! :D", "got the job, party tonight", "the baby laughed for the first time"],
    "sadness": ["my old dog died today", "nobody came to my party", "she moved away this morning"],
}
MAP = "label,emotion\nfear,afraid\njoy,happy\nsadness,sad\n"


def write_input(tmp_path):
    labelled = tmp_path / "mine.csv"
    labelled.write_text("text,emotion\n" + "".join(f'"{t}",{label}\n' for label, ts in TEXTS.items() for t in ts))
    (tmp_path / "map.csv").write_text(MAP)
    return labelled, tmp_path / "map.csv"


def test_adapt_builds_compares_and_lands_a_set_selectable_by_name_and_never_the_default(tiny_lake_copy, tmp_path, cli):
    lake = Lake(tiny_lake_copy)
    model = stored.pick_model(lake, None, "reference")[0]
    before = policy.default_set(lake, model, "reference")
    labelled, mapping = write_input(tmp_path)
    args = ["--lake", tiny_lake_copy, "adapt", "--input", labelled, "--map", mapping, "--name", "mine"]
    code, out, err = cli(*args, "--folds", "3", "--json")
    assert code == 0, err
    rows = {r["method"].split(" ")[0]: r for r in json.loads(out)}
    assert set(rows) == {"adapted", "default", "lexical", "null"}
    assert all(r["n_texts"] == 9 and r["n_classes"] == 3 and r["folds"] == 3 for r in rows.values())
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["chance"] == pytest.approx(1 / 3) for r in rows.values())
    assert all(r["accuracy_low"] <= r["accuracy"] <= r["accuracy_high"] for r in rows.values())
    assert all(r["macro_f1_low"] <= r["macro_f1"] <= r["macro_f1_high"] for r in rows.values())
    gain = rows["adapted"]["accuracy"] - rows["default"]["accuracy"]
    assert rows["adapted"]["gain"] == pytest.approx(gain) and rows["adapted"]["gain_low"] <= rows["adapted"]["gain"]
    assert rows["default"]["gain"] is None
    # landed: the three mapped emotions, under source "mine", kind short, at the default set's layer
    sets = stored.read(Lake(tiny_lake_copy), model, "mine")
    assert list(sets) == [("mine", "short", before[1])]
    adapted = sets[("mine", "short", before[1])]
    assert adapted.emotions == ["afraid", "happy", "sad"] and adapted.estimator == "adapt"
    assert adapted.forms and adapted.center is not None
    # selectable by name: nearest and classify read it with --source mine (and only its emotions come back)
    code, out, err = cli("--lake", tiny_lake_copy, "nearest", "my cat ran away", "--source", "mine", "--json")
    assert code == 0, err
    assert {m["emotion"] for m in json.loads(out)} <= {"afraid", "happy", "sad"}
    source = tmp_path / "in.csv"
    source.write_text('body\n"the bus left without me"\n"we got engaged :)"\n')
    args_classify = ["--input", source, "--text-column", "body", "--source", "mine", "--output", tmp_path / "o.parquet"]
    code, _, err = cli("--lake", tiny_lake_copy, "classify", *args_classify)
    assert code == 0, err
    rows = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert all(set(r["emotions"]) <= {"afraid", "happy", "sad"} for r in rows) and len(rows) == 2
    # never the default: the reference source's default set is what it was
    assert policy.default_set(Lake(tiny_lake_copy), model, "reference") == before
    code, out, _ = cli("--lake", tiny_lake_copy, "nearest", "my cat ran away", "--json", "--k", "6")
    assert code == 0 and len(json.loads(out)) == 6  # the default set holds the tiny lake's six emotions
    # running it again replaces the set, not doubles it
    assert cli(*args, "--folds", "3")[0] == 0
    assert len(stored.read(Lake(tiny_lake_copy), model, "mine")[("mine", "short", before[1])].emotions) == 3


def test_adapt_refuses_a_pipeline_source_and_too_few_texts_without_touching_the_lake(tiny_lake_copy, tmp_path, cli):
    labelled, mapping = write_input(tmp_path)
    before = snapshot(tiny_lake_copy)
    args = ["--lake", tiny_lake_copy, "adapt", "--input", labelled, "--map", mapping]
    assert_one_line_error(cli(*args, "--name", "reference"), "--name")
    few = tmp_path / "few.csv"
    few.write_text('text,emotion\n"one text",afraid\n"another text",happy\n')
    assert_one_line_error(cli("--lake", tiny_lake_copy, "adapt", "--input", few, "--name", "few"), "2 texts")
    assert snapshot(tiny_lake_copy) == before
