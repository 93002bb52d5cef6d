"""An ordered map over a pool of spawned processes: CPU-bound pure work that a single process cannot spread over
the cores (the evaluate stage's layers). Not for work that loads a model: that is `run_shards`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def in_processes(function: Callable[[Job], Result], jobs: Iterable[Job], workers: int = 0) -> Iterator[Result]:
    """`function` of each job, in job order: in this process when one worker would do, else in `workers` spawned
    processes (0: one per core, at most one per job). `function` and the jobs must pickle."""
    jobs = list(jobs)
    count = min(workers or os.cpu_count() or 1, len(jobs))
    if count <= 1:
        yield from map(function, jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the parent may hold torch's threads, which a forked child would inherit locked.
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(function, jobs)
