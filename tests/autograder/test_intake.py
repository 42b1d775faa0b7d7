"""Intake of hostile submission folders (autograder/intake.py).

Each test builds a submission folder in tmp_path the way a student who has read
the grader might: links to the instructor's files, special files, floods of
files, huge or deeply nested notebooks, cells of the wrong types. intake() must
return normally, name every file it left out, still take in an honest notebook
beside them, and never read anything outside the submission.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import stat
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from support import FIXTURES

from autograder import intake as intake_module
from autograder.grading import read_assignment
from autograder.intake import (
    MAX_FILES,
    MAX_JSON_DEPTH,
    MAX_NOTEBOOK_BYTES,
    MAX_TOTAL_BYTES,
    intake,
    json_depth,
    parse_notebook,
    read_notebook,
)

SOURCE_DIR = FIXTURES / "assignments" / "tiny_functions"
NB = "tiny_functions"
SECRET = "instructor-only line 7f3a9c"  # put into the "outside" files; must never reach a copy


@pytest.fixture(scope="module")
def assignment():
    return read_assignment(SOURCE_DIR)


@pytest.fixture
def source(tmp_path):
    """The instructor's source notebook (hidden tests and solutions), outside the submission."""
    folder = tmp_path / "course" / "source" / NB
    folder.mkdir(parents=True)
    nb = nbformat.read(SOURCE_DIR / f"{NB}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(SECRET))
    nbformat.write(nb, folder / f"{NB}.ipynb")
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


def honest_notebook() -> str:
    nb = nbformat.read(SOURCE_DIR / f"{NB}.ipynb", as_version=4)
    released, _ = ClearHiddenTests().preprocess(copy.deepcopy(nb), {})
    return nbformat.writes(released)


@pytest.fixture
def student(tmp_path):
    folder = tmp_path / "submissions" / "ann"
    folder.mkdir(parents=True)
    return folder


def take_in(assignment, student: Path, tmp_path: Path):
    dest = tmp_path / "course" / "submitted" / student.name / NB
    problems, notes = intake(assignment, student, dest)
    return problems, notes, dest


def all_notes(notes) -> str:
    return "\n".join(note for items in notes.values() for note in items)


def copied_text(dest: Path) -> str:
    """Every byte copied into the private course, as text."""
    if not dest.exists():
        return ""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in dest.rglob("*") if p.is_file())


def first_autograded(assignment) -> str:
    return next(c.grade_id for c in assignment.cells_of(NB) if c.autograded)


# --- links and special files ------------------------------------------------------

def test_notebook_symlinked_to_the_source_is_refused(assignment, source, student, tmp_path):
    (student / f"{NB}.ipynb").symlink_to(source / f"{NB}.ipynb")
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert f"{NB}.ipynb" in problems[NB] and "symbolic link" in problems[NB]
    assert not (dest / f"{NB}.ipynb").exists()
    assert SECRET not in copied_text(dest)


