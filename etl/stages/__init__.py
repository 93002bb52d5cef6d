"""Pipeline stages: each module has one `run(config) -> StageResult` and talks to the others only through the lake."""
