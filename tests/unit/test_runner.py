"""The run key that decides whether a stage is skipped."""

from etl import runner
from etl.config import load_preset
from etl.evaluation import evidence_tables, tables
from etl.lake import Lake


def test_the_run_key_is_stable_and_follows_the_config(tmp_path):
    preset = load_preset("tiny", lake=tmp_path)
    key = runner.run_key(Lake(tmp_path), "evaluate", preset.evaluate)
    assert key == runner.run_key(Lake(tmp_path), "evaluate", preset.evaluate)
    other = load_preset("tiny", lake=tmp_path, model="bundled:smollm2-135m-instruct")
    assert runner.run_key(Lake(tmp_path), "evaluate", other.evaluate) != key


def test_a_new_output_signature_changes_the_run_key(tmp_path, monkeypatch):
    preset = load_preset("tiny", lake=tmp_path)
    before = runner.run_key(Lake(tmp_path), "evaluate", preset.evaluate)
    monkeypatch.setattr("etl.stages.evaluate.OUTPUT_SIGNATURE", "a schema with one more column")
    assert runner.run_key(Lake(tmp_path), "evaluate", preset.evaluate) != before


def test_the_evaluation_signature_changes_with_any_column(monkeypatch):
    before = tables.signature()
    changed = {**tables.SCHEMAS, "evaluation_layers": [*tables.SCHEMAS["evaluation_layers"], ("extra", tables.F64)]}
    monkeypatch.setattr(tables, "SCHEMAS", changed)
    assert tables.signature() != before


def test_stages_without_a_signature_have_an_empty_one():
    assert runner.output_signature("generate") == ""
    assert runner.output_signature("evaluate") == tables.signature() + evidence_tables.signature()
