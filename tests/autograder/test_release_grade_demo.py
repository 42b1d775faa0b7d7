"""The autograder: release, grade, feedback, samples, demo.

Fast tests check the pieces without running nbgrader. Slow tests run the real
commands end to end: first on a tiny test assignment
(tests/fixtures/assignments/tiny_functions, a few seconds per notebook), then,
when they exist, on the course's assignments and their sample submissions
(graded once per session and checked many ways). Everything is written under
pytest's temporary folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from support import (
    FIXTURES,
    REPO,
    assert_nothing_leaks,
    header,
    processes_left,
    questions_by_student,
    read_csv,
    run_cli,
)

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR
from autograder import samples as samples_module
from autograder.course import find_assignments
from autograder.demo import compare_with_manifest, gradebook_table
from autograder.feedback import (
    ReduceTracebacks,
    find_leaks,
    hidden_test_lines,
    notice_html,
    secret_lines,
    solution_lines,
    solution_only_lines,
)
from autograder.grading import Batch, GradedCell, Question, StudentResult, cell_remarks, read_notebook
from autograder.release import validator_blocks

FIXTURE_ASSIGNMENTS = FIXTURES / "assignments"
FIXTURE = "tiny_functions"
CELL_TIMEOUT = "5"  # s: the fixture's endless loop runs out of time quickly


# --- fast: the pieces ---------------------------------------------------------------

def test_hidden_and_solution_lines_are_found():
    source = "x = 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n\n### END HIDDEN TESTS\nprint(x)"
    assert hidden_test_lines(source) == ["assert f(2) == 4"]
    assert solution_lines("def f():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION") == ["return 2"]
    # a hidden line that students also see elsewhere is no secret
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("expected = reference_value(x)\n### BEGIN HIDDEN TESTS\n"
                                  "expected = reference_value(x)\nassert secret_check(x) == expected\n"
                                  "### END HIDDEN TESTS"),
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return secret_formula(x)\n"
                                  "    ### END SOLUTION")])
    assert secret_lines(nb) == ["assert secret_check(x) == expected"]
    assert solution_only_lines(nb) == ["return secret_formula(x)"]


def test_find_leaks_sees_through_syntax_highlighting():
    secret = 'assert add(-40, 45) == 5, "negative numbers"'
    html = ('<span class="k">assert</span> <span class="n">add</span><span class="p">(</span>'
            '<span class="o">-</span><span class="mi">40</span><span class="p">,</span> <span class="mi">45</span>'
            '<span class="p">)</span> <span class="o">==</span> <span class="mi">5</span><span class="p">,</span> '
            '<span class="s2">&quot;negative numbers&quot;</span>')
    assert find_leaks(html, [secret]) == [secret]
    assert find_leaks("<p>nothing here</p>", [secret]) == []


def test_tracebacks_are_reduced_to_the_error_line():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert f(3) == 9  # hidden")])
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="f(3) should be 9",
        traceback=["----> 1 assert f(3) == 9  # hidden", "AssertionError: f(3) should be 9"])]
    nb, _ = ReduceTracebacks().preprocess(nb, {})
    assert nb.cells[0].outputs[0].traceback == ["AssertionError: f(3) should be 9"]


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe\x00", "not text"),
    (b'{"hello": 1}', "not a Jupyter notebook"),
])
def test_unreadable_notebooks_are_explained(tmp_path, content, words):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    notebook, problem = read_notebook(path)
    assert notebook is None and words in problem


def test_deleted_and_duplicated_cells_are_remarked():
    def cell(grade_id):
        return nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": grade_id}})

    nb = nbformat.v4.new_notebook(cells=[cell("f"), cell("f"), cell("test_g")])
    cells = [GradedCell("nb", "test_f", 1, True, ("f",)), GradedCell("nb", "test_g", 1, True, ("g",))]
    remarks = cell_remarks(nb, cells)
    assert "deleted" in remarks["test_f"] and "'f' appears 2 times" in remarks["test_f"]
    assert "answer cell 'g' was deleted" in remarks["test_g"]



def test_changed_test_cells_are_remarked():
    def test_cell(source, points=1, cell_type="code"):
        meta = {"nbgrader": {"grade_id": "test_f", "grade": True, "points": points}}
        make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
        return make(source, metadata=meta)

    released = "check_equal('f(1)', f(1), 2)\n"
    cells = [GradedCell("nb", "test_f", 1, True, ("f",), released)]
    answer = nbformat.v4.new_code_cell("def f(x): return 2", metadata={"nbgrader": {"grade_id": "f"}})

    def remarks(cell):
        return cell_remarks(nbformat.v4.new_notebook(cells=[answer, cell]), cells).get("test_f", "")

    assert remarks(test_cell(released + "\n  ")) == ""  # trailing blanks are not a change
    assert "was changed in the submission" in remarks(test_cell("print('ok')"))
    assert "turned into a markdown cell" in remarks(test_cell(released, cell_type="markdown"))
    assert "points were changed to 100" in remarks(test_cell(released, points=100))

def test_validate_output_is_read_cell_by_cell():
    bar = "=" * 200
    output = (f"[ValidateApp | INFO] Validating 'x.ipynb'\nVALIDATION FAILED ON 1 CELL(S)!\n{bar}\n"
              "The following cell failed:\n\n    assert f(1) == 2\n\nThe error was:\n\n"
              "    ------\n    AssertionError    Traceback\n    ----> 1 assert f(1) == 2\n\n"
              "    AssertionError: f(1) should be 2\n\n")
    assert list(validator_blocks(output)) == [("failed", "    assert f(1) == 2", "AssertionError: f(1) should be 2")]


def test_last_error_skips_nbgrader_generic_lines():
    from autograder.release import last_error

    log = ("    RuntimeError: Kernel didn't respond in 60 seconds\n"
           "[AutogradeApp | ERROR] There was an error processing assignment 'a' for student 'b'\n"
           "[AutogradeApp | ERROR] Please see the the above traceback for details on the specific errors\n")
    assert last_error(log) == "RuntimeError: Kernel didn't respond in 60 seconds"
    log = ("zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:51234')\n"
           "[ValidateApp | ERROR] nbgrader encountered a fatal error while trying to validate 'x.ipynb'\n")
    assert last_error(log).startswith("zmq.error.ZMQError: Address already in use")


def test_feedback_summary_names_each_question():
    from autograder.feedback import name_questions

    page = ('<h4>hw (Score: 5.0 / 6.0)</h4>\n<li><a href="#test_add">Test cell</a> (Score: 2.0 / 2.0)</li>\n'
            '<li><a href="#essay">Written response</a> (Score: 0.0 / 1.0)</li>')
    named = name_questions(page, 2.0, 2.0, {"essay"})
    assert "<h4>hw (Score: 2 / 2; written answers are graded later)</h4>" in named
    assert 'Test cell <code>test_add</code></a> (Score: 2 / 2)' in named
    assert 'Written response <code>essay</code></a> (not graded yet, up to 1)' in named
    remarked = name_questions(page, 2.0, 2.0, set(), {"test_add": "this test cell was changed <here>"})
    assert "(Score: 2 / 2) <strong" in remarked
    assert "Note from the grader: this test cell was changed &lt;here&gt;" in remarked


def test_notice_page_lists_every_question():
    page = notice_html("a / nb", "no nb.ipynb in the submission", [
        {"grade_id": "test_f", "score": "0", "max_score": "2", "message": "no <nb>"},
        {"grade_id": "essay", "score": "", "max_score": "1", "message": "needs manual grading"}])
    assert "Score: 0 / 2" in page and "no &lt;nb&gt;" in page and "essay" in page


def test_manifest_comparison_names_every_mismatch():
    result = StudentResult("ann", [Question("ann", "test_f", 1.0, 2.0, "AssertionError: off by one"),
                                   Question("ann", "essay", None, 1.0, "needs manual grading")])
    batch = Batch("hw", Path("."), Path("."), [result])
    manifest = {"students": {"ann": {"expected": {"test_f": 2}, "feedback": {"test_f": "padding"}},
                             "bob": {"expected": {"test_f": 0}}}}
    problems = compare_with_manifest(batch, manifest)
    assert any("ann/test_f: expected 2, got 1" in p for p in problems)
    assert any("'padding'" in p for p in problems)
    assert any("bob: in the manifest" in p for p in problems)
    assert "1/2" in gradebook_table([batch])


# --- fast: the sample builder -------------------------------------------------

@pytest.fixture
def fixture_samples_dir(tmp_path):
    samples = tmp_path / "samples"
    shutil.copytree(FIXTURES / "samples" / FIXTURE, samples / FIXTURE)
    return samples


def test_samples_are_built_deterministically(fixture_samples_dir, tmp_path):
    args = ["--samples", str(fixture_samples_dir), "--assignments", str(FIXTURE_ASSIGNMENTS)]
    assert samples_module.main(["build", FIXTURE, *args]) == 0
    folder = fixture_samples_dir / FIXTURE
    first = {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert samples_module.main(["build", FIXTURE, *args]) == 0
    assert first == {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert samples_module.main(["check", FIXTURE, *args]) == 0

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["points"] == {"test_add": 2, "test_mean_of": 3}
    assert manifest["students"]["reference"]["score"] == 5
    reference = nbformat.read(folder / "reference" / f"{FIXTURE}.ipynb", as_version=4)
    untouched = nbformat.read(folder / "untouched" / f"{FIXTURE}.ipynb", as_version=4)
    text = (folder / "reference" / f"{FIXTURE}.ipynb").read_text()
    assert "return a + b" in text and "BEGIN SOLUTION" not in text and "HIDDEN" not in text
    assert "raise NotImplementedError()" in untouched.cells[2].source
    assert all(not cell.get("outputs") for nb in (reference, untouched) for cell in nb.cells)
    assert (folder / "no_notebook" / "note.txt").exists() and not (folder / "no_notebook" / f"{FIXTURE}.ipynb").exists()
    assert not (folder / "__pycache__").exists()

    (folder / "reference" / f"{FIXTURE}.ipynb").write_text(text.replace("a + b", "b + a"))
    assert samples_module.main(["check", FIXTURE, *args]) == 1


def test_variants_must_list_every_test_cell(fixture_samples_dir):
    variants = fixture_samples_dir / FIXTURE / "variants.py"
    variants.write_text(variants.read_text() + '\nVARIANTS["bad"] = {"expected": {"test_add": 2}}\n')
    with pytest.raises(samples_module.SampleError, match="missing.*test_mean_of"):
        samples_module.build_assignment(FIXTURE, fixture_samples_dir, FIXTURE_ASSIGNMENTS)


def test_committed_samples_are_up_to_date():
    assignments = samples_module.assignments_with_variants()
    if not assignments:
        pytest.skip("no assignment has sample variants yet")
    stale = {a: samples_module.stale_files(a) for a in assignments}
    assert not any(stale.values()), f"{stale}: run python -m autograder.samples build"


# --- grading workers (autograder.worker) -----------------------------------------

def is_worker(pid: int) -> bool:
    try:
        return b"autograder.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_a_worker_past_its_backstop_is_killed_and_replaced():
    import time

    from autograder import worker

    first, _ = worker.call(os.getpid)
    with pytest.raises(worker.WorkerLost, match="longer than 1 s"):
        worker.call(time.sleep, 60, wall_time=1)  # the idle worker takes it
    assert not is_worker(first)
    with pytest.raises(worker.WorkerLost, match="died"):
        worker.call(os._exit, 3)
    again, _ = worker.call(os.getpid)  # the next job gets a fresh worker
    assert again != first and is_worker(again)
    worker.POOL.close()
    assert not is_worker(again)


def test_a_worker_leaves_no_process_of_a_job_behind():
    from autograder import worker

    assert worker.call(subprocess.call, ["sh", "-c", "sleep 987654 &"])[0] == 0
    assert worker.call(os.getpid)[0]  # the worker itself survives its job's clean-up
    assert processes_left("sleep 987654") == []
    with pytest.raises(worker.WorkerLost):
        worker.call(subprocess.call, ["sh", "-c", "sleep 987655 & sleep 60"], wall_time=2)
    assert processes_left("sleep 987655") == []  # killed with the overrunning worker
    worker.POOL.close()


def test_a_killed_job_leaves_no_temporary_folder_behind(tmp_path):
    """A job killed by the backstop cannot remove its kernels' runtime folder (agr-*, its mark
    in an owner file) or its unshare sandbox's root (agsb-<mark>-*): the grader does."""
    import tempfile

    from autograder import worker
    from autograder.course import OWNER_FILE

    made = tmp_path / "made"
    # what a job's step and its sandbox make, made here by the job's own shell, which then hangs
    script = (f'tmp="${{TMPDIR:-/tmp}}"; runtime=$(mktemp -d "$tmp/agr-XXXXXXXX") && '
              f'printf %s "$AUTOGRADER_JOB" > "$runtime/{OWNER_FILE}" && mkdir "$runtime/ag-kernel" && '
              'root=$(mktemp -d "$tmp/agsb-$AUTOGRADER_JOB-XXXXXXXX") && '
              f'echo "$runtime" "$root" > {made} && sleep 60')
    other = Path(tempfile.mkdtemp(prefix="agr-"))  # another job's folder (no owner file) stays
    try:
        with pytest.raises(worker.WorkerLost):
            worker.call(subprocess.call, ["sh", "-c", script], wall_time=3)
        runtime, root = made.read_text().split()
        assert Path(runtime).name.startswith("agr-") and Path(root).name.startswith("agsb-")
        assert not Path(runtime).exists() and not Path(root).exists()
        assert other.is_dir()
        # a job that ends normally cleans up after its kernels as well
        worker.call(subprocess.call, ["sh", "-c", script.replace(" && sleep 60", "")])
        runtime, root = made.read_text().split()
        assert not Path(runtime).exists() and not Path(root).exists()
    finally:
        other.rmdir()
        worker.POOL.close()


