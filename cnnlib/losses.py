"""Loss functions returning ``(loss, dscores)``: the value and its gradient.

All losses average over the batch, so gradients carry a ``1/N`` factor.
"""
from __future__ import annotations

import numpy as np

from .activations import as_float_array

__all__ = ["softmax", "log_softmax", "softmax_cross_entropy", "mse_loss", "binary_cross_entropy"]


def log_softmax(scores):
    """Row-wise ``log softmax``, stable: subtracts each row's maximum first."""
    scores = as_float_array(scores, "scores")
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores):
    """Row-wise softmax probabilities of ``scores`` with shape (N, K)."""
    return np.exp(log_softmax(scores))


def softmax_cross_entropy(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels.

    ``L = -1/N sum_n log softmax(s_n)[y_n]`` and ``dL/ds = (softmax(s) - onehot(y)) / N``.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Unnormalised class scores (logits).
    y : array_like of int, shape (N,)
        Labels in ``0 .. K-1``.

    Returns
    -------
    loss : float
    dscores : ndarray, shape (N, K), dtype of ``scores``
    """
    scores = as_float_array(scores, "scores")
    if scores.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: scores must be (N, K), got shape {scores.shape}")
    y = np.asarray(y)
    n, k = scores.shape
    if y.shape != (n,):
        raise ValueError(
            f"softmax_cross_entropy: y must have shape ({n},) to match scores.shape={scores.shape}, got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"softmax_cross_entropy: y must hold integer class labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(
            f"softmax_cross_entropy: labels must lie in 0..{k - 1} for {k} classes, got range {y.min()}..{y.max()}"
        )
    logp = log_softmax(scores)
    rows = np.arange(n)
    loss = -float(logp[rows, y].mean()) if n else 0.0
    dscores = np.exp(logp)
    dscores[rows, y] -= 1
    dscores /= max(n, 1)
    return loss, dscores.astype(scores.dtype, copy=False)


def mse_loss(pred, target):
    """Mean squared error ``mean((pred - target)^2)`` over all elements and its gradient."""
    pred = as_float_array(pred, "pred")
    target = np.asarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred.shape={pred.shape} and target.shape={target.shape} must match")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / max(diff.size, 1)) * diff


def binary_cross_entropy(prob, target, eps=1e-12):
    """Mean binary cross-entropy ``-mean(t log p + (1-t) log(1-p))`` of probabilities.

    ``prob`` is clipped to ``[eps, 1-eps]`` so the loss stays finite.
    """
    prob = as_float_array(prob, "prob")
    target = np.asarray(target, dtype=prob.dtype)
    if prob.shape != target.shape:
        raise ValueError(f"binary_cross_entropy: prob.shape={prob.shape} and target.shape={target.shape} must match")
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError("binary_cross_entropy: prob must lie in [0, 1]; "
                         "pass probabilities (e.g. after sigmoid), not logits")
    p = np.clip(prob, eps, 1 - eps)
    loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    dprob = (p - target) / (p * (1 - p)) / max(p.size, 1)
    return float(loss), dprob.astype(prob.dtype, copy=False)
