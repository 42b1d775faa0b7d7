"""Elementwise activation functions as forward/backward pairs.

Each ``*_forward(x)`` returns ``(out, cache)`` and each ``*_backward(dout, cache)``
returns ``dx = dout * local_grad``: the chain rule "downstream = upstream x local".
Shapes are arbitrary; the output has the shape and float dtype of the input.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_float as as_float_array  # the library's one rule for float input

__all__ = [
    "as_float_array",
    "sigmoid", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "relu", "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward",
    "scaled_tanh_forward", "scaled_tanh_backward",
]


def _check_same_shape(dout, shape, fn):
    dout = np.asarray(dout)
    if dout.shape != shape:
        raise ValueError(f"{fn}: dout.shape={dout.shape} must equal the forward output shape {shape}")
    return dout


def sigmoid(x):
    """Numerically stable logistic function ``1 / (1 + exp(-x))``."""
    x = as_float_array(x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    # for x < 0 use exp(x) / (1 + exp(x)) so exp never overflows
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def sigmoid_forward(x):
    """Sigmoid; local gradient ``s (1 - s)`` (lecture: sigmoid gate)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    dout = _check_same_shape(dout, s.shape, "sigmoid_backward")
    return dout * s * (1 - s)


def tanh_forward(x):
    """Hyperbolic tangent; local gradient ``1 - tanh(x)^2``."""
    out = np.tanh(as_float_array(x))
    return out, out


def tanh_backward(dout, cache):
    t = cache
    dout = _check_same_shape(dout, t.shape, "tanh_backward")
    return dout * (1 - t * t)


def scaled_tanh_forward(x, amplitude=1.7159, slope=2.0 / 3.0):
    """LeCun et al. (1998), appendix A: ``f(a) = A tanh(S a)`` with A=1.7159, S=2/3."""
    t = np.tanh(slope * as_float_array(x))
    return amplitude * t, (t, amplitude, slope)


def scaled_tanh_backward(dout, cache):
    t, amplitude, slope = cache
    dout = _check_same_shape(dout, t.shape, "scaled_tanh_backward")
    return dout * (amplitude * slope) * (1 - t * t)


def relu(x):
    """``max(0, x)`` elementwise."""
    x = as_float_array(x)
    return np.maximum(x, 0, dtype=x.dtype)


def relu_forward(x):
    """ReLU; local gradient 1 where ``x > 0`` else 0 (the max gate routes)."""
    x = as_float_array(x)
    out = np.maximum(x, 0, dtype=x.dtype)
    return out, out > 0


def relu_backward(dout, cache):
    mask = cache
    dout = _check_same_shape(dout, mask.shape, "relu_backward")
    return dout * mask


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU ``x if x > 0 else alpha x``."""
    x = as_float_array(x)
    mask = x > 0
    out = np.where(mask, x, x * x.dtype.type(alpha))
    return out, (mask, alpha)


def leaky_relu_backward(dout, cache):
    mask, alpha = cache
    dout = _check_same_shape(dout, mask.shape, "leaky_relu_backward")
    return np.where(mask, dout, dout * dout.dtype.type(alpha))


def elu_forward(x, alpha=1.0):
    """ELU ``x if x > 0 else alpha (exp(x) - 1)`` (Clevert et al., 2016)."""
    x = as_float_array(x)
    mask = x > 0
    neg = alpha * np.expm1(np.minimum(x, 0))
    out = np.where(mask, x, neg).astype(x.dtype, copy=False)
    return out, (mask, neg, alpha)


def elu_backward(dout, cache):
    mask, neg, alpha = cache
    dout = _check_same_shape(dout, mask.shape, "elu_backward")
    # for x <= 0: d/dx alpha (e^x - 1) = alpha e^x = neg + alpha
    return np.where(mask, dout, dout * (neg + alpha)).astype(dout.dtype, copy=False)
