"""The JSON API without a model: request bodies, the micro-batcher on a stand-in scorer, routes, errors, openapi."""

import threading
import time
from pathlib import Path

import pytest

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId
from etl.service import requests
from etl.service.app import ROUTES, api_words, create_app
from etl.service.batching import Batcher
from etl.service.requests import MAX_TEXTS, RequestError, parse_json, texts_request


def checked(body, one_text=False):
    return texts_request(body, None, "reference", one_text)


def test_a_good_body_keeps_its_texts_k_and_probe_set():
    one = checked({"text": "We won the final!", "k": 3, "layer": 2, "kind": "short"})
    assert (one.texts, one.single, one.k, one.truncate) == (["We won the final!"], True, 3, False)
    assert (one.probes.model, one.probes.source, one.probes.kind, one.probes.layer) == (None, "reference", "short", 2)
    many = texts_request({"texts": ["a b", "c d"], "truncate": True}, "tiny-random", "local")
    assert (many.single, many.k, many.truncate, many.probes.model, many.probes.source) == (
        False,
        5,
        True,
        "tiny-random",
        "local",
    )


@pytest.mark.parametrize(
    ("raw", "fragment", "status"),
    [
        (b"not json", "not JSON", 400),
        (b"\xff\xfe", "not JSON", 400),
        (b"[1, 2]", "JSON list, not an object", 400),
        (b'"text"', "JSON str, not an object", 400),
        (b"[" * 100_000, "not JSON", 400),
        (b" " * (requests.MAX_BODY + 1), "the limit is", 413),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(raw, fragment, status):
    with pytest.raises(RequestError, match=fragment) as caught:
        parse_json(raw)
    assert caught.value.status == status and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, 'give "text"'),
        ({"text": "a b", "texts": ["c d"]}, "not both"),
        ({"text": ""}, "row 0 is empty"),
        ({"text": "   "}, "row 0 is empty"),
        ({"text": 3}, "text is a JSON int"),
        ({"texts": []}, "non-empty list"),
        ({"texts": "a b"}, "non-empty list"),
        ({"texts": ["a b", None]}, "row 1 is a JSON NoneType"),
        ({"texts": ["a b", ""]}, "row 1 is empty"),
        ({"texts": ["a b"] * (MAX_TEXTS + 1)}, f"the limit is {MAX_TEXTS}"),
        ({"text": "x" * 100_001}, "the limit is 100,000"),
        ({"text": "bad \ud800 surrogate"}, "not valid Unicode"),
        ({"text": "a b", "k": 0}, "k 0: use a whole number from 1 to 171"),
        ({"text": "a b", "k": 172}, "k 172"),
        ({"text": "a b", "k": "5"}, 'k "5"'),
        ({"text": "a b", "k": True}, "k true"),
        ({"text": "a b", "k": 2.5}, "k 2.5"),
        ({"text": "a b", "layer": "9"}, 'layer "9"'),
        ({"text": "a b", "kind": ["short"]}, "kind "),
        ({"text": "a b", "truncate": "yes"}, "truncate"),
        ({"text": "a b", "txt": "typo"}, "unknown field 'txt'"),
        ({"text": "a b", "k": list(range(100))}, "k [0, 1"),
    ],
)
def test_a_bad_body_is_one_line_naming_the_bad_value(body, fragment):
    with pytest.raises(EmolakeError, match=fragment.replace("[", r"\[")) as caught:
        checked(body)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200


def test_score_takes_one_text_and_no_k():
    assert checked({"text": "a b"}, one_text=True).texts == ["a b"]
    with pytest.raises(RequestError, match="unknown field 'texts'"):
        checked({"texts": ["a b"]}, one_text=True)
    with pytest.raises(RequestError, match="unknown field 'k'"):
        checked({"text": "a b", "k": 3}, one_text=True)


def test_scorer_messages_name_the_body_fields_not_the_cli_flags():
    assert api_words("--layer 9 has no probes") == "layer 9 has no probes"
    assert api_words("split it, or pass --truncate to read") == 'split it, or pass "truncate": true to read'
    assert api_words("choose one with --model") == "choose one with model"


class StandIn:
    """A scorer whose `nearest` answers from the text alone, records each call, and refuses texts starting 'bad'."""

    probe_set = ProbeSetId("m", "reference", "expression", 1)

    def __init__(self):
        self.calls = []

    def nearest(self, texts, k, truncate=False):
        self.calls.append(list(texts))
        for row, text in enumerate(texts):
            if text.startswith("bad"):
                raise EmolakeError(f"text at row {row} is bad")
        return [[{"emotion": text, "score": float(len(text) + i)} for i in range(k)] for text in texts]


