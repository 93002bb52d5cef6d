"""`EmoLake`'s methods for the front doors (etl/api): the probe set a call uses, nearest with its warnings as
values, classify, similar emotions and stories, raw token scores, and the writes of score, validate and adapt, each
answering as the library function it calls, with one scorer per probe set however many calls."""

import warnings

import numpy as np
import pytest

from etl import api as emolake  # the installed `emolake` may be another checkout's etl/api
from etl.errors import EmolakeError, ShortTextWarning
from etl.lake import Lake

pytestmark = pytest.mark.integration

TEXTS = ["The storm took the roof and we ran.", "We won the final and I cannot stop grinning!"]
SHORT = "We ran."


def test_probe_set_is_the_set_the_policy_picks(tiny_lake):
    from etl.probes import policy

    lake = emolake.open(tiny_lake)
    kind, layer = policy.default_set(Lake(tiny_lake), lake.model, "reference")
    assert lake.probe_set() == emolake.ProbeSetId(lake.model, "reference", kind, layer)
    best = policy.best_layer(Lake(tiny_lake), lake.model, "reference", "expression")
    assert lake.probe_set("expression").layer == best and lake.probe_set("expression", 1).layer == 1
    assert lake.using().probe_set() == lake.probe_set()
    with pytest.raises(EmolakeError, match="no probes from source 'nosuch'"):
        lake.using(source="nosuch").probe_set()


def test_match_gives_nearest_with_its_set_and_warnings_as_values(tiny_lake):
    lake = emolake.open(tiny_lake)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShortTextWarning)  # values, never Python warnings
        found = lake.match([*TEXTS, SHORT], k=3)
        assert lake.short_warnings([*TEXTS, SHORT]) == found.warnings
    assert found.probe_set == lake.probe_set()
    assert found.warnings[:2] == [None, None] and "under 8" in found.warnings[2]
    assert found.nearest[:2] == lake.nearest(TEXTS, k=3)
    with pytest.warns(ShortTextWarning):
        assert lake.nearest(SHORT, k=3) == found.nearest[2]


def test_nearest_truncates_a_long_text_only_when_asked(tiny_lake):
    lake = emolake.open(tiny_lake)
    long = "The rain kept falling on the quiet house. " * 400
    with pytest.raises(EmolakeError, match="the limit is 2048"):
        lake.nearest(long)
    assert len(lake.nearest(long, k=2, truncate=True)) == 2


def test_classify_rows_are_the_nearest_matches_in_any_batch_size(tiny_lake):
    lake = emolake.open(tiny_lake)
    rows = lake.classify([*TEXTS, SHORT], k=2, batch_size=2)
    assert rows == lake.classify([*TEXTS, SHORT], k=2, batch_size=1)
    assert [r["row_id"] for r in rows] == [0, 1, 2] and rows[2]["warning"] and rows[0]["warning"] is None
    found = lake.match([*TEXTS, SHORT], k=2)
    assert [r["emotions"] for r in rows] == [[m["emotion"] for m in ms] for ms in found.nearest]
    with pytest.raises(EmolakeError, match="batch_size 0"):
        lake.classify(TEXTS, batch_size=0)


def test_similar_emotions_and_stories_are_the_search_functions(tiny_lake):
    from etl.probes.scoring import open_scorer
    from etl.probes.search import nearest_emotions, similar_stories

    lake = emolake.open(tiny_lake)
    scorer = open_scorer(Lake(tiny_lake), layer=2)
    close = lake.similar_emotions(" afraid ", k=3, layer=2)
    assert close == nearest_emotions(scorer, "afraid", 3) and "afraid" not in [m["emotion"] for m in close]
    stories = lake.similar_stories(k=3, text=TEXTS[0], layer=2)
    assert stories == similar_stories(scorer, 3, text=TEXTS[0])
    story = stories[0]["text_id"]
    alike = lake.similar_stories(k=3, text_id=story, layer=2)
    assert len(alike) == 3 and story not in [s["text_id"] for s in alike]
    with pytest.raises(EmolakeError, match="not valid Unicode"):
        lake.similar_stories(text="a \udcff b")


