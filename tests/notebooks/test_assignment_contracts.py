"""The conv_backprop and lenet_training source notebooks keep the assignment contract.

Fast tests read the notebooks (and their generators and sample variants) without
running them. Slow tests execute them with nbclient as nbgrader would: the
instructor's solutions must pass every test, within the time budget. Release,
the student versions and the graded samples are covered end to end by
tests/autograder/test_release_grade_demo.py (``python -m autograder demo``).
"""
from __future__ import annotations

import ast
import importlib.util
import os
import re
import time
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output
from support import REPO, mnist_test_dir

from course_tools.notebooks import SETUP, render

ASSIGNMENTS = ("conv_backprop", "lenet_training")
REQUIRED_VARIANTS = {"reference", "untouched", "syntax_error", "exception", "missing_function", "infinite_loop"}
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(assignment: str):
    return nbformat.read(REPO / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def grade_test_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]


def without_hidden_tests(source: str) -> str:
    kept, inside = [], False
    for line in source.splitlines():
        if HIDDEN[0] in line:
            inside = True
        elif HIDDEN[1] in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


# --- fast: the files ----------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_notebook_equals_what_the_generator_writes(assignment):
    generator = load_module(REPO / "assignments" / assignment / "make_notebook.py", f"make_{assignment}")
    committed = (REPO / "assignments" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    assert committed == render(generator.build()), "run make notebooks"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_is_a_clean_nbgrader_source(assignment):
    from nbgrader.nbgraderformat import MetadataValidator

    nb = notebook(assignment)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata.kernelspec.name == "python3"
    validator = MetadataValidator()
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit notebooks without outputs"
        validator.validate_cell(cell)
        meta = nbgrader_meta(cell)
        if meta:
            assert meta["schema_version"] == 3
            assert set(meta) >= {"grade", "solution", "locked", "grade_id", "schema_version"}
            assert ("points" in meta) == bool(meta["grade"]), meta["grade_id"]
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids))
    written = [c for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("grade")
               and nbgrader_meta(c).get("solution")]
    assert written and all(nbgrader_meta(c)["points"] > 0 for c in written), "a manually graded written answer"
    setup = nb.cells[1].source
    assert setup.startswith(SETUP + "\n\n") and "\nimport cnnlib\n" in setup, "the shared setup cell, then imports"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_function_sits_alone_in_its_answer_cell_followed_by_its_tests(assignment):
    nb = notebook(assignment)
    index = {id(c): i for i, c in enumerate(nb.cells)}
    for cell in answer_cells(nb):
        meta = nbgrader_meta(cell)
        tree = ast.parse(cell.source)
        functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
        assert functions == [meta["grade_id"]], "grade_id = the one function of the cell"
        assert not meta["grade"] and not meta["locked"]
        # The def line and docstring stay outside the solution; the solution is inside.
        head, _, rest = cell.source.partition(SOLUTION[0])
        assert f"def {meta['grade_id']}(" in head and '"""' in head and SOLUTION[1] in rest
        following = nb.cells[index[id(cell)] + 1]
        fmeta = nbgrader_meta(following)
        assert fmeta.get("grade_id") == f"test_{meta['grade_id']}"
        assert fmeta["grade"] and fmeta["locked"] and not fmeta["solution"] and fmeta["points"] > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_teach_and_hide(assignment):
    for cell in grade_test_cells(notebook(assignment)):
        source = cell.source
        gid = nbgrader_meta(cell)["grade_id"]
        assert gid.startswith("test_")
        assert source.index(HIDDEN[0]) < source.index(HIDDEN[1]), gid
        assert "from cnnlib.checks import" in source, f"{gid}: use cnnlib.checks"
        assert "assert " not in source, f"{gid}: bare asserts say nothing to the student"
        if re.search(r"standard_normal|integers\(|permutation\(|\.random\(", source):
            assert re.search(r"default_rng\(\d+\)", without_hidden_tests(source)), f"{gid}: seed the visible tests"
            hidden = source[source.index(HIDDEN[0]):]
            if re.search(r"rng_hidden\.", hidden):
                assert re.search(r"rng_hidden = np\.random\.default_rng\(\d+\)", hidden), gid


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_test_lines_appear_nowhere_else(assignment):
    """The grader looks for hidden-test lines in feedback; a line that is also public would look like a leak."""
    from autograder.feedback import secret_lines

    nb = notebook(assignment)
    public = "\n".join(without_hidden_tests(c.source) for c in nb.cells)
    assert not [line for line in secret_lines(nb) if line in public]


