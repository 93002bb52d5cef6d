"""A forced choice under steering: does an emotion vector change which option the model picks?

16 situations offer an approach option and a withdraw option; each is asked in both orders (approach as A, then as
B) and the model's answer is read as the log-odds of the approach letter at the first answer position, with no
sampling. Conditions: no steering, the probe of each emotion of the contrasts, and random unit directions of the
same strength (the null). Pre-registered in docs/steering.md ("Behaviour: a forced choice"); the effects and their
intervals are `etl.evaluation.choice`. Reads probes and residual norms through a `Steerer`; writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from etl.errors import EmolakeError

SITUATIONS: tuple[tuple[str, str, str], ...] = (
    (
        "A friend calls to invite you to a dinner party tonight with people you have never met.",
        "Go to the dinner party.",
        "Stay in and spend the evening alone.",
    ),
    (
        "Your manager offers you the lead on a new project that starts next week.",
        "Accept the project.",
        "Turn the offer down.",
    ),
    (
        "A neighbour asks whether you want to join the street's football game this weekend.",
        "Join the game.",
        "Say you are busy and stay indoors.",
    ),
    (
        "You have saved some money, and a trip to a city you have never seen is on sale.",
        "Book the trip.",
        "Keep the money and stay home.",
    ),
    (
        "An old classmate writes to ask whether you would like to meet for coffee.",
        "Reply yes and pick a date.",
        "Leave the message unanswered.",
    ),
    (
        "A local choir is looking for new singers and holds auditions on Saturday.",
        "Go to the audition.",
        "Skip the audition.",
    ),
    (
        "Your sister suggests that the two of you try a pottery class this month.",
        "Sign up with her.",
        "Tell her it is not for you.",
    ),
    (
        "A colleague proposes that the team celebrate the end of the quarter with a picnic.",
        "Help plan the picnic.",
        "Say you will not come.",
    ),
    (
        "The library asks whether you would give a short talk about your hobby.",
        "Give the talk.",
        "Decline the invitation.",
    ),
    (
        "The weather is bright, and a friend suggests a long walk by the river.",
        "Go for the walk.",
        "Stay inside with the curtains closed.",
    ),
    (
        "A company you admire invites you to interview for a job you would enjoy.",
        "Go to the interview.",
        "Ignore the invitation.",
    ),
    (
        "The community garden needs volunteers to plant a new bed of flowers on Sunday.",
        "Volunteer for Sunday.",
        "Let the others do it.",
    ),
    (
        "A cousin you rarely see is visiting town and asks to stay with you for the weekend.",
        "Welcome them to stay.",
        "Make an excuse.",
    ),
    (
        "The gym offers a free first dance lesson tonight.",
        "Try the lesson.",
        "Go straight home.",
    ),
    (
        "Your book club asks whether you would host next month's meeting.",
        "Offer to host.",
        "Say no.",
    ),
    (
        "A friend is starting a band and asks whether you want to play with them.",
        "Say yes and join the band.",
        "Refuse.",
    ),
)
"""(situation, approach option, withdraw option)."""
ORDERS = ("approach_first", "approach_second")
LETTERS = ("A", "B")


@dataclass(frozen=True)
class Condition:
    """What is added while the model reads the prompt: nothing (`baseline`), an emotion's probe or a random
    direction (`control`), at a strength in fractions of the layer's residual norm."""

    name: str
    strength: float
    vector: np.ndarray | None
    control: bool = False


def prompt(situation: tuple[str, str, str], order: str) -> str:
    """The user message of one situation in one order."""
    text, approach, withdraw = situation
    first, second = (approach, withdraw) if order == ORDERS[0] else (withdraw, approach)
    return f"{text}\nWhich do you do?\nA) {first}\nB) {second}\nAnswer with the letter A or B only."


def letter_ids(tokenizer) -> tuple[int, int]:
    """The token ids of "A" and "B" as a first answer token."""
    ids = [tokenizer.encode(letter, add_special_tokens=False) for letter in LETTERS]
    if any(len(found) != 1 for found in ids) or ids[0] == ids[1]:
        raise EmolakeError("the tokenizer does not spell A and B as one token each: the choice experiment needs it")
    return ids[0][0], ids[1][0]


def random_directions(n: int, hidden: int, layer: int) -> list[np.ndarray]:
    """`n` unit Gaussian directions seeded by (index, layer): the same on every machine."""
    out = []
    for i in range(n):
        seed = int.from_bytes(hashlib.sha256(f"choice|{i}|{layer}".encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(hidden)
        out.append((vector / np.linalg.norm(vector)).astype(np.float32))
    return out


def conditions(steerer, emotions: Sequence[str], strengths: Sequence[float], n_random: int, layer: int, kind: str):
    """The baseline, each emotion's probe and `n_random` random directions at each strength."""
    found = [Condition("baseline", 0.0, None)]
    randoms = random_directions(n_random, steerer.loaded.hidden, layer)
    for strength in strengths:
        found += [Condition(e, strength, steerer.direction(e, layer, kind)) for e in emotions]
        found += [Condition(f"random_{i:02d}", strength, v, True) for i, v in enumerate(randoms)]
    return found


def measure(steerer, emotions: Sequence[str], strengths: Sequence[float], n_random: int, layer: int, kind: str):
    """One row per condition, situation and order: the log-odds of the approach letter (see the module docstring)."""
    from etl.model.generate import encode_prompts

    loaded = steerer.loaded
    a_id, b_id = letter_ids(loaded.tokenizer)
    asked = [(s, order) for s in range(len(SITUATIONS)) for order in ORDERS]
    ids = encode_prompts(loaded.tokenizer, [prompt(SITUATIONS[s], order) for s, order in asked])
    rows = []
    for condition in conditions(steerer, emotions, strengths, n_random, layer, kind):
        logits = answer_logits(loaded, ids, condition, layer, steerer.norms[layer], steerer.config.operator)
        for (situation, order), (a, b) in zip(asked, logits[:, [a_id, b_id]].tolist(), strict=True):
            approach = a - b if order == ORDERS[0] else b - a
            rows.append(
                {
                    "condition": condition.name,
                    "control": condition.control,
                    "kind": kind,
                    "layer": layer,
                    "strength": condition.strength,
                    "situation": situation,
                    "order": order,
                    "logodds": float(approach),
                }
            )
    return rows


def answer_logits(loaded, ids: list[list[int]], condition: Condition, layer: int, norm: float, operator: str):
    """(prompts, vocabulary) float32 logits at each prompt's first answer position, under `condition`."""
    from etl.model.logits import last_logits
    from etl.model.steer import Intervention

    if condition.vector is None:
        return last_logits(loaded, ids)
    return last_logits(loaded, ids, [Intervention(layer, condition.vector, condition.strength, norm, operator)])
