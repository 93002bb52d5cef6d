"""Options that several commands share are spelled once: `validate` and `adapt` read a labelled file alike."""

import pytest

from etl.cli import parser

LABELLED = ["--input", "f.csv", "--label-map", "m.csv", "--model", "m", "--json"]


@pytest.mark.parametrize("command", [["validate"], ["adapt", "--name", "mine"]])
def test_validate_and_adapt_read_a_labelled_file_with_the_same_options(command):
    args = parser().parse_args([*command, *LABELLED])
    assert (args.text_column, args.label_column, str(args.label_map), args.model, args.json) == (
        "text",
        "emotion",
        "m.csv",
        "m",
        True,
    )


def test_map_is_kept_as_a_spelling_of_label_map():
    args = parser().parse_args(["adapt", "--name", "mine", "--input", "f.csv", "--map", "m.csv"])
    assert str(args.label_map) == "m.csv"
