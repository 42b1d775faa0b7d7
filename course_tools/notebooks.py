"""The one builder of the course's notebooks, and the setup cell they all start with.

Every notebook is written, without outputs, from a Python source that defines ``build()``:

====================================  ====================================
source                                notebook
====================================  ====================================
``lectures/src/NN_topic.py``          ``lectures/NN_topic.ipynb``
``assignments/<id>/make_notebook.py`` ``assignments/<id>/<id>.ipynb`` (nbgrader source)
====================================  ====================================

This package is installed with the distribution (``pip install -e .``), so the sources
import it without ``sys.path`` edits; it is not library code, hence not in ``cnnlib``.

Commands (``make notebooks`` runs the first)::

    python -m course_tools.notebooks                  # rebuild every notebook
    python -m course_tools.notebooks --check          # exit 1 if a notebook differs from a fresh build
    python lectures/src/03_backprop.py [--check]      # one notebook (same for make_notebook.py)

A build is deterministic (stable cell ids, sorted keys), so a committed notebook
equals a fresh build byte for byte; ``tests/notebooks/test_notebook_builder.py`` checks it.

Why Python builders and not jupytext's percent format
-----------------------------------------------------
Instructors know percent files (``# %%`` cells that open as notebooks), and the
lectures would read well that way. We keep Python sources because

- the assignments compute cells: one ``RULE_*`` constant writes both an answer
  cell's ``autograder`` metadata and the check at the top of its test cell
  (:func:`with_rule_check`); test cells are assembled from shared constants
  (accuracy bands, grading budgets) that other tests import; a percent file
  would hold copies that drift apart;
- nbgrader's cell metadata (grade, solution, locked, points, ``grade_id`` =
  cell id) comes from one factory per cell kind here, instead of a JSON
  fragment on every ``# %%`` line that a typo silently breaks;
- a lecture can compute its text from cnnlib (the vision-task table of lecture
  1 is ``cnnlib.widgets.history.VISION_TASKS``), so text and widgets agree;
- no new dependency, and no jupytext metadata or version in the notebooks.

An instructor who prefers editing in Jupyter can still open a ``.ipynb`` as a
percent file with jupytext to experiment, then carry the change into its source.

Cell factories
--------------
Lectures: :func:`md`, :func:`code` and :func:`exercise_answer` (a model answer
in a collapsed ``<details>`` block); :func:`lecture_notebook` numbers the cell
ids after the file (``03-00``, ``03-01``, ...).

Assignments: each factory sets the cell's ``id`` and its nbgrader ``grade_id``
to the same name and writes the metadata nbgrader's "Create Assignment" toolbar
would write; :func:`notebook` assembles them.

=================  =======  ========  ======  ======
factory            grade    solution  locked  points
=================  =======  ========  ======  ======
``setup_cell``     no       no        yes     -
``instructions``   no       no        yes     -
``locked_code``    no       no        yes     -
``answer``         no       yes       no      -
``tests``          yes      no        yes     yes
``written``        yes      yes       no      yes
``free_code``      (not an nbgrader cell: the student may change it)
=================  =======  ========  ======  ======

``setup_cell`` writes the cell ``setup``: :data:`SETUP`, then the assignment's imports and test
helpers (the grader runs it in the checker's kernel too).
:func:`assignment_notebook` puts the ``intro`` instructions and the setup cell first;
:mod:`course_tools.questions` pairs answer and test cells into questions.

Sources are dedented and stripped of surrounding blank lines and spaces, so the
builders can keep them in indented triple-quoted strings.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cells as nbcells

REPO = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# A quick test cell's own time limit while graded: every such test of the four assignments took
# at most 0.6 s on a busy 2-core machine, so 10 s leaves room for slow loops (benchmarks/NOTES.md).
QUICK_TEST_SECONDS = 10

# The first code cell of every lecture and every assignment, word for word (an assignment's
# setup cell goes on with its imports and test helpers). In Colab it installs the same
# environment as `pip install '.[course]'` on the course server, and turns on the widget manager
# that ipywidgets needs there; elsewhere cnnlib is already importable. No %matplotlib line:
# ipykernel and Colab draw inline by default, and the magic would import pyplot in every kernel
# (the grader starts two per submission).
SETUP = '''\
# Setup: in JupyterLab cnnlib is already installed; in Google Colab this cell installs it.
# Instructors: point COURSE_GIT_URL at the course's repository.
COURSE_GIT_URL = "git+https://github.com/OWNER/cnn-course"
import importlib.util, sys
if importlib.util.find_spec("cnnlib") is None:
    %pip install --quiet "cnnlib-course[course] @ {COURSE_GIT_URL}"
    importlib.invalidate_caches()
if "google.colab" in sys.modules:
    from google.colab import output
    output.enable_custom_widget_manager()'''


def _text(source):
    return textwrap.dedent(source).strip()


# --- lecture cells -------------------------------------------------------------------------

def md(text):
    """A Markdown cell."""
    return new_markdown_cell(_text(text))


def code(text):
    """A code cell."""
    return new_code_cell(_text(text))


def exercise_answer(text):
    """An exercise's model answer, hidden in a collapsible block."""
    body = _text(text)
    return md(f"<details><summary>Answer</summary>\n\n{body}\n\n</details>")


def lecture_notebook(source, cells):
    """The notebook of lecture ``source`` (its builder's path): ``cells`` with stable ids ``NN-kk``."""
    nb = notebook(cells)
    prefix = Path(source).stem[:2]
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"{prefix}-{k:02d}"
    return nb


