"""`emolake import` on local files shaped like the published corpus (ryancodrai/emotion-probes): nothing reaches the
network. Row counts, mapped columns, provenance, filters and rejects, byte-for-byte idempotence, resume by file,
and the evaluation's topic folds over the imported stories."""

import json

import duckdb
import pytest
from cli_checks import assert_one_line_error, snapshot
from corpus_copy import DATASET, published_copy

from etl.evaluation.transfer import fold_ids
from etl.generation.writers.reference import read_corpus
from etl.lake import Lake


def lake_rows(lake, dataset):
    files = Lake(lake).files(dataset)
    return duckdb.sql(f"select * from read_parquet({files}, hive_partitioning = true)").to_arrow_table().to_pylist()


@pytest.fixture
def imported(cli, tmp_path):
    copy, n_stories, n_neutral, n_dialogues = published_copy(tmp_path)
    lake = tmp_path / "lake"
    code, out, err = cli("--lake", lake, "import", copy, "--dataset", DATASET, "--revision", "abc123")
    assert code == 0, err
    return lake, copy, (n_stories, n_neutral, n_dialogues), out


def test_rows_land_under_import_paper_with_counts_and_rejects(imported):
    lake, _, (n_stories, n_neutral, n_dialogues), out = imported
    texts = lake_rows(lake, "texts")
    assert {r["source"] for r in texts} == {"import--paper"}
    by_corpus = {c: [r for r in texts if r["corpus"] == c] for c in {r["corpus"] for r in texts}}
    assert len(by_corpus["emotional_story"]) == n_stories
    assert len(by_corpus["neutral_story"]) == n_neutral
    assert len(by_corpus["deflection_dialogue"]) == n_dialogues
    rejects = {(r["corpus"], r["reason"]) for r in lake_rows(lake, "rejects")}
    assert rejects == {
        ("emotional_story", "too_short"),
        ("emotional_story", "duplicate"),
        ("emotional_story", "unknown_emotion"),
    }
    assert "import:paper" in out and f"emotional_story: {n_stories} kept, 3 rejected" in out


def test_columns_are_mapped_and_dialogues_get_person_ai_spans(imported):
    lake = imported[0]
    texts = lake_rows(lake, "texts")
    stories = [r for r in texts if r["corpus"] == "emotional_story"]
    shipped = {r["text"]: r for r in read_corpus("emotional_story")}
    for row in stories:
        assert row["emotion"] == shipped[row["text"]]["emotion"] and row["topic"] == shipped[row["text"]]["topic"]
    assert all(r["emotion"] is None for r in texts if r["corpus"] == "neutral_story")
    for row in (r for r in texts if r["corpus"] == "deflection_dialogue"):
        spans = json.loads(row["spans"])
        assert spans["masking_speaker"] == "Person" and row["displayed_emotion"]
        assert {t["speaker"] for t in spans["turns"]} == {"Person", "AI"}
        first = spans["turns"][0]
        assert row["text"][: first["start"]] == "Person: "


def test_provenance_names_dataset_revision_licence_and_keeps_writer_apart_from_probed_model(imported):
    lake = imported[0]
    imports = lake_rows(lake, "imports")
    assert len(imports) == 3
    assert {(r["dataset"], r["revision"], r["licence"]) for r in imports} == {(DATASET, "abc123", "cc-by-4.0")}
    assert {r["source"] for r in imports} == {"import--paper"}
    assert json.loads(next(r for r in imports if "stories" in r["file"])["mapping"])["text"] == "story"
    texts = lake_rows(lake, "texts")
    assert {r["prompt_version"] for r in texts} == {f"import:{DATASET}@abc123"}
    assert "writer_model" in texts[0] and "model" not in texts[0]  # the probed model is the activations' partition


