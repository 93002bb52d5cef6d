"""Quality filters on hand-written texts: each check with cases it must refuse and cases it must keep."""

import json

import pytest

from etl.generation.filters import Duplicates, Limits, english_share, split_rows, word_count
from etl.generation.texts import Turn, parse_turns, render_dialogue, spans_json

LIMITS = Limits(min_words=40, max_words=260, dialogue_min_words=12, dialogue_max_words=200)
STORY = (
    "Marta read the letter twice at the kitchen table, then folded it into a small square and pressed it flat "
    "under her palm. She stood, sat down again, and picked at a thread on her sleeve until it came loose. When "
    "the kettle began to whistle she did not move for a long moment."
)
OTHER_STORY = (
    "The bus was eleven minutes late, and Tomas checked the timetable on the pole three separate times as if the "
    "numbers might change. He walked to the curb, looked down the street, walked back, and pulled his phone out "
    "and put it away without unlocking it, his jaw tight and working."
)


def story(text, emotion="angry", corpus="emotional_story", text_id=None, **extra):
    return {"text_id": text_id or str(hash(text)), "text": text, "emotion": emotion, "corpus": corpus, **extra}


def dialogue(turns, corpus="neutral_dialogue", emotion=None, displayed=None, speakers=None):
    text, spans = render_dialogue([Turn(s, t) for s, t in turns])
    return {
        "text_id": text[:30],
        "text": text,
        "corpus": corpus,
        "emotion": emotion,
        "displayed_emotion": displayed,
        "spans": spans_json(spans, speakers=speakers),
    }


def reasons(rows, limits=LIMITS, duplicates=None):
    kept, rejected = split_rows(rows, limits, duplicates)
    return [r["reason"] for r in rejected], kept


def test_clean_stories_are_kept():
    found, kept = reasons([story(STORY), story(OTHER_STORY)])
    assert found == [] and len(kept) == 2


@pytest.mark.parametrize(
    ("emotion", "sentence"),
    [
        ("angry", "She was angry."),
        ("angry", "He slammed it angrily."),
        ("angry", "The anger rose in him."),
        ("angry", "ANGRY, she left."),
        ("alarmed", "It was an alarming sound."),
        ("amused", "Nothing was amusing about it."),
    ],
)
def test_a_story_naming_its_emotion_or_a_derivative_is_rejected(emotion, sentence):
    kept, rejected = split_rows([story(f"{STORY} {sentence}", emotion)], LIMITS)
    assert [r["reason"] for r in rejected] == ["names_emotion"] and kept == []
    assert emotion in rejected[0]["detail"]


@pytest.mark.parametrize(
    ("emotion", "sentence"),
    [
        ("angry", "The angular roof leaned."),  # shares letters, not the word
        ("calm", "The calendar hung by the door."),
        ("sad", "Sadie waved from the gate."),
        ("happy", "He read about happenings in town."),
    ],
)
def test_words_that_only_look_like_the_emotion_are_kept(emotion, sentence):
    found, _ = reasons([story(f"{STORY} {sentence}", emotion)])
    assert found == []


def test_neutral_texts_are_not_checked_for_emotion_words():
    found, _ = reasons([story(f"{STORY} The angry bird app was updated.", None, "neutral_story")])
    assert found == []


def test_length_bounds_are_inclusive_and_differ_for_dialogues():
    words = STORY.split()
    at_min = " ".join(words[:40])
    assert reasons([story(at_min)])[0] == []
    assert reasons([story(" ".join(words[:39]))])[0] == ["too_short"]
    found, _ = reasons([story(" ".join(["Then the box was on the shelf."] * 38))])
    assert found == ["too_long"]
    short = dialogue([("Person", "Where is the bus stop?"), ("AI", "Two blocks north of here, by the bank.")])
    assert reasons([short])[0] == []  # 14 words: under a story's minimum, above a dialogue's


@pytest.mark.parametrize(
    "text",
    [
        "Le chat est assis sur la table de la cuisine et regarde par la fenêtre pendant que la pluie tombe sur "
        "les toits de la ville. Marie prépare le café, lit le journal et attend que son frère arrive avec le pain.",
        "Der Hund lief schnell über die Straße, weil die Kinder im Garten mit einem roten Ball spielten und laut "
        "riefen. Später saßen alle zusammen am Tisch und aßen Kuchen, den die Großmutter gebacken hatte.",
        "她走进厨房，把水壶放在炉子上，然后打开窗户看着外面的雨。" * 3,
        "Kettle ladder window bicycle garden ticket station notebook bridge lantern basket harbor market tractor "
        "library pencil blanket river mailbox bakery compass violin carpet engine orchard tunnel helmet bucket "
        "cabinet canal kettle ladder window bicycle garden ticket station notebook bridge lantern basket harbor",
    ],
)
def test_text_that_is_not_mostly_english_is_rejected(text):
    found, _ = reasons([story(text, None, "neutral_story")], Limits(min_words=5))
    assert found == ["not_english"]


def test_english_share_of_plain_prose():
    ascii_share, function_share = english_share(STORY)
    assert ascii_share == 1.0 and 0.3 < function_share < 0.6
    accented = (
        "Zoë and André met at the café by the old bridge, where they had coffee and split a pastry. She told him "
        "about the move to Zürich, the boxes still stacked in the hall, and the neighbour who played the cello at "
        "night. He listened, turned his cup on its saucer, and asked when the train left on Sunday."
    )
    found, _ = reasons([story(accented)])
    assert found == []  # a few accented names are still English


