"""Our writing prompts, versioned: every generated row stores the hash of the template that produced it.

Two families: `local` prompts ask the probed model for one text (dialogues are started for it with their first
label, so small models keep the `Name: words` format); `gemini` prompts ask a strong remote model for several texts
at once, as JSON that follows a response schema, and `parse_items` checks an answer against it. `records()` lists
every template with its hash for the lake's `prompts` dataset, so a row's `prompt_hash` can always be traced back
to the exact words that were sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from etl.generation.texts import Turn

if TYPE_CHECKING:
    from etl.generation.plan import Request

PROMPT_VERSION = "v2"

GUIDELINES = {
    "emotional_story": (
        "One paragraph of 60 to 120 words, a short story. The main character clearly feels {emotion}: show it only "
        "through what they do, notice, say, remember and think, and through the body. Never write the word "
        '"{emotion}", its inflections or any word built on the same root; do not name any other feeling either.'
    ),
    "neutral_story": (
        "One paragraph of 50 to 110 words, emotionally flat: routine actions, procedures, objects, places, times "
        "and quantities. No feelings, no opinions, no conflict, no evaluative words."
    ),
    "neutral_dialogue": (
        "A short exchange of 2 to 6 turns between Person and AI about a practical, emotionally neutral question: "
        "facts, steps, quantities, directions. Neither speaker shows any feeling."
    ),
    "deflection_dialogue": (
        "An exchange of 4 to 6 turns between Person and AI. Person privately feels {emotion} but presents "
        "{displayed}: their words perform {displayed}, while small leaks (an odd detail, a change of subject, an "
        "over-insistence) let a careful reader sense the real feeling. The AI answers helpfully and neutrally. "
        'Never write "{emotion}" or "{displayed}" or any word built on their roots.'
    ),
    "speaker_dialogue": (
        "A conversation of 4 to 8 turns between {speaker_a} and {speaker_b}. {speaker_a} feels {emotion}; "
        "{speaker_b} independently feels {partner_emotion}. Show each feeling only through what that person says; "
        'never write "{emotion}" or "{partner_emotion}" or any word built on their roots. Each turn is one to three '
        "sentences."
    ),
}

LOCAL = {
    "emotional_story": (
        "Write one paragraph of about 100 words: a short story set during {topic}. The main character feels "
        '{emotion}. Never write the word "{emotion}" or any other word for a feeling: let the reader work it '
        "out from what the character does, notices, says and thinks. Output only the story."
    ),
    "neutral_story": (
        "Write one paragraph of about 100 words describing {topic} as a plain sequence of routine actions and "
        "facts, like an instruction manual or a schedule. No feelings, no opinions, no drama. Output only the text."
    ),
    "neutral_dialogue": (
        "Write a short conversation about {topic} between a Person and an AI assistant. The Person asks practical "
        "questions and the AI answers with plain facts. Write 4 short turns, each on its own line starting with "
        '"Person:" or "AI:". No feelings, no opinions. Output only the conversation.'
    ),
    "deflection_dialogue": (
        "Write a conversation about {topic} between a Person and an AI assistant, 4 to 6 turns, each on its own "
        'line starting with "Person:" or "AI:". The Person secretly feels {emotion} but acts {displayed}: their '
        "words sound {displayed}, while small slips hint at the real feeling. The AI answers helpfully and "
        'neutrally. Never write the words "{emotion}" or "{displayed}". Output only the conversation.'
    ),
    "speaker_dialogue": (
        "Write a conversation during {topic} between {speaker_a} and {speaker_b}, 4 to 6 turns, each on its own "
        'line starting with "{speaker_a}:" or "{speaker_b}:". {speaker_a} feels {emotion} and {speaker_b} feels '
        "{partner_emotion}. Show the feelings through what they say, never name them. Output only the conversation."
    ),
}

GEMINI_HEADER = (
    "You write short English texts for a research dataset on how language models represent emotions. Write "
    "{n} different texts, one per numbered item below, and return them as JSON that follows the response schema, "
    "each with the item's id. Plain modern English, no titles, no markdown. Vary the characters (ages, jobs, "
    "places, names from many cultures), point of view, tense, length and above all the first words: no two texts "
    "may open the same way. Each item's topic is the setting, not a pretext mentioned once.\n\nEvery text: "
)
GEMINI_ITEM = {
    "emotional_story": "{id}. topic: {topic}; emotion: {emotion}",
    "neutral_story": "{id}. topic: {topic}",
    "neutral_dialogue": "{id}. topic: {topic}",
    "deflection_dialogue": "{id}. topic: {topic}; Person feels {emotion} but presents {displayed}",
    "speaker_dialogue": (
        "{id}. topic: {topic}; speaker A is {speaker_a}, who feels {emotion}; speaker B is {speaker_b}, who feels "
        "{partner_emotion}"
    ),
}
GEMINI_DIALOGUE_NOTE = {
    "neutral_dialogue": "Label each turn with its speaker, Person or AI.",
    "deflection_dialogue": "Label each turn with its speaker, Person or AI.",
    "speaker_dialogue": "Label each turn A or B (the item's two named people); they may call each other by name.",
}
GENERIC_FIELDS = {
    "emotion": "the item's emotion",
    "displayed": "the item's displayed emotion",
    "partner_emotion": "the other speaker's emotion",
    "speaker_a": "speaker A",
    "speaker_b": "speaker B",
}


def render(corpus: str, **fields: str) -> str:
    """The local (one text) prompt of a corpus with its fields filled in."""
    return LOCAL[corpus].format(**fields)


def assistant_prefix(corpus: str, **fields: str) -> str:
    """What the local model's answer is started with: the first speaker's label for dialogues, else nothing."""
    if corpus == "speaker_dialogue":
        return f"{fields['speaker_a']}:"
    if corpus in ("neutral_dialogue", "deflection_dialogue"):
        return "Person:"
    return ""


def gemini_prompt(corpus: str, items: list[dict]) -> str:
    """One Gemini request for several texts: the header, the corpus's rules, then one numbered line per item."""
    rules = GUIDELINES[corpus].format(**GENERIC_FIELDS)
    lines = [GEMINI_HEADER.format(n=len(items)) + rules]
    if corpus in GEMINI_DIALOGUE_NOTE:
        lines.append(GEMINI_DIALOGUE_NOTE[corpus])
    lines.append("")
    lines += [GEMINI_ITEM[corpus].format(**item) for item in items]
    return "\n".join(lines)