def test_a_failing_job_is_reported_and_the_worker_goes_on():
    from autograder import worker

    with pytest.raises(RuntimeError, match="FileNotFoundError"):
        worker.call(os.listdir, "/no/such/folder")
    assert worker.call(os.getpid)[0]
    worker.POOL.close()


# --- slow: the fixture assignment end to end ---------------------------------

@pytest.fixture(scope="module")
def fixture_submissions(tmp_path_factory):
    """The fixture's samples, plus a student who renamed the notebook."""
    samples = tmp_path_factory.mktemp("samples")
    shutil.copytree(FIXTURES / "samples" / FIXTURE, samples / FIXTURE)
    assert samples_module.main(["build", FIXTURE, "--samples", str(samples),
                                "--assignments", str(FIXTURE_ASSIGNMENTS)]) == 0
    renamed = samples / FIXTURE / "renamed"
    renamed.mkdir()
    shutil.copy(samples / FIXTURE / "reference" / f"{FIXTURE}.ipynb", renamed / "my_tiny_functions.ipynb")
    return samples / FIXTURE


@pytest.mark.slow
def test_the_demo_leaves_out_an_assignment_whose_release_is_refused(fixture_submissions, tmp_path):
    # the demo grades while it releases: what it graded of a refused assignment must not count
    assignments = tmp_path / "assignments"
    shutil.copytree(FIXTURE_ASSIGNMENTS / FIXTURE, assignments / FIXTURE)
    source = assignments / FIXTURE / f"{FIXTURE}.ipynb"
    text = source.read_text()
    assert text.count("return a + b") == 1
    source.write_text(text.replace("return a + b", "return a - b"))  # the solution fails its own test
    proc = run_cli("demo", FIXTURE, "--assignments", assignments, "--samples", fixture_submissions.parent,
                   "--out", tmp_path / "out", "--course", tmp_path / "course", "--timeout", CELL_TIMEOUT,
                   "--workers", 2, cwd=tmp_path, check_rc=1)
    assert f"NOT RELEASED: {FIXTURE}" in proc.stdout and "validate source" in proc.stdout
    assert "MISMATCH" not in proc.stdout
    assert FIXTURE not in (tmp_path / "out" / "gradebook.csv").read_text()
    assert "recorded" not in proc.stdout  # nothing of it went into the course's gradebook


