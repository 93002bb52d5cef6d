"""The JSON API on the tiny lake: the same numbers as the CLI, batching under concurrent requests, errors as one
JSON line, the API beside the dashboards, and a real `emolake serve --api-only` talked to over HTTP."""

import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from etl.lake import Lake
from etl.probes.ids import ProbeSetId, ProbeSetQuery
from etl.probes.scoring import open_scorer
from etl.service.app import create_app

pytestmark = pytest.mark.integration
TEXTS = ["The storm took the roof and we ran.", "We won the final at last!", "The kettle clicked off."]
DEFAULT = ProbeSetQuery(None, "reference", None, None)


@pytest.fixture(scope="module")
def api(tiny_lake):
    return create_app(Lake(tiny_lake)).test_client()


def post(client, route, body):
    response = client.post(f"/api/v1/{route}", json=body)
    return response.status_code, response.get_json()


def test_nearest_and_classify_answer_what_the_cli_answers(api, tiny_lake, cli, tmp_path):
    scorer = open_scorer(Lake(tiny_lake))
    status, answer = post(api, "nearest", {"texts": TEXTS, "k": 3})
    assert status == 200 and answer["nearest"] == scorer.nearest(TEXTS, 3)
    assert (answer["model"], answer["source"], answer["kind"], answer["layer"]) == (
        scorer.probe_set.model,
        scorer.probe_set.source,
        scorer.probe_set.kind,
        scorer.probe_set.layer,
    )
    status, one = post(api, "nearest", {"text": TEXTS[0]})
    assert status == 200 and one["nearest"] == scorer.nearest(TEXTS[:1], 5)[0]

    source = tmp_path / "texts.csv"
    source.write_text("text\n" + "\n".join(TEXTS) + "\n")
    code, _, err = cli("--lake", tiny_lake, "classify", "--input", source, "--text-column", "text", "--output",
                       tmp_path / "out.parquet", "--k", "3")  # fmt: skip
    assert code == 0, err
    status, classified = post(api, "classify", {"texts": TEXTS, "k": 3})
    assert status == 200 and classified["rows"] == pq.read_table(tmp_path / "out.parquet").to_pylist()


def test_score_gives_the_numbers_of_emolake_score_and_the_token_viewer(api, tiny_lake):
    from dashboards.live import LiveScorer
    from etl import api as emolake  # the installed `emolake` may be another checkout's etl/api

    text = "I opened the letter and my hands shook."
    status, answer = post(api, "score", {"text": text})
    assert status == 200
    frame = emolake.open(tiny_lake).score(text)
    emotions, tokens = answer["emotions"], answer["tokens"]
    rows = [
        (0, token["token_idx"], token["token"], token["char_start"], token["char_end"], emotion, score)
        for token, scores in zip(tokens, answer["scores"], strict=True)
        for emotion, score in zip(emotions, scores, strict=True)
    ]
    assert rows == frame.rows()
    viewer = LiveScorer(Lake(tiny_lake)).score(
        text, ProbeSetId(answer["model"], answer["source"], answer["kind"], answer["layer"])
    )
    assert viewer.emotions == emotions and viewer.tokens == [t["token"] for t in tokens]
    assert np.allclose(np.array(answer["cosines"]), viewer.scores, atol=1e-4)


def test_probes_lists_every_set_and_marks_the_default(api, tiny_lake):
    from etl.probes.policy import default_set
    from etl.probes.stored import probe_sets, read

    status, answer = api.get("/api/v1/probes").status_code, api.get("/api/v1/probes").get_json()
    sets = answer["probe_sets"]
    lake = Lake(tiny_lake)
    assert status == 200 and [(s["model"], s["source"], s["kind"], s["layer"]) for s in sets] == [
        (m, s, k, layer) for m, _, s, k, layer in probe_sets(lake)
    ]
    (default,) = [s for s in sets if s["default"]]
    assert (default["kind"], default["layer"]) == default_set(lake, "tiny-random", "reference") and default["indexed"]
    stored = read(lake, "tiny-random", "reference", [default["kind"]], [default["layer"]])
    assert default["emotions"] == len(next(iter(stored.values())).emotions)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"text": "x" * 3000}, 400, 'tokens: the limit is 2048; split it, or pass "truncate": true'),
        ({"text": "We ran.", "kind": "nope"}, 404, "no probes of kind 'nope'"),
        ({"text": "We ran.", "layer": 99}, 404, "layer 99 has no probes: choose one of 0..3"),
        ({"text": "We ran.", "model": "gpt-9"}, 404, "no probes for model 'gpt-9'"),
        ({"text": "We ran.", "source": "elsewhere"}, 404, "no probes from source 'elsewhere'"),
    ],
)
def test_a_text_or_probe_set_the_lake_cannot_score_is_one_json_line(api, body, status, fragment):
    got, answer = post(api, "nearest", body)
    assert (got, list(answer)) == (status, ["error"]) and fragment in answer["error"] and "\n" not in answer["error"]


