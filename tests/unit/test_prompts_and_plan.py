"""Prompts (versioned, hashed, complete) and the writers' plan (deterministic, stable under growth, chunked)."""

import re

import pytest

from etl import catalog
from etl.config import Common, GeminiConfig, GenerateConfig, LocalConfig
from etl.config.base import WRITER_CORPORA as CORPORA
from etl.errors import EmolakeError
from etl.generation import prompts
from etl.generation.plan import Pairs, Request, build_row, chunks, norm_pairs, plan
from etl.generation.texts import parse_turns

EMOTIONS = ("afraid", "calm", "happy", "sad", "proud", "angry")


def config(**values) -> GenerateConfig:
    return GenerateConfig(common=Common(model="tiny-random", lake="lake", emotions=EMOTIONS), **values)


SIZES = {
    "stories_per_emotion": 3,
    "neutral_stories": 4,
    "neutral_dialogues": 2,
    "deflection_per_target": 2,
    "speaker_dialogues": 6,
}
STORIES_ONLY = {**dict.fromkeys(SIZES, 0), "stories_per_emotion": 3}


@pytest.mark.parametrize("source", ["local", "gemini"])
def test_every_corpus_has_a_distinct_stable_hash(source):
    hashes = [prompts.template_hash(c, source) for c in CORPORA]
    assert len(set(hashes)) == len(CORPORA) and all(re.fullmatch(r"[0-9a-f]{16}", h) for h in hashes)
    assert hashes == [prompts.template_hash(c, source) for c in CORPORA]
    assert set(hashes).isdisjoint(prompts.template_hash(c, "gemini" if source == "local" else "local") for c in CORPORA)


def test_records_store_each_template_by_its_hash():
    for row in prompts.records("gemini", CORPORA):
        assert row["prompt_hash"] == prompts.template_hash(row["corpus"], "gemini")
        assert row["prompt_version"] == prompts.PROMPT_VERSION and "{topic}" in row["template"]


def test_local_prompts_fill_every_field():
    requests = plan(config(), SIZES, norm_pairs(EMOTIONS))
    for corpus, rows in requests.items():
        text = prompts.render(corpus, **rows[0].fields())
        assert "{" not in text and rows[0].topic in text
        if rows[0].emotion:
            assert rows[0].emotion in text
    speaker = requests["speaker_dialogue"][0]
    assert prompts.assistant_prefix("speaker_dialogue", **speaker.fields()) == f"{speaker.speakers[0]}:"
    assert prompts.assistant_prefix("emotional_story", **speaker.fields()) == ""


def test_a_gemini_prompt_lists_every_item_with_its_id_and_the_schema_asks_for_exactly_n():
    items = [
        {"id": i + 1, **Request("deflection_dialogue", i, f"topic {i}", "afraid", "calm").fields()} for i in range(3)
    ]
    text = prompts.gemini_prompt("deflection_dialogue", items)
    assert "Write 3 different texts" in text
    assert all(f"{i + 1}. topic: topic {i}; Person feels afraid but presents calm" in text for i in range(3))
    schema = prompts.response_schema("deflection_dialogue", 3)["properties"]["items"]
    assert schema["minItems"] == schema["maxItems"] == 3
    assert schema["items"]["properties"]["turns"]["items"]["properties"]["speaker"]["enum"] == ["Person", "AI"]
    assert prompts.dialogue_labels("speaker_dialogue") == ("A", "B")


def test_the_plan_covers_every_size_and_is_deterministic():
    pairs = norm_pairs(EMOTIONS)
    first, second = plan(config(deflection_targets=3), SIZES, pairs), plan(config(deflection_targets=3), SIZES, pairs)
    assert first == second
    assert {c: len(r) for c, r in first.items()} == {
        "emotional_story": 18,
        "neutral_story": 4,
        "neutral_dialogue": 2,
        "deflection_dialogue": 6,
        "speaker_dialogue": 6,
    }
    ids = [r.id_for("local", "m") for rs in first.values() for r in rs]
    assert len(ids) == len(set(ids))
    stories = first["emotional_story"]
    assert all(len({r.topic for r in stories if r.emotion == e}) == 3 for e in EMOTIONS)
    for request in first["deflection_dialogue"]:
        assert request.displayed in pairs.candidates[request.emotion]
    for request in first["speaker_dialogue"]:
        assert request.partner_emotion != request.emotion and len(set(request.speakers)) == 2


