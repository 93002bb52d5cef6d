"""The Gemini backend's pieces without a server: answer parsing, retry classification, backoff, budget, estimate,
and where the key comes from."""

import json

import pytest

from etl.config import Common, GeminiConfig, GenerateConfig
from etl.errors import EmolakeError
from etl.generation import prompts
from etl.generation.plan import Request, chunks, plan
from etl.generation.writers import gemini

CONFIG = GenerateConfig(
    common=Common(model="tiny-random", lake="lake", emotions=("afraid", "calm")),
    gemini=GeminiConfig(backoff_s=0.5, max_backoff_s=4.0),
)


def answer(items) -> str:
    return json.dumps({"items": items})


def test_story_items_come_back_in_id_order():
    items = prompts.parse_items("emotional_story", answer([{"id": 2, "text": "two"}, {"id": 1, "text": "one"}]), 2)
    assert [i["text"] for i in items] == ["one", "two"]


@pytest.mark.parametrize(
    "payload",
    [
        '{"items": [{"id": 1, "text": "cut',
        "",
        None,
        "[]",
        answer([{"id": 1, "text": "one"}]),
        answer([{"id": 1, "text": "one"}, {"id": 1, "text": "again"}]),
        answer([{"id": 1, "text": "one"}, {"id": 3, "text": "three"}]),
        answer([{"id": 1, "text": "one"}, {"id": 2, "text": "  "}]),
        answer([{"id": 1, "text": "one"}, {"id": 2, "text": "two"}, {"id": 3, "text": "three"}]),
    ],
)
def test_malformed_or_incomplete_answers_are_retryable(payload):
    with pytest.raises(prompts.MalformedAnswer):
        prompts.parse_items("emotional_story", payload, 2)


def test_dialogue_turns_must_use_the_schema_labels():
    good = [{"id": 1, "turns": [{"speaker": "A", "text": "Hi."}, {"speaker": "B", "text": "Hello."}]}]
    assert prompts.parse_items("speaker_dialogue", answer(good), 1)
    bad = [{"id": 1, "turns": [{"speaker": "Ana", "text": "Hi."}, {"speaker": "B", "text": "Hello."}]}]
    with pytest.raises(prompts.MalformedAnswer):
        prompts.parse_items("speaker_dialogue", answer(bad), 1)
    with pytest.raises(prompts.MalformedAnswer):
        prompts.parse_items("neutral_dialogue", answer([{"id": 1, "turns": []}]), 1)


def test_labels_become_the_items_speaker_names():
    request = Request("speaker_dialogue", 0, "t", "calm", partner_emotion="afraid", speakers=("Ana", "Bo"))
    item = {"id": 1, "turns": [{"speaker": "A", "text": "Hi  there."}, {"speaker": "B", "text": "Hello."}]}
    _, turns = prompts.item_text(request, item)
    assert [(t.speaker, t.text) for t in turns] == [("Ana", "Hi there."), ("Bo", "Hello.")]


def test_backoff_is_exponential_with_full_jitter_and_capped():
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        delays = [gemini.backoff(attempt, CONFIG) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in delays) and max(delays) > cap * 0.7


def test_the_budget_counts_every_request():
    budget = gemini.Budget(2)
    budget.take()
    budget.take()
    with pytest.raises(gemini.BudgetExhausted):
        budget.take()
    assert budget.used == 2


def test_classification_retries_rate_limits_server_errors_and_timeouts_only():
    import httpx2
    from google.genai import errors

    writer = gemini.Writer(CONFIG, client=None, budget=gemini.Budget(1), secret="sekrit")
    assert writer.classify(errors.APIError(429, {"error": {"status": "RESOURCE_EXHAUSTED"}}))[0]
    assert writer.classify(errors.APIError(503, {"error": {"status": "UNAVAILABLE"}}))[0]
    assert writer.classify(httpx2.ReadTimeout("timed out"))[0]
    assert writer.classify(prompts.MalformedAnswer("malformed JSON"))[0]
    assert not writer.classify(errors.APIError(400, {"error": {"status": "INVALID_ARGUMENT"}}))[0]
    assert not writer.classify(errors.APIError(403, {"error": {"message": "bad key sekrit"}}))[0]
    assert "sekrit" not in writer.classify(errors.APIError(403, {"error": {"message": "bad key sekrit"}}))[1]
    assert "sekrit" not in repr(writer)


def test_the_key_comes_from_either_variable_and_is_never_in_the_error(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "from-google")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert gemini.api_key() == "from-google"
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini")
    assert gemini.api_key() == "from-gemini"
    monkeypatch.setenv("GEMINI_API_KEY", " ")
    monkeypatch.delenv("GOOGLE_API_KEY")
    with pytest.raises(EmolakeError, match="GEMINI_API_KEY"):
        gemini.api_key()


def test_the_estimate_counts_requests_and_texts_and_scales_tokens():
    sizes = {
        "stories_per_emotion": 5,
        "neutral_stories": 0,
        "neutral_dialogues": 0,
        "deflection_per_target": 0,
        "speaker_dialogues": 0,
    }
    requests = plan(CONFIG, sizes, None)["emotional_story"]
    small = gemini.estimate(chunks("emotional_story", requests, 3, 2, "gemini", "m"))
    assert (small.requests, small.texts) == (4, 10)  # 5 per emotion in calls of 3: 3 + 2, for 2 emotions
    assert 1000 < small.output_tokens < 2000 and small.input_tokens > 4 * 100
    double = gemini.estimate(chunks("emotional_story", requests + requests, 3, 2, "gemini", "m"))
    assert double.output_tokens == 2 * small.output_tokens
    assert "4 requests to gemini-2.5-flash for 10 texts" in small.describe("gemini-2.5-flash")