def test_looping_text_is_rejected_and_ordinary_repetition_is_not():
    loop = STORY + " " + "No, no no, no no no, " * 12
    assert reasons([story(loop)])[0] == ["repetitive"]
    spam = "Person: Can we play?\nAI: " + " ".join(["No problem!"] * 30)
    assert reasons([story(spam, None, "neutral_story")])[0] == ["repetitive"]
    refrain = STORY + " She said it again: not now, not now. Then she stood up and went to the window."
    assert reasons([story(refrain)])[0] == []


def test_exact_duplicates_ignore_case_and_punctuation():
    found, kept = reasons([story(STORY, text_id="a"), story(STORY.upper().replace(",", ""), text_id="b")])
    assert found == ["duplicate"] and [r["text_id"] for r in kept] == ["a"]


def test_near_duplicates_are_caught_and_different_texts_are_not():
    edited = STORY.replace("twice", "three times").replace("small", "tiny").replace("long moment", "while")
    found, _ = reasons([story(STORY, text_id="a"), story(edited, text_id="b"), story(OTHER_STORY, text_id="c")])
    assert found == ["near_duplicate"]
    _, rejected = split_rows([story(STORY, text_id="a"), story(edited, text_id="b")], LIMITS)
    assert "with a" in rejected[0]["detail"]


def test_duplicates_are_found_across_chunks_through_the_shared_index():
    index = Duplicates(LIMITS.near_duplicate)
    assert reasons([story(STORY, text_id="first")], duplicates=index)[0] == []
    assert reasons([story(OTHER_STORY, text_id="other")], duplicates=index)[0] == []
    assert reasons([story(STORY + " Then she stood.", text_id="again")], duplicates=index)[0] == ["near_duplicate"]
    assert len(index) == 2


def test_rejected_texts_do_not_block_later_ones():
    named = story(STORY + " She was angry.", text_id="named")
    found, kept = reasons([named, story(STORY, text_id="clean")])
    assert found == ["names_emotion"] and [r["text_id"] for r in kept] == ["clean"]


def test_a_well_formed_dialogue_is_kept():
    row = dialogue([("Person", "How long do I boil an egg?"), ("AI", "About nine minutes for a firm yolk.")])
    assert reasons([row])[0] == []


@pytest.mark.parametrize(
    ("turns", "speakers"),
    [
        ([("Person", "How long do I boil an egg?"), ("Assistant", "About nine minutes for a firm yolk.")], None),
        ([("Person", "How long do I boil an egg?"), ("Person", "And how long for a soft yolk then?")], None),
        (
            [("Ana", "Did you bring the map for the trip?"), ("Ana", "I left it on the bus this morning.")],
            ["Ana", "Bo"],
        ),
    ],
)
def test_dialogues_with_the_wrong_speakers_are_rejected(turns, speakers):
    names = [{"name": n, "emotion": "calm"} for n in speakers] if speakers else None
    row = dialogue(turns, "speaker_dialogue" if speakers else "neutral_dialogue", speakers=names)
    assert reasons([row])[0] == ["bad_dialogue"]


def test_dialogue_without_spans_or_with_wrong_spans_is_rejected():
    row = dialogue([("Person", "How long do I boil an egg?"), ("AI", "About nine minutes for a firm yolk.")])
    unparsed = {**row, "spans": None}
    shifted = json.loads(row["spans"])
    shifted["turns"][1]["start"] += 3
    moved = {**row, "text_id": "moved", "spans": json.dumps(shifted)}
    assert reasons([unparsed])[0] == ["bad_dialogue"]
    assert reasons([moved])[0] == ["bad_dialogue"]


def test_dialogues_naming_any_of_their_emotions_are_rejected():
    turns = [("Person", "All good here, truly, I am perfectly calm about the exam."), ("AI", "Glad to hear it.")]
    row = dialogue(turns, "deflection_dialogue", emotion="afraid", displayed="calm")
    assert reasons([row])[0] == ["names_emotion"]
    names = [{"name": "Ana", "emotion": "calm"}, {"name": "Bo", "emotion": "jealous"}]
    turns = [("Ana", "The train is late again, it seems."), ("Bo", "I am so jealous of your seat by the window.")]
    assert reasons([dialogue(turns, "speaker_dialogue", emotion="calm", speakers=names)])[0] == ["names_emotion"]


def test_parse_turns_tolerates_markdown_and_continuation_lines():
    turns = parse_turns("**Person:** Where is the station?\n\nAI: Go north.\nThen turn left at the bank.\n")
    assert turns == [Turn("Person", "Where is the station?"), Turn("AI", "Go north. Then turn left at the bank.")]
    text, spans = render_dialogue(turns)
    assert [text[s["start"] : s["end"]] for s in spans] == [t.text for t in turns]


@pytest.mark.parametrize("text", ["Here is a dialogue:\nPerson: Hi.\nAI: Hello.", "Person:\nAI: Hello.", ""])
def test_parse_turns_refuses_preambles_and_empty_turns(text):
    assert parse_turns(text) is None


def test_word_count():
    assert word_count("It's a well-known fact, isn't it?") == 6
