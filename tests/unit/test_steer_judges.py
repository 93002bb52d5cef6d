"""The judges of steered text that are not the steered model (etl/evaluation/judges.py), the judged-success rule and
the rates with bootstrap intervals that the sweep stores (etl/stages/steer.py)."""

from datetime import UTC, datetime

import numpy as np
import pytest

from etl.evaluation.controls import bootstrap_ci
from etl.evaluation.judges import (
    JUDGES,
    LexiconJudge,
    TfidfJudge,
    Verdict,
    is_positive,
    judge_pairs,
    judged_success,
)
from etl.stages.steer import rates_table


@pytest.fixture(scope="module")
def lexicon():
    return LexiconJudge()


def test_the_lexicon_judge_reads_fixed_sentences_for_their_family(lexicon):
    afraid = "I was terrified. The scream in the dark filled me with panic and horror."
    happy = "What a wonderful, joyful day: we laughed and celebrated with our friends."
    sad = "She wept alone at the funeral, grieving the loss of her dear father."
    angry = "He was furious and shouted with rage, hating every cruel word they said."
    flat = "The table has four legs and the window faces north."
    fear, _ = lexicon.read([afraid, happy, flat], ["afraid"] * 3)
    joy, _ = lexicon.read([afraid, happy, flat], ["happy"] * 3)
    assert fear[0] > fear[1] and fear[0] > fear[2]
    assert joy[1] > joy[0] and joy[1] > joy[2]
    sadness, _ = lexicon.read([sad, happy], ["lonely", "lonely"])
    assert sadness[0] > sadness[1] > -1
    anger, _ = lexicon.read([angry, flat], ["angry", "angry"])
    assert anger[0] > anger[1] == 0.0
    # calm and proud have no NRC emotion of their family: the lexicon reads their valence
    positive, negative = lexicon.read([happy, sad], ["calm", "calm"])
    assert positive[0] > positive[1] and negative[1] > negative[0]
    shares = lexicon.shares(afraid)
    assert set(shares) >= {"fear", "joy", "positive", "negative"} and 0 < shares["fear"] <= 1


def test_the_lexicon_judge_reads_family_or_valence_as_pre_registered(lexicon):
    labels = {e: lexicon.label(e) for e in ("happy", "calm", "sad", "afraid", "angry", "disgusted", "proud", "lonely")}
    assert labels == {
        "happy": "joy",
        "calm": "positive",
        "sad": "sadness",
        "afraid": "fear",
        "angry": "anger",
        "disgusted": "disgust",
        "proud": "positive",
        "lonely": "sadness",
    }
    assert [lexicon.opposite(e) for e in ("happy", "sad")] == ["negative", "positive"]
    assert is_positive("calm") and not is_positive("lonely")


def test_a_text_without_words_never_agrees(lexicon):
    target, opposite = lexicon.read(["", "... 123 !!"], ["happy", "happy"])
    assert np.isnan(target).all() and np.isnan(opposite).all()
    (verdict,), *_ = judge_pairs([lexicon], ["We laughed with joy."], [""], ["happy"])
    assert not verdict.agrees


TRAIN = [
    ("happy", "We laughed and danced at the party, singing and smiling all night long."),
    ("happy", "The sun was bright, the children giggled and everyone cheered and hugged."),
    ("sad", "She cried alone by the grave, tears falling for the friend she had lost."),
    ("sad", "He sat in the empty room, missing her, tears in his eyes, grieving quietly."),
    ("afraid", "Footsteps behind her in the dark alley; her heart pounded and she ran."),
    ("afraid", "The door creaked open at midnight and he froze, trembling, holding his breath."),
]


def test_the_tfidf_judge_reads_the_target_family_against_the_others():
    judge = TfidfJudge([t for _, t in TRAIN], [e for e, _ in TRAIN])
    assert judge.families == ["fear", "joy", "sadness"]
    texts = ["The children laughed and cheered at the party.", "Tears fell as she cried by the grave."]
    joy, opposite = judge.read(texts, ["happy", "happy"])
    assert joy[0] > joy[1]
    assert opposite[1] > opposite[0]  # happy's opposite valence: the fear and sadness families
    readings = judge.readings(texts)
    np.testing.assert_allclose(readings.mean(axis=1), 0.0, atol=1e-12)
    target, _ = judge.read(texts, ["disgusted", "disgusted"])  # a family the judge was not trained on
    assert np.isnan(target).all()


def test_judge_pairs_read_both_texts_of_every_run():
    judge = TfidfJudge([t for _, t in TRAIN], [e for e, _ in TRAIN])
    baseline = ["The man waited on the platform.", "The man waited on the platform."]
    steered = ["The man laughed and cheered at the party.", "The man cried by the grave in tears."]
    verdicts = judge_pairs([judge], baseline, steered, ["happy", "happy"])
    assert [v.agrees for (v,) in verdicts] == [True, False]
    (first,), _ = verdicts
    assert first.judge == "tfidf_family" and first.label == "joy"
    assert first.baseline == pytest.approx(judge.read(baseline[:1], ["happy"])[0][0])
    assert first.steered == pytest.approx(judge.read(steered[:1], ["happy"])[0][0])


@pytest.mark.parametrize(
    ("surgical", "agrees", "expected"),
    [
        (True, (True, True), True),
        (True, (True, False), False),
        (True, (False, True), False),
        (False, (True, True), False),
        (True, (), False),
    ],
)
def test_judged_success_needs_a_surgical_run_and_every_judge(surgical, agrees, expected):
    pairs = zip(JUDGES, agrees, strict=False)
    verdicts = [Verdict(name, "joy", 0.0, 1.0 if up else 0.0, 0.0, 0.0) for name, up in pairs]
    assert judged_success(surgical, verdicts) is expected


