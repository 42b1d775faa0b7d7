"""Pooling: max, average and L2 pooling over sliding windows, forward and backward.

Each channel of each image is pooled on its own. With window ``(KH, KW)`` and
stride ``(SH, SW)`` the output has

    OH = (H - KH) // SH + 1,   OW = (W - KW) // SW + 1

rows and columns; windows that would stick out past the border are dropped
(floor), as in PyTorch. The lecture's formulas, for window ``R_ij`` (rows
``i*SH .. i*SH+KH-1``, columns ``j*SW .. j*SW+KW-1``):

    max pooling:      out[n,c,i,j] = max_{(r,s) in R_ij} x[n,c,r,s]
    average pooling:  out[n,c,i,j] = mean_{(r,s) in R_ij} x[n,c,r,s]
    L2 pooling:       out[n,c,i,j] = sqrt(sum_{(r,s) in R_ij} x[n,c,r,s]**2)

The fast versions loop over the KH*KW positions inside the window (one
strided slice of the whole batch each), never over output pixels; the
``*_reference`` versions loop over output pixels as on the slide.

The fast versions keep the memory order of what they are given, as NumPy's
elementwise functions do: the output (and its arg-max) is laid out like
``x``, and ``dx`` like the forward input (max and L2 pooling) or like
``dout`` (average pooling). So an array that a convolution left batch last
in memory (see ``cnnlib._conv_fast``) is not transposed back and forth.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import integer, pool_input, upstream
from .conv import _window_slice

__all__ = [
    "pool_output_size",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "avgpool2d_forward",
    "avgpool2d_backward",
    "l2pool2d_forward",
    "l2pool2d_backward",
    "maxpool2d_forward_reference",
    "maxpool2d_backward_reference",
    "avgpool2d_forward_reference",
    "avgpool2d_backward_reference",
    "l2pool2d_forward_reference",
    "l2pool2d_backward_reference",
    "MaxPoolCache",
    "AvgPoolCache",
    "L2PoolCache",
]


# ----------------------------------------------------------------------------
# Shapes and argument checks
# ----------------------------------------------------------------------------

def pool_output_size(n, size, stride=None):
    """Output length of a pooling layer along one axis.

    ``out = (n - size) // stride + 1``; windows that do not fit are dropped.

    Parameters
    ----------
    n : int
        Input length.
    size : int
        Window length, 1 <= size <= n.
    stride : int or None
        Step between windows, >= 1; None means ``stride = size``
        (non-overlapping windows).

    Returns
    -------
    int

    Examples
    --------
    >>> pool_output_size(28, 2)
    14
    >>> pool_output_size(13, 3, stride=2)
    6
    """
    func = "pool_output_size"
    n, size = integer(n, "n", func), integer(size, "size", func, minimum=1)
    stride = size if stride is None else integer(stride, "stride", func, minimum=1)
    if size > n:
        raise ValueError(f"pool_output_size: window size={size} is larger than the input n={n}")
    return int((n - size) // stride + 1)


def _in_memory_order_of(template, a):
    """``a``, or a copy of it laid out in memory like ``template`` (same shape)
    when its axes lie in another order: one transposing copy up front is
    cheaper than every window position reading one array against the grain
    of the other."""
    if np.argsort(a.strides, kind="stable").tolist() == np.argsort(template.strides, kind="stable").tolist():
        return a
    copy = np.empty_like(template, dtype=a.dtype)
    copy[...] = a
    return copy


def _tap(p, q, stride, out_size):
    """Index of position ``(p, q)`` inside every window: a strided slice of (N, C, H, W)."""
    return np.s_[:, :, _window_slice(p, stride[0], out_size[0]), _window_slice(q, stride[1], out_size[1])]


def _overlapping(size, stride):
    """True if neighbouring windows share elements (then backward must add, not write)."""
    return stride[0] < size[0] or stride[1] < size[1]


def _taps(size, stride, out_size):
    """``(k, index)`` for every window position, ``k = p*KW + q`` in row-major order."""
    kh, kw = size
    return [(p * kw + q, _tap(p, q, stride, out_size)) for p in range(kh) for q in range(kw)]


def _windows(out_shape, size, stride):
    """The slide's loop over output pixels, for the ``*_reference`` versions.

    Yields ``(pixel, window)`` for every ``pixel = (n, c, i, j)`` of an output
    of shape ``out_shape`` (N, C, OH, OW); ``window`` indexes its window
    ``R_ij`` in image ``n``, channel ``c`` of the input (a (KH, KW) view).
    """
    (kh, kw), (sh, sw) = size, stride
    for pixel in np.ndindex(*out_shape):
        n, c, i, j = pixel
        yield pixel, np.s_[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]


def _pool_reference(x, size, stride, pool_window, func):
    """The forward loop of the slide: ``out[n,c,i,j] = pool_window(window R_ij of x[n,c])``.

    ``pool_window`` maps a (KH, KW) window to one number (``np.max``,
    ``np.mean``, :func:`_euclidean_norm`); ``func`` names the caller in error
    messages. Returns ``out`` and the cache ``(x, size, stride)`` of the
    ``*_reference`` versions.
    """
    x, size, stride, out_size = pool_input(x, size, stride, func)
    out = np.zeros(x.shape[:2] + out_size, dtype=x.dtype)
    for pixel, window in _windows(out.shape, size, stride):
        out[pixel] = pool_window(x[window])
    return out, (x, size, stride)


def _euclidean_norm(window):
    """L2 pooling of one window: ``sqrt(sum of squares)``."""
    return np.sqrt(np.sum(window ** 2))


# ----------------------------------------------------------------------------
# Max pooling
# ----------------------------------------------------------------------------

class MaxPoolCache(NamedTuple):
    """What :func:`maxpool2d_forward` keeps for :func:`maxpool2d_backward`."""

    argmax: np.ndarray   # (N, C, OH, OW): position p*KW + q of each window's maximum
    x_shape: tuple       # (N, C, H, W)
    size: tuple          # (KH, KW)
    stride: tuple        # (SH, SW)
    dtype: np.dtype


def maxpool2d_forward(x, size=2, stride=None):
    """Max pooling, forward: ``out[n,c,i,j] = max of x[n,c]`` over window ``(i, j)``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    size : int or (int, int)
        Window ``(KH, KW)``.
    stride : int or (int, int) or None
        Step between windows ``(SH, SW)``; None means ``stride = size``.
        ``stride < size`` gives overlapping windows.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        ``OH = (H - KH) // SH + 1``, ``OW = (W - KW) // SW + 1``. Same float
        dtype as ``x`` (ints become float64).
    cache : MaxPoolCache
        ``(argmax, x_shape, size, stride, dtype)``; ``argmax`` holds the
        row-major position ``p*KW + q`` of each window's maximum (the first
        one on ties).

    Notes
    -----
    A window containing NaN gives NaN (as ``np.max``); which of its elements
    then receives the gradient is unspecified.
    """
    x, size, stride, out_size = pool_input(x, size, stride, "maxpool2d_forward")
    taps = _taps(size, stride, out_size)
    out = x[taps[0][1]].copy(order="K")     # "K": x's memory order (module docstring)
    position = np.min_scalar_type(len(taps) - 1).type    # uint8 for windows up to 16x16
    argmax = np.zeros_like(out, dtype=position)
    for k, tap in taps[1:]:
        # a dense copy first (in x's memory order): the three operations below then run at SIMD speed
        candidate = x[tap].copy(order="K")
        # Strictly greater: on a tie the earlier (row-major) position keeps the gradient.
        better = candidate > out
        np.maximum(out, candidate, out=out)
        # k grows along the loop, so "the last k that was better" is a running maximum.
        np.maximum(argmax, better * position(k), out=argmax)
    return out, MaxPoolCache(argmax, x.shape, size, stride, x.dtype)


def maxpool2d_backward(dout, cache):
    """Max pooling, backward: each window sends its whole upstream gradient to its arg-max.

    ``dx[n,c,r,s] = sum of dout[n,c,i,j]`` over the windows ``(i, j)`` whose
    (first) maximum is at ``(r, s)``; all other entries are 0. With
    overlapping windows an element can collect from several windows.

    Parameters
    ----------
    dout : array_like, shape (N, C, OH, OW)
    cache : MaxPoolCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    argmax, x_shape, size, stride, dtype = cache
    out_size = argmax.shape[2:]
    dout = _in_memory_order_of(argmax, upstream(dout, argmax.shape, dtype, "maxpool2d_backward"))
    dx = np.zeros_like(argmax, dtype=dtype, shape=x_shape)   # in the forward input's memory order
    overlapping = _overlapping(size, stride)
    for k, tap in _taps(size, stride, out_size):
        if overlapping:
            dx[tap] += dout * (argmax == k)
        else:
            # Each element lies in one window at most: write, no need to add.
            np.multiply(dout, argmax == k, out=dx[tap])
    return dx


