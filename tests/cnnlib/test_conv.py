"""Tests for cnnlib.conv: convolution against independent oracles.

Oracles: scipy.signal (single-channel correlation/convolution), hand-worked
lecture examples, the loop reference versions, central differences for the
gradients, and PyTorch when it is installed.
"""
import numpy as np
import pytest
from scipy import signal
from support import batch_last

import cnnlib._conv_fast as fast_module
from cnnlib.conv import (
    col2im,
    conv2d_backward,
    conv2d_backward_reference,
    conv2d_forward,
    conv2d_forward_reference,
    conv_output_size,
    convolve2d,
    correlate2d,
    correlate2d_reference,
    im2col,
)
from cnnlib.gradcheck import numerical_gradient_array, rel_error

VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])


def bar_image():
    """10x10 zeros with a bright vertical bar in columns 3..6 (0-based), width 4."""
    image = np.zeros((10, 10))
    image[:, 3:7] = 1
    return image


def random_conv_case(rng):
    """Random layer shapes: N, C, F >= 1, odd and non-square sizes, strides 1-3, pads 0-2."""
    n, c, f = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 4)
    kh, kw = rng.integers(1, 5, size=2)
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    pad = tuple(int(p) for p in rng.integers(0, 3, size=2))
    h = int(max(kh - 2 * pad[0], 1) + rng.integers(0, 8))
    w = int(max(kw - 2 * pad[1], 1) + rng.integers(0, 8))
    x = rng.standard_normal((n, c, h, w))
    weights = rng.standard_normal((f, c, kh, kw))
    b = rng.standard_normal(f)
    return x, weights, b, stride, pad


# ----------------------------------------------------------------------------
# conv_output_size
# ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "n, k, stride, pad, expected",
    [(32, 5, 1, 0, 28), (14, 5, 1, 0, 10), (7, 3, 2, 1, 4), (5, 3, 2, 0, 2),
     (4, 2, 3, 0, 1), (10, 3, 1, 1, 10), (227, 11, 4, 0, 55), (1, 3, 1, 1, 1)],
)
def test_conv_output_size(n, k, stride, pad, expected):
    assert conv_output_size(n, k, stride, pad) == expected


@pytest.mark.parametrize(
    "args, match",
    [((8, 3, 0, 0), r"stride.*0"), ((8, 3, -2, 0), r"stride.*-2"), ((8, 3, 1, -1), r"pad.*-1"),
     ((8, 0, 1, 0), r"k=0"), ((4, 7, 1, 1), r"k=7.*4 \+ 2\*1 = 6")],
)
def test_conv_output_size_rejects(args, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args)


# ----------------------------------------------------------------------------
# Single channel: scipy.signal as the oracle
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 1)])
@pytest.mark.parametrize("pad", [0, 1, 2, (0, 2)])
def test_correlate2d_matches_scipy(stride, pad):
    rng = np.random.default_rng(7)
    image = rng.standard_normal((9, 12))
    kernel = rng.standard_normal((3, 4))
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (pad, pad) if np.isscalar(pad) else pad
    expected = signal.correlate2d(np.pad(image, ((ph, ph), (pw, pw))), kernel, mode="valid")[::sh, ::sw]
    got = correlate2d(image, kernel, stride=stride, pad=pad)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(correlate2d_reference(image, kernel, stride, pad), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape, kshape", [((9, 12), (3, 4)), ((40, 33), (5, 2)), ((6, 6), (6, 6)), ((5, 7), (1, 1))])
@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), ((1, 3), (2, 0))])
def test_convolve2d_matches_scipy(shape, kshape, stride, pad):
    rng = np.random.default_rng(8)
    image = rng.standard_normal(shape)
    kernel = rng.standard_normal(kshape)
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (pad, pad) if np.isscalar(pad) else pad
    expected = signal.convolve2d(np.pad(image, ((ph, ph), (pw, pw))), kernel, mode="valid")[::sh, ::sw]
    np.testing.assert_allclose(convolve2d(image, kernel, stride, pad), expected, rtol=0, atol=1e-12)


