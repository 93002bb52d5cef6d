"""A user-chosen --output inside the lake is refused before anything is read or written, by every command with one."""

import argparse
from pathlib import Path

import pytest
from cli_checks import assert_one_line_error, snapshot

from etl.cli import parser
from etl.commands._common import refuse_inside_lake
from etl.errors import EmolakeError

# Each command that takes --output, with the rest of a command line that reaches its handler.
COMMANDS = {
    "classify": lambda inp: ["classify", "--input", inp, "--text-column", "text"],
    "export": lambda inp: ["export", "--format", "npy"],
}
OUTPUT_NAMES = {"classify": "x.parquet", "export": "x.npy"}


@pytest.fixture
def lake(tmp_path):
    root = tmp_path / "lake"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "kept.parquet").write_bytes(b"lake data")
    return root


def args_for(lake) -> argparse.Namespace:
    return argparse.Namespace(lake=str(lake))


def test_every_command_with_an_output_option_is_covered():
    subparsers = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    with_output = {name for name, sub in subparsers.choices.items() if "--output" in sub._option_string_actions}
    assert with_output == set(COMMANDS)


@pytest.mark.parametrize("relative", ["texts/x.parquet", "probes/model=m/new.npy", ".", "texts"])
def test_a_path_inside_the_lake_is_refused(lake, relative):
    output = lake / relative
    with pytest.raises(EmolakeError) as info:
        refuse_inside_lake(output, args_for(lake))
    assert str(info.value) == f"--output {output} is inside the lake at {lake.resolve()}: write it elsewhere"


def test_paths_outside_the_lake_are_accepted(lake, tmp_path):
    for output in (tmp_path / "out.parquet", tmp_path / "lake2" / "x.parquet", tmp_path / "lake.parquet"):
        refuse_inside_lake(output, args_for(lake))


def test_links_are_resolved_on_both_sides(lake, tmp_path):
    (tmp_path / "into").symlink_to(lake / "texts")
    with pytest.raises(EmolakeError, match="inside the lake"):
        refuse_inside_lake(tmp_path / "into" / "x.parquet", args_for(lake))
    (tmp_path / "lake-link").symlink_to(lake)
    with pytest.raises(EmolakeError, match="inside the lake"):
        refuse_inside_lake(lake / "texts" / "x.parquet", args_for(tmp_path / "lake-link"))


def test_relative_paths_and_the_default_lake(lake, monkeypatch):
    monkeypatch.chdir(lake.parent)
    monkeypatch.delenv("EMOLAKE_LAKE", raising=False)
    with pytest.raises(EmolakeError, match="inside the lake"):
        refuse_inside_lake(lake.parent / "lake" / "texts" / "x.parquet", argparse.Namespace(lake=None))
    monkeypatch.setenv("EMOLAKE_LAKE", str(lake))
    monkeypatch.chdir(lake / "texts")
    with pytest.raises(EmolakeError, match="inside the lake"):
        refuse_inside_lake(Path("x.parquet"), argparse.Namespace(lake=None))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_command_refuses_an_output_in_the_lake_and_writes_nothing(cli, lake, tmp_path, command):
    before = snapshot(lake)
    output = lake / "texts" / OUTPUT_NAMES[command]
    argv = ["--lake", lake, *COMMANDS[command](tmp_path / "in.csv"), "--output", output]
    assert_one_line_error(cli(*argv), f"--output {output} is inside the lake at")
    assert snapshot(lake) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_command_passes_an_output_outside_the_lake(cli, lake, tmp_path, command):
    output = tmp_path / OUTPUT_NAMES[command]
    code, _, err = cli("--lake", lake, *COMMANDS[command](tmp_path / "in.csv"), "--output", output)
    assert code == 1 and "inside the lake" not in err  # it goes on, and stops later: no input file or no probes
    assert not output.exists()
