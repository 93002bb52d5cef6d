"""What a Gemini run will cost, before anything is sent: requests, texts and tokens for the pending chunks.

Prompts are rendered exactly as they will be sent and measured; answers are guessed from each corpus's expected
length (the guidelines' midpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from etl.generation import prompts
from etl.generation.plan import Chunk, Request

# Expected words per text, for the up-front token estimate (the guidelines' midpoints); ~1.35 tokens per word.
EXPECTED_WORDS = {
    "emotional_story": 95,
    "neutral_story": 85,
    "neutral_dialogue": 110,
    "deflection_dialogue": 250,
    "speaker_dialogue": 120,
}
TOKENS_PER_WORD, CHARS_PER_TOKEN, ITEM_OVERHEAD = 1.35, 4.0, 12


@dataclass(frozen=True)
class Estimate:
    requests: int
    texts: int
    input_tokens: int
    output_tokens: int

    def describe(self, model: str) -> str:
        return (
            f"gemini estimate: {self.requests} requests to {model} for {self.texts} texts, about "
            f"{self.input_tokens:,} input and {self.output_tokens:,} output tokens (before retries and thinking)"
        )


def estimate(chunks: list[Chunk]) -> Estimate:
    """Requests and tokens the pending chunks will cost: prompts are rendered and measured, answers are guessed
    from the corpus's expected length."""
    requests = texts = input_tokens = output_tokens = 0
    for chunk in chunks:
        for call in chunk.calls:
            requests += 1
            texts += len(call)
            input_tokens += math.ceil(len(render(chunk.corpus, call)) / CHARS_PER_TOKEN)
            per_text = EXPECTED_WORDS[chunk.corpus] * TOKENS_PER_WORD + ITEM_OVERHEAD
            output_tokens += math.ceil(per_text * len(call))
    return Estimate(requests, texts, input_tokens, output_tokens)


def render(corpus: str, call: tuple[Request, ...]) -> str:
    """The prompt text of one request, exactly as it is sent."""
    return prompts.gemini_prompt(corpus, [{"id": i + 1, **r.fields()} for i, r in enumerate(call)])
