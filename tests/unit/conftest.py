"""Unit tests run no model: any attempt to load one fails the test that made it."""

import pytest


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    import etl.model.load

    def refuse(*args, **kwargs):
        raise AssertionError("a unit test tried to load a model: move it to tests/integration")

    monkeypatch.setattr(etl.model.load, "load", refuse)
    monkeypatch.setattr(etl.model.load, "load_model", refuse, raising=False)
