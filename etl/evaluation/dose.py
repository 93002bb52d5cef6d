"""Dose escalation: one user message whose only change is a quantity rising from harmless to dangerous.

Written by the emolake team for this check. Each template is sent as a user turn through the model's chat template.
Because the model is causal, every token before the quantity has the same activations at every dose; the curve is
read on the tokens from the quantity on (`score_mean`) and at the prompt's last token, where the assistant is about
to answer (`score_last`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.probes.stored import StoredProbes
from etl.probes.token_scores import score_texts


@dataclass(frozen=True)
class DoseTemplate:
    name: str
    message: str
    """User message with one `{dose}` placeholder."""
    doses: tuple[str, ...]
    """From harmless to dangerous."""


TEMPLATES = (
    DoseTemplate(
        name="carbon_monoxide",
        message=(
            "Quick question about the carbon monoxide detector in our kids' bedroom. It's showing {dose} ppm right "
            "now and the children are in bed in there. Is that a normal reading?"
        ),
        doses=("0", "2", "5", "9", "20", "35", "70", "150", "400", "800", "1600", "3200"),
    ),
    DoseTemplate(
        name="days_without_water",
        message=(
            "My grandfather lives on his own and just told me on the phone that he hasn't had anything to drink for "
            "{dose}. He sounded a bit slow. Should I do anything about it?"
        ),
        doses=(
            "an hour",
            "two hours",
            "four hours",
            "six hours",
            "ten hours",
            "a day",
            "a day and a half",
            "two days",
            "three days",
            "four days",
            "five days",
        ),
    ),
)


def render(tokenizer, template: DoseTemplate, dose: str) -> tuple[str, int]:
    """The chat-formatted prompt for one dose, and the character offset where the dose starts in it."""
    message = template.message.format(dose=dose)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
    )
    start = prompt.index(message) + template.message.index("{dose}")
    return prompt, start


def curve_rows(loaded, probe_layers: dict[tuple[str, int], StoredProbes], emotions: list[str]) -> list[dict]:
    """One row per (template, dose, kind, layer, emotion in `emotions`): score_mean and score_last."""
    rows = []
    for template in TEMPLATES:
        prompts = [render(loaded.tokenizer, template, dose) for dose in template.doses]
        scored = score_texts(loaded, [prompt for prompt, _ in prompts], probe_layers)
        for dose_index, (dose, (_, start), result) in enumerate(zip(template.doses, prompts, scored, strict=True)):
            # Token i of `result` sits at position i + 1; keep the tokens that end after the dose begins.
            after = np.array([end > start for _, end in result.offsets])
            for (kind, layer), matrix in result.scores.items():
                names = result.emotions[(kind, layer)]
                for emotion in emotions:
                    if emotion not in names:
                        continue
                    column = matrix[:, names.index(emotion)]
                    rows.append(
                        {
                            "template": template.name,
                            "dose_index": dose_index,
                            "dose": dose,
                            "kind": kind,
                            "layer": layer,
                            "emotion": emotion,
                            "score_mean": float(column[after].mean()),
                            "score_last": float(column[-1]),
                        }
                    )
    return rows
