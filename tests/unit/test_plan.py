"""The extraction plan's arithmetic on the tiny model's shape, FLOPs and MFU, the batch search, and the paper preset's
plan printed without any model or download."""

import pytest

from etl.model.batching import largest_fitting
from etl.model.flops import KNOWN_SHAPES, efficiency, forward_flops, peak_tflops
from etl.report.plan import CorpusCount, Plan, render

TINY = KNOWN_SHAPES["tiny-random"]


def test_tiny_plan_arithmetic():
    counts = [
        CorpusCount("reference", "emotional_story", texts=48, tokens=4800, done=8),
        CorpusCount("reference", "speaker_dialogue", texts=10, tokens=2000),
    ]
    plan = Plan("tiny-random", TINY, [1, 3], counts, tokens_per_s=100.0, throughput_how="test", device="cpu")
    assert plan.texts == 40 + 10
    assert plan.tokens == 4000 + 2000  # skipped texts take their share of tokens with them
    assert plan.segments == 40 + 2 * 10  # two speakers, two rows
    assert plan.bytes_per_layer == 60 * 64 * 2
    assert plan.total_bytes == 2 * 60 * 64 * 2
    assert plan.seconds == 60.0
    # 4 blocks run (the deepest probed layer is 3): 2 x weights per token, plus causal attention at the mean length.
    block = 64 * 16 * (4 * 2 + 2 * 2) + 3 * 64 * 128
    mean = 6000 // 50
    assert plan.flops == 50 * 4 * (2 * block * mean + 2 * 4 * 16 * mean * mean)
    text = render(plan)
    assert "50 texts, 6,000 tokens" in text and "1 min 00 s at 100 tokens/s" in text
    assert "7.68 KB per layer, 15.36 KB for 2 layers" in text


def test_flops_mfu_and_peaks():
    assert forward_flops(TINY, 2, [10, 10]) == 2 * forward_flops(TINY, 2, [10])
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA A10G") == 70.0 and peak_tflops("NVIDIA A10") == 125.0
    assert peak_tflops("Some Card", override=50.0) == 50.0 and peak_tflops("Some Card") is None
    found = efficiency(989e12, 2.0, "NVIDIA H100 80GB HBM3")
    assert found["tflops"] == pytest.approx(494.5) and found["mfu"] == pytest.approx(0.5)
    assert efficiency(1e12, 1.0, "cpu")["mfu"] is None


def test_largest_batch_search_keeps_headroom_and_the_floor():
    assert largest_fitting(1000, lambda tokens: tokens <= 16000) == 14400  # 16000 fits, 32000 not: 90% of it
    assert largest_fitting(1000, lambda tokens: False) == 1000
    assert largest_fitting(1000, lambda tokens: True, ceiling=4000) == 3600


def test_paper_plan_prints_without_a_model(cli, tmp_path, monkeypatch):
    import etl.model.calibrate as calibrate

    monkeypatch.setattr(calibrate, "model_at_hand", lambda spec: False)
    monkeypatch.setattr(calibrate, "_measure_matmul", lambda *a: calibrate.Throughput(1000.0, "stub", "cpu"))
    code, out, err = cli("--lake", tmp_path / "lake", "run", "all", "--preset", "paper", "--plan")
    assert code == 0, err
    assert "google/gemma-3-4b-it (34 layers, hidden 2560" in out
    assert "emotional_story              import--paper     205,200" in out and "published" in out
    assert "11 of 34" in out and "GB for 11 layers" in out and "at 1,000 tokens/s" in out
    assert not (tmp_path / "lake").exists()  # a plan writes nothing