def test_convolve2d_flips_the_kernel():
    image = np.arange(20.0).reshape(4, 5)
    kernel = np.array([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_array_equal(convolve2d(image, kernel), correlate2d(image, kernel[::-1, ::-1]))
    assert not np.allclose(convolve2d(image, kernel), correlate2d(image, kernel))


def test_correlate2d_larger_image_matches_scipy():
    rng = np.random.default_rng(9)
    image = rng.standard_normal((61, 70))
    kernel = rng.standard_normal((9, 4))
    np.testing.assert_allclose(correlate2d(image, kernel), signal.correlate2d(image, kernel, mode="valid"),
                               rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------
# Lecture hand examples
# ----------------------------------------------------------------------------

def test_lecture_vertical_edge_on_bar():
    # The slide's row "0 3 3 0 0 -3 -3 0" needs a bright-to-dark edge on the
    # left under cross-correlation (each output is 3 * (left column - right column)).
    # For the bright bar that happens with the true convolution, whose flipped
    # kernel rows are [-1, 0, 1]: outputs 1-2 see the bar's left edge, 5-6 its right edge.
    expected_row = [0, 3, 3, 0, 0, -3, -3, 0]
    np.testing.assert_array_equal(convolve2d(bar_image(), VERTICAL_EDGE), np.tile(expected_row, (8, 1)))
    # Cross-correlation (no flip) of the same bright bar gives the opposite signs ...
    np.testing.assert_array_equal(correlate2d(bar_image(), VERTICAL_EDGE),
                                  -np.tile(expected_row, (8, 1)))
    # ... and the slide's numbers for a dark bar on a bright background.
    dark_bar = 1 - bar_image()
    np.testing.assert_array_equal(correlate2d(dark_bar, VERTICAL_EDGE), np.tile(expected_row, (8, 1)))
    np.testing.assert_array_equal(correlate2d_reference(dark_bar, VERTICAL_EDGE), np.tile(expected_row, (8, 1)))


def test_lecture_vertical_edge_with_zero_padding():
    # pad=1 keeps the size 10x10. First/last rows: the kernel overlaps one row
    # of zero padding, so only 2 of its 3 rows see the image: 3 -> 2.
    # Dark bar: the zero padding also makes a (dark) border, so the first and
    # last columns respond to it too: -(1+1+1) = -3 on the left, +3 on the right.
    middle = [-3, 0, 3, 3, 0, 0, -3, -3, 0, 3]
    edge = [-2, 0, 2, 2, 0, 0, -2, -2, 0, 2]
    expected = np.array([edge] + [middle] * 8 + [edge])
    got = correlate2d(1 - bar_image(), VERTICAL_EDGE, pad=1)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got[[0, -1], 1:-1], [[0, 2, 2, 0, 0, -2, -2, 0]] * 2)
    # Bright bar with the true convolution: the padding is as dark as the
    # background, so the border columns stay 0.
    middle = [0, 0, 3, 3, 0, 0, -3, -3, 0, 0]
    edge = [0, 0, 2, 2, 0, 0, -2, -2, 0, 0]
    expected = np.array([edge] + [middle] * 8 + [edge])
    np.testing.assert_array_equal(convolve2d(bar_image(), VERTICAL_EDGE, pad=1), expected)


def test_lecture_5x5_example():
    image = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]])
    kernel = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]])
    expected = np.array([[12, 12, 17], [10, 17, 19], [9, 6, 14]])
    np.testing.assert_array_equal(correlate2d(image, kernel), expected)
    np.testing.assert_array_equal(correlate2d_reference(image, kernel), expected)
    # The same through the batched layer: one image, one channel, one filter.
    out, _ = conv2d_forward(image[None, None], kernel[None, None], None)
    np.testing.assert_array_equal(out[0, 0], expected)
    # Stride 2 keeps every other output: rows/cols 0 and 2.
    np.testing.assert_array_equal(correlate2d(image, kernel, stride=2), [[12, 17], [9, 14]])


