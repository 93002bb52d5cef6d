"""Ten everyday texts with an obvious emotion, written by us (data/examples/everyday.csv): the default probe set of the
bundled SmolLM2 must put an emotion of the right family (etl/data/emotion_groups.toml) in its top 3 for at least 8."""

import csv
from pathlib import Path

import pytest

from etl import catalog, runner
from etl.config import load_preset
from etl.config.base import PIPELINE
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
    for stage in PIPELINE:
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


SHOWCASE = {
    "My dog died this morning and the house is so quiet.": "sadness",
    "She checked the lock three times and still could not sleep.": "fear",
    "We won! I can't believe we actually won!": "joy",
}
"""Every sentence the docs pass to `emolake nearest`, with the emotion family a reader expects in its answer."""


def doc_sentences() -> set[str]:
    from doc_commands import all_commands

    found = set()
    for command in all_commands():
        words = list(command.tokens)
        if "nearest" in words and words.index("nearest") + 1 < len(words):
            first = words[words.index("nearest") + 1]
            if not first.startswith("-"):
                found.add(first)
    return found


def test_every_showcase_sentence_of_the_docs_has_an_expected_family():
    assert doc_sentences() == set(SHOWCASE)


def test_showcase_sentences_get_their_family_in_the_top_3(everyday_lake):
    found = open_scorer(everyday_lake).nearest(list(SHOWCASE), 3)
    group_of = catalog.group_of()
    answers = {text: [m["emotion"] for m in top] for text, top in zip(SHOWCASE, found, strict=True)}
    wrong = {t: a for t, a in answers.items() if SHOWCASE[t] not in {group_of[e] for e in a}}
    assert wrong == {}, answers
