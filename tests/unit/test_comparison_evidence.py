"""Cross-model agreement maths, the evidence tables' scoring, and the page helpers that shape what is shown."""

import numpy as np
import pytest

from dashboards.pages.emotion_map import labelled_points
from dashboards.pages.probe import excerpt
from dashboards.pages.probe_quality import group_ticks
from dashboards.permalink import encode, parse
from etl import catalog
from etl.evaluation import comparison, evidence
from etl.lake.vectors import Vectors
from etl.probes.stored import StoredProbes

EMOTIONS = ["afraid", "angry", "calm", "happy", "proud", "sad"]


def probes(vectors: np.ndarray, emotions=EMOTIONS, centre=None) -> StoredProbes:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return StoredProbes("m", "reference", "expression", 1, list(emotions), unit.astype(np.float32), centre)


def test_upper_triangle_takes_each_pair_once():
    matrix = np.arange(16).reshape(4, 4)
    assert comparison.upper_triangle(matrix).tolist() == [1, 2, 3, 6, 7, 11]


def test_a_rotated_copy_agrees_perfectly_and_noise_agrees_less():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 16))
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert comparison.cosine_agreement(x, x @ rotation) == pytest.approx(1.0)
    assert comparison.valence_agreement(EMOTIONS, x, x @ rotation) == pytest.approx(1.0)
    noisy = comparison.cosine_agreement(x, x + rng.normal(scale=3.0, size=x.shape))
    assert noisy < 0.99


def test_models_are_compared_on_the_emotions_both_hold():
    rng = np.random.default_rng(1)
    a = probes(rng.normal(size=(6, 8)))
    b = probes(rng.normal(size=(4, 5)), emotions=["sad", "calm", "zealous", "afraid"])
    shared, x, y = comparison.aligned(a, b)
    assert shared == ["afraid", "calm", "sad"]
    assert np.allclose(y[0], b.vectors[3]) and np.allclose(x[2], a.vectors[5])


def test_relative_depth_is_the_share_of_blocks_passed():
    assert comparison.relative_depth(29, 30) == 1.0
    assert comparison.relative_depth(8, 18) == 0.5
    assert comparison.relative_depth(None, 30) is None and comparison.relative_depth(3, None) is None


def test_text_scores_are_cosines_of_centred_texts_and_tops_are_ranked():
    rng = np.random.default_rng(2)
    centre = rng.normal(size=8).astype(np.float32)
    stored = probes(rng.normal(size=(6, 8)), centre=centre)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    meta = [
        {"text_id": f"t{i}", "n_tokens": 40, "corpus": "short_text", "emotion": "calm", "text": f"text {i}"}
        for i in range(5)
    ]
    scores = evidence.text_scores(stored, Vectors(meta, x))
    centred = x - centre
    expected = (centred / np.linalg.norm(centred, axis=1, keepdims=True)) @ stored.vectors.T
    assert np.allclose(scores, expected, atol=1e-5)
    rows = evidence.top_rows(stored, "short", Vectors(meta, x), scores, top=3)
    calm = [r for r in rows if r["emotion"] == "calm"]
    assert [r["rank"] for r in calm] == [1, 2, 3]
    assert [r["score"] for r in calm] == sorted(scores[:, 2].tolist(), reverse=True)[:3]
    hist = evidence.histogram_rows(stored, "short", Vectors(meta, x), scores)
    assert sum(r["n_texts"] for r in hist if r["emotion"] == "calm") == 5
    assert sum(r["n_labelled"] for r in hist if r["emotion"] == "calm") == 5
    assert sum(r["n_labelled"] for r in hist if r["emotion"] == "sad") == 0


def test_excerpts_end_on_a_word():
    text = "one two three four five six seven"
    assert excerpt(text, 100) == text
    assert excerpt(text, 16) == "one two three …"


def test_map_labels_keep_the_outermost_and_drop_crowded_ones():
    points = [{"emotion": f"e{i}", "pc1": 0.001 * i, "pc2": 0.0} for i in range(20)]
    points += [{"emotion": "far", "pc1": 1.0, "pc2": 1.0}, {"emotion": "other", "pc1": -1.0, "pc2": -1.0}]
    chosen = labelled_points(points)
    assert {"far", "other"} <= chosen
    assert len(chosen & {f"e{i}" for i in range(20)}) == 1


def test_cosine_matrix_ticks_name_each_group_once_with_lines_between():
    order = [e for words in catalog.groups().values() for e in words]
    middles, names, boundaries = group_ticks(order)
    assert names == list(catalog.groups())
    assert len(boundaries) == len(names) - 1 and len(middles) == len(names)


def test_permalink_state_round_trips():
    state = {"model": "smollm2-135m-instruct", "kind": "short", "emotion": "calm", "q": "a b&c", "layer": 12}
    assert parse("?" + encode(state)) == {k: str(v) for k, v in state.items()}
    assert parse("") == {} and encode({"a": None, "b": ""}) == ""


def test_highlighted_text_keeps_the_unscored_first_token():
    from dashboards.pages.probe import highlighted

    row = {"text": '"Run," she said.', "tokens": ["Run", ',"', " she", " said", "."], "token_scores": [0.1] * 5}
    parts = highlighted(row)
    shown = "".join(p if isinstance(p, str) else p.children for p in parts)
    assert shown == row["text"]