@pytest.fixture(scope="module")
def fixture_graded(fixture_submissions, tmp_path_factory):
    """``python -m autograder grade`` on every fixture submission, 2 workers."""
    root = tmp_path_factory.mktemp("graded")
    proc = run_cli("grade", FIXTURE, fixture_submissions, "--out", root / "out", "--course", root / "course",
                   "--assignments", FIXTURE_ASSIGNMENTS, "--timeout", CELL_TIMEOUT, "--workers", 2, cwd=root)
    return root, proc


@pytest.mark.slow
def test_fixture_grades_match_the_manifest(fixture_graded, fixture_submissions):
    root, proc = fixture_graded
    out = root / "out"
    assert header(out / "grades.csv") == ["student_id", "score", "max_score"]
    assert header(out / "questions.csv") == ["student_id", "grade_id", "score", "max_score", "message"]
    manifest = json.loads((fixture_submissions / "manifest.json").read_text())
    grades = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert set(grades) == set(manifest["students"]) | {"renamed"}
    questions = questions_by_student(out)
    for student, expected in manifest["students"].items():
        for grade_id, score in expected["expected"].items():
            assert float(questions[student][grade_id]["score"]) == score, (student, grade_id, questions[student])
        for grade_id, words in expected.get("feedback", {}).items():
            assert words.lower() in questions[student][grade_id]["message"].lower(), (student, grade_id)
        assert float(grades[student]["score"]) == expected["score"]
        assert grades[student]["max_score"] == "5"  # the manual question is not in the totals
        assert questions[student]["answer_mean"]["score"] == ""
        assert questions[student]["answer_mean"]["message"].startswith("needs manual grading")
    assert "graded 11 submission(s)" in proc.stdout
    assert re.search(r"100%\|[^\n]*\| 11/11 \[", proc.stdout), "tqdm's progress bar, on stderr"
    assert "[11/11] tiny_functions " in proc.stdout  # and the per-student lines
    # the time a notebook's cells ran comes back as data (none for a notebook that did not run)
    seconds = {s["student_id"]: s["code_seconds"] for s in json.loads((out / "results.json").read_text())["students"]}
    assert seconds["reference"] > 0 and seconds["broken_json"] == 0


