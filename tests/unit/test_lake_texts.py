"""`etl.lake.texts.read_texts`: the one reader of texts by corpus (steering norms, the TF-IDF judge)."""

import pytest

from etl.errors import EmolakeError
from etl.generation.texts import to_table
from etl.lake import Lake
from etl.lake.texts import read_texts


def rows(source: str, corpus: str, n: int, emotion: str | None) -> list[dict]:
    return [{"text_id": f"{source}-{corpus}-{i}", "text": f"{corpus} text {i}", "emotion": emotion} for i in range(n)]


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "lake")
    lake.write("texts", to_table(rows("reference", "short_text", 3, "calm")), source="reference", corpus="short_text")
    lake.write("texts", to_table(rows("local", "short_text", 2, "calm")), source="local", corpus="short_text")
    neutral = to_table(rows("reference", "neutral_story", 4, None))
    lake.write("texts", neutral, source="reference", corpus="neutral_story")
    return lake


def test_texts_are_filtered_by_corpus_source_and_label_in_text_id_order(lake):
    assert [r["text"] for r in read_texts(lake, ["neutral_story"], "a test", limit=2)] == [
        "neutral_story text 0",
        "neutral_story text 1",
    ]
    assert len(read_texts(lake, ["short_text"], "a test")) == 5
    assert len(read_texts(lake, ["short_text"], "a test", source="reference")) == 3
    labelled = read_texts(lake, ["short_text", "neutral_story"], "a test", source="reference", labelled=True)
    assert {r["emotion"] for r in labelled} == {"calm"} and len(labelled) == 3


def test_a_lake_without_texts_is_refused_in_one_line_naming_the_purpose(tmp_path):
    with pytest.raises(EmolakeError, match="has no texts: run `make generate` before steering"):
        read_texts(Lake(tmp_path / "empty"), ["neutral_story"], "steering")


def test_a_corpus_without_texts_is_refused_naming_it(lake):
    with pytest.raises(EmolakeError, match="no emotional_story texts for a test: run `make generate`"):
        read_texts(lake, ["emotional_story"], "a test")