def test_conv2d_one_hot_weights_pick_a_channel_and_offset():
    # A filter with a single 1 at (c, p, q) copies channel c shifted by (p, q).
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7))
    w = np.zeros((1, 3, 3, 3))
    w[0, 2, 1, 2] = 1.0
    out, _ = conv2d_forward(x, w, np.array([0.5]))
    np.testing.assert_allclose(out[:, 0], x[:, 2, 1:5, 2:7] + 0.5, rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------
# Fast versus loop reference
# ----------------------------------------------------------------------------

def test_conv2d_fast_matches_reference_random_shapes():
    rng = np.random.default_rng(2024)
    for _ in range(40):
        x, w, b, stride, pad = random_conv_case(rng)
        use_bias = rng.random() < 0.8
        out, cache = conv2d_forward(x, w, b if use_bias else None, stride, pad)
        ref, ref_cache = conv2d_forward_reference(x, w, b if use_bias else None, stride, pad)
        assert out.shape == ref.shape
        assert out.shape[2:] == (conv_output_size(x.shape[2], w.shape[2], stride[0], pad[0]),
                                 conv_output_size(x.shape[3], w.shape[3], stride[1], pad[1]))
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
        dout = rng.standard_normal(out.shape)
        dx, dw, db = conv2d_backward(dout, cache)
        dx_ref, dw_ref, db_ref = conv2d_backward_reference(dout, ref_cache)
        np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-10)
        np.testing.assert_allclose(dw, dw_ref, rtol=0, atol=1e-10)
        if use_bias:
            np.testing.assert_allclose(db, db_ref, rtol=0, atol=1e-10)
        else:
            assert db is None and db_ref is None


@pytest.mark.parametrize("width", [9, 40])   # narrow and wide outputs use different im2col layouts
@pytest.mark.parametrize("stride, pad", [(1, 0), (1, 1), (2, 2), ((2, 1), (0, 1)), (3, 0)])
def test_conv2d_fast_matches_reference_both_layouts(width, stride, pad):
    rng = np.random.default_rng(width)
    x = rng.standard_normal((2, 3, 7, width))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    ref, ref_cache = conv2d_forward_reference(x, w, b, stride, pad)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)