@pytest.mark.slow
def test_fixture_broken_submissions_explain_themselves(fixture_graded):
    questions = questions_by_student(fixture_graded[0] / "out")
    # a timeout costs only the question whose cell ran out of time
    assert questions["endless_add"]["test_add"]["message"] == "CellTimeoutError: cell exceeded the 5 s time limit"
    assert questions["endless_add"]["test_mean_of"]["score"] == "3"
    assert "not valid JSON" in questions["broken_json"]["test_add"]["message"]
    assert "no tiny_functions.ipynb" in questions["no_notebook"]["test_mean_of"]["message"]
    renamed = questions["renamed"]["test_add"]
    assert renamed["score"] == "0" and "found my_tiny_functions.ipynb" in renamed["message"]
    assert questions["deleted_test"]["test_mean_of"]["score"] == "3"
    assert "put it back" in questions["deleted_test"]["test_mean_of"]["message"]
    # a test that kills the kernel costs only that test: the notebook is run again without it
    assert "kernel died" in questions["kernel_crash"]["test_mean_of"]["message"]
    assert questions["kernel_crash"]["test_add"]["score"] == "2"
    # messages are ename: evalue, never a traceback
    assert not any("Traceback" in row["message"] or "---->" in row["message"]
                   for rows in questions.values() for row in rows.values())


