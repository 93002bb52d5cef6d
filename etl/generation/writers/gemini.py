"""Gemini writes the corpora at paper scale, through the google-genai client, several texts per request.

Each request asks for up to `stories_per_call` stories (or `dialogues_per_call` dialogues) of `[generate.gemini]` as
JSON that follows a response schema, each text tagged with its item id. Requests run `concurrency` at a time; a 429,
5xx, timeout, dropped connection or malformed answer is retried with exponential backoff and full jitter, up to
`max_attempts` times; every attempt counts against the run's request budget. Chunks are written as soon as
all their requests are answered, so an interrupted or budget-limited run loses at most the chunks in flight.

The API key comes from GEMINI_API_KEY or GOOGLE_API_KEY. It goes to the client (and to the scrubber that blanks it
out of error text, kept out of reprs); it is never logged or put in an error message, and errors raised here are
new exceptions that keep no reference to the client's (whose requests hold the key in a header).
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from etl.errors import EmolakeError
from etl.generation import prompts
from etl.generation.plan import Chunk, Request, build_row, derived_seed
from etl.generation.writers.gemini_estimate import Estimate, estimate, render

__all__ = ["Estimate", "estimate", "write"]

log = logging.getLogger("emolake")
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
HTTP_LOGGERS = ("httpx", "httpx2", "google_genai")
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class BudgetExhausted(Exception):
    """The run's request budget is spent."""


class GaveUp(EmolakeError):
    """A request failed every attempt with errors worth retrying."""


class Stopped(Exception):
    """Not sent: another request failed for good or spent the budget."""


@dataclass
class Budget:
    """A thread-safe count of requests sent against the run's limit."""

    limit: int
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> None:
        with self.lock:
            if self.used >= self.limit:
                raise BudgetExhausted
            self.used += 1


@dataclass
class Usage:
    """Tokens reported by the API, summed over answered requests."""

    prompt_tokens: int = 0
    output_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, metadata) -> None:
        with self.lock:
            self.prompt_tokens += int(getattr(metadata, "prompt_token_count", 0) or 0)
            self.output_tokens += int(getattr(metadata, "candidates_token_count", 0) or 0)
            self.output_tokens += int(getattr(metadata, "thoughts_token_count", 0) or 0)


def api_key() -> str:
    for name in KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise EmolakeError(
        "the gemini source needs an API key: export GEMINI_API_KEY (or GOOGLE_API_KEY), or drop `gemini` from "
        "generate.sources"
    )


def make_client(config, key: str):
    """A google-genai client with our timeout and endpoint, its own retries off (we retry, and count the budget)."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        timeout=int(config.gemini.timeout_s * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
        base_url=config.gemini.base_url,
        api_version=config.gemini.api_version,
    )
    return genai.Client(api_key=key, http_options=options)


def backoff(attempt: int, config) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base * 2**attempt)]."""
    return random.uniform(0.0, min(config.gemini.max_backoff_s, config.gemini.backoff_s * 2**attempt))


