"""Histogram of Oriented Gradients (HOG) features, vectorised over stacks of images.

The pipeline of Dalal & Triggs (2005), with the conventions of
``skimage.feature.hog`` so that both give the same numbers:

1. ``image_gradients``   -- [-1, 0, 1] differences, magnitude and unsigned angle
2. ``cell_histograms``   -- each pixel votes its magnitude into one angle bin
3. ``normalize_blocks``  -- overlapping blocks of cells, contrast-normalised
4. ``hog``               -- the three steps above, flattened to a feature vector

``hog_image`` draws the cell histograms as the familiar "star" picture.

Every step accepts leading batch dimensions ``(N, ...)``, so ``hog`` on a stack
``(N, H, W)`` runs without a Python loop over the images (it works through
the stack in slabs of a few hundred small images, each slab vectorised, to keep
its temporaries small). The ``*_reference``
functions are the plain loop versions (one image, as on the lecture slide) that
the tests compare the fast ones against.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import pair

__all__ = [
    "BLOCK_NORMS",
    "hog",
    "image_gradients",
    "cell_histograms",
    "normalize_blocks",
    "hog_image",
    "hog_reference",
    "cell_histograms_reference",
    "normalize_blocks_reference",
]

#: Block normalisation methods understood by ``normalize_blocks`` and ``hog``.
BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")

# hog() works through a stack in slabs of this many pixels: small temporaries (2 MB of float64)
_PIXELS_PER_SLAB = 2**18

# L2-Hys clips every normalised entry at this value before renormalising
# (Dalal & Triggs 2005, section 6.4; the same constant as skimage).
_HYS_CLIP = 0.2


# --------------------------------------------------------------------------
# argument checks shared by the public functions
# --------------------------------------------------------------------------

def _pair(value, name):
    """``value`` as a pair of positive Python ints (the library's rule, :func:`cnnlib._checks.pair`)."""
    return pair(value, name, minimum=1)


def _check_orientations(orientations):
    if isinstance(orientations, bool) or not isinstance(orientations, numbers.Integral) or orientations < 1:
        raise ValueError(f"orientations must be an integer >= 1 (number of angle bins), got {orientations!r}")
    return int(orientations)


def _check_method(method):
    if method not in BLOCK_NORMS:
        raise ValueError(f"unknown block_norm {method!r}; valid methods are {', '.join(map(repr, BLOCK_NORMS))}")
    return method


def _as_real_array(array, name):
    array = np.asarray(array)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def _working_float(dtype):
    """Float type skimage computes gradients in: float32 for float16/32, else float64."""
    if np.issubdtype(dtype, np.floating) and np.dtype(dtype).itemsize <= 4:
        return np.float32
    return np.float64


# --------------------------------------------------------------------------
# 1. gradients
# --------------------------------------------------------------------------

def image_gradients(image):
    """Gradient magnitude and unsigned orientation with the [-1, 0, 1] filter.

    ``g_row[i, j] = image[i+1, j] - image[i-1, j]`` and
    ``g_col[i, j] = image[i, j+1] - image[i, j-1]`` (central differences
    *without* the usual halving); the first and last row of ``g_row`` and the
    first and last column of ``g_col`` are 0 (Dalal & Triggs 2005, sec. 6.2).

    Parameters
    ----------
    image : (..., H, W) array_like
        Grayscale image, or any stack of them (leading batch dimensions).
        Integer and boolean input is converted to float64 first. Float16/32
        input is differenced in float32, exactly as ``skimage.feature.hog``
        does, and only then converted to float64.

    Returns
    -------
    magnitude : (..., H, W) ndarray of float64
        ``sqrt(g_row**2 + g_col**2)`` (skimage's ``hypot``, to the last bit
        or one below it).
    orientation : (..., H, W) ndarray of float64
        Unsigned angle in degrees, ``rad2deg(arctan2(g_row, g_col)) % 180``:
        an edge and its reverse get the same angle. 0 means the intensity
        grows to the right (a horizontal ramp), 90 that it grows downwards
        (rows are the first axis). A pixel with zero gradient has angle 0.
        The values lie in [0, 180) except in one floating-point corner case
        kept for compatibility with skimage: a tiny negative angle such as
        -1e-15 degrees rounds to exactly 180.0 in the remainder, and
        ``cell_histograms`` then drops that pixel's vote, as skimage does.

    Raises
    ------
    ValueError
        If ``image`` has fewer than 2 dimensions or is not real-valued.

    References
    ----------
    Dalal, N. and Triggs, B. (2005). Histograms of Oriented Gradients for
    Human Detection. CVPR 2005, sec. 6.2 (gradient computation: the plain
    [-1, 0, 1] mask without smoothing works best).

    Examples
    --------
    >>> ramp = np.tile(np.arange(5.0), (4, 1))    # grows to the right
    >>> magnitude, orientation = image_gradients(ramp)
    >>> magnitude[1]
    array([0., 2., 2., 2., 0.])
    >>> orientation[1]
    array([0., 0., 0., 0., 0.])
    >>> image_gradients(ramp.T)[1][1, 1]           # grows downwards
    np.float64(90.0)
    """
    image = _as_real_array(image, "image")
    if image.ndim < 2:
        raise ValueError(f"image_gradients expects an image (H, W) or a stack (..., H, W), got shape {image.shape}")
    g_row, g_col = _gradients(image)
    magnitude = _magnitude(g_row, g_col)
    # arctan2 is skipped where the gradient is zero (its answer would be 0 or
    # +-180, i.e. 0 after folding), which is most of the pixels of a digit image.
    flag = (g_row != 0) | (g_col != 0)
    orientation = np.zeros_like(magnitude)
    np.arctan2(g_row, g_col, out=orientation, where=flag)
    _unsigned_degrees(orientation)
    return magnitude, orientation


def _gradients(image):
    """``(g_row, g_col)`` of :func:`image_gradients` as float64, computed in
    skimage's working precision (float32 for float16/32 images)."""
    height, width = image.shape[-2:]
    stack = image.reshape((math.prod(image.shape[:-2]), height, width))
    return tuple(g.reshape(image.shape).astype(np.float64, copy=False)
                 for g in _cell_gradients(stack, height, width))


def _cell_gradients(stack, rows, cols):
    """``(g_row, g_col)`` of :func:`image_gradients` for the first ``rows`` x ``cols``
    pixels of each image of ``stack`` (N, H, W), as contiguous arrays in
    skimage's working precision: the differences written straight into
    place, with zeros only on the border, instead of full-size arrays cropped."""
    image = stack.astype(_working_float(stack.dtype), copy=False)
    n, height, width = image.shape
    g_row = np.empty((n, rows, cols), dtype=image.dtype)
    g_col = np.empty((n, rows, cols), dtype=image.dtype)
    # rows 1 .. inner_rows - 1 have a neighbour on both sides; the others are 0
    inner_rows, inner_cols = min(rows, height - 1), min(cols, width - 1)
    g_row[:, :1] = 0
    g_row[:, max(inner_rows, 1):] = 0
    if inner_rows > 1:
        np.subtract(image[:, 2:inner_rows + 1, :cols], image[:, :inner_rows - 1, :cols],
                    out=g_row[:, 1:inner_rows])
    g_col[:, :, :1] = 0
    g_col[:, :, max(inner_cols, 1):] = 0
    if inner_cols > 1:
        np.subtract(image[:, :rows, 2:inner_cols + 1], image[:, :rows, :inner_cols - 1],
                    out=g_col[:, :, 1:inner_cols])
    return g_row, g_col


def _magnitude(g_row, g_col):
    """``sqrt(g_row**2 + g_col**2)``. skimage takes hypot(g_col, g_row); the plain
    formula agrees to the last bit or one below it (for |gradient| in
    [1e-150, 1e150]) and is faster."""
    magnitude = np.multiply(g_row, g_row)
    magnitude += np.multiply(g_col, g_col)
    np.sqrt(magnitude, out=magnitude)
    return magnitude


_DEGREES_PER_RADIAN = 180.0 / np.pi


def _unsigned_degrees(angle):
    """In place: radians from arctan2 in [-pi, pi] to skimage's
    ``rad2deg(angle) % 180``, bit for bit (the bin of a pixel is decided by exact
    comparisons, so the angle must match to the last bit).

    ``% 180`` is done exactly as np.remainder but without its slow fmod:
    180 -> 0, negatives + 180 (a tiny negative angle rounds to 180.0 there
    just as in np.remainder), the rest unchanged (x + 0.0 == x).
    """
    # np.rad2deg is this product bit for bit, but a plain multiplication is vectorised
    np.multiply(angle, _DEGREES_PER_RADIAN, out=angle)
    exactly_180 = np.flatnonzero(angle == 180)
    angle += np.multiply(angle < 0, 180.0)
    angle.flat[exactly_180] = 0
    return angle


# --------------------------------------------------------------------------
# 2. cell histograms
# --------------------------------------------------------------------------

@functools.cache
def _division_is_exact(orientations, span=64):
    """True if ``floor(angle / width)`` follows the edges ``k * width`` for every angle.

    Far from an edge the rounded quotient cannot cross an integer, so it is
    enough to try every double within ``span`` ulps of each edge. Holds for
    e.g. 4, 6, 8, 9, 12, 18 bins; fails for e.g. 7 (``3 * width`` itself
    divides to just below 3).
    """
    width = 180.0 / orientations
    for k in range(1, orientations + 1):
        edge = width * k
        nearby = (np.float64(edge).view(np.int64) + np.arange(-span, span + 1)).view(np.float64)
        guess = np.floor(np.fmin(nearby / width, orientations))
        if not np.array_equal(guess, np.where(nearby >= edge, k, k - 1)):
            return False
    return True


def _bin_slot(orientation, orientations):
    """Slot of each angle: ``k + 2`` for bin ``k``, where ``edge[k] <= angle < edge[k+1]``.

    ``edge[k] = k * (180 / orientations)``, the very products skimage compares
    with. Angles outside ``[edge[0], edge[-1])`` (180.0, negative, too large,
    NaN) get slot 1 or ``orientations + 2``, both discarded by the caller, so
    those pixels vote nowhere.
    """
    width = 180.0 / orientations
    guess = orientation / width
    np.fmax(guess, -1, out=guess)            # fmax/fmin also move NaN into range
    np.fmin(guess, orientations, out=guess)
    np.floor(guess, out=guess)
    index = guess.astype(np.intp)            # in [-1, orientations]
    if not _division_is_exact(orientations):
        # The rounded quotient can land one bin off right next to an edge:
        # one step of correction against the edges themselves.
        index -= orientation < index * width
        index += orientation >= (index + 1) * width
    index += 2
    return index


def cell_histograms(magnitude, orientation, pixels_per_cell=(8, 8), orientations=9):
    """Histogram of gradient orientations in every cell, hard binning.

    The image is cut into cells of ``pixels_per_cell`` pixels, starting at the
    top-left corner; rows and columns left over at the bottom and right (a
    partial cell) are ignored. The angle range [0, 180) is split into
    ``orientations`` bins of width ``w = 180 / orientations``; a pixel with
    angle ``a`` adds its magnitude to bin ``k`` when ``k*w <= a < (k+1)*w``
    (left edge included, right edge excluded, no interpolation between bins
    or cells). Each cell's histogram is divided by the number of pixels in
    a cell, i.e. it is the mean vote -- the convention of skimage.

    Parameters
    ----------
    magnitude, orientation : (..., H, W) array_like
        Output of ``image_gradients`` (orientation in degrees).
    pixels_per_cell : (int, int) or int
        Cell size ``(c_row, c_col)`` in pixels.
    orientations : int
        Number of angle bins.

    Returns
    -------
    hist : (..., n_cells_row, n_cells_col, orientations) ndarray of float64
        ``n_cells_row = H // c_row`` and ``n_cells_col = W // c_col``.

    Raises
    ------
    ValueError
        If the two inputs differ in shape, are not at least 2-D, the image is
        smaller than one cell, or a size is below 1.
    TypeError
        If a size is not an int or a pair of ints.

    Notes
    -----
    skimage sums each cell in single precision (a C ``float``); this function
    sums in double precision, so the two agree to about 1e-7 relative, not
    bit for bit. Angles at or above the last edge ``orientations * w`` (only
    180.0, or for ``orientations=39`` also [179.99999999999997, 180) because
    ``w * 39`` rounds below 180) fall in no bin, exactly as in skimage.

    References
    ----------
    Dalal, N. and Triggs, B. (2005). Histograms of Oriented Gradients for
    Human Detection. CVPR 2005, sec. 6.3 (orientation binning).

    Examples
    --------
    >>> magnitude = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> orientation = np.array([[0.0, 19.9], [20.0, 179.0]])   # 9 bins of 20 degrees
    >>> cell_histograms(magnitude, orientation, pixels_per_cell=(2, 2))[0, 0]
    array([0.75, 0.75, 0.  , 0.  , 0.  , 0.  , 0.  , 0.  , 1.  ])
    """
    magnitude = _as_real_array(magnitude, "magnitude").astype(np.float64, copy=False)
    orientation = _as_real_array(orientation, "orientation").astype(np.float64, copy=False)
    if magnitude.shape != orientation.shape:
        raise ValueError(
            f"magnitude and orientation must have the same shape, got {magnitude.shape} and {orientation.shape}"
        )
    if magnitude.ndim < 2:
        raise ValueError(f"cell_histograms expects (..., H, W) arrays, got shape {magnitude.shape}")
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    orientations = _check_orientations(orientations)

    *batch, height, width = magnitude.shape
    n_cells_row, n_cells_col = height // c_row, width // c_col
    if n_cells_row == 0 or n_cells_col == 0:
        raise ValueError(
            f"image of shape {(height, width)} is smaller than one cell of {(c_row, c_col)} pixels"
        )
    # Drop the partial cells at the bottom and right, then give every pixel
    # the flat index of the (image, cell, bin) slot its vote goes to.
    crop = (..., slice(0, n_cells_row * c_row), slice(0, n_cells_col * c_col))
    magnitude, orientation = magnitude[crop], orientation[crop]
    n_images = math.prod(batch)
    n_slots = orientations + 4          # 2 + 2 extra slots collect votes that land in no bin

    slot = _bin_slot(orientation, orientations)
    slot += _first_slots(n_images, (n_cells_row, n_cells_col), (c_row, c_col), n_slots).reshape(slot.shape)
    n_cells_total = n_images * n_cells_row * n_cells_col
    sums = np.bincount(slot.ravel(), weights=magnitude.ravel(), minlength=n_cells_total * n_slots)
    sums = sums.reshape(tuple(batch) + (n_cells_row, n_cells_col, n_slots))[..., 2:orientations + 2]
    return sums / (c_row * c_col)


def _first_slots(n_images, n_cells, cell, n_slots):
    """``(image * cells_per_image + cell) * n_slots`` for every pixel of every image's
    whole cells: the flat index of the pixel's cell histogram in a
    (n_images, n_cells_row, n_cells_col, n_slots) array; shape (n_images, H', W')."""
    (n_cells_row, n_cells_col), (c_row, c_col) = n_cells, cell
    cell_of_pixel = (
        (np.arange(n_cells_row) * n_cells_col).repeat(c_row)[:, None]
        + np.arange(n_cells_col).repeat(c_col)[None, :]
    )                                                        # (H', W')
    first_slot_of_image = np.arange(n_images) * (n_cells_row * n_cells_col * n_slots)
    return first_slot_of_image[:, None, None] + cell_of_pixel * n_slots


def _slab_histograms(slab, n_cells, cell, orientations, first_slots):
    """:func:`cell_histograms` of :func:`image_gradients` of a stack (N, H, W), the
    two fused, with the same numbers: only the pixels whose gradient is not
    zero (a minority in a digit image) get an angle, a magnitude and a vote.
    ``first_slots`` is :func:`_first_slots` for this stack (reused between slabs)."""
    (n_cells_row, n_cells_col), (c_row, c_col) = n_cells, cell
    g_row, g_col = _cell_gradients(slab, n_cells_row * c_row, n_cells_col * c_col)
    moving = g_row != 0
    moving |= g_col != 0
    # The positions once, then three gathers: a boolean mask per array would scan the mask each time.
    # The float64 cast only for the moving pixels (exact, as before the gather).
    moving = np.flatnonzero(moving)
    g_row = g_row.ravel().take(moving).astype(np.float64, copy=False)
    g_col = g_col.ravel().take(moving).astype(np.float64, copy=False)
    magnitude = _magnitude(g_row, g_col)
    angle = _unsigned_degrees(np.arctan2(g_row, g_col))
    slot = _bin_slot(angle, orientations)
    slot += first_slots.ravel().take(moving)
    n_slots = orientations + 4
    sums = np.bincount(slot, weights=magnitude, minlength=first_slots.size // (c_row * c_col) * n_slots)
    sums = sums.reshape(len(slab), n_cells_row, n_cells_col, n_slots)[..., 2:orientations + 2]
    return sums / (c_row * c_col)


def cell_histograms_reference(magnitude, orientation, pixels_per_cell=(8, 8), orientations=9):
    """Loop version of ``cell_histograms`` for one image, as on the lecture slide.

    Parameters
    ----------
    magnitude, orientation : (H, W) array_like
    pixels_per_cell : (int, int)
    orientations : int

    Returns
    -------
    hist : (H // c_row, W // c_col, orientations) ndarray of float64
    """
    magnitude = np.asarray(magnitude, dtype=np.float64)
    orientation = np.asarray(orientation, dtype=np.float64)
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    width = 180.0 / orientations
    n_cells_row, n_cells_col = magnitude.shape[0] // c_row, magnitude.shape[1] // c_col
    hist = np.zeros((n_cells_row, n_cells_col, orientations))
    for i in range(n_cells_row):
        for j in range(n_cells_col):
            for r in range(i * c_row, (i + 1) * c_row):
                for c in range(j * c_col, (j + 1) * c_col):
                    for k in range(orientations):
                        if width * k <= orientation[r, c] < width * (k + 1):
                            hist[i, j, k] += magnitude[r, c]
            hist[i, j] /= c_row * c_col
    return hist


# --------------------------------------------------------------------------
# 3. block normalisation
# --------------------------------------------------------------------------

def _normalize(blocks, method, eps):
    """Normalise each block over its last three axes (b_row, b_col, orientations)."""
    axes = (-3, -2, -1)
    if method == "L1":
        return blocks / (np.sum(np.abs(blocks), axis=axes, keepdims=True) + eps)
    if method == "L1-sqrt":
        return np.sqrt(blocks / (np.sum(np.abs(blocks), axis=axes, keepdims=True) + eps))
    out = blocks / np.sqrt(np.sum(blocks**2, axis=axes, keepdims=True) + eps**2)
    if method == "L2-Hys":
        out = np.minimum(out, _HYS_CLIP)
        out = out / np.sqrt(np.sum(out**2, axis=axes, keepdims=True) + eps**2)
    return out


def normalize_blocks(hist, cells_per_block=(3, 3), method="L2-Hys", eps=1e-5):
    """Group cells into overlapping blocks and contrast-normalise each block.

    A block is ``cells_per_block`` neighbouring cells; blocks start at every
    cell (stride one cell), so each cell appears in up to ``b_row * b_col``
    blocks with a different normalisation each time. With ``v`` the block's
    histograms and ``eps = 1e-5`` (skimage's value):

    - ``"L1"``:      ``v / (sum|v| + eps)``
    - ``"L1-sqrt"``: ``sqrt(v / (sum|v| + eps))``
    - ``"L2"``:      ``v / sqrt(sum v**2 + eps**2)``
    - ``"L2-Hys"``:  L2, then ``min(v, 0.2)``, then L2 again.

    Parameters
    ----------
    hist : (..., n_cells_row, n_cells_col, orientations) array_like
        Output of ``cell_histograms``.
    cells_per_block : (int, int) or int
        Block size ``(b_row, b_col)`` in cells.
    method : {"L1", "L1-sqrt", "L2", "L2-Hys"}
        Normalisation, see above.
    eps : float
        Keeps empty (all-zero) blocks finite.

    Returns
    -------
    blocks : (..., n_blocks_row, n_blocks_col, b_row, b_col, orientations) ndarray of float64
        ``n_blocks_row = n_cells_row - b_row + 1`` (likewise for columns);
        the layout of ``skimage.feature.hog(..., feature_vector=False)``.

    Raises
    ------
    ValueError
        If there are fewer cells than one block, ``hist`` is not at least 3-D,
        or ``method`` is unknown.

    References
    ----------
    Dalal, N. and Triggs, B. (2005). Histograms of Oriented Gradients for
    Human Detection. CVPR 2005, sec. 6.4 (block normalisation schemes).

    Examples
    --------
    >>> hist = np.ones((3, 4, 2))                    # 3x4 cells, 2 bins each
    >>> blocks = normalize_blocks(hist, (2, 2), method="L1")
    >>> blocks.shape                                 # 2x3 blocks of 2x2 cells
    (2, 3, 2, 2, 2)
    >>> round(float(blocks[0, 0, 0, 0, 0]), 6)       # 1 / (8 + 1e-5)
    0.125
    """
    hist = _as_real_array(hist, "hist").astype(np.float64, copy=False)
    if hist.ndim < 3:
        raise ValueError(
            f"normalize_blocks expects hist of shape (..., n_cells_row, n_cells_col, orientations), got {hist.shape}"
        )
    b_row, b_col = _pair(cells_per_block, "cells_per_block")
    method = _check_method(method)
    n_cells_row, n_cells_col = hist.shape[-3:-1]
    if n_cells_row < b_row or n_cells_col < b_col:
        raise ValueError(
            f"a grid of {(n_cells_row, n_cells_col)} cells is smaller than one block of {(b_row, b_col)} cells"
        )
    # windows: (..., n_blocks_row, n_blocks_col, orientations, b_row, b_col), a view
    windows = sliding_window_view(hist, (b_row, b_col), axis=(-3, -2))
    blocks = np.moveaxis(windows, -3, -1)
    return _normalize(blocks, method, eps)


def normalize_blocks_reference(hist, cells_per_block=(3, 3), method="L2-Hys", eps=1e-5):
    """Loop version of ``normalize_blocks`` for one image's ``(n_cells_row, n_cells_col, orientations)``."""
    hist = np.asarray(hist, dtype=np.float64)
    b_row, b_col = _pair(cells_per_block, "cells_per_block")
    method = _check_method(method)
    n_blocks_row = hist.shape[0] - b_row + 1
    n_blocks_col = hist.shape[1] - b_col + 1
    out = np.zeros((n_blocks_row, n_blocks_col, b_row, b_col, hist.shape[2]))
    for r in range(n_blocks_row):
        for c in range(n_blocks_col):
            v = hist[r:r + b_row, c:c + b_col, :]
            if method == "L1":
                out[r, c] = v / (np.abs(v).sum() + eps)
            elif method == "L1-sqrt":
                out[r, c] = np.sqrt(v / (np.abs(v).sum() + eps))
            else:
                v = v / np.sqrt((v**2).sum() + eps**2)
                if method == "L2-Hys":
                    v = np.minimum(v, _HYS_CLIP)
                    v = v / np.sqrt((v**2).sum() + eps**2)
                out[r, c] = v
    return out


# --------------------------------------------------------------------------
# visualisation
# --------------------------------------------------------------------------

def _line_pixels(r0, c0, r1, c1):
    """Pixels of the digital line from (r0, c0) to (r1, c1), both ends included.

    Bresenham's algorithm: walk one pixel at a time along the axis with the
    larger extent, and step along the other axis whenever the accumulated
    error says the ideal line has moved half a pixel or more. Returns the
    same pixels, in the same order, as ``skimage.draw.line``.
    """
    along_rows = abs(r1 - r0) > abs(c1 - c0)           # steep: walk along rows
    if along_rows:                                      # swap roles of rows and columns
        r0, c0, r1, c1 = c0, r0, c1, r1
    n_steps, rise = abs(c1 - c0), abs(r1 - r0)
    step_c = 1 if c1 > c0 else -1
    step_r = 1 if r1 > r0 else -1
    rows, cols = [], []
    r, c = r0, c0
    error = 2 * rise - n_steps
    for _ in range(n_steps):
        rows.append(r)
        cols.append(c)
        while error >= 0:
            r += step_r
            error -= 2 * n_steps
        c += step_c
        error += 2 * rise
    rows.append(r1)
    cols.append(c1)
    if along_rows:
        rows, cols = cols, rows
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def hog_image(hist, pixels_per_cell=(8, 8), image_shape=None):
    """Draw cell histograms as line segments: the classic HOG picture.

    For every cell and orientation bin ``k`` a line of (half-)length
    ``radius = min(c_row, c_col) // 2 - 1`` is drawn through the cell centre
    ``(c_row // 2, c_col // 2)``, perpendicular to the bin's middle angle
    ``pi * (k + 0.5) / orientations`` (so it runs along the edge, not the
    gradient), and the bin's value is added to its pixels. The end points are
    truncated to integers and joined with Bresenham's line, as in
    ``skimage.feature.hog(..., visualize=True)``. Cells of one pixel side
    have ``radius = -1`` and their lines reach into the neighbouring cells;
    pixels that would fall outside the picture are dropped (skimage raises
    IndexError in that case).

    Parameters
    ----------
    hist : (..., n_cells_row, n_cells_col, orientations) array_like
        Cell histograms (``cell_histograms``), before block normalisation.
    pixels_per_cell : (int, int) or int
        Cell size used to compute ``hist``.
    image_shape : (int, int), optional
        ``(H, W)`` of the picture; the default is the area covered by cells,
        ``(n_cells_row * c_row, n_cells_col * c_col)``. Pixels of a partial
        cell stay 0.

    Returns
    -------
    picture : (..., H, W) ndarray of float64

    Raises
    ------
    ValueError
        If ``hist`` is not at least 3-D or ``image_shape`` cannot hold the cells.

    References
    ----------
    Dalal, N. and Triggs, B. (2005). Histograms of Oriented Gradients for
    Human Detection. CVPR 2005 (fig. 6 shows such pictures).

    Examples
    --------
    >>> hist = np.zeros((1, 1, 4))
    >>> hist[0, 0, 0] = 1.0        # bin 0-45 degrees: drawn across its 22.5-degree middle
    >>> hog_image(hist, pixels_per_cell=(8, 8)).astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 1, 0, 0],
           [0, 0, 0, 0, 1, 0, 0, 0],
           [0, 0, 0, 0, 1, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 1, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0]])
    """
    hist = _as_real_array(hist, "hist").astype(np.float64, copy=False)
    if hist.ndim < 3:
        raise ValueError(
            f"hog_image expects hist of shape (..., n_cells_row, n_cells_col, orientations), got {hist.shape}"
        )
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    *batch, n_cells_row, n_cells_col, orientations = hist.shape
    if image_shape is None:
        image_shape = (n_cells_row * c_row, n_cells_col * c_col)
    height, width = (int(s) for s in image_shape)
    if height < n_cells_row * c_row or width < n_cells_col * c_col:
        raise ValueError(
            f"image_shape {(height, width)} cannot hold {(n_cells_row, n_cells_col)} cells of {(c_row, c_col)} pixels"
        )
    picture = np.zeros(tuple(batch) + (height, width))

    radius = min(c_row, c_col) // 2 - 1
    cell_top = np.arange(n_cells_row) * c_row
    cell_left = np.arange(n_cells_col) * c_col
    for k in range(orientations):
        middle = np.pi * (k + 0.5) / orientations
        d_row = radius * np.sin(middle)       # skimage's names: the line is
        d_col = radius * np.cos(middle)       # perpendicular to the bin angle
        # End points in absolute pixels, truncated toward zero like Python's int().
        row_start = np.trunc(cell_top + c_row // 2 - d_col).astype(np.intp) - cell_top
        row_end = np.trunc(cell_top + c_row // 2 + d_col).astype(np.intp) - cell_top
        col_start = np.trunc(cell_left + c_col // 2 + d_row).astype(np.intp) - cell_left
        col_end = np.trunc(cell_left + c_col // 2 - d_row).astype(np.intp) - cell_left
        # Relative to its cell every line has the same end points, except (for
        # 1-pixel cells) in the first row/column of cells where truncation and
        # floor differ; group cells by their relative end points.
        row_groups = _groups(row_start, row_end)
        col_groups = _groups(col_start, col_end)
        for (r0, r1), rows_in_group in row_groups:
            for (c0, c1), cols_in_group in col_groups:
                line_rows, line_cols = _line_pixels(r0, c0, r1, c1)
                votes = hist[..., rows_in_group[:, None], cols_in_group[None, :], k]
                for dr, dc in zip(line_rows, line_cols):
                    # One pixel per cell in each add, so fancy-index += is safe.
                    # With 1-pixel cells a line can leave the picture (skimage
                    # raises IndexError there); such pixels are dropped.
                    rows = cell_top[rows_in_group] + dr
                    cols = cell_left[cols_in_group] + dc
                    keep_rows = (rows >= 0) & (rows < height)
                    keep_cols = (cols >= 0) & (cols < width)
                    picture[(...,) + np.ix_(rows[keep_rows], cols[keep_cols])] += (
                        votes[..., keep_rows, :][..., keep_cols]
                    )
    return picture


def _groups(starts, ends):
    """Group cell indices by their (start, end) pair: [((start, end), indices), ...]."""
    pairs = np.stack([starts, ends], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return [((int(s), int(e)), np.flatnonzero(inverse == g)) for g, (s, e) in enumerate(unique)]


# --------------------------------------------------------------------------
# 4. the whole descriptor
# --------------------------------------------------------------------------

def hog(
    image,
    orientations=9,
    pixels_per_cell=(8, 8),
    cells_per_block=(3, 3),
    block_norm="L2-Hys",
    visualize=False,
    feature_vector=True,
    *,
    transform_sqrt=False,
):
    """Histogram of Oriented Gradients of a grayscale image or a stack of them.

    Gradients (``image_gradients``), per-cell orientation histograms
    (``cell_histograms``), overlapping normalised blocks
    (``normalize_blocks``), flattened. Gives the same numbers as
    ``skimage.feature.hog`` with the same arguments (to ~1e-7). A stack
    ``(N, H, W)`` is vectorised: it goes through in slabs of about 2**18
    pixels (334 MNIST digits), each slab in one pass, with no loop over
    single images unless one image alone exceeds the slab size.

    Parameters
    ----------
    image : (H, W) or (N, H, W) array_like
        Grayscale image, or a stack of N images of the same size. A colour
        image must be converted first (e.g. ``skimage.color.rgb2gray``):
        3-D input is always read as a stack.
    orientations : int
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : (int, int) or int
        Cell size ``(c_row, c_col)`` in pixels.
    cells_per_block : (int, int) or int
        Block size ``(b_row, b_col)`` in cells.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}
        Block normalisation, see ``normalize_blocks``.
    visualize : bool
        Also return the HOG picture (``hog_image``) of the input's shape.
    feature_vector : bool
        Flatten each image's blocks into one vector.
    transform_sqrt : bool, keyword-only
        Take the square root of the image first (gamma compression; the
        image must be non-negative), as skimage's option of the same name.

    Returns
    -------
    features : ndarray
        ``(D,)`` for one image, ``(N, D)`` for a stack, with
        ``D = n_blocks_row * n_blocks_col * b_row * b_col * orientations``,
        ``n_blocks_row = H // c_row - b_row + 1`` (likewise for columns).
        With ``feature_vector=False``: ``(n_blocks_row, n_blocks_col, b_row,
        b_col, orientations)``, with a leading ``N`` for a stack. Float32 if
        the image is float16/float32 (as skimage), float64 otherwise.
    hog_picture : (H, W) or (N, H, W) ndarray, only if ``visualize``
        Same dtype as ``features``.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D or 3-D, is smaller than one block, or an
        argument is out of range (the message names the shapes).

    Notes
    -----
    Conventions shared with skimage: [-1, 0, 1] gradients with zero border,
    angle ``rad2deg(arctan2(g_row, g_col)) % 180``; rows/columns beyond the
    last full cell are ignored; hard binning with bins ``[k*w, (k+1)*w)``,
    ``w = 180 / orientations`` (an angle equal to 180.0 votes nowhere);
    cells hold the mean vote; ``eps = 1e-5``. skimage sums the cells in
    single precision, this function in double precision, hence the ~1e-7.

    References
    ----------
    Dalal, N. and Triggs, B. (2005). Histograms of Oriented Gradients for
    Human Detection. CVPR 2005, pp. 886-893, doi:10.1109/CVPR.2005.177.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> digits = rng.random((5, 28, 28))                       # a stack of 5 images
    >>> hog(digits, pixels_per_cell=(7, 7), cells_per_block=(2, 2)).shape
    (5, 324)
    >>> hog(digits[0], pixels_per_cell=(7, 7), cells_per_block=(2, 2)).shape
    (324,)
    >>> features, picture = hog(digits[0], visualize=True, pixels_per_cell=(7, 7),
    ...                         cells_per_block=(2, 2))
    >>> picture.shape
    (28, 28)
    """
    image = _as_real_array(image, "image")
    if image.ndim not in (2, 3):
        hint = ""
        if image.ndim == 4:
            hint = "; for an NCHW batch with one channel pass x[:, 0]"
        raise ValueError(f"hog expects a grayscale image (H, W) or a stack (N, H, W), got shape {image.shape}{hint}")
    orientations = _check_orientations(orientations)
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    b_row, b_col = _pair(cells_per_block, "cells_per_block")
    block_norm = _check_method(block_norm)

    height, width = image.shape[-2:]
    if height // c_row < b_row or width // c_col < b_col:
        hint = ""
        if image.ndim == 3 and image.shape[-1] in (3, 4):
            hint = (
                f"; 3-D input is read as a stack (N, H, W) -- if {image.shape} is one colour image,"
                " convert it to grayscale first (skimage.color.rgb2gray)"
            )
        raise ValueError(
            f"image of shape {(height, width)} is too small for one block of {(b_row, b_col)} cells of "
            f"{(c_row, c_col)} pixels: it needs at least {b_row * c_row} rows and {b_col * c_col} columns{hint}"
        )

    out_dtype = _working_float(image.dtype)
    stack = image.reshape((-1, height, width))
    n_cells_row, n_cells_col = height // c_row, width // c_col
    block_shape = (n_cells_row - b_row + 1, n_cells_col - b_col + 1, b_row, b_col, orientations)
    features = np.empty((len(stack),) + block_shape, dtype=out_dtype)
    if visualize:
        pictures = np.empty((len(stack), height, width), dtype=out_dtype)

    # Slabs of whole images, _PIXELS_PER_SLAB pixels each (an image larger than that is a slab
    # of its own): one vectorised pass per slab without the cost of whole-stack temporaries.
    per_slab = max(1, _PIXELS_PER_SLAB // (height * width))
    # Pixels beyond the last whole cell vote nowhere, so their gradients are
    # skipped (27% of an MNIST digit with 8x8 cells). One more row and column are
    # kept because the difference at the last used pixel needs its neighbour.
    rows_used, cols_used = n_cells_row * c_row, n_cells_col * c_col
    needed = np.s_[:, :min(rows_used + 1, height), :min(cols_used + 1, width)]
    first_slots = np.empty((0,), dtype=np.intp)
    for start in range(0, len(stack), per_slab):
        slab = stack[start:start + per_slab][needed]
        if transform_sqrt:
            slab = np.sqrt(slab.astype(out_dtype, copy=False))
        if len(slab) != len(first_slots):
            first_slots = _first_slots(len(slab), (n_cells_row, n_cells_col), (c_row, c_col), orientations + 4)
        hist = _slab_histograms(slab, (n_cells_row, n_cells_col), (c_row, c_col), orientations, first_slots)
        features[start:start + per_slab] = normalize_blocks(hist, (b_row, b_col), block_norm)
        if visualize:
            pictures[start:start + per_slab] = hog_image(hist, (c_row, c_col), image_shape=(height, width))

    features = features.reshape(image.shape[:-2] + ((math.prod(block_shape),) if feature_vector else block_shape))
    if visualize:
        return features, pictures.reshape(image.shape)
    return features


def hog_reference(image, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3), block_norm="L2-Hys"):
    """Loop version of ``hog`` for one 2-D image (the tests' independent check).

    Parameters and result as ``hog`` with ``feature_vector=True``.
    """
    magnitude, orientation = image_gradients(image)
    hist = cell_histograms_reference(magnitude, orientation, pixels_per_cell, orientations)
    return normalize_blocks_reference(hist, cells_per_block, block_norm).ravel()
