"""Runs a stage's shards: in this process (`local`) or on Ray Data actors (`ray`, etl/executors/ray_data.py).

A stage cuts its work into shards with deterministic ids before anything runs and hands them over as an Arrow
table, one row per shard (a `shard` column plus whatever the shard needs). `worker` is a picklable, argument-free
callable that loads what a process needs once (the model) and returns the per-shard function: a row (dict) in, an
Arrow table out. Both executors call that same function, so both land the same files through the same lake writer;
`run_shards` yields each shard's output table as it finishes (local: in order; Ray: as actors finish).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pyarrow as pa

from etl.config.runner import RunnerConfig

log = logging.getLogger("emolake")

ShardFunction = Callable[[dict], pa.Table]
"""One shard's work: its row in, its output table out (the shard's files are written inside, atomically)."""
Worker = Callable[[], ShardFunction]
"""Builds the shard function once per process (loads the model); must pickle for Ray."""


def run_shards(shards: pa.Table, worker: Worker, runner: RunnerConfig, desc: str) -> Iterator[tuple[int, pa.Table]]:
    """(shard id, output table) for every shard, with a progress bar (rate and ETA) over shards."""
    from etl import progress

    if shards.num_rows == 0:
        return
    if runner.backend == "ray":
        from etl.executors.ray_data import connect

        connect(runner)  # a missing extra or an unreachable cluster fails before the bar is drawn
    with progress.bar(total=shards.num_rows, desc=desc, unit="shard") as bar:
        if runner.backend == "ray":
            from etl.executors.ray_data import run_on_ray

            outputs = run_on_ray(shards, worker, runner)
        else:
            outputs = run_here(shards, worker)
        for shard, table in outputs:
            bar.update(1)
            yield shard, table


def run_here(shards: pa.Table, worker: Worker) -> Iterator[tuple[int, pa.Table]]:
    """The local executor: one process, shards in plan order; an error stops the run at once (as it always did)."""
    function = worker()
    for row in shards.to_pylist():
        yield row["shard"], function(row)


def free_ids(taken: set[int], count: int) -> list[int]:
    """The `count` lowest shard ids not in `taken`.

    Planned shards are numbered this way so that a rerun after a killed run gives each unfinished shard the id it had:
    the finished shards keep theirs, and the unfinished ones (the same texts, cut the same way) fill the gaps in order.
    """
    out, candidate = [], 0
    while len(out) < count:
        if candidate not in taken:
            out.append(candidate)
        candidate += 1
    return out


def in_plan_order(outputs: Iterator[tuple[int, pa.Table]], ids: list[int]) -> Iterator[tuple[int, pa.Table]]:
    """`outputs` re-ordered as `ids`: early arrivals wait until every shard before them is in.

    For stages whose driver lands results in a sequence (the duplicate filter of generation, the chunk files of
    `score`), so that the Ray runner writes exactly what the local one writes.
    """
    waiting: dict[int, pa.Table] = {}
    position = 0
    for shard, table in outputs:
        waiting[shard] = table
        while position < len(ids) and ids[position] in waiting:
            yield ids[position], waiting.pop(ids[position])
            position += 1