@pytest.mark.slow
def test_fixture_feedback_never_shows_hidden_tests(fixture_graded, fixture_submissions):
    out = fixture_graded[0] / "out"
    source = FIXTURE_ASSIGNMENTS / FIXTURE / f"{FIXTURE}.ipynb"
    checked = assert_nothing_leaks(out, source, fixture_submissions)
    assert checked == 11  # every student has a feedback page, broken submissions too
    page = (out / "feedback" / "mean_for_pairs" / f"{FIXTURE}.html").read_text()
    assert "the mean of a single value is that value" in page  # the failed hidden test's message
    assert "add(1, 2) should be 3" in page  # visible tests stay
    assert "no tiny_functions.ipynb" in (out / "feedback" / "no_notebook" / f"{FIXTURE}.html").read_text()


@pytest.mark.slow
def test_fixture_course_folder_is_laid_out_for_nbgrader(fixture_graded):
    course = fixture_graded[0] / "course"
    assert (course / "nbgrader_config.py").exists() and (course / "kernels" / "python3" / "kernel.json").exists()
    assert sorted(p.name for p in (course / "source" / FIXTURE).iterdir()) == ["numbers.txt", f"{FIXTURE}.ipynb"]
    kernel = json.loads((course / "kernels" / "python3" / "kernel.json").read_text())
    assert kernel["argv"][0] == sys.executable


