"""Release an assignment: nothing reaches students that nbgrader cannot grade.

For each assignment, three nbgrader steps, in this order:

1. ``nbgrader validate source/<id>/<nb>.ipynb`` — the instructor's solution
   passes every test;
2. ``nbgrader generate_assignment <id>`` — the student version in
   ``release/<id>/`` (solutions and hidden tests removed, cells recorded in
   the gradebook);
3. ``nbgrader validate --invert release/<id>/<nb>.ipynb`` — the student
   version as released passes no test, and nothing crashes.

A failed step refuses the release and names the cell that failed.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.filters import strip_ansi

from autograder import cells
from autograder.course import Course, notebook_names, run_nbgrader
from autograder.feedback import notebook_lines, secret_lines, solution_only_lines

VALIDATOR_WIDTH = 200  # nbgrader's Validator cuts longer lines with "..."
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b")
VALIDATE_WALL_TIME = 1800  # s for one notebook; its cells have their own limit


@dataclass
class ReleaseReport:
    """What happened to one assignment."""

    assignment: str
    problems: list[str] = field(default_factory=list)
    step: str = ""  # the step that failed, or "released"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def release(course: Course, assignments: list[str], workers: int = 1) -> list[ReleaseReport]:
    """Validate, generate and check every assignment; validation runs in parallel."""
    gradebook_lock = threading.Lock()  # generate_assignment writes the course's gradebook
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda a: release_assignment(course, a, gradebook_lock), assignments))


def summary(reports: list[ReleaseReport], course_root: Path) -> str:
    """One line per released assignment; the problems of a refused one."""
    lines = []
    for r in reports:
        if r.ok:
            released = course_root / "release" / r.assignment
            lines.append(f"released  {r.assignment:<20} {r.seconds:5.0f} s  -> {released}")
        else:
            lines.append(f"REFUSED   {r.assignment:<20} {r.seconds:5.0f} s  at step '{r.step}':")
            lines += [f"    {problem}" for problem in r.problems]
    return "\n".join(lines)


def release_assignment(course: Course, assignment: str, gradebook_lock=None) -> ReleaseReport:
    start = time.monotonic()
    report = ReleaseReport(assignment)
    notebooks = notebook_names(course.source(assignment))

    report.step = "validate source"
    for name in notebooks:
        report.problems += validate(course, course.source(assignment) / f"{name}.ipynb")
    if report.ok:
        report.step = "generate_assignment"
        with gradebook_lock or threading.Lock():
            run = run_nbgrader(course.root, "generate_assignment", assignment, "--force",
                               wall_time=VALIDATE_WALL_TIME)
        if not run.ok:
            report.problems.append(f"nbgrader generate_assignment failed: {last_error(run.log)}")
    if report.ok:
        report.step = "validate student version"
        for name in notebooks:
            student_version = course.release(assignment) / f"{name}.ipynb"
            report.problems += validate(course, student_version, invert=True)
            report.problems += leaked_secrets(course.source(assignment) / f"{name}.ipynb", student_version)
    if report.ok:
        report.step = "released"
    report.seconds = time.monotonic() - start
    return report


def validate(course: Course, notebook: Path, invert: bool = False) -> list[str]:
    """Run ``nbgrader validate [--invert]`` on a notebook; one problem per failing cell."""
    args = ["validate", f"--Validator.width={VALIDATOR_WIDTH}", str(notebook)]
    if invert:
        args.insert(1, "--invert")
    run = run_nbgrader(course.root, *args, wall_time=VALIDATE_WALL_TIME)
    if not run.ok and not run.timed_out:
        # nbgrader itself stopped (not a failing test, which it reports and exits 0). Seen
        # once in ~20 releases, 4 s into validating a source that passes otherwise, while
        # another assignment was validated next to it: run it once more before refusing.
        run = run_nbgrader(course.root, *args, wall_time=VALIDATE_WALL_TIME)
    where = notebook.relative_to(course.root)
    if run.timed_out:
        return [f"{where}: nbgrader validate did not finish within {VALIDATE_WALL_TIME} s"]
    if not run.ok:
        return [f"{where}: nbgrader validate crashed twice: {last_error(run.log)}"]

    problems = []
    names = cell_names(nbformat.read(notebook, as_version=4))
    for kind, source, error in validator_blocks(run.log):
        cell = names.get(source, "a cell")
        if kind == "failed":
            problems.append(f"{where}: test cell {cell} fails with the solution: {error}")
        elif kind == "passed":
            problems.append(f"{where}: test cell {cell} passes in the student version "
                            "(the test does not test the student's code)")
        elif kind == "changed":
            problems.append(f"{where}: cell {cell} differs from its recorded checksum")
        else:
            problems.append(f"{where}: cell {cell} changed type")
    success = ("Success! The notebook does not pass any tests." if invert
               else "Success! Your notebook passes all the tests.")
    if not problems and success not in run.log:
        problems.append(f"{where}: nbgrader validate did not report success: {last_error(run.log)}")
    return problems


def leaked_secrets(source: Path, student_version: Path) -> list[str]:
    """Hidden-test or solution lines of the source found in the student version."""
    source_nb = nbformat.read(source, as_version=4)
    shown = notebook_lines(nbformat.read(student_version, as_version=4))
    return [f"{student_version.name}: the student version contains {line!r}"
            for line in secret_lines(source_nb) + solution_only_lines(source_nb) if line in shown]


# --- reading nbgrader validate's report --------------------------------------

def _indent(source: str) -> str:
    """A cell's source as nbgrader's Validator prints it (indent, cut long lines)."""
    lines = []
    for line in source.split("\n"):
        line = "    " + strip_ansi(line)
        if len(line) > VALIDATOR_WIDTH - 3:
            line = line[:VALIDATOR_WIDTH - 3] + "..."
        lines.append(line)
    return "\n".join(lines)


def cell_names(nb) -> dict[str, str]:
    """Printed source -> grade_id, for every cell nbgrader knows by name."""
    names = {}
    for cell in nb.cells:
        grade_id = cells.grade_id(cell)
        if grade_id:
            names[_indent(cell.source.strip())] = grade_id
    return names


def validator_blocks(output: str):
    """Yield (kind, printed source, last error line) for each cell nbgrader validate reports."""
    separator = "\n" + "=" * VALIDATOR_WIDTH + "\n"
    headings = {"The following cell failed:": "failed", "The following cell passed:": "passed",
                "The following cell has changed:": "changed"}
    for block in output.split(separator)[1:]:
        heading, _, rest = block.partition("\n\n")
        kind = headings.get(heading.strip(), "type changed" if "has changed to" in heading else None)
        if kind is None:
            continue
        source, _, error = rest.partition("\n\nThe error was:\n\n")
        yield kind, source.rstrip("\n"), final_error_line(error)


def final_error_line(error: str) -> str:
    """``ename: evalue`` from a printed traceback (its last ``SomethingError: ...`` line)."""
    printed = [line.strip() for line in error.splitlines() if line.startswith("    ") and line.strip()]
    named = [line for line in printed if ERROR_LINE.match(line)]
    return (named or printed or [""])[-1]


def last_error(log: str) -> str:
    """The last line of nbgrader's log that names an error (or the log's last line), passing
    over nbgrader's own "see the traceback above" lines."""
    generic = ("Please see the", "There was an error processing", "Removing failed assignment",
               "encountered a fatal error")
    lines = [strip_ansi(line).strip() for line in log.splitlines()
             if line.strip() and not any(words in line for words in generic)]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else "(no output)"
