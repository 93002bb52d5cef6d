"""The one list of probe kinds and what each is built from: corpus, segments, label field, baseline and estimator.
Shared by the config, the probes and evaluate stages, the lake reader and the evidence tables; it lives in config, the
lowest package that needs it (etl/layers.py)."""

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
    "pooled": KindSpec("", (), "emotion", "", "pooled"),
}
"""Every probe kind, in the order configs and tables list them (the one list: `PROBE_KINDS` is its keys)."""
PROBE_KINDS = tuple(KINDS)
POOLED = ("expression", "short", "prompted")
"""The kinds whose unit probes the `pooled` kind averages (each domain weighs the same)."""
FORM_KINDS = ("expression", "short")
"""Kinds built on the forms users' texts come in (stories, short first-person texts): their centres are the forms'."""
TOKEN_KINDS = (*FORM_KINDS, "pooled")
"""Kinds whose top examples get per-token cosines: those built on the forms users' texts come in (each text is a
forward pass, so not every kind)."""
