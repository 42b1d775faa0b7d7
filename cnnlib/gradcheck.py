"""Gradient checking: compare an analytic backward pass to central differences.

The central difference (f(x + h) - f(x - h)) / 2h has error O(h^2), which is
why the lecture prefers it to the one-sided difference (error O(h)).
Run checks in float64: with float32 the rounding error of f swamps h^2.
"""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error", "check_module_gradients"]


def rel_error(a, b, eps=1e-12):
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    Parameters
    ----------
    a, b : array_like
        Arrays of the same shape (an analytic and a numerical gradient).

    Returns
    -------
    float
        0 for identical arrays; below 1e-7 means the gradients agree in float64.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one element at a time, and restored.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` (it may read ``x`` through a closure instead).
    x : ndarray
        Point at which to differentiate; float64 recommended.
    h : float
        Step size.

    Returns
    -------
    ndarray
        ``grad`` with ``grad.shape == x.shape``; ``grad[i] ~ (f(x+h e_i) - f(x-h e_i)) / 2h``.
    """
    x = _check_float_array(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is the vector-Jacobian product a backward pass computes: given the
    upstream gradient ``dout`` (shape of ``f(x)``), returns ``dx`` (shape of ``x``).
    """
    x = _check_float_array(x)
    dout = np.asarray(dout)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[idx] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[idx] = old
        grad[idx] = np.sum((pos - neg) * dout) / (2 * h)
        it.iternext()
    return grad


def _check_float_array(x):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "numerical gradients perturb x in place, so x must be a float ndarray "
            f"(got {type(x).__name__} with dtype {getattr(x, 'dtype', None)})"
        )
    return x


def check_module_gradients(module, x, h=1e-5, seed=0, check_input=True):
    """Compare a module's ``backward`` against central differences.

    The scalar loss is ``sum(module.forward(x) * R)`` for a fixed random ``R``,
    so the upstream gradient is ``R``.

    Parameters
    ----------
    module : cnnlib.nn.Module
        Anything with ``forward``, ``backward`` and ``parameters()``.
    x : ndarray
        Input batch (float64 for a meaningful check).
    h : float
        Finite-difference step.
    seed : int
        Seed of the random upstream gradient.
    check_input : bool
        Also check ``dx``.

    Returns
    -------
    dict
        ``{"x": err, "<param name>": err, ...}`` of relative errors.
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64, copy=True)
    out = module.forward(x)
    upstream = rng.standard_normal(out.shape)
    for p in module.parameters():
        p.grad[...] = 0
    dx = module.backward(upstream)

    def loss(_):
        return float(np.sum(module.forward(x) * upstream))

    errors = {}
    if check_input:
        errors["x"] = rel_error(dx, numerical_gradient(loss, x, h))
    analytic = {p.name: p.grad.copy() for p in module.parameters()}
    for p in module.parameters():
        num = numerical_gradient(loss, p.data, h)
        if p.mask is not None:  # masked-out weights do not exist; compare the real ones
            errors[p.name] = rel_error(analytic[p.name][p.mask], num[p.mask])
        else:
            errors[p.name] = rel_error(analytic[p.name], num)
    return errors
