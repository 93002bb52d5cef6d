"""Dialogue probes on the tiny lake: segments by exact speaker spans, deflection orthogonal to expression."""

import json

import numpy as np
import pytest

from etl.lake import Lake, views
from etl.model.load import load
from etl.model.residuals import forward_layers, mean_residuals
from etl.probes.maths import baseline_components

pytestmark = pytest.mark.integration


def probes_of(lake: Lake, kind: str, layer: int) -> np.ndarray:
    rows = views.run(lake, f"select vector from probes where kind = '{kind}' and layer = {layer} order by emotion")
    return np.array(rows.column("vector").to_pylist())


def test_every_kind_is_built_at_every_layer(tiny_lake):
    rows = views.run(Lake(tiny_lake), "select kind, count(distinct layer) as n from probes group by 1 order by 1")
    assert rows.to_pylist() == [
        {"kind": k, "n": 4}
        for k in ("deflection", "expression", "other_speaker", "pooled", "present_speaker", "prompted", "short")
    ]


def test_deflection_probes_are_orthogonal_to_the_expression_space(tiny_lake):
    lake = Lake(tiny_lake)
    for layer in range(4):
        components, _ = baseline_components(probes_of(lake, "expression", layer), 0.99)
        deflection = probes_of(lake, "deflection", layer)
        assert np.abs(deflection @ components.T).max() < 1e-5
        np.testing.assert_allclose(np.linalg.norm(deflection, axis=1), 1, atol=1e-5)
    kept = views.run(lake, "select min(norm_kept) as lo, max(norm_kept) as hi from probes where kind = 'deflection'")
    lo, hi = kept.to_pylist()[0].values()
    assert 0 < lo <= hi <= 1


def test_speaker_segments_average_exactly_that_speakers_tokens(tiny_lake):
    lake = Lake(tiny_lake)
    row = views.run(
        lake,
        "select t.text, t.spans, a.npy_path, a.row_offset from activations a join texts t using (text_id) "
        "where a.layer = 2 and a.segment = 'speaker_1' order by t.text_id limit 1",
    ).to_pylist()[0]
    spans = json.loads(row["spans"])
    name = spans["speakers"][1]["name"]
    turns = [(t["start"], t["end"]) for t in spans["turns"] if t["speaker"] == name]
    loaded = load("tiny-random")
    encoded = loaded.tokenizer(row["text"], truncation=True, max_length=256, return_offsets_mapping=True)
    keep = [
        p
        for p, (s, e) in enumerate(encoded["offset_mapping"])
        if p > 0 and e > s and any(s < b and e > a for a, b in turns)
    ]
    captured, _ = forward_layers(loaded.model, [encoded["input_ids"]], loaded.tokenizer.pad_token_id, [2])
    expected = captured[2][0, keep].mean(dim=0).numpy()
    stored = np.load(lake.root / row["npy_path"])[row["row_offset"]].astype(np.float32)
    np.testing.assert_allclose(stored, expected, atol=2e-2 * np.abs(expected).max())
    again = mean_residuals(loaded.model, loaded.tokenizer, [row["text"]], [2], 50, 256, segments=[[turns]])
    np.testing.assert_allclose(again.vectors[0, 0], expected, atol=1e-5)