def test_a_tie_or_nan_reading_does_not_agree():
    assert not Verdict("j", "joy", 0.2, 0.2, 0.0, 0.0).agrees
    assert not Verdict("j", "joy", float("nan"), 0.5, 0.0, 0.0).agrees
    assert Verdict("j", "joy", 0.1, 0.2, 0.0, 0.0).agrees


def run_row(
    i: int, emotion: str, strength: float, regime: str, agrees: tuple[bool, bool], delta: float, kind="expression"
) -> dict:
    return {
        "kind": kind,
        "control": kind == "random",
        "layer": 1,
        "emotion": emotion,
        "strength": strength,
        "operator": "add",
        "positions": "all",
        "regime": regime,
        "target_delta": delta,
        "judges": list(JUDGES),
        "judge_agrees": list(agrees),
        "judge_baseline": [0.0, 0.1],
        "judge_steered": [0.1 if agrees[0] else 0.0, 0.2 if agrees[1] else 0.0],
        "judge_opposite_baseline": [0.3, 0.0],
        "judge_opposite_steered": [0.1, -0.1],
        "run": i,
    }


def test_rates_carry_bootstrap_intervals_per_reader_setting_and_overall():
    rows = [
        run_row(0, "happy", 0.1, "surgical", (True, True), 1.0),
        run_row(1, "happy", 0.1, "surgical", (True, False), 1.0),
        run_row(2, "happy", 0.1, "explosive", (True, True), 1.0),
        run_row(3, "happy", 0.1, "surgical", (True, True), -1.0),
        run_row(4, "sad", 0.1, "surgical", (False, False), 2.0),
        run_row(5, "sad", 0.1, "surgical", (False, True), -2.0),
        run_row(6, "sad", 0.1, "surgical", (True, True), 1.0, kind="random"),
        run_row(7, "sad", 0.1, "surgical", (True, True), 1.0, kind="random"),
    ]
    table = rates_table(rows, seed=0, started=datetime.now(UTC)).to_pylist()
    kinds = {r["kind"]: r for r in table if r["scope"] == "kind" and r["reader"] == "judged"}
    assert {k: (r["n_runs"], r["success_rate"]) for k, r in kinds.items()} == {
        "expression": (6, pytest.approx(2 / 6)),
        "random": (2, 1.0),
    }
    by = {(r["scope"], r["emotion"], r["reader"]): r for r in table if r["kind"] in ("expression", None)}
    assert {r["reader"] for r in table} == {"judged", "own_probe", *JUDGES}
    happy = by[("setting", "happy", "judged")]
    assert happy["n_runs"] == 4 and happy["success_rate"] == pytest.approx(0.5)  # runs 0 and 3; 2 is explosive
    assert (happy["success_low"], happy["success_high"]) == pytest.approx(bootstrap_ci(np.array([1, 0, 0, 1]), 0))
    assert happy["success_low"] <= happy["success_rate"] <= happy["success_high"]
    assert by[("setting", "happy", "own_probe")]["success_rate"] == pytest.approx(0.5)  # runs 0 and 1
    assert by[("setting", "happy", "nrc_lexicon")]["success_rate"] == pytest.approx(0.75)
    assert by[("setting", "happy", "nrc_lexicon")]["agree_rate"] == pytest.approx(1.0)  # whatever the regime
    assert by[("setting", "happy", "nrc_lexicon")]["mean_opposite_delta"] == pytest.approx(-0.2)
    assert by[("setting", "sad", "judged")]["success_rate"] == 0.0
    overall = by[("overall", None, "judged")]
    assert overall["n_runs"] == 6 and overall["success_rate"] == pytest.approx(2 / 6)  # the controls are left out
    assert overall["kind"] is None and overall["strength"] is None
    assert overall["success_low"] < overall["success_rate"] < overall["success_high"]


def test_another_models_reading_is_reported_but_never_decides_judged_success():
    both = [Verdict(name, "joy", 0.0, 1.0, 0.0, 0.0) for name in JUDGES]
    against = Verdict("model:gemma3-270m", "happy", 0.3, 0.1, 0.0, 0.0)
    agreeing = Verdict("model:gemma3-270m", "happy", 0.1, 0.3, 0.0, 0.0)
    assert judged_success(True, [*both, against]) is True
    assert judged_success(True, [both[0], Verdict(JUDGES[1], "joy", 0.2, 0.1, 0.0, 0.0), agreeing]) is False
    assert judged_success(True, [agreeing]) is False  # no pre-registered judge read it


def test_the_judged_rate_ignores_a_model_reader_that_is_still_rated_on_its_own():
    rows = [run_row(i, "happy", 0.1, "surgical", (True, True), 1.0) for i in range(4)]
    for i, row in enumerate(rows):
        row["judges"] = [*JUDGES, "model:other"]
        row["judge_agrees"] = [True, True, i < 1]
        row["judge_baseline"] = [*row["judge_baseline"], 0.0]
        row["judge_steered"] = [*row["judge_steered"], 0.1 if i < 1 else -0.1]
        row["judge_opposite_baseline"] = [*row["judge_opposite_baseline"], 0.0]
        row["judge_opposite_steered"] = [*row["judge_opposite_steered"], 0.0]
    table = rates_table(rows, seed=0, started=datetime.now(UTC)).to_pylist()
    overall = {r["reader"]: r for r in table if r["scope"] == "overall"}
    assert overall["judged"]["success_rate"] == 1.0
    assert overall["model:other"]["success_rate"] == pytest.approx(0.25)
    assert overall["model:other"]["mean_delta"] == pytest.approx((0.1 - 0.3) / 4)
