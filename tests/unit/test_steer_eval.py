"""Steering measures without a model: repetition, regimes, the sign test, the sampler, the grid, the config."""

import math

import numpy as np
import pytest

from etl.config import load_preset
from etl.errors import EmolakeError
from etl.model.perplexity import _chunks
from etl.stages.steer import grid
from etl.steering.compare import steered_layers
from etl.steering.judging import regime, repetition_rate, sign_test


def test_repetition_rate_counts_ngrams_seen_before():
    assert repetition_rate([1, 2, 3, 1, 2, 3], 3) == pytest.approx(1 / 4)
    assert repetition_rate([7] * 10, 3) == pytest.approx(7 / 8)
    assert repetition_rate(list(range(20)), 3) == 0.0
    assert repetition_rate([1, 2], 3) == 0.0


@pytest.mark.parametrize(
    ("ratio", "repetition", "expected"),
    [
        (1.1, 0.1, "surgical"),
        (1.99, 0.49, "surgical"),
        (2.0, 0.1, "explosive"),
        (float("nan"), 0.0, "explosive"),
        (0.5, 0.5, "repetitive"),
        (9.0, 0.9, "repetitive"),
    ],
)
def test_regime_thresholds(ratio, repetition, expected):
    assert regime(ratio, repetition, max_perplexity_ratio=2.0, max_repetition=0.5) == expected


def test_sign_test_is_the_exact_binomial_tail():
    positives, n, p = sign_test([1.0] * 10 + [-1.0] * 2)
    assert (positives, n) == (10, 12)
    assert p == pytest.approx((math.comb(12, 10) + 12 + 1) / 2**12)
    assert sign_test([0.0, float("nan"), 2.0]) == (1, 1, 0.5)
    assert sign_test([])[2] == 1.0
    assert sign_test([-1.0] * 5)[2] == 1.0


def test_perplexity_chunks_bound_the_logits():
    rows, lengths = list(range(10)), [100] * 10
    chunks = _chunks(rows, lengths, vocab=(1 << 25) // 350)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [row for chunk in chunks for row in chunk] == rows
    assert _chunks([0], [10**6], vocab=10**6) == [[0]]


def test_sampler_inverts_the_top_p_distribution():
    import torch

    from etl.model.generate import choose

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    gens = [torch.Generator().manual_seed(0)]
    draws = [int(choose(logits, 1.0, 1.0, gens)[0]) for _ in range(4000)]
    assert np.bincount(draws, minlength=4) / 4000 == pytest.approx([0.5, 0.3, 0.15, 0.05], abs=0.03)
    # top_p 0.6 keeps {0, 1} (0.5 alone does not reach 0.6); the others are never drawn
    draws = [int(choose(logits, 1.0, 0.6, gens)[0]) for _ in range(500)]
    assert set(draws) == {0, 1}
    assert int(choose(logits, 0.0, 1.0, gens)[0]) == 0


def test_rows_with_the_same_seed_share_their_draws():
    import torch

    from etl.model.generate import choose

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 50, generator=g).repeat(3, 1)
    logits[2] += 0.01 * torch.randn(50, generator=g)
    gens = [torch.Generator().manual_seed(s) for s in (5, 5, 5)]
    picks = torch.stack([choose(logits, 1.0, 0.95, gens) for _ in range(50)])
    assert torch.equal(picks[:, 0], picks[:, 1])
    assert (picks[:, 0] == picks[:, 2]).float().mean() > 0.8


def test_the_grid_is_every_setting_by_every_case(tmp_path):
    from dataclasses import replace

    config = load_preset("tiny", lake=tmp_path).steer
    pairs = grid(config, (1, 2))
    per_layer = len(config.kinds) * len(config.emotions) * len(config.strengths) * len(config.prompts) * config.seeds
    assert len(pairs) == 2 * per_layer
    assert len({(s, c) for s, c in pairs}) == len(pairs)
    assert {c.seed for _, c in pairs} == {0, 1}
    assert {s.kind for s, _ in pairs} == {"expression", "pooled"}
    assert steered_layers(config, 4) == (1,)
    crossed = replace(config, sweep_operators=("add", "add_normalised"), sweep_positions=("all", "generated"))
    settings = {(s.operator, s.positions) for s, _ in grid(crossed, (1,))}
    assert settings == {(o, p) for o in ("add", "add_normalised") for p in ("all", "generated")}
    assert len(grid(crossed, (1,))) == 4 * per_layer


