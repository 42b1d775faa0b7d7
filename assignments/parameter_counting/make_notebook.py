"""Write the nbgrader source notebook ``parameter_counting.ipynb`` of this folder.

The notebook is generated so that every edit can be reviewed as Python:

    python assignments/parameter_counting/make_notebook.py           # (re)write the notebook
    python assignments/parameter_counting/make_notebook.py --check   # exit 1 if it is out of date

Cell kinds: see ``course_tools/notebooks.py`` (``setup_cell`` holds the shared Colab install,
then the imports and the helpers of the tests; ``free_code`` cells show something, ungraded).

Free numeric answers are checked only for their type by the visible tests (the
value is hidden), so that a failing visible test cannot give the answer away.
"""
from __future__ import annotations

import sys

from course_tools.notebooks import QUICK_TEST_SECONDS, assignment_notebook, free_code, instructions, main, written
from course_tools.questions import constant_question, graded_function, library_names_used_source

# --------------------------------------------------------------------------
# Exercise rules: what each function answer must not use. One constant per answer writes the
# cell's metadata (grading enforces the rule: autograder/rules.py) and the check at the top of
# its test cell (cnnlib.checks.check_rule). The numbers (S2_C3_WEIGHTS, ...) declare no rule of
# their own, but they run in the same kernel: while grading, cnnlib's layers are missing for them too.
# --------------------------------------------------------------------------

#: cnnlib's layers (their output_shape and parameters), nn.count_parameters, nn.summary, the
#: output-size helpers of cnnlib.conv and cnnlib.pool, the models and widgets, and torch.
LAYER_LIBRARIES = ["cnnlib.nn", "cnnlib.conv", "cnnlib.pool", "cnnlib.models", "cnnlib.widgets", "torch"]
_NOT_AVAILABLE = ("cnnlib's layers and helpers (cnnlib.nn with count_parameters and summary, cnnlib.conv, "
                  "cnnlib.pool, cnnlib.models, cnnlib.widgets) and torch are not available")
RULE_CONV_OUTPUT_SHAPE = {"forbid": LAYER_LIBRARIES, "rule": f"write the formula yourself: {_NOT_AVAILABLE}"}
RULE_POOL_OUTPUT_SHAPE = {"forbid": LAYER_LIBRARIES, "rule": f"write the formula yourself: {_NOT_AVAILABLE}"}
RULE_CONV_PARAM_COUNT = {"forbid": LAYER_LIBRARIES, "rule": f"count with your own formula: {_NOT_AVAILABLE}"}
RULE_LINEAR_PARAM_COUNT = {"forbid": LAYER_LIBRARIES, "rule": f"count with your own formula: {_NOT_AVAILABLE}"}


def constant(name, comment, solution, kind, hidden):
    """The question of the module-level constant ``name``: the visible test checks the type only
    (``kind`` "number" or "shape"), ``hidden`` the value."""
    if kind == "number":
        visible = (f'check_true("{name} is a whole number", is_whole_number({name}),\n'
                   f'           f"got {{{name}!r}}: write an int such as 1234 or 10**6")')
    else:
        visible = (f'check_true("{name} is a shape of three whole numbers (C, H, W)", as_shape({name}) is not None '
                   f'and len(as_shape({name})) == 3,\n'
                   f'           f"got {{{name}!r}}: write a tuple such as (16, 10, 10)")')
    return constant_question(name, comment, solution, visible, hidden)


# --------------------------------------------------------------------------
# the notebook
# --------------------------------------------------------------------------

INTRO = r"""
# Homework: shapes and parameters of convolutional networks

Before you train a network, you should be able to say what shape every layer
produces and how many numbers it has to learn. In this homework you write the
four formulas that answer those questions, then use them on three famous
networks: logistic regression on MNIST, LeNet-5 and AlexNet, and on the
example that motivates convolution in the first place.

| part | you write | points |
| --- | --- | --- |
| 1 | `conv_output_shape`, `pool_output_shape` | 3 + 2 |
| 2 | `conv_param_count`, `linear_param_count` | 2 + 2 |
| 3 | LeNet-5: `S2_C3_WEIGHTS`, `LENET5_MODERN_PARAMS` | 1 + 1 |
| 4 | why convolution: `FC_200_PARAMS`, `CONV_100_PARAMS` and a written answer | 1 + 1 + 2 (by hand) |
| 5 | `LOGREG_MNIST_PARAMS` | 1 |
| 6 | AlexNet: `ALEXNET_CONV1_SHAPE`, `ALEXNET_CONV1_PARAMS`, `ALEXNET_POOL1_SHAPE`, `ALEXNET_FC6_PARAMS` | 4 × 1 |

**How to work**

- Write each function in its answer cell, where it says `YOUR CODE HERE`, and
  delete the `raise NotImplementedError()` line. Keep the names and the
  arguments. Write the formulas yourself: the tests of parts 1-2 check that you
  do not call `cnnlib` (you will use it to *check* your answers in part 3).
  While grading, cnnlib's layers and output-size helpers do not exist in your
  kernel (for the numbers too), so an answer that calls them fails.
- Numbers you are asked for (in CAPITALS) go into their own cell as
  `NAME = ...`. Work them out by hand or with a short expression; you may also
  call your own functions, but then a bug in a function costs points twice.
- Each test cell prints `ok: ...` or stops with what it expected, what it got,
  and often the *likely mistake*. For the numbers, the visible test only checks
  that you wrote a number; the value is checked when grading. Hidden tests with
  other sizes are added for the functions too: write general code.
- Before you hand in: *Kernel → Restart & Run All*, and check that no cell
  fails. Do not delete, copy or reorder cells.

**Notation** (as in the lectures). An input volume has $C$ channels of
$H \times W$ pixels, written `(C, H, W)`. A convolutional layer has $F$
filters (`out_channels`) of $K_h \times K_w$ pixels (`kernel_size`), moves
them by a stride $s$ and adds $p$ zeros on **each** side (`padding`). A number
`k` for `kernel_size`, `stride` or `padding` means the pair `(k, k)`; a pair is
`(rows, columns)`.
"""

