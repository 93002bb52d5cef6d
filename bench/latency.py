"""Latency of the lookups people wait on: per-token scores of a 512-token text, nearest emotions, the dashboard.

    python -m bench.latency --lake LAKE [--model SLUG] [--layer L] [--tokens 512] [--repeats 20]
                            [--clients 50] [--requests 10] [--json]

1. Per-token scores of one `--tokens`-token text against every probe of one layer: ours (`score_texts`: the forward
   pass stops after the probe layer, one matrix product) vs the naive path (the whole model with the LM head and
   every hidden state, then one dot product per token and emotion in Python).
2. Emotion -> nearest emotions: ours (FAISS inner product over the unit probes) vs a Python loop of cosines.
   Text -> nearest emotions (one forward pass, mean, FAISS) is timed too.
3. The token viewer's Dash callback over HTTP on 127.0.0.1: one client alone, then `--clients` concurrent clients
   sending `--requests` requests each (distinct texts, so every request runs the model); errors are counted.
p50/p95 are printed in milliseconds; ratios compare the naive path with ours in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.request

import numpy as np

from etl.lake import Lake
from etl.probes.scoring import open_scorer


def percentiles(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2), "n": len(ms)}


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def long_text(lake: Lake, tokenizer, n_tokens: int) -> str:
    """Stories of the lake joined until the text has exactly n_tokens tokens (with the tokenizer's specials)."""
    import duckdb

    texts = duckdb.connect().execute(
        "select text from read_parquet(?, hive_partitioning = true, union_by_name = true) "
        "where corpus = 'emotional_story' order by text_id limit 200",
        [lake.glob("texts")],
    )
    joined = "\n\n".join(row[0] for row in texts.fetchall())
    ids = tokenizer(joined, add_special_tokens=False)["input_ids"]
    specials = len(tokenizer("a")["input_ids"]) - len(tokenizer("a", add_special_tokens=False)["input_ids"])
    text = tokenizer.decode(ids[: n_tokens - specials])
    while len(tokenizer(text)["input_ids"]) > n_tokens:
        text = text[:-1]
    return text


def naive_token_scores(loaded, text: str, probes, layer: int) -> np.ndarray:
    """The whole model with every hidden state and the LM head, then a Python dot product per token and emotion."""
    import torch

    ids = torch.tensor([loaded.tokenizer(text)["input_ids"]])
    with torch.inference_mode():
        out = loaded.model(input_ids=ids, output_hidden_states=True)
    hidden = out.hidden_states[layer + 1][0, 1:].float().numpy()
    rows = []
    for token in hidden:
        centred = token - probes.center
        rows.append([float(np.dot(centred, vector)) for vector in probes.vectors])
    return np.array(rows, dtype=np.float32)


def bench_token_scores(lake: Lake, scorer, n_tokens: int, repeats: int) -> dict:
    from etl.model.load import load
    from etl.probes.stored import read_set
    from etl.probes.token_scores import score_texts

    loaded = load(scorer.model_spec)
    layer = scorer.probe_set.layer
    pair = (scorer.probe_set.kind, layer)
    probes = {pair: read_set(lake, scorer.probe_set)}
    text = long_text(lake, loaded.tokenizer, n_tokens)
    score_texts(loaded, [text], probes)  # warm-up
    ours_s, ours = timed(lambda: score_texts(loaded, [text], probes)[0].scores[pair], repeats)
    naive_s, naive = timed(lambda: naive_token_scores(loaded, text, probes[pair], layer), max(3, repeats // 4))
    return {
        "tokens": len(loaded.tokenizer(text)["input_ids"]),
        "emotions": len(probes[pair].emotions),
        "ours": percentiles(ours_s),
        "naive": percentiles(naive_s),
        "speedup_p50": round(statistics.median(naive_s) / statistics.median(ours_s), 2),
        "max_abs_diff": float(np.abs(ours - naive).max()),
    }


def naive_nearest(vectors: list[list[float]], emotions: list[str], i: int, k: int) -> list[str]:
    query = vectors[i]
    cosines = [(sum(a * b for a, b in zip(query, v, strict=True)), e) for v, e in zip(vectors, emotions, strict=True)]
    return [e for _, e in sorted(cosines, reverse=True) if e != emotions[i]][:k]


def bench_nearest(scorer, repeats: int) -> dict:
    from etl.probes.search import nearest_emotions, probe_matrix

    vectors = probe_matrix(scorer).tolist()
    emotions = scorer.emotions
    cycle = iter(range(10**9))
    ours_s, _ = timed(lambda: nearest_emotions(scorer, emotions[next(cycle) % len(emotions)], 5), repeats * 10)
    naive_s, _ = timed(lambda: naive_nearest(vectors, emotions, next(cycle) % len(emotions), 5), repeats * 10)
    text = "She checked the lock three times and still could not sleep."
    scorer.nearest([text], 5)  # warm-up
    text_s, _ = timed(lambda: scorer.nearest([text], 5), repeats)
    return {
        "emotion_to_emotions": percentiles(ours_s),
        "emotion_to_emotions_naive": percentiles(naive_s),
        "speedup_p50": round(statistics.median(naive_s) / statistics.median(ours_s), 2),
        "text_to_emotions": percentiles(text_s),
    }


def dashboard_requests(url: str, callback: dict, base: dict, texts: list[str]) -> tuple[list[float], int]:
    """Posts one token-viewer callback per text; returns the latencies and the number of failed requests."""
    names = callback["output"].strip(".").split("...")
    outputs = [dict(zip(("id", "property"), name.split("."), strict=True)) for name in names]
    times, failures = [], 0
    for number, text in enumerate(texts, 1):
        values = {**base, "tv-score.n_clicks": number, "tv-text.value": text}
        body = json.dumps(
            {
                "output": callback["output"],
                "outputs": outputs,
                "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in callback["inputs"]],
                "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in callback["state"]],
                "changedPropIds": ["tv-score.n_clicks"],
            }
        ).encode()
        request = urllib.request.Request(url + "/_dash-update-component", data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                ok = response.status == 200 and "tv-heatmap" in json.load(response)["response"]
        except (OSError, ValueError, KeyError):
            ok = False
        times.append(time.perf_counter() - start)
        failures += not ok
    return times, failures


def bench_dashboard(lake: Lake, scorer, clients: int, requests: int) -> dict:
    from dashboards.app import create_app, serve_in_thread

    app = create_app(lake, model=scorer.probe_set.model, source=scorer.probe_set.source)
    base = {
        "tv-probeset.value": f"{scorer.probe_set.model}|{scorer.probe_set.source}",
        "tv-kind.value": scorer.probe_set.kind,
        "tv-layer.value": scorer.probe_set.layer,
        "tv-emotions.value": [],
    }
    sentence = "The storm is coming, the shutters rattle, and we are not ready for it at all."
    with serve_in_thread(app) as url:
        with urllib.request.urlopen(url + "/_dash-dependencies", timeout=30) as response:
            callback = next(d for d in json.load(response) if "tv-heatmap.figure" in d["output"])
        dashboard_requests(url, callback, base, ["warm-up: " + sentence])
        alone, alone_failures = dashboard_requests(url, callback, base, [f"Alone {i}: {sentence}" for i in range(20)])
        results: list[tuple[list[float], int]] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            out = dashboard_requests(url, callback, base, [f"C{number} R{i}: {sentence}" for i in range(requests)])
            with lock:
                results.append(out)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=3600)
        wall = time.perf_counter() - started
    loaded = [t for times, _ in results for t in times]
    return {
        "single_client": percentiles(alone) | {"errors": alone_failures},
        "concurrent": percentiles(loaded)
        | {
            "clients": clients,
            "requests_each": requests,
            "errors": sum(f for _, f in results),
            "answered": len(loaded),
            "wall_s": round(wall, 1),
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", default="lake")
    parser.add_argument("--model", help="model slug in the lake (default: the only one)")
    parser.add_argument("--source", default="reference")
    parser.add_argument("--layer", type=int, help="probe layer (default: the best evaluated one)")
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    lake = Lake(args.lake)
    scorer = open_scorer(lake, args.model, args.source, layer=args.layer)
    load_average = [round(v, 2) for v in os.getloadavg()]
    result = {
        "model": scorer.probe_set.model,
        "layer": scorer.probe_set.layer,
        "kind": scorer.probe_set.kind,
        "torch_threads": torch.get_num_threads(),
    }
    result["load_average_at_start"] = load_average
    result["token_scores"] = bench_token_scores(lake, scorer, args.tokens, args.repeats)
    result["nearest"] = bench_nearest(scorer, args.repeats)
    if not args.skip_dashboard:
        result["dashboard"] = bench_dashboard(lake, scorer, args.clients, args.requests)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
