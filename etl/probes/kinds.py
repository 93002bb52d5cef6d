"""What each probe kind is built from: corpus, segments, label field, baseline and estimator. Shared by the probes
and evaluate stages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindSpec:
    corpus: str
    segments: tuple[str, ...]
    label: str
    """The vectors' meta field that holds a row's emotion label."""
    baseline: str
    """Which neutral corpora are projected out: `story`, `dialogue`, `short` or `prompt` (see ProbesConfig)."""
    estimator: str = "mean_diff"
    """`mean_diff` (the paper's recipe), `prompted` (instruction states) or `pooled` (a combination of kinds)."""


KINDS = {
    "expression": KindSpec("emotional_story", ("text",), "emotion", "story"),
    "deflection": KindSpec("deflection_dialogue", ("masking",), "emotion", "dialogue"),
    "present_speaker": KindSpec("speaker_dialogue", ("speaker_0", "speaker_1"), "speaker_emotion", "dialogue"),
    "other_speaker": KindSpec("speaker_dialogue", ("speaker_0", "speaker_1"), "other_emotion", "dialogue"),
    "short": KindSpec("short_text", ("text",), "emotion", "short"),
    "prompted": KindSpec("emotion_prompt", ("last",), "emotion", "prompt", "prompted"),
}
POOLED = ("expression", "short", "prompted")
"""The kinds whose unit probes the `pooled` kind averages (each domain weighs the same)."""
KINDS["pooled"] = KindSpec("", (), "emotion", "", "pooled")
