"""The Gemini backend through the real google-genai client, pointed at a fake generateContent server on 127.0.0.1.

The server answers like the Gemini API (candidates, usage metadata, JSON that follows the request's response
schema) and can be told to fail: 429, 500, a timeout, malformed JSON, a short answer, or a fatal 400. Whatever it
does, a run must end with every requested row exactly once and the API key nowhere in the outputs.
"""

import contextlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import numpy as np
import pytest

from etl import runner
from etl.config import load_preset
from etl.errors import EmolakeError
from etl.generation.plan import norm_pairs, plan
from etl.lake import Lake, views

pytestmark = pytest.mark.integration

KEY = "AIzaFAKE-emolake-test-key-0123456789"
EMOTIONS = ["afraid", "calm", "happy", "sad", "proud", "angry"]
NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jia"]


def words(text: str) -> list[str]:
    return text.split()


# Plain vocabulary (no emotion word or derivative): random sentences from it are English and never near-duplicates.
NOUNS = words(
    "kettle ladder window bicycle garden ticket station notebook bridge lantern basket harbor market tractor "
    "library pencil blanket river mailbox bakery compass violin carpet engine orchard tunnel helmet bucket cabinet "
    "canal"
)
ADJECTIVES = words("red narrow wooden old square wet heavy small blue tall metal round green long flat")
VERBS = words("carried moved painted opened cleaned fixed checked counted lifted measured sorted folded washed stacked")
PLACES = words("near behind beside under above inside past toward across along")


def sentence(rng: random.Random) -> str:
    return (
        f"Then {rng.choice(NAMES)} {rng.choice(VERBS)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} "
        f"{rng.choice(PLACES)} the {rng.choice(NOUNS)} and the {rng.choice(NOUNS)}."
    )


