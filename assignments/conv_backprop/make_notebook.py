"""Write the nbgrader source notebook ``conv_backprop.ipynb`` of this folder.

The notebook is generated so that reviewers read plain Python, and so that the
cell metadata nbgrader relies on is written in one place. Run

    python assignments/conv_backprop/make_notebook.py           # (re)write the notebook
    python assignments/conv_backprop/make_notebook.py --check   # exit 1 if it is out of date

Cell kinds (nbgrader "create assignment" types):

- ``setup_cell``: the setup every notebook shares (``course_tools.notebooks.SETUP``), then the imports;
- ``instructions``: read-only markdown (locked);
- ``locked_code``: read-only code the student runs but cannot change;
- ``answer``: an autograded answer cell (``solution: true``), ``grade_id`` = the function name;
- ``tests``: an autograder test cell (``grade: true``, locked), ``grade_id`` = ``test_<function>``;
- ``written``: a manually graded markdown answer (``solution: true, grade: true``).
"""
from __future__ import annotations

import sys

from course_tools.notebooks import QUICK_TEST_SECONDS, assignment_notebook, instructions, locked_code, main, written
from course_tools.questions import graded_function

# ----------------------------------------------------------------------------
# Exercise rules: what each answer must not use. One constant per answer writes the cell's
# metadata (grading enforces the rule: autograder/rules.py) and the check at the top of its
# test cell (cnnlib.checks.check_rule).
# ----------------------------------------------------------------------------

#: cnnlib's convolution and pooling layers, their references and whatever does their work.
LAYERS = [
    "cnnlib.conv.conv2d_forward", "cnnlib.conv.conv2d_backward", "cnnlib.conv.conv2d_forward_reference",
    "cnnlib.conv.conv2d_backward_reference", "cnnlib.conv.im2col", "cnnlib.conv.col2im",
    "cnnlib.pool.maxpool2d_forward", "cnnlib.pool.maxpool2d_backward", "cnnlib.pool.maxpool2d_forward_reference",
    "cnnlib.pool.maxpool2d_backward_reference", "cnnlib.pool.avgpool2d_forward", "cnnlib.pool.avgpool2d_backward",
    "cnnlib.pool.avgpool2d_forward_reference", "cnnlib.pool.avgpool2d_backward_reference",
    "cnnlib.pool.l2pool2d_forward", "cnnlib.pool.l2pool2d_backward", "cnnlib.pool.l2pool2d_forward_reference",
    "cnnlib.pool.l2pool2d_backward_reference", "cnnlib.nn.Conv2d", "cnnlib.nn.MaxPool2d", "cnnlib.nn.AvgPool2d",
    "cnnlib.nn.L2Pool2d", "cnnlib.widgets", "scipy.signal", "scipy.ndimage", "torch",
]
LAYERS_RULE = ("write the loops yourself with NumPy: cnnlib's convolution and pooling layers (conv2d_*, "
               "im2col, col2im, *pool2d_*, their *_reference versions, nn.Conv2d and the pooling modules), "
               "scipy.signal, scipy.ndimage and torch are not available")
RULE_CONV_FORWARD = {"forbid": LAYERS, "rule": LAYERS_RULE}
RULE_CONV_BACKWARD_EXAMPLE = {"forbid": LAYERS, "rule": LAYERS_RULE.replace(
    "are not available", "are not available (correlate2d and convolve2d from cnnlib.conv are allowed)")}
RULE_CONV_BACKWARD = {"forbid": LAYERS, "rule": LAYERS_RULE}
RULE_GRADIENT_CHECK = {
    "forbid": ["cnnlib.gradcheck.numerical_gradient", "cnnlib.gradcheck.numerical_gradient_array",
               "cnnlib.gradcheck.check_module_gradients", *LAYERS],
    "rule": ("write the central differences yourself: cnnlib.gradcheck's numerical gradients "
             "(numerical_gradient, numerical_gradient_array, check_module_gradients) are not available "
             "(rel_error is allowed), nor are cnnlib's convolution and pooling layers"),
}
RULE_MAXPOOL_FORWARD = {"forbid": LAYERS, "rule": LAYERS_RULE}
RULE_MAXPOOL_BACKWARD = {"forbid": LAYERS, "rule": LAYERS_RULE}


# ----------------------------------------------------------------------------
# The notebook
# ----------------------------------------------------------------------------

INTRO = r"""
# Assignment: backpropagation through convolution and max pooling

In this assignment you write, with plain loops, the forward and backward passes
of a convolutional layer and of a max-pooling layer, work out the gradients of
the lecture's small example, and check gradients numerically.

| part | you write | points |
| --- | --- | --- |
| 1 | `conv_forward_naive` | 3 |
| 2 | `conv_backward_example` (the lecture's 3x3 example) | 2 |
| 3 | `conv_backward_naive` | 4 |
| 4 | `conv_gradient_check` | 2 |
| 5 | `maxpool_forward_naive` | 2 |
| 6 | `maxpool_backward_naive` | 3 |
| 7 | a short written answer (graded by hand) | 3 |

**How to work**

- Write your code where it says `# YOUR CODE HERE` and delete the line
  `raise NotImplementedError()`. Do not rename the functions or change their
  parameters: the grader calls them by name.
- Each function is followed by a test cell. A passing check prints `ok: ...`;
  a failing one stops with what it expected, what it got and, when it recognises
  the answer, the **likely mistake**. The grader also runs hidden tests on other
  shapes, strides and paddings, so make the code general, not just the visible
  cases.
- Do not call the library functions the tests compare against
  (`cnnlib.conv.conv2d_forward`, `conv2d_backward`, `cnnlib.pool.maxpool2d_*`
  and their `*_reference` versions, nor `scipy.signal` or `torch`) inside your
  answers: the point is to write the loops yourself. Each test cell starts by
  checking this rule; while grading, these functions do not exist in your
  kernel, so an answer that calls them fails. Read them afterwards if you like.
- Before you submit: *Kernel → Restart & Run All*, and check that no cell stops
  with an error.

**Notation** (NCHW, as in the lectures and in `cnnlib`): a batch `x` of shape
`(N, C, H, W)`, filters `w` of shape `(F, C, KH, KW)`, biases `b` of shape `(F,)`,
`stride` $s$ and zero padding `pad` $P$ on every side. The output has shape
`(N, F, OH, OW)` with

$$OH = \left\lfloor \frac{H + 2P - KH}{s} \right\rfloor + 1, \qquad
  OW = \left\lfloor \frac{W + 2P - KW}{s} \right\rfloor + 1 .$$
"""