def _batch_last_order(a):
    """Whether the axes of ``a`` (N, C, H, W) lie in memory as (C, H, W, N)."""
    return a.strides[0] == a.itemsize and a.strides[1] > a.strides[2] > a.strides[3] > a.strides[0]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad, layout", [
    ((3, 2, 12, 20), (4, 2, 3, 3), 1, 1, "rows"),            # stride 1, "same" padding: taps cross row edges
    ((2, 3, 9, 30), (5, 3, 2, 5), 1, (0, 2), "rows"),
    ((2, 2, 6, 7), (3, 2, 3, 3), 1, (1, 3), "rows"),          # pad larger than the kernel
    ((3, 3, 14, 14), (4, 3, 5, 5), 1, 0, "slabs"),            # LeNet's C3, 4 extra columns on 10
    ((2, 3, 11, 9), (4, 3, 1, 3), (2, 1), (1, 0), "slabs"),   # one kernel row: the bias needs the last ones row
    ((3, 2, 13, 12), (3, 2, 4, 3), (3, 2), 1, "slabs"),       # strides: windows skip rows, the last rows unused
    ((2, 3, 9, 80), (4, 3, 3, 2), 2, 1, "im2col"),               # stride 2, wide: im2col
    ((2, 1, 9, 32), (3, 1, 5, 5), 1, 0, "slabs"),             # like C1: wide, 4 extra columns on 28
])
# whole batch / one image or output row / a few of them per chunk (40000: two
# images of the first "rows" case in float32, so its last chunk is partial);
# the same numbers split the slabs' matrix products (1: one column per product;
# 3000 and 40000: parts of unequal width for some cases)
@pytest.mark.parametrize("chunk_bytes", [None, 1, 3000, 40000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_each_fast_layout_matches_reference(x_shape, w_shape, stride, pad, layout, chunk_bytes, dtype,
                                                   monkeypatch):
    if chunk_bytes is not None:
        monkeypatch.setattr(fast_module, "_CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(fast_module, "_SMALL_PRODUCT", chunk_bytes)     # the slabs' products in parts
    rng = np.random.default_rng(31)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=0, atol=1e-10)
    for bias in (b, None):
        out, cache = conv2d_forward(x, w, bias, stride, pad)
        assert cache.layout == layout and out.dtype == dtype
        # the slabs leave their output batch last in memory, (F, OH, OW, N), as
        # the products computed it; the other layouts write NCHW
        assert (out.transpose(1, 2, 3, 0) if layout == "slabs" else out).flags.c_contiguous
        ref, ref_cache = conv2d_forward_reference(x.astype(np.float64), w.astype(np.float64),
                                                  None if bias is None else bias.astype(np.float64), stride, pad)
        np.testing.assert_allclose(out, ref, **tol)
        dout = rng.standard_normal(out.shape)
        got = conv2d_backward(dout, cache)
        want = conv2d_backward_reference(dout, ref_cache)
        for g, r in zip(got, want):
            if r is None:
                assert g is None
            else:
                assert g.dtype == dtype
                # dw, db: C-contiguous; dx: NCHW, or batch last (a view of col2im's padded buffer)
                assert g.flags.c_contiguous or (g is got[0] and _batch_last_order(g))
                np.testing.assert_allclose(g, r, **tol)
        no_dx = conv2d_backward(dout, cache, need_dx=False)
        assert no_dx[0] is None
        np.testing.assert_array_equal(no_dx[1], got[1])


@pytest.mark.parametrize("x_shape, w_shape, stride, pad, layout", [
    ((3, 2, 12, 20), (4, 2, 3, 3), 1, 1, "rows"),
    ((5, 6, 14, 14), (4, 6, 5, 5), 1, 0, "slabs"),            # LeNet's C3
    ((2, 3, 9, 80), (4, 3, 3, 2), 2, 1, "im2col"),
])
def test_conv2d_batch_last_input_and_dout(x_shape, w_shape, stride, pad, layout):
    """x and dout laid out batch last in memory, as a network hands them on
    from the slabs' output and from col2im's batch-last dx: the same values
    as the reference on NCHW copies."""
    rng = np.random.default_rng(len(layout))
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape, w_shape[:1]))
    x_bl = batch_last(x)
    assert _batch_last_order(x_bl)
    out, cache = conv2d_forward(x_bl, w, b, stride, pad)
    ref, ref_cache = conv2d_forward_reference(*(a.astype(np.float64) for a in (x, w, b)), stride, pad)
    assert cache.layout == layout
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dout_bl = batch_last(dout)
    for got, want in zip(conv2d_backward(dout_bl, cache), conv2d_backward_reference(dout, ref_cache)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel_width", [1, 2, 3, 4, 5])
def test_conv2d_row_windows_every_padding(kernel_width, monkeypatch):
    # The row windows pack image rows without their zero columns, so taps that
    # reach into the padding read a neighbouring row and must be zeroed; the
    # number and place of those entries depend on W, KW and PW. Every padding
    # from none to wider than the kernel, the row path forced for each.
    monkeypatch.setattr(fast_module, "_uses_row_windows", lambda stride, *args: stride == (1, 1))
    rng = np.random.default_rng(kernel_width)
    for width in (1, 4, 9):
        for pad_width in range(kernel_width + 2):
            if width + 2 * pad_width < kernel_width:
                continue
            x, w, b = (rng.standard_normal(s) for s in ((2, 2, 5, width), (3, 2, 2, kernel_width), (3,)))
            out, cache = conv2d_forward(x, w, b, 1, (1, pad_width))
            assert cache.layout == "rows"
            ref, ref_cache = conv2d_forward_reference(x, w, b, 1, (1, pad_width))
            np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
            dout = rng.standard_normal(out.shape)
            for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_conv2d_work_arrays_may_start_as_nan(monkeypatch):
    # The fast paths allocate with np.empty and write zeros only where they are
    # needed; memory left over from elsewhere can hold NaN, and a stray NaN
    # survives even a multiplication by a zero of dout. Every np.empty here
    # starts as NaN; nothing may leak into out, dx, dw or db.
    full = np.full

    def nan_empty(shape, dtype=float, order="C", **kwargs):
        dtype = np.dtype(dtype)
        return full(shape, np.nan if dtype.kind in "fc" else 0, dtype=dtype, order=order)

    monkeypatch.setattr(np, "empty", nan_empty)
    monkeypatch.setattr(fast_module, "_scratch_pool", __import__("threading").local())
    rng = np.random.default_rng(8)
    for x_shape, w_shape, stride, pad, layout in [
            ((3, 2, 6, 40), (4, 2, 5, 5), 1, 0, "rows"),         # wrap-around columns
            ((3, 2, 6, 9), (4, 2, 3, 3), 1, 1, "rows"),          # taps crossing a row's edge
            ((2, 3, 7, 7), (2, 3, 2, 4), 1, (1, 3), "rows"),     # padding wider than the kernel
            ((3, 3, 11, 11), (4, 3, 7, 7), 1, 1, "slabs"),
            ((2, 3, 9, 80), (4, 3, 3, 2), 2, 1, "im2col")]:
        x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
        out, cache = conv2d_forward(x, w, b, stride, pad)
        assert cache.layout == layout
        ref, ref_cache = conv2d_forward_reference(x, w, b, stride, pad)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
        dout = rng.standard_normal(out.shape)
        for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad, layout", [
    ((0, 2, 6, 9), (4, 2, 3, 3), 1, 1, "rows"),
    ((0, 6, 14, 14), (16, 6, 5, 5), 1, 0, "slabs"),
    ((0, 3, 9, 80), (4, 3, 3, 2), 2, 1, "im2col"),
])
def test_conv2d_empty_batch(x_shape, w_shape, stride, pad, layout):
    # A batch of no images (e.g. the last, empty slice of a dataset) gives empty
    # outputs and gradients, and dw, db of zeros, as the loop reference does.
    x = np.zeros(x_shape, np.float32)
    w = np.ones(w_shape, np.float32)
    out, cache = conv2d_forward(x, w, np.ones(w_shape[0]), stride, pad)
    ref, ref_cache = conv2d_forward_reference(x, w, np.ones(w_shape[0]), stride, pad)
    assert cache.layout == layout and out.shape == ref.shape and out.shape[0] == 0
    dout = np.zeros(out.shape, np.float32)
    for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, 0)