# --- nbgrader cells ------------------------------------------------------------------------

def nbgrader_metadata(grade_id, *, grade, solution, locked, points=None):
    """The ``metadata`` of an nbgrader cell (schema version 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def instructions(grade_id, source):
    """Read-only Markdown."""
    return new_markdown_cell(_text(source), id=grade_id,
                             metadata=nbgrader_metadata(grade_id, grade=False, solution=False, locked=True))


def locked_code(grade_id, source):
    """Read-only code the student runs but does not change (imports, data loading)."""
    return new_code_cell(_text(source), id=grade_id,
                         metadata=nbgrader_metadata(grade_id, grade=False, solution=False, locked=True))


def setup_cell(source):
    """The read-only ``setup`` cell of an assignment: :data:`SETUP`, then ``source`` (its imports and
    test helpers). The grader runs it in the checker as well as in the student's kernel."""
    return locked_code("setup", SETUP + "\n\n" + _text(source))


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
    text = _text(source)
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


# --- notebooks -----------------------------------------------------------------------------

def notebook(cells):
    """A validated nbformat 4 notebook of ``cells`` with the python3 kernel."""
    nb = new_notebook(cells=list(cells))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb


def assignment_notebook(intro, setup_source, cells, *, test_time_limit=None, slow_tests=()):
    """An assignment: the instructions ``intro``, the :func:`setup_cell` of ``setup_source``, then ``cells``.

    ``test_time_limit``: seconds every test cell but those named in ``slow_tests`` may run while
    graded, written to ``metadata["autograder"]["timeout"]`` (autograder/execute.py enforces it;
    it can only shorten the course's cell limit). A quick test then gives up on a function that
    never returns after these seconds instead of the course's 30.
    """
    cells = list(cells)
    test_cells = [cell for cell in cells if nbcells.is_test(cell)]
    unknown = set(slow_tests) - {nbcells.grade_id(cell) for cell in test_cells}
    if unknown:
        raise ValueError(f"slow_tests names no test cell: {sorted(unknown)}")
    if test_time_limit is not None:
        for cell in test_cells:
            if nbcells.grade_id(cell) not in slow_tests:
                cell.metadata.setdefault("autograder", {})["timeout"] = test_time_limit
    return notebook([instructions("intro", intro), setup_cell(setup_source), *cells])


def render(nb):
    """The notebook's text exactly as committed."""
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def target(source):
    """The notebook a source writes: ``lectures/src/X.py`` -> ``lectures/X.ipynb``,
    ``assignments/<id>/make_notebook.py`` -> ``assignments/<id>/<id>.ipynb``."""
    source = Path(source).resolve()
    if source.parent.name == "src" and source.parent.parent.name == "lectures":
        return source.parents[1] / f"{source.stem}.ipynb"
    if source.name == "make_notebook.py":
        return source.parent / f"{source.parent.name}.ipynb"
    raise ValueError(f"{source} is not a notebook source (lectures/src/NN_topic.py or "
                     "assignments/<id>/make_notebook.py)")


def sources(repo=REPO):
    """Every notebook source of the repository, lectures first (in teaching order)."""
    repo = Path(repo)
    found = sorted((repo / "lectures" / "src").glob("[0-9][0-9]_*.py"))
    found += sorted((repo / "assignments").glob("*/make_notebook.py"))
    if not found:
        raise FileNotFoundError(f"no notebook sources under {repo}: run this in a checkout of the course")
    return found


def load(source):
    """The source's module (run once, under a name of its own, not ``__main__``)."""
    source = Path(source).resolve()
    name = f"_course_notebook_{source.parent.name}_{source.stem}"
    spec = importlib.util.spec_from_file_location(name, source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_text(source):
    """The notebook text that ``source`` builds now."""
    return render(load(source).build())


def out_of_date(source, text=None):
    """True if the committed notebook of ``source`` differs from ``text`` (default: a fresh build)."""
    path = target(source)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    return current != (fresh_text(source) if text is None else text)


def _run(pairs, check):
    """Write (or with ``check`` only compare) each ``(source, build function)``; the exit status."""
    changed = []
    for source, make in pairs:
        path, text = target(source), render(make())
        if out_of_date(source, text):
            changed.append(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and changed:
        print("out of date (run make notebooks): " + ", ".join(map(str, changed)), file=sys.stderr)
        return 1
    print(f"{len(pairs)} notebook(s): " + (f"wrote {', '.join(map(str, changed))}" if changed else "up to date"))
    return 0


def _parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit with status 1 if a notebook differs from a fresh build")
    return parser


def main(source, build_function, argv=None):
    """What a source runs as a script: ``python SOURCE [--check]``."""
    args = _parser(f"Build {target(source).name} from {Path(source).name}.").parse_args(argv)
    return _run([(source, build_function)], args.check)


def build_all(argv=None):
    """``python -m course_tools.notebooks [--check] [SOURCE...]``: every notebook by default."""
    parser = _parser("Build every lecture and assignment notebook from its Python source.")
    parser.add_argument("source", nargs="*", type=Path, help="only these sources (default: all)")
    args = parser.parse_args(argv)
    chosen = [path.resolve() for path in args.source] or sources()
    return _run([(source, load(source).build) for source in chosen], args.check)


if __name__ == "__main__":
    sys.exit(build_all())