SETUP_IMPORTS = r"""
import cnnlib
import numpy as np

from cnnlib.conv import conv_output_size, convolve2d, correlate2d
from cnnlib.gradcheck import rel_error

np.set_printoptions(precision=4, suppress=True)
"""

PART1 = r"""
## Part 1: the forward pass of a convolutional layer

Deep-learning "convolution" is a cross-correlation: the kernel slides over the
zero-padded input without being flipped. For every image `n`, filter `f` and
output position `(i, j)`:

$$\text{out}[n, f, i, j] = b[f] + \sum_{c=0}^{C-1} \sum_{u=0}^{KH-1} \sum_{v=0}^{KW-1}
  x_{\text{pad}}[n, c,\; i s + u,\; j s + v]\; w[f, c, u, v]$$

where `x_pad` is `x` with `pad` rows/columns of zeros added on each side
(`np.pad` can do it). Loop over `n`, `f`, `i`, `j`; the sum over `c, u, v` is one
`np.sum` of an elementwise product of a window with `w[f]`.

Return `(out, cache)` with **`cache = (x, w, b, stride, pad)`** exactly: the tests
of Part 3 build this tuple themselves and hand it to your `conv_backward_naive`.
"""

CONV_FORWARD = r'''
def conv_forward_naive(x, w, b, stride=1, pad=0):
    """Forward pass of a convolutional layer, with loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    stride : int
        Step between neighbouring windows (the same along rows and columns).
    pad : int
        Number of zero rows/columns added on each side of the image.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        OH = (H + 2*pad - KH) // stride + 1, OW = (W + 2*pad - KW) // stride + 1.
    cache : tuple
        (x, w, b, stride, pad)
    """
    ### BEGIN SOLUTION
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n_images, n_filters, oh, ow))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, stride, pad)
    return out, cache
'''

TEST_CONV_FORWARD = r'''
# Tests of conv_forward_naive. Oracle: cnnlib.conv.conv2d_forward (im2col, tested in cnnlib).
import numpy as np
from cnnlib.checks import check_close, check_equal, check_shape, check_true
from cnnlib.conv import conv2d_forward


def _check_conv_forward(x, w, b, stride, pad, label):
    expected, _ = conv2d_forward(x, w, b, stride=stride, pad=pad)
    result = conv_forward_naive(x, w, b, stride=stride, pad=pad)
    check_true(f"{label}: returns a pair (out, cache)", isinstance(result, tuple) and len(result) == 2,
               f"got {type(result).__name__} {result!r:.80}")
    out, cache = result
    (height, width), (kh, kw) = x.shape[2:], w.shape[2:]

    def shape_for(size):  # the output shape a per-axis size formula would give
        return (x.shape[0], w.shape[0], size(height, kh), size(width, kw))

    check_shape(f"{label}: out", out, expected.shape, mistakes=[
        (shape_for(lambda n, k: (n + 2 * pad - k) // stride),
         "off by one: the size is (H + 2*pad - KH) // stride + 1 (count the first window too)"),
        (shape_for(lambda n, k: (n - k) // stride + 1),
         "padding ignored: pad zeros on each side before sliding the kernel"),
        (shape_for(lambda n, k: (n + pad - k) // stride + 1),
         "padding added on one side only: pad goes on both sides (2*pad in total)"),
        (shape_for(lambda n, k: n + 2 * pad - k + 1),
         "stride ignored: neighbouring windows start `stride` pixels apart"),
        (shape_for(lambda n, k: -(-(n + 2 * pad - k) // stride) + 1),
         "rounded up: windows that do not fit are dropped, so use floor division //"),
    ])
    flipped, _ = conv2d_forward(x, w[:, :, ::-1, ::-1], b, stride=stride, pad=pad)
    check_close(f"{label}: out", out, expected, rtol=1e-7, atol=1e-9, mistakes=[
        (expected - b[None, :, None, None], "the bias b[f] is not added"),
        (expected + (x.shape[1] - 1) * b[None, :, None, None],
         "the bias is added once per input channel; add b[f] once per output value"),
        (flipped, "the kernel is flipped: the forward pass is a correlation, w[f, c, u, v] meets "
                  "x_pad[n, c, i*stride + u, j*stride + v]"),
    ])
    same = (isinstance(cache, tuple) and len(cache) == 5 and np.array_equal(cache[0], x)
            and np.array_equal(cache[1], w) and np.array_equal(cache[2], b)
            and cache[3] == stride and cache[4] == pad)
    check_true(f"{label}: cache is (x, w, b, stride, pad)", same,
               "return cache = (x, w, b, stride, pad): the backward tests build this tuple themselves")


rng = np.random.default_rng(0)
# The lecture's example: 3x3 input, 2x2 kernel, padding 1 -> 4x4 output.
x = np.array([[1., 2., 0.], [3., -1., 2.], [0., 1., 1.]]).reshape(1, 1, 3, 3)
w = np.array([[1., -1.], [2., 0.]]).reshape(1, 1, 2, 2)
_check_conv_forward(x, w, np.array([0.5]), stride=1, pad=1, label="lecture example (pad=1)")
# Several images, channels and filters; a kernel that is not square.
x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
_check_conv_forward(x, w, b, stride=1, pad=0, label="stride=1, pad=0")
_check_conv_forward(x, w, b, stride=1, pad=2, label="stride=1, pad=2")
x = rng.standard_normal((2, 3, 8, 8))
_check_conv_forward(x, w, b, stride=2, pad=0, label="stride=2, pad=0")
_check_conv_forward(x, w, b, stride=2, pad=1, label="stride=2, pad=1")
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(101)
x_hidden = rng_hidden.standard_normal((3, 2, 9, 10))
w_hidden, b_hidden = rng_hidden.standard_normal((2, 2, 4, 3)), rng_hidden.standard_normal(2)
_check_conv_forward(x_hidden, w_hidden, b_hidden, stride=3, pad=2, label="hidden: stride=3, pad=2")
_check_conv_forward(x_hidden, w_hidden[:, :, :1, :1], b_hidden, stride=1, pad=0, label="hidden: 1x1 kernel")
_check_conv_forward(x_hidden[:, :, :4, :3], w_hidden, b_hidden, stride=2, pad=0,
                    label="hidden: kernel as large as the image")
_check_conv_forward(x_hidden[:1, :1, :5, :5], w_hidden[:1, :1, :3, :3], b_hidden[:1], stride=2, pad=1,
                    label="hidden: one image, one channel, one filter")
### END HIDDEN TESTS
'''

