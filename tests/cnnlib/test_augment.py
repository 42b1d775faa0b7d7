"""Data augmentation: shifts, rotations, elastic distortion, noise."""
import numpy as np
import pytest

from cnnlib import augment as G


def _dot_image(h=9, w=9, row=4, col=4):
    img = np.zeros((1, h, w))
    img[0, row, col] = 1.0
    return img


# ---------------------------------------------------------------------------
# shifts
# ---------------------------------------------------------------------------

def test_shift_moves_a_dot_and_fills_with_zeros():
    out = G.shift_images(_dot_image(), (2, -3))          # 2 down, 3 left
    assert out[0, 6, 1] == 1.0 and out.sum() == 1.0
    img = np.arange(1, 13, dtype=float).reshape(1, 3, 4)
    np.testing.assert_array_equal(G.shift_images(img, (1, 1))[0], [[0, 0, 0, 0], [0, 1, 2, 3], [0, 5, 6, 7]])
    np.testing.assert_array_equal(G.shift_images(img, (0, 0)), img)
    np.testing.assert_array_equal(G.shift_images(img, (5, 0)), 0 * img)     # moved out entirely


def test_shift_per_image_and_with_channels(rng):
    x = rng.random((3, 2, 6, 7))
    offsets = np.array([[1, 0], [-2, 3], [0, -1]])
    out = G.shift_images(x, offsets)
    assert out.shape == x.shape
    for n, (down, right) in enumerate(offsets):
        expected = np.roll(x[n], (down, right), axis=(1, 2))
        if down > 0:
            expected[:, :down] = 0
        elif down < 0:
            expected[:, down:] = 0
        if right > 0:
            expected[:, :, :right] = 0
        elif right < 0:
            expected[:, :, right:] = 0
        np.testing.assert_array_equal(out[n], expected)
    with pytest.raises(ValueError, match=r"offsets must be integer .* got shape \(2, 2\)"):
        G.shift_images(x, offsets[:2])


def test_random_shift_is_some_shift_within_range(rng):
    x = rng.random((20, 8, 8)) + 0.5
    out = G.random_shift(x, 2, rng=0)
    for a, b in zip(x, out):
        candidates = [G.shift_images(a[None], (dy, dx))[0] for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(b, c) for c in candidates)
    np.testing.assert_array_equal(out, G.random_shift(x, 2, rng=0))


# ---------------------------------------------------------------------------
# bilinear sampling and rotations
# ---------------------------------------------------------------------------

def test_bilinear_sample_interpolates_and_reads_zero_outside():
    img = np.array([[[0.0, 1.0], [2.0, 3.0]]])
    rows = np.array([[[0.5, 0.0, -1.0, 0.25]]])
    cols = np.array([[[0.5, 0.5, 0.0, 1.5]]])
    out = G.bilinear_sample(img, rows, cols)
    # centre: mean of all four; half way along the top row; outside; half outside on the right
    np.testing.assert_allclose(out[0, 0], [1.5, 0.5, 0.0, 0.5 * (0.75 * 1 + 0.25 * 3)])


def test_rotation_by_zero_and_by_90_degrees(rng):
    x = rng.random((4, 9, 9))
    np.testing.assert_allclose(G.rotate_images(x, 0.0), x, atol=1e-15)
    # positive angles turn counter-clockwise, like np.rot90 (row 0 at the top)
    np.testing.assert_allclose(G.rotate_images(x, 90), np.rot90(x, 1, axes=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(G.rotate_images(x, [90, -90, 180, 270]),
                               [np.rot90(x[0]), np.rot90(x[1], -1), np.rot90(x[2], 2), np.rot90(x[3], 3)],
                               atol=1e-12)
    dot = G.rotate_images(_dot_image(row=1, col=4), 90)          # top centre -> left centre
    assert dot[0, 4, 1] == pytest.approx(1.0) and dot.sum() == pytest.approx(1.0)


def test_rotation_matches_scipy_when_installed(rng):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = rng.random((3, 28, 30))
    angles = np.array([7.5, -13.0, 41.0])
    expected = [ndimage.rotate(img, a, reshape=False, order=1, mode="grid-constant") for img, a in zip(x, angles)]
    np.testing.assert_allclose(G.rotate_images(x, angles), expected, atol=1e-12)
    rows, cols = rng.uniform(-3, 31, (2, 3, 10, 12))
    expected = [ndimage.map_coordinates(img, [r, c], order=1, mode="grid-constant")
                for img, r, c in zip(x, rows, cols)]
    np.testing.assert_allclose(G.bilinear_sample(x, rows, cols), expected, atol=1e-12)


def test_small_rotation_keeps_a_centred_digit_s_ink(rng):
    x = np.zeros((5, 28, 28))
    x[:, 8:20, 11:17] = rng.random((5, 12, 6))
    out = G.random_rotate(x, 10, rng=3)
    np.testing.assert_allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)), rtol=0.02)
    assert not np.allclose(out, x)