def test_reimport_changes_no_file_and_a_lost_file_is_redone_alone(cli, imported):
    lake, copy, _, _ = imported
    before = snapshot(lake)
    code, out, _ = cli("--lake", lake, "import", copy, "--dataset", DATASET, "--revision", "abc123")
    assert code == 0 and "3 already imported" in out
    assert snapshot(lake) == before  # nothing was written, not even a version
    texts_before = lake_rows(lake, "texts")
    stories = next(r for r in lake_rows(lake, "imports") if "stories" in r["file"])
    # As if this file's import had been killed before its `imports` row (the last write) committed.
    Lake(lake).delete("imports", {"source": "import--paper", "file_sha256": stories["file_sha256"]})
    code, out, _ = cli("--lake", lake, "import", copy, "--dataset", DATASET, "--revision", "abc123")
    assert code == 0 and "2 already imported" in out
    ids = [r["text_id"] for r in lake_rows(lake, "texts")]
    assert len(ids) == len(set(ids)) == len(texts_before)  # nothing landed twice or was lost
    assert len(lake_rows(lake, "imports")) == 3


def test_force_and_a_changed_mapping_import_again_replacing_the_earlier_rows(cli, tmp_path):
    rows = [{"kind": "neutral", "body": r["text"], "other": "x " + r["text"]} for r in read_corpus("neutral_story")[:4]]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lake = tmp_path / "lake"
    assert cli("--lake", lake, "import", path, "--name", "mine", "--map", "other=text")[0] == 0
    assert {r["text"][:2] for r in lake_rows(lake, "texts")} == {"x "}
    code, out, _ = cli("--lake", lake, "import", path, "--name", "mine", "--map", "body=text")  # a changed mapping
    assert code == 0 and "0 already imported" in out
    assert sorted(r["text"] for r in lake_rows(lake, "texts")) == sorted(r["body"] for r in rows)
    code, out, _ = cli("--lake", lake, "import", path, "--name", "mine", "--map", "body=text", "--force")
    assert code == 0 and "0 already imported" in out
    assert len(lake_rows(lake, "texts")) == 4 and len(lake_rows(lake, "imports")) == 1


def test_two_texts_under_one_id_reject_the_second(cli, tmp_path):
    texts = [r["text"] for r in read_corpus("neutral_story")[:3]]
    rows = [{"id": "a", "body": texts[0]}, {"id": "a", "body": texts[1]}, {"id": "b", "body": texts[2]}]
    path = tmp_path / "ids.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lake = tmp_path / "lake"
    code, _, err = cli(
        "--lake",
        lake,
        "import",
        path,
        "--name",
        "mine",
        "--map",
        "body=text",
        "--map",
        "id=id",
        "--corpus",
        "neutral_story",
    )
    assert code == 0, err
    assert len(lake_rows(lake, "texts")) == 2
    assert [r["reason"] for r in lake_rows(lake, "rejects")] == ["duplicate_id"]


def test_imported_stories_fold_by_topic(imported):
    lake = imported[0]
    stories = [r for r in lake_rows(lake, "texts") if r["corpus"] == "emotional_story"]
    topics = [r["topic"] for r in stories]
    folds = fold_ids(topics, 5)
    fold_of_topic = {}
    for topic, fold in zip(topics, folds, strict=True):
        assert fold_of_topic.setdefault(topic, fold) == fold
    assert len(set(folds.tolist())) > 1


def test_a_mapped_corpus_column_and_jsonl_input(cli, tmp_path):
    rows = [{"kind": "neutral", "body": r["text"]} for r in read_corpus("neutral_story")[:4]]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, _, err = cli("--lake", tmp_path / "lake", "import", path, "--name", "mine", "--map", "body=text")
    assert code == 0, err
    texts = lake_rows(tmp_path / "lake", "texts")
    assert {(r["source"], r["corpus"]) for r in texts} == {("import--mine", "neutral_story")}
    assert len(texts) == 4


def test_bad_source_and_bad_map_are_one_line(cli, tmp_path):
    lake = tmp_path / "lake"
    assert_one_line_error(cli("--lake", lake, "import", tmp_path / "none.parquet"), "neither an existing file")
    assert_one_line_error(cli("--lake", lake, "import", "not-a-dataset-id"), "owner/name[@revision]")
    copy = published_copy(tmp_path)[0]
    assert_one_line_error(cli("--lake", lake, "import", copy, "--map", "story"), "--map 'story' is malformed")
    assert_one_line_error(cli("--lake", lake, "import", copy, "--map", "story=txt"), "unknown field 'txt'")
    assert_one_line_error(cli("--lake", lake, "import", copy, "--map", "nope=text"), "has no such column")
    assert_one_line_error(cli("--lake", lake, "import", copy, "--name", "Bad Name"), "import name")
    assert not (lake / "texts").exists()
