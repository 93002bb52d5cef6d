"""Pipeline stages: each module has one `run(config) -> StageResult` and talks to the others only through the lake.

The runner (etl/runner.py) names every stage module in an import of its own (`stage_module`), not by a string."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StageResult:
    """What a stage's run() returns: counts for the manifest and the summary."""

    rows_read: int = 0
    rows_written: int = 0
    details: dict = field(default_factory=dict)
