"""Sample submissions of the ``hog_features`` assignment (see ../README.md).

Each misconception variant starts from the instructor's solution of one answer
cell and changes the few lines that make the mistake (``_patched`` checks that
the lines it changes are really there, so an edit of the notebook that breaks a
variant fails loudly instead of silently producing a correct sample).

The test of ``hog_features`` runs the student's function with the library's
versions of parts 1-3, so a mistake in one of those parts costs only its own
test cell.

A changed line never contains a whole line of the solution: the feedback leak
check looks for solution lines as substrings of the feedback, and a student's
own line that merely extends a solution line would look like a leak.
"""
from __future__ import annotations

from functools import partial

from autograder.samples import expected_scores, patched_solution, solution_source

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


_solution = partial(solution_source, ASSIGNMENT)  # answer cell of the solution, no markers
_patched = partial(patched_solution, ASSIGNMENT)  # ... with (old, new) replacements, each old once
_expected = partial(expected_scores, POINTS)  # full points except the scores given


VARIANTS = {
    "reference": {
        "description": "the instructor's solution",
        "cells": {},
        "expected": _expected(),
    },
    "untouched": {
        "description": "the student version as released, nothing answered",
        "untouched": True,
        "expected": {name: 0 for name in POINTS},
    },
    # ---------------- part 1: image_gradients ----------------
    "signed_orientation": {
        "description": "keeps the sign of the gradient: angles in [0, 360) instead of [0, 180)",
        "cells": {"image_gradients": _patched(
            "image_gradients", ("np.rad2deg(np.arctan2(g_r, g_c)) % 180", "np.rad2deg(np.arctan2(g_r, g_c)) % 360"))},
        "expected": _expected(test_image_gradients=0),
        "feedback": {"test_image_gradients": "signed orientation"},
    },
    "radians": {
        "description": "returns the angle in radians",
        "cells": {"image_gradients": _patched(
            "image_gradients", ("np.rad2deg(np.arctan2(g_r, g_c)) % 180", "np.arctan2(g_r, g_c) % np.pi"))},
        # digit_features runs the student's own hog_features
        "expected": _expected(test_image_gradients=0, test_digit_features=0),
        "feedback": {"test_image_gradients": "radians instead of degrees"},
    },
    "gradient_halved": {
        "description": "central difference divided by 2 (np.gradient style) instead of [-1, 0, 1]",
        "cells": {"image_gradients": _patched(
            "image_gradients",
            ("g_r[1:-1, :] = image[2:, :] - image[:-2, :]", "g_r[1:-1, :] = (image[2:, :] - image[:-2, :]) / 2"),
            ("g_c[:, 1:-1] = image[:, 2:] - image[:, :-2]", "g_c[:, 1:-1] = (image[:, 2:] - image[:, :-2]) / 2"))},
        "expected": _expected(test_image_gradients=0),
        "feedback": {"test_image_gradients": "halved"},
    },
    "uint8_differences": {
        "description": "takes the differences in the image's own dtype: uint8 wraps around",
        "cells": {"image_gradients": _patched(
            "image_gradients",
            ("    image = np.asarray(image, dtype=np.float64)\n"
             "    g_r = np.zeros_like(image)\n"
             "    g_c = np.zeros_like(image)\n",
             "    image = np.asarray(image)\n"
             "    g_r = np.zeros(image.shape)\n"
             "    g_c = np.zeros(image.shape)\n"))},
        "expected": _expected(test_image_gradients=0),
        "feedback": {"test_image_gradients": "uint8"},
    },
    "library_shortcut": {
        "description": "calls the library instead of writing image_gradients",
        "cells": {"image_gradients": (
            "import cnnlib.hog\n\n\n"
            "def image_gradients(image):\n"
            "    return cnnlib.hog.image_gradients(image)\n")},
        # while grading cnnlib.hog does not exist in the student's kernel (the rule), so the own
        # hog_features that digit_features runs fails there too
        "expected": _expected(test_image_gradients=0, test_digit_features=0),
        "feedback": {"test_image_gradients": "image_gradients breaks the rule of this exercise"},
    },
    # ---------------- part 2: cell_histograms ----------------
    "cell_sum": {
        "description": "each cell holds the sum of the votes, not the mean",
        "cells": {"cell_histograms": _patched(
            "cell_histograms",
            ("hist[a, b] = votes[:orientations] / (c_r * c_c)", "hist[a, b] = votes[:orientations]"))},
        "expected": _expected(test_cell_histograms=0),
        "feedback": {"test_cell_histograms": "divide by the number of pixels"},
    },
    "nearest_bin": {
        "description": "rounds the angle to the nearest bin instead of flooring",
        "cells": {"cell_histograms": _patched(
            "cell_histograms",
            ("bins = np.floor(orientation / width).astype(int)",
             "bins = np.round(orientation / width).astype(int) % orientations"))},
        "expected": _expected(test_cell_histograms=0),
        "feedback": {"test_cell_histograms": "nearest bin"},
    },
    # ---------------- part 3: normalize_blocks ----------------
    "l2hys_without_clip": {
        "description": "L2-Hys computed as plain L2 (no clip at 0.2)",
        "cells": {"normalize_blocks": _patched(
            "normalize_blocks",
            ("                v = np.minimum(v, 0.2)\n"
             "                v = v / np.sqrt(np.sum(v**2) + eps**2)\n", ""))},
        "expected": _expected(test_normalize_blocks=0),
        "feedback": {"test_normalize_blocks": "this is plain L2"},
    },
    "clip_not_renormalised": {
        "description": "L2-Hys clips at 0.2 but forgets the second L2",
        "cells": {"normalize_blocks": _patched(
            "normalize_blocks",
            ("                v = np.minimum(v, 0.2)\n"
             "                v = v / np.sqrt(np.sum(v**2) + eps**2)\n",
             "                v = np.minimum(v, 0.2)\n"))},
        "expected": _expected(test_normalize_blocks=0),
        "feedback": {"test_normalize_blocks": "not normalised again"},
    },
    "blocks_without_overlap": {
        "description": "blocks side by side (stride of a whole block) instead of one per cell",
        "cells": {"normalize_blocks": _patched(
            "normalize_blocks",
            ("blocks = np.zeros((n_r - b_r + 1, n_c - b_c + 1, b_r, b_c, bins))",
             "blocks = np.zeros((n_r // b_r, n_c // b_c, b_r, b_c, bins))"),
            ("for y in range(n_r - b_r + 1):", "for y in range(n_r // b_r):"),
            ("for x in range(n_c - b_c + 1):", "for x in range(n_c // b_c):"),
            ("v = hist[y:y + b_r, x:x + b_c, :]", "v = hist[y * b_r:(y + 1) * b_r, x * b_c:(x + 1) * b_c, :]"))},
        "expected": _expected(test_normalize_blocks=0),
        "feedback": {"test_normalize_blocks": "do not overlap"},
    },
    # ---------------- part 4: hog_features ----------------
    "hog_not_flattened": {
        "description": "returns the 5-D blocks instead of the feature vector",
        "cells": {"hog_features": _patched("hog_features", ("return np.ravel(blocks)", "return blocks"))},
        "expected": _expected(test_hog_features=0),
        "feedback": {"test_hog_features": "not flattened"},
    },
    "hog_ignores_block_norm": {
        "description": "always normalises with the default L2-Hys (a visible test catches it)",
        "cells": {"hog_features": _patched(
            "hog_features", ("normalize_blocks(hist, cells_per_block, block_norm)",
                             "normalize_blocks(hist, cells_per_block)"))},
        "expected": _expected(test_hog_features=0),
        "feedback": {"test_hog_features": "block_norm='L1' was not passed on"},
    },
    "hog_ignores_orientations": {
        "description": "always uses 9 bins: passes every visible test, a hidden test catches it",
        "cells": {"hog_features": _patched(
            "hog_features", ("cell_histograms(magnitude, orientation, pixels_per_cell, orientations)",
                             "cell_histograms(magnitude, orientation, pixels_per_cell)"))},
        "expected": _expected(test_hog_features=0),
        "feedback": {"test_hog_features": "orientations=6 was not passed on"},
    },
    # ---------------- part 5: lengths ----------------
    "lengths_without_overlap": {
        "description": "counts non-overlapping blocks in both vector lengths",
        "cells": {
            "DALAL_TRIGGS_LENGTH": "DALAL_TRIGGS_LENGTH = (128 // 16) * (64 // 16) * 36\n",
            "MNIST_HOG_LENGTH": "MNIST_HOG_LENGTH = (28 // 14) * (28 // 14) * 36\n",
        },
        "expected": _expected(test_DALAL_TRIGGS_LENGTH=0, test_MNIST_HOG_LENGTH=0),
        "feedback": {"test_DALAL_TRIGGS_LENGTH": "without overlap", "test_MNIST_HOG_LENGTH": "without overlap"},
    },
    "length_one_block_per_cell": {
        "description": "one block per cell in the MNIST length (576 instead of 324)",
        "cells": {"MNIST_HOG_LENGTH": "MNIST_HOG_LENGTH = 4 * 4 * 2 * 2 * 9\n"},
        "expected": _expected(test_MNIST_HOG_LENGTH=0),
        "feedback": {"test_MNIST_HOG_LENGTH": "one block per cell"},
    },
    # ---------------- part 6: digit_features ----------------
    "pixels_as_features": {
        "description": "returns the raw pixels as features",
        "cells": {"digit_features": _patched(
            "digit_features",
            ("    return np.stack(features).reshape(len(images), -1)",
             "    return images.reshape(len(images), -1) / 255"))},
        "expected": _expected(test_digit_features=0),
        "feedback": {"test_digit_features": "raw pixels reach"},
    },
    "default_hog_parameters": {
        "description": "keeps the pedestrian defaults (8x8 cells, 3x3 blocks): one block per digit, too coarse",
        "cells": {"digit_features": _patched(
            "digit_features",
            ("pixels_per_cell=(4, 4), cells_per_block=(2, 2)", "pixels_per_cell=(8, 8), cells_per_block=(3, 3)"))},
        "expected": _expected(test_digit_features=0),
        "feedback": {"test_digit_features": "try smaller cells"},
    },
    # ---------------- broken submissions ----------------
    "syntax_error": {
        "description": "a syntax error in the cell_histograms answer: its test and the tests that use it are lost",
        "cells": {"cell_histograms": _patched(
            "cell_histograms", ("for a in range(n_r):", "for a in range(n_r)"))},
        # digit_features runs the student's own hog_features
        "expected": _expected(test_cell_histograms=0, test_digit_features=0),
        "feedback": {"test_cell_histograms": "no function named cell_histograms"},
    },
    "exception": {
        "description": "normalize_blocks raises an exception",
        "cells": {"normalize_blocks": _patched(
            "normalize_blocks", ("    eps = 1e-5\n", "    eps = 1e-5\n    raise ValueError('not finished yet')\n"))},
        # digit_features runs the student's own hog_features
        "expected": _expected(test_normalize_blocks=0, test_digit_features=0),
        "feedback": {"test_normalize_blocks": "not finished yet"},
    },
    "missing_function": {
        "description": "the image_gradients cell holds code but no function",
        "cells": {"image_gradients": (
            "image = np.zeros((5, 5))\n"
            "g_r = np.zeros_like(image)\n"
            "g_r[1:-1, :] = image[2:, :] - image[:-2, :]\n")},
        # digit_features runs the student's own hog_features
        "expected": _expected(test_image_gradients=0, test_digit_features=0),
        "feedback": {"test_image_gradients": "no function named image_gradients"},
    },
    "infinite_loop": {
        "description": "normalize_blocks never returns: its test and digit_features' are lost (per-cell timeout)",
        "cells": {"normalize_blocks": (
            "def normalize_blocks(hist, cells_per_block=(3, 3), method=\"L2-Hys\"):\n"
            "    while True:\n"
            "        pass\n")},
        # digit_features runs the student's own hog_features
        "expected": _expected(test_normalize_blocks=0, test_digit_features=0),
    },
}
