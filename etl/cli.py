"""The `emolake` command line: run stages, query the lake, ask which emotions a text is closest to.

Each command lives in its own module under `etl/commands/`; this module parses, sets up logging and turns errors into
one line. stdout holds only what was asked for; logs and progress go to stderr, and only on a terminal or with `-v`.

Exit codes: 0 ok, 1 user error (`EmolakeError`: one line on stderr), 2 usage error (argparse), 130 interrupted,
3 an unexpected exception (a bug: its traceback is printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings

from etl import __version__, progress
from etl.commands import register_all
from etl.errors import EmolakeError

QUIET_LOGGERS = ("transformers", "httpx", "filelock", "faiss", "faiss.loader", "werkzeug")
USER_ERROR, USAGE_ERROR, BUG, INTERRUPTED = 1, 2, 3, 130


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """--lake, -v and -q, accepted before and after the command name (after it, they win)."""
    default = {"default": argparse.SUPPRESS} if suppress else {}
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--lake", help="lake directory (default: $EMOLAKE_LAKE or ./lake)", **default)
    verbosity = options.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="logs, progress bars and library warnings on stderr", **default
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only", **default)
    return options


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="emolake",
        description="A data lake for emotion probes in language models.",
        epilog="exit status: 0 ok, 1 user error, 2 usage error, 3 internal error (a bug), 130 interrupted",
        parents=[global_options(suppress=False)],
    )
    root.add_argument("--version", action="version", version=f"emolake {__version__}")
    register_all(root.add_subparsers(dest="command", required=True), parents=[global_options(suppress=True)])
    return root


def configure_output(verbose: bool, quiet: bool) -> None:
    """Logs at INFO and progress bars on a terminal or with -v; warnings only otherwise or with -q."""
    talkative = verbose or (not quiet and sys.stderr.isatty())
    progress.set_visible(True if verbose else False if quiet else None)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger().setLevel(logging.INFO if talkative else logging.WARNING)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_output(args.verbose, args.quiet)
    outer = os.environ.get("EMOLAKE_COMMAND")
    os.environ["EMOLAKE_COMMAND"] = f"emolake {args.command}"  # recorded in each commit (etl/lake/delta.py)
    try:
        with warnings.catch_warnings():
            if not args.verbose:
                warnings.simplefilter("ignore")
            args.handler(args)
    except EmolakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: finished shards and files are kept; rerun to resume", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception:
        traceback.print_exc()
        print("emolake: internal error (a bug): please report it with the traceback above", file=sys.stderr)
        return BUG
    finally:
        if outer is None:
            os.environ.pop("EMOLAKE_COMMAND", None)
        else:
            os.environ["EMOLAKE_COMMAND"] = outer
    return 0