PART2 = r"""
## Part 2: the lecture's example, backwards

One channel, one filter, stride 1: a $3\times3$ input $x$, a $2\times2$ kernel $w$
and padding 1, so $x_{\text{pad}}$ is $5\times5$ and the output $z$ is $4\times4$:

$$z[i, j] = \sum_{u=0}^{1}\sum_{v=0}^{1} x_{\text{pad}}[i+u,\, j+v]\; w[u, v].$$

Let $g = \partial L / \partial z$ (a $4\times4$ array: the upstream gradient).
Each weight touches every output, and each output gets every weight once, so the
chain rule gives:

- **Gradient of the kernel: a correlation of the padded input with $g$.**
  $$\frac{\partial L}{\partial w[u, v]} = \sum_{i,j} g[i, j]\; x_{\text{pad}}[i+u,\, j+v]$$
  That is `correlate2d(x_pad, g)`: $g$ ($4\times4$) slides over $x_{\text{pad}}$
  ($5\times5$), giving $2\times2$ values, the shape of $w$.
- **Gradient of the input: a full convolution of $g$ with the kernel.**
  Pixel $x_{\text{pad}}[r, t]$ meets $w[u, v]$ in output $z[r-u,\, t-v]$, so
  $$\frac{\partial L}{\partial x_{\text{pad}}[r, t]} = \sum_{u,v} g[r-u,\, t-v]\; w[u, v]$$
  (terms with an index outside $g$ are 0). Written as a sliding window over $g$,
  the kernel runs backwards: it is a correlation of $g$, zero-padded by
  $KH-1 = 1$, with the **flipped** kernel $w[::-1, ::-1]$ (rotated by 180°),
  i.e. a true convolution `convolve2d(g, w, pad=1)`. The result is $5\times5$,
  the gradient with respect to $x_{\text{pad}}$; the padding zeros are not
  inputs, so **cut the border off**: $\partial L/\partial x$ is the centre $3\times3$.

The numbers of the lecture:

$$x = \begin{pmatrix} 1 & 2 & 0\\ 3 & -1 & 2\\ 0 & 1 & 1\end{pmatrix},\quad
  w = \begin{pmatrix} 1 & -1\\ 2 & 0\end{pmatrix},\quad
  g = \frac{\partial L}{\partial z} = \begin{pmatrix} 1 & 0 & 0 & 1\\ 0 & 2 & 0 & 0\\ 0 & 0 & -1 & 0\\ 1 & 0 & 0 & 1\end{pmatrix}.$$

First work out $\partial L/\partial w$ (4 numbers) and $\partial L/\partial x$
(9 numbers) **on paper**. Then write `conv_backward_example`, which computes both
for any single-channel input, kernel and padding (stride 1) with
`correlate2d` / `convolve2d` from `cnnlib.conv` (imported above; one call each,
plus padding and slicing) or with short loops. The test compares it with
values worked out by hand; compare them with yours.
"""

CONV_BACKWARD_EXAMPLE = r'''
def conv_backward_example(x, w, dout, pad=1):
    """Gradients of a single-channel convolution (stride 1) as a correlation and a convolution.

    Forward: z = correlate2d(x, w, pad=pad), so z has shape (H + 2*pad - KH + 1, W + 2*pad - KW + 1).

    Parameters
    ----------
    x : ndarray, shape (H, W)
        The input image.
    w : ndarray, shape (KH, KW)
        The kernel.
    dout : ndarray, shape of z
        Upstream gradient dL/dz.
    pad : int
        Zero padding of the forward pass, on each side.

    Returns
    -------
    dw : ndarray, shape (KH, KW)
        dL/dw: the padded input correlated with dout.
    dx : ndarray, shape (H, W)
        dL/dx: dout fully convolved with w (correlated with the flipped kernel), padding removed.
    """
    ### BEGIN SOLUTION
    kh, kw = w.shape
    height, width = x.shape
    x_pad = np.pad(x, pad)
    dw = correlate2d(x_pad, dout)
    # Full convolution: pad dout by kernel size - 1, slide the flipped kernel.
    dx_pad = correlate2d(dout, w[::-1, ::-1], pad=(kh - 1, kw - 1))
    dx = dx_pad[pad:pad + height, pad:pad + width]
    ### END SOLUTION
    return dw, dx
'''

TEST_CONV_BACKWARD_EXAMPLE = r'''
# Tests of conv_backward_example: the lecture's numbers (worked out by hand), then other sizes.
import numpy as np
from cnnlib.checks import check_close, check_shape, check_true
from cnnlib.conv import conv2d_backward_reference, conv2d_forward_reference, correlate2d


def _check_example(x, w, dout, pad, label, dw_expected=None, dx_expected=None):
    """Compare with the given values, or with cnnlib's loop backward pass when none are given."""
    if dw_expected is None:
        _, cache = conv2d_forward_reference(x[None, None], w[None, None], None, 1, pad)
        dx_ref, dw_ref, _ = conv2d_backward_reference(dout[None, None], cache)
        dx_expected, dw_expected = dx_ref[0, 0], dw_ref[0, 0]
    result = conv_backward_example(x, w, dout, pad=pad)
    check_true(f"{label}: returns a pair (dw, dx)", isinstance(result, tuple) and len(result) == 2,
               f"got {type(result).__name__}")
    dw, dx = result
    kh, kw = w.shape
    x_pad = np.pad(x, pad)
    check_close(f"{label}: dw", dw, dw_expected, rtol=1e-7, atol=1e-9, mistakes=[
        (correlate2d(x_pad, dout)[::-1, ::-1],
         "dw is flipped: dL/dw is a correlation of the padded input with dout (no flip)"),
    ])
    full_unflipped = correlate2d(dout, w, pad=(kh - 1, kw - 1))
    full_flipped = correlate2d(dout, w[::-1, ::-1], pad=(kh - 1, kw - 1))
    check_close(f"{label}: dx", dx, dx_expected, rtol=1e-7, atol=1e-9, mistakes=[
        (full_flipped, "the padding is not removed: dx_pad has the zeros of the border; keep only "
                       "dx_pad[pad:pad+H, pad:pad+W]"),
        (full_unflipped[pad:pad + x.shape[0], pad:pad + x.shape[1]],
         "kernel not flipped: dL/dx correlates dout with the flipped kernel w[::-1, ::-1] "
         "(a full convolution), not with w"),
        (full_unflipped, "kernel not flipped and padding not removed"),
        (lambda got: np.size(got) == 0,
         "empty result: with pad=0, a slice like a[pad:-pad] is a[0:0]; slice a[pad:pad+H] instead"),
    ])


# The lecture's numbers and the gradients worked out by hand.
x = np.array([[1., 2., 0.], [3., -1., 2.], [0., 1., 1.]])
w = np.array([[1., -1.], [2., 0.]])
g = np.array([[1., 0., 0., 1.], [0., 2., 0., 0.], [0., 0., -1., 0.], [1., 0., 0., 1.]])
dw_by_hand = np.array([[4., 2.], [5., -2.]])
dx_by_hand = np.array([[2., -2., 2.], [4., -1., 1.], [-1., -2., 1.]])
_check_example(x, w, g, 1, "lecture example", dw_by_hand, dx_by_hand)
rng = np.random.default_rng(1)
_check_example(rng.standard_normal((4, 5)), rng.standard_normal((2, 3)), rng.standard_normal((5, 5)), 1,
               "4x5 input, 2x3 kernel, pad=1")
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(102)
_check_example(rng_hidden.standard_normal((5, 4)), rng_hidden.standard_normal((3, 3)),
               rng_hidden.standard_normal((7, 6)), 2, "hidden: 3x3 kernel, pad=2")
_check_example(rng_hidden.standard_normal((6, 6)), rng_hidden.standard_normal((3, 2)),
               rng_hidden.standard_normal((4, 5)), 0, "hidden: pad=0")
_check_example(np.eye(3), np.array([[0., 1.], [1., 3.]]), np.arange(16.).reshape(4, 4) - 7, 1,
               "hidden: other lecture-sized numbers")
### END HIDDEN TESTS
'''

