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

The matrix is KH*KW times the size of the input, and copying it costs as
much as the product, so the fast layer avoids building it whole. For stride
1 it builds it a chunk of images at a time, small enough to be read back
from the CPU's cache, copying whole padded rows so that every copy is long
(see :func:`_row_window_chunks`), and keeps only the padded input, from
which the backward pass rebuilds the chunks. For other narrow outputs it
copies each input row once per kernel column (:func:`_row_slabs`); the
kernel rows then need no copy, because the receptive fields of one output
row are consecutive slabs of that array. Only wide outputs with stride > 1
still get the whole matrix at once. The bias rides along in the matrix
product as a row of ones.
"""
from __future__ import annotations

import numbers
import threading
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
# Argument checking shared by conv.py and pool.py
# ----------------------------------------------------------------------------

def _pair(value, name, func):
    """Return ``(rows, cols)`` from an int or a pair of ints."""
    # Fast path for what the layers pass on every call (isinstance against the
    # numbers ABCs below cost about 7% of a LeNet-5 training step).
    if type(value) is int:
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise TypeError(f"{func}: {name} must be an int or a (row, col) pair of ints, got {value!r}")


def _as_float(a, name, func):
    """``a`` as an ndarray of floats: floats keep their dtype, ints and bools become float64."""
    if type(a) is np.ndarray and a.dtype.kind == "f":     # what the layers pass on every call
        return a
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.floating):
        return a
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        return a.astype(np.float64)
    raise TypeError(f"{func}: {name} must hold real numbers, got dtype {a.dtype}")


def _check_stride_pad(stride, pad, func):
    sh, sw = _pair(stride, "stride", func)
    ph, pw = _pair(pad, "pad", func)
    if sh < 1 or sw < 1:
        raise ValueError(f"{func}: stride must be >= 1, got stride={stride!r}")
    if ph < 0 or pw < 0:
        raise ValueError(f"{func}: pad must be >= 0, got pad={pad!r}")
    return (sh, sw), (ph, pw)


def _output_shape(func, in_hw, kernel_hw, stride, pad, shapes):
    """Output (OH, OW); ``shapes()`` returns the text naming the arrays for error
    messages (a function, so that the text is only formatted for an error)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = in_hw, kernel_hw, stride, pad
    if kh < 1 or kw < 1:
        raise ValueError(f"{func}: kernel must be at least 1x1, got {kh}x{kw} ({shapes()})")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"{func}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input {h}x{w}, pad={(ph, pw)}; {shapes()})"
        )
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _pad_image(x, pad):
    """Zero-pad the last two axes of ``x`` by ``pad = (rows, cols)`` (no copy when 0)."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return x
    h, w = x.shape[-2:]
    x_pad = np.zeros(x.shape[:-2] + (h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    x_pad[..., ph:ph + h, pw:pw + w] = x
    return x_pad


def _copy_batch_last(dst, src):
    """``dst[..., n] = src[n]``: copy a batch (N, ...) into a buffer whose last axis is N."""
    n = src.shape[0]
    # When consecutive images lie a multiple of 4 KiB apart, reading element k of
    # every image hits the same cache set over and over and the transposing copy
    # slows down several times; copying 8 images at a time avoids that.
    step = 8 if src.strides[0] % 4096 == 0 else max(n, 1)
    batch_last = (*range(1, src.ndim), 0)
    for start in range(0, n, step):
        dst[..., start:start + step] = src[start:start + step].transpose(batch_last)


def _window_slice(offset, stride, count):
    """Slice picking ``offset, offset + stride, ...`` (``count`` items): one kernel tap
    of every receptive field along an axis."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _strided_view(base, offset, shape, strides):
    """Read-only view of the C-contiguous array ``base`` with the given shape and
    byte strides, starting ``offset`` bytes in: what ``as_strided`` makes, in a
    third of its time per call, and NumPy checks that it stays inside ``base``."""
    view = np.ndarray(shape, base.dtype, buffer=base, offset=offset, strides=strides)
    view.flags.writeable = False
    return view


_scratch_pool = threading.local()


def _scratch(name, shape, dtype):
    """A work array that is reused from call to call (one per name, dtype and thread).

    Only for arrays that never leave this module (the receptive fields of one
    chunk, its matrix product): every call of the fast layers otherwise
    allocates a few fresh MiB, and the operating system hands them out zeroed,
    one page fault per 4 KiB page; that cost up to a quarter of a LeNet
    forward convolution (measured with glibc's malloc, batch 64). Its contents
    are whatever the last user left. Arrays larger than ``_SCRATCH_KEEP_BYTES``
    (one huge image makes a huge chunk) are not kept after the call.
    """
    pool = _scratch_pool.__dict__.setdefault("arrays", {})
    dtype = np.dtype(dtype)
    size = 1
    for dim in shape:
        size *= dim
    if size * dtype.itemsize > _SCRATCH_KEEP_BYTES:
        return np.empty(shape, dtype=dtype)
    buf = pool.get((name, dtype))
    if buf is None or buf.size < size:
        buf = pool[(name, dtype)] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


