from etl.filters import split_rows, word_count


def story(text, emotion="angry", corpus="emotional_story"):
    return {"text": text, "emotion": emotion, "corpus": corpus}


LONG = " ".join(["word"] * 50)


def test_a_clean_story_is_kept():
    kept, rejected = split_rows([story("He kicked the door shut and " + LONG)], 40, 260)
    assert len(kept) == 1 and rejected == []


def test_reasons():
    rows = [
        story("She was angry. " + LONG),
        story("Too short."),
        story(" ".join(["word"] * 300)),
        story("He kicked the door shut and " + LONG),
        story("he KICKED the door shut, and " + LONG),
    ]
    kept, rejected = split_rows(rows, 40, 260)
    assert [r["reason"] for r in rejected] == ["names_emotion", "too_short", "too_long", "duplicate"]
    assert len(kept) == 1


def test_neutral_texts_are_not_checked_for_emotion_words():
    kept, _ = split_rows([story("The angry bird app was updated. " + LONG, None, "neutral_story")], 40, 260)
    assert len(kept) == 1


def test_dialogues_skip_story_length_bounds():
    kept, _ = split_rows(
        [story("Person: Where is the bus stop?\nAI: Two blocks north.", None, "neutral_dialogue")], 40, 260
    )
    assert len(kept) == 1


def test_word_count():
    assert word_count("It's a well-known fact, isn't it?") == 6
