"""Sample submissions of the ``parameter_counting`` assignment (see ../README.md).

Each misconception variant starts from the instructor's solution of one answer
cell and changes the few lines that make the mistake (``_patched`` checks that
the lines it changes are really there). The reference solutions of the
constants are plain arithmetic, so a broken function never costs the points of
a constant.

A changed line never contains a whole line of the solution: the feedback leak
check looks for solution lines as substrings of the feedback, and a student's
own line that merely extends a solution line would look like a leak.
"""
from __future__ import annotations

from functools import partial

from autograder.samples import expected_scores, patched_solution, solution_source

ASSIGNMENT = "parameter_counting"

POINTS = {
    "test_conv_output_shape": 3,
    "test_pool_output_shape": 2,
    "test_conv_param_count": 2,
    "test_linear_param_count": 2,
    "test_S2_C3_WEIGHTS": 1,
    "test_LENET5_MODERN_PARAMS": 1,
    "test_FC_200_PARAMS": 1,
    "test_CONV_100_PARAMS": 1,
    "test_LOGREG_MNIST_PARAMS": 1,
    "test_ALEXNET_CONV1_SHAPE": 1,
    "test_ALEXNET_CONV1_PARAMS": 1,
    "test_ALEXNET_POOL1_SHAPE": 1,
    "test_ALEXNET_FC6_PARAMS": 1,
}


_solution = partial(solution_source, ASSIGNMENT)  # answer cell of the solution, no markers
_patched = partial(patched_solution, ASSIGNMENT)  # ... with (old, new) replacements, each old once
_expected = partial(expected_scores, POINTS)  # full points except the scores given


_CONV_H = "out_height = (height + 2 * p_h - k_h) // s_h + 1"
_CONV_W = "out_width = (width + 2 * p_w - k_w) // s_w + 1"
_POOL = "return (channels, (height - k_h) // s_h + 1, (width - k_w) // s_w + 1)"
_CONV_COUNT = "return weights + (out_channels if bias else 0)"
_LINEAR_COUNT = "return out_features * in_features + (out_features if bias else 0)"


