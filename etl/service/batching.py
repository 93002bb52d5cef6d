"""Micro-batching: concurrent `nearest` calls on one scorer share one forward pass, each getting its own answer.

One worker thread per scorer takes the first waiting call, gathers more for `window_s`, then takes the model lock
and, holding it, also takes every call that queued while the lock was busy: under load a batch is whatever arrived
during the previous one, and an idle server adds at most `window_s` to a call. Calls of one batch with the same `k`
and `truncate` are scored in one `Scorer.nearest`; if that raises an EmolakeError (one text too long, say), each
call is scored alone, so the error reaches only the call that caused it, naming its own row.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from etl.errors import EmolakeError

STOP = None


@dataclass
class Call:
    texts: list[str]
    k: int
    truncate: bool
    done: threading.Event = field(default_factory=threading.Event)
    result: list[list[dict]] | None = None
    error: BaseException | None = None


class Batcher:
    """Scores `nearest` calls for one scorer through one worker thread; `nearest` blocks until its answer is in."""

    def __init__(self, scorer, lock: threading.Lock, window_s: float, max_texts: int) -> None:
        self.scorer, self.lock, self.window_s, self.max_texts = scorer, lock, window_s, max_texts
        self.submitted = 0
        """Calls queued so far (counted after they are in the queue)."""
        self.batches = self.last_batch = self.largest_batch = 0
        """Batches scored, and the calls in the last and the largest (for /api/v1/health, tests, the benchmark)."""
        self._queue: queue.Queue[Call | None] = queue.Queue()
        self._carry: Call | None = None
        self._stopping = False
        self._closed = False
        self._state = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"emolake-batch-{scorer.probe_set.layer}", daemon=True)
        self._thread.start()

    def nearest(self, texts: list[str], k: int, truncate: bool = False) -> list[list[dict]]:
        """What `scorer.nearest(texts, k, truncate)` returns, scored in a batch with whatever else is waiting."""
        call = Call(texts, k, truncate)
        with self._state:
            closed = self._closed
            if not closed:
                self._queue.put(call)
                self.submitted += 1
        if closed:  # a caller that picked this batcher just before it was replaced: score it here, alone
            with self.lock:
                return self.scorer.nearest(texts, k, truncate)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def stop(self) -> None:
        """Ends the worker once the calls queued before now are answered; later calls are scored by their caller."""
        with self._state:
            self._closed = True
            self._queue.put(STOP)

    def _run(self) -> None:
        while not self._stopping:
            first = self._carry or self._queue.get()
            self._carry = None
            if first is STOP:
                return
            calls = [first]
            self._gather(calls, time.monotonic() + self.window_s)
            with self.lock:
                self._gather(calls, None)
                self.batches, self.last_batch = self.batches + 1, len(calls)
                self.largest_batch = max(self.largest_batch, len(calls))
                self._answer(calls)

    def _gather(self, calls: list[Call], deadline: float | None) -> None:
        """Adds waiting calls until `deadline` (None: only those already queued) or until the batch is full."""
        n_texts = sum(len(c.texts) for c in calls)
        while self._carry is None and not self._stopping:
            try:
                if deadline is None:
                    call = self._queue.get_nowait()
                else:
                    call = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if call is STOP:
                self._stopping = True
            elif n_texts + len(call.texts) > self.max_texts:
                self._carry = call
            else:
                calls.append(call)
                n_texts += len(call.texts)

    def _answer(self, calls: list[Call]) -> None:
        """Scores the calls (the model lock is held), one `Scorer.nearest` per (k, truncate); never raises."""
        groups: dict[tuple[int, bool], list[Call]] = {}
        for call in calls:
            groups.setdefault((call.k, call.truncate), []).append(call)
        for (k, truncate), group in groups.items():
            try:
                found = self.scorer.nearest([t for c in group for t in c.texts], k, truncate)
            except EmolakeError as exc:
                for call in group:
                    if len(group) == 1:
                        self._fail(call, exc)
                    else:
                        self._score_alone(call)
                continue
            except Exception as exc:  # answered as a 500 by the route; the worker itself must live on
                for call in group:
                    self._fail(call, exc)
                continue
            start = 0
            for call in group:
                call.result = found[start : start + len(call.texts)]
                start += len(call.texts)
                call.done.set()

    def _score_alone(self, call: Call) -> None:
        try:
            call.result = self.scorer.nearest(call.texts, call.k, call.truncate)
            call.done.set()
        except Exception as exc:
            self._fail(call, exc)

    @staticmethod
    def _fail(call: Call, error: Exception) -> None:
        call.error = error
        call.done.set()
