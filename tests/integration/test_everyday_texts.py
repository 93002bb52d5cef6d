"""Ten everyday texts with an obvious emotion, written by us (data/examples/everyday.csv): the default probe set of the
bundled SmolLM2 must put an emotion of the right family (etl/data/emotion_groups.toml) in its top 3 for at least 8."""

import csv
from pathlib import Path

import pytest

from etl import catalog, runner
from etl.config import load_preset
from etl.lake import Lake
from etl.probes.scoring import open_scorer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PRESET = Path(__file__).parent / "presets" / "everyday.toml"

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples" / "everyday.csv"
EVERYDAY = [(row["text"], catalog.group_of()[row["emotion"]]) for row in csv.DictReader(EXAMPLES.open())]
"""(text, the family of its emotion): the shipped example file of `emolake validate`."""


@pytest.fixture(scope="module")
def everyday_lake(tmp_path_factory):
    lake = tmp_path_factory.mktemp("everyday") / "lake"
    preset = load_preset(str(PRESET), lake=lake)
    for stage in runner.PIPELINE:
        runner.execute(stage, preset)
    return Lake(lake)


def test_the_default_probe_set_names_the_right_family_for_everyday_texts(everyday_lake):
    scorer = open_scorer(everyday_lake)
    found = scorer.nearest([text for text, _ in EVERYDAY], 3)
    group_of = catalog.group_of()
    hits = [family in {group_of[m["emotion"]] for m in top} for (_, family), top in zip(EVERYDAY, found, strict=True)]
    answers = {text: [m["emotion"] for m in top] for (text, _), top in zip(EVERYDAY, found, strict=True)}
    assert sum(hits) >= 8, answers


def test_the_examples_cover_ten_families():
    assert len(EVERYDAY) == 10 and len({family for _, family in EVERYDAY}) == 10