PART3 = r"""
## Part 3: the backward pass of a convolutional layer

Now the general layer: a batch, several channels and filters, any stride and
padding. Given the upstream gradient `dout` $= \partial L/\partial\,\text{out}$
(shape `(N, F, OH, OW)`), the chain rule gives, summing over every place where a
quantity was used in the forward pass:

- $\displaystyle \frac{\partial L}{\partial b[f]} = \sum_{n, i, j} \text{dout}[n, f, i, j]$ (sum over the batch **and** the positions: one number per filter);
- $\displaystyle \frac{\partial L}{\partial w[f, c, u, v]} = \sum_{n, i, j} \text{dout}[n, f, i, j]\; x_{\text{pad}}[n, c,\, i s + u,\, j s + v]$;
- every output value sends $\text{dout}[n, f, i, j]\, w[f]$ back to the window it
  was computed from: `dx_pad[n, :, i*s : i*s+KH, j*s : j*s+KW] += dout[n, f, i, j] * w[f]`.
  Adding the kernel into the windows like this *is* the full convolution with the
  flipped kernel of Part 2, written as a loop. Then remove the padding from `dx_pad`.

With a stride the windows start `stride` pixels apart in the backward pass too.
The cache is `(x, w, b, stride, pad)`, as your forward pass returns it.
"""

CONV_BACKWARD = r'''
def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, with loops.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient dL/dout.
    cache : tuple
        (x, w, b, stride, pad) as returned by conv_forward_naive.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    x, w, b, stride, pad = cache
    ### BEGIN SOLUTION
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    _, _, oh, ow = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    db = np.zeros_like(b, dtype=float)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    db[f] += dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + height, pad:pad + width]
    ### END SOLUTION
    return dx, dw, db
'''

