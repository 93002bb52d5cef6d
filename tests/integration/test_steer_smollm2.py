"""Steering SmolLM2 toward "afraid" raises the afraid probe on its output: an exact sign test over seeded runs.

A small lake is built inside the test (five emotions of the reference corpus, two layers), then 24 prompt x seed
cases are run unsteered and steered from the same seed. Under the null hypothesis (steering does not move the
afraid probe) each non-tied pair is up or down with probability 1/2; we reject it at ALPHA with a one-sided sign test.
"""

import pytest

from etl import runner
from etl.config import load_preset
from etl.lake import Lake
from etl.model.load import load
from etl.steering.compare import Case, Setting, Steerer
from etl.steering.judging import sign_test

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ALPHA = 0.05
STEER_LAYER, SCORE_LAYER, STRENGTH = 12, 15, 0.25
SEEDS = (0, 1, 2, 3)
PRESET = f"""
model = "bundled:smollm2-135m-instruct"
emotions = ["afraid", "calm", "happy", "sad", "angry"]
[generate]
sources = ["reference"]
reference_corpora = ["emotional_story", "neutral_story"]
reference_per_emotion = 8
reference_neutral = 16
[extract]
corpora = ["emotional_story", "neutral_story"]
layers = [{STEER_LAYER}, {SCORE_LAYER}]
max_tokens = 256
[steer]
emotions = ["afraid"]
strengths = [{STRENGTH}]
layers = [{STEER_LAYER}]
score_layer = {SCORE_LAYER}
seeds = 4
max_new_tokens = 32
norm_texts = 8
batch_size = 24
prompts = [
    "Write a short story about a man waiting for a train.",
    "Describe what you see on your walk to work this morning.",
    "Tell me about the old house at the end of the street.",
    "Write a few sentences about a woman opening a letter.",
    "Describe an evening at home after a long day.",
    "Tell me a story about a girl and her dog in the park.",
]
"""


@pytest.fixture(scope="module")
def steer_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("steer_smol")
    (root / "steer.toml").write_text(PRESET)
    preset = load_preset(str(root / "steer.toml"), lake=root / "lake")
    for stage in ("generate", "extract", "probes"):
        runner.execute(stage, preset)
    return preset


def test_steering_toward_afraid_raises_the_afraid_probe(steer_lake):
    config = steer_lake.steer
    steerer = Steerer(Lake(config.common.lake), load(config.common.model), config)
    cases = [Case(prompt, seed) for prompt in config.prompts for seed in SEEDS]
    results = steerer.run([(Setting("afraid", STEER_LAYER, STRENGTH), case) for case in cases])
    deltas = [r.target_delta for r in results]
    positives, n, p = sign_test(deltas)
    summary = f"afraid up in {positives} of {n} non-tied runs (p = {p:.4f}); deltas {[round(d, 2) for d in deltas]}"
    assert n >= 20, summary
    assert positives > n / 2 and p < ALPHA, summary
    # steering at this strength keeps most outputs fluent: the effect is not bought with noise
    assert sum(r.regime == "surgical" for r in results) >= len(results) / 2, [r.regime for r in results]
