"""The Ray executor: a stage's shards as a Ray Data dataset, mapped by a pool of actors that each load the model once.

Ray Data API used (Ray 2.60): `ray.data.from_arrow` (one block per shard, so every shard is its own task),
`Dataset.map_batches(ShardActor, batch_size=1, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=N),
num_cpus=..., num_gpus=...)`. `compute=ActorPoolStrategy` is the current form: `concurrency=` is deprecated since
Ray 2.51, and `**ray_remote_args` since 2.60. Ray is imported only here, and only when the runner is `ray`.

Each actor calls the stage's own shard function, which writes the shard's files into the lake (so every node must
see the lake path); what comes back to the driver is the function's Arrow output, carried as Arrow IPC bytes so that
successes and failures share one schema. A shard that raises is retried in the actor up to `max_attempts` times;
then the run stops with an EmolakeError naming the shard and the error. Shards that landed stay landed.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pyarrow as pa

from etl.config.runner import RunnerConfig
from etl.errors import EmolakeError

log = logging.getLogger("emolake")

CARRIER = pa.schema([("shard", pa.int64()), ("attempts", pa.int32()), ("error", pa.string()), ("output", pa.binary())])
"""What an actor returns per shard: the stage's output table as Arrow IPC bytes, or the last error."""


def run_on_ray(shards: pa.Table, worker, runner: RunnerConfig) -> Iterator[tuple[int, pa.Table]]:
    """Maps every shard through `worker`'s function on Ray actors; yields (shard id, output) as shards finish."""
    ray = connect(runner)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts shards; Ray's bars would interleave with it
    context.print_on_execution_start = False
    blocks = [shards.slice(i, 1) for i in range(shards.num_rows)]
    outputs = ray.data.from_arrow(blocks).map_batches(
        ShardActor,
        fn_constructor_args=(worker, runner.torch_threads, runner.max_attempts),
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=min(runner.workers, shards.num_rows)),
        num_cpus=runner.cpus_per_worker,
        num_gpus=runner.gpus_per_worker,
    )
    for batch in outputs.iter_batches(batch_size=None, batch_format="pyarrow"):
        for row in batch.to_pylist():
            if row["error"] is not None:
                raise EmolakeError(
                    f"shard {row['shard']} failed {row['attempts']} time(s): {row['error']}; "
                    "the shards that landed are kept: fix the cause and rerun to do the rest"
                )
            yield row["shard"], pa.ipc.open_stream(row["output"]).read_all()


def connect(runner: RunnerConfig):
    """The `ray` module, connected: an existing connection is reused (tests start their own), else `ray.init`."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise EmolakeError("--runner ray needs Ray: pip install -e '.[ray]' (or make install-ray)") from exc
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)  # Ray's notices would interleave with our progress bar
    if not ray.is_initialized():
        check_reachable(runner.address)
        try:
            ray.init(address=runner.address, include_dashboard=False, logging_level=logging.ERROR)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise EmolakeError(f"runner.address = {runner.address!r}: cannot join that Ray cluster ({exc})") from exc
    return ray


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fails at once, naming the address, when a HOST:PORT (or ray://HOST:PORT) cluster does not answer: Ray itself
    would keep retrying for minutes."""
    import socket

    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        raise EmolakeError(f"runner.address = {address!r}: no Ray cluster answers there ({exc})") from exc


class ShardActor:
    """One Ray actor: sets its torch threads, builds the shard function once, then runs one shard per call."""

    def __init__(self, worker, torch_threads: int, max_attempts: int) -> None:
        from etl.model.load import set_threads

        set_threads(torch_threads)
        self.function = worker()
        self.max_attempts = max_attempts

    def __call__(self, batch: pa.Table) -> pa.Table:
        return pa.Table.from_pylist([self.attempt(row) for row in batch.to_pylist()], schema=CARRIER)

    def attempt(self, row: dict) -> dict:
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                output = self.function(row)
            except Exception as exc:  # reported to the driver, which fails the run naming the shard
                error = f"{type(exc).__name__}: {exc}"
                log.warning("shard %s attempt %d failed:\n%s", row["shard"], attempt, traceback.format_exc())
                continue
            return {"shard": row["shard"], "attempts": attempt, "error": None, "output": to_ipc(output)}
        return {"shard": row["shard"], "attempts": self.max_attempts, "error": error, "output": None}


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
