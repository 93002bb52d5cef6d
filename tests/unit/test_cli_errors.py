"""Bad input gets one clear line on stderr and exit code 2, never a traceback; the lake is left as it was."""

from cli_checks import assert_one_line_error


def test_missing_lake(cli, tmp_path):
    assert_one_line_error(cli("--lake", tmp_path / "none", "sql", "select 1"), "run `make all`")


def test_empty_lake(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("--lake", tmp_path / "empty", "nearest", "some text"), "has no probes: run `make all`")


def test_unknown_preset(cli, tmp_path):
    assert_one_line_error(cli("--lake", tmp_path, "run", "generate", "--preset", "huge"), "unknown preset 'huge'")


def test_malformed_preset(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("model = [unclosed\n")
    assert_one_line_error(cli("--lake", tmp_path, "run", "generate", "--preset", bad), "is not valid TOML")


def test_unknown_emotion_in_a_preset(cli, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('model = "tiny-random"\nemotions = ["calm", "hangry"]\n')
    assert_one_line_error(
        cli("--lake", tmp_path / "l", "run", "generate", "--preset", preset), "unknown emotion(s) ['hangry']"
    )


def test_a_malformed_set_is_refused_in_one_line(cli, tmp_path):
    run = cli("--lake", tmp_path, "run", "generate", "--preset", "tiny", "--set", "extract.skip_tokens")
    assert_one_line_error(run, "--set 'extract.skip_tokens' is malformed")
    sweep = cli(
        "--lake", tmp_path, "steer-sweep", "--preset", "tiny", "--set", "steer.seeds=2", "--set", "steer.sedes=2"
    )
    assert_one_line_error(sweep, "unknown key(s) ['sedes'] in [steer]")
