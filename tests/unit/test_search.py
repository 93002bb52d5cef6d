"""Search without a model: fingerprints, emotion profiles, the story index and emotion -> nearest emotions."""

from types import SimpleNamespace

import numpy as np
import pytest

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId
from etl.probes.scoring import fingerprint, stored_fingerprint
from etl.probes.search import (
    emotion_profiles,
    flat_index,
    nearest_emotions,
    open_story_index,
    unit_rows,
    write_probe_index,
    write_story_index,
)

EMOTIONS = ["afraid", "angry", "calm", "happy"]


def unit_probes(seed: int = 0, hidden: int = 16) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).normal(size=(len(EMOTIONS), hidden)))


def test_fingerprint_changes_with_any_input_and_only_then():
    probes = unit_probes()
    key = fingerprint(EMOTIONS, probes, "a,b")
    assert key == fingerprint(list(EMOTIONS), probes.copy(), "a,b")
    changed = probes.copy()
    changed[0, 0] += 1e-6
    assert fingerprint(EMOTIONS, changed, "a,b") != key
    assert fingerprint(EMOTIONS, probes, "a,c") != key
    assert fingerprint(EMOTIONS[::-1], probes, "a,b") != key


def test_emotion_profiles_are_unit_projections_on_the_probes():
    probes = unit_probes()
    center = np.full(16, 0.5, np.float32)
    x = np.random.default_rng(1).normal(size=(3, 16)).astype(np.float32)
    profiles = emotion_profiles(x, probes, center)
    expected = (x - center) @ probes.T
    np.testing.assert_allclose(profiles, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-5)
    assert emotion_profiles(center[None, :], probes, center).tolist() == [[0.0] * len(EMOTIONS)]


def test_story_index_round_trips_and_leaves_the_query_story_out(tmp_path):
    lake = Lake(tmp_path / "lake")
    profiles = unit_rows(np.eye(len(EMOTIONS)) + 0.1)
    stories = [{"text_id": f"s{i}", "source": "reference", "emotion": e, "topic": "t"} for i, e in enumerate(EMOTIONS)]
    path = lake.story_index_path("m", "reference", "expression", 3)
    write_story_index(lake, path, profiles, stories, {"fingerprint": "abc"})
    assert stored_fingerprint(lake, path) == "abc"
    index = open_story_index(lake, ProbeSetId("m", "reference", "expression", 3))
    assert [s["text_id"] for s in index.stories] == ["s0", "s1", "s2", "s3"]
    hits = index.search(profiles[2], k=2, exclude="s2")
    assert [h["text_id"] for h in hits] != [] and "s2" not in [h["text_id"] for h in hits]
    assert len(hits) == 2
    assert index.search(profiles[2], k=1)[0]["text_id"] == "s2"
    with pytest.raises(EmolakeError, match="not in the story index"):
        index.row_of("nope")


def test_missing_story_index_names_make_index(tmp_path):
    with pytest.raises(EmolakeError, match="run `make index`"):
        open_story_index(Lake(tmp_path), ProbeSetId("m", "reference", "expression", 0))


def test_nearest_emotions_leave_the_emotion_out_and_rank_by_cosine():
    probes = unit_probes()
    probe_set = ProbeSetId("m", "reference", "expression", 1)
    scorer = SimpleNamespace(emotions=EMOTIONS, index=flat_index(probes), probe_set=probe_set)
    hits = nearest_emotions(scorer, "calm", k=10)
    assert [h["emotion"] for h in hits] and "calm" not in [h["emotion"] for h in hits]
    assert len(hits) == len(EMOTIONS) - 1
    cosines = {e: float(probes[EMOTIONS.index("calm")] @ probes[i]) for i, e in enumerate(EMOTIONS)}
    for hit in hits:
        assert hit["score"] == pytest.approx(cosines[hit["emotion"]], abs=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    with pytest.raises(EmolakeError, match="did you mean calm"):
        nearest_emotions(scorer, "cal", k=3)


def test_probe_index_is_rebuilt_only_when_the_probes_change(tmp_path):
    lake = Lake(tmp_path / "lake")
    probes = unit_probes()
    assert write_probe_index(lake, "m", "reference", "expression", 2, EMOTIONS, probes) is True
    path = lake.faiss_path("m", "reference", "expression", 2)
    written = lake.verified(path).stat().st_mtime_ns
    assert write_probe_index(lake, "m", "reference", "expression", 2, EMOTIONS, probes.copy()) is False
    assert lake.verified(path).stat().st_mtime_ns == written
    assert write_probe_index(lake, "m", "reference", "expression", 2, EMOTIONS, unit_probes(seed=5)) is True