TEST_CONV_BACKWARD = r'''
# Tests of conv_backward_naive. Oracle: cnnlib.conv.conv2d_backward_reference (loops, tested in
# cnnlib against the fast version and against central differences). The cache is built here,
# so these tests do not depend on your forward pass.
import numpy as np
from cnnlib.checks import check_close, check_true
from cnnlib.conv import conv2d_backward_reference as _reference_backward
from cnnlib.conv import conv2d_forward_reference as _reference_forward


def _check_conv_backward(x, w, b, stride, pad, label, seed):
    out, ref_cache = _reference_forward(x, w, b, stride, pad)
    dout = np.random.default_rng(seed).integers(-3, 4, size=out.shape).astype(float)
    dx_ref, dw_ref, db_ref = _reference_backward(dout, ref_cache)
    result = conv_backward_naive(dout, (x, w, b, stride, pad))
    check_true(f"{label}: returns three arrays (dx, dw, db)", isinstance(result, tuple) and len(result) == 3,
               f"got {type(result).__name__}")
    dx, dw, db = result

    # What the usual mistakes would return, computed with the reference on altered inputs.
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = _reference_backward(dout, (x_pad, w, b, (stride, stride), (0, 0)))[0]
    dx_unflipped = _reference_backward(dout, (x, w[:, :, ::-1, ::-1], b, (stride, stride), (pad, pad)))[0]
    last_image = _reference_backward(dout[-1:], (x[-1:], w, b, (stride, stride), (pad, pad)))[1]
    stride_mistakes = {"dx": [], "dw": []}
    if stride > 1:  # windows placed at (i, j) instead of (i*stride, j*stride)
        oh1 = x.shape[2] + 2 * pad - w.shape[2] + 1
        ow1 = x.shape[3] + 2 * pad - w.shape[3] + 1
        dout1 = np.zeros(dout.shape[:2] + (oh1, ow1))
        dout1[:, :, :dout.shape[2], :dout.shape[3]] = dout
        dx1, dw1, _ = _reference_backward(dout1, (x, w, b, (1, 1), (pad, pad)))
        hint = "stride ignored in the backward pass: window (i, j) starts at row i*stride, column j*stride"
        stride_mistakes = {"dx": [(dx1, hint)], "dw": [(dw1, hint)]}

    check_close(f"{label}: db", db, db_ref, rtol=1e-7, atol=1e-9, mistakes=[
        (dout.sum(axis=(1, 2, 3)), "db summed over the wrong axes: sum over n, i, j (axes 0, 2, 3), one value per filter"),
        (dout.sum(axis=(2, 3)), "db not summed over the batch: sum over axes (0, 2, 3)"),
        (dout.sum(axis=0), "db not summed over the positions i, j: sum over axes (0, 2, 3)"),
        (dout.mean(axis=(0, 2, 3)), "db averaged: the layer's backward pass sums (the loss already averages)"),
        (lambda got: np.ndim(got) == 0, "db is one number: keep one value per filter, shape (F,)"),
    ])
    check_close(f"{label}: dw", dw, dw_ref, rtol=1e-7, atol=1e-9, mistakes=stride_mistakes["dw"] + [
        (dw_ref / x.shape[0], "dw divided by the batch size: the backward pass of the layer sums"),
        (last_image, "dw holds only the last image: create dw once before the loops and add (+=) "
                     "the contribution of every image"),
        (dw_ref[:, :, ::-1, ::-1], "dw flipped: dL/dw correlates the padded input with dout, no flip"),
    ])
    check_close(f"{label}: dx", dx, dx_ref, rtol=1e-7, atol=1e-9, mistakes=[
        (dx_pad, "padding not removed from dx: return dx_pad[:, :, pad:pad+H, pad:pad+W]"),
        (dx_unflipped, "kernel not flipped: dx must be the full convolution of dout with the "
                       "kernel (a correlation with w[..., ::-1, ::-1]); adding dout * w[f] into each "
                       "window does this for you"),
    ] + stride_mistakes["dx"])


rng = np.random.default_rng(2)


def small_integers(*shape):
    """Small whole numbers: the gradients are whole numbers too, easy to read when a check fails."""
    return rng.integers(-3, 4, size=shape).astype(float)


# Small cases first (2 images, 3 filters; then one image), then a larger one.
x, w, b = small_integers(2, 1, 3, 3), small_integers(3, 1, 2, 2), small_integers(3)
_check_conv_backward(x, w, b, stride=1, pad=0, label="stride=1, pad=0", seed=20)
_check_conv_backward(x[:1], w, b, stride=1, pad=1, label="stride=1, pad=1", seed=21)
x, w = small_integers(1, 1, 5, 5), small_integers(1, 1, 3, 3)
_check_conv_backward(x, w, b[:1], stride=2, pad=0, label="stride=2, pad=0", seed=22)
_check_conv_backward(x, w, b[:1], stride=2, pad=1, label="stride=2, pad=1", seed=23)
x = rng.standard_normal((3, 2, 7, 8))
w, b = rng.standard_normal((2, 2, 3, 2)), rng.standard_normal(2)
_check_conv_backward(x, w, b, stride=2, pad=1, label="3 images, 2 channels, 2 filters, stride=2, pad=1", seed=24)
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(103)
x_hidden = rng_hidden.standard_normal((2, 3, 9, 8))
w_hidden, b_hidden = rng_hidden.standard_normal((5, 3, 4, 3)), rng_hidden.standard_normal(5)
_check_conv_backward(x_hidden, w_hidden, b_hidden, stride=3, pad=2, label="hidden: stride=3, pad=2", seed=104)
_check_conv_backward(x_hidden, w_hidden, b_hidden, stride=2, pad=3, label="hidden: stride=2, pad=3", seed=105)
_check_conv_backward(x_hidden[:1, :1], w_hidden[:3, :1, :2, :2], b_hidden[:3], stride=1, pad=1,
                     label="hidden: one image, one channel", seed=106)
# A second, independent oracle: central differences of cnnlib's forward pass, in float64.
from cnnlib.conv import conv2d_forward as _fast_forward
from cnnlib.gradcheck import numerical_gradient_array as _central_differences
x_cd, w_cd, b_cd = (rng_hidden.standard_normal(s) for s in [(2, 2, 5, 6), (3, 2, 3, 2), (3,)])
dout_cd = rng_hidden.standard_normal((2, 3, 3, 4))
grads_cd = conv_backward_naive(dout_cd, (x_cd, w_cd, b_cd, 2, 1))
check_close("hidden: dx against central differences (stride=2, pad=1)", grads_cd[0],
            _central_differences(lambda a: _fast_forward(a, w_cd, b_cd, 2, 1)[0], x_cd.copy(), dout_cd),
            rtol=1e-5, atol=1e-7)
check_close("hidden: dw against central differences (stride=2, pad=1)", grads_cd[1],
            _central_differences(lambda a: _fast_forward(x_cd, a, b_cd, 2, 1)[0], w_cd.copy(), dout_cd),
            rtol=1e-5, atol=1e-7)
### END HIDDEN TESTS
'''

PART4 = r"""
## Part 4: a central-difference gradient check

An analytic backward pass is checked against the definition of the derivative.
For a scalar $L = \sum \text{out} \odot \text{dout}$ with a random, fixed
`dout`, the gradient with respect to any entry $\theta$ of `x`, `w` or `b` is
approximately

$$\frac{\partial L}{\partial \theta} \approx \frac{L(\theta + h) - L(\theta - h)}{2h},$$

with an error of order $h^2$ (the one-sided difference has error of order $h$).
Compute it yourself, for every entry of an array `a` in turn (`np.ndindex(a.shape)`
lists the indices): set the entry to $\theta + h$, evaluate $L$, set it to
$\theta - h$, evaluate $L$ again, and put the original value back. (That is what
`cnnlib.gradcheck.numerical_gradient_array` does, and why it is not available in
this exercise.) `rel_error(a, b)`, imported in the setup cell, gives the largest
relative difference.

Write `conv_gradient_check(forward, backward, x, w, b, stride, pad)` that takes
**any** pair of forward/backward functions with the API of Part 1 and 3, and
returns the relative errors of `dx`, `dw` and `db`. Work in float64 (copy the
inputs with `np.array(a, dtype=np.float64)`): in float32 the rounding error of
$L$ divided by $2h$ is far larger than the error you want to see. In float64, a
correct backward pass gives relative errors around $10^{-8}$ or below (up to about
$10^{-6}$ where a gradient entry happens to be tiny); errors above $10^{-3}$ mean
a bug.
"""

GRADIENT_CHECK = r'''
def conv_gradient_check(forward, backward, x, w, b, stride=1, pad=0, h=1e-5, seed=0):
    """Compare backward() with central differences of forward(), in float64.

    Parameters
    ----------
    forward : callable
        forward(x, w, b, stride, pad) -> (out, cache)
    backward : callable
        backward(dout, cache) -> (dx, dw, db)
    x, w, b : array_like
        Input, weights, biases (any float dtype; the check copies them to float64).
    stride, pad : int
    h : float
        Step of the central difference.
    seed : int
        Seed of the random upstream gradient dout.

    Returns
    -------
    dict
        {"dx": rel_error, "dw": rel_error, "db": rel_error}, each a float.
    """
    rng = np.random.default_rng(seed)
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    w = np.array(w, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    out, cache = forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = backward(dout, cache)

    def central_differences(f, a):
        """dL/da for L = sum(f(a) * dout), one entry of a at a time (a is changed and restored)."""
        grad = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            saved = a[index]
            a[index] = saved + h
            plus = np.sum(f(a) * dout)
            a[index] = saved - h
            minus = np.sum(f(a) * dout)
            a[index] = saved
            grad[index] = (plus - minus) / (2 * h)
        return grad

    dx_num = central_differences(lambda a: forward(a, w, b, stride, pad)[0], x)
    dw_num = central_differences(lambda a: forward(x, a, b, stride, pad)[0], w)
    db_num = central_differences(lambda a: forward(x, w, a, stride, pad)[0], b)
    return {"dx": rel_error(dx, dx_num), "dw": rel_error(dw, dw_num), "db": rel_error(db, db_num)}
    ### END SOLUTION
'''