_SCRATCH_KEEP_BYTES = 16 << 20


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
    ValueError
        If ``stride < 1``, ``pad < 0``, ``k < 1``, ``n < 1`` or ``k > n + 2*pad``.

    Examples
    --------
    >>> conv_output_size(32, 5)
    28
    >>> conv_output_size(7, 3, stride=2, pad=1)
    4
    """
    for name, v in (("n", n), ("k", k), ("stride", stride), ("pad", pad)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"conv_output_size: {name} must be an int, got {v!r}")
    if stride < 1:
        raise ValueError(f"conv_output_size: stride must be >= 1, got stride={stride}")
    if pad < 0:
        raise ValueError(f"conv_output_size: pad must be >= 0, got pad={pad}")
    if k < 1:
        raise ValueError(f"conv_output_size: kernel size must be >= 1, got k={k}")
    if n < 1:
        raise ValueError(f"conv_output_size: input size must be >= 1, got n={n}")
    if n + 2 * pad < k:
        raise ValueError(
            f"conv_output_size: kernel size k={k} is larger than the padded input "
            f"n + 2*pad = {n} + 2*{pad} = {n + 2 * pad}"
        )
    return int((n + 2 * pad - k) // stride + 1)


# ----------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------

def im2col(x, kernel_size, stride=1, pad=0, batch_last=False):
    """Copy every receptive field of a batch into one column of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch (not padded; ``pad`` zeros are added here).
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    stride, pad : int or (int, int)
    batch_last : bool
        Order of the columns: ``(n, i, j)`` if False, ``(i, j, n)`` if True.
        Same numbers, different memory layout; see Notes.

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

    NumPy copies such a slice one contiguous run at a time, and the runs are
    image rows, only OW numbers long. For narrow outputs (deep layers, small
    images) the per-run overhead dominates; with ``batch_last=True`` the
    padded batch is first transposed to (C, Hp, Wp, N), so each run holds
    ``OW*N`` numbers (stride 1) or ``N`` numbers (larger strides).
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"im2col: x must be 4-D (N, C, H, W), got x.shape={x.shape}")
    n, c, h, w = x.shape
    kh, kw = _pair(kernel_size, "kernel_size", "im2col")
    (sh, sw), (ph, pw) = _check_stride_pad(stride, pad, "im2col")
    oh, ow = _output_shape("im2col", (h, w), (kh, kw), (sh, sw), (ph, pw), lambda: f"x.shape={x.shape}")
    return _im2col(x, (kh, kw), (sh, sw), (ph, pw), (oh, ow), batch_last, ones_row=False)