def test_conv_backprop_covers_stride_and_padding():
    nb = notebook("conv_backprop")
    for gid in ("test_conv_forward_naive", "test_conv_backward_naive"):
        source = next(c.source for c in grade_test_cells(nb) if nbgrader_meta(c)["grade_id"] == gid)
        visible, hidden = without_hidden_tests(source), source[source.index(HIDDEN[0]):]
        for part in (visible, hidden):
            assert re.search(r"stride=[2-9]", part) and re.search(r"pad=[1-9]", part)
    assert "rtol=" in source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_variants_list_every_test_cell(assignment):
    nb = notebook(assignment)
    points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in grade_test_cells(nb)}
    answers = {nbgrader_meta(c)["grade_id"] for c in answer_cells(nb)}
    variants_file = REPO / "samples" / assignment / "variants.py"
    variants = load_module(variants_file, f"variants_{assignment}").VARIANTS
    assert REQUIRED_VARIANTS <= set(variants)
    assert variants["reference"]["expected"] == points
    assert all(v == 0 for v in variants["untouched"]["expected"].values())
    for name, variant in variants.items():
        assert set(variant["expected"]) == set(points), name
        assert all(0 <= variant["expected"][g] <= points[g] for g in points), name
        assert set(variant.get("cells", {})) <= answers, name
        assert set(variant.get("feedback", {})) <= set(points), name
        for source in variant.get("cells", {}).values():
            if name != "syntax_error":
                ast.parse(source)


def test_partial_credit_is_the_number_the_cell_displays():
    """nbgrader scores a test cell by the number it displays last (nbgrader.utils.determine_grade):
    the mechanism test_trained_lenet5 uses for its accuracy bands."""
    from nbgrader.utils import determine_grade

    cell = new_code_cell("float(points)", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_x", "points": 4, "schema_version": 3}})
    cell.outputs = [new_output("stream", name="stdout", text="accuracy 0.32 -> 1 of 4 points\n"),
                    new_output("execute_result", data={"text/plain": "1.0"}, execution_count=1)]
    assert determine_grade(cell) == (1.0, 4.0)
    cell.outputs[1] = new_output("execute_result", data={"text/plain": "4.0"}, execution_count=1)
    assert determine_grade(cell) == (4.0, 4.0)
    cell.outputs = [new_output("error", ename="CheckFailure", evalue="below the lowest band", traceback=[])]
    assert determine_grade(cell) == (0, 4.0)


def test_lenet_bands_in_the_notebook_are_the_generators():
    generator = load_module(REPO / "assignments" / "lenet_training" / "make_notebook.py", "make_lenet_bands")
    source = next(c.source for c in grade_test_cells(notebook("lenet_training"))
                  if nbgrader_meta(c)["grade_id"] == "test_trained_lenet5")
    assert f"_bands = {generator.ACCURACY_BANDS!r}" in source
    assert source.rstrip().endswith(f"float(_points)\n{HIDDEN[1]}")
    assert 'load_mnist("test", download=False)' in source and "except FileNotFoundError:" in source
    assert 'load_mnist("train-5k", download=False)' in source  # the fallback never downloads either
    assert generator.ACCURACY_BANDS[0][1] == generator.ACCURACY_POINTS
    training = next(c.source for c in notebook("lenet_training").cells if c.get("id") == "training_run")
    assert 'os.environ.get("NBGRADER_EXECUTION")' in training and "model.save(WEIGHTS_FILE)" in training
    assert "os.remove(WEIGHTS_FILE)" in training


# --- slow: run the solutions as nbgrader would ------------------------------------

def execute(assignment: str, tmp_path: Path, grading: bool, env: dict | None = None):
    """Run the source notebook in a fresh kernel; ``env`` entries set (str) or unset (None) variables."""
    from nbclient import NotebookClient

    nb = notebook(assignment)
    changes = dict(env or {})
    if grading:
        changes["NBGRADER_EXECUTION"] = "autograde"
    with mock.patch.dict(os.environ):  # the kernel inherits the changes; the whole environment comes back after
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        start = time.monotonic()
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        seconds = time.monotonic() - start
    errors = {c.get("id"): o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"
              or (o.output_type == "stream" and o.name == "stderr" and c in grade_test_cells(nb))}
    return nb, seconds, errors


@pytest.mark.slow
def test_conv_backprop_solution_passes(tmp_path):
    _, seconds, errors = execute("conv_backprop", tmp_path, grading=True)
    assert not errors
    print(f"conv_backprop solution: {seconds:.1f} s")  # speed is reported, not asserted


@pytest.mark.slow
@pytest.mark.parametrize("scored_on", ["official test set", "validation digits"])
def test_lenet_solution_earns_every_band_under_the_grading_budget(tmp_path, scored_on):
    if scored_on == "official test set":
        if mnist_test_dir() is None:
            pytest.skip("needs the MNIST test set in $CNNLIB_DATA")
        env, expected = {}, "the 10,000 digits of the official MNIST test set"
    else:
        # A grading machine without the official test set: no $CNNLIB_DATA, an empty cache.
        env = {"CNNLIB_DATA": None, "CNNLIB_CACHE_DIR": str(tmp_path / "empty-cache")}
        expected = "the 500 held-out validation digits"
    nb, seconds, errors = execute("lenet_training", tmp_path, grading=True, env=env)
    assert not errors
    cell = next(c for c in nb.cells if c.get("id") == "test_trained_lenet5")
    shown = [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"]
    assert shown == ["4.0"]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    match = re.search(r"accuracy on (.*): (0\.\d+) -> 4 of 4 points", printed)
    assert match and match.group(1).startswith(expected), printed
    assert float(match.group(2)) > 0.85
    assert (tmp_path / "lenet5_weights.npz").exists()
    print(f"lenet_training solution under the grading budget: {seconds:.1f} s")
