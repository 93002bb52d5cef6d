"""`emolake summary`: what the lake holds, best layers, stage timings."""

from __future__ import annotations

from etl.commands._common import lake_dir


def register(subparsers) -> None:
    subparsers.add_parser("summary", help="what the lake holds, best layers, stage timings").set_defaults(
        handler=handle
    )


def handle(args) -> None:
    from etl.lake import Lake
    from etl.report.summary import render

    print(render(Lake(lake_dir(args))))
