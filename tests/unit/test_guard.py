"""Settings that would build nothing or delete committed data are refused before any stage runs, unless --force."""

import pytest
from cli_checks import assert_one_line_error

from etl.config import PRESET_DIR, load_preset
from etl.config.base import PIPELINE, STAGES
from etl.config.guard import destructive_settings, refuse_destructive
from etl.errors import EmolakeError

REFUSED = [
    (["probes.kinds=[]"], "probes.kinds = []"),
    (["probes.sources=[]"], "probes.sources = []"),
    (["index.kinds=[]"], "index.kinds = []"),
    (["generate.sources=[]"], "generate.sources = []"),
    (["generate.reference_corpora=[]"], "generate.reference_corpora = []"),
    (["generate.reference_per_emotion=0"], "generate.reference_per_emotion = 0"),
    (["generate.reference_neutral=0"], "generate.reference_neutral = 0"),
    (["extract.corpora=[]"], "extract.corpora = []"),
    (["evaluate.sources=[]"], "evaluate.sources = []"),
    (
        [
            'generate.sources=["reference", "local"]',
            "generate.local.stories_per_emotion=0",
            "generate.local.neutral_stories=0",
        ],
        "every size of [generate.local]",
    ),
    (['generate.sources=["gemini"]'], "every size of [generate.gemini]"),
]


@pytest.fixture
def executed(monkeypatch):
    """The stages `emolake run` hands to the runner (none actually runs)."""
    calls = []
    monkeypatch.setattr("etl.runner.execute", lambda stage, preset, force=False: calls.append((stage, force)))
    return calls


@pytest.mark.parametrize(("overrides", "fragment"), REFUSED)
def test_each_destructive_setting_is_refused_naming_it_and_the_fix(tmp_path, overrides, fragment):
    preset = load_preset("tiny", lake=tmp_path, overrides=overrides)
    with pytest.raises(EmolakeError) as info:
        refuse_destructive(preset, PIPELINE)
    message = str(info.value)
    assert fragment in message and "--force" in message and ": " in message
    assert "\n" not in message


@pytest.mark.parametrize(("overrides", "fragment"), REFUSED)
def test_force_lets_each_destructive_setting_through(tmp_path, overrides, fragment, caplog):
    preset = load_preset("tiny", lake=tmp_path, overrides=overrides)
    refuse_destructive(preset, PIPELINE, force=True)
    assert fragment in caplog.text


@pytest.mark.parametrize("name", sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
def test_shipped_presets_have_no_destructive_setting(tmp_path, name):
    assert destructive_settings(load_preset(name, lake=tmp_path), STAGES) == []


def test_only_the_stages_that_run_are_checked(tmp_path):
    preset = load_preset("tiny", lake=tmp_path, overrides=["probes.kinds=[]", "index.kinds=[]"])
    refuse_destructive(preset, ["generate", "extract"])
    with pytest.raises(EmolakeError, match=r"index\.kinds"):
        refuse_destructive(preset, ["index"])


def test_several_settings_are_named_on_one_line(tmp_path):
    preset = load_preset("tiny", lake=tmp_path, overrides=["probes.kinds=[]", "probes.sources=[]"])
    with pytest.raises(EmolakeError) as info:
        refuse_destructive(preset, ["probes"])
    assert "probes.kinds = []" in str(info.value) and "probes.sources = []" in str(info.value)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("extract.layers=[]", "extract.layers = []: list layer numbers"),
        ("extract.layers=[-1]", "extract.layers = [-1]: list layer numbers"),
        ('index.kinds=["nosuch"]', "index.kinds has unknown value(s) ['nosuch']"),
    ],
)
def test_settings_that_cannot_run_are_refused_even_with_force(tmp_path, override, fragment):
    with pytest.raises(EmolakeError) as info:
        load_preset("tiny", lake=tmp_path, overrides=[override])
    assert fragment in str(info.value)


def test_known_index_kinds_and_explicit_layers_still_load(tmp_path):
    preset = load_preset("tiny", lake=tmp_path, overrides=['index.kinds=["deflection"]', "extract.layers=[1, 2]"])
    assert preset.index.kinds == ("deflection",) and preset.extract.layers == (1, 2)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("probes.kinds=[]", "probes.kinds = []"),
        ("generate.reference_per_emotion=0", "generate.reference_per_emotion = 0"),
        ('index.kinds=["nosuch"]', "index.kinds has unknown value(s) ['nosuch']"),
        ("probes.sources=[]", "probes.sources = []"),
        ("extract.layers=[]", "extract.layers = []"),
    ],
)
def test_run_all_refuses_before_any_stage_runs(cli, tmp_path, executed, override, fragment):
    lake = tmp_path / "lake"
    assert_one_line_error(cli("--lake", lake, "run", "all", "--preset", "tiny", "--set", override), fragment)
    assert_one_line_error(cli("--lake", lake, "run", "all", "--preset", "tiny", "--plan", "--set", override), fragment)
    assert executed == [] and not lake.exists()


@pytest.mark.parametrize(
    ("stage", "override"), [("probes", "probes.kinds=[]"), ("generate", "generate.reference_per_emotion=0")]
)
def test_run_with_force_hands_the_stage_to_the_runner(cli, tmp_path, executed, stage, override):
    code, _, err = cli("--lake", tmp_path / "lake", "run", stage, "--preset", "tiny", "--set", override, "--force")
    assert (code, executed) == (0, [(stage, True)]), err
