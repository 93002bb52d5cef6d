"""`emolake export` on the tiny lake: each format read back equals what the lake holds, and the GGUF files have the
layout llama.cpp's `--control-vector` loader accepts (arch controlvector, 1-D F32 `direction.<k>` tensors, k >= 1)."""

import json

import numpy as np
import pytest

from etl.lake import Lake
from etl.probes import export, policy, stored

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def expected(tiny_lake):
    return export.stack(Lake(tiny_lake), layers="all")


def test_the_default_export_is_the_default_probe_set(tiny_lake):
    lake = Lake(tiny_lake)
    probes = export.stack(lake)
    model, _ = stored.pick_model(lake, None, "reference")
    kind, layer = policy.default_set(lake, model, "reference")
    assert (probes.kind, probes.layers) == (kind, [layer])
    (one,) = stored.read(lake, model, "reference", [probes.kind], probes.layers).values()
    assert np.array_equal(probes.vectors[0], one.vectors) and probes.emotions == one.emotions
    assert probes.lake_run["run_key"] and probes.lake_run["code_version"]


def test_safetensors_round_trip(tiny_lake, cli, tmp_path, expected):
    path = tmp_path / "probes.safetensors"
    code, out, err = cli("--lake", tiny_lake, "export", "--format", "safetensors", "--output", path, "--layers", "all")
    assert code == 0 and str(path) in out, err
    back = export.read_safetensors(path)
    assert back.vectors.shape == (len(expected.layers), len(expected.emotions), expected.vectors.shape[2])
    assert np.array_equal(back.vectors, expected.vectors) and np.array_equal(back.centers, expected.centers)
    assert back.metadata() == json.loads(json.dumps(expected.metadata()))


def test_npy_round_trip(tiny_lake, cli, tmp_path, expected):
    path = tmp_path / "probes.npy"
    code, _, err = cli("--lake", tiny_lake, "export", "--format", "npy", "--output", path, "--layers", "all")
    assert code == 0, err
    assert np.array_equal(np.load(path), expected.vectors)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["emotions"] == expected.emotions and sidecar["layers"] == expected.layers
    back = export.read_npy(path)
    assert np.array_equal(back.centers, expected.centers) and back.metadata() == json.loads(
        json.dumps(expected.metadata())
    )


def test_gguf_control_vectors_round_trip(tiny_lake, cli, tmp_path):
    import gguf

    from etl.steering.norms import read_norms

    lake = Lake(tiny_lake)
    out_dir = tmp_path / "cvec"
    args = ("--lake", tiny_lake, "export", "--format", "gguf", "--preset", "tiny", "--output", out_dir)
    code, out, err = cli(*args, "--layers", "all")
    assert code == 0, err
    # the steering recipe of the preset: its first kind (expression for `tiny`), scaled by its stored norms
    expected = export.stack(lake, kind="expression", layers="all")
    assert "expression probes" in out
    assert sorted(p.stem for p in out_dir.glob("*.gguf")) == sorted(expected.emotions)
    norms = read_norms(lake, lake.partition("residual_norms", model="tiny-random", corpus="neutral_story"), 8)
    layers = [layer for layer in expected.layers if layer >= 1]
    for e, emotion in enumerate(expected.emotions):
        reader = gguf.GGUFReader(str(out_dir / f"{emotion}.gguf"))
        for tensor in reader.tensors:
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32 and len(tensor.shape) == 1
        directions, fields = export.read_gguf(out_dir / f"{emotion}.gguf")
        assert fields["general.architecture"] == "controlvector" and fields["emolake.kind"] == "expression"
        assert fields["controlvector.layer_count"] == len(layers) and fields["emolake.emotion"] == emotion
        assert "8 neutral_story texts" in fields["emolake.strength_unit"]
        assert sorted(directions) == layers and 0 not in directions
        for layer, scale in zip(fields["emolake.layers"], fields["emolake.scale"], strict=True):
            assert scale == pytest.approx(norms[layer], rel=1e-6) and abs(scale - 1.0) > 1e-3  # not a unit vector
            original = expected.vectors[expected.layers.index(layer), e]
            assert np.allclose(directions[layer] / scale, original, atol=1e-6)
    # without --layers: the one layer `emolake steer` pushes (the preset's [steer] layers)
    code, _, err = cli(*args[:-1], tmp_path / "steering")
    assert code == 0, err
    directions, fields = export.read_gguf(tmp_path / "steering" / "calm.gguf")
    assert sorted(directions) == [1] and fields["emolake.layers"] == [1]


def test_bad_requests_are_one_line_errors(tiny_lake, cli, tmp_path):
    code, _, err = cli(
        "--lake", tiny_lake, "export", "--format", "npy", "--output", tmp_path / "x.npy", "--layers", "99"
    )
    assert code == 1 and "no" in err and "layers [99]" in err
    code, _, err = cli("--lake", tiny_lake, "export", "--format", "gguf", "--output", tmp_path / "x.gguf")
    assert code == 1 and "give a directory" in err
    code, _, err = cli("--lake", tiny_lake, "export", "--format", "gguf", "--output", tmp_path / "d", "--layers", "0")
    assert code == 1 and "layer 0" in err
