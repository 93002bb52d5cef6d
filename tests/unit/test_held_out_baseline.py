"""The held-out baseline (#22 item 2): a fold is scored by probes whose neutral projection was built without that
fold's neutral texts, in every held-out rebuild (etl/probes/recipe.py). Tiny arrays, no model."""

import numpy as np

from etl.evaluation import classification, transfer
from etl.probes import recipe

N, PER, HIDDEN = 4, 6, 16


def domain(seed: int, signal: float = 5.0, folds: int = PER, baseline_folds: bool = True) -> transfer.Domain:
    """N emotions x PER texts, text i of each emotion in fold i; a neutral baseline of two texts per fold."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(N), PER)
    x = rng.normal(size=(N, HIDDEN))[labels] * signal + rng.normal(size=(len(labels), HIDDEN))
    baseline = rng.normal(size=(2 * folds, HIDDEN)) * 3
    owned = np.repeat(np.arange(folds), 2) if baseline_folds else None
    return transfer.Domain(x, labels, np.tile(np.arange(PER), N) % folds, baseline, 0.5, None, owned)


def test_a_folds_hits_do_not_depend_on_its_own_neutral_texts():
    data = domain(0, signal=1.0)
    before, _ = transfer.held_out_hits("expression", {"story": data}, "story", N, folds={2})
    changed = domain(0, signal=1.0)
    changed.baseline[changed.baseline_folds == 2] *= -40  # only fold 2's neutral texts
    after, _ = transfer.held_out_hits("expression", {"story": changed}, "story", N, folds={2})
    np.testing.assert_array_equal(before, after)
    # ... while a fold that trains on them sees the change: the baseline is used, not ignored.
    assert not np.allclose(data.part(N, {0}), changed.part(N, {0}))


def test_classification_leaves_the_held_out_folds_baseline_texts_out(monkeypatch):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(N), 4)
    x = rng.normal(size=(len(labels), HIDDEN)).astype(np.float32)
    topics = [f"register {i % 4}" for i in range(len(labels))]
    baseline = rng.normal(size=(8, HIDDEN))
    baseline_topics = [f"register {i % 4}" for i in range(8)]
    seen = []
    build = recipe.build

    def spy(x, labels, n, kept, variance, exclude=None, components=None):
        seen.append(kept)
        return build(x, labels, n, kept, variance, exclude, components)

    monkeypatch.setattr(recipe, "build", spy)
    classification.held_out(x, labels, topics, N, baseline, 0.5, 5, baseline_topics=baseline_topics)
    assert len(seen) == 4
    folds = recipe.fold_ids(baseline_topics, 5, topics)
    for fold, kept in enumerate(seen):
        np.testing.assert_array_equal(kept, baseline[folds != fold])


def test_baseline_texts_take_the_folds_of_the_labelled_texts():
    assert recipe.fold_ids(["chat", "email", "forum"], 5, ["email", "chat", "diary"]).tolist() == [0, 2, -1]
    many = [f"topic {i}" for i in range(40)]
    assert recipe.fold_ids(many[:3], 5, many).tolist() == recipe.fold_ids(many, 5)[:3].tolist()
    baseline = np.arange(6.0)[:, None]
    kept = recipe.held_out_baseline(baseline, np.array([0, 0, 1, 1, -1, 2]), [1])
    assert kept[:, 0].tolist() == [0, 1, 4, 5]
    # a tiny baseline keeps its texts rather than leaving fewer than MIN_BASELINE_TEXTS
    assert len(recipe.held_out_baseline(baseline[:3], np.array([0, 0, 1]), [0])) == 3