def maxpool2d_forward_reference(x, size=2, stride=None):
    """Loop version of :func:`maxpool2d_forward` (one output pixel at a time).

    Returns ``out`` and ``cache = (x, size, stride)`` for
    :func:`maxpool2d_backward_reference`.
    """
    return _pool_reference(x, size, stride, np.max, "maxpool2d_forward_reference")


def maxpool2d_backward_reference(dout, cache):
    """Loop version of :func:`maxpool2d_backward`; ``np.argmax`` picks the first maximum."""
    x, size, stride = cache
    dout = np.asarray(dout, dtype=x.dtype)
    dx = np.zeros_like(x)
    for pixel, window in _windows(dout.shape, size, stride):
        # (r, s): where in the window its (first) maximum lies; it gets the whole upstream gradient
        r, s = np.unravel_index(np.argmax(x[window]), size)
        dx[window][r, s] += dout[pixel]
    return dx


# ----------------------------------------------------------------------------
# Average pooling
# ----------------------------------------------------------------------------

class AvgPoolCache(NamedTuple):
    """What :func:`avgpool2d_forward` keeps for :func:`avgpool2d_backward` (no arrays)."""

    x_shape: tuple
    size: tuple
    stride: tuple
    out_size: tuple
    dtype: np.dtype


def avgpool2d_forward(x, size=2, stride=None):
    """Average pooling, forward: ``out[n,c,i,j] = mean of x[n,c]`` over window ``(i, j)``.

    Parameters
    ----------
    x, size, stride
        As in :func:`maxpool2d_forward`.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        The window means; ``OH``, ``OW`` as in :func:`maxpool2d_forward`.
    cache : AvgPoolCache
        ``(x_shape, size, stride, out_size, dtype)``.
    """
    x, size, stride, out_size = pool_input(x, size, stride, "avgpool2d_forward")
    taps = _taps(size, stride, out_size)
    total = x[taps[0][1]].copy(order="K")
    for _, tap in taps[1:]:
        total += x[tap]
    total /= len(taps)
    return total, AvgPoolCache(x.shape, size, stride, out_size, x.dtype)


