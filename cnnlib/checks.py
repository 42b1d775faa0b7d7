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

import ast as _ast

import numpy as _np

# Keep private references: the checks must not depend on names a notebook can rebind.
_asarray = _np.asarray
_isclose = _np.isclose
_abs = _np.abs
_array2string = _np.array2string
_shape_of = _np.shape

__all__ = ["CheckFailure", "check_close", "check_shape", "check_equal", "check_true", "check_rule", "rule_violations",
           "describe"]


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


# --- exercise rules -------------------------------------------------------------------

def _dotted(node, aliases):
    """``a.b.c`` for a chain of attributes on an imported name, else None."""
    parts = []
    while isinstance(node, _ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, _ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(parts)])
    return None


def _constant_string(node):
    """The value of a string constant, or of constants joined with ``+`` (else None)."""
    if isinstance(node, _ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, _ast.BinOp) and isinstance(node.op, _ast.Add):
        left, right = _constant_string(node.left), _constant_string(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, _ast.JoinedStr) and all(isinstance(v, _ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)
    return None


def _resolve(dotted, roots):
    """The object a dotted name stands for, if its package is one the rules name (else None)."""
    import importlib
    import sys

    parts = dotted.split(".")
    if parts[0] not in roots or (parts[0] not in sys.modules and parts[0] != "cnnlib"):
        return None
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = sys.modules.get(module_name) or importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - not a module (or one that fails to import)
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def rule_violations(source, forbidden, namespace=None):
    """``[(line, dotted name)]`` of what ``source`` uses that ``forbidden`` names.

    ``forbidden`` holds dotted names: a module forbids all of it, ``module.attr`` one
    function or class. Found: imports and from-imports, attribute chains on imported
    names (also through re-exports such as ``cnnlib.functional``), star imports, and
    names given as strings to ``__import__``, ``importlib.import_module`` or ``getattr``.
    ``namespace`` maps names the source uses without importing them to dotted names
    (e.g. ``{"F": "cnnlib.functional"}`` for a module imported elsewhere).
    """
    from textwrap import dedent

    forbidden = [str(name) for name in forbidden]
    roots = {name.split(".")[0] for name in forbidden}
    resolved = {}
    for name in forbidden:
        obj = _resolve(name, roots)
        if obj is not None and not isinstance(obj, (int, float, str, bool, tuple)):
            resolved[id(obj)] = (obj, name)

    def matches(dotted):
        if any(dotted == name or dotted.startswith(name + ".") for name in forbidden):
            return True
        obj = _resolve(dotted, roots)
        if obj is None:
            return False
        if id(obj) in resolved and resolved[id(obj)][0] is obj:
            return True
        home = getattr(obj, "__module__", None) if callable(obj) else None  # a re-export of a forbidden module's
        return isinstance(home, str) and any(home == name or home.startswith(name + ".") for name in forbidden)

    def holds_forbidden(module):  # a module that a forbidden name lies in (or under)
        return any(name == module or name.startswith(module + ".") or module.startswith(name + ".")
                   for name in forbidden)

    tree = _ast.parse(dedent(source))
    aliases, found = dict(namespace or {}), []
    for node in _ast.walk(tree):
        if isinstance(node, _ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
                if matches(alias.name):
                    found.append((node.lineno, alias.name))
        elif isinstance(node, _ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if alias.name == "*":
                    if holds_forbidden(node.module):
                        found.append((node.lineno, full))
                    continue
                aliases[alias.asname or alias.name] = full
                if matches(full) or matches(node.module):
                    found.append((node.lineno, full))
    for node in _ast.walk(tree):
        if isinstance(node, (_ast.Attribute, _ast.Name)) and isinstance(getattr(node, "ctx", None), _ast.Load):
            dotted = _dotted(node, aliases)
            if dotted and matches(dotted):
                found.append((node.lineno, dotted))
        elif isinstance(node, _ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, _ast.Name) else func.attr if isinstance(func, _ast.Attribute) else ""
            first = node.args[0]
            text = _constant_string(first)
            if called in ("__import__", "import_module") and text is not None and holds_forbidden(text):
                found.append((node.lineno, text))
            elif called == "getattr" and len(node.args) >= 2 and _constant_string(node.args[1]) is not None:
                owner = _dotted(first, aliases)
                attr = _constant_string(node.args[1])
                if (owner and matches(f"{owner}.{attr}")) or (
                        owner is None and any(name.rpartition(".")[2] == attr for name in forbidden)):
                    found.append((node.lineno, f"{owner or '?'}.{attr}"))
    unique = {}
    for line, name in sorted(found):
        unique.setdefault(name, line)
    return sorted(((line, name) for name, line in unique.items()))


def _global_names(function):
    """name -> dotted name of the modules, functions and classes that ``function`` sees
    (its globals and closure), for a source without its imports."""
    import inspect
    import types

    seen = dict(getattr(function, "__globals__", None) or {})
    try:
        seen.update(inspect.getclosurevars(function).nonlocals)
    except (TypeError, ValueError):
        pass
    found = {}
    for key, value in seen.items():
        if isinstance(value, types.ModuleType):
            found[key] = value.__name__
        elif isinstance(value, (types.FunctionType, type)) and isinstance(getattr(value, "__module__", None), str):
            found[key] = f"{value.__module__}.{value.__qualname__}"
    return found


def check_rule(function, forbidden, rule, quiet=False):
    """Check that the source of ``function`` (an answer) uses nothing that its exercise rule forbids.

    The source is the submitted answer cell (``function.__answer_source__``, set by the
    grader) or else ``inspect.getsource(function)``. ``forbidden`` holds dotted names (a
    module forbids all of it); ``rule`` is the sentence the student reads. While grading,
    the forbidden functions do not exist in the student's kernel either; this check says
    so early, with the line that uses one.
    """
    import inspect

    name = getattr(function, "__name__", None) or "your answer"
    source = getattr(function, "__answer_source__", None)
    if not isinstance(source, str):
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            source = None
    namespace = None
    if not isinstance(getattr(function, "__answer_source__", None), str):
        namespace = _global_names(function)
    if source is None:
        _ok(f"{name}: source not available, its rule is checked while grading ({rule})", quiet)
        return
    try:
        found = rule_violations(source, forbidden, namespace)
    except SyntaxError:
        _ok(f"{name}: source not readable, its rule is checked while grading ({rule})", quiet)
        return
    if found:
        lines = [f"{name} breaks the rule of this exercise: {rule}",
                 "  found: " + ", ".join(f"{dotted} (line {line})" for line, dotted in found),
                 "  not allowed in this answer: " + ", ".join(forbidden),
                 "  while grading these do not exist in your kernel, so the answer would fail there"]
        raise CheckFailure("\n".join(lines))
    _ok(f"{name} uses nothing its rule forbids ({rule})", quiet)
