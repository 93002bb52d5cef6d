"""The plan on the tiny model: counts what generate then lands, skips what extract then writes, and its disk figure
is the size of the float16 shards extract writes; extract records its achieved FLOP/s."""

import json

import numpy as np
import pytest

from etl import runner
from etl.config import load_preset
from etl.lake import Lake
from etl.report.plan import plan_of

pytestmark = pytest.mark.integration


def test_plan_matches_the_run_it_plans(tmp_path):
    lake = Lake(tmp_path / "lake")
    preset = load_preset("tiny", lake=lake.root)
    before = plan_of(preset, seconds=0.5)
    assert before.texts > 0 and {c.origin for c in before.counts} == {"shipped"}
    assert before.tokens_per_s and "extraction of" in before.throughput_how  # measured on the model itself
    runner.execute("generate", preset)
    landed = plan_of(preset, calibrate=False)
    assert landed.texts == before.texts  # every shipped text passes the filters
    result = runner.execute("extract", preset)
    shards = sorted(lake.dataset("shards").rglob("*.npy"))
    rows = sum(np.load(p, mmap_mode="r").shape[0] for p in shards)
    assert rows * 64 * 2 == landed.total_bytes  # rows x hidden x float16 over the planned layers
    after = plan_of(preset, calibrate=False)
    assert after.texts == 0 and sum(c.done for c in after.counts) == landed.texts
    efficiency = result.details["efficiency"]
    assert efficiency["flops"] > 0 and efficiency["device"] == "cpu" and efficiency["mfu"] is None
    json.dumps(result.details)  # the manifest stores it as JSON
