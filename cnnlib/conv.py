"""Convolution: the lecture's 2-D formulas, a loop version of each, and a fast version.

Deep-learning "convolution" is really cross-correlation (the kernel is not
flipped). For one image and one kernel the lecture writes

    out[i, j] = sum_{p, q} image_pad[i*s + p, j*s + q] * kernel[p, q]

and for a batch of multi-channel images and a bank of F filters

    out[n, f, i, j] = sum_{c, p, q} x_pad[n, c, i*s + p, j*s + q] * w[f, c, p, q] + b[f]

with output size ``(n + 2*pad - k) // stride + 1`` along each axis.

The ``*_reference`` functions loop over output pixels exactly as on the slide;
the tests compare the fast versions against them. The fast versions use
*im2col*: copy every receptive field into one column of a matrix, so that the
whole layer becomes a single matrix product that BLAS computes quickly. The
backward pass reverses this: ``dw`` is again one matrix product, and ``dx`` is
the matrix of column gradients folded back onto the image (*col2im*).

The im2col matrix is KH*KW times the size of the input, and copying it costs
as much as the product. For most layer shapes :func:`conv2d_forward` therefore
computes the same sums from a layout that copies less; those layouts live in
the private module ``cnnlib._conv_fast``, and the tests check them against
the loops here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _conv_fast
from ._checks import conv_inputs, image_and_kernel, integer, pair, stride_pad, upstream, window_output_size

__all__ = [
    "conv_output_size",
    "correlate2d",
    "convolve2d",
    "correlate2d_reference",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_forward_reference",
    "conv2d_backward_reference",
    "im2col",
    "col2im",
    "ConvCache",
]


# ----------------------------------------------------------------------------
# Padding and windows
# ----------------------------------------------------------------------------

def _pad_image(x, pad):
    """Zero-pad the last two axes of ``x`` by ``pad = (rows, cols)`` (no copy when 0)."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return x
    h, w = x.shape[-2:]
    x_pad = np.zeros(x.shape[:-2] + (h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    x_pad[..., ph:ph + h, pw:pw + w] = x
    return x_pad


def _window_slice(offset, stride, count):
    """Slice picking ``offset, offset + stride, ...`` (``count`` items): one kernel tap
    of every receptive field along an axis."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def conv_output_size(n, k, stride=1, pad=0):
    """Output length of a convolution along one axis.

    ``out = (n + 2*pad - k) // stride + 1`` (lecture formula; windows that do
    not fit at the end are dropped).

    Parameters
    ----------
    n : int
        Input length (height or width).
    k : int
        Kernel length.
    stride : int
        Step between neighbouring windows, >= 1.
    pad : int
        Zeros added on each side, >= 0.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If ``stride < 1``, ``pad < 0``, ``k < 1``, ``n < 1`` or ``k > n + 2*pad``.

    Examples
    --------
    >>> conv_output_size(32, 5)
    28
    >>> conv_output_size(7, 3, stride=2, pad=1)
    4
    """
    func = "conv_output_size"
    n, k = integer(n, "n", func, minimum=1), integer(k, "k", func, minimum=1)
    stride, pad = integer(stride, "stride", func, minimum=1), integer(pad, "pad", func, minimum=0)
    if n + 2 * pad < k:
        raise ValueError(
            f"conv_output_size: kernel size k={k} is larger than the padded input "
            f"n + 2*pad = {n} + 2*{pad} = {n + 2 * pad}"
        )
    return int((n + 2 * pad - k) // stride + 1)


# ----------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------

def im2col(x, kernel_size, stride=1, pad=0):
    """Copy every receptive field of a batch into one column of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch (not padded; ``pad`` zeros are added here).
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    stride, pad : int or (int, int)

    Returns
    -------
    cols : ndarray, shape (C*KH*KW, N*OH*OW)
        ``cols[(c, p, q), (n, i, j)] = x_pad[n, c, i*SH + p, j*SW + q]``, with
        ``OH = (H + 2*PH - KH) // SH + 1`` (likewise ``OW``). Rows are ordered
        like ``w.reshape(F, C*KH*KW)``, so a convolution is ``w.reshape(F, -1) @ cols``.

    Notes
    -----
    There is no loop at all: ``sliding_window_view`` shows every receptive
    field of the padded batch as a strided view (offset ``(p, q)`` of every
    window is ``x_pad[:, :, p::SH, q::SW]`` cut to OH x OW), and one copy
    lays it out as columns.

    Examples
    --------
    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)[:, 0]    # the first window
    array([0., 1., 3., 4.])
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"im2col: x must be 4-D (N, C, H, W), got x.shape={x.shape}")
    kernel_size = pair(kernel_size, "kernel_size", "im2col")
    stride, pad = stride_pad(stride, pad, "im2col")
    out_size = window_output_size("im2col", x.shape[2:], kernel_size, stride, pad, lambda: f"x.shape={x.shape}")
    return _im2col(x, kernel_size, stride, pad, out_size)


