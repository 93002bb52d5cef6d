"""The compute-precision policy: one choice per model spec, named in the extraction settings hash."""

from __future__ import annotations

import pytest

from etl.config import load_preset
from etl.errors import EmolakeError
from etl.lake.vectors import settings_hash
from etl.model import load as model_load


@pytest.fixture(autouse=True)
def fresh_choice():
    model_load.precision.cache_clear()
    yield
    model_load.precision.cache_clear()


def test_tiny_models_compute_in_float32(monkeypatch):
    monkeypatch.delenv("EMOLAKE_PRECISION", raising=False)
    monkeypatch.setattr(model_load, "native_bf16_cpu", lambda: True)
    assert model_load.precision("tiny-random") == "float32"
    assert model_load.precision("bundled:smollm2-135m-instruct") == "bfloat16"


def test_cpu_without_native_bf16_keeps_float32(monkeypatch):
    monkeypatch.delenv("EMOLAKE_PRECISION", raising=False)
    monkeypatch.setattr(model_load, "native_bf16_cpu", lambda: False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert model_load.precision("bundled:smollm2-135m-instruct") == "float32"


def test_environment_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("EMOLAKE_PRECISION", "float32")
    monkeypatch.setattr(model_load, "native_bf16_cpu", lambda: True)
    assert model_load.precision("bundled:smollm2-135m-instruct") == "float32"
    model_load.precision.cache_clear()
    monkeypatch.setenv("EMOLAKE_PRECISION", "bfloat16")
    assert model_load.precision("tiny-random") == "bfloat16"


def test_unknown_precision_is_one_line(monkeypatch):
    monkeypatch.setenv("EMOLAKE_PRECISION", "fp8")
    with pytest.raises(EmolakeError, match=r"EMOLAKE_PRECISION='fp8'.*auto, float32, bfloat16"):
        model_load.precision("tiny-random")


def test_precision_separates_stored_vectors():
    extract = load_preset("tiny").extract
    fp32 = settings_hash(extract, "tiny-random", "float32")
    assert fp32 == settings_hash(extract, "tiny-random")  # lakes from before the choice keep their hash
    assert settings_hash(extract, "tiny-random", "bfloat16") != fp32
