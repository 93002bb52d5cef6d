"""Implicit scenarios: short first-person situations that evoke one emotion without naming any of the 171.

Written by the emolake team for this check (a test enforces that no text contains a form of any emotion word).
Each text is scored with the shared per-token scorer; a scenario's score for an emotion is the mean over its tokens.
The scenario x emotion matrix is strong on its diagonal when each scenario's target stands out among all emotions.
"""

from __future__ import annotations

import numpy as np

from etl.probes.stored import StoredProbes
from etl.probes.token_scores import score_texts

SCENARIOS: tuple[tuple[str, str, str], ...] = (
    (
        "footsteps",
        "afraid",
        "It was past two in the morning and I was by myself in the house. Then I heard the back door creak open, "
        "slow footsteps crossing the kitchen, and a drawer being pulled out. My phone was downstairs. I held my "
        "breath under the blanket and listened to the steps reach the bottom of the stairs.",
    ),
    (
        "scratched_car",
        "angry",
        "I came back to the car park and found a long deep scratch down the whole side of my new car, and a dent "
        "in the door. The man in the next space was laughing with his friend, keys still in his hand. When I "
        "asked him about it he shrugged, said it was already like that, and drove off.",
    ),
    (
        "lake_morning",
        "calm",
        "The lake was flat as glass at sunrise. I sat on the dock with a mug of tea, feet hanging over the water, "
        "and watched mist lift off the surface. A heron stood still in the reeds. Nothing needed doing today; "
        "I breathed slowly and let the morning go by.",
    ),
    (
        "birthday_surprise",
        "happy",
        "All my friends were waiting in the garden with balloons and a cake they had baked themselves, and my "
        "sister had flown in from abroad without telling me. We danced under the string lights until midnight, "
        "and I laughed so much my cheeks ached. It was the best birthday I have ever had.",
    ),
    (
        "empty_basket",
        "sad",
        "Our old dog died this morning at the vet, with his head on my knee. When I got home his basket was still "
        "by the radiator, with the chewed blue ball in it. I kept listening for his claws on the floor. The house "
        "has never felt so quiet, and I couldn't bring myself to put his bowl away.",
    ),
    (
        "graduation",
        "proud",
        "My daughter walked across the stage to collect her degree, the first person in our family ever to go to "
        "university. Years of night shifts so she could study flashed through my head. When they read out her "
        "name with first-class honours, I stood up and clapped louder than anyone in the hall.",
    ),
    (
        "stranger_help",
        "grateful",
        "My car broke down on a dark country road in the rain, miles from anywhere. A farmer stopped his tractor, "
        "towed me to his barn, gave me dry clothes and soup, and fixed the fan belt himself. He refused to take a "
        "penny and just said to pass it on someday. I still think about him.",
    ),
    (
        "broken_promise",
        "guilty",
        "I promised my little brother I would come to his school concert, and then I went to a party instead and "
        "forgot all about it. My mother told me later that he kept looking at the empty seat he had saved for me "
        "in the front row. I haven't been able to look him in the eye since.",
    ),
    (
        "friend_promotion",
        "jealous",
        "My best friend and I joined the firm on the same day. This morning the boss announced she would lead the "
        "new team, the job I had been working toward for three years. Everyone crowded round to congratulate "
        "her, and when she smiled at me across the room, I wished it had been me instead of her.",
    ),
    (
        "old_cassette",
        "nostalgic",
        "Clearing out the attic, I found a cassette labelled in my handwriting: summer mix, 1994. I slid it into "
        "my father's old stereo and suddenly I was sixteen again, riding bikes to the beach with the gang, "
        "sunburnt and broke, those long evenings that felt like they would never end.",
    ),
    (
        "wrong_name",
        "embarrassed",
        "At the wedding I stood up to give my speech, raised my glass, and toasted the bride by the name of the "
        "groom's ex-girlfriend. The whole room went silent. Someone coughed. I could feel my face turning red as "
        "I stumbled through the remainder of the speech, staring at my notes and wishing the floor would open.",
    ),
    (
        "fridge_smell",
        "disgusted",
        "I opened the office fridge and the smell hit me first: a container of chicken that had been there for "
        "weeks, swollen, the lid bulging, grey fur creeping over the edge and something dripping onto the shelf "
        "below. A fly crawled out as I pulled it open. I gagged and slammed the door.",
    ),
)
"""(name, target emotion, text)."""


def scenario_rows(loaded, probe_layers: dict[tuple[str, int], StoredProbes], emotions: set[str]) -> list[dict]:
    """One row per (scenario, kind, layer, emotion): the mean token score, the target, and the emotion's rank."""
    chosen = [s for s in SCENARIOS if s[1] in emotions]
    if not chosen:
        return []
    scored = score_texts(loaded, [text for _, _, text in chosen], probe_layers)
    rows = []
    for (name, target, _), result in zip(chosen, scored, strict=True):
        for (kind, layer), matrix in result.scores.items():
            names = result.emotions[(kind, layer)]
            means = matrix.mean(axis=0)
            rank = np.empty(len(means), dtype=np.int64)
            rank[np.argsort(-means, kind="stable")] = np.arange(1, len(means) + 1)
            rows += [
                {
                    "scenario": name,
                    "target": target,
                    "kind": kind,
                    "layer": layer,
                    "emotion": emotion,
                    "score": float(means[i]),
                    "rank": int(rank[i]),
                }
                for i, emotion in enumerate(names)
            ]
    return rows


def diagonal_strength(rows: list[dict]) -> dict[tuple[str, int], dict]:
    """Per (kind, layer): how much each scenario's target stands out among all emotions.

    `scenario_diagonal` is the mean over scenarios of the target's z-score within its scenario's row (scores
    standardised over all emotions); `scenario_target_rank` is the target's mean rank, `scenario_top5` the share
    of scenarios whose target ranks in the top five.
    """
    groups: dict[tuple[str, int, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["layer"], row["scenario"]), []).append(row)
    per_layer: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for (kind, layer, _), items in groups.items():
        scores = np.array([r["score"] for r in items])
        target = next((r for r in items if r["emotion"] == r["target"]), None)
        if target is None or scores.std() == 0:
            continue
        z = (target["score"] - scores.mean()) / scores.std()
        per_layer.setdefault((kind, layer), []).append((float(z), target["rank"]))
    return {
        key: {
            "scenario_diagonal": float(np.mean([z for z, _ in values])),
            "scenario_target_rank": float(np.mean([r for _, r in values])),
            "scenario_top5": float(np.mean([r <= 5 for _, r in values])),
            "n_scenarios": len(values),
        }
        for key, values in per_layer.items()
    }