def _im2col(x, kernel_size, stride, pad, out_size, batch_last, ones_row):
    """:func:`im2col` without the argument checks; ``ones_row`` appends a row of
    ones, so that a bias can ride along in the matrix product."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = kernel_size, stride, pad, out_size
    k = c * kh * kw
    if batch_last:
        # One transposing copy to (C, Hp, Wp, N) that also writes the zero border.
        x_pad = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
        _copy_batch_last(x_pad[:, ph:ph + h, pw:pw + w], x)
        cols = np.empty((k + int(ones_row), oh, ow, n), dtype=x.dtype)
    else:
        # Channels first, batch second: a view when there is no padding.
        x_pad = _pad_image(x, (ph, pw)).transpose(1, 0, 2, 3)
        cols = np.empty((k + int(ones_row), n, oh, ow), dtype=x.dtype)
    # All receptive fields as one strided view (no copy), then a single copy:
    # NumPy walks it with long contiguous inner runs, where a Python loop over
    # the KH*KW taps made KH*KW separate copies (measured 1.4-2x slower).
    windows = sliding_window_view(x_pad, (kh, kw), axis=(1, 2) if batch_last else (2, 3))
    if batch_last:      # (C, Hp-KH+1, Wp-KW+1, N, KH, KW) -> (C, KH, KW, OH, OW, N)
        windows = windows[:, ::sh, ::sw].transpose(0, 4, 5, 1, 2, 3)
    else:               # (C, N, Hp-KH+1, Wp-KW+1, KH, KW) -> (C, KH, KW, N, OH, OW)
        windows = windows[:, :, ::sh, ::sw].transpose(0, 4, 5, 1, 2, 3)
    np.copyto(cols[:k].reshape(windows.shape), windows)
    if ones_row:
        cols[k] = 1
    return cols.reshape(k + int(ones_row), n * oh * ow)


def col2im(dcols, x_shape, kernel_size, stride=1, pad=0, batch_last=False):
    """Fold column gradients back onto the image: the adjoint of :func:`im2col`.

    A pixel that lies in several receptive fields receives the sum of their
    gradients; gradients that land on the zero padding are dropped.

    Parameters
    ----------
    dcols : ndarray, shape (C*KH*KW, N*OH*OW)
        Gradient with respect to ``im2col(x, kernel_size, stride, pad, batch_last)``
        (same column order).
    x_shape : tuple (N, C, H, W)
    kernel_size : int or (int, int)
    stride, pad : int or (int, int)
    batch_last : bool
        Column order of ``dcols``, as in :func:`im2col`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        C-contiguous when ``batch_last`` is False. When it is True, ``dx`` keeps
        the batch-last memory order of the columns, (C, H, W, N), as a view
        into the padded buffer the gradients were added in: moving it to NCHW
        order would cost one more transposing copy, which the next layer of a
        network usually does not need (see :func:`conv2d_forward`).

    Notes
    -----
    Adds one strided slice per kernel offset (KH*KW iterations). Within one
    offset no two windows touch the same pixel, so a plain ``+=`` is correct
    (``np.add.at`` would also be correct, but is very slow).
    """
    n, c, h, w = x_shape
    kh, kw = _pair(kernel_size, "kernel_size", "col2im")
    (sh, sw), (ph, pw) = _check_stride_pad(stride, pad, "col2im")
    oh, ow = _output_shape("col2im", (h, w), (kh, kw), (sh, sw), (ph, pw),
                            lambda: f"x_shape={tuple(x_shape)}")
    dcols = np.asarray(dcols)
    if dcols.shape != (c * kh * kw, n * oh * ow):
        raise ValueError(
            f"col2im: dcols must have shape (C*KH*KW, N*OH*OW) = {(c * kh * kw, n * oh * ow)} "
            f"for x_shape={tuple(x_shape)}, got dcols.shape={dcols.shape}"
        )
    if batch_last:
        dcols = dcols.reshape(c, kh, kw, oh, ow, n)
        dx_pad = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dcols.dtype)
    else:
        dcols = dcols.reshape(c, kh, kw, n, oh, ow)
        dx_pad = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
    for p in range(kh):
        for q in range(kw):
            dx_pad[_taps(p, q, (sh, sw), (oh, ow), batch_last)] += dcols[:, p, q]
    if batch_last:
        # a view: batch last in memory, as the columns were (see Returns)
        return dx_pad[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)
    dx = np.empty((n, c, h, w), dtype=dcols.dtype)
    dx[...] = dx_pad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)
    return dx


def _taps(p, q, stride, out_size, batch_last):
    """Index of kernel tap ``(p, q)`` of every window in a channels-first padded buffer
    (C, N, Hp, Wp), or (C, Hp, Wp, N) if ``batch_last``."""
    rows = _window_slice(p, stride[0], out_size[0])
    cols = _window_slice(q, stride[1], out_size[1])
    if batch_last:
        return np.s_[:, rows, cols]
    return np.s_[:, :, rows, cols]


def _prefers_batch_last(out_width):
    """Column order of the input gradient's :func:`col2im` in the row-window
    layer (measured with NumPy 2 + OpenBLAS, batch 64): rows of 16 or more
    numbers copy fast enough; below that the batch-last transposes pay for
    themselves (about 1.7x faster on LeNet's second layer)."""
    return out_width < 16


# ----------------------------------------------------------------------------
# Single-channel 2-D correlation and convolution
# ----------------------------------------------------------------------------

def _check_image_kernel(image, kernel, stride, pad, func):
    image = _as_float(image, "image", func)
    kernel = _as_float(kernel, "kernel", func)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"{func}: expected a 2-D image (H, W) and a 2-D kernel (KH, KW), "
            f"got image.shape={image.shape} and kernel.shape={kernel.shape}"
        )
    stride, pad = _check_stride_pad(stride, pad, func)
    out_size = _output_shape(func, image.shape, kernel.shape, stride, pad,
                             lambda: f"image.shape={image.shape}, kernel.shape={kernel.shape}")
    dtype = np.result_type(image.dtype, kernel.dtype)
    return image.astype(dtype, copy=False), kernel.astype(dtype, copy=False), stride, pad, out_size


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
    image, kernel, stride, pad, out_size = _check_image_kernel(image, kernel, stride, pad, "correlate2d")
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
    image, kernel, stride, pad, out_size = _check_image_kernel(image, kernel, stride, pad, "convolve2d")
    return _correlate2d(image, kernel[::-1, ::-1], stride, pad, out_size)


