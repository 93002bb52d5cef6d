"""`emolake nearest TEXT... [--input FILE|-] [--k] [--layer] [--json] [--server URL]`: the emotions whose probes best
match texts.

Many texts (arguments, one per line of a file, or stdin with `--input -`) share one model load and are scored in
batches, printing each batch as soon as it is done. With `--server`, a running `emolake serve` scores the same
batches (no model load here) and the output is the same. A text under `MIN_TOKENS` tokens is answered with a warning
line (`warning` in JSON; on stderr for one text with `--json`, whose output stays a list)."""

from __future__ import annotations

import json
import sys

from etl.commands._common import add_scoring_options, lake_dir

BATCH = 32


def register(subparsers) -> None:
    command = subparsers.add_parser("nearest", help="the emotions whose probes best match one or more texts")
    command.add_argument("text", nargs="*", help="text(s) to score")
    command.add_argument("--input", help="a file with one text per line, or - for stdin (blank lines are skipped)")
    add_scoring_options(command, default_k=5)
    command.add_argument(
        "--json", action="store_true", help="one text: a JSON list of {emotion, score}; several: one JSON line each"
    )
    command.add_argument("--server", metavar="URL", help="ask a running `emolake serve` (e.g. http://127.0.0.1:8050)")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.api import check_texts
    from etl.commands._tables import read_lines

    texts = read_lines(args.text, args.input)
    check_texts(texts)
    score = remote(args) if args.server else local(args)
    if len(texts) == 1:
        probe_set, (matches,), (warning,) = score(texts)
        if args.json and warning:
            print(f"warning: {warning}", file=sys.stderr)
        print(json.dumps(matches) if args.json else render(probe_set, matches, warning))
        return
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        probe_set, found, warnings = score(batch)
        for text, matches, warning in zip(batch, found, warnings, strict=True):
            if args.json:
                print(json.dumps({"text": text, "emotions": matches} | ({"warning": warning} if warning else {})))
            else:
                print(f"{text}\n{render(probe_set, matches, warning)}\n")
        sys.stdout.flush()


def local(args):
    """texts -> (the probe set, its matches per text, its warnings per text), from `EmoLake.match` in this process."""
    from etl import api

    lake = api.open(lake_dir(args), args.model, args.source)

    def score(texts: list[str]):
        found = lake.match(texts, args.k, args.kind, args.layer, args.truncate)
        return found.probe_set, found.nearest, found.warnings

    return score


def remote(args):
    """texts -> (the probe set the server used, its matches and warnings per text), scored by the server at --server."""
    from etl.api import ProbeSetId, RemoteLake

    server = RemoteLake(args.server, args.model, args.source)

    def score(texts: list[str]):
        body = {"texts": texts, "k": args.k, "kind": args.kind, "layer": args.layer, "truncate": args.truncate}
        answer = server.post("nearest", body)
        probe_set = ProbeSetId(answer["model"], answer["source"], answer["kind"], answer["layer"])
        return probe_set, answer["nearest"], answer.get("warnings") or [None] * len(texts)

    return score


def render(probe_set, matches: list[dict], warning: str | None = None) -> str:
    head = f"nearest emotions ({probe_set.model}, {probe_set.source} {probe_set.kind} probes, layer {probe_set.layer}):"
    lines = [head] + ([f"  warning: {warning}"] if warning else [])
    return "\n".join(lines + [f"  {r:>3}. {m['emotion']:<16} {m['score']:+.3f}" for r, m in enumerate(matches, 1)])
