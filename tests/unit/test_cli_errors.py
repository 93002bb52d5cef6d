"""Bad input gets one clear line on stderr and exit code 1, never a traceback; the lake is left as it was."""

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


def test_usage_errors_exit_2_and_user_errors_exit_1(cli, tmp_path, capsys):
    import pytest

    from etl.cli import main

    with pytest.raises(SystemExit) as usage:
        main(["summary", "--no-such-option"])
    assert usage.value.code == 2
    capsys.readouterr()
    assert cli("--lake", tmp_path / "none", "summary")[0] == 1


def test_version_prints_to_stdout(capsys):
    import pytest

    from etl import __version__
    from etl.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"emolake {__version__}"


def test_lake_is_accepted_before_and_after_the_command(cli, tmp_path):
    before = cli("--lake", tmp_path / "a", "sql", "select 1")
    after = cli("sql", "select 1", "--lake", tmp_path / "b")
    assert before[0] == after[0] == 1
    assert str(tmp_path / "a") in before[2] and str(tmp_path / "b") in after[2]


def test_an_unexpected_exception_is_a_bug_with_exit_3(cli, tmp_path, monkeypatch):
    from etl.commands import summary

    def broken(_args):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(summary, "handle", broken)
    code, out, err = cli("--lake", tmp_path, "summary")
    assert code == 3 and out == "" and "ZeroDivisionError" in err and "internal error" in err
