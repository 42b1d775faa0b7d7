"""Argument checks shared by the layers: one rule for each kind of argument.

- :func:`integer` and :func:`pair`: a size, stride or padding is an int, or
  for 2-D layers an int (both axes) or a pair of ints ``(rows, cols)``.
  NumPy integers count as ints; floats, bools and strings are refused
  (``TypeError``); a value below ``minimum`` is a ``ValueError``.
- :func:`as_float`: arrays are float64 by default, and float32 stays float32
  (the library's contract). Ints, bools and other float widths become float64;
  complex numbers and anything else that is not a real number are refused.
- :func:`check_xy`: a data set is ``X`` with the examples along its first axis
  and ``y`` of shape (N,), one label per example.

Not to be confused with :mod:`cnnlib.checks`, the rules for student code.
Every message starts with the function the student called, names the
argument and shows what came in.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["integer", "pair", "as_float", "check_xy"]


def _prefix(func):
    return f"{func}: " if func else ""


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _at_least(minimum, value, name, func, checked):
    if minimum is not None and min(checked) < minimum:
        raise ValueError(f"{_prefix(func)}{name} must be >= {minimum}, got {name}={value!r}")


def integer(value, name, func=None, minimum=None):
    """``value`` as a Python int; the rule of :func:`pair` for one axis.

    Examples
    --------
    >>> integer(np.int64(5), "k", minimum=1)
    5
    """
    checked = value
    if type(value) is not int:
        if isinstance(value, np.ndarray) and value.ndim == 0:
            checked = value.item()
        if not _is_int(checked):
            raise TypeError(f"{_prefix(func)}{name} must be an int, got {value!r}")
        checked = int(checked)
    _at_least(minimum, value, name, func, (checked,))
    return checked


def pair(value, name, func=None, minimum=None):
    """``(rows, cols)`` as Python ints from an int or a pair of ints.

    Parameters
    ----------
    value : int or (int, int)
        An int means the same value along both axes. NumPy integers and 0-d
        integer arrays count as ints; bools and floats do not.
    name : str
        The argument's name, for the error message (``"stride"``).
    func : str, optional
        The public function that was called, for the error message.
    minimum : int, optional
        Smallest allowed value of each entry (1 for a size or stride, 0 for a
        padding).

    Raises
    ------
    TypeError
        If ``value`` is neither an int nor a pair of ints.
    ValueError
        If an entry is below ``minimum``.

    Examples
    --------
    >>> pair(3, "kernel_size")
    (3, 3)
    >>> pair((2, 1), "stride", minimum=1)
    (2, 1)
    """
    # Fast path first: the layers pass plain ints and tuples on every call.
    if type(value) is int:
        rows = cols = value
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        rows, cols = value
    else:
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if _is_int(value):
            rows = cols = int(value)
        elif (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2
              and _is_int(value[0]) and _is_int(value[1])):
            rows, cols = int(value[0]), int(value[1])
        else:
            raise TypeError(f"{_prefix(func)}{name} must be an int or a (row, col) pair of ints, "
                            f"got {value!r}")
    _at_least(minimum, value, name, func, (rows, cols))
    return rows, cols


def as_float(a, name="x", func=None):
    """``a`` as an ndarray of float32 or float64.

    float32 and float64 arrays come back as they are (no copy); ints, bools
    and other float widths (float16, long double) become float64.

    Raises
    ------
    TypeError
        For complex numbers, strings, objects: anything that is not real.

    Examples
    --------
    >>> as_float([1, 2]).dtype
    dtype('float64')
    >>> as_float(np.zeros(2, np.float32)).dtype
    dtype('float32')
    """
    if type(a) is np.ndarray and a.dtype.char in "fd":      # the layers' every call
        return a
    a = np.asarray(a)
    if a.dtype.char in "fd":
        return a
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    raise TypeError(f"{_prefix(func)}{name} must hold real numbers, got dtype {a.dtype}")


def check_xy(X, y, func=None):
    """``(X, y)`` as arrays after checking that they describe one data set.

    ``X`` needs at least one axis, the examples (e.g. (N, C, H, W)); ``y``
    must have shape (N,): one label per example. Neither is converted.

    Raises
    ------
    ValueError
        Naming both shapes when they do not fit together.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0:
        raise ValueError(f"{_prefix(func)}X must have a batch axis (the examples first), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"{_prefix(func)}y must have shape (N,), one label per example, "
                         f"got X.shape={X.shape}, y.shape={y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{_prefix(func)}X and y must have the same first dimension (one label per example), "
                         f"got X.shape={X.shape}, y.shape={y.shape}")
    return X, y


