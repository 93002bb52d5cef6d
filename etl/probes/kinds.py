"""What each probe kind is built from: corpus, segments and label field. Shared by the probes and evaluate stages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindSpec:
    corpus: str
    segments: tuple[str, ...]
    label: str
    """The vectors' meta field that holds a row's emotion label."""
    dialogue: bool
    """Whether the dialogue baseline (not the story baseline) is projected out."""


KINDS = {
    "expression": KindSpec("emotional_story", ("text",), "emotion", False),
    "deflection": KindSpec("deflection_dialogue", ("masking",), "emotion", True),
    "present_speaker": KindSpec("speaker_dialogue", ("speaker_0", "speaker_1"), "speaker_emotion", True),
    "other_speaker": KindSpec("speaker_dialogue", ("speaker_0", "speaker_1"), "other_emotion", True),
}