def test_default_layer_is_four_tenths_of_the_depth_and_must_exist(tmp_path):
    from dataclasses import replace

    config = replace(load_preset("tiny", lake=tmp_path).steer, layers=None)
    assert steered_layers(config, 30) == (12,)
    with pytest.raises(EmolakeError, match=r"steer.layers \[7\] do not exist"):
        steered_layers(replace(config, layers=(7,)), 4)


def write(tmp_path, table: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(f'model = "tiny-random"\n[steer]\n{table}\n')
    return str(path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('operator = "multiply"', "steer.operator has unknown value(s) ['multiply']"),
        ('positions = "middle"', "steer.positions has unknown value(s) ['middle']"),
        ('sweep_operators = ["add", "twist"]', "steer.operator has unknown value(s) ['twist']"),
        ('kinds = ["present_speaker"]', "steer.kinds has unknown value(s) ['present_speaker']"),
        ("kinds = []", "steer.kinds is empty"),
        ('emotions = ["hangry"]', "steer.emotions has unknown value(s) ['hangry']"),
        ("strengths = []", "steer.strengths is empty"),
        ('strengths = ["big"]', "steer.strengths = ('big',) has the wrong type"),
        ("layers = [-1]", "steer.layers = (-1,)"),
        ("temperature = 3.0", "steer.temperature = 3.0 is out of range"),
        ("top_p = 0", "steer.top_p = 0 is out of range"),
        ("max_perplexity_ratio = 1.0", "steer.max_perplexity_ratio = 1.0"),
        ("max_repetition = 0", "steer.max_repetition = 0"),
        ('prompts = ["  "]', "steer.prompts has an empty prompt"),
        ("seeds = 0", "steer.seeds = 0"),
        ("strenghts = [1.0]", "unknown key(s) ['strenghts'] in [steer]"),
    ],
)
def test_bad_steer_tables_name_the_value(tmp_path, table, message):
    with pytest.raises(EmolakeError) as info:
        load_preset(write(tmp_path, table), lake=tmp_path)
    assert message in str(info.value)


@pytest.mark.parametrize("name", ["tiny", "default", "full"])
def test_shipped_presets_have_a_valid_steer_table(name, tmp_path):
    from etl import catalog

    config = load_preset(name, lake=tmp_path).steer
    assert set(config.emotions) <= set(catalog.select(config.common.emotions))
    assert all(isinstance(s, float) for s in config.strengths)


def test_continuation_only_keeps_the_tokens_after_the_prompt():
    from etl.probes.token_scores import TextScores
    from etl.steering.compare import continuation_only

    text = "PROMPT>The sea rose."
    offsets = [(0, 6), (6, 7), (7, 10), (10, 14), (14, 19), (19, 20)]
    scores = np.arange(12, dtype=np.float32).reshape(6, 2)
    trace = TextScores([text[a:b] for a, b in offsets], offsets, {("expression", 3): scores}, {})
    cut = continuation_only(trace, len("PROMPT>"))
    assert cut.tokens == ["The", " sea", " rose", "."]
    assert cut.offsets == [(0, 3), (3, 7), (7, 12), (12, 13)]
    np.testing.assert_array_equal(cut.scores[("expression", 3)], scores[2:])
    assert continuation_only(trace, len(text)).tokens == []


def test_an_empty_reader_name_is_refused():
    with pytest.raises(EmolakeError, match=r"steer.readers = \['bundled:gemma3-270m', ' '\] has an empty name"):
        load_preset("tiny", overrides=['steer.readers=["bundled:gemma3-270m", " "]'])
