import pytest

from etl import catalog
from etl.errors import EmolakeError


def test_the_catalog_has_the_papers_171_emotions():
    assert len(catalog.emotions()) == 171 == len(set(catalog.emotions()))


def test_every_emotion_is_in_exactly_one_group():
    members = [e for words in catalog.groups().values() for e in words]
    assert sorted(members) == sorted(catalog.emotions())
    for required in ("fear", "anger", "sadness", "disgust", "surprise", "joy", "guilt", "shame", "calm", "desperation"):
        assert required in catalog.groups()
    assert catalog.group_of()["desperate"] == "desperation"


def test_norms_cover_the_126_rated_words_on_a_1_to_9_scale():
    norms = catalog.norms()
    assert len(norms) == 126 and set(norms) <= set(catalog.emotions())
    assert all(1 <= v["valence"] <= 9 and 1 <= v["arousal"] <= 9 for v in norms.values())
    assert norms["happy"]["valence"] > 7 > 3 > norms["depressed"]["valence"]


def test_topics_are_100_distinct():
    assert len(catalog.topics()) == 100 == len(set(catalog.topics()))


def test_forms_include_the_word_itself():
    assert all(e in catalog.forms()[e] for e in catalog.emotions())
    assert "anger" in catalog.forms()["angry"]


@pytest.mark.parametrize(
    ("text", "emotion", "found"),
    [
        ("She was angry about it.", "angry", "angry"),
        ("Anger rose in him.", "angry", "anger"),
        ("He sat at ease on the porch.", "at ease", "at ease"),
        ("The dangerous road wound on.", "angry", None),
        ("Her hands shook as she read the letter.", "afraid", None),
    ],
)
def test_names_emotion(text, emotion, found):
    assert catalog.names_emotion(text, emotion) == found


def test_select_resolves_counts_and_lists_and_rejects_unknown_words():
    assert catalog.select(3) == catalog.emotions()[:3]
    assert catalog.select(("calm", "afraid")) == ("calm", "afraid")
    with pytest.raises(EmolakeError, match="unknown emotion"):
        catalog.select(("calm", "hangry"))
    with pytest.raises(EmolakeError, match="between 2 and 171"):
        catalog.select(0)


def test_topic_folds_spread_each_emotions_topics():
    folds = {catalog.topic_fold(t, 5) for t in catalog.topics()}
    assert folds == {0, 1, 2, 3, 4}
    assert catalog.topic_fold("a new topic", 5) == catalog.topic_fold("a new topic", 5)
