"""Where the shards of a stage run: in this process (`local`, the default) or on a Ray cluster (`ray`).

The preset's top-level `[runner]` table (or `--runner`, `--address`, `--workers`, `--gpus-per-worker` on the command
line) maps onto `RunnerConfig`. It is not part of any run key: both runners write the same lake.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.errors import EmolakeError

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class RunnerConfig:
    """How `extract`, the local self-generation of `generate`, and `emolake score` spread their shards."""

    backend: str = "local"
    """`local`: one process, shards in order; `ray`: Ray Data actors, one model per actor (needs `.[ray]`)."""
    address: str | None = None
    """Ray cluster to join: `auto` (the cluster this node belongs to), `ray://HOST:10001`; None starts a Ray on this
    machine for the run."""
    workers: int = 1
    """Ray actors, each holding one copy of the model."""
    gpus_per_worker: float = 0.0
    """GPUs each actor reserves (`num_gpus`); 0 runs the actors on CPUs."""
    cpus_per_worker: float = 1.0
    """CPUs each actor reserves (`num_cpus`)."""
    torch_threads: int = 1
    """Torch CPU threads per actor, set explicitly (Ray sets OMP_NUM_THREADS=1 in its workers)."""
    max_attempts: int = 3
    """Tries per shard before the run fails naming the shard and its error (landed shards stay)."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise EmolakeError(f"runner.backend = {self.backend!r}: choose from {list(BACKENDS)}")
        if self.address is not None and self.backend != "ray":
            raise EmolakeError(f"runner.address = {self.address!r} needs runner.backend = 'ray' (--runner ray)")
        if self.address is not None and not (self.address == "auto" or "://" in self.address or ":" in self.address):
            raise EmolakeError(f"runner.address = {self.address!r}: use auto, HOST:PORT or ray://HOST:10001")
        for name in ("workers", "torch_threads", "max_attempts"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise EmolakeError(f"runner.{name} = {value!r}: use a positive integer")
        if not isinstance(self.gpus_per_worker, (int, float)) or self.gpus_per_worker < 0:
            raise EmolakeError(f"runner.gpus_per_worker = {self.gpus_per_worker!r}: use 0 (CPU) or more")
        if not isinstance(self.cpus_per_worker, (int, float)) or self.cpus_per_worker <= 0:
            raise EmolakeError(f"runner.cpus_per_worker = {self.cpus_per_worker!r}: use a positive number")
