"""Sample submissions of the conv_backprop assignment, and the score each must get.

Every variant starts from the instructor's solution (or from the released stubs
for "untouched") and replaces whole answer cells, named by grade_id. Each
misconception variant breaks exactly one function, so it loses exactly the
points of that function's test cell; "feedback" names a substring the grader's
message for that cell must contain (the tests' "likely mistake: ..." lines).
"""
from autograder.samples import SampleSet

FULL = {
    "test_conv_forward_naive": 3,
    "test_conv_backward_example": 2,
    "test_conv_backward_naive": 4,
    "test_conv_gradient_check": 2,
    "test_maxpool_forward_naive": 2,
    "test_maxpool_backward_naive": 3,
}


samples = SampleSet("conv_backprop", FULL)


# ----------------------------------------------------------------------------
# Answer cells with one misconception each
# ----------------------------------------------------------------------------

_FORWARD_TEMPLATE = '''
def conv_forward_naive(x, w, b, stride=1, pad=0):
    """{doc}"""
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    oh = {oh}
    ow = {ow}
{pad}    out = np.zeros((n_images, n_filters, oh, ow))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    window = {x}[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, pad)
'''

FORWARD_NO_PADDING = _FORWARD_TEMPLATE.format(
    doc="Convolution forward pass that forgets the zero padding.", oh="(height - kh) // stride + 1",
    ow="(width - kw) // stride + 1", pad="", x="x")
FORWARD_OFF_BY_ONE = _FORWARD_TEMPLATE.format(
    doc="Convolution forward pass whose output is one row and column short.", oh="(height + 2 * pad - kh) // stride",
    ow="(width + 2 * pad - kw) // stride", pad="    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n",
    x="x_pad")

EXAMPLE_NOT_FLIPPED = '''
def conv_backward_example(x, w, dout, pad=1):
    """dx as a full correlation with the kernel as it is (not flipped)."""
    kh, kw = w.shape
    height, width = x.shape
    dw = correlate2d(np.pad(x, pad), dout)
    dx_pad = correlate2d(dout, w, pad=(kh - 1, kw - 1))
    return dw, dx_pad[pad:pad + height, pad:pad + width]
'''

EXAMPLE_PADDING_KEPT = '''
def conv_backward_example(x, w, dout, pad=1):
    """Returns the gradient of the padded input."""
    dw = correlate2d(np.pad(x, pad), dout)
    dx = convolve2d(dout, w, pad=(w.shape[0] - 1, w.shape[1] - 1))
    return dw, dx
'''

# The opening of every conv_backward_naive below: the cache unpacked, the input padded.
_BACKWARD_START = '''
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    n_images, {channels}, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    _, _, oh, ow = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
'''

# dx written as "correlate the (dilated, padded) upstream gradient with the kernel",
# forgetting to flip the kernel; dw and db are right.
BACKWARD_NOT_FLIPPED = _BACKWARD_START.format(channels="channels") + '''    dw = np.zeros_like(w)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    dw[f] += dout[n, f, i, j] * window
    db = dout.sum(axis=(0, 2, 3))
    # Upstream gradient with stride - 1 zeros between its entries.
    dilated = np.zeros((n_images, n_filters, (oh - 1) * stride + 1, (ow - 1) * stride + 1))
    dilated[:, :, ::stride, ::stride] = dout
    dx_pad = np.zeros_like(x_pad)
    for n in range(n_images):
        for c in range(channels):
            for f in range(n_filters):
                full = correlate2d(dilated[n, f], w[f, c], pad=(kh - 1, kw - 1))
                dx_pad[n, c, :full.shape[0], :full.shape[1]] += full
    return dx_pad[:, :, pad:pad + height, pad:pad + width], dw, db
'''

_BACKWARD_TEMPLATE = _BACKWARD_START.format(channels="_") + '''    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    rows = slice({row}, {row} + kh)
                    cols = slice({col}, {col} + kw)
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
    db = {db}
    return {dx}, dw, db
'''


def _backward(row="i * stride", col="j * stride", db="dout.sum(axis=(0, 2, 3))",
              dx="dx_pad[:, :, pad:pad + height, pad:pad + width]"):
    return _BACKWARD_TEMPLATE.format(row=row, col=col, db=db, dx=dx)


BACKWARD_PADDING_KEPT = _backward(dx="dx_pad")
BACKWARD_DB_WRONG_AXES = _backward(db="dout.sum(axis=(1, 2, 3))")
BACKWARD_STRIDE_IGNORED = _backward(row="i", col="j")

GRADIENT_CHECK_FLOAT32 = '''
def conv_gradient_check(forward, backward, x, w, b, stride=1, pad=0, h=1e-5, seed=0):
    """Central differences in whatever dtype the inputs have (float32 stays float32)."""
    rng = np.random.default_rng(seed)
    out, cache = forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = backward(dout, cache)

    def central_differences(f, a):
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

    x, w, b = x.copy(), w.copy(), b.copy()
    dx_num = central_differences(lambda a: forward(a, w, b, stride, pad)[0], x)
    dw_num = central_differences(lambda a: forward(x, a, b, stride, pad)[0], w)
    db_num = central_differences(lambda a: forward(x, w, a, stride, pad)[0], b)
    return {"dx": rel_error(dx, dx_num), "dw": rel_error(dw, dw_num), "db": rel_error(db, db_num)}
'''