def _conv_shape(height, width):
    """conv_output_shape with the given formulas for the output height and width."""
    return _patched("conv_output_shape", (_CONV_H, f"out_height = {height}"), (_CONV_W, f"out_width = {width}"))


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
    # ---------------- output shapes ----------------
    "off_by_one": {
        "description": "output size without the +1",
        "cells": {"conv_output_shape": _conv_shape("(height + 2 * p_h - k_h) // s_h",
                                                   "(width + 2 * p_w - k_w) // s_w")},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "the +1 is missing"},
    },
    "padding_ignored": {
        "description": "forgets the padding in the output size",
        "cells": {"conv_output_shape": _conv_shape("(height - k_h) // s_h + 1", "(width - k_w) // s_w + 1")},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "the padding was ignored"},
    },
    "padding_once": {
        "description": "adds the padding on one side only (H + p instead of H + 2p)",
        "cells": {"conv_output_shape": _conv_shape("(height + p_h - k_h) // s_h + 1",
                                                   "(width + p_w - k_w) // s_w + 1")},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "the padding was counted once"},
    },
    "stride_ignored": {
        "description": "forgets to divide by the stride",
        "cells": {"conv_output_shape": _conv_shape("height + 2 * p_h - k_h + 1", "width + 2 * p_w - k_w + 1")},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "the stride was ignored"},
    },
    "true_division": {
        "description": "uses / instead of //, so sizes become fractions",
        "cells": {"conv_output_shape": _conv_shape("(height + 2 * p_h - k_h) / s_h + 1",
                                                   "(width + 2 * p_w - k_w) / s_w + 1")},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "use //"},
    },
    "input_channels_kept": {
        "description": "returns the input's channels instead of one channel per filter",
        "cells": {"conv_output_shape": _patched(
            "conv_output_shape",
            ("_, height, width = input_shape", "channels, height, width = input_shape"),
            ("return (out_channels, out_height, out_width)", "return (channels, out_height, out_width)"))},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "one channel per filter"},
    },
    "pool_divides_by_stride": {
        "description": "pooling output computed as H // stride (wrong for overlapping windows)",
        "cells": {"pool_output_shape": _patched(
            "pool_output_shape", (_POOL, "return (channels, height // s_h, width // s_w)"))},
        "expected": _expected(test_pool_output_shape=0),
        "feedback": {"test_pool_output_shape": "divided the size by the stride"},
    },
    # ---------------- parameter counts ----------------
    "bias_forgotten": {
        "description": "conv_param_count leaves out the biases",
        "cells": {"conv_param_count": _patched("conv_param_count", (_CONV_COUNT, "return weights"))},
        "expected": _expected(test_conv_param_count=0),
        "feedback": {"test_conv_param_count": "the biases are missing"},
    },
    "input_channels_forgotten": {
        "description": "conv_param_count leaves the input channels out of the filter volume",
        "cells": {"conv_param_count": _patched(
            "conv_param_count", ("weights = out_channels * in_channels * k_h * k_w",
                                 "weights = out_channels * k_h * k_w"))},
        "expected": _expected(test_conv_param_count=0),
        "feedback": {"test_conv_param_count": "the input channels are missing"},
    },
    "bias_per_weight": {
        "description": "linear_param_count counts one bias per weight",
        "cells": {"linear_param_count": _patched(
            "linear_param_count",
            (_LINEAR_COUNT, "weights = out_features * in_features\n    return weights + (weights if bias else 0)"))},
        "expected": _expected(test_linear_param_count=0),
        "feedback": {"test_linear_param_count": "one bias per weight"},
    },
    "linear_bias_per_input": {
        "description": "linear_param_count counts one bias per input instead of per output unit",
        "cells": {"linear_param_count": _patched(
            "linear_param_count",
            (_LINEAR_COUNT, "return out_features * in_features + (in_features if bias else 0)"))},
        "expected": _expected(test_linear_param_count=0),
        "feedback": {"test_linear_param_count": "one bias per input"},
    },
    # ---------------- constants ----------------
    "constants_with_biases": {
        "description": "counts the biases where the questions ask for weights only",
        "cells": {
            "S2_C3_WEIGHTS": "S2_C3_WEIGHTS = 16 * 6 * 5 * 5 + 16\n",
            "FC_200_PARAMS": "FC_200_PARAMS = 200 * 200 * 40_000 + 40_000\n",
            "CONV_100_PARAMS": "CONV_100_PARAMS = 100 * 5 * 5 + 100\n",
        },
        "expected": _expected(test_S2_C3_WEIGHTS=0, test_FC_200_PARAMS=0, test_CONV_100_PARAMS=0),
        "feedback": {"test_S2_C3_WEIGHTS": "weights only", "test_FC_200_PARAMS": "weights only",
                     "test_CONV_100_PARAMS": "weights only"},
    },
    "no_weight_sharing": {
        "description": "counts a separate 5x5 filter at every output position",
        "cells": {"CONV_100_PARAMS": "CONV_100_PARAMS = 100 * 5 * 5 * 196 * 196\n"},
        "expected": _expected(test_CONV_100_PARAMS=0),
        "feedback": {"test_CONV_100_PARAMS": "the weights are shared"},
    },
    "sparse_c3_table": {
        "description": "answers the paper's sparse C3 (1,500 weights) instead of the ordinary convolution asked for",
        "cells": {"S2_C3_WEIGHTS": "S2_C3_WEIGHTS = 60 * 5 * 5\n"},
        "expected": _expected(test_S2_C3_WEIGHTS=0),
        "feedback": {"test_S2_C3_WEIGHTS": "sparse table"},
    },
    "lenet_without_biases": {
        "description": "totals LeNet-5's weights without the biases",
        "cells": {"LENET5_MODERN_PARAMS": "LENET5_MODERN_PARAMS = 150 + 2400 + 48000 + 10080 + 840\n"},
        "expected": _expected(test_LENET5_MODERN_PARAMS=0),
        "feedback": {"test_LENET5_MODERN_PARAMS": "the biases are missing"},
    },
    "logreg_without_biases": {
        "description": "logistic regression counted without its 10 biases",
        "cells": {"LOGREG_MNIST_PARAMS": "LOGREG_MNIST_PARAMS = 28 * 28 * 10\n"},
        "expected": _expected(test_LOGREG_MNIST_PARAMS=0),
        "feedback": {"test_LOGREG_MNIST_PARAMS": "the biases are missing"},
    },
    "alexnet_mistakes": {
        "description": "AlexNet: +1 missing in conv1, colour channels forgotten, pool stride 3, fc6 input 4096",
        "cells": {
            "ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = (96, (227 - 11) // 4, (227 - 11) // 4)\n",
            "ALEXNET_CONV1_PARAMS": "ALEXNET_CONV1_PARAMS = 96 * 11 * 11 + 96\n",
            "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = (96, (55 - 3) // 3 + 1, (55 - 3) // 3 + 1)\n",
            "ALEXNET_FC6_PARAMS": "ALEXNET_FC6_PARAMS = 4096 * 4096 + 4096\n",
        },
        "expected": _expected(test_ALEXNET_CONV1_SHAPE=0, test_ALEXNET_CONV1_PARAMS=0, test_ALEXNET_POOL1_SHAPE=0,
                              test_ALEXNET_FC6_PARAMS=0),
        "feedback": {"test_ALEXNET_CONV1_SHAPE": "add 1 for the first window",
                     "test_ALEXNET_CONV1_PARAMS": "3 colour channels",
                     "test_ALEXNET_POOL1_SHAPE": "the stride is 2, not 3",
                     "test_ALEXNET_FC6_PARAMS": "9,216 values"},
    },
    "constants_from_own_functions": {
        "description": "computes the AlexNet answers with its own (correct) functions: full marks",
        "cells": {
            "ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = conv_output_shape((3, 227, 227), 96, 11, stride=4)\n",
            "ALEXNET_CONV1_PARAMS": "ALEXNET_CONV1_PARAMS = conv_param_count(3, 96, 11)\n",
            "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = pool_output_shape(ALEXNET_CONV1_SHAPE, 3, 2)\n",
            "ALEXNET_FC6_PARAMS": "ALEXNET_FC6_PARAMS = linear_param_count(256 * 6 * 6, 4096)\n",
        },
        "expected": _expected(),
    },
    # ---------------- broken submissions ----------------
    "syntax_error": {
        "description": "a syntax error in the pool_output_shape answer: only its test is lost",
        "cells": {"pool_output_shape": _patched(
            "pool_output_shape", (_POOL, _POOL[:-1]))},   # a closing parenthesis is missing
        "expected": _expected(test_pool_output_shape=0),
        "feedback": {"test_pool_output_shape": "no function named pool_output_shape"},
    },
    "exception": {
        "description": "conv_param_count raises an exception",
        "cells": {"conv_param_count": _patched(
            "conv_param_count", ("weights = out_channels * in_channels * k_h * k_w",
                                 "weights = out_channels * in_channels * k_h * k_w * kernel_volume"))},
        "expected": _expected(test_conv_param_count=0),
        "feedback": {"test_conv_param_count": "kernel_volume"},
    },
    "missing_function": {
        "description": "the linear_param_count cell holds a computation but no function",
        "cells": {"linear_param_count": "lenet_c5 = 400 * 120 + 120\nprint(lenet_c5)\n"},
        "expected": _expected(test_linear_param_count=0),
        "feedback": {"test_linear_param_count": "no function named linear_param_count"},
    },
    "infinite_loop": {
        "description": "conv_output_shape never returns: only its test is lost (after the per-cell timeout)",
        "cells": {"conv_output_shape": (
            "def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):\n"
            "    while True:\n"
            "        pass\n")},
        "expected": _expected(test_conv_output_shape=0),
    },
}