SETUP_IMPORTS = r'''
import numbers
import os
import types

import cnnlib
import numpy as np

from cnnlib.checks import check_equal, check_true


def is_whole_number(value):
    """True for 7, np.int64(7) or 7.0; False for 7.5, "7", True or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return float(value).is_integer()


def as_shape(value):
    """A tuple of ints if `value` is a sequence of whole numbers, else None (the tests compare shapes so)."""
    try:
        items = list(value)
    except TypeError:
        return None
    if not all(is_whole_number(item) for item in items):
        return None
    return tuple(int(item) for item in items)


''' + library_names_used_source(("cnnlib", "torch", "tensorflow", "keras"),
    "Names from deep-learning libraries that `function` uses (the tests of parts 1-2 allow none).") + r'''


print("cnnlib", cnnlib.__version__, "is ready")
'''

PART1 = r"""
## Part 1 — Output shapes (3 + 2 points)

### Convolution

A filter of $K_h \times K_w$ pixels slides over the padded input, $s$ pixels at
a time. Along the rows, the padded input has $H + 2p$ pixels (the $p$ zeros
are added at the top **and** at the bottom). The first window starts at row 0,
and each further step of $s$ rows must still fit entirely:

$$
H' = \left\lfloor \frac{H + 2p - K_h}{s} \right\rfloor + 1, \qquad
W' = \left\lfloor \frac{W + 2p - K_w}{s} \right\rfloor + 1 .
$$

The $+1$ counts the first window; the floor drops a last window that would
stick out past the border. Every filter produces one output channel, so the
output volume is $F \times H' \times W'$, whatever $C$ is.

**Worked examples.**

- Input `(3, 7, 7)`, 2 filters of 3×3, stride 2, padding 1:
  $H' = \lfloor (7 + 2 - 3) / 2 \rfloor + 1 = 3 + 1 = 4$ → `(2, 4, 4)`.
- Input `(1, 8, 8)`, 4 filters of 3×3, stride 2, no padding:
  $\lfloor (8 - 3) / 2 \rfloor + 1 = \lfloor 2.5 \rfloor + 1 = 3$ → `(4, 3, 3)`.
  Use integer division `//`: sizes are whole numbers.

Write `conv_output_shape(input_shape, out_channels, kernel_size, stride=1,
padding=0)` that returns the tuple `(F, H', W')`. `kernel_size`, `stride` and
`padding` are each an int or a pair `(rows, columns)`; a tiny helper that turns
an int `k` into `(k, k)` keeps the code short.
"""

CONV_OUTPUT_SHAPE = r'''
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    """Shape (F, H', W') of the output of a convolutional layer.

    Parameters
    ----------
    input_shape : (int, int, int)
        (C, H, W) of the input volume.
    out_channels : int
        Number of filters F.
    kernel_size, stride, padding : int or (int, int)
        K, s and p; a pair is (rows, columns). p zeros are added on each side.

    Returns
    -------
    (int, int, int)
        (F, (H + 2p - K_h) // s + 1, (W + 2p - K_w) // s + 1).
    """
    ### BEGIN SOLUTION
    def pair(value):
        return (value, value) if isinstance(value, numbers.Integral) else tuple(value)

    _, height, width = input_shape
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = pair(kernel_size), pair(stride), pair(padding)
    out_height = (height + 2 * p_h - k_h) // s_h + 1
    out_width = (width + 2 * p_w - k_w) // s_w + 1
    return (out_channels, out_height, out_width)
    ### END SOLUTION
'''

