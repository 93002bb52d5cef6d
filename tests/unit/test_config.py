import pytest

from etl.config import config_hash, load_preset
from etl.errors import EmolakeError


@pytest.mark.parametrize("name", ["tiny", "default", "full"])
def test_shipped_presets_load(name, tmp_path):
    preset = load_preset(name, lake=tmp_path)
    assert preset.extract.common.lake == tmp_path
    assert preset.probes.baseline_variance == 0.5


def test_lake_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOLAKE_LAKE", str(tmp_path / "x"))
    assert load_preset("tiny").common.lake == tmp_path / "x"


def test_config_hash_is_stable_and_sensitive(tmp_path):
    a, b = load_preset("tiny", lake=tmp_path), load_preset("tiny", lake=tmp_path)
    assert config_hash(a.extract) == config_hash(b.extract)
    assert config_hash(a.extract) != config_hash(load_preset("default", lake=tmp_path).extract)


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "tiny-random"\n[extract]\nskip_tokns = 3\n', "unknown key(s) ['skip_tokns'] in [extract]"),
        ('model = "tiny-random"\n[extract]\nskip_tokens = "fifty"\n', "extract.skip_tokens = 'fifty'"),
        ('model = "tiny-random"\n[extract]\nskip_tokens = 0\n', "use 1 or more"),
        ('model = "tiny-random"\n[probes]\nbaseline_variance = 1.5\n', "baseline_variance = 1.5"),
        ('model = "tiny-random"\n[generate]\nsources = ["claude"]\n', "unknown value(s) ['claude']"),
        ('model = "tiny-random"\nextract = 3\n', "[extract] must be a table"),
        ("model = \n", "is not valid TOML"),
        ("seed = 1\n", "has no `model`"),
        ('model = "tiny-random"\ncolour = 1\n', "unknown key(s) ['colour'] in [preset]"),
    ],
)
def test_bad_presets_fail_with_a_message_naming_the_value(tmp_path, text, message):
    with pytest.raises(EmolakeError, match=None) as info:
        load_preset(write(tmp_path, text), lake=tmp_path)
    assert message in str(info.value)


def test_unknown_preset_name_lists_the_known_ones():
    with pytest.raises(EmolakeError, match="use one of default, full, tiny"):
        load_preset("huge")
