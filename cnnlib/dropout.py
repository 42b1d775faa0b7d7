"""Inverted dropout as a forward/backward pair (Srivastava et al., 2014).

In training each value is zeroed with probability ``p`` and the survivors are
scaled by ``1 / (1 - p)``, so the expected output equals the input and
evaluation needs no rescaling: it is the identity.
"""
from __future__ import annotations

import numpy as np

from .activations import as_float_array

__all__ = ["dropout_forward", "dropout_backward"]


def _check_p(p, func):
    if not 0 <= p <= 1:
        raise ValueError(f"{func}: p is the probability of dropping a value and must be in [0, 1], got {p}")


def dropout_forward(x, p=0.5, rng=None, training=True):
    """Inverted dropout forward pass.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1]
        Probability of zeroing each value.
    rng : numpy.random.Generator or int or None
        Source of the random mask (pass a seeded generator for repeatable runs).
    training : bool
        False: return ``x`` unchanged.

    Returns
    -------
    out : ndarray, shape and float dtype of x
        ``x * mask`` with ``mask`` 0 (probability p) or ``1 / (1 - p)``.
    cache : ndarray (the scaled mask) or None in evaluation
    """
    _check_p(p, "dropout_forward")
    x = as_float_array(x)
    if not training or p == 0:
        return x, None
    if p == 1:
        mask = np.zeros(x.shape, dtype=x.dtype)
    else:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        keep = rng.random(x.shape, dtype=x.dtype) >= p
        mask = keep * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, cache):
    """Inverted dropout backward pass: the same mask, ``dx = dout * mask``.

    Returns
    -------
    dx : ndarray, shape of dout
    """
    dout = np.asarray(dout)
    if cache is None:
        return dout
    if dout.shape != cache.shape:
        raise ValueError(f"dropout_backward: dout.shape={dout.shape} must equal the forward output shape "
                         f"{cache.shape}")
    return dout * cache
