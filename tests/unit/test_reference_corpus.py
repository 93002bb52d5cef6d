"""Quality gates on the shipped reference corpus (data/reference_corpus/*.jsonl)."""

import re
from collections import Counter, defaultdict

import pytest

from etl import catalog
from etl.generation.filters import normalised, word_count
from etl.generation.writers.reference import read_corpus

STORIES = read_corpus("emotional_story")
REQUIRED = {"text_id", "corpus", "emotion", "topic", "text", "source", "prompt_hash", "created_at"}


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = normalised(text).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_every_emotion_has_at_least_8_stories_on_distinct_topics():
    topics = defaultdict(list)
    for row in STORIES:
        topics[row["emotion"]].append(row["topic"])
    assert set(topics) == set(catalog.emotions())
    assert all(len(t) >= 8 and len(set(t)) == len(t) for t in topics.values())
    assert all(t in catalog.topics() for ts in topics.values() for t in ts)


@pytest.mark.parametrize(
    "corpus", ["emotional_story", "neutral_story", "neutral_dialogue", "deflection_dialogue", "speaker_dialogue"]
)
def test_rows_carry_provenance_and_unique_ids(corpus):
    rows = read_corpus(corpus)
    assert rows, f"{corpus} is not shipped"
    assert all(set(r) >= REQUIRED and r["source"] == "reference" for r in rows)
    assert all(r["corpus"] == corpus and r["text"].strip() for r in rows)
    ids = [r["text_id"] for r in rows]
    assert len(ids) == len(set(ids))


def test_no_story_names_its_own_emotion():
    offenders = [(r["emotion"], catalog.names_emotion(r["text"], r["emotion"])) for r in STORIES]
    assert [o for o in offenders if o[1]] == []


def test_dialogues_do_not_name_their_emotions():
    offenders = []
    for row in read_corpus("deflection_dialogue") + read_corpus("speaker_dialogue"):
        for emotion in [row.get("emotion"), row.get("displayed_emotion")] + [
            s["emotion"] for s in row.get("speakers", [])
        ]:
            if emotion and catalog.names_emotion(row["text"], emotion):
                offenders.append((row["text_id"], emotion))
    assert offenders == []


@pytest.mark.parametrize(("corpus", "low", "high"), [("emotional_story", 60, 120), ("neutral_story", 50, 110)])
def test_story_lengths(corpus, low, high):
    lengths = [word_count(r["text"]) for r in read_corpus(corpus)]
    assert min(lengths) >= low and max(lengths) <= high


def test_minimum_sizes():
    assert len(read_corpus("neutral_story")) >= 200
    assert len(read_corpus("neutral_dialogue")) >= 100
    assert len(read_corpus("speaker_dialogue")) >= 100
    deflection = Counter((r["emotion"], r["displayed_emotion"]) for r in read_corpus("deflection_dialogue"))
    targets = Counter(target for target, _ in deflection)
    assert len(targets) >= 15 and all(n >= 4 for n in targets.values()) and all(n >= 3 for n in deflection.values())


@pytest.mark.parametrize(
    "corpus", ["emotional_story", "neutral_story", "neutral_dialogue", "deflection_dialogue", "speaker_dialogue"]
)
def test_no_exact_or_near_duplicates(corpus):
    rows = read_corpus(corpus)
    assert len({normalised(r["text"]) for r in rows}) == len(rows)
    # Near duplicates: any two texts sharing more than half of their 5-word shingles.
    sets = [shingles(r["text"]) for r in rows]
    index = defaultdict(set)
    for i, s in enumerate(sets):
        for gram in s:
            index[gram].add(i)
    for i, s in enumerate(sets):
        shared = Counter(j for gram in s for j in index[gram] if j > i)
        for j, n in shared.items():
            assert n / min(len(s), len(sets[j])) <= 0.5, (rows[i]["text_id"], rows[j]["text_id"])


@pytest.mark.parametrize("corpus", ["neutral_dialogue", "deflection_dialogue", "speaker_dialogue"])
def test_dialogue_spans_match_their_speaker_turns(corpus):
    for row in read_corpus(corpus):
        lines = row["text"].split("\n")
        assert len(lines) == len(row["spans"]) >= 2
        speakers = {s["name"] for s in row["speakers"]} if "speakers" in row else {"Person", "AI"}
        for line, span in zip(lines, row["spans"], strict=True):
            assert span["speaker"] in speakers
            assert line == f"{span['speaker']}: {row['text'][span['start'] : span['end']]}"
            assert re.match(r"\S", row["text"][span["start"] : span["end"]])
        if corpus == "deflection_dialogue":
            assert row["masking_speaker"] == "Person" and any(s["speaker"] == "Person" for s in row["spans"])
