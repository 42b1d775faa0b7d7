"""The training recipe of ``make train-demo`` and the benchmark (cnnlib.demo)."""
import math

import numpy as np
import pytest

from cnnlib.demo import learning_rate, random_shifts, recipe_batches


def test_cosine_learning_rate_starts_at_lr_and_halves_midway():
    assert learning_rate(1, 10, 2e-3) == pytest.approx(2e-3)
    assert learning_rate(6, 10, 2e-3) == pytest.approx(1e-3)          # cos(pi/2) = 0
    assert learning_rate(10, 10, 2e-3) == pytest.approx(1e-3 * (1 + math.cos(0.9 * math.pi)))
    rates = [learning_rate(e, 15, 1.0) for e in range(1, 16)]
    assert all(a > b > 0 for a, b in zip(rates, rates[1:]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_shifts_moves_each_image_by_its_own_offset(dtype):
    rng = np.random.default_rng(0)
    images = rng.random((40, 2, 6, 7)).astype(dtype)
    shifted = random_shifts(images, 2, np.random.default_rng(5))
    assert shifted.shape == images.shape and shifted.dtype == dtype
    # Oracle: draw the same offsets, then shift one image at a time with slices.
    dy, dx = np.random.default_rng(5).integers(-2, 3, size=(2, len(images)))
    assert set(dy) == set(dx) == {-2, -1, 0, 1, 2}
    for n in range(len(images)):
        expected = np.zeros_like(images[n])
        h, w = images.shape[2:]
        expected[:, max(dy[n], 0):h + min(dy[n], 0), max(dx[n], 0):w + min(dx[n], 0)] = \
            images[n][:, max(-dy[n], 0):h - max(dy[n], 0), max(-dx[n], 0):w - max(dx[n], 0)]
        np.testing.assert_array_equal(shifted[n], expected)
    assert random_shifts(images, 0, rng) is images


def test_recipe_batches_visit_every_example_once_per_epoch_and_repeat_with_the_seed():
    X = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) + 1
    y = np.arange(10)
    batches = list(recipe_batches(X, y, epochs=3, batch_size=4, max_shift=0, seed=1))
    assert [e for e, _, _ in batches] == [1] * 3 + [2] * 3 + [3] * 3
    for epoch in (1, 2, 3):
        seen = np.concatenate([yb for e, _, yb in batches if e == epoch])
        assert sorted(seen) == list(range(10))
    for _, xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0, 0, 0], yb + 1)   # images stay with their labels
    again = list(recipe_batches(X, y, epochs=3, batch_size=4, max_shift=0, seed=1))
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(batches, again))
