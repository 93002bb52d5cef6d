"""`emolake nearest TEXT [--k] [--layer] [--json]`: the emotions whose probes best match a text."""

from __future__ import annotations

import json

from etl.commands._common import add_scoring_options, lake_dir


def register(subparsers) -> None:
    command = subparsers.add_parser("nearest", help="the emotions whose probes best match a text")
    command.add_argument("text")
    add_scoring_options(command, default_k=5)
    command.add_argument("--json", action="store_true", help="print a JSON list of {emotion, score}")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.lake import Lake
    from etl.probes.scoring import check_texts, open_scorer

    check_texts([args.text])
    scorer = open_scorer(Lake(lake_dir(args)), args.model, args.source, args.kind, args.layer)
    matches = scorer.nearest([args.text], args.k)[0]
    if args.json:
        print(json.dumps(matches))
        return
    print(f"nearest emotions ({scorer.model}, {scorer.source} {scorer.kind} probes, layer {scorer.layer}):")
    for rank, match in enumerate(matches, 1):
        print(f"  {rank:>3}. {match['emotion']:<16} {match['score']:+.3f}")
