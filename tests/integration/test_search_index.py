"""Search on the tiny lake: emotion -> emotions, text or story -> stories, and indexes rebuilt only on change."""

import json

import numpy as np
import pyarrow as pa
import pytest
from fake_lake import rewrite

from etl import runner
from etl.config import load_preset
from etl.lake import Lake, views
from etl.probes.scoring import open_scorer
from etl.probes.search import open_story_index

pytestmark = pytest.mark.integration


def test_emotion_to_nearest_emotions_matches_probe_cosines(tiny_lake, cli):
    code, out, err = cli("--lake", tiny_lake, "similar", "--emotion", "afraid", "--k", "3", "--layer", "2", "--json")
    assert code == 0, err
    hits = json.loads(out)
    probes = views.run(
        Lake(tiny_lake),
        "select emotion, vector from probes where kind = 'expression' and source = 'reference' and layer = 2",
    ).to_pylist()
    vectors = {p["emotion"]: np.array(p["vector"]) for p in probes}
    cosines = sorted(((float(vectors["afraid"] @ v), e) for e, v in vectors.items() if e != "afraid"), reverse=True)[:3]
    assert [h["emotion"] for h in hits] == [e for _, e in cosines]
    assert [h["score"] for h in hits] == pytest.approx([c for c, _ in cosines], abs=1e-4)


def test_story_to_similar_stories_leaves_the_story_out(tiny_lake, cli):
    scorer = open_scorer(Lake(tiny_lake), layer=2)
    index = open_story_index(Lake(tiny_lake), scorer.probe_set)  # layer 2
    story = index.stories[0]["text_id"]
    assert index.search(index.index.reconstruct(0), k=1)[0]["text_id"] == story
    code, out, err = cli("--lake", tiny_lake, "similar", "--story", story, "--k", "4", "--layer", "2", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 4 and story not in [h["text_id"] for h in hits]
    assert all(h["text"] for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_text_to_similar_stories(tiny_lake, cli):
    text = "The ice cracked under my boots and the shore was very far away."
    code, out, err = cli("--lake", tiny_lake, "similar", "--text", text, "--k", "2")
    assert code == 0, err
    assert "most similar stories in emotion space" in out
    assert len([line for line in out.splitlines() if line.strip()[:2] in ("1.", "2.")]) == 2


def test_unknown_story_and_emotion_are_one_line_errors(tiny_lake, cli):
    code, _, err = cli("--lake", tiny_lake, "similar", "--story", "nope")
    assert code == 1 and "not in the story index" in err
    code, _, err = cli("--lake", tiny_lake, "similar", "--emotion", "sadd")
    assert code == 1 and "did you mean sad" in err


def test_index_stage_rebuilds_only_the_indexes_whose_probes_changed(tiny_lake_copy):
    preset = load_preset("tiny", lake=tiny_lake_copy)
    result = runner.execute("index", preset, force=True)
    n_sets = result.details["probes_unchanged"]
    assert result.details["probes_built"] == 0 and result.details["stories_built"] == 0
    assert result.details["stories_unchanged"] == n_sets > 0
    lake = Lake(tiny_lake_copy)

    def flip_first(table):
        table = table.sort_by("emotion")
        vectors = np.array(table.column("vector").to_pylist(), dtype=np.float32)
        vectors[0] = -vectors[0]
        column = table.schema.get_field_index("vector")
        flipped = pa.array(vectors.tolist(), table.schema.field(column).type)
        return table.set_column(column, table.schema.field(column), flipped)

    scope = {"model": "tiny-random", "source": "reference", "kind": "expression", "layer": 1}
    rewrite(tiny_lake_copy, "probes", flip_first, **scope)
    story_file = lake.story_index_path("tiny-random", "reference", "expression", 2)
    untouched = lake.verified(story_file)
    result = runner.execute("index", preset, force=True)
    counts = {k: v for k, v in result.details.items() if k.endswith(("_built", "_unchanged"))}
    assert counts == {
        "probes_built": 1,
        "probes_unchanged": n_sets - 1,
        "stories_built": 1,
        "stories_unchanged": n_sets - 1,
    }
    assert lake.verified(story_file) == untouched  # the same file still holds it
