"""Extraction: a killed run resumes without losing or doubling a row; batched equals one-at-a-time."""

import numpy as np
import pytest

from etl import runner
from etl.config import load_preset
from etl.lake import Lake, views
from etl.model.load import load
from etl.model.residuals import mean_residuals
from etl.stages import extract

pytestmark = pytest.mark.integration


def vectors_by_text(lake: Lake, layer: int) -> dict[tuple[str, str], np.ndarray]:
    """(text_id, segment) -> stored vector at one layer."""
    sql = f"select text_id, segment, npy_path, row_offset from activations where layer = {layer}"
    rows = views.run(lake, sql).to_pylist()
    return {(r["text_id"], r["segment"]): np.load(lake.root / r["npy_path"])[r["row_offset"]] for r in rows}


def test_a_killed_extract_resumes_without_loss_or_duplicates(tiny_lake, tmp_path, monkeypatch):
    reference = vectors_by_text(Lake(tiny_lake), 2)
    lake = Lake(tmp_path / "lake")
    preset = load_preset("tiny", lake=lake.root)
    runner.execute("generate", preset)
    real_write = extract.write_shard
    calls = {"n": 0}

    def dying_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            # Dies after the arrays of shard 1 are written but before its index rows commit: they are strays.
            lake_, model, layers, shard, _texts, result, _done, _config, _settings = args
            extract.write_arrays(lake_, model, layers, shard, result.vectors, set(layers))
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(extract, "write_shard", dying_write)
    with pytest.raises(KeyboardInterrupt):
        runner.execute("extract", preset)
    sql = "select count(distinct text_id) as n from activations where layer = 2"
    assert views.run(lake, sql).column("n")[0].as_py() == 16
    monkeypatch.setattr(extract, "write_shard", real_write)
    runner.execute("extract", preset)
    keys = views.run(lake, "select text_id, segment from activations where layer = 2").to_pylist()
    assert len(keys) == len({(k["text_id"], k["segment"]) for k in keys}) == len(reference)
    resumed = vectors_by_text(lake, 2)
    for key, vector in reference.items():
        np.testing.assert_array_equal(resumed[key], vector)


def test_a_stray_temporary_is_invisible_to_queries(tiny_lake_copy):
    lake = Lake(tiny_lake_copy)
    before = views.run(lake, "select count(*) as n from activations").column("n")[0].as_py()
    stray = tiny_lake_copy / "activations" / "model=tiny-random" / "layer=0" / ".tmp-dead-shard-00099.parquet.partial"
    stray.write_bytes(b"PAR1 half written")
    assert views.run(lake, "select count(*) as n from activations").column("n")[0].as_py() == before
    assert not [p for p in lake.files("activations") if ".tmp-" in p]


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_batched_extraction_equals_one_text_at_a_time(padding_side):
    loaded = load("tiny-random")
    texts = ["A short one here, just enough.", "Quite a bit longer text " * 6, "Middle length text for the check."]
    previous, loaded.tokenizer.padding_side = loaded.tokenizer.padding_side, padding_side
    try:
        batched = mean_residuals(loaded.model, loaded.tokenizer, texts, [0, 3], 2, 256, batch_tokens=100_000)
        for i, text in enumerate(texts):
            alone = mean_residuals(loaded.model, loaded.tokenizer, [text], [0, 3], 2, 256)
            assert np.abs(batched.vectors[i] - alone.vectors[0]).max() < 1e-4
    finally:
        # The model is memoised and shared by other tests: leave the tokenizer as it was.
        loaded.tokenizer.padding_side = previous


def test_bf16_extraction_agrees_with_fp32_and_is_stored_apart(tmp_path, monkeypatch):
    """The bf16 path (CUDA, CPUs with native bf16) gives the fp32 means to a centred cosine near 1, under its own
    settings hash, so an fp32 lake re-extracted in bf16 never mixes the two."""
    import copy

    import torch

    from etl.model import load as model_load

    texts = [f"Story {i}: the rain kept falling while she counted the letters she never sent." * 3 for i in range(6)]
    loaded = load("tiny-random")
    fp32 = mean_residuals(loaded.model, loaded.tokenizer, texts, [1, 2], 2, 64).vectors
    in_bf16 = copy.deepcopy(loaded.model).to(torch.bfloat16)  # the cached model stays fp32 for other tests
    half = mean_residuals(in_bf16, loaded.tokenizer, texts, [1, 2], 2, 64).vectors
    a, b = fp32 - fp32.mean(0), half - half.mean(0)
    cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert cosine.min() > 0.99

    monkeypatch.setenv("EMOLAKE_PRECISION", "bfloat16")
    model_load.precision.cache_clear()
    model_load.load.cache_clear()
    try:
        preset = load_preset("tiny", lake=tmp_path / "lake")
        runner.execute("generate", preset)
        result = runner.execute("extract", preset)
        assert result.details["precision"] == "bfloat16"
        hashes = views.run(Lake(preset.common.lake), "select distinct settings_hash from activations").to_pylist()
        assert [h["settings_hash"] for h in hashes] == [
            extract.settings_hash(preset.extract, "tiny-random", "bfloat16")
        ]
    finally:
        model_load.precision.cache_clear()
        model_load.load.cache_clear()