def avgpool2d_backward(dout, cache):
    """Average pooling, backward: every element of a window gets ``dout / (KH*KW)``.

    Parameters
    ----------
    dout : array_like, shape (N, C, OH, OW)
        Upstream gradient, one entry per window.
    cache : AvgPoolCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Overlapping windows add up; elements in no window get 0.
    """
    x_shape, size, stride, out_size, dtype = cache
    dout = upstream(dout, x_shape[:2] + tuple(out_size), dtype, "avgpool2d_backward")
    share = dout / (size[0] * size[1])
    dx = np.zeros_like(share, shape=x_shape)     # in dout's memory order
    overlapping = _overlapping(size, stride)
    for _, tap in _taps(size, stride, out_size):
        if overlapping:
            dx[tap] += share
        else:
            dx[tap] = share
    return dx


def avgpool2d_forward_reference(x, size=2, stride=None):
    """Loop version of :func:`avgpool2d_forward`; cache is ``(x, size, stride)``."""
    return _pool_reference(x, size, stride, np.mean, "avgpool2d_forward_reference")


def avgpool2d_backward_reference(dout, cache):
    """Loop version of :func:`avgpool2d_backward`."""
    x, size, stride = cache
    share = np.asarray(dout, dtype=x.dtype) / (size[0] * size[1])
    dx = np.zeros_like(x)
    for pixel, window in _windows(share.shape, size, stride):
        dx[window] += share[pixel]
    return dx


