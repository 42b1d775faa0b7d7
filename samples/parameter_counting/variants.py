"""Sample submissions of the ``parameter_counting`` assignment (see ../README.md).

Each misconception variant starts from the instructor's solution of one answer
cell and changes the few lines that make the mistake (``samples.patched`` checks
that the lines it changes are really there; its docstring says why a changed line
never holds a whole line of the solution). The reference solutions of the
constants are plain arithmetic, so a broken function never costs the points of
a constant.
"""
from __future__ import annotations

from autograder.samples import SampleSet

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


samples = SampleSet(ASSIGNMENT, POINTS)

_CONV_H = "out_height = (height + 2 * p_h - k_h) // s_h + 1"
_CONV_W = "out_width = (width + 2 * p_w - k_w) // s_w + 1"
_POOL = "return (channels, (height - k_h) // s_h + 1, (width - k_w) // s_w + 1)"
_CONV_COUNT = "return weights + (out_channels if bias else 0)"
_CONV_WEIGHTS = "weights = out_channels * in_channels * k_h * k_w"
_LINEAR_COUNT = "return out_features * in_features + (out_features if bias else 0)"


def _wrong_size(description, height, width, hint):
    """A variant whose conv_output_shape uses the given formulas for the output height and width."""
    return samples.mistake(description, "conv_output_shape", samples.patched(
        "conv_output_shape", (_CONV_H, f"out_height = {height}"), (_CONV_W, f"out_width = {width}")), hint)