POOL_FORWARD_AVERAGE = '''
def maxpool_forward_naive(x, size=2, stride=2):
    n_images, channels, height, width = x.shape
    oh = (height - size) // stride + 1
    ow = (width - size) // stride + 1
    out = np.zeros((n_images, channels, oh, ow))
    for n in range(n_images):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    out[n, c, i, j] = np.mean(x[n, c, i * stride:i * stride + size, j * stride:j * stride + size])
    return out, (x, size, stride)
'''

_POOL_BACKWARD_TEMPLATE = '''
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    n_images, channels, oh, ow = dout.shape
    dx = np.zeros_like(x)
    for n in range(n_images):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * stride, i * stride + size)
                    cols = slice(j * stride, j * stride + size)
                    window = x[n, c, rows, cols]
                    {body}
    return dx
'''

POOL_BACKWARD_SPREAD = _POOL_BACKWARD_TEMPLATE.format(body="dx[n, c, rows, cols] += dout[n, c, i, j]")
POOL_BACKWARD_AVERAGED = _POOL_BACKWARD_TEMPLATE.format(
    body="dx[n, c, rows, cols] += dout[n, c, i, j] / (size * size)")
POOL_BACKWARD_ALL_TIES = _POOL_BACKWARD_TEMPLATE.format(
    body="dx[n, c, rows, cols] += (window == window.max()) * dout[n, c, i, j]")

SYNTAX_ERROR = '''
def conv_forward_naive(x, w, b, stride=1, pad=0):
    out = np.zeros((1, 1, 1, 1)
    return out, (x, w, b, stride, pad)
'''

EXCEPTION = '''
def maxpool_forward_naive(x, size=2, stride=2):
    n_images, channels, height, width = x.shape
    out = np.zeros((n_images, channels, height // size, width // size))
    for n in range(n_images):
        for c in range(channels):
            for i in range(height):
                for j in range(width):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out, (x, size, stride)
'''

MISSING_FUNCTION = '''
def conv_backward(dout, cache):
    """Renamed by the student: the grader looks for conv_backward_naive."""
    raise NotImplementedError
'''

INFINITE_LOOP = '''
def conv_backward_example(x, w, dout, pad=1):
    while True:
        pass
'''


VARIANTS = {
    "reference": samples.reference(),
    "untouched": samples.untouched(),
    "forward_padding_ignored": samples.mistake(
        "conv forward pass without zero padding (output too small when pad > 0)",
        "conv_forward_naive", FORWARD_NO_PADDING, "padding ignored"),
    "forward_off_by_one": samples.mistake(
        "conv output size (H + 2P - K) // s, without the + 1", "conv_forward_naive", FORWARD_OFF_BY_ONE, "off by one"),
    "example_kernel_not_flipped": samples.mistake(
        "worked example: dL/dx correlates dL/dz with the unflipped kernel",
        "conv_backward_example", EXAMPLE_NOT_FLIPPED, "kernel not flipped"),
    "example_padding_not_removed": samples.mistake(
        "worked example: returns the gradient of the padded input",
        "conv_backward_example", EXAMPLE_PADDING_KEPT, "padding is not removed"),
    "backward_kernel_not_flipped": samples.mistake(
        "conv backward: dx as a correlation of dout with w instead of the flipped w",
        "conv_backward_naive", BACKWARD_NOT_FLIPPED, "kernel not flipped"),
    "backward_padding_not_removed": samples.mistake(
        "conv backward: returns dx_pad", "conv_backward_naive", BACKWARD_PADDING_KEPT, "padding not removed"),
    "backward_db_wrong_axes": samples.mistake(
        "conv backward: db summed over axes (1, 2, 3)",
        "conv_backward_naive", BACKWARD_DB_WRONG_AXES, "db summed over the wrong axes"),
    "backward_stride_ignored": samples.mistake(
        "conv backward: windows at (i, j) instead of (i*stride, j*stride)",
        "conv_backward_naive", BACKWARD_STRIDE_IGNORED, "stride ignored"),
    "gradient_check_float32": samples.mistake(
        "gradient check without converting the inputs to float64",
        "conv_gradient_check", GRADIENT_CHECK_FLOAT32, "float32"),
    "maxpool_forward_average": samples.mistake(
        "average pooling instead of max pooling",
        "maxpool_forward_naive", POOL_FORWARD_AVERAGE, "average instead of maximum"),
    "maxpool_backward_spread": samples.mistake(
        "max-pool backward gives dout to every element of the window",
        "maxpool_backward_naive", POOL_BACKWARD_SPREAD, "spread over the whole window"),
    "maxpool_backward_averaged": samples.mistake(
        "max-pool backward gives dout / size**2 to every element of the window",
        "maxpool_backward_naive", POOL_BACKWARD_AVERAGED, "gradient averaged"),
    "maxpool_backward_all_ties": samples.mistake(
        "max-pool backward gives dout to every tied maximum",
        "maxpool_backward_naive", POOL_BACKWARD_ALL_TIES, "every tied maximum"),
    "syntax_error": samples.mistake(
        "a syntax error in conv_forward_naive (unclosed parenthesis)", "conv_forward_naive", SYNTAX_ERROR),
    "exception": samples.mistake(
        "maxpool_forward_naive raises IndexError (loops over the input size)", "maxpool_forward_naive", EXCEPTION),
    "missing_function": samples.mistake(
        "conv_backward_naive renamed to conv_backward", "conv_backward_naive", MISSING_FUNCTION, "conv_backward_naive"),
    "infinite_loop": samples.mistake(
        "conv_backward_example never returns (while True: pass)", "conv_backward_example", INFINITE_LOOP),
}
