"""The course's own nbgrader gradebook: graded submissions go in, final grades come out.

``python -m autograder grade`` grades every student in a private course of its own;
afterwards (in the main process, one submission after the other) :func:`record`
puts each result into the course folder as a plain ``nbgrader autograde`` would
have left it::

    course/submitted/<student>/<id>/<notebook>.ipynb    the submission (the grader's safe copy)
    course/autograded/<student>/<id>/<notebook>.ipynb   the autograded notebook, hidden tests included
    course/gradebook.db                                 student, submission, per-cell grades and comments

so that formgrader (``jupyter lab`` in the course folder, Nbgrader > Formgrader) shows
every submission and grades the written answers as usual. The grades are written by
nbgrader's own :class:`~nbgrader.preprocessors.SaveAutoGrades` run over the autograded
notebook, which sets ``auto_score`` and ``auto_comment`` and never touches what a
grader entered (``manual_score``, ``extra_credit``, ``manual_comment``).

nbgrader flags every grade that has a manual score for review again after a
re-grade; :func:`record` takes that flag back when the student's answers and the
automatic score are exactly those the grader saw, so that re-running the tests
(a fixed test, a new grader version) does not undo finished manual grading.

:func:`final_grades` reads the scores back per student (automatic and manual
parts, and whether manual grading is still pending) for the exports in
:mod:`autograder.export_grades`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy.exc import SAWarning

from autograder.course import Course, run_nbgrader
from autograder.grading import Assignment, Batch, read_assignment
from autograder.intake import intake, shown
from autograder.nbgrader_config import c as course_config
from autograder.release import last_error

# A student id nbgrader can use as it is: a path part, a gradebook key, a command-line
# argument (no leading "-"), a glob pattern matching only itself, a URL path part.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
SLUG_LENGTH = 40  # readable part of the id given to an unsafe folder name
HASH_LENGTH = 10  # hex digits of the folder name's sha256 that keep such ids apart
GENERATE_SECONDS = 600  # wall time of recording the assignment with nbgrader generate_assignment


class GradebookError(RuntimeError):
    """The course gradebook cannot take this batch (the instructor's side)."""


def gradebook_id(folder: str) -> str:
    """The course gradebook's id for a student whose submission folder is called ``folder``.

    A safe name is kept as it is. Any other (spaces, glob or URL characters, control
    characters, a leading ``-``, longer than 128 characters) becomes its safe
    characters plus a short hash of the whole name, the same on every run:
    ``"Jöhn Doe"`` -> ``"John_Doe-<10 hex digits>"``.
    """
    if SAFE_ID.fullmatch(folder):
        return folder
    ascii_name = unicodedata.normalize("NFKD", folder).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_.@+-]+", "_", ascii_name)
    slug = re.sub(r"^[^A-Za-z0-9]+", "", slug)[:SLUG_LENGTH].rstrip("_.-") or "student"
    digest = hashlib.sha256(folder.encode("utf-8", "surrogateescape")).hexdigest()[:HASH_LENGTH]
    return f"{slug}-{digest}"


def db_url(course: Course) -> str:
    return f"sqlite:///{course.gradebook}"


def open_gradebook(course: Course) -> Gradebook:
    return Gradebook(db_url(course), course_config.CourseDirectory.course_id)


# --- the assignment ---------------------------------------------------------------

def recorded_cells(course: Course, assignment: str) -> dict[str, dict[str, float]] | None:
    """notebook -> grade cell -> points, as the course gradebook has the assignment (None: not there)."""
    if not course.gradebook.exists():
        return None
    with open_gradebook(course) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        return {nb.name: {cell.name: float(cell.max_score) for cell in [*nb.grade_cells, *nb.task_cells]}
                for nb in found.notebooks}


def source_cells(info: Assignment) -> dict[str, dict[str, float]]:
    """notebook -> grade cell -> points, as the assignment's source has them."""
    cells: dict[str, dict[str, float]] = {nb: {} for nb in info.notebooks}
    for cell in info.cells:
        cells[cell.notebook][cell.grade_id] = cell.max_score
    return cells


def ensure_assignment(course: Course, info: Assignment) -> None:
    """Make the course gradebook hold the assignment as its source is now.

    ``release`` records it; ``grade`` without a release (or after the source
    changed) records it here with ``nbgrader generate_assignment``, whose student
    version goes to a scratch folder: ``release/`` is only ever written by ``release``.
    """
    assignment = info.name
    if recorded_cells(course, assignment) == source_cells(info):
        return
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as scratch:
        run = run_nbgrader(course.root, "generate_assignment", assignment, "--force",
                           f"--CourseDirectory.release_directory={scratch}", wall_time=GENERATE_SECONDS)
    if not run.ok or recorded_cells(course, assignment) != source_cells(info):
        raise GradebookError(
            f"could not record {assignment} in {course.gradebook} ({last_error(run.log)}); nbgrader refuses "
            "to add or remove graded cells of an assignment that already has submissions: keep the graded "
            "cells as they were, or start a new course folder")