@pytest.mark.parametrize("x_shape, w_shape, pad, layout", [
    ((3, 2, 6, 9), (4, 2, 3, 3), 1, "rows"),
    ((3, 3, 11, 11), (4, 3, 7, 7), 1, "slabs"),
])
def test_conv2d_backward_reads_a_cache_in_any_memory_order(x_shape, w_shape, pad, layout):
    # The backward passes read the cached array (padded input or slabs) through
    # strided views that need one C-ordered block of memory; a cache whose array was
    # copied to Fortran order (or is a strided view) must give the same gradients.
    rng = np.random.default_rng(21)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    out, cache = conv2d_forward(x, w, b, 1, pad)
    assert cache.layout == layout
    dout = rng.standard_normal(out.shape)
    want = conv2d_backward(dout, cache)
    wide = np.zeros(cache.cols.shape[:-1] + (2 * cache.cols.shape[-1],))
    wide[..., ::2] = cache.cols
    for cols in (np.asfortranarray(cache.cols), wide[..., ::2]):
        assert not cols.flags.c_contiguous
        for got, expected in zip(conv2d_backward(dout, cache._replace(cols=cols)), want):
            np.testing.assert_array_equal(got, expected)


def test_conv2d_batch_of_images_4kib_apart():
    # Images (and output maps) a multiple of 4 KiB apart are transposed in
    # chunks of 8 images (a cache-friendly copy); with N = 19 the last chunk is partial.
    rng = np.random.default_rng(13)
    x = rng.standard_normal((19, 2, 16, 16))          # 2*16*16*8 bytes = 4 KiB per image
    w = rng.standard_normal((4, 2, 3, 3))
    b = rng.standard_normal(4)
    out, cache = conv2d_forward(x, w, b, 2, 1)        # output 4*8*8*8 bytes = 2 KiB ...
    ref, ref_cache = conv2d_forward_reference(x, w, b, 2, 1)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    w8 = rng.standard_normal((8, 2, 3, 3))            # ... and 8 maps * 8 * 8 * 8 bytes = 4 KiB
    out, cache = conv2d_forward(x, w8, None, 2, 1)
    ref, ref_cache = conv2d_forward_reference(x, w8, None, 2, 1)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(conv2d_backward(dout, cache)[:2], conv2d_backward_reference(dout, ref_cache)[:2]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), ((1, 3), (2, 0))])
