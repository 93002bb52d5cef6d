import pytest

from etl.config import GeminiConfig, LocalConfig, config_hash, load_preset
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
        (
            'model = "tiny-random"\n[generate.local]\nbatch_sise = 4\n',
            "unknown key(s) ['batch_sise'] in [generate.local]",
        ),
        ('model = "tiny-random"\n[generate.gemini]\nconcurrency = "8"\n', "generate.gemini.concurrency = '8'"),
        ('model = "tiny-random"\n[generate.gemini]\nconcurrency = 0\n', "generate.gemini.concurrency = 0"),
        ('model = "tiny-random"\n[generate]\nlocal = 3\n', "[generate.local] must be a table"),
        ('model = "tiny-random"\n[evaluate]\nworkers = -1\n', "evaluate.workers = -1"),
        (
            'model = "tiny-random"\n[generate]\nlocal_batch_size = 4\n',
            "write `batch_size = ...` under [generate.local]",
        ),
    ],
)
def test_bad_presets_fail_with_a_message_naming_the_value(tmp_path, text, message):
    with pytest.raises(EmolakeError, match=None) as info:
        load_preset(write(tmp_path, text), lake=tmp_path)
    assert message in str(info.value)


def test_unknown_preset_name_lists_the_known_ones():
    with pytest.raises(EmolakeError, match="use one of compare, default, full, paper, tiny"):
        load_preset("huge")


NESTED = """model = "tiny-random"
[generate]
sources = ["reference", "local", "gemini"]
[generate.local]
stories_per_emotion = 2
batch_size = 4
[generate.gemini]
model = "gemini-2.5-pro"
speaker_dialogues = 7
backoff_s = 1
"""


def test_writer_tables_build_nested_configs(tmp_path):
    generate = load_preset(write(tmp_path, NESTED), lake=tmp_path).generate
    assert isinstance(generate.local, LocalConfig) and isinstance(generate.gemini, GeminiConfig)
    assert (generate.local.batch_size, generate.local.max_new_tokens) == (4, LocalConfig().max_new_tokens)
    assert generate.gemini.model == "gemini-2.5-pro" and generate.gemini.backoff_s == 1
    assert generate.writer_sizes("local")["stories_per_emotion"] == 2
    assert generate.writer_sizes("gemini") == {
        "stories_per_emotion": 0,
        "neutral_stories": 0,
        "neutral_dialogues": 0,
        "deflection_per_target": 0,
        "speaker_dialogues": 7,
    }


def test_shipped_presets_keep_their_writer_sizes(tmp_path):
    assert load_preset("default", lake=tmp_path).generate.local.batch_size == 64
    full = load_preset("full", lake=tmp_path).generate
    assert (full.gemini.model, full.gemini.thinking_budget, full.gemini.max_requests) == ("gemini-2.5-flash", 0, 30000)
    assert full.writer_sizes("gemini")["speaker_dialogues"] == 17100 and full.local.stories_per_emotion == 100


def test_set_overrides_a_top_level_a_stage_and_a_nested_value(tmp_path):
    preset = load_preset(
        "default",
        lake=tmp_path,
        overrides=[
            "seed=3",
            "extract.skip_tokens=20",
            "generate.local.batch_size=4",
            "generate.gemini.model=gemini-2.5-pro",
            'steer.prompts=["Hi.", "Hello."]',
            "probes.baseline_variance=0.25",
            "evaluate.report=false",
        ],
    )
    assert preset.common.seed == 3 and preset.extract.common.seed == 3
    assert preset.extract.skip_tokens == 20
    assert preset.generate.local.batch_size == 4
    assert preset.generate.local.stories_per_emotion == 1  # the rest of [generate.local] is kept
    assert preset.generate.gemini.model == "gemini-2.5-pro"  # a bare word is a string
    assert preset.steer.prompts == ("Hi.", "Hello.")
    assert preset.probes.baseline_variance == 0.25 and preset.evaluate.report is False
    assert load_preset("tiny", lake=tmp_path, overrides=["generate.local.batch_size=4"]).generate.local.batch_size == 4


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("extract.skip_tokens", "--set 'extract.skip_tokens' is malformed: write SECTION.KEY=VALUE"),
        ("=3", "--set '=3' is malformed"),
        ("extract.=3", "--set 'extract.=3' is malformed"),
        ("generate..batch_size=3", "is malformed"),
        ("seed.x=1", "seed is a value, not a table"),
        ("extract.skip_tokns=20", "unknown key(s) ['skip_tokns'] in [extract]"),
        ("generate.local.batch_sise=4", "unknown key(s) ['batch_sise'] in [generate.local]"),
        ("extrct.skip_tokens=20", "unknown key(s) ['extrct'] in [preset]"),
        ("extract.skip_tokens=fifty", "extract.skip_tokens = 'fifty' has the wrong type"),
        ("generate.local.batch_size=0", "generate.local.batch_size = 0"),
    ],
)
def test_bad_set_is_refused_in_one_line(tmp_path, override, message):
    with pytest.raises(EmolakeError) as info:
        load_preset("tiny", lake=tmp_path, overrides=[override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_set_changes_the_config_hash_of_the_stage_it_touches(tmp_path):
    base = load_preset("tiny", lake=tmp_path)
    changed = load_preset("tiny", lake=tmp_path, overrides=["extract.skip_tokens=20", "generate.local.batch_size=4"])
    assert config_hash(changed.extract) != config_hash(base.extract)
    assert config_hash(changed.generate) != config_hash(base.generate)
    assert config_hash(changed.probes) == config_hash(base.probes)
    same = load_preset("tiny", lake=tmp_path, overrides=["extract.skip_tokens=50"])
    assert config_hash(same.extract) == config_hash(base.extract)