# ----------------------------------------------------------------------------
# The arguments of the convolution and pooling layers
# ----------------------------------------------------------------------------

def stride_pad(stride, pad, func):
    """``((SH, SW), (PH, PW))``: strides >= 1, paddings >= 0."""
    return pair(stride, "stride", func, minimum=1), pair(pad, "pad", func, minimum=0)


def window_output_size(func, in_hw, kernel_hw, stride, pad, shapes):
    """Output ``(OH, OW)`` of sliding a kernel over a padded input, or a ValueError
    when it does not fit. ``shapes()`` returns the text naming the arrays (a
    function, so that the text is only formatted for an error)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = in_hw, kernel_hw, stride, pad
    if kh < 1 or kw < 1:
        raise ValueError(f"{func}: kernel must be at least 1x1, got {kh}x{kw} ({shapes()})")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"{func}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input {h}x{w}, pad={(ph, pw)}; {shapes()})"
        )
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def image_and_kernel(image, kernel, stride, pad, func):
    """``(image, kernel, stride, pad, out_size)`` of a single-channel correlation,
    image and kernel as floats of one dtype."""
    image = as_float(image, "image", func)
    kernel = as_float(kernel, "kernel", func)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"{func}: expected a 2-D image (H, W) and a 2-D kernel (KH, KW), "
            f"got image.shape={image.shape} and kernel.shape={kernel.shape}"
        )
    stride, pad = stride_pad(stride, pad, func)
    out_size = window_output_size(func, image.shape, kernel.shape, stride, pad,
                                  lambda: f"image.shape={image.shape}, kernel.shape={kernel.shape}")
    dtype = np.result_type(image.dtype, kernel.dtype)
    return image.astype(dtype, copy=False), kernel.astype(dtype, copy=False), stride, pad, out_size


def conv_inputs(x, w, b, stride, pad, func):
    """``(x, w, b, stride, pad, out_size)`` of a convolution layer, the arrays
    as floats of one dtype (``b`` may be None)."""
    x = as_float(x, "x", func)
    w = as_float(w, "w", func)
    if x.ndim != 4:
        raise ValueError(f"{func}: x must be 4-D (N, C, H, W), got x.shape={x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{func}: w must be 4-D (F, C, KH, KW), got w.shape={w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{func}: x has {x.shape[1]} channels (x.shape={x.shape}) "
            f"but w expects {w.shape[1]} (w.shape={w.shape})"
        )
    stride, pad = stride_pad(stride, pad, func)
    out_size = window_output_size(func, x.shape[2:], w.shape[2:], stride, pad,
                                  lambda: f"x.shape={x.shape}, w.shape={w.shape}")
    dtype = x.dtype if x.dtype == w.dtype else np.result_type(x.dtype, w.dtype)
    if b is not None:
        b = as_float(b, "b", func)
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"{func}: b must have shape (F,) = ({w.shape[0]},) to match w.shape={w.shape}, "
                f"got b.shape={b.shape}"
            )
        b = b.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), b, stride, pad, out_size


def pool_input(x, size, stride, func):
    """``(x, (KH, KW), (SH, SW), (OH, OW))`` of a pooling layer; ``stride=None``
    means ``stride = size``."""
    x = as_float(x, "x", func)
    if x.ndim != 4:
        raise ValueError(f"{func}: x must be 4-D (N, C, H, W), got x.shape={x.shape}")
    kh, kw = pair(size, "size", func)
    if kh < 1 or kw < 1:
        raise ValueError(f"{func}: window size must be >= 1, got size={size!r}")
    sh, sw = (kh, kw) if stride is None else pair(stride, "stride", func, minimum=1)
    h, w = x.shape[2:]
    if kh > h or kw > w:
        raise ValueError(
            f"{func}: window {kh}x{kw} is larger than the input {h}x{w} (x.shape={x.shape})"
        )
    return x, (kh, kw), (sh, sw), ((h - kh) // sh + 1, (w - kw) // sw + 1)


def upstream(dout, expected_shape, dtype, func):
    """The upstream gradient ``dout`` as ``dtype``, after checking that it has the
    forward output's shape."""
    dout = as_float(dout, "dout", func)
    if dout.shape != tuple(expected_shape):
        raise ValueError(
            f"{func}: dout must have the forward output's shape {tuple(expected_shape)}, "
            f"got dout.shape={dout.shape}"
        )
    return dout.astype(dtype, copy=False)
