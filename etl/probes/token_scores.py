"""Per-token probe scores: the one function the `score` command, the dashboard and steering share.

A token's score for an emotion is the projection of its residual stream, minus the centre of the text's form
(`StoredProbes.centre_for`), on the unit probe.
Position 0 is never scored (an attention sink whose norm is ~100x the others). A text written mostly in capitals is
read in sentence case (`scoring.reading_form`, as `nearest` reads it); tokens and offsets are the text's as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from etl.errors import EmolakeError
from etl.probes.policy import MAX_TOKENS
from etl.probes.stored import StoredProbes


@dataclass
class TextScores:
    tokens: list[str]
    """Decoded tokens from position 1 on."""
    offsets: list[tuple[int, int]]
    """Character span of each token in the input text."""
    scores: dict[tuple[str, int], np.ndarray]
    """(kind, layer) -> (n_tokens, n_emotions) float32."""
    emotions: dict[tuple[str, int], list[str]]
    norms: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    """(kind, layer) -> (n_tokens,) norm of each token's centred residual: scores / norms are cosines."""

    def cosines(self, key: tuple[str, int]) -> np.ndarray:
        """(n_tokens, n_emotions) cosine of each token's centred residual with each unit probe: the scale the CLI's
        `nearest` uses for whole texts, so a token and a text read alike."""
        norms = self.norms[key]
        return (self.scores[key] / np.where(norms == 0, 1.0, norms)[:, None]).astype(np.float32)


def score_texts(loaded, texts: list[str], probe_layers: dict[tuple[str, int], StoredProbes]) -> list[TextScores]:
    """Per-token scores of each text for every (kind, layer) probe set, from one forward pass per text batch."""
    from etl.model.residuals import forward_layers
    from etl.probes.scoring import check_texts, reading_form

    check_texts(texts)
    tokenizer = loaded.tokenizer
    read = [reading_form(text) for text in texts]
    encoded = tokenizer(read, truncation=False, return_offsets_mapping=True, add_special_tokens=True)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > MAX_TOKENS]
    if too_long:
        n = len(encoded["input_ids"][too_long[0]])
        raise EmolakeError(f"text at row {too_long[0]} has {n} tokens: the limit is {MAX_TOKENS}; split it")
    layers = sorted({layer for _, layer in probe_layers})
    captured, _ = forward_layers(loaded.model, encoded["input_ids"], tokenizer.pad_token_id, layers)
    results = []
    for row, ids in enumerate(encoded["input_ids"]):
        n = len(ids)
        scores, emotions, norms = {}, {}, {}
        for (kind, layer), probes in probe_layers.items():
            hidden = captured[layer][row, 1:n].float().cpu().numpy()
            scores[(kind, layer)] = probes.project(hidden, n)
            norms[(kind, layer)] = np.linalg.norm(probes.centred(hidden, n), axis=1).astype(np.float32)
            emotions[(kind, layer)] = probes.emotions
        offsets = [tuple(int(v) for v in span) for span in encoded["offset_mapping"][row][1:n]]
        tokens = [texts[row][start:end] or tokenizer.decode([ids[i + 1]]) for i, (start, end) in enumerate(offsets)]
        results.append(TextScores(tokens, offsets, scores, emotions, norms))
    return results