def correlate2d_reference(image, kernel, stride=1, pad=0):
    """Loop version of :func:`correlate2d`, one output pixel at a time (as on the slide).

    ``out[i, j] = sum_{p,q} image_pad[i*s + p, j*s + q] * kernel[p, q]``

    Parameters and return value as in :func:`correlate2d`. Slow; for teaching
    and tests only.
    """
    image, kernel, (sh, sw), pad, (oh, ow) = _check_image_kernel(
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

    cols: np.ndarray          # what dw needs; shape depends on layout
    w: np.ndarray             # weights (F, C, KH, KW), needed for dx
    x_shape: tuple            # (N, C, H, W)
    stride: tuple             # (SH, SW)
    pad: tuple                # (PH, PW)
    has_bias: bool            # False -> db is None
    layout: str               # "nij": the receptive fields, im2col's (C*KH*KW [+1], N*OH*OW);
                              # "slabs": the shifted input rows of _row_slabs, (HU, C*KW [+1], OW*N);
                              # "rows": the padded input of _row_planes, (N, C, HP*WR + max(KW-1, PW)),
                              # from which backward rebuilds the receptive fields


def _check_conv_inputs(x, w, b, stride, pad, func):
    x = _as_float(x, "x", func)
    w = _as_float(w, "w", func)
    if x.ndim != 4:
        raise ValueError(f"{func}: x must be 4-D (N, C, H, W), got x.shape={x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{func}: w must be 4-D (F, C, KH, KW), got w.shape={w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{func}: x has {x.shape[1]} channels (x.shape={x.shape}) "
            f"but w expects {w.shape[1]} (w.shape={w.shape})"
        )
    stride, pad = _check_stride_pad(stride, pad, func)
    out_size = _output_shape(func, x.shape[2:], w.shape[2:], stride, pad,
                             lambda: f"x.shape={x.shape}, w.shape={w.shape}")
    dtype = x.dtype if x.dtype == w.dtype else np.result_type(x.dtype, w.dtype)
    if b is not None:
        b = _as_float(b, "b", func)
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"{func}: b must have shape (F,) = ({w.shape[0]},) to match w.shape={w.shape}, "
                f"got b.shape={b.shape}"
            )
        b = b.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), b, stride, pad, out_size


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
        Step between windows (rows, cols), >= 1.
    pad : int or (int, int)
        Zeros added on each side (rows, cols), >= 0.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        ``OH = (H + 2*PH - KH) // SH + 1``, ``OW = (W + 2*PW - KW) // SW + 1``.
        Its dtype is ``np.result_type`` of x and w (ints count as float64),
        so float32 in gives float32 out. A new array, but not always
        C-contiguous: on the ``"slabs"`` layout it keeps the memory order in
        which the matrix products computed it, batch last ((F, OH, OW, N) in
        memory, like PyTorch's ``channels_last`` keeps a layout from layer to
        layer). Every NumPy operation works on it; the next layers of a
        network (ReLU, pooling, another convolution, flattening for a linear
        layer) read it in that order without transposing it, and
        ``np.ascontiguousarray(out)`` gives NCHW memory at the cost of one
        transposing copy.
    cache : ConvCache
        ``(cols, w, x_shape, stride, pad, has_bias, layout)`` for
        :func:`conv2d_backward`. For stride 1 (unless the kernel is wide for
        the output) ``layout="rows"`` and ``cols`` is the zero-padded input of
        :func:`_row_planes`, from which the backward pass rebuilds the
        receptive fields a chunk at a time. For other narrow outputs
        ``layout="slabs"`` and ``cols`` holds each padded input row KW times,
        shifted (:func:`_row_slabs`), which both passes read as the receptive
        fields without copying them. Otherwise
        ``layout="nij"`` and ``cols`` is the :func:`im2col` matrix
        (C*KH*KW, N*OH*OW), plus a row of ones when there is a bias.

    Raises
    ------
    ValueError
        On wrong ndim, a channel mismatch, ``b`` of the wrong length, a kernel
        larger than the padded input, ``stride < 1`` or ``pad < 0``.

    See Also
    --------
    conv2d_forward_reference : the same with loops.
    """
    x, w, b, stride, pad, (oh, ow) = _check_conv_inputs(x, w, b, stride, pad, "conv2d_forward")
    n = x.shape[0]
    f = w.shape[0]
    if _uses_row_windows(stride, x.shape[3], ow, w.shape[3], pad[1]):
        planes = _row_planes(x, w.shape[2:], pad)
        out = np.empty((n, f, oh, ow), dtype=x.dtype)
        _row_window_conv(planes, _weights_and_bias(w, b), w.shape[2:], x.shape[3], pad[1], out,
                         with_ones=b is not None)
        return out, ConvCache(planes, w, x.shape, stride, pad, b is not None, "rows")
    if _uses_slabs(ow):
        slabs = _row_slabs(x, w.shape[2:], stride, pad, (oh, ow), b is not None)
        out = _slab_conv(slabs, _slab_weights(w, b), w.shape[2], stride[0], (n, f, oh, ow),
                         with_ones=b is not None)
        return out, ConvCache(slabs, w, x.shape, stride, pad, b is not None, "slabs")
    out = np.empty((n, f, oh * ow), dtype=x.dtype)
    cols = _im2col(x, w.shape[2:], stride, pad, (oh, ow), False, ones_row=b is not None)
    out_fm = np.matmul(_weights_and_bias(w, b), cols)      # (F, N*OH*OW), one BLAS call
    np.copyto(out, out_fm.reshape(f, n, oh * ow).transpose(1, 0, 2))
    return out.reshape(n, f, oh, ow), ConvCache(cols, w, x.shape, stride, pad, b is not None, "nij")


def _weights_and_bias(w, b):
    """The filters as rows of a matrix (F, C*KH*KW), with the bias as one more
    column when there is one (it meets the receptive fields' row of ones)."""
    w_mat = w.reshape(w.shape[0], -1)
    return w_mat if b is None else np.concatenate([w_mat, b[:, None]], axis=1)


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
    dtype = cols.dtype
    oh = (h + 2 * pad[0] - kh) // stride[0] + 1
    ow = (wd + 2 * pad[1] - kw) // stride[1] + 1
    dout = _as_float(dout, "dout", "conv2d_backward")
    if dout.shape != (n, f, oh, ow):
        raise ValueError(
            f"conv2d_backward: dout must have the forward output's shape {(n, f, oh, ow)}, "
            f"got dout.shape={dout.shape}"
        )
    if layout == "rows":
        dw, db = _row_windows_dw(dout, cols, w, wd, pad[1], has_bias)
        batch_last = _prefers_batch_last(ow)
        dout_fm = _dout_matrix(dout, dtype, batch_last) if need_dx else None
    elif layout == "slabs":
        batch_last = True
        dout_fm = _dout_matrix(dout, dtype, batch_last)
        dw, db = _slab_dw(dout_fm, cols, w.shape, stride[0], (oh, ow), has_bias)
    else:
        batch_last = False
        dout_fm = _dout_matrix(dout, dtype, batch_last)
        # one product; db comes from the row of ones. BLAS reads cols.T without a copy.
        dw, db = _split_dw_db(np.matmul(dout_fm, cols.T), w.shape, has_bias)
    if not need_dx:
        return None, dw, db
    dcols = np.matmul(w.reshape(f, -1).T, dout_fm)       # (C*KH*KW, N*OH*OW)
    dx = col2im(dcols, x_shape, (kh, kw), stride, pad, batch_last)
    return dx, dw, db


def _dout_matrix(dout, dtype, batch_last):
    """``dout`` (N, F, OH, OW) as the (F, N*OH*OW) matrix of im2col's column order
    (see :func:`im2col`); the copy also casts to ``dtype``."""
    n, f, oh, ow = dout.shape
    if batch_last:
        dout_fm = np.empty((f, oh * ow, n), dtype=dtype)
        _copy_batch_last(dout_fm, dout.reshape(n, f, oh * ow))
    else:
        dout_fm = np.empty((f, n, oh * ow), dtype=dtype)
        dout_fm[...] = dout.reshape(n, f, oh * ow).transpose(1, 0, 2)
    return dout_fm.reshape(f, n * oh * ow)


def _uses_row_windows(stride, in_width, out_width, kernel_width, pad_width):
    """Whether :func:`conv2d_forward` takes the row-window path: stride 1, and the
    wrap-around columns it also computes (``WR - OW`` per output row, see
    :func:`_row_width`) add at most an eighth to the matrix products. "Same"
    padding has none. Measured (batch 64, float32, 1 thread, OpenBLAS with
    AVX2 and with AVX-512 kernels): with 1/31 or 1/13 extra (3x3 on 64x64 or
    28x28) the row windows are 1.2-2.0x faster forward than the slabs; with
    1/7 extra (LeNet's C1, 5x5 on 32x32, one input channel) the slabs are
    1.4-1.7x faster forward with AVX-512 kernels (about the same with AVX2)
    and 1.2-1.9x backward with both; with 2/5 (C3, 5x5 on 14x14) they win too."""
    wrap = _row_width(in_width, kernel_width, pad_width) - out_width
    return stride == (1, 1) and 8 * wrap <= out_width


def _uses_slabs(out_width):
    """Whether :func:`conv2d_forward` takes the ``"slabs"`` path when it does not
    take the row windows: for outputs narrower than 32 columns. Measured as in
    :func:`_uses_row_windows`: as fast as im2col or up to 3.5x faster for 16
    or 28 columns (5x5 stride 2 on 32x32, C1); at 32 columns (3x3 stride 2 on
    64x64) within 2% with AVX-512 kernels, 1.14x faster with AVX2. Wider
    outputs were not measured and keep im2col."""
    return out_width < 32


# Bytes of receptive fields built at a time by the row windows:
# small enough to be read back by the matrix product from the CPU's cache,
# large enough that the per-chunk Python overhead stays small. Measured (batch
# 64, float32, 1 thread, 512 KiB L2 per core): chunks of 1-4 MiB were 10-20%
# faster than one matrix for the whole batch; once the views were made once
# per call instead of once per chunk, 1 MiB beat 2 MiB by 0-8% (C1, the 3x3
# layer, a 5x5 "same" layer); 128-384 KiB were slower.
_CHUNK_BYTES = 1 << 20


def _batch_last_padded(x, pad):
    """The zero-padded batch with the batch axis last, (C, HP, WP, N), for
    :func:`_row_slabs` (one transposing copy, and zeros written only
    on the border)."""
    n, c, h, wd = x.shape
    ph, pw = pad
    x_bl = np.empty((c, h + 2 * ph, wd + 2 * pw, n), x.dtype)
    _zero_border(x_bl, pad, (h, wd), axis=1)
    _copy_batch_last(x_bl[:, ph:ph + h, pw:pw + wd], x)
    return x_bl


def _zero_border(a, pad, inner, axis):
    """Zero everything of ``a`` outside ``[PH:PH+H, PW:PW+W]`` of its axes
    ``axis`` and ``axis + 1`` (rows, columns); ``inner = (H, W)``."""
    (ph, pw), (h, wd) = pad, inner
    lead = (slice(None),) * axis
    if ph:
        a[lead + (slice(0, ph),)] = 0
    if a.shape[axis] > ph + h:
        a[lead + (slice(ph + h, None),)] = 0
    if pw:
        a[lead + (slice(ph, ph + h), slice(0, pw))] = 0
    if a.shape[axis + 1] > pw + wd:
        a[lead + (slice(ph, ph + h), slice(pw + wd, None))] = 0


def _row_slabs(x, kernel_size, stride, pad, out_size, with_ones):
    """The ``"slabs"`` layout: each padded input row, copied once per kernel column.

    Returns ``slabs`` of shape (HU, C*KW [+ 1], OW*N) with
    ``slabs[h, (c, q), (j, n)] = x_pad[n, c, h, j*SW + q]`` for the
    ``HU = (OH - 1)*SH + KH`` padded rows that some window reaches, and a row
    of ones at the end of each slab when ``with_ones`` (for the bias).

    im2col would copy every input number KH*KW times. Here it is copied KW
    times, and the kernel rows come for free: the receptive fields of output
    row i are the KH consecutive slabs ``i*SH .. i*SH + KH - 1``, which lie one
    after the other in memory, so :func:`_slab_windows` shows them as a plain
    (K, OW*N) matrix without copying. The copy runs over the batch axis, which
    is last and contiguous (:func:`_batch_last_padded`), so every run is N
    numbers long even for narrow outputs.
    """
    n, c = x.shape[:2]
    kw = kernel_size[1]
    (sh, sw), (oh, ow) = stride, out_size
    x_bl = _batch_last_padded(x, pad)
    rows = (oh - 1) * sh + kernel_size[0]
    k = c * kw
    slabs = np.empty((rows, k + int(with_ones), ow * n), x.dtype)
    s_c, s_h, s_w, s_n = x_bl.strides
    shifted = _strided_view(x_bl, 0, (rows, c, kw, ow, n), (s_h, s_c, s_w, s_w * sw, s_n))
    np.copyto(slabs[:, :k].reshape(rows, c, kw, ow, n), shifted)
    if with_ones:
        slabs[:, k] = 1
    return slabs


def _slab_windows(slabs, kernel_height, row_stride, out_height, with_ones):
    """Read-only view (OH, K, OW*N) of :func:`_row_slabs`: ``[i]`` holds the
    receptive fields of output row i as columns, one per ``(j, n)``, its rows
    ordered ``(p, c, q)`` as in ``w.transpose(0, 2, 1, 3)``. With ones rows,
    K = KH*(C*KW + 1) - 1: the ones rows of the first KH - 1 slabs are in it
    (only the first gets the bias, see :func:`_slab_weights`), the last slab's
    is left out (unless KH = 1)."""
    slabs = np.ascontiguousarray(slabs)    # made so; this only guards :func:`_strided_view`
    _, per_slab, width = slabs.shape
    k = _slab_depth(kernel_height, per_slab, with_ones)
    item = slabs.itemsize
    return _strided_view(slabs, 0, (out_height, k, width),
                         (row_stride * per_slab * width * item, width * item, item))


def _slab_depth(kernel_height, per_slab, with_ones):
    """K of :func:`_slab_windows`: KH slabs, less the last slab's ones row."""
    return kernel_height * per_slab - (1 if with_ones and kernel_height > 1 else 0)


def _slab_weights(w, b):
    """The filters as the (F, K) matrix that multiplies :func:`_slab_windows`:
    columns ordered ``(p, c, q)``, with a column for each ones row in between,
    the first holding the bias and the others zero."""
    f, c, kh, kw = w.shape
    k = c * kw
    per_slab = k + int(b is not None)
    w_mat = np.zeros((f, kh, per_slab), w.dtype)
    w_mat[:, :, :k] = w.transpose(0, 2, 1, 3).reshape(f, kh, k)
    if b is not None:
        w_mat[:, 0, k] = b
    return w_mat.reshape(f, -1)[:, :_slab_depth(kh, per_slab, b is not None)]


def _slab_conv(slabs, w_mat, kernel_height, row_stride, out_shape, with_ones):
    """Correlation of the slabs with the filters ``w_mat`` (:func:`_slab_weights`):
    one matrix product per output row (NumPy hands the stack of them to BLAS),
    each split into column blocks of :func:`_product_columns`.

    Returns the output, shape ``out_shape`` (N, F, OH, OW), in the products'
    own memory order: batch last, as (F, OH, OW, N) in memory (see
    :func:`conv2d_forward`). Each product (F, OW*N) is written by BLAS
    straight into its output row, whose F rows lie OH*OW*N numbers apart,
    so nothing is copied after the products."""
    n, f, oh, ow = out_shape
    windows = _slab_windows(slabs, kernel_height, row_stride, oh, with_ones)
    width = ow * n
    out = np.empty((f, oh, width), windows.dtype)
    by_row = out.transpose(1, 0, 2)                          # (OH, F, OW*N), a view
    columns = _product_columns(f, windows.shape[1], width)
    for j0 in range(0, width, columns):
        np.matmul(w_mat, windows[:, :, j0:j0 + columns], out=by_row[:, :, j0:j0 + columns])
    return out.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)


