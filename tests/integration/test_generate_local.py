"""The local writer on the tiny random model: every corpus planned and landed once, a killed run resumes without
duplicates (and writes what an uninterrupted run writes), finished chunks are never rewritten, and the
generation-quality mart reads the result."""

import dataclasses
import json

import duckdb
import pytest

from etl import runner
from etl.config import load_preset
from etl.generation import landing
from etl.generation.plan import norm_pairs, plan
from etl.lake import Lake, views
from etl.stages import generate

pytestmark = pytest.mark.integration

PRESET = """
model = "tiny-random"
emotions = ["afraid", "calm", "happy"]
[generate]
sources = ["local"]
deflection_pairs = "norms"
deflection_targets = 2
[generate.local]
stories_per_emotion = 2
neutral_stories = 2
neutral_dialogues = 2
deflection_per_target = 1
speaker_dialogues = 3
batch_size = 3
max_new_tokens = 8
dialogue_max_new_tokens = 8
"""
N_ROWS = 6 + 2 + 2 + 2 + 3


def preset_at(tmp_path, name: str, *overrides: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(PRESET)
    return load_preset(str(path), lake=tmp_path / name, overrides=overrides)


def landed(lake: Lake) -> list[dict]:
    sql = f"""
        select *, 'texts' as dataset from {views.scan(lake, "texts")}
        union all by name
        select *, 'rejects' as dataset from {views.scan(lake, "rejects")}
    """
    return duckdb.sql(sql).to_arrow_table().to_pylist()


def files(lake: Lake) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in lake.root.rglob("*.parquet") if "manifest" not in p.parts}


def planned_ids(preset) -> set[str]:
    config = preset.generate
    requests = plan(config, config.writer_sizes("local"), norm_pairs(("afraid", "calm", "happy")))
    return {r.id_for("local", "tiny-random") for rs in requests.values() for r in rs}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("whole")
    preset = preset_at(tmp_path, "lake")
    runner.execute("generate", preset)
    return preset, Lake(tmp_path / "lake")


def test_every_planned_row_lands_once_with_provenance(uninterrupted):
    preset, lake = uninterrupted
    rows = landed(lake)
    assert sorted(r["text_id"] for r in rows) == sorted(planned_ids(preset))
    assert {r["corpus"] for r in rows} == {
        "emotional_story",
        "neutral_story",
        "neutral_dialogue",
        "deflection_dialogue",
        "speaker_dialogue",
    }
    for row in rows:
        assert row["source"] == "local" and row["writer_model"] == "tiny-random"
        assert row["prompt_hash"] and row["prompt_version"] and row["created_at"] and row["temperature"] == 0.8
        assert row["seed"] is not None
    # The random model writes noise: the filters refuse it, each with a reason and what it found.
    rejected = [r for r in rows if r["dataset"] == "rejects"]
    assert rejected and all(r["reason"] and r["detail"] for r in rejected)
    # Dialogues are started with their first label, so even noise arrives in the `Name: words` shape.
    assistant = [r for r in rows if r["corpus"] in ("neutral_dialogue", "deflection_dialogue")]
    assert assistant and all(r["text"].startswith("Person:") for r in assistant)


def test_a_killed_run_resumes_without_duplicates_and_matches_an_uninterrupted_one(tmp_path, monkeypatch, uninterrupted):
    _, whole = uninterrupted
    preset = preset_at(tmp_path, "lake")
    lake = Lake(tmp_path / "lake")
    real = landing.write_chunk_files
    calls = {"n": 0}

    def dying(lake_, source, corpus, key, kept, rejected):
        calls["n"] += 1
        if calls["n"] == 4:
            # Dies once the chunk is generated, before it lands (kills between its two commits: test_crash.py).
            raise KeyboardInterrupt
        return real(lake_, source, corpus, key, kept, rejected)

    monkeypatch.setattr(generate, "write_chunk_files", dying)
    monkeypatch.setattr(landing, "write_chunk_files", dying)
    with pytest.raises(KeyboardInterrupt):
        runner.execute("generate", preset)
    finished = files(lake)
    before_kill = {r["text_id"] for r in landed(lake)}
    assert finished and 0 < len(before_kill) < N_ROWS  # the first 3 chunks landed, the rest did not
    monkeypatch.setattr(generate, "write_chunk_files", real)
    runner.execute("generate", preset)
    rows = landed(lake)
    ids = [r["text_id"] for r in rows]
    assert len(ids) == len(set(ids)) == N_ROWS
    assert all(files(lake)[p] == t for p, t in finished.items()), "a finished chunk was written again"
    by_id = {r["text_id"]: r["text"] for r in landed(whole)}
    assert {r["text_id"]: r["text"] for r in rows} == by_id  # same seeds per chunk: the same texts
    before = files(lake)
    generate.run(preset.generate)  # nothing left: no model is loaded, nothing is written
    assert files(lake) == before


def test_raising_a_size_asks_only_for_the_new_rows(tmp_path):
    preset = preset_at(tmp_path, "lake")
    runner.execute("generate", preset)
    lake = Lake(tmp_path / "lake")
    # 2 neutral stories in chunks of 3 leave a partial chunk; with 4 it becomes a new chunk whose first two rows
    # already landed, so only the 3rd and 4th stories are written.
    local = dataclasses.replace(preset.generate.local, neutral_stories=4)
    generate.run(dataclasses.replace(preset.generate, local=local))
    rows = landed(lake)
    ids = [r["text_id"] for r in rows]
    assert len(ids) == len(set(ids)) == N_ROWS + 2
    assert len([r for r in rows if r["corpus"] == "neutral_story"]) == 4


def test_regenerate_rewrites_without_duplicates(tmp_path):
    preset = preset_at(tmp_path, "lake", "generate.regenerate=true")
    runner.execute("generate", preset)
    lake = Lake(tmp_path / "lake")
    before = files(lake)
    generate.run(preset.generate)
    ids = [r["text_id"] for r in landed(lake)]
    assert len(ids) == len(set(ids)) == N_ROWS
    assert all(files(lake)[p] != t for p, t in before.items() if "/texts/" in p)


def test_the_quality_mart_and_prompts_are_queryable(uninterrupted):
    _, lake = uninterrupted
    rows = views.run(lake, "select * from generation_quality").to_pylist()
    assert {r["corpus"] for r in rows} >= {"emotional_story", "speaker_dialogue"}
    total = sum(r["n_generated"] for r in rows)
    assert total == N_ROWS
    for row in rows:
        assert row["n_generated"] == row["n_kept"] + row["n_rejected"]
        assert 0.0 <= row["reject_rate"] <= 1.0
        reasons = json.loads(row["rejects_by_reason"]) if row["rejects_by_reason"] else {}
        assert sum(reasons.values()) == row["n_rejected"]
    prompts = duckdb.sql(f"select corpus from {views.scan(lake, 'prompts')}").fetchall()
    assert len(prompts) == 5
