"""A local copy of a published corpus (ryancodrai/emotion-probes's layout), made from the shipped reference corpus:
`emolake import` reads it without reaching the network."""

import pyarrow as pa
import pyarrow.parquet as pq

from etl.generation.writers.reference import read_corpus

DATASET = "ryancodrai/emotion-probes"
EMOTIONS = ("afraid", "calm", "happy")


def published_copy(root):
    """A local copy in the published layout: stories (emotion, topic, story_index, text), neutral stories, and
    deflection dialogues labelled User/Assistant; 3 of its rows break a filter and 1 names no known emotion."""
    stories = [r for r in read_corpus("emotional_story") if r["emotion"] in EMOTIONS]
    story_rows = [
        {"emotion": r["emotion"], "topic": r["topic"], "story_index": i, "story": r["text"]}
        for i, r in enumerate(stories)
    ]
    story_rows.append({"emotion": "afraid", "topic": "a walk", "story_index": 900, "story": "Too short to keep."})
    story_rows.append({**story_rows[0], "story_index": 901})  # the same words again: a duplicate
    story_rows.append({"emotion": "hangry", "topic": "a meal", "story_index": 902, "story": stories[1]["text"] + " x"})
    neutral = [{"topic": r["topic"], "story": r["text"]} for r in read_corpus("neutral_story")[:10]]
    dialogues = [r for r in read_corpus("deflection_dialogue") if r["emotion"] in EMOTIONS][:6]
    dialogue_rows = [
        {
            "target_emotion": r["emotion"],
            "displayed_emotion": r["displayed_emotion"],
            "topic": r["topic"],
            "dialogue": r["text"].replace("Person: ", "User: ").replace("\nAI: ", "\nAssistant: "),
        }
        for r in dialogues
    ]
    data = root / "copy" / "data"
    data.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(story_rows), data / "stories-00000.parquet")
    pq.write_table(pa.Table.from_pylist(neutral), data / "neutral-00000.parquet")
    pq.write_table(pa.Table.from_pylist(dialogue_rows), data / "deflection-00000.parquet")
    (root / "copy" / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n# a local copy\n")
    return root / "copy", len(stories), len(neutral), len(dialogue_rows)
