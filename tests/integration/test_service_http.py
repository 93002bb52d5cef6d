"""A browser-free client test: `emolake serve --api-only` in a child process, talked to over HTTP on loopback by
`emolake nearest --server`, `emolake.connect` and plain urllib, each answer compared with the local path's."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from etl import api as emolake  # the installed `emolake` may be another checkout's etl/api: test this one's

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["The storm took the roof and we ran.", "We won the final at last!", "The kettle clicked off."]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_lake, tmp_path_factory):
    """(URL, log file) of a running `emolake -v serve --api-only` with this process's torch threads (equal sums)."""
    import torch

    port, log = free_port(), tmp_path_factory.mktemp("serve") / "stderr.log"
    command = [sys.executable, "-m", "etl", "-v", "--lake", str(tiny_lake), "serve", "--api-only", "--port", str(port)]
    command += ["--threads", str(torch.get_num_threads())]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("w") as stderr:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert child.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=5) as response:
                    assert json.load(response)["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url, log
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_it_listens_on_loopback_by_default(server):
    url, log = server
    assert "serving the API for the lake at" in log.read_text() and f"on {url}/" in log.read_text()


@pytest.mark.parametrize("extra", [[], ["--json"], ["--k", "2", "--json"]])
def test_nearest_with_server_prints_what_the_local_path_prints(server, tiny_lake, cli, extra):
    url, _ = server
    for texts in (TEXTS[:1], TEXTS):
        local = cli("--lake", tiny_lake, "nearest", *texts, *extra)
        remote = cli("nearest", *texts, *extra, "--server", url)
        assert local[0] == remote[0] == 0 and remote[1] == local[1] and local[1]


def test_connect_answers_what_open_answers(server, tiny_lake):
    url, _ = server
    here, there = emolake.open(tiny_lake), emolake.connect(url)
    assert there.nearest(TEXTS[0], k=3) == here.nearest(TEXTS[0], k=3)
    assert there.nearest(TEXTS) == here.nearest(TEXTS)
    assert there.score(TEXTS[1]).rows() == here.score(TEXTS[1]).rows()
    assert [s["default"] for s in there.probe_sets()].count(True) == 1
    with pytest.raises(emolake.EmolakeError, match="the server answered 404: layer 99 has no probes"):
        there.nearest("We ran.", layer=99)


@pytest.mark.parametrize(
    ("method", "route", "data", "status", "fragment"),
    [
        ("POST", "nearest", b"{not json", 400, "not JSON"),
        ("POST", "nearest", b'{"text": ""}', 400, "text at row 0 is empty"),
        ("POST", "nearest", b'{"text": "We ran.", "k": 500}', 400, "k 500"),
        ("GET", "nearest", None, 405, "use POST"),
        ("GET", "zzz", None, 404, "no route /api/v1/zzz"),
    ],
)
def test_a_bad_request_over_http_is_one_json_line(server, method, route, data, status, fragment):
    url, _ = server
    request = urllib.request.Request(f"{url}/api/v1/{route}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    body = caught.value.read().decode()
    assert caught.value.code == status and body.count("\n") <= 1 and fragment in json.loads(body)["error"]


def test_an_unreachable_server_is_one_line_naming_the_fix(cli):
    code, out, err = cli("nearest", "We ran.", "--server", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and out == "" and "start it with `emolake serve`" in err and err.count("\n") == 1