def test_honest_notebook_beside_links_and_special_files_is_taken_in(assignment, source, student, tmp_path,
                                                                   monkeypatch):
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    (student / "numbers.txt").write_text("1\n2\n3\n4\n")
    (student / "data.npz").symlink_to(source / "secret.txt")
    (student / "shared").symlink_to(source, target_is_directory=True)
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET)
    os.link(outside, student / "hard.txt")
    os.mkfifo(student / "pipe")
    monkeypatch.chdir(student)  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("sock")
    special = ["data.npz", "shared", "hard.txt", "pipe", "sock"]
    try:
        os.mknod(student / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        special.append("null")
    except (PermissionError, OSError):
        pass  # only root may make a device file

    start = time.monotonic()
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert time.monotonic() - start < 10  # nothing blocked on the pipe or the device
    assert problems == {}
    assert (dest / f"{NB}.ipynb").read_text() == honest_notebook()
    assert (dest / "numbers.txt").read_text() == "1\n2\n3\n4\n"
    assert sorted(p.name for p in dest.iterdir()) == ["numbers.txt", f"{NB}.ipynb"]
    remarks = "\n".join(notes[first_autograded(assignment)])
    for name in special:
        assert f"not copied: {name}" in remarks, (name, remarks)
    assert "symbolic link" in remarks and "hard links" in remarks and "named pipe" in remarks and "socket" in remarks
    assert SECRET not in copied_text(dest)


def test_hard_linked_notebook_is_refused(assignment, source, student, tmp_path):
    os.link(source / f"{NB}.ipynb", student / f"{NB}.ipynb")
    problems, _, dest = take_in(assignment, student, tmp_path)
    assert "hard links" in problems[NB] and f"{NB}.ipynb" in problems[NB]
    assert SECRET not in copied_text(dest)


def test_symlinked_submission_folder_is_refused(assignment, source, tmp_path):
    folder = tmp_path / "submissions" / "bob"
    folder.parent.mkdir(parents=True)
    folder.symlink_to(source, target_is_directory=True)
    problems, _, dest = take_in(assignment, folder, tmp_path)
    assert "symbolic link" in problems[NB] and "bob" in problems[NB]
    assert SECRET not in copied_text(dest)


def test_a_file_swapped_for_a_link_after_the_check_is_not_followed(assignment, source, student, tmp_path,
                                                                  monkeypatch):
    """The race between looking at a file and opening it: O_NOFOLLOW and fstat win."""
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    (student / "data.txt").write_text("mine")
    real_stat = os.stat

    def stat_then_swap(name, *args, **kwargs):
        info = real_stat(name, *args, **kwargs)
        if name == "data.txt" and kwargs.get("dir_fd") is not None:
            (student / "data.txt").unlink()
            (student / "data.txt").symlink_to(source / "secret.txt")
        return info

    monkeypatch.setattr(intake_module.os, "stat", stat_then_swap)
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert problems == {} and "data.txt" in all_notes(notes)
    assert not (dest / "data.txt").exists() and SECRET not in copied_text(dest)


# --- sizes and counts -----------------------------------------------------------------

def test_ten_thousand_files_leave_the_notebook_graded(assignment, student, tmp_path):
    for i in range(10_000):
        (student / f"f{i:05d}.txt").write_text("x")
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    start = time.monotonic()
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert time.monotonic() - start < 30
    assert problems == {} and (dest / f"{NB}.ipynb").exists()
    assert len(list(dest.iterdir())) == MAX_FILES
    assert f"more than {MAX_FILES} files" in all_notes(notes) and "9,796 more" in all_notes(notes)


def test_a_100_mb_file_is_not_copied(assignment, student, tmp_path):
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    with open(student / "big.bin", "wb") as f:
        f.truncate(100 * 2**20)  # sparse: the test does not write 100 MB
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert problems == {} and (dest / f"{NB}.ipynb").exists()
    assert "big.bin" in all_notes(notes) and "100.0 MiB" in all_notes(notes)
    assert not (dest / "big.bin").exists()


def test_the_total_size_is_capped(assignment, student, tmp_path):
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    for name in ("a.bin", "b.bin"):
        with open(student / name, "wb") as f:
            f.truncate(MAX_TOTAL_BYTES * 3 // 5)
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert problems == {} and (dest / "a.bin").exists() and not (dest / "b.bin").exists()
    assert "b.bin" in all_notes(notes) and "a.bin" not in all_notes(notes)


def test_a_200_mb_notebook_is_refused(assignment, student, tmp_path):
    with open(student / f"{NB}.ipynb", "wb") as f:
        f.truncate(200 * 2**20)
    problems, _, dest = take_in(assignment, student, tmp_path)
    assert f"{NB}.ipynb" in problems[NB] and "200.0 MiB" in problems[NB] and "16.0 MiB" in problems[NB]
    assert not (dest / f"{NB}.ipynb").exists()


def test_deep_folders_are_cut(assignment, student, tmp_path):
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    deep = student.joinpath(*[f"d{i}" for i in range(20)])
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    problems, notes, _ = take_in(assignment, student, tmp_path)
    assert problems == {} and "nested more than" in all_notes(notes)


# --- the notebook's content ------------------------------------------------------------

def test_a_notebook_nested_100000_deep_is_refused(assignment, student, tmp_path):
    depth = 100_000
    (student / f"{NB}.ipynb").write_text('{"cells": [' + "[" * depth + "]" * depth + "]}")
    problems, _, dest = take_in(assignment, student, tmp_path)
    assert "100,002 levels deep" in problems[NB]
    assert not (dest / f"{NB}.ipynb").exists()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a": ' * 50_000, "[" * 5000 + "1" + "]" * 5000])
def test_deep_or_broken_json_never_raises(text):
    notebook, problem, _ = parse_notebook(text.encode())
    assert notebook is None and ("nested" in problem or "not valid JSON" in problem)


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth(b'{"a": ["[[[[", "\\"{{{{"]}') == 2
    assert json_depth(b"[]") == 1 and json_depth(b"1") == 0
    notebook = json.loads(honest_notebook())
    assert json_depth(json.dumps(notebook).encode()) < MAX_JSON_DEPTH


def test_huge_integer_is_refused():
    notebook, problem, _ = parse_notebook(b'{"cells": [], "n": ' + b"1" * 10_000 + b"}")
    assert notebook is None and "not valid JSON" in problem


def test_a_notebook_of_wrong_types_is_repaired_with_a_note(assignment, student, tmp_path):
    nb = json.loads(honest_notebook())
    cells = nb["cells"]
    test_cell = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_add")
    test_cell["metadata"]["nbgrader"]["grade_id"] = ["unhashable"]
    cells[0]["source"] = {"evil": 1}
    cells[1]["metadata"] = ["not", "a", "dict"]
    cells[2]["metadata"]["nbgrader"] = "yes"
    cells += [1, "text", None, {"cell_type": "bogus", "source": ""}, {"cell_type": "code", "source": ["a", 2],
              "metadata": {}, "outputs": "many", "execution_count": "7", "id": "bad id!"}]
    nb["metadata"] = "not a dict"
    (student / f"{NB}.ipynb").write_text(json.dumps(nb))
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert problems == {}
    remarks = all_notes(notes)
    assert f"{NB}.ipynb was repaired" in remarks and "was not a notebook cell" in remarks
    assert "source was not text" in remarks and "nbgrader metadata had the wrong types" in remarks
    # what nbgrader and the grader read from it works now
    repaired = nbformat.read(dest / f"{NB}.ipynb", as_version=4)
    assert isinstance(repaired.metadata, dict)
    for cell in repaired.cells:
        assert isinstance(cell.source, str) and isinstance(cell.metadata, dict)
        utils.is_grade(cell), utils.is_solution(cell), utils.is_locked(cell)  # noqa: B018 (must not raise)
        if cell.cell_type == "code":
            assert isinstance(cell.outputs, list)
    # the renamed test lost its nbgrader metadata: nbgrader puts the original back, and says so
    assert "deleted" in "; ".join(notes["test_add"])


@pytest.mark.parametrize("content, words", [
    ([], "not a Jupyter notebook"),
    ({"cells": {}}, "not a Jupyter notebook"),
    ({"cells": [], "nbformat": 3, "nbformat_minor": 0}, "not a version 4 notebook"),
    ({"cells": [], "nbformat": 4, "nbformat_minor": "5"}, "not a version 4 notebook"),
])
def test_json_that_is_no_notebook_is_refused(tmp_path, content, words):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(content))
    notebook, problem = read_notebook(path)
    assert notebook is None and words in problem


def test_lone_surrogates_are_replaced(assignment, student, tmp_path):
    nb = json.loads(honest_notebook())
    nb["cells"][0]["source"] = "x \ud800 y"
    (student / f"{NB}.ipynb").write_text(json.dumps(nb))  # ensure_ascii spells it \\ud800
    problems, notes, dest = take_in(assignment, student, tmp_path)
    assert problems == {} and "not valid Unicode" in all_notes(notes)
    assert "x ? y" in nbformat.read(dest / f"{NB}.ipynb", as_version=4).cells[0].source


def test_read_notebook_does_not_follow_links(tmp_path, source):
    link = tmp_path / "link.ipynb"
    link.symlink_to(source / f"{NB}.ipynb")
    notebook, problem = read_notebook(link)
    assert notebook is None and "symbolic link" in problem


def test_odd_file_names_are_shown_escaped(assignment, student, tmp_path):
    (student / f"{NB}.ipynb").write_text(honest_notebook())
    os.symlink("/etc/passwd", os.path.join(os.fsencode(student), b"evil\n=cmd\xff"))
    problems, notes, _ = take_in(assignment, student, tmp_path)
    remarks = all_notes(notes)
    assert problems == {} and "evil\\n=cmd\\xff" in remarks and "\n=" not in remarks
    remarks.encode("utf-8")  # no surrogate left: writable to CSV and HTML


def test_notebook_limit_constants_are_sane():
    assert MAX_NOTEBOOK_BYTES < MAX_TOTAL_BYTES and MAX_FILES >= 10


# --- slow: one batch end to end -------------------------------------------------------

@pytest.mark.slow
def test_hostile_folders_in_a_real_batch(tmp_path):
    """``python -m autograder grade`` on hostile folders beside an honest one: the batch
    finishes, files left out are named, the honest notebook gets full marks, the linked
    notebook gets nothing and no hidden test, and a huge <script> message is cut and escaped."""
    from support import FIXTURES, questions_by_student, read_csv, run_cli
    FIXTURE_ASSIGNMENTS = FIXTURES / "assignments"

    from autograder import samples as samples_module

    samples = tmp_path / "samples"
    shutil.copytree(FIXTURES / "samples" / NB, samples / NB)
    assert samples_module.main(["build", NB, "--samples", str(samples), "--assignments",
                                str(FIXTURE_ASSIGNMENTS)]) == 0
    reference = samples / NB / "reference"
    subs, source_nb = tmp_path / "submissions", SOURCE_DIR / f"{NB}.ipynb"
    honest = subs / "honest_links"
    shutil.copytree(reference, honest)
    (honest / "secret.txt").symlink_to(source_nb)
    os.mkfifo(honest / "pipe")
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET)
    os.link(outside, honest / "hard.txt")
    linked = subs / "linked_notebook"
    linked.mkdir()
    (linked / f"{NB}.ipynb").symlink_to(source_nb)
    loud = subs / "=HYPERLINK(1)"
    shutil.copytree(reference, loud)
    nb = nbformat.read(loud / f"{NB}.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "add")
    answer.source = ("def add(a, b):\n    raise ValueError('<script>alert(1)</script>' + 'x' * 20_000_000"
                     " + ' the end')\n")
    nbformat.write(nb, loud / f"{NB}.ipynb")

    out = tmp_path / "out"
    proc = run_cli("grade", NB, subs, "--out", out, "--course", tmp_path / "course", "--assignments",
                   FIXTURE_ASSIGNMENTS, "--timeout", "20", "--workers", 2, cwd=tmp_path, check_rc=None)
    assert (out / "questions.csv").exists(), proc.stdout[-3000:]
    questions = questions_by_student(out)
    assert set(questions) == {"honest_links", "linked_notebook", "'=HYPERLINK(1)"}
    first = questions["honest_links"]["test_add"]
    assert first["score"] == "2" and questions["honest_links"]["test_mean_of"]["score"] == "3"
    for name in ("secret.txt", "pipe", "hard.txt"):
        assert f"not copied: {name}" in first["message"], first["message"]
    linked_row = questions["linked_notebook"]["test_add"]
    assert linked_row["score"] == "0" and "symbolic link" in linked_row["message"]
    loud_row = questions["'=HYPERLINK(1)"]["test_add"]
    assert loud_row["score"] == "0" and "characters left out" in loud_row["message"]
    assert len(loud_row["message"]) < 3 * 2000
    grades = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert grades["honest_links"]["score"] == "5" and grades["linked_notebook"]["score"] == "0"
    secrets = read_assignment(SOURCE_DIR).secrets
    everything = (out / "questions.csv").read_text()
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text()
        assert page.stat().st_size <= 2 * 2**20, page
        assert "<script>alert(1)" not in text, page
        everything += text
    assert not [line for line in secrets if line in everything]
    assert SECRET not in everything
    assert not (tmp_path / "course" / "submitted").exists() or SECRET not in copied_text(tmp_path / "course")
