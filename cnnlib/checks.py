"""Checks for homework tests that *teach* when they fail.

Every check prints one line when it passes and, when it fails, raises an
``AssertionError`` whose message says what was checked, what was expected,
what came back and, when the answer matches a known wrong answer, the likely
mistake. The assignments' visible and hidden tests are written with these.

Example
-------
>>> import numpy as np
>>> from cnnlib.checks import check_close
>>> right = np.array([1.0, 2.0]); flipped = right[::-1]
>>> check_close("dx", right, right, mistakes=[(flipped, "kernel not flipped")])
ok: dx
"""
from __future__ import annotations

import numpy as _np

# Keep private references: the checks must not depend on names a notebook can rebind.
_asarray = _np.asarray
_isclose = _np.isclose
_abs = _np.abs
_array2string = _np.array2string
_shape_of = _np.shape

__all__ = ["CheckFailure", "check_close", "check_shape", "check_equal", "check_true", "describe"]


class CheckFailure(AssertionError):
    """A failed homework check; its message is meant for the student."""


def describe(value, max_items=12):
    """Short printable form of a value: arrays get shape, dtype and a few numbers."""
    if isinstance(value, _np.ndarray) or (isinstance(value, (list, tuple)) and value and
                                          isinstance(value[0], (list, tuple, _np.ndarray))):
        arr = _asarray(value)
        body = _array2string(arr.ravel()[:max_items], precision=4, suppress_small=True, separator=", ")
        more = " ..." if arr.size > max_items else ""
        return f"array of shape {arr.shape}, dtype {arr.dtype}: {body}{more}"
    return repr(value)


def _matches(got, candidate, rtol, atol):
    try:
        g = _asarray(got, dtype=float)
        c = _asarray(candidate, dtype=float)
    except (TypeError, ValueError):
        return got == candidate
    if g.shape != c.shape:
        return False
    return bool(_isclose(g, c, rtol=rtol, atol=atol).all())


def _fail(what, expected, got, extra="", mistakes=(), rtol=1e-6, atol=1e-8):
    lines = [f"{what}", f"  expected: {describe(expected)}", f"  got:      {describe(got)}"]
    if extra:
        lines.append(f"  {extra}")
    for candidate, hint in mistakes:
        if callable(candidate):
            hit = bool(candidate(got))
        else:
            hit = _matches(got, candidate, rtol, atol)
        if hit:
            lines.append(f"  likely mistake: {hint}")
            break
    raise CheckFailure("\n".join(lines))


def _ok(what, quiet):
    if not quiet:
        print(f"ok: {what}")


def check_shape(what, got, expected_shape, mistakes=(), quiet=False):
    """Check that ``got`` (an array, or a shape tuple) has ``expected_shape``.

    ``mistakes`` is a list of ``(wrong_shape_or_predicate, hint)``.
    """
    shape = tuple(got) if isinstance(got, tuple) else _shape_of(got)
    if isinstance(got, tuple) and all(isinstance(s, (int, _np.integer)) for s in got):
        shape = tuple(int(s) for s in got)
    expected_shape = tuple(expected_shape)
    if shape != expected_shape:
        lines = [f"{what}: wrong shape", f"  expected shape: {expected_shape}", f"  got shape:      {shape}"]
        for candidate, hint in mistakes:
            hit = candidate(shape) if callable(candidate) else tuple(candidate) == shape
            if hit:
                lines.append(f"  likely mistake: {hint}")
                break
        raise CheckFailure("\n".join(lines))
    _ok(f"{what} has shape {expected_shape}", quiet)


def check_close(what, got, expected, rtol=1e-6, atol=1e-8, mistakes=(), quiet=False):
    """Check ``got`` against ``expected`` elementwise within tolerances (never exact float equality).

    Parameters
    ----------
    what : str
        What is being checked, in the student's terms (e.g. ``"dw for stride=2, pad=1"``).
    got, expected : array_like or number
    rtol, atol : float
        ``|got - expected| <= atol + rtol |expected|`` everywhere.
    mistakes : list of (wrong_answer_or_predicate, hint)
        Known wrong answers (arrays computed the wrong way, or predicates on
        ``got``); the first that matches is reported as the likely mistake.
    """
    if got is None:
        _fail(f"{what}: your function returned None (did you forget `return`?)", expected, got)
    try:
        g = _asarray(got, dtype=float)
    except (TypeError, ValueError):
        _fail(f"{what}: the result is not numeric", expected, got)
    e = _asarray(expected, dtype=float)
    if g.shape != e.shape:
        extra = f"shape {g.shape} instead of {e.shape}"
        _fail(f"{what}: wrong shape", expected, got, extra, mistakes, rtol, atol)
    if not _np.all(_np.isfinite(g)) and _np.all(_np.isfinite(e)):
        _fail(f"{what}: the result contains NaN or inf", expected, got, "", mistakes, rtol, atol)
    close = _isclose(g, e, rtol=rtol, atol=atol)
    if not close.all():
        bad = int((~close).sum())
        worst = float(_abs(g - e).max())
        idx = tuple(int(i) for i in _np.unravel_index(int(_np.argmax(_abs(g - e))), g.shape)) if g.ndim else ()
        extra = (f"{bad} of {g.size} values differ; largest difference {worst:.3g}"
                 + (f" at index {idx}" if idx else ""))
        _fail(f"{what}: wrong values", expected, got, extra, mistakes, rtol, atol)
    _ok(what, quiet)


def check_equal(what, got, expected, mistakes=(), quiet=False):
    """Check exact equality of integers, tuples or strings (not floats: use check_close)."""
    if isinstance(got, _np.ndarray) or isinstance(expected, _np.ndarray):
        same = _asarray(got).shape == _asarray(expected).shape and bool((_asarray(got) == _asarray(expected)).all())
    else:
        try:
            same = bool(got == expected)
        except Exception:  # a student's object with a broken __eq__
            same = False
    if not same:
        lines = [f"{what}", f"  expected: {describe(expected)}", f"  got:      {describe(got)}"]
        for candidate, hint in mistakes:
            try:
                hit = candidate(got) if callable(candidate) else got == candidate
            except Exception:
                hit = False
            if hit:
                lines.append(f"  likely mistake: {hint}")
                break
        raise CheckFailure("\n".join(lines))
    _ok(f"{what} = {describe(expected)}", quiet)


def check_true(what, condition, detail="", quiet=False):
    """Check a condition; ``detail`` explains what was seen when it fails."""
    if not condition:
        raise CheckFailure(f"{what}" + (f"\n  {detail}" if detail else ""))
    _ok(what, quiet)
