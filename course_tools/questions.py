"""The kinds of question the assignments ask, as cells: a function, graded by a test cell that
checks its rule first, and a constant, whose visible test checks its type and hidden test its value.
Also the helper code their test cells share.

Every factory returns the list [answer cell, test cell] (see :mod:`course_tools.notebooks` for the
cells' nbgrader metadata), so that a builder writes ``*graded_function(...)`` in its list of cells.
"""
from __future__ import annotations

import ast
import json

from course_tools.notebooks import _text, answer, tests, with_rule_check

# The first check of a function's test cell (see with_definition_check); FUNCTION is its name.
DEFINITION_CHECK = '''\
check_true("the answer cell above defines a function FUNCTION",
           callable(globals().get("FUNCTION")),
           "no function named FUNCTION was found: did its cell run without errors, "
           "with the def line unchanged?")'''

# The body of the setup cell's library_names_used (see library_names_used_source).
_LIBRARY_NAMES_USED_BODY = '''\
    if (getattr(function, "__module__", None) or "").split(".")[0] in libraries:
        return [f"{function.__module__}.{getattr(function, '__name__', '?')}"]
    found, codes = set(), [getattr(function, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
        for name in code.co_names:
            value = function.__globals__.get(name)
            if isinstance(value, types.ModuleType):
                origin = value.__name__
            else:
                origin = getattr(value, "__module__", None) or ""
            if name in libraries or origin.split(".")[0] in libraries:
                found.add(name)
    return sorted(found)'''


def library_names_used_source(libraries, doc):
    """Source of the setup cell's ``library_names_used(function, libraries)``: the names from the
    ``libraries`` (default) that a function uses, directly or in nested code; ``doc`` is its docstring.
    The setup cell must import ``types``."""
    default = "(" + ", ".join(json.dumps(name) for name in libraries) + ")"
    return f'def library_names_used(function, libraries={default}):\n    """{doc}"""\n' + _LIBRARY_NAMES_USED_BODY


def with_definition_check(source, function):
    """Test cell ``source`` with a check that the answer cell defined ``function`` added after its
    leading imports, so that a missing function fails with a hint instead of a NameError."""
    text = _text(source)
    lines = text.split("\n")
    first = next((node for node in ast.parse(text).body if not isinstance(node, (ast.Import, ast.ImportFrom))),
                 None)
    at = len(lines) if first is None else first.lineno - 1
    check = DEFINITION_CHECK.replace("FUNCTION", function)
    return "\n".join(lines[:at] + check.split("\n") + lines[at:])


def graded_function(grade_id, points, source, test_source, rule, *, check_defined=False):
    """The answer cell of function ``grade_id`` under ``rule``, then its test cell ``test_<grade_id>``
    worth ``points`` (``test_source`` with the rule check, and with ``check_defined`` the
    :func:`with_definition_check` before it)."""
    if check_defined:
        test_source = with_definition_check(test_source, grade_id)
    return [answer(grade_id, source, rule=rule),
            tests(f"test_{grade_id}", points, with_rule_check(test_source, grade_id, rule))]


def constant_question(name, comment, solution, visible, hidden, *, write="a number", hint="your answer"):
    """A question answered by setting the constant ``name``: its answer cell (``comment``, how to
    write it: ``<write> or an expression``, then ``solution``) and its test cell worth 1 point (a
    check that ``name`` is defined, with ``hint`` for what to set, the ``visible`` checks, then
    ``hidden`` as hidden tests)."""
    answer_cell = answer(name, f"# {comment}\n# Write it as:  {name} = <{write} or an expression>\n"
                               f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION")
    test_cell = tests(f"test_{name}", 1, f'check_true("{name} is defined", "{name}" in globals(),\n'
                                         f'           "run the answer cell above; it must set {name} = <{hint}>")\n'
                                         f"{_text(visible)}\n### BEGIN HIDDEN TESTS\n{_text(hidden)}\n"
                                         "### END HIDDEN TESTS")
    return [answer_cell, test_cell]
