"""Browser tier: the real `emolake serve` on a tiny lake, driven by Debian's headless Chromium (no download)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the dashboards in headless Chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emolake serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"emolake serve did not answer on {url} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def server_url(tiny_lake, tmp_path_factory):
    """`emolake serve` on 127.0.0.1 and a free port, over the tiny lake; stopped after the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(tiny_lake), "serve", "--port", str(port)]
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from helpers import chromium

    driver = chromium()
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server_url):
    """Opens a page by path and waits for its main content; console errors are checked after the test."""
    from helpers import console_errors, open_page

    console_errors(browser)

    def open_(path: str):
        return open_page(browser, server_url, path, timeout=90)

    yield open_
    assert console_errors(browser) == []
