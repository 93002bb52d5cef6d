"""The local writer once with the bundled SmolLM2: real stories and dialogues, each row landed once, dialogues with
exact spans, and no kept story naming its emotion."""

import json

import duckdb
import pytest

from etl import catalog, runner
from etl.config import load_preset
from etl.generation.plan import SPEAKER_NAMES
from etl.lake import Lake, views

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRESET = """
model = "bundled:smollm2-135m-instruct"
emotions = ["calm", "afraid"]
[generate]
sources = ["local"]
min_words = 20
[generate.local]
stories_per_emotion = 2
neutral_stories = 0
neutral_dialogues = 1
speaker_dialogues = 2
max_new_tokens = 100
dialogue_max_new_tokens = 120
batch_size = 4
"""


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("smolgen")
    (root / "gen.toml").write_text(PRESET)
    runner.execute("generate", load_preset(str(root / "gen.toml"), lake=root / "lake"))
    lake = Lake(root / "lake")
    sql = f"""
        select *, 'texts' as dataset from {views.scan(lake, "texts")}
        union all by name
        select *, 'rejects' as dataset from {views.scan(lake, "rejects")}
    """
    return duckdb.sql(sql).to_arrow_table().to_pylist()


def test_every_request_lands_once_with_provenance(rows):
    assert len(rows) == len({r["text_id"] for r in rows}) == 4 + 1 + 2
    for row in rows:
        assert row["source"] == "local" and row["writer_model"] == "smollm2-135m-instruct"
        assert row["prompt_hash"] and row["prompt_version"] and row["seed"] is not None and row["created_at"]
    assert all(len(r["text"].split()) > 10 for r in rows)  # real answers, not empty strings


def test_kept_stories_never_name_their_emotion(rows):
    for row in rows:
        if row["dataset"] == "texts" and row["corpus"] == "emotional_story":
            assert catalog.names_emotion(row["text"], row["emotion"]) is None


def test_dialogues_that_parse_carry_exact_spans(rows):
    dialogues = [r for r in rows if r["corpus"].endswith("dialogue")]
    # Every dialogue was started with its first label, so the model's answer is in the `Name: words` shape.
    assert all(r["text"].split(":", 1)[0] in ("Person", *SPEAKER_NAMES) for r in dialogues)
    for row in (r for r in dialogues if r["spans"]):
        spans = json.loads(row["spans"])
        for turn in spans["turns"]:
            assert row["text"][: turn["start"]].endswith(f"{turn['speaker']}: ")
            assert row["text"][turn["start"] : turn["end"]].strip() == row["text"][turn["start"] : turn["end"]]
        if row["dataset"] == "texts":
            expected = [s["name"] for s in spans["speakers"]] if "speakers" in spans else ["Person", "AI"]
            assert {t["speaker"] for t in spans["turns"]} == set(expected)