def test_token_scores_are_the_frame_of_score_and_what_the_viewer_shows(tiny_lake):
    from dashboards.live import LiveScorer

    lake = emolake.open(tiny_lake)
    text = "I opened the letter and my hands shook."
    (scored,) = lake.token_scores(text)
    assert scored.probe_set == lake.probe_set() and scored.warning is None
    assert scored.scores.shape == scored.cosines.shape == (len(scored.tokens), len(scored.emotions))
    frame = lake.score(text)
    assert frame["score"].to_list() == [float(v) for v in scored.scores.reshape(-1)]
    assert frame["token"].to_list()[:: len(scored.emotions)] == scored.tokens
    viewer = LiveScorer(lake).score(text, scored.probe_set)
    assert viewer.tokens == scored.tokens and np.allclose(viewer.scores, scored.cosines)
    norms = np.linalg.norm(scored.cosines, axis=1)
    assert np.all(norms <= np.sqrt(len(scored.emotions)) + 1e-4)
    (short,) = lake.token_scores(SHORT)
    assert "under 8" in short.warning


def test_one_scorer_serves_every_call_of_a_probe_set(tiny_lake, monkeypatch):
    from etl.probes import scoring

    opened = []

    def counting(*args):
        opened.append(args[3:])
        return real(*args)

    real = scoring.open_scorer
    monkeypatch.setattr("etl.probes.scoring.open_scorer", counting)
    lake = emolake.open(tiny_lake)
    lake.nearest(TEXTS)
    lake.match(TEXTS)
    lake.classify(TEXTS)
    lake.similar_emotions("afraid")
    lake.similar_stories(text=TEXTS[0])
    assert opened == [(None, None)]
    lake.nearest(TEXTS, layer=1)
    assert opened == [(None, None), (None, 1)]


def test_write_scores_lands_the_rows_of_the_score_command(tiny_lake_copy):
    lake = emolake.open(tiny_lake_copy)
    done = lake.write_scores([*TEXTS, SHORT], ids=["a", "b", "c"], id_column="id")
    assert (done.n_texts, list(done.warnings)) == (3, ["c"])
    count = lake.sql("select count(distinct text_id) as n from scores")["n"][0]
    assert count == 3 and done.rows == lake.sql("select count(*) as n from scores")["n"][0]


LABELLED = {
    "fear": ["someone is at the back door at 3am", "the brakes stopped working on the hill"],
    "happy": ["we won the cup and the whole street sang", "got the job, party tonight"],
    "sad": ["my old dog died today", "nobody came to my party"],
}


def test_validate_and_adapt_land_their_rows_and_name_what_they_left_out(tiny_lake_copy, tmp_path):
    lake = emolake.open(tiny_lake_copy)
    texts = [text for group in LABELLED.values() for text in group]
    labels = [label for label, group in LABELLED.items() for _ in group]
    mapping = tmp_path / "map.csv"
    mapping.write_text("label,emotion\nfear,afraid\n")
    done = lake.validate(
        [*texts, "a bowl of soup"], [*labels, "hungry"], mapping, ["expression"], [1, 2], input_name=tmp_path / "m.csv"
    )
    assert [(r["kind"], r["layer"], r["n_texts"]) for r in done.rows] == [("expression", 1, 6), ("expression", 2, 6)]
    assert done.unmapped == ["hungry"]
    assert lake.sql("select distinct input from validation_runs")["input"].to_list() == ["m.csv"]
    adapted = lake.adapt("mine", texts, labels, mapping, folds=2)
    assert {r["method"].split(" ")[0] for r in adapted.rows} == {"adapted", "default", "lexical", "null"}
    assert adapted.unmapped == [] and lake.using(source="mine").probe_set().source == "mine"