# --- recording a batch --------------------------------------------------------------

@dataclass
class Recorded:
    """What :func:`record` did."""

    assignment: str
    students: dict[str, str] = field(default_factory=dict)  # submission folder -> gradebook id
    kept_manual: int = 0  # manual grades that stay as the grader left them
    to_review: list[str] = field(default_factory=list)  # "student/cell": manual grade whose answer changed
    to_grade: int = 0  # grades waiting for a grader (written answers, mostly)
    skipped: list[str] = field(default_factory=list)  # why a submission could not be recorded

    def summary(self, course: Course) -> str:
        renamed = {f: i for f, i in self.students.items() if f != i}
        lines = [f"course gradebook: {len(self.students)} submission(s) of {self.assignment} recorded in "
                 f"{course.gradebook}; {self.to_grade} grade(s) wait for formgrader, "
                 f"{self.kept_manual} manual grade(s) kept"]
        lines += [f"  folder {shown(f)!r} is recorded as student {i!r} (its name is not a safe nbgrader id)"
                  for f, i in sorted(renamed.items())]
        if self.to_review:
            lines.append("  answers changed since they were graded by hand, to grade again: "
                         + ", ".join(self.to_review))
        lines += [f"  NOT RECORDED: {why}" for why in self.skipped]
        return "\n".join(lines)


def record(course: Course, batch: Batch) -> Recorded:
    """Put a graded batch into the course: submitted and autograded notebooks, and
    the gradebook (see the module docstring). Call it after ``grade`` returns, from
    one process: sqlite and formgrader expect one writer at a time."""
    info = read_assignment(course.source(batch.assignment))
    ensure_assignment(course, info)
    done = Recorded(batch.assignment)
    taken: dict[str, str] = {}
    with warnings.catch_warnings():
        # nbgrader 0.9's add_submission makes SQLAlchemy 2 warn about its own autoflush; harmless
        warnings.simplefilter("ignore", SAWarning)
        for result in batch.results:
            record_one(course, info, batch, result.student_id, taken, done)
    return done


def record_one(course: Course, info: Assignment, batch: Batch, folder: str, taken: dict[str, str],
               done: Recorded) -> None:
    """Record one submission under its gradebook id, or say in ``done.skipped`` why not."""
    student = gradebook_id(folder)
    if student in taken:
        done.skipped.append(f"{shown(folder)!r}: its gradebook id {student!r} is already "
                            f"{shown(taken[student])!r}'s; rename one of the folders")
        return
    taken[student] = folder
    try:
        record_submission(course, info, batch, folder, student, done)
    except Exception as error:  # one submission's trouble never stops the others' recording
        done.skipped.append(f"{shown(folder)!r}: {type(error).__name__}: {error}")
        return
    done.students[folder] = student


def record_submission(course: Course, info: Assignment, batch: Batch, folder: str, student: str,
                      done: Recorded) -> None:
    """One student's submission into the course folder and gradebook."""
    assignment = batch.assignment
    submitted = course.root / "submitted" / student / assignment
    autograded = course.root / "autograded" / student / assignment
    old_answers = {nb: answers_of(autograded / f"{nb}.ipynb") for nb in info.notebooks}
    # the submission as the grader took it in (symlinks, oversized and broken files left out)
    shutil.rmtree(submitted, ignore_errors=True)
    intake(info, Path(batch.submissions) / folder, submitted)
    timestamp = submission_timestamp(submitted)

    with open_gradebook(course) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        submission = gb.find_submission(assignment, student)
        submission.timestamp = timestamp  # formgrader compares it with submitted/timestamp.txt
        gb.db.commit()
        before = {(nb.name, g.name): (g.manual_score, g.needs_manual_grade, g.auto_score)
                  for nb in submission.notebooks for g in nb.grades}

    autograded.mkdir(parents=True, exist_ok=True)
    for nb in info.notebooks:
        kept = Path(batch.out) / "autograded" / folder / f"{nb}.ipynb"
        target = autograded / f"{nb}.ipynb"
        if kept.is_file():
            target.unlink(missing_ok=True)  # plain nbgrader autograde leaves it read-only
            shutil.copyfile(kept, target)
            notebook = nbformat.read(target, as_version=4)
            resources = {"nbgrader": {"notebook": nb, "assignment": assignment, "student": student,
                                      "db_url": db_url(course)}}
            SaveAutoGrades().preprocess(notebook, resources)
            new_answers = answers_of(target)
        else:
            # not graded (missing, unreadable, the grader failed): as nbgrader does for a
            # missing notebook, zero points and nothing to grade by hand
            target.unlink(missing_ok=True)
            zero_notebook(course, nb, assignment, student)
            new_answers = None
        settle(course, batch, folder, nb, student, before, old_answers[nb], new_answers, done)


