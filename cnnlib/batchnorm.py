"""Batch normalization as a forward/backward pair (Ioffe & Szegedy, 2015).

Training: each channel is normalized with the mean and the *biased* variance of
the batch, then scaled and shifted, ``out = gamma * (x - mu) / sqrt(var + eps) + beta``
(the paper's Algorithm 1). Running averages of the mean and of the *unbiased*
variance, ``running = (1 - momentum) * running + momentum * batch_value``, are
what evaluation normalizes with (PyTorch's ``torch.nn.BatchNorm*d`` semantics).

The channel axis is axis 1, as everywhere in cnnlib: ``(N, C)`` for a fully
connected layer, ``(N, C, L)`` for sequences, ``(N, C, H, W)`` for images; the
statistics are taken over every other axis, so for images one channel has
``M = N * H * W`` values (the "spatial" batch norm).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import as_float_array

__all__ = [
    "batchnorm_forward", "batchnorm_backward",
    "batchnorm_forward_reference", "batchnorm_backward_reference",
    "BatchNormCache",
]


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs from the forward pass."""

    x_hat: np.ndarray        # normalized input, shape of x
    gamma: np.ndarray        # scale, shape (C,)
    inv_std: np.ndarray      # 1 / sqrt(var + eps) per channel, shape (C,)
    training: bool           # batch statistics (True) or running statistics (False)
    dtype: np.dtype          # dtype of the output (and of dx)