def _im2col(x, kernel_size, stride, pad, out_size):
    """:func:`im2col` without the argument checks."""
    n, c, _, _ = x.shape
    (kh, kw), (sh, sw), (oh, ow) = kernel_size, stride, out_size
    x_pad = _pad_image(x, pad).transpose(1, 0, 2, 3)      # (C, N, Hp, Wp): a view when pad is 0
    # (C, N, Hp-KH+1, Wp-KW+1, KH, KW) -> every SH-th and SW-th window -> (C, KH, KW, N, OH, OW)
    windows = sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    np.copyto(cols, windows.transpose(0, 4, 5, 1, 2, 3))   # one copy, not one per tap
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im(dcols, x_shape, kernel_size, stride=1, pad=0):
    """Fold column gradients back onto the image: the adjoint of :func:`im2col`.

    A pixel that lies in several receptive fields receives the sum of their
    gradients; gradients that land on the zero padding are dropped.

    Parameters
    ----------
    dcols : ndarray, shape (C*KH*KW, N*OH*OW)
        Gradient with respect to ``im2col(x, kernel_size, stride, pad)``.
    x_shape : tuple (N, C, H, W)
    kernel_size : int or (int, int)
    stride, pad : int or (int, int)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)

    Notes
    -----
    Adds one strided slice per kernel offset (KH*KW iterations). Within one
    offset no two windows touch the same pixel, so a plain ``+=`` is correct
    (``np.add.at`` would also be correct, but is very slow).
    """
    n, c, h, w = x_shape
    kh, kw = pair(kernel_size, "kernel_size", "col2im")
    (sh, sw), (ph, pw) = stride_pad(stride, pad, "col2im")
    oh, ow = window_output_size("col2im", (h, w), (kh, kw), (sh, sw), (ph, pw),
                           lambda: f"x_shape={tuple(x_shape)}")
    dcols = np.asarray(dcols)
    if dcols.shape != (c * kh * kw, n * oh * ow):
        raise ValueError(
            f"col2im: dcols must have shape (C*KH*KW, N*OH*OW) = {(c * kh * kw, n * oh * ow)} "
            f"for x_shape={tuple(x_shape)}, got dcols.shape={dcols.shape}"
        )
    dcols = dcols.reshape(c, kh, kw, n, oh, ow)
    dx_pad = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)   # as the columns: C first
    for p in range(kh):
        for q in range(kw):
            dx_pad[:, :, _window_slice(p, sh, oh), _window_slice(q, sw, ow)] += dcols[:, p, q]
    dx = np.empty((n, c, h, w), dtype=dcols.dtype)
    dx[...] = dx_pad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)
    return dx


# ----------------------------------------------------------------------------
# Single-channel 2-D correlation and convolution
# ----------------------------------------------------------------------------

def _correlate2d(image, kernel, stride, pad, out_size):
    # One image: add up KH*KW shifted (strided) copies of the image, each times
    # one kernel entry -- the slide's sum in another order. For a single image
    # this beats im2col, whose matrix would be KH*KW times the image size.
    image_pad = _pad_image(image, pad)
    out = np.zeros(out_size, dtype=image.dtype)
    term = np.empty_like(out)
    for p in range(kernel.shape[0]):
        rows = _window_slice(p, stride[0], out_size[0])
        for q in range(kernel.shape[1]):
            np.multiply(image_pad[rows, _window_slice(q, stride[1], out_size[1])], kernel[p, q], out=term)
            out += term
    return out


def correlate2d(image, kernel, stride=1, pad=0):
    """Relaxed 2-D convolution (cross-correlation) of one image with one kernel.

    ``out[i, j] = sum_{p,q} image_pad[i*s + p, j*s + q] * kernel[p, q]``
    (lecture: the "convolution" of deep learning, no kernel flip).

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    stride : int or (int, int)
        Step between windows (rows, cols), >= 1.
    pad : int or (int, int)
        Zeros added on each side (rows, cols), >= 0.

    Returns
    -------
    out : ndarray, shape (OH, OW)
        ``OH = (H + 2*pad - KH) // stride + 1``, likewise ``OW``. Float64 unless
        the inputs are float32 (ints become float64).

    See Also
    --------
    convolve2d : the same with the kernel flipped (true convolution).
    correlate2d_reference : the loop version from the slide.

    Examples
    --------
    >>> correlate2d([[1, 2, 3], [4, 5, 6]], [[1, -1]])
    array([[-1., -1.],
           [-1., -1.]])
    """
    image, kernel, stride, pad, out_size = image_and_kernel(image, kernel, stride, pad, "correlate2d")
    return _correlate2d(image, kernel, stride, pad, out_size)


