"""Gradient checking: compare an analytic backward pass to central differences.

The central difference (f(x + h) - f(x - h)) / 2h has error O(h^2), which is
why the lecture prefers it to the one-sided difference (error O(h)).
Run checks in float64: with float32 the rounding error of f swamps h^2.
"""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error", "check_module_gradients",
           "spot_check_parameters"]


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
    grad = np.zeros_like(_check_float_array(x))
    for idx, f_plus, f_minus in _central_differences(f, x, h, float):
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is the vector-Jacobian product a backward pass computes: given the
    upstream gradient ``dout`` (shape of ``f(x)``), returns ``dx`` (shape of ``x``).
    """
    grad = np.zeros_like(_check_float_array(x))
    dout = np.asarray(dout)

    def value(out):  # a copy: f may hand back the same buffer on the next call
        return np.array(out, dtype=np.float64, copy=True)

    for idx, out_plus, out_minus in _central_differences(f, x, h, value):
        grad[idx] = np.sum((out_plus - out_minus) * dout) / (2 * h)
    return grad


def _central_differences(f, x, h, value, indices=None):
    """For each element ``x[idx]`` in turn: ``idx, value(f(x + h e_idx)), value(f(x - h e_idx))``.

    ``x`` is perturbed in place and restored before the next element;
    ``indices`` (default: all of ``x``, in row-major order) says which.
    """
    for idx in np.ndindex(x.shape) if indices is None else indices:
        old = x[idx]
        x[idx] = old + h
        f_plus = value(f(x))
        x[idx] = old - h
        f_minus = value(f(x))
        x[idx] = old
        yield idx, f_plus, f_minus


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


def spot_check_parameters(module, x, upstream, rng, entries=3, h=1e-6):
    """Central differences for a few random entries of every parameter of ``module``.

    For a network too large to differentiate numerically in full. The loss is
    ``sum(module.forward(x) * upstream)``: run ``module.forward(x)``,
    ``module.zero_grad()`` and ``module.backward(upstream)`` first, so that
    each ``p.grad`` holds the analytic gradient to compare with. Entries that a
    mask removes (``p.mask``) are not parameters and are never picked.

    Parameters
    ----------
    module : cnnlib.nn.Module
    x : ndarray
        Input batch (float64 for a meaningful check).
    upstream : ndarray, shape of ``module.forward(x)``
    rng : numpy.random.Generator
        Picks the entries.
    entries : int
        Entries per parameter (all of a smaller one).
    h : float
        Finite-difference step.

    Returns
    -------
    list of (name, index, numerical, analytic)
        One tuple per entry checked, parameter by parameter.
    """
    def loss(_):
        return float(np.sum(module.forward(x) * upstream))

    checked = []
    for p in module.parameters():
        candidates = np.flatnonzero(p.mask) if p.mask is not None else np.arange(p.data.size)
        picked = rng.choice(candidates, size=min(entries, candidates.size), replace=False)
        indices = [np.unravel_index(flat, p.data.shape) for flat in picked]
        for idx, loss_plus, loss_minus in _central_differences(loss, p.data, h, float, indices):
            checked.append((p.name, idx, (loss_plus - loss_minus) / (2 * h), p.grad[idx]))
    return checked