def _stat_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(v, ndim):
    """Shape a (C,) vector to broadcast along axis 1 of an ndim-array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _check_inputs(x, gamma, beta, running_mean, running_var, training, eps, momentum, func):
    x = as_float_array(x)
    if x.ndim < 2:
        raise ValueError(f"{func}: x must be (N, C), (N, C, L) or (N, C, H, W), got shape {x.shape}")
    c = x.shape[1]
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    if gamma.shape != (c,) or beta.shape != (c,):
        raise ValueError(f"{func}: x.shape={x.shape} has {c} channels (axis 1), so gamma and beta must have "
                         f"shape ({c},); got gamma.shape={gamma.shape}, beta.shape={beta.shape}")
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and np.shape(r) != (c,):
            raise ValueError(f"{func}: {name} must have shape ({c},) for x.shape={x.shape}, got {np.shape(r)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{func}: evaluation (training=False) normalizes with running_mean and running_var; "
                         "pass both")
    if not eps > 0:
        raise ValueError(f"{func}: eps must be positive, got {eps}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"{func}: momentum must be in [0, 1], got {momentum}")
    m = x.size // c if c else 0
    if training and m < 2:
        raise ValueError(f"{func}: training needs more than one value per channel to estimate a variance; "
                         f"x.shape={x.shape} has {m}")
    return x, gamma, beta, m


def _update_running(running_mean, running_var, mu, var, m, momentum):
    # PyTorch keeps the unbiased variance (divide by M - 1) in the running average.
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mu
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += momentum * var * (m / (m - 1))


def batchnorm_forward(x, gamma, beta, running_mean=None, running_var=None, training=True,
                      eps=1e-5, momentum=0.1):
    """Batch normalization forward pass (loop-free).

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, L) or (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
        Learned scale and shift.
    running_mean, running_var : ndarray, shape (C,), or None
        Running statistics. In training they are updated **in place** (as
        ``torch.nn.functional.batch_norm`` does) when given; in evaluation
        they are required and used instead of the batch statistics.
    training : bool
    eps : float
        Added to the variance before the square root.
    momentum : float in [0, 1]
        Weight of the new batch in the running averages.

    Returns
    -------
    out : ndarray, shape of x
        ``gamma * (x - mu) / sqrt(var + eps) + beta`` per channel.
    cache : BatchNormCache
    """
    x, gamma, beta, m = _check_inputs(x, gamma, beta, running_mean, running_var, training, eps, momentum,
                                      "batchnorm_forward")
    axes = _stat_axes(x.ndim)
    if training:
        mu = x.mean(axis=axes)
        centered = x - _per_channel(mu, x.ndim)
        var = np.mean(centered * centered, axis=axes)            # biased: divide by M
        inv_std = 1.0 / np.sqrt(var + eps)
        _update_running(running_mean, running_var, mu, var, m, momentum)
    else:
        centered = x - _per_channel(np.asarray(running_mean, dtype=x.dtype), x.ndim)
        inv_std = (1.0 / np.sqrt(np.asarray(running_var) + eps)).astype(x.dtype)
    x_hat = centered * _per_channel(inv_std, x.ndim)
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out, BatchNormCache(x_hat, gamma, inv_std, bool(training), out.dtype)


def batchnorm_backward(dout, cache):
    """Batch normalization backward pass (loop-free, the simplified formula).

    In training, mu and var depend on every input of the channel; collecting
    the three paths gives, with ``M`` values per channel,
    ``dx = gamma / (M sqrt(var + eps)) * (M dout - sum(dout) - x_hat sum(dout x_hat))``.
    In evaluation the running statistics are constants: ``dx = gamma dout / sqrt(var + eps)``.

    Parameters
    ----------
    dout : ndarray, shape of the forward output
    cache : BatchNormCache

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape (C,)
    """
    x_hat, gamma, inv_std, training, dtype = cache
    dout = np.asarray(dout)
    if dout.shape != x_hat.shape:
        raise ValueError(f"batchnorm_backward: dout.shape={dout.shape} must equal the forward output shape "
                         f"{x_hat.shape}")
    ndim = x_hat.ndim
    axes = _stat_axes(ndim)
    dbeta = dout.sum(axis=axes)
    dgamma = np.sum(dout * x_hat, axis=axes)
    scale = _per_channel(gamma * inv_std, ndim)
    if training:
        m = x_hat.size // x_hat.shape[1]
        dx = (scale / m) * (m * dout - _per_channel(dbeta, ndim) - x_hat * _per_channel(dgamma, ndim))
    else:
        dx = dout * scale
    return dx.astype(dtype, copy=False), dgamma, dbeta


def batchnorm_forward_reference(x, gamma, beta, running_mean=None, running_var=None, training=True,
                                eps=1e-5, momentum=0.1):
    """Batch normalization as the computational graph of the lecture, one node per line.

    Same arguments and results as :func:`batchnorm_forward`; the cache holds
    every intermediate node so that :func:`batchnorm_backward_reference` can
    walk the graph backwards.
    """
    x, gamma, beta, m = _check_inputs(x, gamma, beta, running_mean, running_var, training, eps, momentum,
                                      "batchnorm_forward_reference")
    axes = _stat_axes(x.ndim)
    g = _per_channel(gamma, x.ndim)
    b = _per_channel(beta, x.ndim)
    if training:
        mu = np.sum(x, axis=axes, keepdims=True) / m           # 1. mean
        xmu = x - mu                                           # 2. centre
        sq = xmu ** 2                                          # 3. square
        var = np.sum(sq, axis=axes, keepdims=True) / m         # 4. biased variance
        std = np.sqrt(var + eps)                               # 5. standard deviation
        inv_std = 1.0 / std                                    # 6. invert
        x_hat = xmu * inv_std                                  # 7. normalize
        _update_running(running_mean, running_var, mu.ravel(), var.ravel(), m, momentum)
    else:
        xmu = x - _per_channel(np.asarray(running_mean, dtype=x.dtype), x.ndim)
        std = np.sqrt(_per_channel(np.asarray(running_var), x.ndim) + eps)
        inv_std = (1.0 / std).astype(x.dtype)
        x_hat = xmu * inv_std
        sq = var = None
    scaled = g * x_hat                                         # 8. scale
    out = scaled + b                                           # 9. shift
    cache = {"x_hat": x_hat, "gamma": g, "xmu": xmu, "inv_std": inv_std, "std": std, "var": var,
             "sq": sq, "eps": eps, "m": m, "axes": axes, "training": bool(training), "dtype": out.dtype}
    return out, cache


def batchnorm_backward_reference(dout, cache):
    """Backward through the graph of :func:`batchnorm_forward_reference`, node by node.

    Each line is "downstream = upstream x local gradient" for one node; a node
    used twice (``xmu`` feeds the square and the normalization) adds the
    gradients of both uses.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape (C,)
    """
    dout = np.asarray(dout)
    c = cache
    axes, m = c["axes"], c["m"]
    if dout.shape != c["x_hat"].shape:
        raise ValueError(f"batchnorm_backward_reference: dout.shape={dout.shape} must equal the forward "
                         f"output shape {c['x_hat'].shape}")
    dbeta = np.sum(dout, axis=axes)                            # 9. out = scaled + beta
    dscaled = dout
    dgamma = np.sum(dscaled * c["x_hat"], axis=axes)           # 8. scaled = gamma * x_hat
    dx_hat = dscaled * c["gamma"]
    dxmu = dx_hat * c["inv_std"]                               # 7. x_hat = xmu * inv_std (xmu's first use)
    if not c["training"]:
        return dxmu.astype(c["dtype"], copy=False), dgamma, dbeta  # running statistics are constants
    dinv_std = np.sum(dx_hat * c["xmu"], axis=axes, keepdims=True)
    dstd = dinv_std * (-1.0 / c["std"] ** 2)                   # 6. inv_std = 1 / std
    dvar = dstd * 0.5 / np.sqrt(c["var"] + c["eps"])           # 5. std = sqrt(var + eps)
    dsq = np.ones_like(c["sq"]) * dvar / m                     # 4. var = sum(sq) / M
    dxmu = dxmu + 2 * c["xmu"] * dsq                           # 3. sq = xmu ** 2 (xmu's second use)
    dmu = -np.sum(dxmu, axis=axes, keepdims=True)              # 2. xmu = x - mu
    dx = dxmu + np.ones_like(dxmu) * dmu / m                   # 1. mu = sum(x) / M
    return dx.astype(c["dtype"], copy=False), dgamma, dbeta