TEST_GRADIENT_CHECK = r'''
# Tests of conv_gradient_check, run on cnnlib's own (correct) layer and on deliberately broken
# backward passes, so these tests do not depend on your Parts 1 and 3.
import numpy as np
from cnnlib.checks import check_equal, check_true
from cnnlib.conv import conv2d_backward as _good_backward
from cnnlib.conv import conv2d_forward as _good_forward


def _broken(which, factor):
    """A backward pass whose gradient `which` is off by `factor`."""
    def backward(dout, cache):
        grads = dict(zip(("dx", "dw", "db"), _good_backward(dout, cache)))
        grads[which] = grads[which] * factor
        return grads["dx"], grads["dw"], grads["db"]
    return backward


def _check_gradient_check(x, w, b, stride, pad, label, broken):
    errors = conv_gradient_check(_good_forward, _good_backward, x, w, b, stride, pad)
    check_true(f"{label}: returns a dict", isinstance(errors, dict), f"got {type(errors).__name__}")
    check_equal(f"{label}: keys of the result", sorted(errors), ["db", "dw", "dx"])
    worst = max(float(e) for e in errors.values())
    float32_used = np.asarray(x).dtype == np.float32
    check_true(f"{label}: a correct backward pass gives relative errors < 1e-5", worst < 1e-5,
               f"got {errors}" + ("; likely mistake: the check ran in float32 -- copy x, w, b to float64 first"
                                  if float32_used else ""))
    errors_bad = conv_gradient_check(_good_forward, _broken(broken, 1.5), x, w, b, stride, pad)
    ignored = errors_bad[broken] < 1e-3
    check_true(f"{label}: a backward pass with a wrong {broken} is caught (error > 0.1)",
               errors_bad[broken] > 0.1,
               f"got {errors_bad}" + ("; likely mistake: the check does not call the `backward` it is given "
                                      "(e.g. it calls conv_backward_naive directly)" if ignored else ""))
    others = [k for k in ("dx", "dw", "db") if k != broken]
    check_true(f"{label}: ... and only {broken} is blamed", all(errors_bad[k] < 1e-5 for k in others),
               f"got {errors_bad}")


# Small shapes: every entry of x, w and b costs two calls of forward, each a round trip to the grader.
rng = np.random.default_rng(3)
x, w, b = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
x_before = x.copy()
_check_gradient_check(x, w, b, stride=1, pad=1, label="stride=1, pad=1", broken="dw")
check_true("x is unchanged after the check", np.array_equal(x, x_before))
_check_gradient_check(x, w, b, stride=2, pad=1, label="stride=2, pad=1", broken="dx")
_check_gradient_check(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride=1, pad=0,
                      label="float32 inputs", broken="db")
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(107)
x_hidden = rng_hidden.standard_normal((1, 2, 5, 4))
w_hidden, b_hidden = rng_hidden.standard_normal((2, 2, 2, 3)), rng_hidden.standard_normal(2)
_check_gradient_check(x_hidden, w_hidden, b_hidden, stride=2, pad=2, label="hidden: stride=2, pad=2", broken="db")
_check_gradient_check(x_hidden, w_hidden, b_hidden, stride=3, pad=0, label="hidden: stride=3, pad=0", broken="dw")
### END HIDDEN TESTS
'''

RUN_GRADIENT_CHECK = r'''
# Your own layer through your own gradient check (not graded: the tests above grade each part).
# Expect relative errors around 1e-8 or smaller.
import os

if os.environ.get("NBGRADER_EXECUTION"):  # set while grading
    print("skipped while grading: the tests above grade each part")
else:
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    for stride, pad in [(1, 0), (1, 1), (2, 1)]:
        try:
            errors = conv_gradient_check(conv_forward_naive, conv_backward_naive, x, w, b, stride, pad)
        except NotImplementedError:
            print("Finish Parts 1, 3 and 4 first.")
            break
        print(f"stride={stride}, pad={pad}:", {k: f"{v:.1e}" for k, v in errors.items()})
'''

PART5 = r"""
## Part 5: max pooling, forward

Max pooling keeps the largest value of each `size x size` window, for every image
and every channel separately:

$$\text{out}[n, c, i, j] = \max_{0 \le u, v < \text{size}} x[n, c,\; i s + u,\; j s + v],
\qquad OH = \left\lfloor \frac{H - \text{size}}{s} \right\rfloor + 1 .$$

There is no padding; windows that do not fit at the bottom or right are dropped.
With `stride < size` the windows overlap. Return `(out, cache)` with
**`cache = (x, size, stride)`**.
"""

MAXPOOL_FORWARD = r'''
def maxpool_forward_naive(x, size=2, stride=2):
    """Max pooling, forward, with loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    size : int
        Height and width of the window.
    stride : int
        Step between neighbouring windows.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        OH = (H - size) // stride + 1, OW = (W - size) // stride + 1.
    cache : tuple
        (x, size, stride)
    """
    ### BEGIN SOLUTION
    n_images, channels, height, width = x.shape
    oh = (height - size) // stride + 1
    ow = (width - size) // stride + 1
    out = np.zeros((n_images, channels, oh, ow))
    for n in range(n_images):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    out[n, c, i, j] = np.max(window)
    ### END SOLUTION
    cache = (x, size, stride)
    return out, cache
'''

