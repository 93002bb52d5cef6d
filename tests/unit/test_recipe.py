"""One probe recipe (etl/probes/recipe.py): the probes stage and evaluate's held-out rebuilding read the same rows
and baseline and build the same probes from them, the degenerate baseline case included. Tiny arrays, no model."""

from dataclasses import replace

import numpy as np
import pytest

from etl import catalog
from etl.config import load_preset
from etl.errors import EmolakeError
from etl.lake import vectors
from etl.probes import recipe
from etl.probes.stored import StoredProbes
from etl.stages import evaluate
from etl.stages import probes as probes_stage

DIM = 12


def fake_lake(neutral: dict[str, int], seed: int = 0) -> tuple[list[dict], np.ndarray]:
    """Rows (meta, x) of a lake: stories and deflection dialogues of each emotion from `reference`, and `neutral`
    stories and dialogues per source."""
    rng = np.random.default_rng(seed)
    meta = []
    for corpus, segment in (("emotional_story", "text"), ("deflection_dialogue", "masking")):
        for emotion in catalog.select(preset().probes.common.emotions):
            for i in range(4):
                meta.append({"corpus": corpus, "source": "reference", "segment": segment, "emotion": emotion,
                             "topic": f"topic {i}", "text": f"{emotion} {i}", "n_tokens": 20 + i})  # fmt: skip
    for source, n in neutral.items():
        for corpus in ("neutral_story", "neutral_dialogue"):
            meta += [{"corpus": corpus, "source": source, "segment": "text", "emotion": None, "topic": "",
                      "text": "calm day", "n_tokens": 30} for _ in range(n)]  # fmt: skip
    return meta, rng.normal(size=(len(meta), DIM)).astype(np.float32)


def preset():
    return load_preset("tiny", lake="unused")


def install(monkeypatch, neutral: dict[str, int]) -> None:
    """Replaces the lake's vector reader (what the probes stage and evaluate both call) with the fake lake."""
    meta, x = fake_lake(neutral)

    def load(lake, model, layer, corpora, sources=None, segments=None):
        keep = [
            i
            for i, m in enumerate(meta)
            if m["corpus"] in corpora
            and (sources is None or m["source"] in sources)
            and (segments is None or m["segment"] in segments)
        ]
        return vectors.Vectors(meta=[meta[i] for i in keep], x=x[keep])

    monkeypatch.setattr(vectors, "load", load)


def config():
    return replace(preset().probes, kinds=("expression", "deflection"))


def stored(kind: str, built, config) -> StoredProbes:
    """The probe set as the lake would hand it back to evaluate, provenance included."""
    probe_set, counts, extra = built
    emotions = [e for e, n in zip(catalog.select(config.common.emotions), counts, strict=True) if n > 0]
    norm_kept = extra["norm_kept"]
    return StoredProbes(
        model="m",
        source="reference",
        kind=kind,
        layer=0,
        emotions=emotions,
        vectors=probe_set.vectors[counts > 0],
        center=probe_set.center,
        baseline_corpora=extra["meta"]["baseline_corpora"].split(","),
        baseline_variance=extra["meta"]["baseline_variance"],
        norm_kept=[None] * len(emotions) if norm_kept is None else [float(v) for v in norm_kept[counts > 0]],
        expression_space_variance=extra["meta"]["expression_space_variance"],
    )


def test_the_probes_stage_and_the_held_out_rebuild_build_identical_probes(monkeypatch):
    install(monkeypatch, {"reference": 5})
    cfg = config()
    expression = probes_stage.build_kind(None, "m", 0, "reference", "expression", cfg, None)
    expression_vectors = expression[0].vectors[expression[1] > 0]
    deflection = probes_stage.build_kind(None, "m", 0, "reference", "deflection", cfg, expression_vectors)
    sets = {"expression": stored("expression", expression, cfg), "deflection": stored("deflection", deflection, cfg)}
    assert deflection[2]["norm_kept"] is not None
    cache = evaluate.VectorCache(None, "m", 0, "reference")
    for kind, built in (("expression", expression), ("deflection", deflection)):
        probes = sets[kind]
        inputs = evaluate.kind_inputs(cache, kind, probes, sets["expression"])
        assert (inputs.exclude is not None) == (kind == "deflection")
        rebuilt = recipe.build(
            inputs.x, inputs.labels, len(probes.emotions), inputs.baseline, probes.baseline_variance, inputs.exclude
        )
        np.testing.assert_array_equal(rebuilt.vectors, probes.vectors)
        np.testing.assert_array_equal(rebuilt.center, built[0].center)
        if kind == "deflection":
            np.testing.assert_array_equal(rebuilt.norm_kept, built[2]["norm_kept"])

        # The held-out folds call that same recipe on their training rows, with the same baseline and excluded space.
        calls = []
        build = recipe.build

        def spy(x, labels, n, baseline, variance, exclude=None, _calls=calls, _build=build):
            _calls.append((baseline, variance, exclude))
            return _build(x, labels, n, baseline, variance, exclude)

        monkeypatch.setattr(recipe, "build", spy)
        assert evaluate.held_out_row(inputs, probes, folds=4, seed=0)["n_test"] == len(inputs.labels)
        monkeypatch.setattr(recipe, "build", build)
        assert calls
        for baseline, variance, exclude in calls:
            np.testing.assert_array_equal(baseline, inputs.baseline)
            assert variance == probes.baseline_variance
            assert (exclude is None) == (inputs.exclude is None)
            if exclude is not None:
                np.testing.assert_array_equal(exclude, inputs.exclude)


def test_a_source_with_one_baseline_text_falls_back_to_every_source_in_both(monkeypatch):
    install(monkeypatch, {"reference": 1, "local": 3})
    cfg = config()
    stage = probes_stage.baseline(None, "m", 0, "reference", cfg.baseline_corpora)
    assert len(stage) == 4  # the one reference text and local's three
    built = probes_stage.build_kind(None, "m", 0, "reference", "expression", cfg, None)
    inputs = evaluate.kind_inputs(
        evaluate.VectorCache(None, "m", 0, "reference"), "expression", stored("expression", built, cfg), None
    )
    np.testing.assert_array_equal(inputs.baseline, stage)


def test_fewer_than_two_baseline_texts_anywhere_raise_in_both(monkeypatch):
    install(monkeypatch, {"reference": 5})
    cfg = config()
    probes = stored("expression", probes_stage.build_kind(None, "m", 0, "reference", "expression", cfg, None), cfg)
    install(monkeypatch, {"reference": 1})
    with pytest.raises(EmolakeError, match="fewer than 2 baseline texts"):
        probes_stage.build_kind(None, "m", 0, "reference", "expression", cfg, None)
    with pytest.raises(EmolakeError, match="fewer than 2 baseline texts"):
        evaluate.kind_inputs(evaluate.VectorCache(None, "m", 0, "reference"), "expression", probes, None)


def test_a_probe_left_as_rounding_residue_becomes_zero():
    x = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 1, 2, 3])
    exclude = np.eye(3)[:2]  # the whole span of the probes
    built = recipe.build(x, labels, 4, np.zeros((2, 3)), 0.0, exclude)
    assert not built.vectors.any() and np.all(built.norm_kept < 1e-6)