# Multiply-adds (M*N*K) up to which a matrix product counts as small: see _product_columns.
_SMALL_PRODUCT = 1 << 19


def _product_columns(rows, depth, width):
    """Columns per matrix product when a (rows, depth) @ (depth, width) product
    is split into equal parts of at most ``_SMALL_PRODUCT`` multiply-adds.

    OpenBLAS multiplies small matrices without first copying them into its
    packed panels; with its AVX-512 kernels, LeNet's C3 (16 x 154 @ 154 x 640
    per output row) took 0.26 ms split into 1 part, 0.18-0.19 ms into 2 to 5
    (batch 64, float32, 1 thread). With its AVX2 kernels, and for C1 (6 x 26
    @ 26 x 1,792, small already), splitting made no difference."""
    parts = max(1, -(-rows * depth * width // _SMALL_PRODUCT))
    return max(1, -(-width // parts))


def _slab_dw(dout_fm, slabs, w_shape, row_stride, out_size, has_bias):
    """``dw`` and ``db`` from the ``"slabs"`` cache: for each output row i,
    ``dout[:, i]`` (F, OW*N) times the transpose of its windows, summed over i.
    ``dout_fm`` is :func:`_dout_matrix`'s batch-last (F, OH*OW*N)."""
    f, c, kh, kw = w_shape
    oh, ow = out_size
    windows = _slab_windows(slabs, kh, row_stride, oh, has_bias)
    width = windows.shape[2]
    item = dout_fm.itemsize
    by_row = _strided_view(np.ascontiguousarray(dout_fm), 0, (oh, f, width),
                           (width * item, oh * width * item, item))
    per_slab = slabs.shape[1]
    dwb = np.zeros((f, kh * per_slab), dout_fm.dtype)
    dwb[:, :windows.shape[1]] = np.matmul(by_row, windows.transpose(0, 2, 1)).sum(axis=0)
    dwb = dwb.reshape(f, kh, per_slab)
    k = c * kw
    dw = np.ascontiguousarray(dwb[:, :, :k].reshape(f, kh, c, kw).transpose(0, 2, 1, 3))
    db = np.ascontiguousarray(dwb[:, 0, k]) if has_bias else None
    return dw, db


def _row_width(in_width, kernel_width, pad_width):
    """Row length WR of the flattened planes of :func:`_row_planes`: the input's
    width W, or the output's width OW when that is larger (padding wider than
    half the kernel). The rows are packed without their left and right zero
    columns, so the windows compute ``WR - OW = max(KW - 1 - 2*PW, 0)``
    wrap-around columns per output row (none for "same" padding), and the few
    window entries that reach across a row's edge into the padding read the
    neighbouring row instead; :func:`_crossing_columns` lists them."""
    return max(in_width, in_width + 2 * pad_width - kernel_width + 1)


def _crossing_columns(in_width, kernel_width, pad_width, out_width):
    """``(q, j)`` for each kernel column q and output column j whose entries in
    the row windows of :func:`_row_window_chunks` must be padding zeros but
    read a neighbouring image row. Tap q at output column j reads input column
    ``c = j + q - PW``; a stored row is W numbers and ``WR - W`` zeros, so
    ``c < -(WR - W)`` lands in the previous row's numbers and ``c >= WR`` in
    the next row's. For 3x3 with padding 1: ``(0, 0)`` and ``(2, W - 1)``."""
    wr = _row_width(in_width, kernel_width, pad_width)
    crossing = []
    for q in range(kernel_width):
        first_inside = min(max(pad_width - q - (wr - in_width), 0), out_width)   # c >= -(WR - W)
        first_after = max(min(wr + pad_width - q, out_width), first_inside)       # c >= WR
        crossing += [(q, j) for j in [*range(first_inside), *range(first_after, out_width)]]
    return crossing


def _row_planes(x, kernel_size, pad):
    """The zero-padded batch for :func:`_row_window_chunks`, as an array of shape
    (N, C, HP*WR + max(KW - 1, PW)): each padded image plane flattened into one
    row, image row ``i`` starting at ``PW + (i + PH)*WR`` (WR from
    :func:`_row_width`), with zeros in front and behind so that every window
    of a plane stays inside it. Zeros are written only where no image number
    goes, but all of those are needed: the wrap-around columns read the spare
    ones at the end, and must not meet NaN left in memory (``0 * nan`` in dw)."""
    n, c, h, wd = x.shape
    ph, pw = pad
    kw = kernel_size[1]
    hp, wr = h + 2 * ph, _row_width(wd, kw, pw)
    planes = np.empty((n, c, hp * wr + max(kw - 1, pw)), x.dtype)
    planes[:, :, :pw] = 0
    planes[:, :, pw + hp * wr:] = 0
    grid = planes[:, :, pw:pw + hp * wr].reshape(n, c, hp, wr)
    _zero_border(grid, (ph, 0), (h, wd), axis=2)
    grid[:, :, ph:ph + h, :wd] = x
    return planes


def _row_window_chunks(planes, kernel_size, in_width, pad_width, out_size, with_ones):
    """im2col for stride 1 with whole padded rows, a chunk of images at a time.

    Yields ``(n0, m, cols)`` for images ``n0 .. n0+m-1``, with ``cols`` of shape
    (C*KH*KW [+ 1], m, OH*WR) and
    ``cols[(c, p, q), k, i*WR + j] = x_pad[n0 + k, c, i + p, j + q]`` for ``j < OW``
    (WR from :func:`_row_width`). With the padded plane flattened
    (:func:`_row_planes`), the KH*KW windows are plain shifted slices of it
    (offset ``p*WR + q``, length ``OH*WR``), so every copy is long; the
    entries that crossed into a neighbouring row (:func:`_crossing_columns`)
    are then set to zero, and the ``WR - OW`` "wrap-around" columns per output
    row (``j >= OW``) are computed but dropped. ``with_ones`` appends a row of
    ones (for the bias). ``cols`` is one buffer, overwritten for the next chunk,
    sized so that it stays in the CPU's cache (``_CHUNK_BYTES``).
    """
    planes = np.ascontiguousarray(planes)  # made so; this only guards :func:`_strided_view`
    n, c, _ = planes.shape
    kh, kw = kernel_size
    oh, ow = out_size
    wr = _row_width(in_width, kw, pad_width)
    length = oh * wr
    k = c * kh * kw
    rows = k + int(with_ones)
    chunk = max(1, min(n, _CHUNK_BYTES // (rows * length * planes.itemsize)))
    buf = _scratch("windows", (rows, chunk, length), planes.dtype)
    if with_ones:
        buf[k] = 1
    s_n, s_c, s_l = planes.strides
    # Every view is made once per call, not once per chunk: with chunks that fit
    # the cache, a few microseconds of Python per chunk add up.
    windows = _strided_view(planes, 0, (c, kh, kw, n, length), (s_c, wr * s_l, s_l, s_n, s_l))
    fields = buf[:k].reshape(c, kh, kw, chunk, length)
    by_column = buf[:k].reshape(c * kh, kw, chunk, oh, wr)
    crossing = [by_column[:, q, :, :, j] for q, j in _crossing_columns(in_width, kw, pad_width, ow)]
    assert all(np.may_share_memory(entries, buf) for entries in crossing)   # views, never copies
    for n0 in range(0, n, chunk):
        m = min(chunk, n - n0)
        np.copyto(fields[:, :, :, :m], windows[:, :, :, n0:n0 + m])
        for entries in crossing:
            # one output column of one tap: a fill with a long inner loop (all
            # images and rows), measured 2x faster than a slice of columns
            entries[:, :m] = 0
        yield n0, m, buf[:, :m]


def _row_window_conv(planes, w_mat, kernel_size, in_width, pad_width, out, with_ones):
    """Stride-1 correlation of the padded planes with the filters ``w_mat``
    (F, C*KH*KW [+ 1 for the bias]) into ``out`` (N, F, OH, OW), chunk by chunk.

    Without wrap-around columns (``WR == OW``, e.g. "same" padding) each
    image's receptive fields give exactly its (F, OH*OW) block of ``out``:
    NumPy hands BLAS one product per image, written in place. Otherwise one
    product per chunk goes to a work array, which is copied to NCHW without
    the wrap-around columns. Measured for the 3x3 "same" layer (batch 64,
    float32): one product per image took 0.216 ms for a chunk of 9 images,
    against 0.234 ms for the chunk's single product plus its copy; the whole
    layer got 4-8% faster."""
    n, f, oh, ow = out.shape
    wr = _row_width(in_width, kernel_size[1], pad_width)
    for n0, m, cols in _row_window_chunks(planes, kernel_size, in_width, pad_width, (oh, ow), with_ones):
        if wr == ow:
            # no wrap-around columns: one product per image, straight into out[n]
            np.matmul(w_mat, cols.transpose(1, 0, 2), out=out[n0:n0 + m].reshape(m, f, oh * ow))
            continue
        r = _scratch("product", (f, m, oh, wr), out.dtype)
        np.matmul(w_mat, cols.reshape(cols.shape[0], -1), out=r.reshape(f, -1))
        np.copyto(out[n0:n0 + m], r[..., :ow].transpose(1, 0, 2, 3))   # to NCHW, wrap-around dropped


def _row_windows_dw(dout, planes, w, in_width, pad_width, has_bias):
    """``dw`` and ``db`` from the padded planes of the ``"rows"`` layout: the
    receptive fields are rebuilt chunk by chunk (as in the forward pass) and
    ``[dw | db] += dout_chunk @ cols_chunk.T``; db comes from the row of ones."""
    n, f, oh, ow = dout.shape
    k = w[0].size
    wr = _row_width(in_width, w.shape[3], pad_width)
    dwb = np.zeros((f, k + int(has_bias)), dtype=planes.dtype)
    for n0, m, cols in _row_window_chunks(planes, w.shape[2:], in_width, pad_width, (oh, ow), has_bias):
        d = _scratch("product", (f, m, oh, wr), planes.dtype)
        d[..., :ow] = dout[n0:n0 + m].transpose(1, 0, 2, 3)    # dout on the forward's columns,
        d[..., ow:] = 0                                          # zero on the wrap-around ones
        # BLAS reads the transpose without a copy
        dwb += np.matmul(d.reshape(f, -1), cols.reshape(cols.shape[0], -1).T)
    return _split_dw_db(dwb, w.shape, has_bias)


def _split_dw_db(dwb, w_shape, has_bias):
    """``dw`` (F, C, KH, KW) and ``db`` (F,) or None from the product ``[dw | db]``
    of dout with receptive fields that end in a row of ones when there is a bias."""
    k = dwb.shape[1] - int(has_bias)
    dw = np.ascontiguousarray(dwb[:, :k]).reshape(w_shape)
    db = np.ascontiguousarray(dwb[:, k]) if has_bias else None
    return dw, db


def conv2d_forward_reference(x, w, b, stride=1, pad=0):
    """Loop version of :func:`conv2d_forward` (CS231n style: loops over n, f, i, j).

    ``out[n,f,i,j] = sum_{c,p,q} x_pad[n,c,i*s+p,j*s+q] * w[f,c,p,q] + b[f]``

    Parameters and ``out`` as in :func:`conv2d_forward`; ``cache`` is
    ``(x, w, b, stride, pad)`` for :func:`conv2d_backward_reference`.
    Slow; for teaching and tests only.
    """
    x, w, b, (sh, sw), pad, (oh, ow) = _check_conv_inputs(x, w, b, stride, pad,
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
