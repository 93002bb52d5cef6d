"""The invariance measurement (etl/evaluation/invariance.py, #22 item 5) with stand-in scorers: no model."""

import numpy as np
import pytest

from etl import catalog
from etl.evaluation import invariance

EMOTIONS = ["afraid", "terrified", "happy", "elated", "sad", "angry"]
WORDS = {"scared": 0, "dark": 1, "won": 2, "party": 3, "cry": 4, "hate": 5}
SETS = {
    "everyday": [("I was scared of the dark.", "afraid"), ("We won the party!", "happy")],
    "short": [("i cry and hate it", "sad")],
}


def bag_of_words(texts: list[str]) -> np.ndarray:
    """Scores from the emotional words alone (case and punctuation folded): invariant by construction."""
    scores = np.zeros((len(texts), len(EMOTIONS)))
    for row, text in enumerate(texts):
        for word in "".join(c for c in text.lower() if c.isalpha() or c == " ").split():
            if word in WORDS:
                scores[row, WORDS[word]] += 1.0
        scores[row] += np.arange(len(EMOTIONS)) * 1e-3  # a fixed order among the rest
    return scores


def test_a_scorer_that_reads_only_emotional_words_keeps_every_answer():
    rows = invariance.rows(bag_of_words, EMOTIONS, SETS)
    assert {(r["test_set"], r["perturbation"]) for r in rows} == {
        (s, p) for s in SETS for p in invariance.PERTURBATIONS
    } | {("all", "all")}
    for r in rows:
        assert r["family_same"] == 1.0 and r["top1_same"] == 1.0
        assert r["family_hit"] == r["family_hit_before"] == 1.0
    assert next(r for r in rows if r["test_set"] == "all")["n_texts"] == 3 * len(invariance.PERTURBATIONS)


def test_a_scorer_swayed_by_an_opener_is_caught():
    def swayed(texts: list[str]) -> np.ndarray:
        scores = bag_of_words(texts)
        scores[[t.startswith("Honestly") for t in texts], 4] += 10  # "Honestly, ..." reads as sadness
        return scores

    rows = {(r["test_set"], r["perturbation"]): r for r in invariance.rows(swayed, EMOTIONS, SETS)}
    assert rows[("everyday", "prefix 'Honestly, '")]["family_same"] == 0.0
    assert rows[("everyday", "prefix 'Honestly, '")]["top1_same"] == 0.0
    assert rows[("everyday", "prefix 'So, '")]["family_same"] == 1.0
    # the short text already had sadness among its top three: its answer, as a set of families, is kept
    assert rows[("short", "prefix 'Honestly, '")]["family_same"] == 1.0
    assert rows[("short", "prefix 'Honestly, '")]["top1_same"] == 0.0
    assert rows[("all", "all")]["family_same"] == pytest.approx(1 - 2 / 24)


def test_the_answer_compared_is_the_set_of_families_of_the_top_three():
    scores = np.array([[3.0, 2.0, 1.0, 0.0, 0.0, 0.0], [2.0, 3.0, 0.0, 0.0, 1.0, 0.0]])
    first, second = invariance.families(scores, EMOTIONS)
    group = catalog.group_of()
    assert first == {group["afraid"], group["happy"]}  # afraid and terrified are one family
    assert second == {group["afraid"], group["sad"]}


def test_perturbations_change_form_only():
    text = "My dog died this morning, and the house is so quiet."
    changed = {name: change(text) for name, change in invariance.PERTURBATIONS.items()}
    assert changed["prefix 'Honestly, '"] == "Honestly, my dog died this morning, and the house is so quiet."
    assert changed["suffix ' lol'"] == text + " lol"
    assert changed["punctuation removed"] == "My dog died this morning and the house is so quiet"
    assert changed["ending '!!!'"] == "My dog died this morning, and the house is so quiet!!!"
    assert invariance.PERTURBATIONS["prefix 'So, '"]("I lost it.") == "So, I lost it."
    assert len(invariance.everyday()) == 10
    # bounded: the texts of one evaluation and their perturbations stay within a few hundred forward passes
    assert (10 + invariance.SHORT_SAMPLE) * (1 + len(invariance.PERTURBATIONS)) <= 400
    sample = invariance.sample([(str(i), "sad") for i in range(100)], invariance.SHORT_SAMPLE, seed=0)
    assert len(sample) == invariance.SHORT_SAMPLE and sample == invariance.sample(
        [(str(i), "sad") for i in range(100)], invariance.SHORT_SAMPLE, seed=0
    )


def test_a_shouted_text_is_read_in_sentence_case_and_nothing_else_is():
    from etl.probes.scoring import reading_form

    assert reading_form("I YELLED AT MY SISTER. NOW SHE IS CRYING!") == "I yelled at my sister. Now she is crying!"
    assert (
        reading_form("WAIT, THE EXAM WAS CANCELLED? i HAVE NO IDEA") == "Wait, the exam was cancelled? I have no idea"
    )
    for text in ("I was NOT ready for that.", "OK", "NASA launched it today.", "We won!", "ÇA VA"):
        assert reading_form(text) == text or len(reading_form(text)) == len(text)
    assert reading_form("I was NOT ready for that.") == "I was NOT ready for that."
    assert reading_form("NASA launched it today.") == "NASA launched it today."
    assert reading_form("ŞİŞLİ") == "ŞİŞLİ"  # lower() would lengthen it: offsets must stay the text's
    shipped = [t for t, _ in invariance.everyday()]
    assert [reading_form(t) for t in shipped] == shipped
    upper = invariance.PERTURBATIONS["upper case"]
    assert [reading_form(upper(t)).lower() for t in shipped] == [t.lower() for t in shipped]
