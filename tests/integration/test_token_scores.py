import numpy as np
import pytest

from etl.lake import Lake
from etl.model.load import load
from etl.model.residuals import forward_layers
from etl.probes.stored import read_layers
from etl.probes.token_scores import score_texts

pytestmark = pytest.mark.integration


def test_token_scores_are_projections_of_each_token(tiny_lake):
    loaded = load("tiny-random")
    probes = read_layers(Lake(tiny_lake), "tiny-random", "reference", ["expression"], [1, 3])
    text = "The roof held. We slept."
    (result,) = score_texts(loaded, [text], probes)
    assert set(result.scores) == {("expression", 1), ("expression", 3)}
    ids = loaded.tokenizer(text)["input_ids"]
    assert result.scores[("expression", 3)].shape == (len(ids) - 1, 6)
    assert "".join(result.tokens) == text[result.offsets[0][0] :]
    captured, _ = forward_layers(loaded.model, [ids], loaded.tokenizer.pad_token_id, [3])
    hidden = captured[3][0, 1:].numpy()
    p = probes[("expression", 3)]
    # A short text is centred on the short texts' mean (the form nearest its length), not on the stories'.
    short = next(form.vector for form in p.forms if form.kind == "short")
    assert len(ids) < 100 and p.centre_for(len(ids)) is short
    np.testing.assert_allclose(result.scores[("expression", 3)], (hidden - short) @ p.vectors.T, atol=1e-5)


def test_batched_token_scores_equal_single(tiny_lake):
    loaded = load("tiny-random")
    probes = read_layers(Lake(tiny_lake), "tiny-random", "reference", ["expression"], [2])
    texts = ["short text", "a much longer text that goes on for a while longer"]
    batched = score_texts(loaded, texts, probes)
    for i, text in enumerate(texts):
        (alone,) = score_texts(loaded, [text], probes)
        np.testing.assert_allclose(batched[i].scores[("expression", 2)], alone.scores[("expression", 2)], atol=1e-4)
