"""The `emolake` command line: run stages, query the lake, ask which emotions a text is closest to.

Each command lives in its own module under `etl/commands/`; this module parses, logs and turns errors into one line.
"""

from __future__ import annotations

import argparse
import logging
import sys

from etl.commands import register_all
from etl.errors import EmolakeError

QUIET_LOGGERS = ("transformers", "httpx", "filelock", "faiss", "faiss.loader", "werkzeug")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="emolake", description="A data lake for emotion probes in language models.")
    root.add_argument("--lake", help="lake directory (default: $EMOLAKE_LAKE or ./lake)")
    root.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    register_all(root.add_subparsers(dest="command", required=True))
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        args.handler(args)
    except EmolakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards and files are kept; rerun to resume", file=sys.stderr)
        return 130
    return 0
