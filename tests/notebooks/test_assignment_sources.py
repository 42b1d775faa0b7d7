"""The nbgrader source notebooks of the assignments: generated, well-formed, solvable.

Fast tests check each source notebook against its generator and the assignment
contract (docs: DESIGN.md, "Assignment contract"): answer cells named after
what they define, each followed by its ``test_<name>`` cell, no outputs, stubs
that still define the functions. Slow tests run the solution notebook.
"""
from __future__ import annotations

import ast
import copy
import subprocess
import sys
import time

import nbformat
import pytest
from support import REPO

from course_tools.notebooks import SETUP

ASSIGNMENTS = REPO / "assignments"

# Assignment id -> the functions and the constants its students write.
CONTRACT = {
    "hog_features": {
        "functions": ["image_gradients", "cell_histograms", "normalize_blocks", "hog_features", "digit_features"],
        "constants": ["DALAL_TRIGGS_LENGTH", "MNIST_HOG_LENGTH"],
    },
    "parameter_counting": {
        "functions": ["conv_output_shape", "pool_output_shape", "conv_param_count", "linear_param_count"],
        "constants": ["S2_C3_WEIGHTS", "LENET5_MODERN_PARAMS", "FC_200_PARAMS", "CONV_100_PARAMS",
                      "LOGREG_MNIST_PARAMS", "ALEXNET_CONV1_SHAPE", "ALEXNET_CONV1_PARAMS",
                      "ALEXNET_POOL1_SHAPE", "ALEXNET_FC6_PARAMS"],
    },
}


def source_notebook(assignment):
    return nbformat.read(ASSIGNMENTS / assignment / f"{assignment}.ipynb", as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def python_source(cell):
    """Cell source as plain Python (IPython magics such as %pip turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell.source)


def student_version(nb):
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = copy.deepcopy(nb)
    for preprocessor in (ClearSolutions, ClearHiddenTests):
        nb, _ = preprocessor().preprocess(nb, {})
    return nb


def check_generated(assignment):
    script = ASSIGNMENTS / assignment / "make_notebook.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def check_structure(assignment):
    nb = source_notebook(assignment)
    contract = CONTRACT[assignment]
    assert nb.metadata.kernelspec.name == "python3"
    nbformat.validate(nb)
    cells = nb.cells
    ids = [nbgrader_meta(c).get("grade_id") for c in cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"

    first_code = next(c for c in cells if c.cell_type == "code")
    assert nbgrader_meta(first_code).get("locked") and nbgrader_meta(first_code).get("grade_id") == "setup"
    assert first_code.source.startswith(SETUP + "\n\n") and "\nimport cnnlib\n" in first_code.source

    answers = {}
    for index, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, "committed without outputs"
        if not meta:
            continue
        assert meta["schema_version"] == 3
        if meta["solution"] and not meta["grade"]:               # autograded answer
            assert cell.cell_type == "code" and not meta["locked"]
            answers[meta["grade_id"]] = cell
            follower = nbgrader_meta(cells[index + 1])
            assert follower.get("grade_id") == f"test_{meta['grade_id']}", meta["grade_id"]
            assert follower["grade"] and not follower["solution"] and follower["locked"]
            assert follower["points"] > 0
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        elif meta["grade"] and not meta["solution"]:             # autograder tests
            assert cell.cell_type == "code" and meta["locked"]
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']} has no hidden tests"
            assert "check_" in cell.source, f"{meta['grade_id']} should use cnnlib.checks"
        elif meta["grade"] and meta["solution"]:                 # written answer, graded by hand
            assert cell.cell_type == "markdown" and meta["points"] > 0
        else:
            assert meta["locked"], f"{meta['grade_id']}: instructions are read-only"
    assert set(answers) == set(contract["functions"]) | set(contract["constants"])
    assert any(nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution") for c in cells), \
        "at least one answer is graded by hand"

    # Each function's def line and docstring stay outside the solution, so the
    # released stub still defines the function (and raises NotImplementedError).
    released = {nbgrader_meta(c).get("grade_id"): c for c in student_version(nb).cells}
    for name in contract["functions"]:
        tree = ast.parse(python_source(released[name]))
        defined = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
        assert defined and ast.get_docstring(defined[0]), f"the stub of {name} lost its def line or docstring"
    for cell in student_version(nb).cells:
        if cell.cell_type == "code":
            compile(python_source(cell), nbgrader_meta(cell).get("grade_id", "cell"), "exec")


def execute(assignment):
    from nbclient import NotebookClient

    nb = source_notebook(assignment)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return time.perf_counter() - start


@pytest.mark.parametrize("assignment", CONTRACT)
def test_notebook_is_generated(assignment):
    check_generated(assignment)


@pytest.mark.parametrize("assignment", CONTRACT)
def test_notebook_follows_the_contract(assignment):
    check_structure(assignment)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", CONTRACT)
def test_solution_runs(assignment):
    seconds = execute(assignment)  # raises CellExecutionError if a cell fails
    print(f"{assignment} solution: {seconds:.1f} s")  # speed is reported, not asserted
