"""The quiet CLI on the tiny lake: machine-readable stdout survives `2>&1`, many texts share one model load, and
`classify` carries the input's id column."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def emolake(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python -m etl ARGS` in a child process whose stderr is not a terminal, stderr merged into stdout."""
    return subprocess.run(
        [sys.executable, "-m", "etl", *map(str, args)],
        cwd=ROOT,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def test_nearest_json_with_stderr_merged_is_valid_json(tiny_lake):
    done = emolake("nearest", "The storm took the roof and we ran.", "--json", "--k", "3", "--lake", tiny_lake)
    assert done.returncode == 0, done.stdout
    checked = subprocess.run([sys.executable, "-m", "json.tool"], input=done.stdout, capture_output=True, text=True)
    assert checked.returncode == 0, done.stdout
    assert len(json.loads(done.stdout)) == 3


def test_many_texts_from_stdin_match_one_at_a_time(tiny_lake, cli):
    texts = ["The storm took the roof and we ran.", "We won the final at last!", "The kettle clicked off."]
    done = emolake(
        "--lake", tiny_lake, "nearest", "--input", "-", "--json", "--k", "2", stdin="\n".join(texts) + "\n\n"
    )
    assert done.returncode == 0, done.stdout
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == texts
    for line in lines:
        code, out, err = cli("nearest", line["text"], "--json", "--k", "2", "--lake", tiny_lake)
        assert code == 0 and err == ""
        assert [m["emotion"] for m in json.loads(out)] == [m["emotion"] for m in line["emotions"]]


def test_nearest_reads_a_file_and_refuses_no_text(tiny_lake, cli, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("First text here.\nSecond text here.\n")
    code, out, _ = cli("--lake", tiny_lake, "nearest", "--input", path, "--k", "1")
    assert code == 0 and out.count("nearest emotions") == 2 and "Second text here." in out
    code, _, err = cli("--lake", tiny_lake, "nearest")
    assert code == 1 and err.startswith("error: no text given")


def test_classify_carries_the_id_column(tiny_lake, cli, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,body\nc-7,First text here.\nc-9,Second text here.\n")
    output = tmp_path / "out.parquet"
    code, out, err = cli(
        "--lake",
        tiny_lake,
        "classify",
        "--input",
        source,
        "--text-column",
        "body",
        "--id-column",
        "id",
        "--output",
        output,
    )
    assert code == 0 and out == "", err
    rows = pq.read_table(output).to_pylist()
    assert [(r["row_id"], r["id"]) for r in rows] == [(0, "c-7"), (1, "c-9")]
