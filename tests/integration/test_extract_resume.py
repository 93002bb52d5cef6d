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