def dialogue_labels(corpus: str) -> tuple[str, str]:
    """The two speaker labels a Gemini dialogue's turns use (mapped back to the item's names for two speakers)."""
    return ("A", "B") if corpus == "speaker_dialogue" else ("Person", "AI")


def response_schema(corpus: str, n: int) -> dict:
    """The JSON response schema (Gemini's OpenAPI subset) for `n` texts of a corpus, each with its item id."""
    if corpus.endswith("_story"):
        item = {"type": "OBJECT", "properties": {"id": {"type": "INTEGER"}, "text": {"type": "STRING"}}}
        item["required"] = ["id", "text"]
    else:
        turn = {
            "type": "OBJECT",
            "properties": {
                "speaker": {"type": "STRING", "enum": list(dialogue_labels(corpus))},
                "text": {"type": "STRING"},
            },
            "required": ["speaker", "text"],
        }
        item = {
            "type": "OBJECT",
            "properties": {"id": {"type": "INTEGER"}, "turns": {"type": "ARRAY", "items": turn, "minItems": 2}},
            "required": ["id", "turns"],
        }
    items = {"type": "ARRAY", "items": item, "minItems": n, "maxItems": n}
    return {"type": "OBJECT", "properties": {"items": items}, "required": ["items"]}


class MalformedAnswer(ValueError):
    """An answer that is not JSON with exactly the requested items (worth asking again)."""


def parse_items(corpus: str, payload: str | None, n: int) -> list[dict]:
    """The n items of an answer, in item-id order; raises MalformedAnswer if the JSON is malformed or incomplete."""
    try:
        data = json.loads(payload or "")
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"malformed JSON ({exc.msg} at {exc.pos})") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise MalformedAnswer("answer has no `items` list")
    by_id = {item.get("id"): item for item in items if isinstance(item, dict)}
    if sorted(k for k in by_id if isinstance(k, int)) != list(range(1, n + 1)) or len(items) != n:
        raise MalformedAnswer(f"answer has ids {sorted(map(str, by_id))}, expected 1..{n}")
    labels = dialogue_labels(corpus)
    for item in by_id.values():
        if corpus.endswith("_story"):
            if not isinstance(item.get("text"), str) or not item["text"].strip():
                raise MalformedAnswer(f"item {item.get('id')} has no text")
        else:
            turns = item.get("turns")
            ok = isinstance(turns, list) and turns and all(_valid_turn(t, labels) for t in turns)
            if not ok:
                raise MalformedAnswer(f"item {item.get('id')} has no valid turns")
    return [by_id[i] for i in range(1, n + 1)]


def item_text(request: Request, item: dict) -> tuple[str, list[Turn] | None]:
    """(text, turns) of one answered item; dialogue labels A/B become the item's speaker names."""
    if request.corpus.endswith("_story"):
        return item["text"], None
    names = dict(zip(dialogue_labels(request.corpus), request.speakers or ("Person", "AI"), strict=True))
    turns = [Turn(names[t["speaker"]], " ".join(t["text"].split())) for t in item["turns"]]
    return "", turns


def _valid_turn(turn, labels: tuple[str, str]) -> bool:
    return isinstance(turn, dict) and turn.get("speaker") in labels and isinstance(turn.get("text"), str)


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def template(source: str, corpus: str) -> str:
    """Every word of the template a source uses for a corpus (for Gemini: header, rules, item line, schema)."""
    if source == "local":
        return LOCAL[corpus]
    parts = [GEMINI_HEADER, GUIDELINES[corpus], GEMINI_DIALOGUE_NOTE.get(corpus, ""), GEMINI_ITEM[corpus]]
    return "\n".join(parts) + "\n" + json.dumps(response_schema(corpus, 0), sort_keys=True)


def template_hash(corpus: str, source: str = "local") -> str:
    return prompt_hash(f"{PROMPT_VERSION}\n{source}\n{template(source, corpus)}")


def records(source: str, corpora: tuple[str, ...]) -> list[dict]:
    """One row per template of `source`: its hash, version, corpus and full text (the lake's `prompts`)."""
    return [
        {
            "prompt_hash": template_hash(corpus, source),
            "prompt_version": PROMPT_VERSION,
            "source": source,
            "corpus": corpus,
            "template": template(source, corpus),
        }
        for corpus in corpora
    ]
