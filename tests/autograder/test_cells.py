"""nbgrader cell kinds and the answer names the checker takes (autograder/cells.py)."""

import nbformat
import pytest
from support import REPO

from autograder import cells
from autograder.execute import Plan, mark_hidden

ASSIGNMENTS = ("hog_features", "parameter_counting", "conv_backprop", "lenet_training")


def cell(source, cell_type="code", **nbgrader):
    made = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = nbgrader
    return made


def test_defined_names_are_functions_classes_and_assignments_not_imports():
    source = (
        "import numpy as np\nfrom cnnlib import nn\n%matplotlib inline\n"
        "def f(x):\n    inner = 1\n    return x\n"
        "class Model: pass\n"
        "A = 1\nB, (C, *D) = 1, (2, 3)\nE: int = 5\nA += 1\n"
        "for loop_variable in range(3): pass\n"
        "if True:\n    hidden_in_block = 1\n"
    )
    assert cells.defined_names(source) == ["f", "Model", "A", "B", "C", "D", "E"]
    assert cells.defined_names("def broken(:\n") == []


def test_answer_names_of_the_four_assignments():
    found = {name: cells.answer_names(nbformat.read(REPO / "assignments" / name / f"{name}.ipynb", as_version=4))
             for name in ASSIGNMENTS}
    assert found["conv_backprop"] == {name: [name] for name in (
        "conv_forward_naive", "conv_backward_example", "conv_backward_naive", "conv_gradient_check",
        "maxpool_forward_naive", "maxpool_backward_naive")}
    assert found["lenet_training"] == {"build_lenet5": ["build_lenet5"], "train_step": ["train_step"]}
    assert found["parameter_counting"]["S2_C3_WEIGHTS"] == ["S2_C3_WEIGHTS"]
    assert found["hog_features"]["digit_features"] == ["digit_features"]
    every = [name for names in found.values() for ids in names.values() for name in ids]
    # no helper of the instructor's cells (checks, numpy, setup helpers) is ever taken from the student
    assert not {"np", "check_true", "check_equal", "as_shape", "is_whole_number", "max", "all"} & set(every)


def test_checker_cells_leave_the_student_only_cells_out():
    notebook = nbformat.v4.new_notebook(cells=[
        cell("import math", grade_id="imports", locked=True, grade=False, solution=False),
        cell("def add(a, b):\n    return a + b", grade_id="add", solution=True, grade=False, locked=False),
        cell("assert add(1, 2) == 3", grade_id="test_add", grade=True, solution=False, locked=True, points=1),
        cell("total = add(2, 3)", grade_id="uses_answer", locked=True, grade=False, solution=False),
        cell("print(total)", grade_id="uses_what_a_student_cell_made", locked=True, grade=False, solution=False),
        cell("DATA = [1, 2]", grade_id="data", locked=True, grade=False, solution=False),
        cell("x = 1"),  # not read-only: the student may have written anything there
        cell("SPECIAL = add", grade_id="marked", locked=True, grade=False, solution=False),
    ])
    notebook.cells[-1].metadata["autograder"] = {"checker": True}
    chosen = [cells.grade_id(c) for c in cells.checker_cells(notebook)]
    assert chosen == ["imports", "data", "marked"]
    assert cells.is_test(notebook.cells[2]) and cells.is_answer(notebook.cells[1])
    assert not cells.is_test(cell("x", cell_type="markdown", grade=True, solution=False))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_checker_plan_of_each_assignment(assignment):
    source = nbformat.read(REPO / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    plan = Plan(source, source)
    assert plan.setup and plan.setup[0][0] is True  # the setup cell comes first and must work
    assert set(plan.sources) == set(plan.names)
    for name in plan.names:
        assert f"def {name}" in plan.sources[name] or f"{name} =" in plan.sources[name]
    empty = Plan(nbformat.v4.new_notebook(), source)  # no source notebook: nothing is taken
    assert empty.names == [] and empty.setup == []


def test_hidden_tests_are_marked_for_the_checker_only_at_the_marker():
    source = "check(1)\n    ### BEGIN HIDDEN TESTS\ncheck(2)\n### END HIDDEN TESTS"
    marked = mark_hidden(source)
    assert marked.splitlines()[1] == ("    __import__('autograder.checker').checker.enter_hidden()  "
                                      "### BEGIN HIDDEN TESTS")
    assert marked.splitlines()[0] == "check(1)" and marked.splitlines()[3] == "### END HIDDEN TESTS"


@pytest.mark.parametrize("value, expected", [
    (10, 10.0), (2.5, 2.5), (0, None), (-3, None), (True, None), ("10", None), (float("nan"), None),
    (float("inf"), None), (None, None),
])
def test_a_cells_own_time_limit_is_a_positive_finite_number(value, expected):
    cell = nbformat.v4.new_code_cell("pass", metadata={"autograder": {"timeout": value}})
    assert cells.time_limit(cell) == expected
    assert cells.time_limit(nbformat.v4.new_code_cell("pass", metadata={"autograder": "10"})) is None


def test_the_plan_takes_time_limits_from_the_instructors_source_only():
    def test_cell(grade_id, limit):
        return nbformat.v4.new_code_cell("assert f() == 1", metadata={
            "nbgrader": {"grade_id": grade_id, "grade": True, "solution": False, "locked": True, "points": 1},
            "autograder": {"timeout": limit}})
    source = nbformat.v4.new_notebook(cells=[test_cell("test_f", 10)])
    copy = nbformat.v4.new_notebook(cells=[test_cell("test_f", 1000), test_cell("test_g", 5)])
    assert Plan(source, copy).time_limits == {"test_f": 10.0}
    # no source (nbgrader validate of the instructor's own notebook): the notebook's limits
    assert Plan(nbformat.v4.new_notebook(), copy).time_limits == {"test_f": 1000.0, "test_g": 5.0}


@pytest.mark.parametrize("assignment, slow", [
    ("parameter_counting", set()), ("conv_backprop", {"test_conv_gradient_check"}),
    ("hog_features", {"test_digit_features"}), ("lenet_training", {"test_trained_lenet5"}),
])
def test_every_quick_test_of_the_assignments_has_a_limit_of_its_own(assignment, slow):
    from course_tools.notebooks import QUICK_TEST_SECONDS

    nb = nbformat.read(REPO / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    limits = {cells.grade_id(cell): cells.time_limit(cell) for cell in nb.cells if cells.is_test(cell)}
    assert {grade_id for grade_id, limit in limits.items() if limit is None} == slow
    assert {limit for limit in limits.values() if limit is not None} == {QUICK_TEST_SECONDS}