def convolve2d(image, kernel, stride=1, pad=0):
    """True 2-D convolution: the kernel is flipped in both axes, then correlated.

    ``out[i, j] = sum_{p,q} image_pad[i*s + p, j*s + q] * kernel[KH-1-p, KW-1-q]``
    (signal-processing definition; with ``stride=1, pad=0`` it equals
    ``scipy.signal.convolve2d(image, kernel, mode="valid")``).

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    stride, pad : int or (int, int)
        As in :func:`correlate2d`.

    Returns
    -------
    out : ndarray, shape (OH, OW)
        ``OH = (H + 2*pad - KH) // stride + 1``, likewise ``OW``.
    """
    image, kernel, stride, pad, out_size = image_and_kernel(image, kernel, stride, pad, "convolve2d")
    return _correlate2d(image, kernel[::-1, ::-1], stride, pad, out_size)


def correlate2d_reference(image, kernel, stride=1, pad=0):
    """Loop version of :func:`correlate2d`, one output pixel at a time (as on the slide).

    ``out[i, j] = sum_{p,q} image_pad[i*s + p, j*s + q] * kernel[p, q]``

    Parameters and return value as in :func:`correlate2d`. Slow; for teaching
    and tests only.
    """
    image, kernel, (sh, sw), pad, (oh, ow) = image_and_kernel(
        image, kernel, stride, pad, "correlate2d_reference")
    image_pad = _pad_image(image, pad)
    kh, kw = kernel.shape
    out = np.zeros((oh, ow), dtype=image.dtype)
    for i in range(oh):
        for j in range(ow):
            window = image_pad[i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[i, j] = np.sum(window * kernel)
    return out


# ----------------------------------------------------------------------------
# Multi-channel batched convolution layer
# ----------------------------------------------------------------------------

class ConvCache(NamedTuple):
    """What :func:`conv2d_forward` keeps for :func:`conv2d_backward`."""

    cols: np.ndarray          # what dw needs: the im2col matrix, or what the fast layout kept
    w: np.ndarray             # weights (F, C, KH, KW), needed for dx
    x_shape: tuple            # (N, C, H, W)
    stride: tuple             # (SH, SW)
    pad: tuple                # (PH, PW)
    has_bias: bool            # False -> db is None
    layout: str               # "im2col", or a layout of cnnlib._conv_fast ("rows", "slabs")


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Forward pass of a convolutional layer (fast: im2col and matrix products).

    ``out[n,f,i,j] = sum_{c,p,q} x_pad[n,c,i*s+p,j*s+q] * w[f,c,p,q] + b[f]``

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input batch.
    w : array_like, shape (F, C, KH, KW)
        F filters, each spanning all C input channels.
    b : array_like, shape (F,), or None
        One bias per filter; None for a layer without bias.
    stride : int or (int, int)
        Step ``(SH, SW)`` between windows, >= 1; an int is used for both.
    pad : int or (int, int)
        Zeros ``(PH, PW)`` added above and below, left and right, >= 0.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        ``OH = (H + 2*PH - KH) // SH + 1``, ``OW = (W + 2*PW - KW) // SW + 1``.
        Its dtype is ``np.result_type`` of x and w (ints count as float64),
        so float32 in gives float32 out. A new array; for some shapes its
        memory is batch last (see ``cnnlib._conv_fast``), which every NumPy
        operation handles; ``np.ascontiguousarray(out)`` gives NCHW memory.
    cache : ConvCache
        For :func:`conv2d_backward`. With ``layout="im2col"``, ``cols`` is the
        :func:`im2col` matrix (C*KH*KW, N*OH*OW).

    Raises
    ------
    ValueError
        On wrong ndim, a channel mismatch, ``b`` of the wrong length, a kernel
        larger than the padded input, ``stride < 1`` or ``pad < 0``.

    See Also
    --------
    conv2d_forward_reference : the same with loops.
    """
    x, w, b, stride, pad, (oh, ow) = conv_inputs(x, w, b, stride, pad, "conv2d_forward")
    n, f = x.shape[0], w.shape[0]
    layout = _conv_fast.choose_layout(stride, x.shape[3], ow, w.shape[3], pad[1])
    if layout != "im2col":
        out, kept = _conv_fast.forward(layout, x, w, b, stride, pad, (oh, ow))
        return out, ConvCache(kept, w, x.shape, stride, pad, b is not None, layout)
    cols = _im2col(x, w.shape[2:], stride, pad, (oh, ow))
    out = np.matmul(w.reshape(f, -1), cols)                 # (F, N*OH*OW): one BLAS call
    if b is not None:
        out += b[:, None]
    out_nchw = np.empty((n, f, oh, ow), dtype=x.dtype)
    out_nchw[...] = out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3)
    return out_nchw, ConvCache(cols, w, x.shape, stride, pad, b is not None, layout)


def conv2d_backward(dout, cache, *, need_dx=True):
    """Backward pass of :func:`conv2d_forward`.

    With ``dout = dL/dout`` (lecture: upstream gradient times local gradient)

    - ``db[f] = sum_{n,i,j} dout[n,f,i,j]``
    - ``dw[f,c,p,q] = sum_{n,i,j} dout[n,f,i,j] * x_pad[n,c,i*s+p,j*s+q]``
    - ``dx_pad[n,c,i*s+p,j*s+q] += sum_f dout[n,f,i,j] * w[f,c,p,q]``

    Parameters
    ----------
    dout : array_like, shape (N, F, OH, OW)
        Upstream gradient; cast to the forward pass's dtype.
    cache : ConvCache
        From :func:`conv2d_forward`.
    need_dx : bool, keyword-only
        False skips the input gradient (``dx`` is None), e.g. for the first
        layer of a network, whose input needs no gradient.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None if ``need_dx`` is False
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,), or None if the forward pass had ``b=None``
    """
    cols, w, x_shape, stride, pad, has_bias, layout = cache
    n, c, h, wd = x_shape
    f, _, kh, kw = w.shape
    oh = (h + 2 * pad[0] - kh) // stride[0] + 1
    ow = (wd + 2 * pad[1] - kw) // stride[1] + 1
    dout = upstream(dout, (n, f, oh, ow), cols.dtype, "conv2d_backward")
    if layout != "im2col":
        return _conv_fast.backward(layout, dout, cols, w, x_shape, stride, pad, has_bias, need_dx)
    # dout as an (F, N*OH*OW) matrix, columns in im2col's order (n, i, j)
    dout_mat = np.empty((f, n, oh * ow), dtype=cols.dtype)
    dout_mat[...] = dout.reshape(n, f, oh * ow).transpose(1, 0, 2)
    dout_mat = dout_mat.reshape(f, -1)
    dw = np.matmul(dout_mat, cols.T).reshape(w.shape)      # BLAS reads cols.T without a copy
    db = dout_mat.sum(axis=1) if has_bias else None
    if not need_dx:
        return None, dw, db
    dcols = np.matmul(w.reshape(f, -1).T, dout_mat)        # (C*KH*KW, N*OH*OW)
    return col2im(dcols, x_shape, (kh, kw), stride, pad), dw, db


def conv2d_forward_reference(x, w, b, stride=1, pad=0):
    """Loop version of :func:`conv2d_forward` (CS231n style: loops over n, f, i, j).

    ``out[n,f,i,j] = sum_{c,p,q} x_pad[n,c,i*s+p,j*s+q] * w[f,c,p,q] + b[f]``

    Parameters and ``out`` as in :func:`conv2d_forward`; ``cache`` is
    ``(x, w, b, stride, pad)`` for :func:`conv2d_backward_reference`.
    Slow; for teaching and tests only.
    """
    x, w, b, (sh, sw), pad, (oh, ow) = conv_inputs(x, w, b, stride, pad,
                                                          "conv2d_forward_reference")
    n_images, _, _, _ = x.shape
    n_filters, _, kh, kw = w.shape
    x_pad = _pad_image(x, pad)
    out = np.zeros((n_images, n_filters, oh, ow), dtype=x.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[n, f, i, j] = np.sum(window * w[f])
                    if b is not None:
                        out[n, f, i, j] += b[f]
    return out, (x, w, b, (sh, sw), pad)


def conv2d_backward_reference(dout, cache):
    """Loop version of :func:`conv2d_backward` (loops over n, f, i, j).

    Each output pixel sends ``dout[n,f,i,j] * w[f]`` back to its window of
    ``x_pad`` and ``dout[n,f,i,j] * window`` to ``dw[f]``.

    Parameters
    ----------
    dout : array_like, shape (N, F, OH, OW)
    cache : tuple
        From :func:`conv2d_forward_reference`.

    Returns
    -------
    dx, dw, db
        Shapes of x, w and b; ``db`` is None when ``b`` was None.
    """
    x, w, b, (sh, sw), (ph, pw) = cache
    dout = np.asarray(dout, dtype=x.dtype)
    n_images, _, h, wd = x.shape
    n_filters, _, kh, kw = w.shape
    _, _, oh, ow = dout.shape
    x_pad = _pad_image(x, (ph, pw))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = None if b is None else np.zeros_like(b)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * sh, i * sh + kh)
                    cols = slice(j * sw, j * sw + kw)
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    if db is not None:
                        db[f] += dout[n, f, i, j]
    dx = dx_pad[:, :, ph:ph + h, pw:pw + wd].copy()
    return dx, dw, db
