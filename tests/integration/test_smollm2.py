"""The bundled SmolLM2-135M-Instruct through the pipeline on a few stories, and its exactness and generation."""

import json

import numpy as np
import pytest

from etl import runner
from etl.config import load_preset
from etl.config.base import PIPELINE
from etl.lake import Lake, views
from etl.model.load import load
from etl.model.residuals import mean_residuals

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "bundled:smollm2-135m-instruct"

PRESET = """
model = "bundled:smollm2-135m-instruct"
emotions = ["afraid", "calm", "happy"]
[generate]
sources = ["reference"]
reference_corpora = ["emotional_story", "neutral_story"]
reference_per_emotion = 4
reference_neutral = 8
[extract]
corpora = ["emotional_story", "neutral_story"]
layers = [10, 20]
[evaluate]
folds = 2
"""


@pytest.fixture(scope="module")
def smol_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("smol")
    (root / "smol.toml").write_text(PRESET)
    preset = load_preset(str(root / "smol.toml"), lake=root / "lake")
    for stage in PIPELINE:
        runner.execute(stage, preset)
    return root / "lake"


def test_the_bundled_model_resolves_from_its_package():
    loaded = load(MODEL)
    assert (loaded.slug, loaded.n_layers, loaded.hidden) == ("smollm2-135m-instruct", 30, 576)


def test_pipeline_on_a_few_stories(smol_lake, cli):
    lake = Lake(smol_lake)
    probes = views.run(lake, "select layer, count(*) as n from probes group by 1 order by 1").to_pylist()
    assert probes == [{"layer": 10, "n": 3}, {"layer": 20, "n": 3}]
    extracted = views.run(lake, "select min(n_used) as lo, max(n_tokens) as hi from activations").to_pylist()[0]
    assert extracted["lo"] > 0 and extracted["hi"] <= 512
    code, out, _ = cli("--lake", smol_lake, "nearest", "My hands would not stop shaking in the dark.", "--json")
    assert code == 0 and {m["emotion"] for m in json.loads(out)} == {"afraid", "calm", "happy"}


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_batched_extraction_equals_one_text_at_a_time(padding_side):
    """In fp32, a text's means are the same batched or alone (the padding is right). In the compute precision
    (`etl.model.load.precision`: bf16 on CPUs that multiply it natively) batching changes only the rounding."""
    import copy

    loaded = load(MODEL)
    exact = copy.deepcopy(loaded.model).float()
    texts = ["The kettle clicked off.", "We walked along the river for an hour before the rain came down. " * 3]
    previous, loaded.tokenizer.padding_side = loaded.tokenizer.padding_side, padding_side
    try:
        for model in (exact, loaded.model):
            batched = mean_residuals(model, loaded.tokenizer, texts, [5, 20], 1, 512, batch_tokens=100_000)
            for i, text in enumerate(texts):
                alone = mean_residuals(model, loaded.tokenizer, [text], [5, 20], 1, 512).vectors[0]
                if model is exact:
                    assert np.abs(batched.vectors[i] - alone).max() < 1e-4
                cosine = (batched.vectors[i] * alone).sum(-1) / np.linalg.norm(alone, axis=-1)
                cosine /= np.linalg.norm(batched.vectors[i], axis=-1)
                assert cosine.min() > 0.999, cosine
    finally:
        loaded.tokenizer.padding_side = previous


def test_local_generation_writes_rows_with_provenance(tmp_path):
    (tmp_path / "gen.toml").write_text(
        'model = "bundled:smollm2-135m-instruct"\nemotions = ["calm", "afraid"]\n[generate]\nsources = ["local"]\n'
        "min_words = 5\n[generate.local]\nstories_per_emotion = 1\nneutral_stories = 0\nmax_new_tokens = 48\n"
    )
    preset = load_preset(str(tmp_path / "gen.toml"), lake=tmp_path / "lake")
    runner.execute("generate", preset)
    lake = Lake(tmp_path / "lake")
    rows = views.run(lake, "select * from texts union all by name select * exclude (reason) from rejects").to_pylist()
    assert len(rows) == 2
    assert all(r["source"] == "local" and r["writer_model"] == "smollm2-135m-instruct" for r in rows)
    assert all(r["prompt_hash"] for r in rows)
    assert all(len(r["text"].split()) > 3 for r in rows)
