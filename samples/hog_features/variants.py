"""Sample submissions of the ``hog_features`` assignment (see ../README.md).

Each misconception variant starts from the instructor's solution of one answer
cell and changes the few lines that make the mistake (``_patched`` checks that
the lines it changes are really there, so an edit of the notebook that breaks a
variant fails loudly instead of silently producing a correct sample; its
docstring says why a changed line never holds a whole line of the solution).

The test of ``hog_features`` runs the student's function with the library's
versions of parts 1-3, so a mistake in one of those parts costs only its own
test cell.
"""
from __future__ import annotations

from autograder.samples import SampleSet

ASSIGNMENT = "hog_features"

POINTS = {
    "test_image_gradients": 3,
    "test_cell_histograms": 3,
    "test_normalize_blocks": 3,
    "test_hog_features": 2,
    "test_DALAL_TRIGGS_LENGTH": 1,
    "test_MNIST_HOG_LENGTH": 1,
    "test_digit_features": 2,
}


samples = SampleSet(ASSIGNMENT, POINTS)
_patched = samples.patched  # the solution of a cell with (old, new) replacements, each old once
# also lost by a mistake that breaks hog_features' parts: digit_features runs the student's own hog_features
_DIGITS = ("test_digit_features",)
_ARCTAN = "np.rad2deg(np.arctan2(g_r, g_c)) % 180"
_L2HYS = "                v = np.minimum(v, 0.2)\n                v = v / np.sqrt(np.sum(v**2) + eps**2)\n"