def test_im2col_entries_and_col2im_is_its_adjoint(stride, pad):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 6, 8))
    kh, kw = 3, 2
    cols = im2col(x, (kh, kw), stride, pad)
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (pad, pad) if np.isscalar(pad) else pad
    oh = conv_output_size(6, kh, sh, ph)
    ow = conv_output_size(8, kw, sw, pw)
    assert cols.shape == (3 * kh * kw, 2 * oh * ow)
    # Entry by entry, from the definition.
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols6 = cols.reshape(3, kh, kw, 2, oh, ow)
    for n in range(2):
        for i in range(oh):
            for j in range(ow):
                np.testing.assert_array_equal(cols6[:, :, :, n, i, j],
                                              x_pad[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw])
    # <im2col(x), Y> == <x, col2im(Y)> for any Y: col2im is the transpose of im2col.
    y = rng.standard_normal(cols.shape)
    dx = col2im(y, x.shape, (kh, kw), stride, pad)
    assert dx.shape == x.shape and dx.flags.c_contiguous
    assert np.isclose(np.sum(cols * y), np.sum(x * dx), rtol=1e-12, atol=0)
    # The fast layouts' fold: the same for columns (n, i, j); for columns
    # (i, j, n) the same numbers, dx batch last in memory.
    fold = lambda y, batch_last: fast_module._col2im(   # noqa: E731
        y, x.shape, (kh, kw), (sh, sw), (ph, pw), (oh, ow), batch_last)
    np.testing.assert_array_equal(fold(y, False), dx)
    y_bl = y.reshape(-1, 2, oh * ow).transpose(0, 2, 1).reshape(cols.shape)
    dx_bl = fold(y_bl, True)
    assert _batch_last_order(dx_bl)
    np.testing.assert_allclose(dx_bl, dx, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------
# Gradients against central differences (float64)
# ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [((2, 3, 5, 6), (4, 3, 3, 3), 1, 1),
     ((2, 2, 7, 5), (3, 2, 3, 2), 2, 0),
     ((1, 3, 8, 7), (2, 3, 2, 3), (3, 2), (1, 2)),
     ((3, 1, 6, 6), (2, 1, 5, 5), 1, 0),
     ((2, 2, 5, 24), (2, 2, 3, 3), 1, 1)],   # wide output: the other im2col layout
)
def test_conv2d_backward_matches_central_differences(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)

    dx_num = numerical_gradient_array(lambda v: conv2d_forward(v, w, b, stride, pad)[0], x, dout)
    dw_num = numerical_gradient_array(lambda v: conv2d_forward(x, v, b, stride, pad)[0], w, dout)
    db_num = numerical_gradient_array(lambda v: conv2d_forward(x, w, v, stride, pad)[0], b, dout)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


def test_conv2d_without_bias_and_without_dx():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    out_nb, cache_nb = conv2d_forward(x, w, None, 1, 1)
    out_b, cache_b = conv2d_forward(x, w, b, 1, 1)
    np.testing.assert_allclose(out_b - out_nb, np.broadcast_to(b[None, :, None, None], out_b.shape), atol=1e-12)
    dout = rng.standard_normal(out_b.shape)
    dx, dw, db = conv2d_backward(dout, cache_nb)
    assert db is None
    dx2, dw2, db2 = conv2d_backward(dout, cache_b, need_dx=False)
    assert dx2 is None
    np.testing.assert_allclose(dw2, dw, atol=1e-12)
    np.testing.assert_allclose(db2, dout.sum(axis=(0, 2, 3)), atol=1e-12)