TEST_MAXPOOL_FORWARD = r'''
# Tests of maxpool_forward_naive. Oracle: cnnlib.pool.maxpool2d_forward.
import numpy as np
from cnnlib.checks import check_close, check_shape, check_true
from cnnlib.pool import avgpool2d_forward, maxpool2d_forward


def _check_pool_forward(x, size, stride, label):
    expected, _ = maxpool2d_forward(x, size, stride)
    result = maxpool_forward_naive(x, size=size, stride=stride)
    check_true(f"{label}: returns a pair (out, cache)", isinstance(result, tuple) and len(result) == 2,
               f"got {type(result).__name__}")
    out, cache = result
    height, width = x.shape[2:]

    def shape_for(size_formula):
        return x.shape[:2] + (size_formula(height), size_formula(width))

    check_shape(f"{label}: out", out, expected.shape, mistakes=[
        (shape_for(lambda n: (n - size) // stride), "off by one: the size is (H - size) // stride + 1"),
        (shape_for(lambda n: n - size + 1), "stride ignored: windows start `stride` pixels apart"),
        (shape_for(lambda n: -(-(n - size) // stride) + 1),
         "rounded up: windows that stick out are dropped, so use floor division //"),
    ])
    averaged, _ = avgpool2d_forward(x, size, stride)
    minimum, _ = maxpool2d_forward(-x, size, stride)
    check_close(f"{label}: out", out, expected, rtol=1e-7, atol=1e-9, mistakes=[
        (averaged, "average instead of maximum"),
        (-minimum, "minimum instead of maximum"),
        (np.broadcast_to(expected.max(axis=1, keepdims=True), expected.shape),
         "the maximum is taken over all channels together: pool every channel on its own"),
    ])
    same = (isinstance(cache, tuple) and len(cache) == 3 and np.array_equal(cache[0], x)
            and cache[1] == size and cache[2] == stride)
    check_true(f"{label}: cache is (x, size, stride)", same, "return cache = (x, size, stride)")


rng = np.random.default_rng(5)
_check_pool_forward(rng.permutation(16).reshape(1, 1, 4, 4).astype(float), size=2, stride=2,
                    label="one 4x4 image, 2x2 windows, stride 2")
x = rng.standard_normal((2, 3, 6, 8))
_check_pool_forward(x, size=2, stride=2, label="2x2 windows, stride 2")
_check_pool_forward(x[:, :, :5, :7], size=2, stride=2, label="odd height and width (last row/column dropped)")
_check_pool_forward(x, size=3, stride=1, label="3x3 windows, stride 1 (overlapping)")
_check_pool_forward(rng.standard_normal((1, 2, 9, 9)), size=3, stride=2, label="3x3 windows, stride 2")
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(108)
_check_pool_forward(rng_hidden.standard_normal((3, 2, 11, 10)), size=4, stride=3, label="hidden: 4x4, stride 3")
_check_pool_forward(rng_hidden.standard_normal((2, 4, 7, 5)), size=2, stride=1, label="hidden: 2x2, stride 1")
_check_pool_forward(rng_hidden.integers(-3, 3, size=(2, 2, 6, 6)).astype(float), size=3, stride=3,
                    label="hidden: ties, 3x3, stride 3")
### END HIDDEN TESTS
'''

PART6 = r"""
## Part 6: max pooling, backward

Only the largest element of a window influences the output, and it passes its
value straight through (local derivative 1); the other elements have local
derivative 0. So each window sends its whole upstream gradient
$\text{dout}[n, c, i, j]$ to the position of its maximum, the **arg-max**, and
nothing to the rest of the window. With overlapping windows, an element that is
the maximum of several windows receives the sum of their gradients (use `+=`).

**Ties.** If several elements of a window share the maximum value, the
gradient goes to **the first one in row-major order** (the one `np.argmax`
returns on the flattened window), and to no other. This is what `cnnlib`
(and PyTorch) do: the total gradient stays equal to `dout.sum()`, exactly as if
the tie had been broken by an infinitesimal nudge.

The cache is `(x, size, stride)`.
"""

MAXPOOL_BACKWARD = r'''
def maxpool_backward_naive(dout, cache):
    """Max pooling, backward, with loops: route each window's gradient to its (first) maximum.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
        Upstream gradient.
    cache : tuple
        (x, size, stride) as returned by maxpool_forward_naive.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, size, stride = cache
    ### BEGIN SOLUTION
    n_images, channels, oh, ow = dout.shape
    dx = np.zeros_like(x, dtype=float)
    for n in range(n_images):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    u, v = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + u, j * stride + v] += dout[n, c, i, j]
    ### END SOLUTION
    return dx
'''

TEST_MAXPOOL_BACKWARD = r'''
# Tests of maxpool_backward_naive. Oracle: cnnlib.pool.maxpool2d_backward (ties: first maximum).
# The cache (x, size, stride) is built here, so these tests do not depend on your forward pass.
import numpy as np
from cnnlib.checks import check_close
from cnnlib.pool import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward


def _check_pool_backward(x, size, stride, label, seed):
    out, ref_cache = maxpool2d_forward(x, size, stride)
    dout = np.random.default_rng(seed).integers(1, 10, size=out.shape).astype(float)
    expected = maxpool2d_backward(dout, ref_cache)
    _, avg_cache = avgpool2d_forward(x, size, stride)
    averaged = avgpool2d_backward(dout, avg_cache)
    mistakes = [
        (averaged * size * size, "the gradient is spread over the whole window; only the maximum "
                                 "gets it (the others did not affect the output)"),
        (averaged, "gradient averaged over the window, as average pooling does; send all of it "
                   "to the arg-max"),
    ]
    height, width = x.shape[2:]
    if stride == size and height % size == 0 and width % size == 0:
        def spread(a):  # each window's value copied over its window
            return np.repeat(np.repeat(a, size, axis=2), size, axis=3)
        mistakes.append(((x == spread(out)) * spread(dout),
                         "every tied maximum got the gradient; on a tie only the first maximum "
                         "(row-major, as np.argmax) gets it"))
        flipped_out, flipped_cache = maxpool2d_forward(x[:, :, ::-1, ::-1], size, stride)
        last = maxpool2d_backward(dout[:, :, ::-1, ::-1], flipped_cache)[:, :, ::-1, ::-1]
        mistakes.append((last, "on a tie the gradient went to the last maximum; the rule is the first "
                               "one in row-major order (np.argmax)"))
    if stride > 1:  # windows at (i, j) instead of (i*stride, j*stride)
        out1, cache1 = maxpool2d_forward(x, size, 1)
        dout1 = np.zeros(out1.shape)
        dout1[:, :, :out.shape[2], :out.shape[3]] = dout
        mistakes.append((maxpool2d_backward(dout1, cache1),
                         "stride ignored: window (i, j) starts at row i*stride, column j*stride"))
    mistakes.append((lambda got: np.shape(got) == expected.shape and abs(np.sum(got) - np.sum(dout)) > 1e-6,
                     "some gradient is lost: every window passes its dout to exactly one element, so "
                     "dx.sum() == dout.sum(); an element that is the maximum of two overlapping windows "
                     "gets both (+=, not =)"))
    dx = maxpool_backward_naive(dout, (x, size, stride))
    check_close(f"{label}: dx", dx, expected, rtol=1e-7, atol=1e-9, mistakes=mistakes)


rng = np.random.default_rng(6)
# Small images first (distinct values, then many ties), then larger ones.
_check_pool_backward(rng.permutation(16).reshape(1, 1, 4, 4).astype(float), size=2, stride=2,
                     label="one 4x4 image, 2x2, stride 2", seed=60)
_check_pool_backward(rng.integers(0, 3, size=(1, 1, 4, 4)).astype(float), size=2, stride=2,
                     label="one 4x4 image with ties, 2x2, stride 2", seed=61)
_check_pool_backward(rng.permutation(25).reshape(1, 1, 5, 5).astype(float), size=3, stride=2,
                     label="one 5x5 image, 3x3, stride 2 (overlapping)", seed=62)
_check_pool_backward(rng.standard_normal((2, 3, 4, 6)), size=2, stride=2, label="2x2, stride 2", seed=63)
_check_pool_backward(rng.integers(0, 3, size=(2, 2, 4, 6)).astype(float), size=2, stride=2,
                     label="2x2, stride 2, many ties", seed=64)
_check_pool_backward(rng.standard_normal((2, 2, 7, 7)), size=3, stride=2, label="3x3, stride 2 (overlapping)",
                     seed=65)
_check_pool_backward(rng.standard_normal((1, 2, 5, 7)), size=2, stride=2,
                     label="odd height and width (last row/column get no gradient)", seed=66)
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(109)
_check_pool_backward(rng_hidden.standard_normal((3, 2, 9, 8)), size=3, stride=3, label="hidden: 3x3, stride 3",
                     seed=110)
_check_pool_backward(rng_hidden.integers(-2, 2, size=(2, 3, 6, 6)).astype(float), size=3, stride=3,
                     label="hidden: ties, 3x3, stride 3", seed=111)
_check_pool_backward(rng_hidden.integers(0, 2, size=(2, 2, 6, 7)).astype(float), size=2, stride=1,
                     label="hidden: ties, overlapping 2x2, stride 1", seed=112)
_check_pool_backward(rng_hidden.standard_normal((2, 2, 10, 9)), size=4, stride=3, label="hidden: 4x4, stride 3",
                     seed=113)
### END HIDDEN TESTS
'''

