"""The texts the evaluation writes itself (implicit scenarios, dose templates) and the evaluate config."""

import pytest

from etl import catalog
from etl.config import load_preset
from etl.errors import EmolakeError
from etl.evaluation.dose import TEMPLATES, render
from etl.evaluation.scenarios import SCENARIOS


def named_emotions(text: str) -> list[str]:
    return [f"{e} ({catalog.names_emotion(text, e)})" for e in catalog.emotions() if catalog.names_emotion(text, e)]


def test_about_twelve_scenarios_with_distinct_names_and_valid_distinct_targets():
    assert 10 <= len(SCENARIOS) <= 16
    assert len({name for name, _, _ in SCENARIOS}) == len(SCENARIOS)
    targets = [target for _, target, _ in SCENARIOS]
    assert len(set(targets)) == len(targets)
    assert all(target in catalog.emotions() for target in targets)


@pytest.mark.parametrize(("name", "target", "text"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenarios_evoke_without_naming_any_emotion(name, target, text):
    assert named_emotions(text) == []
    assert 30 <= len(text.split()) <= 120


def test_tiny_preset_emotions_all_have_a_scenario():
    tiny = load_preset("tiny").common.emotions
    assert set(tiny) <= {target for _, target, _ in SCENARIOS}


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_dose_templates_escalate_one_quantity_and_name_no_emotion(template):
    assert template.message.count("{dose}") == 1
    assert len(template.doses) >= 8 and len(set(template.doses)) == len(template.doses)
    for dose in template.doses:
        assert named_emotions(template.message.format(dose=dose)) == []


def test_render_points_at_the_dose_inside_the_chat_prompt():
    from etl.model.families import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    template = TEMPLATES[0]
    prompt, start = render(tokenizer, template, template.doses[-1])
    assert prompt[start:].startswith(template.doses[-1])
    assert prompt.startswith("<|user|>") and prompt.endswith("<|assistant|>")
    other, other_start = render(tokenizer, template, template.doses[0])
    assert other[:other_start] == prompt[:start]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"clusters": 1}, "evaluate.clusters = 1"),
        ({"lens_tokens": 0}, "evaluate.lens_tokens = 0"),
        ({"dose_emotions": ["afraid", "fearful"]}, "fearful"),
        ({"model_checks": "yes"}, "model_checks"),
    ],
)
def test_evaluate_config_refuses_bad_values_naming_them(tmp_path, values, message):
    lines = ['model = "tiny-random"', "[evaluate]"]
    for key, value in values.items():
        rendered = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else repr(value)
        lines.append(f"{key} = {rendered}".replace("'", '"'))
    path = tmp_path / "p.toml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EmolakeError, match=message.replace("[", r"\[")):
        load_preset(str(path))


def test_presets_load_with_their_evaluate_tables():
    for name in ("tiny", "default", "full"):
        config = load_preset(name).evaluate
        assert config.clusters >= 2 and "afraid" in config.dose_emotions