VARIANTS = {
    "reference": samples.reference(),
    "untouched": samples.untouched("the student version as released, nothing answered"),
    # ---------------- output shapes ----------------
    "off_by_one": _wrong_size("output size without the +1", "(height + 2 * p_h - k_h) // s_h",
                              "(width + 2 * p_w - k_w) // s_w", "the +1 is missing"),
    "padding_ignored": _wrong_size("forgets the padding in the output size", "(height - k_h) // s_h + 1",
                                   "(width - k_w) // s_w + 1", "the padding was ignored"),
    "padding_once": _wrong_size("adds the padding on one side only (H + p instead of H + 2p)",
                                "(height + p_h - k_h) // s_h + 1", "(width + p_w - k_w) // s_w + 1",
                                "the padding was counted once"),
    "stride_ignored": _wrong_size("forgets to divide by the stride", "height + 2 * p_h - k_h + 1",
                                  "width + 2 * p_w - k_w + 1", "the stride was ignored"),
    "true_division": _wrong_size("uses / instead of //, so sizes become fractions",
                                 "(height + 2 * p_h - k_h) / s_h + 1", "(width + 2 * p_w - k_w) / s_w + 1", "use //"),
    "input_channels_kept": samples.mistake(
        "returns the input's channels instead of one channel per filter", "conv_output_shape",
        samples.patched("conv_output_shape",
                        ("_, height, width = input_shape", "channels, height, width = input_shape"),
                        ("return (out_channels, out_height, out_width)", "return (channels, out_height, out_width)")),
        "one channel per filter"),
    "pool_divides_by_stride": samples.mistake(
        "pooling output computed as H // stride (wrong for overlapping windows)", "pool_output_shape",
        samples.patched("pool_output_shape", (_POOL, "return (channels, height // s_h, width // s_w)")),
        "divided the size by the stride"),
    # ---------------- parameter counts ----------------
    "bias_forgotten": samples.mistake(
        "conv_param_count leaves out the biases", "conv_param_count",
        samples.patched("conv_param_count", (_CONV_COUNT, "return weights")), "the biases are missing"),
    "input_channels_forgotten": samples.mistake(
        "conv_param_count leaves the input channels out of the filter volume", "conv_param_count",
        samples.patched("conv_param_count", (_CONV_WEIGHTS, "weights = out_channels * k_h * k_w")),
        "the input channels are missing"),
    "bias_per_weight": samples.mistake(
        "linear_param_count counts one bias per weight", "linear_param_count",
        samples.patched("linear_param_count", (_LINEAR_COUNT, "weights = out_features * in_features\n"
                                                              "    return weights + (weights if bias else 0)")),
        "one bias per weight"),
    "linear_bias_per_input": samples.mistake(
        "linear_param_count counts one bias per input instead of per output unit", "linear_param_count",
        samples.patched("linear_param_count",
                        (_LINEAR_COUNT, "return out_features * in_features + (in_features if bias else 0)")),
        "one bias per input"),
    # ---------------- constants ----------------
    "constants_with_biases": samples.variant(
        "counts the biases where the questions ask for weights only",
        {"S2_C3_WEIGHTS": "S2_C3_WEIGHTS = 16 * 6 * 5 * 5 + 16\n",
         "FC_200_PARAMS": "FC_200_PARAMS = 200 * 200 * 40_000 + 40_000\n",
         "CONV_100_PARAMS": "CONV_100_PARAMS = 100 * 5 * 5 + 100\n"},
        dict.fromkeys(["test_S2_C3_WEIGHTS", "test_FC_200_PARAMS", "test_CONV_100_PARAMS"], "weights only")),
    "no_weight_sharing": samples.mistake(
        "counts a separate 5x5 filter at every output position", "CONV_100_PARAMS",
        "CONV_100_PARAMS = 100 * 5 * 5 * 196 * 196\n", "the weights are shared"),
    "sparse_c3_table": samples.mistake(
        "answers the paper's sparse C3 (1,500 weights) instead of the ordinary convolution asked for",
        "S2_C3_WEIGHTS", "S2_C3_WEIGHTS = 60 * 5 * 5\n", "sparse table"),
    "lenet_without_biases": samples.mistake(
        "totals LeNet-5's weights without the biases", "LENET5_MODERN_PARAMS",
        "LENET5_MODERN_PARAMS = 150 + 2400 + 48000 + 10080 + 840\n", "the biases are missing"),
    "logreg_without_biases": samples.mistake(
        "logistic regression counted without its 10 biases", "LOGREG_MNIST_PARAMS",
        "LOGREG_MNIST_PARAMS = 28 * 28 * 10\n", "the biases are missing"),
    "alexnet_mistakes": samples.variant(
        "AlexNet: +1 missing in conv1, colour channels forgotten, pool stride 3, fc6 input 4096",
        {"ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = (96, (227 - 11) // 4, (227 - 11) // 4)\n",
         "ALEXNET_CONV1_PARAMS": "ALEXNET_CONV1_PARAMS = 96 * 11 * 11 + 96\n",
         "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = (96, (55 - 3) // 3 + 1, (55 - 3) // 3 + 1)\n",
         "ALEXNET_FC6_PARAMS": "ALEXNET_FC6_PARAMS = 4096 * 4096 + 4096\n"},
        {"test_ALEXNET_CONV1_SHAPE": "add 1 for the first window", "test_ALEXNET_CONV1_PARAMS": "3 colour channels",
         "test_ALEXNET_POOL1_SHAPE": "the stride is 2, not 3", "test_ALEXNET_FC6_PARAMS": "9,216 values"}),
    "constants_from_own_functions": samples.variant(
        "computes the AlexNet answers with its own (correct) functions: full marks",
        {"ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = conv_output_shape((3, 227, 227), 96, 11, stride=4)\n",
         "ALEXNET_CONV1_PARAMS": "ALEXNET_CONV1_PARAMS = conv_param_count(3, 96, 11)\n",
         "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = pool_output_shape(ALEXNET_CONV1_SHAPE, 3, 2)\n",
         "ALEXNET_FC6_PARAMS": "ALEXNET_FC6_PARAMS = linear_param_count(256 * 6 * 6, 4096)\n"}),
    # ---------------- broken submissions ----------------
    "syntax_error": samples.mistake(
        "a syntax error in the pool_output_shape answer: only its test is lost", "pool_output_shape",
        samples.patched("pool_output_shape", (_POOL, _POOL[:-1])),  # a closing parenthesis is missing
        "no function named pool_output_shape"),
    "exception": samples.mistake(
        "conv_param_count raises an exception", "conv_param_count",
        samples.patched("conv_param_count", (_CONV_WEIGHTS, _CONV_WEIGHTS + " * kernel_volume")),
        "kernel_volume"),
    "missing_function": samples.mistake(
        "the linear_param_count cell holds a computation but no function", "linear_param_count",
        "lenet_c5 = 400 * 120 + 120\nprint(lenet_c5)\n", "no function named linear_param_count"),
    "infinite_loop": samples.mistake(
        "conv_output_shape never returns: only its test is lost (after the per-cell timeout)", "conv_output_shape",
        "def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):\n"
        "    while True:\n"
        "        pass\n"),
}