def run_together(batcher, calls):
    """Each (texts, k) on its own thread, all queued while the model lock is held; the answers (or errors)."""
    out = [None] * len(calls)

    def one(i, texts, k):
        try:
            out[i] = batcher.nearest(texts, k)
        except EmolakeError as exc:
            out[i] = exc

    with batcher.lock:
        threads = [threading.Thread(target=one, args=(i, *call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        while batcher.submitted < len(calls):
            time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=30)
    return out


def test_calls_queued_while_the_model_is_busy_share_one_batch_and_get_their_own_answers():
    scorer = StandIn()
    batcher = Batcher(scorer, threading.Lock(), window_s=0.0, max_texts=MAX_TEXTS)
    calls = [([f"text {i}", f"more {i}"] if i % 2 else [f"text {i}"], 2) for i in range(8)]
    answers = run_together(batcher, calls)
    assert answers == [scorer.nearest(texts, k) for texts, k in calls]
    assert (batcher.batches, batcher.last_batch) == (1, 8)
    assert len(scorer.calls[0]) == 12  # one scorer call for the 8 requests' 12 texts
    batcher.stop()


def test_a_batch_never_passes_max_texts_and_different_k_are_scored_apart():
    scorer = StandIn()
    batcher = Batcher(scorer, threading.Lock(), window_s=0.0, max_texts=4)
    calls = [([f"t{i}a", f"t{i}b"], 1 + i % 2) for i in range(6)]
    answers = run_together(batcher, calls)
    assert answers == [StandIn().nearest(texts, k) for texts, k in calls]
    assert all(len(texts) <= 4 for texts in scorer.calls)
    batcher.stop()


def test_a_bad_text_fails_only_its_own_call_naming_its_own_row():
    scorer = StandIn()
    batcher = Batcher(scorer, threading.Lock(), window_s=0.0, max_texts=MAX_TEXTS)
    answers = run_together(batcher, [(["good one"], 1), (["fine", "bad one"], 1), (["good two"], 1)])
    assert answers[0] == StandIn().nearest(["good one"], 1) and answers[2] == StandIn().nearest(["good two"], 1)
    assert isinstance(answers[1], EmolakeError) and str(answers[1]) == "text at row 1 is bad"
    batcher.stop()


def test_a_stopped_batcher_still_answers_its_late_callers():
    batcher = Batcher(StandIn(), threading.Lock(), window_s=0.0, max_texts=MAX_TEXTS)
    batcher.stop()
    assert batcher.nearest(["late"], 1) == StandIn().nearest(["late"], 1)


@pytest.fixture
def client(tmp_path):
    (tmp_path / "lake").mkdir()
    return create_app(Lake(tmp_path / "lake")).test_client()


def test_openapi_names_every_route_the_server_has(client):
    app = client.application
    spec = client.get("/api/v1/openapi.json").get_json()
    served = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("emolake_api.") and rule.endpoint != "emolake_api.unrouted"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert served == described and len(served) == len(ROUTES)
    assert spec["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("get", "/api/v1/nearest", None, 405, "GET is not allowed on /api/v1/nearest: use POST"),
        ("put", "/api/v1/health", None, 405, "use GET"),
        ("get", "/api/v1/nope", None, 404, "no route /api/v1/nope"),
        ("post", "/api/v1/", None, 404, "no route /api/v1/"),
        ("get", "/", None, 404, "the API is under /api/v1/"),
        ("post", "/api/v1/nearest", b"{", 400, "not JSON"),
        ("post", "/api/v1/classify", b'{"texts": []}', 400, "non-empty list"),
        ("post", "/api/v1/score", b'{"text": "a b", "k": 3}', 400, "unknown field 'k'"),
        ("post", "/api/v1/nearest", b'{"text": "a b"}', 404, "has no probes"),
    ],
)
def test_what_the_api_cannot_answer_is_a_4xx_with_one_json_line(client, method, path, body, status, fragment):
    response = getattr(client, method)(path, data=body, content_type="application/json")
    assert response.status_code == status and response.is_json
    assert set(response.get_json()) == {"error"} and fragment in response.get_json()["error"]
    assert "\n" not in response.get_json()["error"] and "Traceback" not in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_json_500_and_the_traceback_goes_to_the_log(client, monkeypatch, caplog):
    def broken():
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(client.application.emolake_api, "health", broken)
    response = client.get("/api/v1/health")
    assert response.status_code == 500 and response.get_json() == {
        "error": "internal error (a bug): the traceback is in the server's log"
    }
    assert "ZeroDivisionError" in caplog.text and "secret detail" not in response.get_data(as_text=True)


def test_health_and_probes_answer_on_a_lake_without_probes(client):
    health = client.get("/api/v1/health").get_json()
    assert health["status"] == "ok" and health["scorers"] == [] and health["batch_window_ms"] == 5
    assert client.get("/api/v1/probes").get_json() == {"probe_sets": []}


def test_serve_parses_api_only_and_the_batch_window_and_checks_it(cli, tmp_path):
    from etl.cli import parser

    args = parser().parse_args(["serve", "--api-only"])
    assert (args.host, args.api_only, args.batch_window_ms, args.max_batch) == ("127.0.0.1", True, 5.0, MAX_TEXTS)
    code, _, err = cli("--lake", tmp_path, "serve", "--max-batch", str(MAX_TEXTS + 1))
    assert code == 1 and f"use 1 to {MAX_TEXTS}" in err
    code, _, err = cli("--lake", tmp_path, "serve", "--api-only", "--batch-window-ms", "-1")
    assert code == 1 and "--batch-window-ms -1" in err
    code, _, err = cli("--lake", tmp_path / "missing", "serve", "--api-only")
    assert code == 1 and "no lake at" in err


def test_api_only_never_imports_dash():
    import subprocess
    import sys

    code = (
        "import sys; from etl.lake import Lake; from etl.service.app import create_app; "
        "create_app(Lake('.')).test_client().get('/api/v1/health'); print('dash' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_short_text_warning_starts_below_min_tokens():
    from etl.probes.policy import MIN_TOKENS
    from etl.probes.scoring import short_warning, short_warnings

    assert short_warning(MIN_TOKENS) is None and short_warning(MIN_TOKENS + 20) is None
    assert short_warning(MIN_TOKENS - 1).startswith(f"only {MIN_TOKENS - 1} tokens (under {MIN_TOKENS})")
    assert short_warning(1, readable=False).endswith("no emotions given")

    def words(texts, add_special_tokens):  # a stand-in tokenizer: one token per word, no BOS
        return {"input_ids": [text.split() for text in texts]}

    found = short_warnings(words, ["ugh", "thanks so much!!", "one two three four five six seven eight"])
    assert found[0].endswith("no emotions given") and "weak guess" in found[1] and found[2] is None