def test_a_single_token_text_gets_no_emotions_and_a_warning_not_an_error(api):
    got, answer = post(api, "nearest", {"texts": ["We ran.", "x"], "k": 2})
    assert got == 200 and len(answer["nearest"][0]) == 2 and answer["nearest"][1] == []
    assert answer["warnings"][1].endswith("no emotions given")


def test_truncate_reads_the_start_of_a_long_text(api):
    status, answer = post(api, "nearest", {"text": "x" * 3000, "truncate": True, "k": 1})
    assert status == 200 and len(answer["nearest"]) == 1


def test_concurrent_requests_share_a_batch_and_each_gets_its_own_answer(tiny_lake):
    app = create_app(Lake(tiny_lake), window_s=0.02)
    service = app.emolake_api
    texts = [f"{i}: {text}" for i, text in enumerate(TEXTS * 3)][:8]
    alone = {text: open_scorer(Lake(tiny_lake)).nearest([text], 5)[0] for text in texts}
    assert post(app.test_client(), "nearest", {"text": texts[0]})[0] == 200  # opens the scorer
    batcher = service.scorers.get(DEFAULT)
    answers = {}

    def ask(text):
        answers[text] = post(app.test_client(), "nearest", {"text": text})

    with service.lock:  # the model is busy: every request queues behind it
        threads = [threading.Thread(target=ask, args=(text,)) for text in texts]
        for thread in threads:
            thread.start()
        while batcher.submitted < 1 + len(texts):
            time.sleep(0.005)
    for thread in threads:
        thread.join(timeout=120)
    assert batcher.last_batch == len(texts)
    for text in texts:
        status, answer = answers[text]
        assert status == 200 and [m["emotion"] for m in answer["nearest"]] == [m["emotion"] for m in alone[text]]
        assert np.allclose([m["score"] for m in answer["nearest"]], [m["score"] for m in alone[text]], atol=2e-4)


def test_serve_mounts_the_api_beside_the_dashboards_on_loopback(tiny_lake, cli, monkeypatch):
    import flask

    started = {}
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kwargs: started.update(app=self, **kwargs))
    code, out, err = cli("--lake", tiny_lake, "serve")
    assert code == 0 and out == "" and started["host"] == "127.0.0.1", err
    app = started["app"]
    client = app.test_client()
    assert client.get("/").status_code == 200 and "_dash-" in client.get("/").get_data(as_text=True)
    assert post(client, "nearest", {"text": TEXTS[0], "k": 2})[0] == 200
    assert client.get("/api/v1/nearest").status_code == 405 and client.get("/api/v1/nope").status_code == 404
    assert client.get("/api/v1/nope").get_json() == {
        "error": "no route /api/v1/nope: the routes are "
        "['/classify', '/health', '/nearest', '/openapi.json', '/probes', '/score'] (/api/v1/openapi.json)"
    }
    served = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and "<" not in r.rule}
    assert served - {"/api/v1/"} == set(client.get("/api/v1/openapi.json").get_json()["paths"])
    started.clear()
    code, _, _ = cli("--lake", tiny_lake, "serve", "--api-only", "--port", "8123")
    assert code == 0 and started["port"] == 8123 and client.get("/").status_code == 200
    assert started["app"].test_client().get("/").status_code == 404