RUN_POOL_CHECK = r'''
# Max pooling through your central-difference check of Part 4 (not graded): the pooling layer
# in the API of a convolution whose w and b are unused. Random inputs have no ties, and there
# the derivative exists; at a tie the numerical derivative would depend on h.
rng = np.random.default_rng(7)
x = rng.standard_normal((2, 2, 6, 6))
try:
    errors = conv_gradient_check(
        lambda x, w, b, stride, pad: maxpool_forward_naive(x, size=2, stride=2),
        lambda dout, cache: (maxpool_backward_naive(dout, cache), np.zeros(1), np.zeros(1)),
        x, np.zeros(1), np.zeros(1))
    print("max pooling, relative error of dx:", f"{errors['dx']:.1e}")
except NotImplementedError:
    print("Finish Parts 4, 5 and 6 first.")
'''

PART7 = r"""
## Part 7: in your own words (graded by hand)

Answer in the cell below, in a few sentences each:

1. Why does $\partial L/\partial x$ need the kernel flipped (a full convolution),
   while the forward pass and $\partial L/\partial w$ use the kernel as it is?
   The 1-D case $z_i = \sum_u x_{i+u}\, w_u$ is enough to show it.
2. In the lecture's example (2x2 kernel, padding 1), $\partial L/\partial x$ came
   out as a plain *valid* correlation of $\partial L/\partial z$ with the flipped
   kernel, with no extra padding and nothing to cut off. Why?
3. Why does max pooling send the gradient to one element only, and what would go
   wrong (for example in a gradient check, or in the total gradient) if every
   tied maximum received it?
"""

WRITTEN = r"""
1. In the forward pass $x_{i+u}$ meets $w_u$ in output $z_i$, so input $x_r$ meets
   $w_u$ in output $z_{r-u}$, and $\partial L/\partial x_r = \sum_u g_{r-u}\, w_u$.
   As a sliding window over $g$ the kernel index runs backwards ($g_{r-u}$ pairs
   with $w_u$): a convolution, i.e. a correlation with the flipped kernel. For
   $\partial L/\partial w_u = \sum_i g_i\, x_{i+u}$ the indices of $g$ and $x$ run
   the same way, so it is a correlation without flip, like the forward pass.
2. The full convolution pads $g$ by $KH - 1 = 1$, and we then cut the padding
   $P = 1$ off again. In general $\partial L/\partial x$ is a correlation of $g$,
   padded by $KH - 1 - P$, with the flipped kernel; here $KH - 1 - P = 0$.
3. Only the maximum affects the output: moving any other element a little does
   not change it, so its derivative is 0, and the maximum's is 1. If every tied
   maximum got the gradient, the total $\sum dx$ would exceed $\sum dout$ (the
   gradient is counted several times) and the result would not match a gradient
   check; at a tie the max has no derivative, so one element is chosen by a fixed
   rule (the first).
"""


def build():
    """The source notebook as an nbformat NotebookNode."""
    return assignment_notebook(INTRO, SETUP_IMPORTS, [
        instructions("part1_conv_forward", PART1),
        *graded_function("conv_forward_naive", 3, CONV_FORWARD, TEST_CONV_FORWARD, RULE_CONV_FORWARD),
        instructions("part2_worked_example", PART2),
        *graded_function("conv_backward_example", 2, CONV_BACKWARD_EXAMPLE, TEST_CONV_BACKWARD_EXAMPLE, RULE_CONV_BACKWARD_EXAMPLE),
        instructions("part3_conv_backward", PART3),
        *graded_function("conv_backward_naive", 4, CONV_BACKWARD, TEST_CONV_BACKWARD, RULE_CONV_BACKWARD),
        instructions("part4_gradient_check", PART4),
        *graded_function("conv_gradient_check", 2, GRADIENT_CHECK, TEST_GRADIENT_CHECK, RULE_GRADIENT_CHECK),
        locked_code("run_gradient_check", RUN_GRADIENT_CHECK),
        instructions("part5_maxpool_forward", PART5),
        *graded_function("maxpool_forward_naive", 2, MAXPOOL_FORWARD, TEST_MAXPOOL_FORWARD, RULE_MAXPOOL_FORWARD),
        instructions("part6_maxpool_backward", PART6),
        *graded_function("maxpool_backward_naive", 3, MAXPOOL_BACKWARD, TEST_MAXPOOL_BACKWARD, RULE_MAXPOOL_BACKWARD),
        locked_code("run_pool_check", RUN_POOL_CHECK),
        instructions("part7_written", PART7),
        written("written_answers", 3, WRITTEN),
    ], test_time_limit=QUICK_TEST_SECONDS, slow_tests=('test_conv_gradient_check',))



if __name__ == "__main__":
    sys.exit(main(__file__, build))