class FakeGemini:
    """A generateContent endpoint; `script` lists how the first requests fail, then every request succeeds."""

    def __init__(self, script=(), hang_s: float = 1.0) -> None:
        self.script, self.hang_s = list(script), hang_s
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.answer(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler, body: dict) -> None:
        with self.lock:
            mode = self.script.pop(0) if self.script else "ok"
            number = len(self.requests)
            self.requests.append({"path": handler.path, "key": handler.headers.get("x-goog-api-key"), "mode": mode})
        schema = body["generationConfig"]["responseSchema"]["properties"]["items"]
        n = int(schema.get("max_items", schema.get("maxItems")))
        if mode in ("429", "500", "400"):
            status = {"429": "RESOURCE_EXHAUSTED", "500": "INTERNAL", "400": "INVALID_ARGUMENT"}[mode]
            return self.send(handler, int(mode), {"error": {"code": int(mode), "message": "fake", "status": status}})
        if mode == "timeout":
            time.sleep(self.hang_s)
        if mode == "malformed":
            return self.send(handler, 200, self.envelope('{"items": [{"id": 1, "text": "The kettle was'))
        items = self.items(schema["items"], n, random.Random(number))
        if mode == "short":
            items = items[:-1]
        with contextlib.suppress(OSError):  # after a timeout the client has hung up
            self.send(handler, 200, self.envelope(json.dumps({"items": items})))

    @staticmethod
    def items(item_schema: dict, n: int, rng: random.Random) -> list[dict]:
        turns = item_schema["properties"].get("turns")
        if turns is None:
            return [{"id": i + 1, "text": " ".join(sentence(rng) for _ in range(7))} for i in range(n)]
        labels = turns["items"]["properties"]["speaker"]["enum"]
        out = []
        for i in range(n):
            spoken = [{"speaker": labels[t % 2], "text": f"{sentence(rng)} {sentence(rng)}"} for t in range(4)]
            out.append({"id": i + 1, "turns": spoken})
        rng.shuffle(out)  # ids, not positions, tie answers to items
        return out

    @staticmethod
    def envelope(text: str) -> dict:
        usage = {"promptTokenCount": 200, "candidatesTokenCount": 300, "totalTokenCount": 500}
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        return {"candidates": [candidate], "usageMetadata": usage}

    @staticmethod
    def send(handler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def preset_file(tmp_path, url: str, gemini: dict | None = None, **overrides) -> str:
    """A preset for the fake server; `gemini` overrides values of [generate.gemini], `overrides` of [generate]."""
    values = {"sources": ["gemini"], "deflection_pairs": "norms", "deflection_targets": 3, **overrides}
    writer = {
        "model": "gemini-fake",
        "stories_per_emotion": 5,
        "neutral_stories": 4,
        "neutral_dialogues": 3,
        "deflection_per_target": 2,
        "speaker_dialogues": 6,
        "stories_per_call": 3,
        "dialogues_per_call": 2,
        "calls_per_chunk": 2,
        "concurrency": 3,
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "timeout_s": 0.5,
        "base_url": url,
        **(gemini or {}),
    }
    lines = ['model = "tiny-random"', f"emotions = {json.dumps(EMOTIONS)}", "[generate]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    lines += ["[generate.gemini]"] + [f"{k} = {json.dumps(v)}" for k, v in writer.items()]
    path = tmp_path / f"gemini-{len(list(tmp_path.glob('*.toml')))}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    return KEY


def planned_ids(preset) -> set[str]:
    config = preset.generate
    requests = plan(config, config.writer_sizes("gemini"), norm_pairs(tuple(EMOTIONS)))
    return {r.id_for("gemini", config.gemini.model) for rs in requests.values() for r in rs}


def landed(lake: Lake) -> list[dict]:
    sql = f"""
        select *, 'texts' as dataset from {views.scan(lake, "texts")}
        union all by name
        select *, 'rejects' as dataset from {views.scan(lake, "rejects")}
    """
    return duckdb.sql(sql).to_arrow_table().to_pylist()


def assert_no_key_anywhere(root, *texts: str) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    for text in texts:
        assert KEY not in text


def test_every_row_exactly_once_through_failures_and_no_key_anywhere(tmp_path, key, capsys, caplog):
    script = ["429", "500", "timeout", "malformed", "short", "429"]
    with FakeGemini(script) as server, caplog.at_level("DEBUG"):  # every logger, at its most talkative
        preset = load_preset(preset_file(tmp_path, server.url), lake=tmp_path / "lake")
        result = runner.execute("generate", preset)
    rows = landed(Lake(tmp_path / "lake"))
    ids = [r["text_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 49
    assert set(ids) == planned_ids(preset)
    assert {r["dataset"] for r in rows} == {"texts"}, [(r["reason"], r["detail"]) for r in rows if r.get("reason")]
    # 25 requests answered, plus one more for each scripted failure; every one carried the key.
    assert len(server.requests) == 25 + len(script)
    assert all(r["key"] == KEY and r["path"].endswith("/models/gemini-fake:generateContent") for r in server.requests)
    assert result.details["gemini/usage"]["requests"] == 31
    out, err = capsys.readouterr()
    assert "gemini estimate: 25 requests to gemini-fake for 49 texts" in err
    assert "HTTP 429" in caplog.text and "retry" in caplog.text  # the logs were captured, retries and all
    assert_no_key_anywhere(tmp_path, out, err, caplog.text, repr(preset), repr(result))


def test_rows_carry_provenance_and_exact_dialogue_spans(tmp_path, key):
    with FakeGemini() as server:
        preset = load_preset(preset_file(tmp_path, server.url), lake=tmp_path / "lake")
        runner.execute("generate", preset)
    lake = Lake(tmp_path / "lake")
    rows = landed(lake)
    hashes = {r[0] for r in duckdb.sql(f"select prompt_hash from {views.scan(lake, 'prompts')}").fetchall()}
    for row in rows:
        assert row["source"] == "gemini" and row["writer_model"] == "gemini-fake"
        assert row["prompt_hash"] in hashes and row["prompt_version"] and row["created_at"]
        assert row["seed"] is not None and row["temperature"] == 0.8
        if row["corpus"].endswith("_dialogue"):
            spans = json.loads(row["spans"])
            lines = row["text"].split("\n")
            assert [row["text"][t["start"] : t["end"]] for t in spans["turns"]] == [
                line.split(": ", 1)[1] for line in lines
            ]
    speaker = [r for r in rows if r["corpus"] == "speaker_dialogue"]
    for row in speaker:
        spans = json.loads(row["spans"])
        names = [s["name"] for s in spans["speakers"]]
        assert [t["speaker"] for t in spans["turns"]] == [names[0], names[1], names[0], names[1]]
        assert spans["speakers"][0]["emotion"] == row["emotion"]
    deflection = [json.loads(r["spans"]) for r in rows if r["corpus"] == "deflection_dialogue"]
    assert deflection and all(
        s["masking_speaker"] == "Person" and s["pair_source"] == "norms:valence" for s in deflection
    )


def test_budget_stops_cleanly_and_a_rerun_resumes_without_duplicates(tmp_path, key):
    with FakeGemini() as server:
        small = load_preset(preset_file(tmp_path, server.url, {"max_requests": 9}), lake=tmp_path / "lake")
        with pytest.raises(EmolakeError, match="budget reached") as caught:
            runner.execute("generate", small)
        first = {r["text_id"] for r in landed(Lake(tmp_path / "lake"))}
        assert 0 < len(first) < 49
        assert len(server.requests) <= 9
        full = load_preset(preset_file(tmp_path, server.url), lake=tmp_path / "lake")
        runner.execute("generate", full)
    ids = [r["text_id"] for r in landed(Lake(tmp_path / "lake"))]
    assert len(ids) == len(set(ids)) == 49 and first <= set(ids)
    # Only the missing rows were asked for again: the second run sent fewer than the 25 requests of a full run.
    assert len(server.requests) < 9 + 25
    assert KEY not in str(caught.value)


def test_a_fatal_error_names_the_status_and_never_the_key(tmp_path, key):
    with FakeGemini(["400"]) as server:
        preset = load_preset(preset_file(tmp_path, server.url, {"concurrency": 1}), lake=tmp_path / "lake")
        with pytest.raises(EmolakeError, match="HTTP 400 INVALID_ARGUMENT") as caught:
            runner.execute("generate", preset)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert KEY not in str(error) and KEY not in repr(error)
    assert len(server.requests) == 1  # a 400 is not retried, and nothing else was sent after it


def test_no_key_prints_the_estimate_then_names_the_variables(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    preset = load_preset(preset_file(tmp_path, "http://127.0.0.1:9"), lake=tmp_path / "lake")
    with pytest.raises(EmolakeError, match="GEMINI_API_KEY"):
        runner.execute("generate", preset)
    assert "gemini estimate: 25 requests" in capsys.readouterr().err


def test_deflection_without_probes_names_make_probes_after_landing_the_rest(tmp_path, key):
    with FakeGemini() as server:
        preset = load_preset(preset_file(tmp_path, server.url, deflection_pairs="probes"), lake=tmp_path / "lake")
        with pytest.raises(EmolakeError, match="make probes"):
            runner.execute("generate", preset)
    corpora = {r["corpus"] for r in landed(Lake(tmp_path / "lake"))}
    assert corpora == {"emotional_story", "neutral_story", "neutral_dialogue", "speaker_dialogue"}


def test_deflection_pairs_come_from_the_lakes_probes(tiny_lake_copy, tmp_path, key):
    with FakeGemini() as server:
        path = preset_file(
            tmp_path,
            server.url,
            {"stories_per_emotion": 0, "neutral_stories": 0, "neutral_dialogues": 0, "speaker_dialogues": 0},
            deflection_pairs="probes",
        )
        runner.execute("generate", load_preset(path, lake=tiny_lake_copy))
    rows = [r for r in landed(Lake(tiny_lake_copy)) if r["source"] == "gemini"]
    assert len(rows) == 6
    sources = {json.loads(r["spans"])["pair_source"] for r in rows}
    assert len(sources) == 1
    source = sources.pop()
    assert source.startswith("probes:reference:layer=")
    layer = int(source.rsplit("=", 1)[1])
    probes = duckdb.sql(
        f"select emotion, vector from {views.scan(Lake(tiny_lake_copy), 'probes')} "
        f"where kind = 'expression' and source = 'reference' and cast(layer as integer) = {layer}"
    ).fetchall()
    vectors = {e: np.asarray(v) / np.linalg.norm(v) for e, v in probes}
    for row in rows:
        target = row["emotion"]
        others = sorted((float(vectors[target] @ vectors[e]), e) for e in vectors if e != target)
        quarter = {e for _, e in others[: max(1, len(others) // 4)]}
        assert row["displayed_emotion"] in quarter  # among the least similar quarter of the target's probe


def test_a_request_that_keeps_failing_costs_only_its_chunk_until_a_rerun(tmp_path, key):
    with FakeGemini(["malformed", "500", "malformed"]) as server:
        path = preset_file(tmp_path, server.url, {"max_attempts": 3, "concurrency": 1})
        preset = load_preset(path, lake=tmp_path / "lake")
        with pytest.raises(EmolakeError, match=r"1 chunk\(s\) gave up .*failed 3 times.*rerun"):
            runner.execute("generate", preset)
        first = [r["text_id"] for r in landed(Lake(tmp_path / "lake"))]
        assert 40 <= len(first) < 49  # only the failing request's chunk is missing
        assert len(server.requests) == 3 + 24  # 3 tries of the failing request; the other 24 went on, once each
        runner.execute("generate", preset)
    ids = [r["text_id"] for r in landed(Lake(tmp_path / "lake"))]
    assert len(ids) == len(set(ids)) == 49
