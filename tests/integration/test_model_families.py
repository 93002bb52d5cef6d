"""Every major decoder-only family (`tiny-random:<family>`): batched extraction, the pipeline, nearest, steering.

One lake holds every family (the model slug is a column), so the reference texts are generated once.
"""

from dataclasses import replace

import numpy as np
import pytest

from etl.errors import EmolakeError
from etl.model.families import FAMILIES, available
from etl.model.load import load
from etl.model.residuals import mean_residuals

pytestmark = pytest.mark.integration
TEXTS = [
    "Hi.",
    "The kettle clicked off and the kitchen went quiet again.",
    "She laughed, then stopped, and looked out at the rain for a long while before she spoke.",
    "A boat drifted past.",
]
# Only what expression probes, their index and steering read: the full tiny preset costs ~20 s a family.
SMALL = (
    'extract.corpora=["emotional_story", "neutral_story"]',
    "extract.max_tokens=64",
    'probes.kinds=["expression"]',
    'index.kinds=["expression"]',
)


def family_spec(family: str) -> str:
    if family not in available():
        pytest.skip(f"the installed transformers has no {FAMILIES[family][0]}")
    return f"tiny-random:{family}"


@pytest.fixture(scope="module")
def family_lake(tmp_path_factory):
    """A lake with the tiny preset's reference texts, generated once for every family's extraction."""
    from etl import runner
    from etl.config import load_preset

    lake = tmp_path_factory.mktemp("families") / "lake"
    runner.execute("generate", load_preset("tiny", lake=lake))
    return lake


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_batched_extraction_equals_one_text_at_a_time(family, side):
    loaded = load(family_spec(family))
    layers = list(range(loaded.n_layers))
    single = np.concatenate(
        [mean_residuals(loaded.model, loaded.tokenizer, [t], layers, 1, 256).vectors for t in TEXTS]
    )
    was, loaded.tokenizer.padding_side = loaded.tokenizer.padding_side, side
    try:
        batched = mean_residuals(loaded.model, loaded.tokenizer, TEXTS, layers, skip_tokens=1, max_tokens=256)
    finally:
        loaded.tokenizer.padding_side = was
    assert batched.vectors.shape == (len(TEXTS), loaded.n_layers, 64)
    scale = np.linalg.norm(single, axis=-1, keepdims=True)
    assert np.abs(single / scale - single[:1] / scale[:1]).max() > 1e-2  # the texts' vectors differ far beyond atol
    np.testing.assert_allclose(batched.vectors / scale, single / scale, atol=1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_pipeline_nearest_and_steering(family, family_lake):
    from etl import runner
    from etl.config import load_preset
    from etl.lake import Lake
    from etl.probes.scoring import open_scorer
    from etl.steering.compare import Case, Setting, Steerer

    spec = family_spec(family)
    preset = load_preset("tiny", lake=family_lake, model=spec, overrides=SMALL)
    for stage in ("generate", "extract", "probes", "index"):
        runner.execute(stage, preset)
    loaded = load(spec)
    lake = Lake(family_lake)

    scorer = open_scorer(lake, loaded.slug, kind="expression", layer=1)
    (found,) = scorer.nearest(["I could not stop shaking when the door creaked open."], k=3)
    assert len(found) == 3 and {row["emotion"] for row in found} <= set(scorer.emotions)

    config = replace(preset.steer, score_layer=1, max_new_tokens=4)
    steerer = Steerer(lake, loaded, config, store_norms=False)
    (result,) = steerer.run([(Setting("afraid", 1, 4.0), Case("Tell me about your day.", 0))])
    assert 1 <= len(result.steered.new_ids) <= 4
    assert result.steered.new_ids != result.baseline.new_ids  # the hooks ran: 4 norms along "afraid" move the sample
    assert not [name for name, m in loaded.model.named_modules() if m._forward_hooks or m._forward_pre_hooks]


def test_an_encoder_only_model_is_refused_by_name(tmp_path):
    from transformers import BertConfig, BertLMHeadModel

    from etl.model.families import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
    )
    BertLMHeadModel(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(EmolakeError, match=r"BertLMHeadModel.*decoder-only causal LM"):
        load(str(tmp_path))


def test_a_model_without_findable_blocks_is_refused_by_name():
    from types import SimpleNamespace

    import torch

    from etl.model.hooks import decoder_layers

    class Opaque(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = SimpleNamespace(num_hidden_layers=3)
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))

    with pytest.raises(EmolakeError, match=r"cannot find the 3 decoder blocks of Opaque.*decoder-only causal LM"):
        decoder_layers(Opaque())


def test_an_unknown_family_names_the_known_ones():
    with pytest.raises(EmolakeError, match=r"unknown tiny model family 'bert'.*gpt_neox"):
        load("tiny-random:bert")


def test_a_model_with_no_causal_lm_class_is_refused_by_name(tmp_path):
    from transformers import DistilBertConfig, DistilBertModel

    DistilBertModel(DistilBertConfig(dim=32, hidden_dim=64, n_layers=1, n_heads=2, vocab_size=300)).save_pretrained(
        tmp_path
    )
    with pytest.raises(EmolakeError, match=r"DistilBertConfig \(distilbert\), which has no causal LM"):
        load(str(tmp_path))
