"""Our writing prompts, versioned: every generated row stores the hash of the template that produced it."""

from __future__ import annotations

import hashlib

PROMPT_VERSION = "local-v1"

TEMPLATES = {
    "emotional_story": (
        "Write one paragraph of about 100 words: a short story set during {topic}. The main character feels "
        '{emotion}. Never write the word "{emotion}" or any other word for a feeling: let the reader work it '
        "out from what the character does, notices, says and thinks. Output only the story."
    ),
    "neutral_story": (
        "Write one paragraph of about 100 words describing {topic} as a plain sequence of routine actions and "
        "facts, like an instruction manual or a schedule. No feelings, no opinions, no drama. Output only the text."
    ),
}


def render(corpus: str, **fields: str) -> str:
    return TEMPLATES[corpus].format(**fields)


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def template_hash(corpus: str) -> str:
    return prompt_hash(f"{PROMPT_VERSION}\n{TEMPLATES[corpus]}")
