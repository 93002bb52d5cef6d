"""`emolake validate`: figures per probe set on a user's labelled file, landed once per (file, probe set)."""

import json
from pathlib import Path

import pytest
from cli_checks import assert_one_line_error, snapshot

from etl.lake import Lake, views

pytestmark = pytest.mark.integration

ROWS = [
    ("My dog died this morning and the house is so quiet.", "sad"),
    ("We won the final and I cannot stop grinning!", "joy"),
    ("Someone is trying the back door handle and I am hiding in the bathroom.", "afraid"),
    ("How dare you read my messages behind my back?", "angry"),
    ("The tea is warm, the rain is soft, nothing needs doing today.", "calm"),
    ("I keep replaying the funeral in my head.", "grief"),
]


def write_input(path):
    lines = ["text,label"] + [f'"{text}",{label}' for text, label in ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_validate_reports_each_probe_set_and_lands_one_row_per_set(tiny_lake_copy, tmp_path, cli):
    labelled = write_input(tmp_path / "labelled.csv")
    (tmp_path / "map.json").write_text(json.dumps({"joy": "happy"}))
    args = ["--lake", tiny_lake_copy, "validate", "--input", labelled, "--text-column", "text"]
    args += [
        "--label-column",
        "label",
        "--label-map",
        tmp_path / "map.json",
        "--kinds",
        "expression",
        "short",
        "--json",
    ]
    code, out, err = cli(*args)
    assert code == 0, err
    rows = json.loads(out)
    assert [r["kind"] for r in rows] == ["expression", "short"]
    # "grief" maps to none of the tiny lake's six emotions: left out, and said so on stderr
    assert all(r["n_texts"] == 5 and r["n_classes"] == 5 and r["chance"] == 0.2 for r in rows)
    assert all(r["accuracy_low"] <= r["accuracy"] <= r["accuracy_high"] for r in rows)
    assert "grief" in err
    assert sum(sum(v.values()) for v in json.loads(rows[0]["confusion"]).values()) == 5
    assert cli(*args)[0] == 0  # the same file and probe sets again: replaced, not doubled
    stored = views.run(Lake(tiny_lake_copy), "select kind, count(*) as n from validation_runs group by 1 order by 1")
    assert stored.to_pylist() == [{"kind": "expression", "n": 1}, {"kind": "short", "n": 1}]


def test_labels_that_name_no_emotion_are_refused_without_touching_the_lake(tiny_lake_copy, tmp_path, cli):
    labelled = tmp_path / "bad.csv"
    labelled.write_text('text,label\n"one text",x\n"another text",y\n')
    before = snapshot(tiny_lake_copy)
    result = cli(
        "--lake", tiny_lake_copy, "validate", "--input", labelled, "--text-column", "text", "--label-column", "label"
    )
    assert_one_line_error(result, "--label-map")
    assert snapshot(tiny_lake_copy) == before


def test_the_shipped_six_basic_map_applies_and_per_class_and_family_rows_land(tiny_lake_copy, tmp_path, cli):
    root = Path(__file__).resolve().parents[2]
    coarse = [(text, {"sad": "sadness", "angry": "anger", "afraid": "fear"}.get(label)) for text, label in ROWS]
    labelled = tmp_path / "coarse.csv"
    labelled.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in coarse if label))
    args = ["--lake", tiny_lake_copy, "validate", "--input", labelled, "--text-column", "text", "--label-column"]
    code, out, err = cli(*args, "label", "--label-map", root / "data/examples/six_basic.csv", "--kinds", "short")
    assert code == 0, err
    assert "per class" in out and "precision" in out
    lake = Lake(tiny_lake_copy)
    classes = views.run(lake, "select emotion, family, support from validation_classes order by emotion")
    # sadness, anger and fear map onto sad, angry and afraid: one text each, with their families
    assert classes.to_pylist() == [
        {"emotion": "afraid", "family": "fear", "support": 1},
        {"emotion": "angry", "family": "anger", "support": 1},
        {"emotion": "sad", "family": "sadness", "support": 1},
    ]
    families = views.run(lake, "select true_family, sum(n) as n from validation_families group by 1 order by 1")
    assert families.to_pylist() == [
        {"true_family": "anger", "n": 1},
        {"true_family": "fear", "n": 1},
        {"true_family": "sadness", "n": 1},
    ]
    # the probe-quality page of the dashboard shows both tables (it reads only the lake)
    from dashboards.context import AppContext
    from dashboards.data import LakeReader
    from dashboards.live import LiveScorer
    from dashboards.pages import probe_quality

    ctx = AppContext(LakeReader(lake), LiveScorer(lake))
    shown = str(probe_quality.transfer(ctx, {"model": "tiny-random", "source": "reference", "layer": None}))
    assert "pq-validation_classes-table" in shown and "pq-validation_families-table" in shown
    assert "sadness" in shown
