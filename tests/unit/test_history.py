"""History, as-of reads, vacuum, and files committed together: `emolake history`, `sql --as-of`, `emolake vacuum`."""

import json
import os
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from etl.cli import USER_ERROR, main
from etl.errors import EmolakeError
from etl.lake import Lake, atomic_path
from etl.lake.history import parse_as_of, versions
from etl.lake.vacuum import vacuum

PROMPT = {"prompt_hash": "h1", "prompt_version": "v1", "corpus": "emotional_story", "template": "Write..."}


def hashes(lake: Lake) -> list[str]:
    return sorted(r["prompt_hash"] for f in lake.files("prompts") for r in pq.read_table(f).to_pylist())


def three_versions(root) -> Lake:
    """prompts v0: created empty; v1: h1; v2: h1, h2; v3: h2 (h1 deleted)."""
    lake = Lake(root)
    lake.write("prompts", [PROMPT], source="reference")
    lake.write("prompts", [{**PROMPT, "prompt_hash": "h2"}], source="reference")
    lake.delete("prompts", {"source": "reference", "prompt_hash": ["h1"]})
    return lake


def test_history_lists_each_version_with_rows_added_and_removed(tmp_path):
    three_versions(tmp_path)
    found = versions(tmp_path, ["prompts"])
    assert [r["version"] for r in found] == [3, 2, 1, 0]
    assert [(r["operation"], r["rows_added"], r["rows_removed"]) for r in found] == [
        ("replace", 0, 1),
        ("append", 1, 0),
        ("append", 1, 0),
        ("create", 0, 0),
    ]
    assert all(datetime.fromisoformat(r["time"]).tzinfo is not None for r in found)


def test_history_command_names_the_command_that_wrote(tmp_path, capsys):
    three_versions(tmp_path)
    assert main(["--lake", str(tmp_path), "vacuum", "--retention-hours", "0"]) == 0
    assert capsys.readouterr().out.startswith("prompts/source=reference/part-")  # the file v0 and v1 named
    assert main(["--lake", str(tmp_path), "history", "prompts", "--format", "json", "--limit", "3"]) == 0
    newest = json.loads(capsys.readouterr().out)
    assert [r["command"] for r in newest] == ["emolake vacuum", "emolake vacuum", "python"]
    assert newest[2]["version"] == 3 and newest[2]["rows_removed"] == 1
    assert main(["--lake", str(tmp_path), "history", "nosuch"]) == USER_ERROR
    assert "no dataset 'nosuch'" in capsys.readouterr().err


def test_as_of_a_version_or_a_time_reads_that_version(tmp_path):
    three_versions(tmp_path)
    assert hashes(Lake(tmp_path, as_of={"prompts": 2})) == ["h1", "h2"]
    assert hashes(Lake(tmp_path, as_of={"prompts": 1})) == ["h1"]
    assert hashes(Lake(tmp_path, as_of={"prompts": 0})) == []
    assert hashes(Lake(tmp_path, as_of=datetime.now(UTC))) == ["h2"]
    assert Lake(tmp_path, as_of=datetime(2000, 1, 1, tzinfo=UTC)).table("prompts") is None  # before the first write


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3", "bare number is ambiguous"),
        ("yesterday", "not a time"),
        ("nosuch=1", "no dataset 'nosuch'"),
        ("texts=one", "must be a whole number"),
    ],
)
def test_bad_as_of_values_are_refused_in_one_line(text, message):
    with pytest.raises(EmolakeError, match=message):
        parse_as_of(text)


def test_as_of_values_parse_to_times_or_versions():
    assert parse_as_of("texts=3,probes=1") == {"texts": 3, "probes": 1}
    assert parse_as_of("2026-12-06T10:00") == datetime(2026, 12, 6, 10, tzinfo=UTC)


def test_an_as_of_lake_cannot_be_written(tmp_path):
    three_versions(tmp_path)
    with pytest.raises(EmolakeError):
        Lake(tmp_path, as_of={"prompts": 0}).write("prompts", [PROMPT], source="reference")


def test_vacuum_removes_only_files_old_versions_name(tmp_path):
    lake = three_versions(tmp_path)
    (tmp_path / "prompts" / "notes.txt").write_text("mine")
    (tmp_path / "prompts" / "part-00000-mine.parquet").write_text("not the lake's")
    assert vacuum(lake, retention_hours=24) == []  # everything is younger than the window
    removed = vacuum(lake, retention_hours=0)
    assert len(removed) == 1 and removed[0].startswith("prompts/source=reference/part-")
    assert hashes(lake) == ["h2"]
    assert (tmp_path / "prompts" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "prompts" / "part-00000-mine.parquet").exists()
    with pytest.raises(EmolakeError, match="`emolake vacuum` removed"):
        hashes(Lake(tmp_path, as_of={"prompts": 1}))


def test_vacuum_removes_index_files_no_newer_version_names(tmp_path):
    lake = Lake(tmp_path)
    lake.write("prompts", [PROMPT], source="reference")  # a table, so that index/ is recognised as the lake's
    final = lake.faiss_path("m", "reference", "expression", 0)
    for text in ("old", "new"):
        with atomic_path(final) as tmp:
            tmp.write_text(text)
    on_disk = sorted(p.name for p in final.parent.iterdir())
    assert len(on_disk) == 2
    os.utime(final.parent / on_disk[0], (0, 0))
    os.utime(final.parent / on_disk[1], (0, 0))
    removed = vacuum(lake, retention_hours=1)
    assert len(removed) == 1
    assert lake.verified(final).read_text() == "new"


def test_files_in_a_batch_land_in_one_commit_or_not_at_all(tmp_path):
    lake = Lake(tmp_path)
    lake.write("prompts", [PROMPT], source="reference")
    paths = [lake.faiss_path("m", "reference", "expression", layer) for layer in (0, 1)]
    with lake.file_batch():
        for path in paths:
            with atomic_path(path) as tmp:
                tmp.write_text(path.name)
        assert not lake.exists(paths[0])  # not committed until the block ends
    assert lake.version("files") == 1 and all(lake.exists(p) for p in paths)  # v0 creates the table
    later = lake.faiss_path("m", "reference", "expression", 2)
    with pytest.raises(RuntimeError), lake.file_batch():
        with atomic_path(later) as tmp:
            tmp.write_text("x")
        raise RuntimeError("the stage failed")
    assert not lake.exists(later) and lake.version("files") == 1


def test_a_batch_on_a_relative_lake_path_lands_in_one_commit(tmp_path, monkeypatch):
    # `make all` opens the lake as `lake` (relative); files find their lake as an absolute path.
    monkeypatch.chdir(tmp_path)
    lake = Lake("lake")
    lake.write("prompts", [PROMPT], source="reference")
    with lake.file_batch():
        for layer in (0, 1, 2):
            with atomic_path(lake.faiss_path("m", "reference", "expression", layer)) as tmp:
                tmp.write_text(str(layer))
    assert lake.version("files") == 1


def test_a_lake_of_the_old_format_says_to_rebuild(tmp_path):
    (tmp_path / "_commits").mkdir()
    (tmp_path / "texts" / "source=reference").mkdir(parents=True)
    with pytest.raises(EmolakeError, match="make clean-lake && make all"):
        Lake(tmp_path).table("texts")