# ----------------------------------------------------------------------------
# L2 pooling
# ----------------------------------------------------------------------------

class L2PoolCache(NamedTuple):
    """What :func:`l2pool2d_forward` keeps for :func:`l2pool2d_backward`."""

    x: np.ndarray        # input (N, C, H, W)
    out: np.ndarray      # output (N, C, OH, OW)
    size: tuple
    stride: tuple


def l2pool2d_forward(x, size=2, stride=None):
    """L2 pooling, forward: ``out[n,c,i,j] = sqrt(sum of x[n,c]**2)`` over window ``(i, j)``.

    Parameters
    ----------
    x, size, stride
        As in :func:`maxpool2d_forward`: input (N, C, H, W), window, step.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        The windows' Euclidean norms, ``OH = (H - KH) // SH + 1``, likewise ``OW``.
    cache : L2PoolCache
        ``(x, out, size, stride)``.
    """
    x, size, stride, out_size = pool_input(x, size, stride, "l2pool2d_forward")
    squares = x * x
    taps = _taps(size, stride, out_size)
    out = squares[taps[0][1]].copy(order="K")
    for _, tap in taps[1:]:
        out += squares[tap]
    np.sqrt(out, out=out)
    return out, L2PoolCache(x, out, size, stride)


def l2pool2d_backward(dout, cache):
    """L2 pooling, backward: ``d out / d x[r,s] = x[r,s] / out`` for every element of the window.

    Where ``out == 0`` the window is all zeros and ``x / out`` is 0/0; we
    define the gradient there as 0 (a subgradient of the norm at 0, and what
    ``x * anything`` gives for ``x = 0``), so no NaN appears.

    Parameters
    ----------
    dout : array_like, shape (N, C, OH, OW)
    cache : L2PoolCache
        Holds ``x`` and ``out``: the local gradient ``x / out`` needs both.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Overlapping windows add up.
    """
    x, out, size, stride = cache
    dout = upstream(dout, out.shape, x.dtype, "l2pool2d_backward")
    # out == 0 only for an all-zero window, whose x factors below are 0 anyway:
    # dividing by 1 there instead of 0 gives dx = 0 without a NaN.
    scale = dout / (out + (out == 0))
    dx = np.zeros_like(x)
    overlapping = _overlapping(size, stride)
    for _, tap in _taps(size, stride, out.shape[2:]):
        if overlapping:
            dx[tap] += scale * x[tap]
        else:
            np.multiply(scale, x[tap], out=dx[tap])
    return dx


def l2pool2d_forward_reference(x, size=2, stride=None):
    """Loop version of :func:`l2pool2d_forward`; cache is ``(x, size, stride)``."""
    return _pool_reference(x, size, stride, _euclidean_norm, "l2pool2d_forward_reference")


def l2pool2d_backward_reference(dout, cache):
    """Loop version of :func:`l2pool2d_backward` (0 for all-zero windows)."""
    x, size, stride = cache
    dout = np.asarray(dout, dtype=x.dtype)
    dx = np.zeros_like(x)
    for pixel, window in _windows(dout.shape, size, stride):
        norm = _euclidean_norm(x[window])
        if norm > 0:
            dx[window] += dout[pixel] * x[window] / norm
    return dx