VARIANTS = {
    "reference": samples.reference(),
    "untouched": samples.untouched("the student version as released, nothing answered"),
    # ---------------- part 1: image_gradients ----------------
    "signed_orientation": samples.mistake(
        "keeps the sign of the gradient: angles in [0, 360) instead of [0, 180)", "image_gradients",
        _patched("image_gradients", (_ARCTAN, "np.rad2deg(np.arctan2(g_r, g_c)) % 360")), "signed orientation"),
    "radians": samples.mistake(
        "returns the angle in radians", "image_gradients",
        _patched("image_gradients", (_ARCTAN, "np.arctan2(g_r, g_c) % np.pi")), "radians instead of degrees",
        also_lost=_DIGITS),
    "gradient_halved": samples.mistake(
        "central difference divided by 2 (np.gradient style) instead of [-1, 0, 1]", "image_gradients",
        _patched("image_gradients",
                 ("g_r[1:-1, :] = image[2:, :] - image[:-2, :]", "g_r[1:-1, :] = (image[2:, :] - image[:-2, :]) / 2"),
                 ("g_c[:, 1:-1] = image[:, 2:] - image[:, :-2]", "g_c[:, 1:-1] = (image[:, 2:] - image[:, :-2]) / 2")),
        "halved"),
    "uint8_differences": samples.mistake(
        "takes the differences in the image's own dtype: uint8 wraps around", "image_gradients",
        _patched("image_gradients", ("    image = np.asarray(image, dtype=np.float64)\n"
                                     "    g_r = np.zeros_like(image)\n"
                                     "    g_c = np.zeros_like(image)\n",
                                     "    image = np.asarray(image)\n"
                                     "    g_r = np.zeros(image.shape)\n"
                                     "    g_c = np.zeros(image.shape)\n")),
        "uint8"),
    # while grading cnnlib.hog does not exist in the student's kernel (the rule), so the own
    # hog_features that digit_features runs fails there too
    "library_shortcut": samples.mistake(
        "calls the library instead of writing image_gradients", "image_gradients",
        "import cnnlib.hog\n\n\ndef image_gradients(image):\n    return cnnlib.hog.image_gradients(image)\n",
        "image_gradients breaks the rule of this exercise", also_lost=_DIGITS),
    # ---------------- part 2: cell_histograms ----------------
    "cell_sum": samples.mistake(
        "each cell holds the sum of the votes, not the mean", "cell_histograms",
        _patched("cell_histograms",
                 ("hist[a, b] = votes[:orientations] / (c_r * c_c)", "hist[a, b] = votes[:orientations]")),
        "divide by the number of pixels"),
    "nearest_bin": samples.mistake(
        "rounds the angle to the nearest bin instead of flooring", "cell_histograms",
        _patched("cell_histograms", ("bins = np.floor(orientation / width).astype(int)",
                                     "bins = np.round(orientation / width).astype(int) % orientations")),
        "nearest bin"),
    # ---------------- part 3: normalize_blocks ----------------
    "l2hys_without_clip": samples.mistake(
        "L2-Hys computed as plain L2 (no clip at 0.2)", "normalize_blocks",
        _patched("normalize_blocks", (_L2HYS, "")), "this is plain L2"),
    "clip_not_renormalised": samples.mistake(
        "L2-Hys clips at 0.2 but forgets the second L2", "normalize_blocks",
        _patched("normalize_blocks", (_L2HYS, "                v = np.minimum(v, 0.2)\n")), "not normalised again"),
    "blocks_without_overlap": samples.mistake(
        "blocks side by side (stride of a whole block) instead of one per cell", "normalize_blocks",
        _patched("normalize_blocks",
                 ("blocks = np.zeros((n_r - b_r + 1, n_c - b_c + 1, b_r, b_c, bins))",
                  "blocks = np.zeros((n_r // b_r, n_c // b_c, b_r, b_c, bins))"),
                 ("for y in range(n_r - b_r + 1):", "for y in range(n_r // b_r):"),
                 ("for x in range(n_c - b_c + 1):", "for x in range(n_c // b_c):"),
                 ("v = hist[y:y + b_r, x:x + b_c, :]", "v = hist[y * b_r:(y + 1) * b_r, x * b_c:(x + 1) * b_c, :]")),
        "do not overlap"),
    # ---------------- part 4: hog_features ----------------
    "hog_not_flattened": samples.mistake(
        "returns the 5-D blocks instead of the feature vector", "hog_features",
        _patched("hog_features", ("return np.ravel(blocks)", "return blocks")), "not flattened"),
    "hog_ignores_block_norm": samples.mistake(
        "always normalises with the default L2-Hys (a visible test catches it)", "hog_features",
        _patched("hog_features", ("normalize_blocks(hist, cells_per_block, block_norm)",
                                  "normalize_blocks(hist, cells_per_block)")),
        "block_norm='L1' was not passed on"),
    "hog_ignores_orientations": samples.mistake(
        "always uses 9 bins: passes every visible test, a hidden test catches it", "hog_features",
        _patched("hog_features", ("cell_histograms(magnitude, orientation, pixels_per_cell, orientations)",
                                  "cell_histograms(magnitude, orientation, pixels_per_cell)")),
        "orientations=6 was not passed on"),
    # ---------------- part 5: lengths ----------------
    "lengths_without_overlap": samples.variant(
        "counts non-overlapping blocks in both vector lengths",
        {"DALAL_TRIGGS_LENGTH": "DALAL_TRIGGS_LENGTH = (128 // 16) * (64 // 16) * 36\n",
         "MNIST_HOG_LENGTH": "MNIST_HOG_LENGTH = (28 // 14) * (28 // 14) * 36\n"},
        dict.fromkeys(["test_DALAL_TRIGGS_LENGTH", "test_MNIST_HOG_LENGTH"], "without overlap")),
    "length_one_block_per_cell": samples.mistake(
        "one block per cell in the MNIST length (576 instead of 324)", "MNIST_HOG_LENGTH",
        "MNIST_HOG_LENGTH = 4 * 4 * 2 * 2 * 9\n", "one block per cell"),
    # ---------------- part 6: digit_features ----------------
    "pixels_as_features": samples.mistake(
        "returns the raw pixels as features", "digit_features",
        _patched("digit_features", ("    return np.stack(features).reshape(len(images), -1)",
                                    "    return images.reshape(len(images), -1) / 255")),
        "raw pixels reach"),
    "default_hog_parameters": samples.mistake(
        "keeps the pedestrian defaults (8x8 cells, 3x3 blocks): one block per digit, too coarse", "digit_features",
        _patched("digit_features", ("pixels_per_cell=(4, 4), cells_per_block=(2, 2)",
                                    "pixels_per_cell=(8, 8), cells_per_block=(3, 3)")),
        "try smaller cells"),
    # ---------------- broken submissions ----------------
    "syntax_error": samples.mistake(
        "a syntax error in the cell_histograms answer: its test and the tests that use it are lost", "cell_histograms",
        _patched("cell_histograms", ("for a in range(n_r):", "for a in range(n_r)")),
        "no function named cell_histograms", also_lost=_DIGITS),
    "exception": samples.mistake(
        "normalize_blocks raises an exception", "normalize_blocks",
        _patched("normalize_blocks",
                 ("    eps = 1e-5\n", "    eps = 1e-5\n    raise ValueError('not finished yet')\n")),
        "not finished yet", also_lost=_DIGITS),
    "missing_function": samples.mistake(
        "the image_gradients cell holds code but no function", "image_gradients",
        "image = np.zeros((5, 5))\ng_r = np.zeros_like(image)\ng_r[1:-1, :] = image[2:, :] - image[:-2, :]\n",
        "no function named image_gradients", also_lost=_DIGITS),
    "infinite_loop": samples.mistake(
        "normalize_blocks never returns: its test and digit_features' are lost (per-cell timeout)", "normalize_blocks",
        'def normalize_blocks(hist, cells_per_block=(3, 3), method="L2-Hys"):\n    while True:\n        pass\n',
        also_lost=_DIGITS),
}
