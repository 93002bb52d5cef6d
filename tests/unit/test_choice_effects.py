"""The forced choice's effects: order-averaged log-odds, contrasts with intervals, and the random-pair null."""

import pytest

from etl.config import load_preset
from etl.errors import EmolakeError
from etl.evaluation.choice import effects, per_situation
from etl.steering.choice import ORDERS, SITUATIONS, prompt


def rows_for(shift: dict[str, float], n_situations: int = 8, letter_bias: float = 3.0, n_random: int = 6):
    """Synthetic rows: a model that prefers the letter A by `letter_bias` and moves toward the approach option by
    `shift[condition]` (random directions move it by a small, condition-specific amount)."""
    conditions = [("baseline", 0.0)] + [(name, 0.25) for name in shift]
    conditions += [(f"random_{i:02d}", 0.25) for i in range(n_random)]
    rows = []
    for name, strength in conditions:
        move = shift.get(name, 0.01 * (int(name[-2:]) - n_random / 2) if name.startswith("random_") else 0.0)
        for situation in range(n_situations):
            for order in ORDERS:
                bias = letter_bias if order == ORDERS[0] else -letter_bias
                rows.append(
                    {"condition": name, "strength": strength, "situation": situation, "order": order,
                     "logodds": 1.0 + move + 0.1 * situation + bias}
                )  # fmt: skip
    return rows


def test_both_orders_cancel_a_letter_preference():
    lo = per_situation(rows_for({"happy": 0.0, "sad": 0.0}))
    assert lo[("baseline", 0.0)].tolist() == pytest.approx([1.0 + 0.1 * s for s in range(8)])


def test_a_real_shift_stands_out_of_the_null_and_no_shift_does_not():
    found = {e["contrast"]: e for e in effects(rows_for({"happy": 0.5, "sad": -0.5}), ["happy"], ["sad"])}
    contrast = found["happy - sad"]
    assert contrast["effect"] == pytest.approx(1.0)
    assert contrast["effect_low"] == pytest.approx(1.0) and contrast["effect_high"] == pytest.approx(1.0)
    assert contrast["n_null"] == 15 and contrast["null_p95_abs"] < 0.1
    assert contrast["null_p"] == pytest.approx(1 / 16)
    assert found["happy - baseline"]["effect"] == pytest.approx(0.5)
    assert found["sad - baseline"]["effect"] == pytest.approx(-0.5)
    flat = {e["contrast"]: e for e in effects(rows_for({"happy": 0.0, "sad": 0.0}), ["happy"], ["sad"])}
    assert flat["happy - sad"]["effect"] == pytest.approx(0.0, abs=1e-12)
    assert flat["happy - sad"]["null_p"] == pytest.approx(1.0)


def test_every_situation_offers_two_options_in_both_orders():
    assert len(SITUATIONS) == 16 and len({s[0] for s in SITUATIONS}) == 16
    first, second = (prompt(SITUATIONS[0], order) for order in ORDERS)
    assert "A) Go to the dinner party." in first and "B) Go to the dinner party." in second
    assert first.endswith("Answer with the letter A or B only.")


def test_choice_settings_are_checked():
    with pytest.raises(EmolakeError, match="same length"):
        load_preset("tiny", overrides=['steer.choice_negative=["sad"]'])
    with pytest.raises(EmolakeError, match="choice_random"):
        load_preset("tiny", overrides=["steer.choice_random=1"])
    assert load_preset("tiny", overrides=["steer.choice_strengths=[]"]).steer.choice_strengths == ()