# ----------------------------------------------------------------------------
# Dtypes
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("width", [9, 40])
def test_float32_stays_float32(width):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 9, width)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = conv2d_forward(x, w, b, 1, 1)
    assert out.dtype == np.float32
    # A float64 upstream gradient must not silently upcast the float32 layer.
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    out64, cache64 = conv2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), 1, 1)
    np.testing.assert_allclose(out, out64, rtol=1e-4, atol=1e-4)
    for got, want in zip((dx, dw, db), conv2d_backward(dout, cache64)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert correlate2d(x[0, 0], w[0, 0]).dtype == np.float32


def test_integer_input_becomes_float64_and_dtypes_combine():
    x = np.arange(2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    w = np.ones((1, 1, 2, 2), dtype=np.int32)
    out, cache = conv2d_forward(x, w, np.array([1]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0, 0], [0 + 1 + 4 + 5 + 1, 1 + 2 + 5 + 6 + 1, 2 + 3 + 6 + 7 + 1])
    assert all(g.dtype == np.float64 for g in conv2d_backward(np.ones(out.shape), cache))
    out, _ = conv2d_forward(x.astype(np.float32), w.astype(np.float64), None)
    assert out.dtype == np.result_type(np.float32, np.float64)
    assert correlate2d(np.eye(3, dtype=int), np.ones((2, 2), dtype=int)).dtype == np.float64


# ----------------------------------------------------------------------------
# Bad input: ValueError naming the shapes and values
# ----------------------------------------------------------------------------

X = np.zeros((2, 3, 8, 8))
W = np.zeros((5, 3, 3, 3))
B = np.zeros(5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: conv2d_forward(np.zeros((3, 8, 8)), W, B), r"x must be 4-D.*\(3, 8, 8\)"),
        (lambda: conv2d_forward(X, np.zeros((3, 3, 3)), B), r"w must be 4-D.*\(3, 3, 3\)"),
        (lambda: conv2d_forward(X, np.zeros((5, 4, 3, 3)), B),
         r"x has 3 channels \(x.shape=\(2, 3, 8, 8\)\) but w expects 4 \(w.shape=\(5, 4, 3, 3\)\)"),
        (lambda: conv2d_forward(X, W, np.zeros(4)), r"b must have shape.*\(5,\).*b.shape=\(4,\)"),
        (lambda: conv2d_forward(X, W, np.zeros((5, 1))), r"b.shape=\(5, 1\)"),
        (lambda: conv2d_forward(X, np.zeros((5, 3, 9, 3)), B), r"kernel 9x3 is larger than the padded input 8x8"),
        (lambda: conv2d_forward(X, np.zeros((5, 3, 3, 9)), B), r"kernel 3x9 is larger than the padded input 8x8"),
        (lambda: conv2d_forward(X, np.zeros((5, 3, 11, 3)), B, pad=1),
         r"kernel 11x3 is larger than the padded input 10x10.*x.shape=\(2, 3, 8, 8\)"),
        (lambda: conv2d_forward(X, W, B, stride=0), r"stride must be >= 1, got stride=0"),
        (lambda: conv2d_forward(X, W, B, stride=(1, -1)), r"stride must be >= 1, got stride=\(1, -1\)"),
        (lambda: conv2d_forward(X, W, B, pad=-1), r"pad must be >= 0, got pad=-1"),
        (lambda: conv2d_forward_reference(X, np.zeros((5, 4, 3, 3)), B), r"x has 3 channels"),
        (lambda: conv2d_backward(np.zeros((2, 5, 7, 7)), conv2d_forward(X, W, B)[1]),
         r"dout must have the forward output's shape \(2, 5, 6, 6\).*\(2, 5, 7, 7\)"),
        (lambda: correlate2d(np.zeros((4, 4, 1)), np.ones((2, 2))), r"image.shape=\(4, 4, 1\)"),
        (lambda: correlate2d(np.zeros((4, 4)), np.ones((5, 2))), r"kernel 5x2 is larger than the padded input 4x4"),
        (lambda: correlate2d(np.zeros((4, 4)), np.ones((2, 2)), stride=0), r"stride must be >= 1"),
        (lambda: convolve2d(np.zeros((4, 4)), np.ones((2, 2)), pad=-2), r"pad must be >= 0, got pad=-2"),
        (lambda: correlate2d_reference(np.zeros(4), np.ones((2, 2))), r"image.shape=\(4,\)"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_integer_stride_is_a_type_error():
    with pytest.raises(TypeError, match="stride must be an int"):
        conv2d_forward(X, W, B, stride=1.5)
    with pytest.raises(TypeError, match="dtype complex128"):
        conv2d_forward(X.astype(complex), W, B)


# ----------------------------------------------------------------------------
# PyTorch (runs only where torch is installed)
# ----------------------------------------------------------------------------

def test_conv2d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    for stride, pad in [(1, 0), (2, 1), ((1, 2), (2, 0))]:
        x = rng.standard_normal((3, 4, 11, 10))
        w = rng.standard_normal((5, 4, 3, 2))
        b = rng.standard_normal(5)
        out, cache = conv2d_forward(x, w, b, stride, pad)
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(w, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        out_t = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
        dout = rng.standard_normal(out.shape)
        out_t.backward(torch.tensor(dout))
        dx, dw, db = conv2d_backward(dout, cache)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_work_arrays_are_per_thread():
    # The fast paths reuse work arrays between calls (_conv_fast._scratch); two threads
    # convolving different shapes at the same time must not see each other's.
    import threading

    rng = np.random.default_rng(17)
    cases = [((6, 3, 14, 14), (5, 3, 5, 5), 0),       # batch-last im2col blocks
             ((6, 2, 20, 20), (4, 2, 3, 3), 1)]       # row windows
    data = []
    for x_shape, w_shape, pad in cases:
        x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
        out, cache = conv2d_forward_reference(x, w, b, 1, pad)
        dout = rng.standard_normal(out.shape)
        data.append((x, w, b, pad, out, dout, conv2d_backward_reference(dout, cache)))
    errors = []

    def work(x, w, b, pad, want_out, dout, want_grads):
        try:
            for _ in range(30):
                out, cache = conv2d_forward(x, w, b, 1, pad)
                np.testing.assert_allclose(out, want_out, rtol=0, atol=1e-10)
                for got, want in zip(conv2d_backward(dout, cache), want_grads):
                    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
        except Exception as e:          # pragma: no cover - reported below (a thread would swallow it)
            errors.append(e)

    threads = [threading.Thread(target=work, args=d) for d in data for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_conv2d_layers_in_a_network_keep_their_own_inputs():
    # The chunk buffers are work arrays reused by the next call, and the padded
    # inputs are allocated empty, often in a block that another layer has just
    # freed with its data still in it. A cache must still give the gradient of
    # its own forward pass after other layers (a network's forward pass) and
    # another batch have run, and each padded input needs its zeros written.
    # (test_conv2d_work_arrays_may_start_as_nan makes the leftovers certain.)
    rng = np.random.default_rng(23)
    layers = [((4, 3, 12, 20), (5, 3, 3, 3), 0, "rows"),     # data everywhere ...
              ((4, 3, 12, 20), (5, 3, 3, 3), 1, "rows"),     # ... where this one needs zeros
              ((4, 2, 10, 10), (3, 2, 5, 5), 0, "slabs"),
              ((4, 3, 13, 13), (2, 3, 5, 5), 0, "slabs"),     # the same again for the batch-last copy
              ((4, 3, 11, 11), (2, 3, 7, 7), 1, "slabs")]
    runs = []
    for x_shape, w_shape, pad, layout in layers + layers:     # the second round: a new batch, same layers
        x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
        out, cache = conv2d_forward(x, w, b, 1, pad)
        assert cache.layout == layout
        ref, ref_cache = conv2d_forward_reference(x, w, b, 1, pad)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
        runs.append((cache, ref_cache, rng.standard_normal(out.shape)))
    for cache, ref_cache, dout in reversed(runs):
        for got, want in zip(conv2d_backward(dout, cache), conv2d_backward_reference(dout, ref_cache)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_conv2d_large_work_arrays_are_not_kept(monkeypatch):
    # A huge input makes huge chunks; they must be freed after the call, not pooled.
    monkeypatch.setattr(fast_module, "_SCRATCH_KEEP_BYTES", 4096)
    monkeypatch.setattr(fast_module, "_scratch_pool", __import__("threading").local())
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 2, 30, 30)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    out, cache = conv2d_forward(x, w, b, 1, 1)
    ref, _ = conv2d_forward_reference(x, w, b, 1, 1)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)
    kept = fast_module._scratch_pool.__dict__.get("arrays", {})
    assert all(a.nbytes <= 4096 for a in kept.values())