# ---------------------------------------------------------------------------
# elastic distortion, noise
# ---------------------------------------------------------------------------

def test_gaussian_smooth_matches_scipy_when_installed(rng):
    ndimage = pytest.importorskip("scipy.ndimage")
    fields = rng.uniform(-1, 1, (2, 28, 24))
    for sigma in (0.8, 4.0):
        expected = [ndimage.gaussian_filter(f, sigma, mode="constant") for f in fields]
        np.testing.assert_allclose(G.gaussian_smooth(fields, sigma), expected, atol=1e-12)


def test_gaussian_smooth_keeps_a_constant_away_from_the_border():
    out = G.gaussian_smooth(np.ones((1, 40, 40)), 2.0)
    np.testing.assert_allclose(out[0, 10:30, 10:30], 1.0, rtol=1e-12)
    assert out[0, 0, 0] < 0.5                                   # zeros outside the image


def test_elastic_deform_is_smooth_seeded_and_off_at_alpha_zero(rng):
    x = rng.random((3, 28, 28))
    np.testing.assert_allclose(G.elastic_deform(x, alpha=0.0, rng=0), x, atol=1e-15)
    a = G.elastic_deform(x, alpha=34, sigma=4, rng=1)
    np.testing.assert_array_equal(a, G.elastic_deform(x, alpha=34, sigma=4, rng=1))
    assert not np.allclose(a, x) and not np.allclose(a, G.elastic_deform(x, alpha=34, sigma=4, rng=2))
    # a smooth field moves pixels by at most a few pixels: a ramp stays close to a ramp
    ramp = np.tile(np.arange(28.0), (1, 28, 1))
    moved = G.elastic_deform(ramp, alpha=34, sigma=4, rng=5)
    assert np.abs(moved - ramp)[:, 6:-6, 6:-6].max() < 4


def test_add_noise_statistics_and_clip(rng):
    x = np.full((50, 20, 20), 0.5)
    out = G.add_noise(x, 0.1, rng=0)
    assert abs((out - x).std() - 0.1) < 0.005 and abs((out - x).mean()) < 0.005
    clipped = G.add_noise(x, 2.0, rng=0, clip=(0, 1))
    assert clipped.min() == 0 and clipped.max() == 1
    np.testing.assert_array_equal(G.add_noise(x, 0.0, rng=0), x)


# ---------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 28, 28), (6, 1, 28, 28), (6, 2, 32, 32)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_augment_keeps_shape_and_dtype_and_repeats_with_a_seed(shape, dtype, rng):
    x = rng.random(shape).astype(dtype)
    out = G.augment(x, rng=7, shift=2, rotate=10, noise=0.05, elastic=20)
    assert out.shape == x.shape and out.dtype == dtype
    np.testing.assert_array_equal(out, G.augment(x, rng=7, shift=2, rotate=10, noise=0.05, elastic=20))
    assert not np.array_equal(out, G.augment(x, rng=8, shift=2, rotate=10, noise=0.05, elastic=20))
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(out, G.augment(x, rng=gen, shift=2, rotate=10, noise=0.05, elastic=20))


def test_augment_channels_of_one_image_move_together(rng):
    x = np.repeat(rng.random((4, 1, 16, 16)), 3, axis=1)
    out = G.augment(x, rng=0, shift=3, rotate=20, elastic=10)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    np.testing.assert_array_equal(out[:, 0], out[:, 2])


def test_augment_with_everything_off_is_a_copy(rng):
    x = rng.random((2, 8, 8))
    out = G.augment(x, rng=0, shift=0, rotate=0, noise=0)
    np.testing.assert_array_equal(out, x)
    assert out is not x


def test_augment_shift_only_equals_random_shift(rng):
    x = rng.random((5, 10, 10))
    np.testing.assert_array_equal(G.augment(x, rng=3, shift=2, rotate=0), G.random_shift(x, 2, rng=3))


def test_augment_integer_images_and_errors(rng):
    x = rng.integers(0, 256, (2, 8, 8)).astype(np.uint8)
    out = G.augment(x, rng=0, clip=(0, 255))
    assert out.dtype == np.float64 and out.min() >= 0 and out.max() <= 255
    with pytest.raises(ValueError, match=r"images must be \(N, H, W\) or \(N, C, H, W\), got shape \(8, 8\)"):
        G.augment(x[0])
    with pytest.raises(ValueError, match="max_shift"):
        G.random_shift(x, 1.5)
    with pytest.raises(ValueError, match=r"one value per image, shape \(2,\)"):
        G.rotate_images(x, [1, 2, 3])