@dataclass
class Writer:
    """Sends the requests of pending chunks and lands each chunk when all its requests are answered."""

    config: object
    client: object = field(repr=False)
    budget: Budget
    usage: Usage = field(default_factory=Usage)
    secret: str = field(default="", repr=False)
    """Only used to scrub the key out of error text; never logged."""
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def request(self, corpus: str, call: tuple[Request, ...], seed: int) -> list[dict]:
        """One request with retries; returns the answer's items (raises BudgetExhausted or EmolakeError)."""
        from google.genai import types

        config = self.config
        generation = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=prompts.response_schema(corpus, len(call)),
            temperature=config.temperature,
            seed=seed,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            thinking_config=None
            if config.gemini.thinking_budget is None
            else types.ThinkingConfig(thinking_budget=config.gemini.thinking_budget),
        )
        problem = ""
        for attempt in range(config.gemini.max_attempts):
            if self.stop.is_set():
                raise Stopped
            try:
                self.budget.take()
            except BudgetExhausted:
                self.stop.set()
                raise
            try:
                response = self.client.models.generate_content(
                    model=config.gemini.model, contents=render(corpus, call), config=generation
                )
                items = prompts.parse_items(corpus, response.text, len(call))
                self.usage.add(response.usage_metadata)
                return items
            except Exception as exc:  # classified below; only the scrubbed text leaves this frame
                retry, problem = self.classify(exc)
            if not retry:
                self.stop.set()  # a fatal error: nothing else is sent
                raise EmolakeError(
                    f"gemini refused a request ({problem}): check generate.gemini.model and the key; what already "
                    "landed is kept"
                )
            if attempt + 1 < config.gemini.max_attempts:
                delay = backoff(attempt, config)
                log.info("gemini: %s; retry %d in %.2f s", problem, attempt + 1, delay)
                time.sleep(delay)
        raise GaveUp(f"a gemini request failed {config.gemini.max_attempts} times (last: {problem})")

    def classify(self, exc: Exception) -> tuple[bool, str]:
        """(retry?, a description with the key scrubbed out)."""
        from google.genai import errors

        if isinstance(exc, prompts.MalformedAnswer):
            return True, self.scrub(str(exc))
        if isinstance(exc, errors.APIError):
            message = self.scrub(f"HTTP {exc.code} {exc.status or ''} {exc.message or ''}".strip())
            return exc.code in RETRY_STATUS, message
        if isinstance(exc, errors.UnknownApiResponseError):
            return True, "the answer was not JSON"
        if _is_transport_error(exc):
            return True, self.scrub(f"{type(exc).__name__}: {exc}")
        return False, self.scrub(f"{type(exc).__name__}: {exc}")

    def scrub(self, text: str) -> str:
        return text.replace(self.secret, "[key]") if self.secret else text

    def write(self, chunks: list[Chunk], land: Callable[[Chunk, list[dict]], None], pair_source: str | None) -> int:
        """Runs every request of `chunks` (bounded concurrency) and lands each finished chunk in order; returns the
        number of chunks landed.

        A request that fails all its attempts costs only its chunk: the others go on, and a rerun asks for it again
        (so one answer the model keeps botching cannot block a paper-scale run). A fatal error, a spent budget, or
        give-ups in as many chunks as requests in flight (the API is down, not one request) stop the run; every
        chunk whose requests all finished still lands."""
        from etl import progress

        config = self.config
        bar = progress.bar(total=sum(len(c.requests) for c in chunks), desc="generate (gemini)", unit="text")
        landed, failure, gave_up = 0, None, []
        with ThreadPoolExecutor(max_workers=config.gemini.concurrency, thread_name_prefix="gemini") as pool:
            futures = [
                [
                    (call, seed, pool.submit(self.request, chunk.corpus, call, seed))
                    for i, call in enumerate(chunk.calls)
                    for seed in [derived_seed(config.common.seed, f"{chunk.key}:{i}")]
                ]
                for chunk in chunks
            ]
            try:
                for chunk, calls in zip(chunks, futures, strict=True):
                    problem = _first_failure(calls)
                    if problem is None:
                        land(chunk, self.rows(chunk, calls, pair_source))
                        landed += 1
                        bar.set_postfix(requests=self.budget.used, refresh=False)
                        bar.update(len(chunk.requests))
                    elif isinstance(problem, GaveUp) and failure is None:
                        gave_up.append(problem)
                        if len(gave_up) >= max(3, config.gemini.concurrency):
                            failure = problem
                            self.halt(futures)
                    elif failure is None:
                        # Stop sending; requests in flight finish, and any chunk they complete still lands.
                        failure = problem
                        self.halt(futures)
            except BaseException:
                self.halt(futures)  # Ctrl-C or a failed write: the pool must not go on sending its queue
                raise
        bar.close()
        if isinstance(failure, Stopped):
            failure = _root_cause(futures) or failure
        done = f"{landed} of {len(chunks)} chunks landed"
        if isinstance(failure, BudgetExhausted):
            raise EmolakeError(
                f"gemini request budget reached ({self.budget.limit} requests, generate.gemini.max_requests): "
                f"{done}; rerun to continue, or raise the budget"
            )
        if failure is not None:
            raise EmolakeError(f"{failure} ({done})")
        if gave_up:
            raise EmolakeError(f"{len(gave_up)} chunk(s) gave up ({gave_up[0]}); {done}: rerun to ask for them again")
        return landed

    def halt(self, futures) -> None:
        self.stop.set()
        for _, _, future in (c for group in futures for c in group):
            future.cancel()

    def rows(self, chunk: Chunk, calls: list[tuple[tuple[Request, ...], int, Future]], pair_source) -> list[dict]:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        rows = []
        for call, seed, future in calls:
            provenance = {
                "source": "gemini",
                "writer_model": self.config.gemini.model,
                "prompt_hash": prompts.template_hash(chunk.corpus, "gemini"),
                "prompt_version": prompts.PROMPT_VERSION,
                "seed": seed,
                "temperature": self.config.temperature,
                "created_at": created,
                "pair_source": pair_source,
            }
            for request, item in zip(call, future.result(), strict=True):
                text, turns = prompts.item_text(request, item)
                rows.append(build_row(request, text, turns, provenance))
        return rows


