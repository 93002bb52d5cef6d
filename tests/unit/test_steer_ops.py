"""The steering operators on plain tensors: exact edits, masks by position, per-row vectors and strengths."""

import numpy as np
import pytest

from etl.errors import EmolakeError
from etl.model.steer import Intervention, apply, position_mask

torch = pytest.importorskip("torch")


def hidden_and_direction(batch=2, seq=5, width=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(batch, seq, width, generator=g)
    direction = torch.randn(width, generator=g).numpy()
    return hidden, direction / np.linalg.norm(direction)


def test_add_moves_every_masked_position_by_strength_times_norm_times_vector():
    hidden, v = hidden_and_direction()
    mask = torch.tensor([True, True, False, True, False])
    out = apply(hidden, Intervention(0, v, 0.75, norm=3.0), mask)
    expected = torch.zeros_like(hidden)
    expected[:, mask] = torch.tensor(0.75 * 3.0 * v, dtype=hidden.dtype)
    torch.testing.assert_close(out - hidden, expected, atol=1e-6, rtol=0)
    assert torch.equal(out[:, ~mask], hidden[:, ~mask])


def test_ablate_leaves_no_component_along_the_vector():
    hidden, v = hidden_and_direction()
    out = apply(hidden, Intervention(0, v * 5, operator="ablate"), torch.ones(5, dtype=torch.bool))
    assert (out @ torch.tensor(v, dtype=out.dtype)).abs().max() < 1e-5
    residual = hidden - out
    cos = (residual @ torch.tensor(v, dtype=out.dtype)) / residual.norm(dim=-1)
    torch.testing.assert_close(cos.abs(), torch.ones_like(cos), atol=1e-5, rtol=0)


def test_add_normalised_keeps_each_norm_and_turns_toward_the_vector():
    hidden, v = hidden_and_direction()
    out = apply(hidden, Intervention(0, v, 2.0, norm=4.0, operator="add_normalised"), torch.ones(5, dtype=torch.bool))
    torch.testing.assert_close(out.norm(dim=-1), hidden.norm(dim=-1), atol=1e-5, rtol=1e-5)
    vt = torch.tensor(v, dtype=out.dtype)
    assert bool(((out @ vt) / out.norm(dim=-1) > (hidden @ vt) / hidden.norm(dim=-1)).all())


def test_one_vector_and_strength_per_row():
    hidden, v = hidden_and_direction(batch=3)
    _, w = hidden_and_direction(seed=1)
    vectors = np.stack([v, w, v])
    strengths = np.array([1.0, 2.0, 0.0])
    out = apply(hidden, Intervention(0, vectors, strengths, norm=1.0), torch.ones(5, dtype=torch.bool))
    for row, (vec, s) in enumerate(zip(vectors, strengths, strict=True)):
        torch.testing.assert_close(
            out[row] - hidden[row], torch.tensor(s * vec, dtype=out.dtype).expand(5, -1), atol=1e-6, rtol=0
        )


def test_mismatched_rows_and_bad_settings_are_refused():
    hidden, v = hidden_and_direction(batch=2)
    with pytest.raises(EmolakeError, match="steering vectors have 3 rows but the batch has 2"):
        apply(hidden, Intervention(0, np.stack([v, v, v]), 1.0), torch.ones(5, dtype=torch.bool))
    with pytest.raises(EmolakeError, match="operator 'scale' is unknown"):
        Intervention(0, v, operator="scale")
    with pytest.raises(EmolakeError, match="must be positive"):
        Intervention(0, v, norm=0.0)


def test_position_masks():
    assert position_mask("all", 0, 4, 2).tolist() == [True] * 4
    assert position_mask("prompt", 0, 4, 2).tolist() == [True, True, False, False]
    assert position_mask("generated", 0, 4, 2).tolist() == [False, False, True, True]
    assert position_mask("generated", 6, 1, 6).tolist() == [True]
    assert position_mask("prompt", 6, 1, 6).tolist() == [False]
