"""The resident JSON API against the one-shot CLI: what `emolake serve` saves someone who asks all day.

    python -m bench.service [--lake lake] [--model SLUG] [--source reference] [--requests 50] [--clients 8]
                            [--per-client 10] [--cli-runs 3] [--batch-window-ms 5] [--threads N] [--json]

Starts `emolake serve --api-only` on a free loopback port (a child process, as a user would) and, for one ~20-word
text:
1. Latency of POST /api/v1/nearest on the warm server, one request at a time: p50/p95 in milliseconds.
2. Throughput: `--clients` threads sending `--per-client` distinct texts each at once, to this server (which
   batches what arrives together) and to a second one started with `--max-batch 1 --batch-window-ms 0` (each
   request scored alone, as soon as the model is free); also the same texts sent one at a time by one client.
   Requests per second, and the batches the server made (from /api/v1/health).
3. The one-shot CLI, `emolake nearest TEXT --json`, a fresh process each time (`--cli-runs`): its wall time against
   the API's p50, and whether it printed the same answer the API gave.
Ratios compare the naive path (one at a time, or the CLI) with ours in the same run. On the tiny lake of the tests:
`python -m bench.service --lake LAKE` (the fixture's lake, or one built by `emolake run all --preset tiny`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = "The rain would not stop, and every call to the hospital went unanswered while we waited by the door."


def percentiles(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2), "n": len(ms)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def emolake(args: argparse.Namespace, *words: str) -> list[str]:
    command = [sys.executable, "-m", "etl", "-q", "--lake", args.lake, *words]
    return command + (["--threads", str(args.threads)] if args.threads and words[0] == "serve" else [])


def start_server(args: argparse.Namespace, batched: bool = True) -> tuple[subprocess.Popen, str]:
    """`emolake serve --api-only` on a free port (`batched=False`: every request alone); returns once it answers."""
    port = free_port()
    batching = ["--batch-window-ms", str(args.batch_window_ms)] if batched else ["--batch-window-ms", "0"]
    batching += [] if batched else ["--max-batch", "1"]
    command = emolake(args, "serve", "--api-only", "--port", str(port), *batching)
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)  # Flask prints a banner to stdout
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            get(url, "health")
            return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server at {url} did not start (exit {server.poll()})")


def get(url: str, route: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/v1/{route}", timeout=30) as response:
        return json.load(response)


def nearest(url: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}/api/v1/nearest", data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.load(response)


def timed_requests(url: str, bodies: list[dict]) -> list[float]:
    times = []
    for body in bodies:
        start = time.perf_counter()
        nearest(url, body)
        times.append(time.perf_counter() - start)
    return times


def body(args: argparse.Namespace, text: str) -> dict:
    return {"text": text, "model": args.model, "source": args.source}


def concurrent(url: str, args: argparse.Namespace, tag: str) -> tuple[float, dict]:
    """Seconds for `clients` threads to send `per_client` distinct texts each; the server's batches meanwhile."""
    texts = [[f"{tag} {c}.{r} {TEXT}" for r in range(args.per_client)] for c in range(args.clients)]
    before = {s["kind"]: s for s in get(url, "health")["scorers"]}
    threads = [threading.Thread(target=timed_requests, args=(url, [body(args, t) for t in row])) for row in texts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    after = get(url, "health")["scorers"]
    calls = sum(s["calls"] - before.get(s["kind"], {}).get("calls", 0) for s in after)
    batches = sum(s["batches"] - before.get(s["kind"], {}).get("batches", 0) for s in after)
    return seconds, {"mean_batch": round(calls / max(batches, 1), 2)}


def throughput(url: str, unbatched_url: str, args: argparse.Namespace) -> dict:
    """Requests per second: concurrent clients on the batching server, on the unbatched one, and one at a time."""
    n = args.clients * args.per_client
    started = time.perf_counter()
    timed_requests(url, [body(args, f"alone {i} {TEXT}") for i in range(n)])
    one_at_a_time = time.perf_counter() - started
    batched, stats = concurrent(url, args, "batched")
    for _ in range(3):
        nearest(unbatched_url, body(args, TEXT))  # warm-up
    unbatched, _ = concurrent(unbatched_url, args, "unbatched")
    return {
        "clients": args.clients,
        "requests": n,
        "concurrent_batched_rps": round(n / batched, 1),
        "concurrent_unbatched_rps": round(n / unbatched, 1),
        "one_client_rps": round(n / one_at_a_time, 1),
        "batched_over_unbatched": round(unbatched / batched, 2),
        "batched_over_one_client": round(one_at_a_time / batched, 2),
    } | stats


def one_shot_cli(args: argparse.Namespace, api_answer: list[dict]) -> dict:
    times, same = [], True
    for _ in range(args.cli_runs):
        words = ["nearest", TEXT, "--json", "--source", args.source] + (["--model", args.model] if args.model else [])
        start = time.perf_counter()
        done = subprocess.run(emolake(args, *words), cwd=ROOT, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        same = same and json.loads(done.stdout) == api_answer
    return {"runs": args.cli_runs, "median_s": round(statistics.median(times), 2), "same_answer_as_api": same}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", default="lake")
    parser.add_argument("--model", help="model slug in the lake (default: the only one)")
    parser.add_argument("--source", default="reference")
    parser.add_argument("--requests", type=int, default=50, help="sequential requests timed for p50/p95")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--batch-window-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, help="the server's torch CPU threads (default: one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    load_average = [round(v, 2) for v in os.getloadavg()]
    server, url = start_server(args)
    unbatched_server, unbatched_url = start_server(args, batched=False)
    try:
        for _ in range(3):
            warm = nearest(url, body(args, TEXT))
        latency = percentiles(timed_requests(url, [body(args, TEXT)] * args.requests))
        result = {key: warm[key] for key in ("model", "source", "kind", "layer")}
        result |= {"words": len(TEXT.split()), "load_average_at_start": load_average, "api_latency": latency}
        result["throughput"] = throughput(url, unbatched_url, args)
    finally:
        for child in (server, unbatched_server):
            child.terminate()
            child.wait(timeout=30)
    result["cli"] = one_shot_cli(args, warm["nearest"])
    result["cli_over_api_p50"] = round(result["cli"]["median_s"] * 1000 / latency["p50_ms"], 1)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