TEST_CONV_OUTPUT_SHAPE = r'''
from cnnlib.conv import conv_output_size

check_true("conv_output_shape is your own formula (no cnnlib inside)", not library_names_used(conv_output_shape),
           f"it uses {library_names_used(conv_output_shape)}: write the formula yourself")


def pair(value):
    return (value, value) if isinstance(value, numbers.Integral) else tuple(value)


def conv_shape_mistakes(input_shape, out_channels, kernel_size, stride, padding):
    """Wrong shapes that the common mistakes give, with the hint for each."""
    c, h, w = input_shape
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = pair(kernel_size), pair(stride), pair(padding)

    def rule(n, k, s, p):
        return (n + 2 * p - k) // s + 1

    def shape(size):            # apply a wrong rule for one axis to both axes
        return (out_channels, size(h, k_h, s_h, p_h), size(w, k_w, s_w, p_w))

    candidates = [
        (shape(lambda n, k, s, p: (n + 2 * p - k) // s),
         "the +1 is missing: (H + 2p - K) // s counts the steps, add 1 for the first window"),
        (shape(lambda n, k, s, p: (n - k) // s + 1),
         "the padding was ignored: the padded input has H + 2p rows"),
        (shape(lambda n, k, s, p: (n + p - k) // s + 1),
         "the padding was counted once: p zeros are added on both sides, so H + 2p"),
        (shape(lambda n, k, s, p: n + 2 * p - k + 1),
         "the stride was ignored: divide (H + 2p - K) by s"),
        (shape(lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1),
         "rounded up: a window that would stick out past the border is not used, so round down (//)"),
        (lambda got: got is not None and len(got) == 3 and not all(is_whole_number(v) for v in got),
         "true division / gives fractions: sizes are whole numbers, use //"),
        ((c,) + shape(rule)[1:], "the output has one channel per filter: F = out_channels, not C"),
        ((out_channels, rule(h, k_w, s_w, p_w), rule(w, k_h, s_h, p_h)),
         "rows and columns are mixed up: a pair is (rows, columns), the height uses the first number"),
        (lambda got: got is not None and len(got) == 2, "return all three numbers (F, H', W')"),
    ]
    merged = []                 # two mistakes that give the same shape here share one message
    for candidate, hint in candidates:
        same = [i for i, (other, _) in enumerate(merged) if not callable(candidate) and other == candidate]
        if same:
            merged[same[0]] = (candidate, merged[same[0]][1] + "; or " + hint)
        else:
            merged.append((candidate, hint))
    return merged


def check_conv_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = pair(kernel_size), pair(stride), pair(padding)
    expected = (out_channels, conv_output_size(input_shape[1], k_h, s_h, p_h),
                conv_output_size(input_shape[2], k_w, s_w, p_w))
    got = conv_output_shape(input_shape, out_channels, kernel_size, stride=stride, padding=padding)
    shape = as_shape(got)
    check_equal(f"conv_output_shape({input_shape}, {out_channels}, kernel_size={kernel_size}, stride={stride}, "
                f"padding={padding})", shape if shape is not None else got, expected,
                mistakes=conv_shape_mistakes(input_shape, out_channels, kernel_size, stride, padding))


check_conv_shape((1, 32, 32), 6, 5)                              # LeNet-5, C1
check_conv_shape((1, 28, 28), 8, 5, stride=1, padding=2)         # padding 2 keeps 28x28
check_conv_shape((3, 7, 7), 2, 3, stride=2, padding=1)           # worked example 1
check_conv_shape((1, 8, 8), 4, 3, stride=2)                      # worked example 2: the floor
check_conv_shape((16, 14, 14), 32, 3, stride=1, padding=1)       # "same" padding keeps 14x14
check_conv_shape((3, 10, 12), 4, (3, 5), stride=(1, 2), padding=(1, 0))
### BEGIN HIDDEN TESTS
check_conv_shape((64, 56, 56), 128, 3, stride=2, padding=1)
check_conv_shape((4, 30, 30), 10, 7, stride=1, padding=3)
check_conv_shape((2, 9, 17), 5, (2, 4), stride=(3, 2), padding=(0, 3))
check_conv_shape((3, 5, 5), 1, 5)
check_conv_shape((3, 227, 227), 96, 11, stride=4)
check_conv_shape((8, 13, 11), 6, 3, stride=3, padding=2)
### END HIDDEN TESTS
'''

PART1_POOL = r"""
### Pooling

A pooling layer slides a $K \times K$ window with stride $s$ over every channel
**separately** (it has no filters), usually without padding:

$$
H' = \left\lfloor \frac{H - K_h}{s} \right\rfloor + 1, \qquad
W' = \left\lfloor \frac{W - K_w}{s} \right\rfloor + 1, \qquad C' = C .
$$

With the common 2×2 window and stride 2 this halves the size, but when the
windows overlap ($K > s$, as in AlexNet's 3×3 windows with stride 2) it is
*not* $H / s$: `(4, 8, 8)` with $K = 3$, $s = 2$ gives
$\lfloor (8 - 3) / 2 \rfloor + 1 = 3$ → `(4, 3, 3)`, not 4.

Write `pool_output_shape(input_shape, kernel_size, stride)` returning `(C, H', W')`
(`kernel_size` and `stride` are an int or a pair).
"""

POOL_OUTPUT_SHAPE = r'''
def pool_output_shape(input_shape, kernel_size, stride):
    """Shape (C, H', W') of the output of a pooling layer (no padding).

    Parameters
    ----------
    input_shape : (int, int, int)
        (C, H, W).
    kernel_size, stride : int or (int, int)
        Window size K and stride s; a pair is (rows, columns).

    Returns
    -------
    (int, int, int)
        (C, (H - K_h) // s + 1, (W - K_w) // s + 1).
    """
    ### BEGIN SOLUTION
    def pair(value):
        return (value, value) if isinstance(value, numbers.Integral) else tuple(value)

    channels, height, width = input_shape
    (k_h, k_w), (s_h, s_w) = pair(kernel_size), pair(stride)
    return (channels, (height - k_h) // s_h + 1, (width - k_w) // s_w + 1)
    ### END SOLUTION
'''

