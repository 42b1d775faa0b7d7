"""Fully connected (affine) layer: ``out = x W^T + b``.

The weight has PyTorch's layout ``(out_features, in_features)`` so weights can be
compared with, or copied from, ``torch.nn.Linear``.
"""
from __future__ import annotations

import numpy as np

from .activations import as_float_array

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, w, b=None):
    """Affine forward pass.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    w : ndarray, shape (M, D)
    b : ndarray, shape (M,), or None

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple ``(x, w, has_bias)``
    """
    x = as_float_array(x)
    w = as_float_array(w, "w")
    if x.ndim != 2:
        raise ValueError(
            f"linear_forward: x must be 2-D (N, D), got shape {x.shape}; use Flatten after a conv/pool layer"
        )
    if w.ndim != 2 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"linear_forward: x.shape={x.shape} has {x.shape[1]} features but w.shape={w.shape} expects "
            f"(out_features, {x.shape[1]})"
        )
    out = x @ w.T
    if b is not None:
        b = np.asarray(b)
        if b.shape != (w.shape[0],):
            raise ValueError(f"linear_forward: b.shape={b.shape} must be ({w.shape[0]},) for w.shape={w.shape}")
        out += b
    return out, (x, w, b is not None)


def linear_backward(dout, cache):
    """Affine backward pass: ``dx = dout W``, ``dW = dout^T x``, ``db = sum_n dout``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dw : ndarray, shape (M, D)
    db : ndarray, shape (M,), or None when the forward pass had no bias
    """
    x, w, has_bias = cache
    dout = np.asarray(dout)
    if dout.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"linear_backward: dout.shape={dout.shape} must be {(x.shape[0], w.shape[0])}")
    dx = dout @ w
    dw = dout.T @ x
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db