def write(config, pending: list[Chunk], land: Callable[[Chunk, list[dict]], None], pair_source: str | None) -> dict:
    """Prints the estimate, then writes every pending chunk through Gemini; returns usage for the manifest."""
    guess = estimate(pending)
    print(guess.describe(config.gemini.model), file=sys.stderr, flush=True)
    if guess.requests > config.gemini.max_requests:
        log.warning(
            "gemini: %d requests needed but generate.gemini.max_requests = %d: this run stops at the budget; "
            "rerun to continue",
            guess.requests,
            config.gemini.max_requests,
        )
    key = api_key()
    writer = Writer(config, make_client(config, key), Budget(config.gemini.max_requests), secret=key)
    del key
    try:
        with quiet(HTTP_LOGGERS):
            landed = writer.write(pending, land, pair_source)
    finally:
        usage = {
            "requests": writer.budget.used,
            "prompt_tokens": writer.usage.prompt_tokens,
            "output_tokens": writer.usage.output_tokens,
        }
        log.info("gemini: %d requests sent, %s", writer.budget.used, usage)
    return {**usage, "chunks": landed, "estimated_requests": guess.requests}


def main(argv: list[str] | None = None) -> None:
    """`python -m etl.generation.writers.gemini --preset full`: the requests and tokens a run would need now
    (nothing is sent;
    finished chunks in the lake are not counted)."""
    import argparse

    from etl.catalog import select
    from etl.config import load_preset
    from etl.generation.landing import pending_chunks, writer_chunks
    from etl.generation.plan import norm_pairs, plan
    from etl.lake import Lake

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--preset", default="full")
    parser.add_argument("--lake", default=None)
    args = parser.parse_args(argv)
    config = load_preset(args.preset, lake=args.lake).generate
    sizes = config.writer_sizes("gemini")
    # Pairs only decide which displayed emotion each dialogue gets, not how many requests there are.
    pairs = norm_pairs(select(config.common.emotions)) if sizes["deflection_per_target"] else None
    planned = plan(config, sizes, pairs)
    every = writer_chunks("gemini", config.gemini.model, planned, config)
    pending = pending_chunks(Lake(config.common.lake), "gemini", config.gemini.model, every, regenerate=False)
    print(estimate(pending).describe(config.gemini.model))
    print(
        f"({len(pending)} of {len(every)} chunks still to write; budget {config.gemini.max_requests} requests per run)"
    )


@contextmanager
def quiet(names: tuple[str, ...]):
    """Raises the given loggers to WARNING for the block (a line per request would bury the progress bar)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _first_failure(calls) -> BaseException | None:
    """Waits for a chunk's requests; the first failure, or None when all succeeded."""
    for _, _, future in calls:
        if future.cancelled():
            return Stopped()
        error = future.exception()
        if error is not None:
            return error
    return None


def _root_cause(futures) -> BaseException | None:
    """The failure that stopped the run (not a request it stopped), once every future is done."""
    for _, _, future in (c for group in futures for c in group):
        if not future.cancelled() and not isinstance(future.exception(), Stopped | GaveUp | type(None)):
            return future.exception()
    return None


def _is_transport_error(exc: Exception) -> bool:
    """Timeouts and dropped connections of httpx or its fork httpx2 (whichever google-genai uses)."""
    for module in ("httpx", "httpx2"):
        try:
            transport = __import__(module).TransportError
        except (ImportError, AttributeError):
            continue
        if isinstance(exc, transport):
            return True
    return False


if __name__ == "__main__":
    main()