TEST_POOL_OUTPUT_SHAPE = r'''
from cnnlib import nn

check_true("pool_output_shape is your own formula (no cnnlib inside)", not library_names_used(pool_output_shape),
           f"it uses {library_names_used(pool_output_shape)}: write the formula yourself")


def pair(value):
    return (value, value) if isinstance(value, numbers.Integral) else tuple(value)


def pool_shape_mistakes(input_shape, kernel_size, stride):
    c, h, w = input_shape
    (k_h, k_w), (s_h, s_w) = pair(kernel_size), pair(stride)
    return [
        ((c, h // s_h, w // s_w),
         "divided the size by the stride: the output is (H - K) // s + 1, which differs from H // s "
         "when the windows overlap (K > s)"),
        ((c, h // k_h, w // k_w), "divided the size by the window: the output is (H - K) // s + 1"),
        ((c, (h - k_h) // s_h, (w - k_w) // s_w),
         "the +1 is missing: (H - K) // s counts the steps, add 1 for the first window"),
        ((c, -(-(h - k_h) // s_h) + 1, -(-(w - k_w) // s_w) + 1),
         "rounded up: a window that would stick out past the border is not used, so round down (//)"),
        (lambda got: got is not None and len(got) == 3 and got[0] != c,
         "pooling keeps the number of channels: it works on every channel separately"),
        (lambda got: got is not None and len(got) == 3 and not all(is_whole_number(v) for v in got),
         "true division / gives fractions: sizes are whole numbers, use //"),
    ]


def check_pool_shape(input_shape, kernel_size, stride):
    expected = nn.MaxPool2d(kernel_size, stride=stride).output_shape(input_shape)
    got = pool_output_shape(input_shape, kernel_size, stride)
    shape = as_shape(got)
    check_equal(f"pool_output_shape({input_shape}, kernel_size={kernel_size}, stride={stride})",
                shape if shape is not None else got, tuple(expected),
                mistakes=pool_shape_mistakes(input_shape, kernel_size, stride))


check_pool_shape((6, 28, 28), 2, 2)              # LeNet-5, S2
check_pool_shape((4, 8, 8), 3, 2)                # overlapping windows: the worked example
check_pool_shape((16, 10, 10), 2, 2)
check_pool_shape((3, 9, 12), (3, 2), (3, 2))
### BEGIN HIDDEN TESTS
check_pool_shape((96, 55, 55), 3, 2)
check_pool_shape((256, 13, 13), 3, 2)
check_pool_shape((8, 7, 11), (2, 3), (2, 3))
check_pool_shape((5, 9, 9), 3, 3)
check_pool_shape((2, 11, 11), 2, 2)
check_pool_shape((7, 20, 14), 4, 2)
### END HIDDEN TESTS
'''

PART2 = r"""
## Part 2 — Parameter counts (2 + 2 points)

### Convolutional layer

One filter looks at **all** $C$ input channels: it is a small volume of
$C \times K_h \times K_w$ weights, plus **one** bias. A layer with $F$ filters
therefore learns

$$
\#\text{params} = F \cdot (C \cdot K_h \cdot K_w) + F .
$$

The weights are *shared*: the same filter is used at every position, so the
count does not depend on $H$ and $W$. With `bias=False` the $+F$ disappears.

**Worked example.** LeNet-5's C1: 6 filters of 5×5 on a 1-channel image:
$6 \cdot (1 \cdot 5 \cdot 5) + 6 = 156$. Two 3×3 filters on an RGB image:
$2 \cdot (3 \cdot 3 \cdot 3) + 2 = 56$.

### Fully connected (linear) layer

Every one of the $n_\text{out}$ output units has one weight per input and one bias:

$$
\#\text{params} = n_\text{out} \cdot n_\text{in} + n_\text{out} .
$$

**Worked example.** LeNet-5's layer from the 400 flattened values to 120 units:
$120 \cdot 400 + 120 = 48{,}120$.

Write `conv_param_count(in_channels, out_channels, kernel_size, bias=True)`
(`kernel_size` an int or a pair) and `linear_param_count(in_features,
out_features, bias=True)`; both return an `int`.
"""

CONV_PARAM_COUNT = r'''
def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    """Number of learned parameters of a convolutional layer.

    Parameters
    ----------
    in_channels : int
        C, channels of the input.
    out_channels : int
        F, number of filters.
    kernel_size : int or (int, int)
        (K_h, K_w).
    bias : bool
        One bias per filter if True.

    Returns
    -------
    int
        F * (C * K_h * K_w) + F (without the + F if bias is False).
    """
    ### BEGIN SOLUTION
    k_h, k_w = (kernel_size, kernel_size) if isinstance(kernel_size, numbers.Integral) else kernel_size
    weights = out_channels * in_channels * k_h * k_w
    return weights + (out_channels if bias else 0)
    ### END SOLUTION
'''

TEST_CONV_PARAM_COUNT = r'''
from cnnlib import nn

check_true("conv_param_count is your own formula (no cnnlib inside)", not library_names_used(conv_param_count),
           f"it uses {library_names_used(conv_param_count)}: write the formula yourself")


def conv_count_mistakes(in_channels, out_channels, kernel_size, bias):
    k_h, k_w = (kernel_size, kernel_size) if isinstance(kernel_size, numbers.Integral) else kernel_size
    weights = out_channels * in_channels * k_h * k_w
    mistakes = []
    if bias:
        mistakes += [
            (weights, "the biases are missing: every filter has one bias, add out_channels"),
            (2 * weights, "one bias per weight: a filter has a single bias, so add out_channels, not the weights"),
            (weights + 1, "one bias for the whole layer: every filter has its own bias, add out_channels"),
            (out_channels * k_h * k_w + out_channels,
             "the input channels are missing: a filter spans all of them, C * K_h * K_w weights"),
            (out_channels * in_channels * k_h * k_h + out_channels,
             "a (K_h, K_w) kernel has K_h * K_w weights per channel, not K_h * K_h"),
            (weights + in_channels, "one bias per input channel: the biases belong to the filters, out_channels"),
        ]
    else:
        mistakes += [
            (weights + out_channels, "bias=False: the layer has no biases, count the weights only"),
            (out_channels * k_h * k_w, "the input channels are missing: a filter spans all of them"),
        ]
    return mistakes


def check_conv_count(in_channels, out_channels, kernel_size, bias=True):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
    check_equal(f"conv_param_count({in_channels}, {out_channels}, {kernel_size}, bias={bias})",
                conv_param_count(in_channels, out_channels, kernel_size, bias=bias), nn.count_parameters(layer),
                mistakes=conv_count_mistakes(in_channels, out_channels, kernel_size, bias))


check_conv_count(1, 6, 5)                      # LeNet-5, C1: 156
check_conv_count(3, 2, 3)                      # worked example: 56
check_conv_count(3, 2, 3, bias=False)
check_conv_count(6, 16, 5)
check_conv_count(3, 8, (1, 7))
### BEGIN HIDDEN TESTS
check_conv_count(64, 128, (3, 5), bias=False)
check_conv_count(16, 120, 5)
check_conv_count(256, 384, 3)
check_conv_count(1, 100, 5, bias=False)
check_conv_count(5, 7, (2, 9))
### END HIDDEN TESTS
'''