@pytest.mark.slow
def test_one_worker_grades_like_two(fixture_graded, fixture_submissions, tmp_path):
    subset = tmp_path / "subset"
    for student in ("reference", "endless_add", "broken_json"):
        shutil.copytree(fixture_submissions / student, subset / student)
    run_cli("grade", FIXTURE, subset, "--out", tmp_path / "out", "--course", tmp_path / "course",
            "--assignments", FIXTURE_ASSIGNMENTS, "--timeout", CELL_TIMEOUT, "--workers", 1, cwd=tmp_path)
    two = [row for row in read_csv(fixture_graded[0] / "out" / "questions.csv")
           if row["student_id"] in os.listdir(subset)]
    assert read_csv(tmp_path / "out" / "questions.csv") == two


@pytest.mark.slow
def test_a_long_temporary_folder_grades_like_a_short_one(fixture_graded, fixture_submissions, tmp_path,
                                                          monkeypatch):
    """Under a TMPDIR whose path leaves no room for a kernel's Unix socket path (a cluster's
    scratch folder), the kernels' runtime folders go to a short folder: same grades."""
    subset = tmp_path / "subset"
    shutil.copytree(fixture_submissions / "reference", subset / "reference")
    long = tmp_path / ("scratch-" + "x" * 100)
    long.mkdir()
    monkeypatch.setenv("TMPDIR", str(long))
    run_cli("grade", FIXTURE, subset, "--out", tmp_path / "out", "--course", tmp_path / "course",
            "--assignments", FIXTURE_ASSIGNMENTS, "--timeout", CELL_TIMEOUT, "--workers", 1, cwd=tmp_path)
    two = [row for row in read_csv(fixture_graded[0] / "out" / "questions.csv") if row["student_id"] == "reference"]
    assert read_csv(tmp_path / "out" / "questions.csv") == two
    assert not any(long.glob("agr-*"))  # nothing was attempted there


@pytest.mark.slow
def test_release_refuses_broken_sources(tmp_path):
    """One source whose own test fails, one whose test passes without the student's code."""
    sources = tmp_path / "assignments"
    for name, old, new in [("bad_solution", "return a + b", "return a - b"),
                           ("weak_test", 'assert add(1, 2) == 3, \\"add(1, 2) should be 3\\"', "assert 1 + 2 == 3")]:
        (sources / name).mkdir(parents=True)
        text = (FIXTURE_ASSIGNMENTS / FIXTURE / f"{FIXTURE}.ipynb").read_text()
        assert old in text
        (sources / name / f"{name}.ipynb").write_text(text.replace(old, new))
        shutil.copy(FIXTURE_ASSIGNMENTS / FIXTURE / "numbers.txt", sources / name)
    proc = run_cli("release", "--assignments", sources, "--course", tmp_path / "course", "--workers", 2,
                   cwd=tmp_path, check_rc=1)
    assert "REFUSED   bad_solution" in proc.stdout and "test cell test_add fails with the solution" in proc.stdout
    assert "AssertionError: add(1, 2) should be 3" in proc.stdout
    assert "REFUSED   weak_test" in proc.stdout and "test cell test_add passes in the student version" in proc.stdout
    assert not (tmp_path / "course" / "release" / "bad_solution").exists()


# --- slow: the course's assignments and their samples ------------------------------

def real_assignments_with_samples() -> list[str]:
    return [a for a in find_assignments(ASSIGNMENTS_DIR) if (SAMPLES_DIR / a / "manifest.json").exists()]


