"""Gradescope and PrairieLearn: the exports, and their graders run as each platform runs them.

Fast tests check what an export holds. Slow tests unpack the Gradescope zip and
the PrairieLearn folder into a temporary root (AUTOGRADER_GRADESCOPE_ROOT,
AUTOGRADER_PRAIRIELEARN_ROOT), put sample submissions of parameter_counting
where the platform puts them, run the platform's script with this interpreter
(AUTOGRADER_PYTHON) and compare its results.json with each platform's
specification and with ``python -m autograder grade`` of the same notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from support import REPO

from autograder import SAMPLES_DIR
from autograder.feedback import find_leaks, notebook_lines, secret_lines
from autograder.platforms import hidden_starts, page_text, where_failed

ASSIGNMENT = "parameter_counting"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
# a student whose conv_output_shape is wrong only for 64 input channels: only a hidden test has that
HIDDEN_ONLY_MISTAKE = '''

_formula = conv_output_shape


def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    f, h, w = _formula(input_shape, out_channels, kernel_size, stride=stride, padding=padding)
    return (f, h, w + 1) if input_shape[0] == 64 else (f, h, w)
'''
GRADESCOPE_STUDENTS = ("off_by_one", "hidden_only")
PRAIRIELEARN_STUDENTS = ("reference", "off_by_one")


def leaks(result: dict, submitted: Path) -> list[str]:
    """Hidden-test lines in a results file, but for those the student wrote too (as ``grade`` checks)."""
    source = nbformat.read(REPO / "assignments" / ASSIGNMENT / NOTEBOOK, as_version=4)
    written = notebook_lines(nbformat.read(submitted, as_version=4))
    return find_leaks(json.dumps(result, ensure_ascii=False), [s for s in secret_lines(source) if s not in written])


def run(command: list, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(map(str, command)), cwd=cwd, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=1800, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stdout
    return proc


def export(fmt: str, out: Path, *extra) -> Path:
    run([sys.executable, "-m", "autograder", "export", fmt, ASSIGNMENT, "--out", out, *extra], cwd=REPO)
    return out


def make_submissions(folder: Path) -> Path:
    """The samples this file uses, one folder each, as ``grade`` reads them."""
    for student in ("reference", "off_by_one"):
        (folder / student).mkdir(parents=True)
        shutil.copy(SAMPLES_DIR / ASSIGNMENT / student / NOTEBOOK, folder / student / NOTEBOOK)
    nb = nbformat.read(SAMPLES_DIR / ASSIGNMENT / "reference" / NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "conv_output_shape")
    cell.source += HIDDEN_ONLY_MISTAKE
    (folder / "hidden_only").mkdir()
    nbformat.write(nb, folder / "hidden_only" / NOTEBOOK)
    return folder


# --- fast: what the exports hold ------------------------------------------------------

def test_gradescope_zip_holds_the_scripts_and_no_sample_solutions(tmp_path):
    archive = zipfile.ZipFile(export("gradescope", tmp_path / "autograder.zip"))
    names = set(archive.namelist())
    assert {"setup.sh", "run_autograder", f"course/assignments/{ASSIGNMENT}/{NOTEBOOK}", "course/pyproject.toml",
            "course/cnnlib/__init__.py", "course/autograder/gradescope.py"} <= names
    for name in ("setup.sh", "run_autograder"):  # unzip keeps them executable
        assert (archive.getinfo(name).external_attr >> 16) & stat.S_IXUSR
    # the sample submissions hold reference solutions; the generators hold the solutions too
    assert not [n for n in names if "/samples/" in n or n.endswith("make_notebook.py") or "__pycache__" in n]
    assert not [n for n in names if n.startswith("course/assignments/") and ASSIGNMENT not in n]
    setup = archive.read("setup.sh").decode()
    assert "bubblewrap" in setup and "[course]" in setup
    assert "--unsafe-no-sandbox" not in archive.read("run_autograder").decode()


def test_prairielearn_export_keeps_sources_out_of_the_image(tmp_path):
    out = export("prairielearn", tmp_path / "pl")
    server = out / "serverFilesCourse" / "cnnlib_course"
    script = server / f"grade_{ASSIGNMENT}.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    assert (server / "course" / "assignments" / ASSIGNMENT / NOTEBOOK).is_file()
    assert not (server / "course" / "samples").exists() and not (server / "course" / "autograder" / "samples").exists()
    options = json.loads((out / "question" / "info.json").read_text())["externalGradingOptions"]
    assert options["enabled"] is True and options["serverFilesCourse"] == ["cnnlib_course/"]
    assert options["entrypoint"] == f"/grade/serverFilesCourse/cnnlib_course/grade_{ASSIGNMENT}.sh"
    assert options["timeout"] > 600  # the notebook's own limit fits in it
    assert "--notebook-timeout 600\n" in script.read_text()
    assert "serverFilesCourse/cnnlib_course/course/assignments" in (out / ".dockerignore").read_text().splitlines()
    dockerfile = (out / "Dockerfile").read_text()
    assert "COPY serverFilesCourse/cnnlib_course/course " in dockerfile
    assert "pip uninstall -y cnnlib-course" in dockerfile  # one cnnlib only: the rules' overlay covers it
    assert f'file-names="{NOTEBOOK}"' in (out / "question" / "question.html").read_text()


def test_unknown_assignment_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", "gradescope", "no_such_homework", "--out",
                           tmp_path / "a.zip"], cwd=REPO, text=True, capture_output=True)
    assert proc.returncode == 2 and "no_such_homework" in proc.stderr
    assert not (tmp_path / "a.zip").exists()


def test_failure_position_is_read_from_the_traceback(tmp_path):
    starts = hidden_starts(REPO / "assignments" / ASSIGNMENT)
    assert starts["test_conv_output_shape"] > 1 and "explain_weight_sharing" not in starts

    def autograded(line: int) -> Path:
        cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "test_x", "grade": True}})
        cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailure", evalue="wrong", traceback=[
            "\x1b[31mCheckFailure\x1b[39m  Traceback (most recent call last)",
            f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line {line}\x1b[39m",
            "\x1b[36mFile \x1b[39m\x1b[32m/x/checks.py:155\x1b[39m, in check_equal"])]
        path = tmp_path / f"nb{line}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
        return path

    assert where_failed(autograded(5), "test_x", 10) == "visible"
    assert where_failed(autograded(12), "test_x", 10) == "hidden"
    assert where_failed(autograded(12), "test_x", 0) == "visible"  # a cell without hidden tests
    assert where_failed(autograded(12), "test_other", 10) == "unknown"
    assert where_failed(tmp_path / "missing.ipynb", "test_x", 10) == "unknown"


def test_feedback_page_becomes_text():
    page = ("<html><head><title>t</title><style>p {color: red}</style></head><body><h1>Score: 3 / 4</h1>"
            "<script>alert(1)</script><p>ok: a &lt; b</p>\n\n\n\n<pre>x = 1</pre></body></html>")
    assert page_text(page) == "Score: 3 / 4\n\nok: a < b\n\nx = 1"


# --- slow: the platforms' scripts end to end ------------------------------------------

@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    return make_submissions(tmp_path_factory.mktemp("submissions"))


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    """``python -m autograder grade`` of the same submissions: student -> its results.json entry."""
    root = tmp_path_factory.mktemp("graded")
    run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, submissions, "--out", root / "out",
         "--course", root / "course", "--workers", 2], cwd=root)
    data = json.loads((root / "out" / "results.json").read_text())
    return {s["student_id"]: s for s in data["students"]}


def gradescope_root(zip_file: Path, folder: Path, files: dict[str, Path]) -> Path:
    """A Gradescope root as the harness lays it out: source/ (the zip), submission/ (the student's files)."""
    with zipfile.ZipFile(zip_file) as archive:
        archive.extractall(folder / "source")
    (folder / "submission").mkdir()
    for name, path in files.items():
        shutil.copy(path, folder / "submission" / name)
    return folder


def run_gradescope(root: Path, **env) -> dict:
    run(["bash", root / "source" / "run_autograder"], cwd=root, env={
        "AUTOGRADER_GRADESCOPE_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, **env})
    return json.loads((root / "results" / "results.json").read_text())


def check_gradescope_format(result: dict) -> None:
    """The fields of Gradescope's results.json, as its specification defines them."""
    assert isinstance(result["score"], (int, float)) and isinstance(result["execution_time"], (int, float))
    assert result["execution_time"] >= 0 and isinstance(result["output"], str) and result["output"]
    assert isinstance(result["tests"], list)
    for test in result["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str) and test["visibility"] in VISIBILITIES
        assert ("score" in test) == ("max_score" in test)
        if "score" in test:
            assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
            assert 0 <= test["score"] <= test["max_score"]
        assert test.get("status", "passed") in {"passed", "failed"}
    assert result["score"] == pytest.approx(sum(t["score"] for t in result["tests"] if "score" in t))


@pytest.fixture(scope="module")
def gradescope_zip(tmp_path_factory):
    return export("gradescope", tmp_path_factory.mktemp("gradescope") / "autograder.zip")


@pytest.fixture(scope="module")
def gradescope_results(submissions, gradescope_zip, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradescope-roots")
    results = {}
    for student in GRADESCOPE_STUDENTS:
        # a student's upload keeps the file name it had on their machine
        name = "parameter_counting (1).ipynb" if student == "hidden_only" else NOTEBOOK
        root = gradescope_root(gradescope_zip, folder / student, {name: submissions / student / NOTEBOOK})
        results[student] = run_gradescope(root)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("student", GRADESCOPE_STUDENTS)
def test_gradescope_results_match_grade(gradescope_results, graded, submissions, student):
    result = gradescope_results[student]
    check_gradescope_format(result)
    expected = graded[student]
    assert result["score"] == pytest.approx(expected["score"])
    by_name = {t["name"]: t for t in result["tests"]}
    hidden = hidden_starts(REPO / "assignments" / ASSIGNMENT)
    for q in expected["questions"]:
        if q["score"] is None:  # graded by hand: no points here
            assert "score" not in by_name[f"{q['grade_id']} (graded by hand)"]
            continue
        test = by_name[q["grade_id"]]
        assert (test["score"], test["max_score"], test["output"]) == (q["score"], q["max_score"], q["message"])
        assert test["visibility"] == ("after_published" if hidden[q["grade_id"]] else "visible")
        assert test["status"] == ("passed" if q["score"] == q["max_score"] else "failed")
    assert "explain_weight_sharing" in result["output"]
    feedback = by_name["Feedback page"]
    assert feedback["visibility"] == "after_published" and "test_conv_output_shape" in feedback["output"]
    assert "BEGIN HIDDEN TESTS" not in json.dumps(result)
    assert leaks(result, submissions / student / NOTEBOOK) == []


@pytest.mark.slow
def test_gradescope_shows_visible_failures_now_and_hidden_ones_after_publication(gradescope_results, graded):
    results = gradescope_results
    message = graded["off_by_one"]["questions"][0]["message"]
    visible = {t["name"]: t for t in results["off_by_one"]["tests"]}["test_conv_output_shape: visible tests"]
    assert (visible["status"], visible["output"], visible["visibility"]) == ("failed", message, "visible")
    assert "score" not in visible

    tests = {t["name"]: t for t in results["hidden_only"]["tests"]}
    assert tests["test_conv_output_shape"]["score"] == 0.0  # a hidden test failed ...
    assert tests["test_conv_output_shape"]["visibility"] == "after_published"
    visible = tests["test_conv_output_shape: visible tests"]  # ... and the visible ones passed
    assert visible["status"] == "passed" and "(64, 56, 56)" not in visible["output"]
    assert "was graded as parameter_counting.ipynb" in results["hidden_only"]["output"]


SNOOPER = '''import os


def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    seen = [path for path in {paths!r} if os.path.exists(path)]
    try:
        with open({results!r}, "w") as results:
            results.write('{{"score": 100, "tests": []}}')
        written = True
    except OSError:
        written = False
    raise ValueError(f"seen={{seen}} written={{written}}")
'''


@pytest.mark.slow
def test_gradescope_student_code_sees_neither_sources_nor_results(gradescope_zip, tmp_path):
    """A submission that looks for the zip's sources and writes its own results.json, run by run_autograder."""
    root = tmp_path
    source = root / "source" / "course" / "assignments" / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(SAMPLES_DIR / ASSIGNMENT / "reference" / NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "conv_output_shape")
    cell.source = SNOOPER.format(paths=[str(source), str(root / "submission"), str(root / "results")],
                                 results=str(root / "results" / "results.json"))
    nbformat.write(nb, tmp_path / NOTEBOOK)
    result = run_gradescope(gradescope_root(gradescope_zip, root, {NOTEBOOK: tmp_path / NOTEBOOK}))
    check_gradescope_format(result)
    test = {t["name"]: t for t in result["tests"]}["test_conv_output_shape"]
    assert test["score"] == 0 and "seen=[] written=False" in test["output"], test["output"]
    assert result["score"] == 15  # the other answers are the reference's


@pytest.mark.slow
def test_gradescope_without_a_notebook_scores_zero_and_says_why(gradescope_zip, tmp_path):
    root = gradescope_root(gradescope_zip, tmp_path, {"answers.txt": Path(__file__)})
    result = run_gradescope(root)
    check_gradescope_format(result)
    assert result["score"] == 0
    assert "no notebook was submitted" in result["output"] and NOTEBOOK in result["output"]
    assert all(t["score"] == 0 for t in result["tests"] if "score" in t)


@pytest.mark.slow
def test_gradescope_without_a_sandbox_refuses_and_says_why(gradescope_zip, tmp_path, submissions):
    root = gradescope_root(gradescope_zip, tmp_path, {NOTEBOOK: submissions / "reference" / NOTEBOOK})
    result = run_gradescope(root, AUTOGRADER_SANDBOX="none")
    check_gradescope_format(result)
    assert result["score"] == 0 and result["tests"] == [] and "sandbox" in result["output"]


@pytest.mark.slow
def test_gradescope_exported_unsafe_grades_without_a_sandbox(submissions, tmp_path):
    zip_file = export("gradescope", tmp_path / "unsafe.zip", "--unsafe-no-sandbox")
    root = gradescope_root(zip_file, tmp_path / "root", {NOTEBOOK: submissions / "reference" / NOTEBOOK})
    result = run_gradescope(root, AUTOGRADER_SANDBOX="none")
    check_gradescope_format(result)
    assert result["score"] == 18 and result["extra_data"]["isolation"] == "none"


def prairielearn_root(export_dir: Path, folder: Path, files: dict[str, Path]) -> Path:
    """A PrairieLearn /grade as the grader lays it out: serverFilesCourse/, student/, data/."""
    shutil.copytree(export_dir / "serverFilesCourse" / "cnnlib_course", folder / "serverFilesCourse" / "cnnlib_course")
    (folder / "student").mkdir()
    for name, path in files.items():
        shutil.copy(path, folder / "student" / name)
    (folder / "data").mkdir()
    (folder / "data" / "data.json").write_text(json.dumps({"params": {}, "submitted_answers": {}}))
    return folder


def run_prairielearn(root: Path, **env) -> dict:
    run(["bash", root / "serverFilesCourse" / "cnnlib_course" / f"grade_{ASSIGNMENT}.sh"], cwd=root, env={
        "AUTOGRADER_PRAIRIELEARN_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, **env})
    return json.loads((root / "results" / "results.json").read_text())


def check_prairielearn_format(result: dict) -> None:
    assert isinstance(result["gradable"], bool) and isinstance(result["message"], str)
    assert isinstance(result["score"], float) and 0 <= result["score"] <= 1
    for test in result["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["message"], str)
        assert isinstance(test["points"], float) and 0 <= test["points"] <= test["max_points"]


@pytest.fixture(scope="module")
def prairielearn_export(tmp_path_factory):
    return export("prairielearn", tmp_path_factory.mktemp("prairielearn") / "pl")


@pytest.mark.slow
@pytest.mark.parametrize("student", PRAIRIELEARN_STUDENTS)
def test_prairielearn_results_match_grade(prairielearn_export, submissions, graded, student, tmp_path):
    root = prairielearn_root(prairielearn_export, tmp_path, {NOTEBOOK: submissions / student / NOTEBOOK})
    result = run_prairielearn(root)
    check_prairielearn_format(result)
    expected = graded[student]
    assert result["gradable"] is True
    assert result["score"] == pytest.approx(expected["score"] / expected["max_score"])
    autograded = [q for q in expected["questions"] if q["score"] is not None]
    assert [(t["name"], t["points"], t["max_points"], t["message"]) for t in result["tests"]] == [
        (q["grade_id"], q["score"], q["max_score"], q["message"]) for q in autograded]
    assert "explain_weight_sharing" in result["message"] and "test_conv_output_shape" in result["output"]
    assert leaks(result, submissions / student / NOTEBOOK) == []


@pytest.mark.slow
def test_prairielearn_unreadable_notebook_scores_zero_and_says_why(prairielearn_export, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    root = prairielearn_root(prairielearn_export, tmp_path / "root", {NOTEBOOK: broken})
    result = run_prairielearn(root)
    check_prairielearn_format(result)
    assert result["gradable"] is True and result["score"] == 0
    assert "not valid JSON" in result["message"]
    assert all(t["points"] == 0 for t in result["tests"])


@pytest.mark.slow
def test_prairielearn_without_a_sandbox_is_not_gradable(prairielearn_export, submissions, tmp_path):
    root = prairielearn_root(prairielearn_export, tmp_path, {NOTEBOOK: submissions / "reference" / NOTEBOOK})
    result = run_prairielearn(root, AUTOGRADER_SANDBOX="none")
    check_prairielearn_format(result)
    assert result["gradable"] is False and "sandbox" in result["message"]