LINEAR_PARAM_COUNT = r'''
def linear_param_count(in_features, out_features, bias=True):
    """Number of learned parameters of a fully connected layer.

    Parameters
    ----------
    in_features, out_features : int
        n_in and n_out.
    bias : bool
        One bias per output unit if True.

    Returns
    -------
    int
        n_out * n_in + n_out (without the + n_out if bias is False).
    """
    ### BEGIN SOLUTION
    return out_features * in_features + (out_features if bias else 0)
    ### END SOLUTION
'''

TEST_LINEAR_PARAM_COUNT = r'''
from cnnlib import nn

check_true("linear_param_count is your own formula (no cnnlib inside)", not library_names_used(linear_param_count),
           f"it uses {library_names_used(linear_param_count)}: write the formula yourself")


def linear_count_mistakes(in_features, out_features, bias):
    weights = in_features * out_features
    if not bias:
        return [(weights + out_features, "bias=False: the layer has no biases, count the weights only")]
    return [
        (weights, "the biases are missing: every output unit has one bias, add out_features"),
        (2 * weights, "one bias per weight: an output unit has a single bias, so add out_features"),
        (weights + in_features, "one bias per input: the biases belong to the output units, add out_features"),
        (weights + 1, "one bias for the whole layer: every output unit has its own bias"),
    ]


def check_linear_count(in_features, out_features, bias=True, expected=None):
    if expected is None:         # count the parameters of a real cnnlib layer
        expected = nn.count_parameters(nn.Linear(in_features, out_features, bias=bias))
    check_equal(f"linear_param_count({in_features}, {out_features}, bias={bias})",
                linear_param_count(in_features, out_features, bias=bias), expected,
                mistakes=linear_count_mistakes(in_features, out_features, bias))


check_linear_count(400, 120)                   # LeNet-5: 48,120
check_linear_count(84, 10, bias=False)
check_linear_count(3, 2)
### BEGIN HIDDEN TESTS
check_linear_count(784, 10)
check_linear_count(120, 84)
check_linear_count(5, 7, bias=False)
check_linear_count(9216, 4096, expected=9216 * 4096 + 4096)   # too big to build here: counted by hand
### END HIDDEN TESTS
'''

PART3 = r"""
## Part 3 — LeNet-5 (1 + 1 points)

LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) reads a 1×32×32 image:

| layer | what | output |
| --- | --- | --- |
| C1 | 6 filters of 5×5 | 6×28×28 |
| S2 | 2×2 pooling, stride 2 | 6×14×14 |
| C3 | 16 filters of 5×5 | 16×10×10 |
| S4 | 2×2 pooling, stride 2 | 16×5×5 |
| C5 | fully connected, 400 → 120 | 120 |
| F6 | fully connected, 120 → 84 | 84 |
| output | fully connected, 84 → 10 | 10 |

1. `S2_C3_WEIGHTS`: in the 1998 paper, each C3 map looks at only *some* of the
   six S2 maps (a sparse connection table, to save computation and break
   symmetry). Suppose instead that C3 is an ordinary convolution: each of
   its 16 filters looks at **all 6** S2 maps through 5×5 kernels. How many
   **weights** does C3 have? Count weights only, **no biases**.
2. `LENET5_MODERN_PARAMS`: the modern LeNet-5 of the table (ordinary C3,
   max pooling without parameters, ReLU). How many parameters does it learn in
   total, **biases included**?
"""

PART3_CHECK_MD = r"""
### Check yourself

`cnnlib` builds this network as `lenet5("modern")`, and `nn.summary` runs one
zero image through it and lists what every layer really produced and learned.
The cell below prints that table next to what your functions of parts 1-2
predict (not graded: use it to find your own mistakes).
"""

LENET_CHECK = r'''
# Not graded: your functions against the table cnnlib computes by running the model.
if os.environ.get("NBGRADER_EXECUTION"):  # set while grading
    print("skipped while grading: it runs cnnlib's layers, which the rules hide")
else:
    from cnnlib import nn
    from cnnlib.models import lenet5

    model = lenet5("modern")
    table = nn.summary(model, (1, 32, 32))
    print(table)
    print()
    shape = (1, 32, 32)
    for (name, kind, real_shape, real_count), layer in zip(table.rows, model.layers):
        try:
            if kind == "Conv2d":
                mine = (conv_output_shape(shape, layer.out_channels, layer.kernel_size, layer.stride, layer.padding),
                        conv_param_count(layer.in_channels, layer.out_channels, layer.kernel_size))
            elif kind == "MaxPool2d":
                mine = (pool_output_shape(shape, layer.kernel_size, layer.stride), 0)
            elif kind == "Linear":
                mine = ((layer.out_features,), linear_param_count(layer.in_features, layer.out_features))
            else:
                mine = (tuple(real_shape), 0)
        except Exception as error:             # a function that does not work yet
            mine = (f"error: {error!r}", "?")
        verdict = "ok" if (mine[0] == tuple(real_shape) and mine[1] == real_count) else "<-- differs"
        print(f"{name:8s} yours: {str(mine[0]):16s} {str(mine[1]):>8s}   cnnlib: {str(tuple(real_shape)):16s} "
              f"{real_count:>8,}   {verdict}")
        shape = tuple(real_shape)
'''