def test_a_paper_sized_plan_visits_every_topic_equally():
    sizes = {**dict.fromkeys(SIZES, 0), "stories_per_emotion": 200}
    stories = plan(config(), sizes, None)["emotional_story"]
    per_topic = {}
    for r in stories:
        if r.emotion == "calm":
            per_topic[r.topic] = per_topic.get(r.topic, 0) + 1
    assert len(per_topic) == len(catalog.topics()) and set(per_topic.values()) == {2}


@pytest.mark.parametrize(("per_call", "per_chunk", "before_size"), [(1, 4, 2), (3, 2, 3)])
def test_raising_a_size_keeps_every_full_chunk(per_call, per_chunk, before_size):
    # (A chunk with a partial call changes when the size grows; its landed rows are not asked for again.)
    small = plan(config(), {**STORIES_ONLY, "stories_per_emotion": before_size}, None)["emotional_story"]
    large = plan(config(), {**STORIES_ONLY, "stories_per_emotion": 7}, None)["emotional_story"]
    before = chunks("emotional_story", small, per_call, per_chunk, "local", "m")
    after = chunks("emotional_story", large, per_call, per_chunk, "local", "m")
    complete = [c for c in before if sum(map(len, c.calls)) == per_call * per_chunk]
    assert complete and {c.key for c in complete} <= {c.key for c in after}


def test_calls_group_one_emotion_and_chunks_cover_every_request_once():
    requests = plan(config(), STORIES_ONLY, None)["emotional_story"]
    made = chunks("emotional_story", requests, 2, 3, "gemini", "m")
    assert all(len({r.emotion for r in call}) == 1 and len(call) <= 2 for c in made for call in c.calls)
    assert sorted(r.id_for("gemini", "m") for c in made for r in c.requests) == sorted(
        r.id_for("gemini", "m") for r in requests
    )
    assert len({c.key for c in made}) == len(made)


def test_norm_pairs_are_opposite_in_valence():
    norms = catalog.norms()
    pairs = norm_pairs(catalog.emotions())
    assert pairs.source == "norms:valence" and len(pairs.candidates) > 100
    for target, displayed in pairs.candidates.items():
        assert all((norms[d]["valence"] - 5) * (norms[target]["valence"] - 5) < 0 for d in displayed)
    assert "happy" in pairs.candidates["sad"] or "joyful" in pairs.candidates["sad"]


def test_deflection_without_pairs_is_refused():
    with pytest.raises(EmolakeError, match="pairs"):
        plan(config(), SIZES, None)


def test_build_row_parses_a_local_dialogue_into_exact_spans():
    request = Request("speaker_dialogue", 0, "a bus ride", "calm", partner_emotion="afraid", speakers=("Ana", "Bo"))
    provenance = {"source": "local", "writer_model": "m", "prompt_hash": "h", "seed": 1, "pair_source": None}
    row = build_row(request, "Ana: Nice day.\n\n**Bo:** Is it?\nAna: It is.", None, provenance)
    assert row["text"] == "Ana: Nice day.\nBo: Is it?\nAna: It is."
    assert '"speakers": [{"name": "Ana", "emotion": "calm"}, {"name": "Bo", "emotion": "afraid"}]' in row["spans"]
    assert parse_turns(row["text"])[1].text == "Is it?"
    story = build_row(Request("emotional_story", 0, "t", "calm"), "  A story.  ", None, provenance)
    assert story["text"] == "A story." and "spans" not in story


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"local": {"neutral_dialogues": -1}}, "generate.local.neutral_dialogues = -1"),
        ({"local": {"batch_size": 0}}, "generate.local.batch_size = 0"),
        ({"deflection_pairs": "random"}, "deflection_pairs"),
        ({"near_duplicate": 0.0}, "near_duplicate"),
        ({"min_english": 1.0}, "min_english"),
        ({"dialogue_min_words": 700}, "dialogue_min_words"),
        ({"gemini": {"backoff_s": 90.0}}, "generate.gemini.backoff_s"),
        ({"gemini": {"concurrency": 0}}, "generate.gemini.concurrency"),
        ({"gemini": {"model": " "}}, "generate.gemini.model"),
    ],
)
def test_bad_generate_values_are_refused_with_their_name(values, message):
    nested = {"local": LocalConfig, "gemini": GeminiConfig}
    with pytest.raises(EmolakeError, match=message):
        config(**{k: nested[k](**v) if k in nested else v for k, v in values.items()})


def test_pairs_type_holds_candidates_per_target():
    pairs = Pairs({"afraid": ("calm",)}, "test")
    requests = plan(config(deflection_targets=1), {**dict.fromkeys(SIZES, 0), "deflection_per_target": 2}, pairs)
    assert [(r.emotion, r.displayed) for r in requests["deflection_dialogue"]] == [("afraid", "calm")] * 2
