"""Load: 50 concurrent clients each send 10 token-viewer requests to the dashboard on 127.0.0.1; none may fail.

Requests are the token viewer's own Dash callback (scoring + heatmap), built from the app's `_dash-dependencies`,
each with a distinct text so that every one runs the model. Bounded in count and time; asserts no errors, never
timings (bench/latency.py prints those).
"""

import json
import threading
import urllib.request

import pytest

from dashboards.app import create_app, serve_in_thread

pytestmark = pytest.mark.integration

CLIENTS = 50
REQUESTS = 10
TIMEOUT_S = 120


def token_viewer_callback(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/_dash-dependencies", timeout=30) as response:
        dependencies = json.load(response)
    return next(d for d in dependencies if "tv-heatmap.figure" in d["output"])


def request_body(callback: dict, values: dict) -> bytes:
    """The JSON a browser posts for one callback: its outputs, inputs and states with the given values."""
    outputs = [
        dict(zip(("id", "property"), o.split("."), strict=True)) for o in callback["output"].strip(".").split("...")
    ]

    def fill(items):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    body = {
        "output": callback["output"],
        "outputs": outputs,
        "inputs": fill(callback["inputs"]),
        "state": fill(callback["state"]),
        "changedPropIds": ["tv-score.n_clicks"],
    }
    return json.dumps(body).encode()


def post(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        assert response.status == 200
        return json.load(response)


def test_fifty_clients_times_ten_token_viewer_requests_get_no_error(tiny_lake):
    app = create_app(tiny_lake)
    ctx = app.emolake_context
    probe_set = ctx.probe_sets()[0]
    base = {
        "tv-probeset.value": f"{probe_set.model}|{probe_set.source}",
        "tv-kind.value": "expression",
        "tv-layer.value": ctx.best_layer(probe_set.model, probe_set.source, "expression"),
        "tv-emotions.value": [],
    }
    errors, answered = [], []
    lock = threading.Lock()
    with serve_in_thread(app) as url:
        callback = token_viewer_callback(url)

        def client(number: int) -> None:
            for i in range(REQUESTS):
                text = f"Client {number} says, for the {i}th time: the storm is coming and we are not ready."
                body = request_body(callback, {**base, "tv-score.n_clicks": i + 1, "tv-text.value": text})
                try:
                    reply = post(url + "/_dash-update-component", body)
                    figure = reply["response"]["tv-heatmap"]["figure"]
                    tokens = reply["response"]["tv-tokens"]["children"]
                    assert figure["data"][0]["type"] == "heatmap" and tokens
                    with lock:
                        answered.append(number)
                except Exception as exc:  # every failure is collected and reported below
                    with lock:
                        errors.append(f"client {number} request {i}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=CLIENTS * REQUESTS * 2)
    assert errors == []
    assert len(answered) == CLIENTS * REQUESTS
    assert ctx.scorer.forward_passes == CLIENTS * REQUESTS