S2_C3 = ("C3 as an ordinary convolution: 16 filters of 5x5 over all 6 S2 maps, weights only (no biases).",
         "S2_C3_WEIGHTS = 16 * (6 * 5 * 5)")
TEST_S2_C3_HIDDEN = r'''
from cnnlib import nn
from cnnlib.models import LENET5_C3_TABLE

dense = nn.count_parameters(nn.Conv2d(6, 16, 5, bias=False))       # an ordinary C3 built with cnnlib
sparse = int(LENET5_C3_TABLE.sum()) * 5 * 5                           # the paper's table: 60 of the 96 pairs
check_equal("S2_C3_WEIGHTS", S2_C3_WEIGHTS, dense, mistakes=[
    (16 * 5 * 5, "the input maps are missing: every filter spans all 6 S2 maps, 6 * 5 * 5 weights each"),
    (dense + 16, "the question asks for the weights only: leave out the 16 biases"),
    (sparse, "that is the paper's sparse table (60 connections); the question assumes every C3 map sees all 6"),
    (sparse + 16, "1,516 is the paper's sparse C3 with biases; the question assumes every C3 map sees all 6 S2 maps"),
    (6 * 5 * 5, "that is one filter; C3 has 16 of them"),
])
'''

LENET_TOTAL = ("Total number of parameters (weights and biases) of the modern LeNet-5.",
               "LENET5_MODERN_PARAMS = (6 * 1 * 5 * 5 + 6) + (16 * 6 * 5 * 5 + 16) + (120 * 400 + 120) \\\n"
               "    + (84 * 120 + 84) + (10 * 84 + 10)")
TEST_LENET_TOTAL_HIDDEN = r'''
from cnnlib import nn
from cnnlib.models import lenet5

expected = nn.count_parameters(lenet5("modern"))
check_equal("LENET5_MODERN_PARAMS", LENET5_MODERN_PARAMS, expected, mistakes=[
    (expected - (6 + 16 + 120 + 84 + 10), "the biases are missing: every filter and every unit has one"),
    (expected - 16 * 5 * 5 * 5, "C3's filters need all 6 input maps: 16 * (6 * 5 * 5) + 16 = 2,416"),
    (expected - 850, "the output layer (84 -> 10, 850 parameters) is missing"),
    (expected + 2 * (6 + 16), "max pooling learns nothing: S2 and S4 have 0 parameters"),
])
check_equal("LENET5_MODERN_PARAMS agrees with the number quoted for this network", LENET5_MODERN_PARAMS, 61706)
'''

PART4 = r"""
## Part 4 — Why convolution? (1 + 1 + 2 points)

A 200×200 grayscale image has 40,000 pixels. Count **weights only, without
biases**, in both questions (so that the comparison is about the weights).

1. `FC_200_PARAMS`: a fully connected layer maps the image to 40,000 hidden
   units (one per pixel). How many weights?
2. `CONV_100_PARAMS`: a convolutional layer with 100 filters of 5×5 reads the
   same image. How many weights?

Big numbers: write `10**9` or `1_000_000_000` rather than counting zeros.
"""

FC_200 = ("Fully connected: 200x200 image -> 40,000 hidden units, weights only (no biases).",
          "FC_200_PARAMS = (200 * 200) * 40_000")
TEST_FC_200_HIDDEN = r'''
pixels, hidden = 200 * 200, 40_000
check_equal("FC_200_PARAMS", FC_200_PARAMS, pixels * hidden, mistakes=[
    (pixels * hidden + hidden, "the question asks for the weights only: leave out the 40,000 biases"),
    (pixels, "that is one hidden unit: each of the 40,000 units has its own 40,000 weights"),
    (pixels + hidden, "fully connected means every unit is connected to every pixel: multiply, do not add"),
    (200 * hidden, "the image has 200 * 200 pixels, all of them inputs of every unit"),
])
'''

CONV_100 = ("Convolution: 100 filters of 5x5 on the same grayscale image, weights only (no biases).",
            "CONV_100_PARAMS = 100 * (1 * 5 * 5)")
TEST_CONV_100_HIDDEN = r'''
from cnnlib import nn

expected = nn.count_parameters(nn.Conv2d(1, 100, 5, bias=False))
positions = (200 - 5 + 1) ** 2
check_equal("CONV_100_PARAMS", CONV_100_PARAMS, expected, mistakes=[
    (expected + 100, "the question asks for the weights only: leave out the 100 biases"),
    (5 * 5, "that is one filter; the layer has 100"),
    (expected * positions, "the weights are shared: the same filter is used at every position, "
                           "so the count does not depend on the image size"),
    (expected * 200 * 200, "the weights are shared: the same filter is used at every pixel"),
])
'''

WRITTEN = r"""
### BEGIN SOLUTION
*Model answer (any answer with the same substance gets full marks):*
The fully connected layer has $1.6 \cdot 10^9$ weights, the convolutional layer
2,500, about 640,000 times fewer. Two assumptions make the difference.
**Local connectivity**: a hidden unit looks only at a 5×5 neighbourhood
instead of all 40,000 pixels, because nearby pixels are what form edges and
small patterns. **Weight sharing**: the same 25 weights are used at every
position, because a pattern worth detecting in one place (an edge, a corner)
is worth detecting everywhere; this also makes the layer equivariant to
translation. The price: a convolutional unit cannot combine pixels that are
far apart in one step, nor treat the same pattern differently depending on
where it appears (e.g. "an eye is only expected in the upper half"); deeper
layers and pooling have to build up that global context.
### END SOLUTION
"""

