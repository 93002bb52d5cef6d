"""`emolake similar --emotion E | --text T | --story ID`: nearest emotions of an emotion, or most similar stories
(`EmoLake.similar_emotions` and `EmoLake.similar_stories`, etl/api)."""

from __future__ import annotations

import json

from etl.commands._common import add_scoring_options, lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser(
        "similar", help="emotion -> nearest emotions; text or story -> most similar stories in the lake"
    )
    what = command.add_mutually_exclusive_group(required=True)
    what.add_argument("--emotion", help="an emotion word: its nearest emotions (cosine of probes)")
    what.add_argument("--text", help="a text: the stories of the lake that feel most alike")
    what.add_argument("--story", metavar="TEXT_ID", help="a story's text_id: the stories most like it")
    add_scoring_options(command, default_k=5)
    command.add_argument("--json", action="store_true", help="print a JSON list")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl import api

    if args.text is not None:
        api.check_texts([args.text])
    lake = api.open(lake_dir(args), args.model, args.source)
    if args.emotion is not None:
        matches = lake.similar_emotions(args.emotion, args.k, args.kind, args.layer)
        title, key = f"emotions nearest to {args.emotion!r}", "emotion"
    else:
        matches = lake.similar_stories(args.k, args.text, args.story, args.kind, args.layer, args.truncate)
        if not matches:
            raise EmolakeError("the story index is empty: run `make extract index`")
        title, key = "most similar stories in emotion space", "text_id"
    probe_set = lake.probe_set(args.kind, args.layer)  # the set just used
    where = f"{probe_set.model}, {probe_set.source} {probe_set.kind} probes, layer {probe_set.layer}"
    print_matches(matches, args.json, f"{title} ({where}):", key)


def print_matches(matches: list[dict], as_json: bool, title: str, key: str) -> None:
    if as_json:
        print(json.dumps(matches))
        return
    print(title)
    for rank, match in enumerate(matches, 1):
        line = f"  {rank:>3}. {match[key]:<22} {match['score']:+.3f}"
        if "text" in match:
            snippet = " ".join(match["text"].split())[:70]
            line += f"  [{match['emotion']}] {snippet}"
        print(line)
