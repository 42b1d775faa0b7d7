"""What every ``assignments/<id>/make_notebook.py`` shares: nbgrader cell factories and the CLI.

Each cell factory sets the cell's ``id`` and its nbgrader ``grade_id`` to the same
name and writes the metadata nbgrader's "Create Assignment" toolbar would write:

=================  =======  ========  ======  ======
factory            grade    solution  locked  points
=================  =======  ========  ======  ======
``instructions``   no       no        yes     -
``locked_code``    no       no        yes     -
``answer``         no       yes       no      -
``tests``          yes      no        yes     yes
``written``        yes      yes       no      yes
``free_code``      (not an nbgrader cell: the student may change it)
=================  =======  ========  ======  ======

Sources are dedented and stripped of leading and trailing blank lines, so the
generators can keep them in indented triple-quoted strings.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def nbgrader_metadata(grade_id, *, grade, solution, locked, points=None):
    """The ``metadata`` of an nbgrader cell (schema version 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _text(source):
    return dedent(source).strip("\n")


def instructions(grade_id, source):
    """Read-only Markdown."""
    return new_markdown_cell(_text(source), id=grade_id,
                             metadata=nbgrader_metadata(grade_id, grade=False, solution=False, locked=True))


def locked_code(grade_id, source):
    """Read-only code the student runs but does not change (imports, data loading)."""
    return new_code_cell(_text(source), id=grade_id,
                         metadata=nbgrader_metadata(grade_id, grade=False, solution=False, locked=True))


def answer(grade_id, source, rule=None):
    """Autograded answer: code between ``### BEGIN SOLUTION`` / ``### END SOLUTION``.

    ``rule``: ``{"forbid": [dotted names], "rule": "a sentence"}``, what the answer must not
    use; written to ``metadata["autograder"]`` (grading enforces it, see autograder/rules.py).
    """
    metadata = nbgrader_metadata(grade_id, grade=False, solution=True, locked=False)
    if rule is not None:
        if set(rule) != {"forbid", "rule"} or not rule["forbid"] or not rule["rule"]:
            raise ValueError(f"{grade_id}: a rule is {{'forbid': [...], 'rule': '...'}}")
        metadata["autograder"] = {"forbid": list(rule["forbid"]), "rule": rule["rule"]}
    return new_code_cell(_text(source), id=grade_id, metadata=metadata)


def with_rule_check(source, function, rule):
    """Test cell ``source`` with ``check_rule(function, ...)`` of ``rule`` added at its top: after
    the leading comments, imports and the check that the function exists, before anything else."""
    import ast

    text = _text(source)
    import json
    import textwrap

    names = textwrap.wrap(", ".join(json.dumps(name) for name in rule["forbid"]), 100, break_on_hyphens=False)
    sentence = textwrap.wrap(rule["rule"], 96, drop_whitespace=False)
    check = ("# The rule of this exercise: what your answer must not use.\n"
             "from cnnlib.checks import check_rule\n"
             f"check_rule({function}, [\n" + "".join(f"    {line}\n" for line in names) + "], (\n"
             + "".join(f"    {json.dumps(line)}\n" for line in sentence) + "))")
    tree = ast.parse(text)
    lines = text.split("\n")
    insert_at, gap = len(lines), [""]
    for node in tree.body:
        segment = ast.get_source_segment(text, node) or ""
        if isinstance(node, (ast.Import, ast.ImportFrom)) or "callable(globals().get(" in segment:
            continue
        insert_at = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            gap = ["", ""]
        break
    before = [""] if insert_at and lines[insert_at - 1].strip() else []
    return "\n".join(lines[:insert_at] + before + check.split("\n") + gap + lines[insert_at:])


def tests(grade_id, points, source):
    """Autograder tests worth ``points`` (hidden ones between ``### BEGIN/END HIDDEN TESTS``)."""
    return new_code_cell(_text(source), id=grade_id,
                         metadata=nbgrader_metadata(grade_id, grade=True, solution=False, locked=True,
                                                    points=points))


def written(grade_id, points, source):
    """Manually graded written answer worth ``points``; ``source`` is the model answer."""
    return new_markdown_cell(_text(source), id=grade_id,
                             metadata=nbgrader_metadata(grade_id, grade=True, solution=True, locked=False,
                                                        points=points))


def free_code(cell_id, source):
    """An ordinary code cell (demos, plots, the student's own settings)."""
    return new_code_cell(_text(source), id=cell_id)


def notebook(cells):
    """A validated nbformat 4 notebook of ``cells`` with the python3 kernel."""
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb


def render(nb):
    """The notebook's text exactly as committed."""
    return nbformat.writes(nb) + "\n"


def main(build, path, description, argv=None):
    """``make_notebook.py [--check]``: write ``path`` from ``build()``, or only compare."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit with status 1 if the notebook is out of date")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = Path(path)
    text = render(build())
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path.name} is out of date: run python assignments/{path.parent.name}/make_notebook.py",
                  file=sys.stderr)
            return 1
        print(f"{path.name} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