PART4_WRITTEN_MD = r"""
### Written answer (2 points, graded by hand)

In 3-5 sentences: using your two numbers, name the **two assumptions** about
images that let a convolutional layer use so few weights, say why each is
reasonable for images, and name one thing a convolutional layer gives up
compared with the fully connected one.
"""

PART5 = r"""
## Part 5 — Logistic regression on MNIST (1 point)

`LOGREG_MNIST_PARAMS`: multinomial logistic regression (a single linear layer
followed by softmax) classifies the 28×28 MNIST digits into 10 classes.
How many parameters does it learn, **biases included**?
"""

LOGREG = ("Softmax regression on 28x28 digits, 10 classes, weights and biases.",
          "LOGREG_MNIST_PARAMS = 10 * (28 * 28) + 10")
TEST_LOGREG_HIDDEN = r'''
from cnnlib import nn

expected = nn.count_parameters(nn.Linear(28 * 28, 10))
check_equal("LOGREG_MNIST_PARAMS", LOGREG_MNIST_PARAMS, expected, mistakes=[
    (28 * 28 * 10, "the biases are missing: each of the 10 classes has one"),
    (28 * 28 + 1, "that is one class (binary logistic regression); there are 10 classes"),
    (28 * 28, "that is one class without its bias; there are 10 classes, each with a bias"),
    (28 * 10 + 10, "the input is all 28 * 28 = 784 pixels, not one row"),
])
'''

PART6 = r"""
## Part 6 — AlexNet (4 × 1 point)

AlexNet (Krizhevsky, Sutskever & Hinton, *ImageNet Classification with Deep
Convolutional Neural Networks*, NIPS 2012) won ImageNet 2012 and started the
deep-learning era of computer vision. Its first layers, on a colour image:

| layer | what |
| --- | --- |
| input | 3×227×227 |
| conv1 | 96 filters of 11×11, stride 4, no padding, ReLU |
| pool1 | max pooling 3×3, **stride 2** (overlapping windows, section 3.4 of the paper) |
| ... | conv2 ... conv5, two more pools |
| after pool5 | 256×6×6 |
| fc6 | fully connected, 4,096 units |

(The paper says the input is 224×224, but with 11×11 filters and stride 4
only 227 gives whole numbers; every implementation uses 227.)

1. `ALEXNET_CONV1_SHAPE`: output shape of conv1, a tuple `(C, H, W)`.
2. `ALEXNET_CONV1_PARAMS`: parameters of conv1, **biases included**.
3. `ALEXNET_POOL1_SHAPE`: output shape of pool1, a tuple `(C, H, W)`.
4. `ALEXNET_FC6_PARAMS`: parameters of fc6, **biases included**.
"""

ALEX_CONV1_SHAPE = ("Output shape (C, H, W) of AlexNet's conv1.",
                    "ALEXNET_CONV1_SHAPE = (96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1)")
TEST_ALEX_CONV1_SHAPE_HIDDEN = r'''
from cnnlib import nn

expected = nn.Conv2d(3, 96, 11, stride=4).output_shape((3, 227, 227))      # cnnlib's layer
shape = as_shape(ALEXNET_CONV1_SHAPE)
check_equal("ALEXNET_CONV1_SHAPE", shape if shape is not None else ALEXNET_CONV1_SHAPE, tuple(expected), mistakes=[
    ((96, 54, 54), "(227 - 11) / 4 = 54 is the number of steps; add 1 for the first window "
                   "(the paper's 224 gives 54 too: that is why 227 is used)"),
    ((3, 55, 55), "the output has one channel per filter: 96"),
    ((96, 217, 217), "the stride was ignored: divide (227 - 11) by 4"),
    ((96, 56, 56), "rounded up: use the floor, (227 - 11) // 4 + 1"),
])
'''

ALEX_CONV1_PARAMS = ("Parameters of AlexNet's conv1, biases included.",
                     "ALEXNET_CONV1_PARAMS = 96 * (3 * 11 * 11) + 96")
TEST_ALEX_CONV1_PARAMS_HIDDEN = r'''
from cnnlib import nn

expected = nn.count_parameters(nn.Conv2d(3, 96, 11, stride=4))      # cnnlib's layer
check_equal("ALEXNET_CONV1_PARAMS", ALEXNET_CONV1_PARAMS, expected, mistakes=[
    (96 * 3 * 11 * 11, "the biases are missing: each of the 96 filters has one"),
    (96 * 11 * 11 + 96, "the filters span the 3 colour channels: 3 * 11 * 11 weights each "
                        "(the paper: 96 kernels of size 11 x 11 x 3)"),
    (96 * 11 * 11, "the filters span the 3 colour channels, and each has a bias"),
    (96 * 3 * 11 * 11 * 55 * 55, "the weights are shared over the 55 x 55 positions: count each filter once"),
])
check_equal("the paper's 96 kernels of 11 x 11 x 3, plus 96 biases", ALEXNET_CONV1_PARAMS, 96 * 11 * 11 * 3 + 96)
'''

ALEX_POOL1_SHAPE = ("Output shape (C, H, W) of AlexNet's pool1 (3x3 windows, stride 2).",
                    "ALEXNET_POOL1_SHAPE = (96, (55 - 3) // 2 + 1, (55 - 3) // 2 + 1)")