def answers_of(path: Path) -> dict[str, str] | None:
    """grade_id -> source of every answer cell of a notebook (None: no notebook)."""
    if not path.is_file():
        return None
    notebook = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"].get("grade_id"): cell.source for cell in notebook.cells
            if utils.is_solution(cell) or utils.is_task(cell)}


def same_answer(grade_id: str, old: dict | None, new: dict | None) -> bool:
    """Whether what a grader judged is unchanged: a written answer's own cell, or for a
    test cell (a grader's override) every answer of the notebook."""
    if old is None or new is None:
        return False
    return old.get(grade_id) == new.get(grade_id) if grade_id in new else old == new


def submission_timestamp(submitted: Path):
    """nbgrader's ``timestamp.txt`` of a submission, or None; one that does not parse is removed
    (formgrader would fail on it)."""
    path = submitted / "timestamp.txt"
    if not path.is_file():
        return None
    try:
        return utils.parse_utc(path.read_text(encoding="utf-8", errors="replace").strip()[:100])
    except (ValueError, OverflowError, TypeError):
        path.unlink()
        return None


def zero_notebook(course: Course, nb: str, assignment: str, student: str) -> None:
    with open_gradebook(course) as gb:
        for grade in gb.find_submission_notebook(nb, assignment, student).grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def settle(course: Course, batch: Batch, folder: str, nb: str, student: str, before: dict,
           old_answers: dict | None, new_answers: dict | None, done: Recorded) -> None:
    """After nbgrader saved the grades: the grader's own scores for the tests, and the
    review flag of manual grades whose answer did not change."""
    scores = {q.grade_id: q.score for r in batch.results if r.student_id == folder
              for q in r.questions if q.notebook == nb and q.score is not None}
    with open_gradebook(course) as gb:
        for grade in gb.find_submission_notebook(nb, batch.assignment, student).grades:
            if grade.name in scores and grade.auto_score != scores[grade.name]:
                # the batch's score is the one clamped to 0..points (a notebook may claim more)
                grade.auto_score = scores[grade.name]
            _, flagged, auto = before.get((nb, grade.name), (None, True, None))
            if grade.manual_score is not None:
                if not flagged and auto == grade.auto_score and same_answer(grade.name, old_answers, new_answers):
                    grade.needs_manual_grade = False
                if grade.needs_manual_grade:
                    done.to_review.append(f"{student}/{grade.name}")
                else:
                    done.kept_manual += 1
            elif grade.needs_manual_grade:
                done.to_grade += 1
        gb.db.commit()


# --- final grades -----------------------------------------------------------------

@dataclass
class FinalGrade:
    """One student's grade of one assignment in the course gradebook."""

    student_id: str
    auto_score: float  # autograded cells (a grader's override in formgrader counts)
    manual_score: float  # manually graded cells (written answers, tasks)
    late_penalty: float
    max_score: float
    pending: list[str]  # "notebook/cell" still waiting for a grader

    @property
    def total(self) -> float:
        return self.auto_score + self.manual_score - self.late_penalty


def final_grades(course: Course, assignment: str) -> list[FinalGrade]:
    """Every recorded submission of ``assignment``, students sorted."""
    if recorded_cells(course, assignment) is None:
        raise GradebookError(f"{assignment} is not in {course.gradebook}: run `python -m autograder release "
                             f"{assignment}` and grade it first")
    grades = []
    with open_gradebook(course) as gb:
        manual_cells = {(nb.name, name) for nb in gb.find_assignment(assignment).notebooks
                        for name in {c.name for c in nb.solution_cells} | {c.name for c in nb.task_cells}}
        for submission in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id):
            auto = manual = penalty = 0.0
            pending = []
            for nb in submission.notebooks:
                penalty += float(nb.late_submission_penalty or 0.0)
                for grade in nb.grades:
                    if (nb.name, grade.name) in manual_cells:
                        manual += float(grade.score)
                    else:
                        auto += float(grade.score)
                    if grade.needs_manual_grade:
                        pending.append(f"{nb.name}/{grade.name}")
            grades.append(FinalGrade(submission.student.id, auto, manual, penalty, float(submission.max_score),
                                     pending))
    return grades