def sample_students(assignment: str) -> list[Path]:
    return sorted(p for p in (SAMPLES_DIR / assignment).iterdir() if p.is_dir() and p.name[0] not in "._")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``python -m autograder demo``, once: releases the assignments and grades every sample."""
    assignments = real_assignments_with_samples()
    if not assignments:
        pytest.skip("no assignment with sample submissions yet")
    root = tmp_path_factory.mktemp("demo")
    # 60 s a cell: beside the other xdist worker's grading, hog_features' digit cell ran past 30 s
    proc = run_cli("demo", *assignments, "--out", root / "demo-out", "--course", root / "course",
                   "--workers", 2, "--timeout", 60, cwd=root, check_rc=None)
    return root, proc, assignments


@pytest.mark.slow
def test_demo_reproduces_every_manifest(demo_run):
    root, proc, assignments = demo_run
    assert proc.returncode == 0, proc.stdout
    assert "MISMATCH" not in proc.stdout and "REFUSED" not in proc.stdout
    assert "gradebook (autograded points)" in proc.stdout
    for assignment in assignments:
        assert f"released  {assignment}" in proc.stdout
        manifest = json.loads((SAMPLES_DIR / assignment / "manifest.json").read_text())
        out = root / "demo-out" / assignment
        assert header(out / "questions.csv") == ["student_id", "grade_id", "score", "max_score", "message"]
        questions = questions_by_student(out)
        assert set(questions) == set(manifest["students"])
        for student, expected in manifest["students"].items():
            scores = {g: float(r["score"]) for g, r in questions[student].items() if r["score"] != ""}
            assert scores == {g: float(s) for g, s in expected["expected"].items()}, (assignment, student)
            for grade_id, words in expected.get("feedback", {}).items():
                assert words.lower() in questions[student][grade_id]["message"].lower(), (assignment, student)
        grades = {r["student_id"]: r for r in read_csv(out / "grades.csv")}
        assert {s: float(r["score"]) for s, r in grades.items()} == \
            {s: float(e["score"]) for s, e in manifest["students"].items()}
        assert {r["max_score"] for r in grades.values()} == {f"{sum(manifest['points'].values()):g}"}


@pytest.mark.slow
def test_demo_feedback_never_shows_hidden_tests(demo_run):
    root, _, assignments = demo_run
    for assignment in assignments:
        source = ASSIGNMENTS_DIR / assignment / f"{assignment}.ipynb"
        checked = assert_nothing_leaks(root / "demo-out" / assignment, source, SAMPLES_DIR / assignment)
        assert checked == len(sample_students(assignment))


@pytest.mark.slow
def test_plain_nbgrader_gives_the_same_totals(demo_run):
    """In the demo's course folder (released with nbgrader generate_assignment), plain
    ``nbgrader autograde`` + ``nbgrader export`` agree with the grader's totals. Three
    submissions per assignment keep this affordable: the solution, the untouched
    student version and the first other sample. (The demo recorded every submission
    in the course already, autograder/gradebook.py: these are graded again, --force.)"""
    root, _, assignments = demo_run
    course = root / "course"
    chosen = {}
    for assignment in assignments:
        students = sample_students(assignment)
        chosen[assignment] = [s for s in students if s.name in ("reference", "untouched")]
        chosen[assignment] += [s for s in students if s not in chosen[assignment]][:1]
        for student in chosen[assignment]:
            shutil.copytree(student, course / "submitted" / student.name / assignment, dirs_exist_ok=True)
    # the demo recorded these submissions: plain nbgrader must grade them anew, or the export below
    # would show the grader's own scores even if nbgrader graded nothing
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in assignments:
            for student in chosen[assignment]:
                gradebook.remove_submission(assignment, student.name)
                shutil.rmtree(course / "autograded" / student.name / assignment)
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "AUTOGRADER"))}
    plain["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    # as in an activated venv: nbgrader runs the `alembic` executable by name
    plain["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    for assignment in assignments:  # nbgrader exits non-zero when one submission fails: that is fine
        for student in chosen[assignment]:
            subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student.name,
                            "--force"], cwd=course, env=plain, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=3000)
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "export.csv"], cwd=course, env=plain,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    for assignment in assignments:
        for student in chosen[assignment]:
            assert (course / "autograded" / student.name / assignment / f"{assignment}.ipynb").is_file(), student
    exported = {(r["assignment"], r["student_id"]): float(r["raw_score"]) for r in read_csv(course / "export.csv")}
    compared = 0
    for assignment in assignments:
        for row in read_csv(root / "demo-out" / assignment / "grades.csv"):
            if row["student_id"] in {s.name for s in chosen[assignment]}:
                assert exported[(assignment, row["student_id"])] == float(row["score"]), (assignment, row)
                compared += 1
    assert compared >= 2 * len(assignments)