TEST_ALEX_POOL1_SHAPE_HIDDEN = r'''
from cnnlib import nn

expected = nn.MaxPool2d(3, stride=2).output_shape((96, 55, 55))      # cnnlib's layer
shape = as_shape(ALEXNET_POOL1_SHAPE)
check_equal("ALEXNET_POOL1_SHAPE", shape if shape is not None else ALEXNET_POOL1_SHAPE, tuple(expected), mistakes=[
    ((96, 18, 18), "the stride is 2, not 3: AlexNet's pooling windows overlap"),
    ((96, 26, 26), "the +1 is missing: (55 - 3) // 2 + 1"),
    ((96, 28, 28), "55 / 2 rounded up is 28, but the formula is (55 - 3) // 2 + 1 = 27"),
    ((256, 27, 27), "pooling keeps the 96 channels of conv1"),
])
# The paper lists 186,624 neurons in conv2, whose 5x5 filters with padding 2 keep pool1's size.
check_equal("conv2 neurons 27 * 27 * 256 (the paper's 186,624)", 256 * shape[1] * shape[2], 186_624)
'''

ALEX_FC6 = ("Parameters of AlexNet's fc6 (256x6x6 inputs -> 4,096 units), biases included.",
            "ALEXNET_FC6_PARAMS = 4096 * (256 * 6 * 6) + 4096")
TEST_ALEX_FC6_HIDDEN = r'''
from cnnlib import nn

inputs = 256 * 6 * 6
one_unit = nn.count_parameters(nn.Linear(inputs, 1))           # one fc6 unit built with cnnlib: 9,217
expected = 4096 * one_unit
check_equal("ALEXNET_FC6_PARAMS", ALEXNET_FC6_PARAMS, expected, mistakes=[
    (4096 * inputs, "the biases are missing: each of the 4,096 units has one"),
    (4096 * 4096 + 4096, "fc6 reads the flattened 256 x 6 x 6 = 9,216 values of pool5, not 4,096"),
    (4096 * 256 + 4096, "the 6 x 6 positions are inputs too: 256 * 6 * 6 = 9,216 inputs"),
    (4096 * 13 * 13 * 256 + 4096, "fc6 comes after pool5: its input is 6 x 6, not 13 x 13"),
])
'''

REFERENCES = r"""
---
**References.** Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, *Gradient-Based
Learning Applied to Document Recognition*, Proc. IEEE 86(11), 1998 (LeNet-5,
Table I: the C3 connections). A. Krizhevsky, I. Sutskever and G. E. Hinton,
*ImageNet Classification with Deep Convolutional Neural Networks*, NIPS 2012
(AlexNet, section 3.5 and figure 2).
"""


def build():
    return assignment_notebook(INTRO, SETUP_IMPORTS, [
        instructions("part1_conv_shape", PART1),
        *graded_function("conv_output_shape", 3, CONV_OUTPUT_SHAPE, TEST_CONV_OUTPUT_SHAPE, RULE_CONV_OUTPUT_SHAPE, check_defined=True),
        instructions("part1_pool_shape", PART1_POOL),
        *graded_function("pool_output_shape", 2, POOL_OUTPUT_SHAPE, TEST_POOL_OUTPUT_SHAPE, RULE_POOL_OUTPUT_SHAPE, check_defined=True),
        instructions("part2_counts", PART2),
        *graded_function("conv_param_count", 2, CONV_PARAM_COUNT, TEST_CONV_PARAM_COUNT, RULE_CONV_PARAM_COUNT, check_defined=True),
        *graded_function("linear_param_count", 2, LINEAR_PARAM_COUNT, TEST_LINEAR_PARAM_COUNT, RULE_LINEAR_PARAM_COUNT, check_defined=True),
        instructions("part3_lenet", PART3),
        *constant("S2_C3_WEIGHTS", *S2_C3, "number", TEST_S2_C3_HIDDEN),
        *constant("LENET5_MODERN_PARAMS", *LENET_TOTAL, "number", TEST_LENET_TOTAL_HIDDEN),
        instructions("part3_check", PART3_CHECK_MD),
        free_code("lenet-check", LENET_CHECK),
        instructions("part4_why_convolution", PART4),
        *constant("FC_200_PARAMS", *FC_200, "number", TEST_FC_200_HIDDEN),
        *constant("CONV_100_PARAMS", *CONV_100, "number", TEST_CONV_100_HIDDEN),
        instructions("part4_question", PART4_WRITTEN_MD),
        written("explain_weight_sharing", 2, WRITTEN),
        instructions("part5_logreg", PART5),
        *constant("LOGREG_MNIST_PARAMS", *LOGREG, "number", TEST_LOGREG_HIDDEN),
        instructions("part6_alexnet", PART6),
        *constant("ALEXNET_CONV1_SHAPE", *ALEX_CONV1_SHAPE, "shape", TEST_ALEX_CONV1_SHAPE_HIDDEN),
        *constant("ALEXNET_CONV1_PARAMS", *ALEX_CONV1_PARAMS, "number", TEST_ALEX_CONV1_PARAMS_HIDDEN),
        *constant("ALEXNET_POOL1_SHAPE", *ALEX_POOL1_SHAPE, "shape", TEST_ALEX_POOL1_SHAPE_HIDDEN),
        *constant("ALEXNET_FC6_PARAMS", *ALEX_FC6, "number", TEST_ALEX_FC6_HIDDEN),
        instructions("references", REFERENCES),
    ], test_time_limit=QUICK_TEST_SECONDS)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
