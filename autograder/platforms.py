"""What the Gradescope and PrairieLearn exports share: the course package they carry,
grading one submission with this project's grader, and where a test cell failed.

An export (``python -m autograder export gradescope|prairielearn``) copies the
course package (``cnnlib``, ``autograder`` without its sample submissions,
``pyproject.toml``) and one assignment's source (its notebooks and data files,
never ``make_notebook.py``) to a folder that only the platform's grading
container reads. There, for every submission, :func:`grade_one` builds a
submissions folder of one student, ``submission``, and calls
:func:`autograder.grading.grade`: the same intake, sandbox, checker and feedback
as ``python -m autograder grade``. :mod:`autograder.gradescope` and
:mod:`autograder.prairielearn` turn its result into each platform's results file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from autograder import PACKAGE_DIR, REPO_DIR, sandbox
from autograder.course import CourseError, copy_assignment, find_assignments, prepare_course
from autograder.feedback import MAX_MESSAGE, cut
from autograder.grading import STARTUP_ALLOWANCE, Options, grade, read_assignment, results_data
from autograder.nbgrader_config import NOTEBOOK_TIMEOUT

STUDENT = "submission"  # the one student folder of a platform's submission
COURSE_FOLDER = "course"  # where an export keeps the course package, next to its run script
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE")  # what `pip install` of the package reads
LEFT_OUT = ("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
CELL_FRAME = re.compile(r"(?:Cell In\[\d+\]|<ipython-input-\d+-[0-9a-f]+>), line (\d+)")  # IPython 8 and 7
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


RUN_SCRIPT = """\
#!/usr/bin/env bash
# {platform} runs this for every submission: grade $ROOT/{folder}, write $ROOT/results/results.json.
ROOT="${{{root_variable}:-{default_root}}}"
PYTHON="${{AUTOGRADER_PYTHON:-{python}}}"
COURSE="{course}"
export PYTHONPATH="$COURSE${{PYTHONPATH:+:$PYTHONPATH}}"
cd "$ROOT" || exit 1
"$PYTHON" -m autograder.{module} run {assignment} --root "$ROOT" --course-package "$COURSE"{options}
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    # the grader could not even start (no Python, a broken install): the platform still gets a result
    mkdir -p "$ROOT/results"
    printf '%s\\n' '{{{fallback}"The grader could not start (status '"$status"'); please tell the instructor."}}' \\
        > "$ROOT/results/results.json"
fi
exit 0
"""


class PlatformError(RuntimeError):
    """A submission cannot be graded here at all (the platform's or the instructor's side)."""


# --- the export ----------------------------------------------------------------

def bundle_course(assignment: str, assignments_dir: Path, target: Path) -> Path:
    """Copy the course package and ``assignment``'s source to ``target`` (a new folder).

    The sample submissions (``samples/`` beside the package, solutions among them) and the
    notebook generators stay behind; the source notebooks, solutions and hidden tests
    included, are what the grader needs and go only where students cannot read them.
    """
    if assignment not in find_assignments(assignments_dir):
        raise CourseError(f"unknown assignment {assignment!r}: "
                          f"no {assignment}/{assignment}.ipynb in {assignments_dir}")
    missing = [name for name in PACKAGE_FILES if not (REPO_DIR / name).is_file()]
    if missing:
        raise CourseError(f"export needs the course repository (a checkout): "
                          f"{', '.join(missing)} not found in {REPO_DIR}")
    target = Path(target)
    target.mkdir(parents=True)
    for name in PACKAGE_FILES:
        shutil.copyfile(REPO_DIR / name, target / name)
    shutil.copytree(REPO_DIR / "cnnlib", target / "cnnlib", ignore=shutil.ignore_patterns(*LEFT_OUT))
    shutil.copytree(PACKAGE_DIR, target / "autograder", ignore=shutil.ignore_patterns(*LEFT_OUT))
    copy_assignment(Path(assignments_dir) / assignment, target / "assignments" / assignment)
    return target


def platform_timeout(notebook_timeout: float) -> int:
    """Seconds a platform should allow one grading: the notebook's limit, nbgrader's start-up, and
    the template course and the feedback the grader makes before and after."""
    return int(notebook_timeout + 3 * STARTUP_ALLOWANCE)


def max_points(assignment: str, assignments_dir: Path) -> tuple[float, float]:
    """(autograded points, points graded by hand) of an assignment's source."""
    cells = read_assignment(Path(assignments_dir) / assignment).cells
    return (sum(c.max_score for c in cells if c.autograded), sum(c.max_score for c in cells if not c.autograded))


# --- grading one submission -------------------------------------------------------

@dataclass
class Graded:
    """One submission graded by :func:`grade_one`."""

    assignment: str
    student: dict  # one student of OUT/results.json (see autograder.grading.results_data)
    hidden: dict[str, int]  # grade_id of a test cell -> line where its hidden tests begin (0: none)
    failed_at: dict[str, str]  # grade_id -> "visible", "hidden" or "unknown": where the cell stopped
    feedback: str  # the feedback page as plain text
    feedback_html: Path | None
    notes: list[str] = field(default_factory=list)  # what the platform wrapper did (a renamed notebook)
    isolation: str = ""

    @property
    def score(self) -> float:
        return float(self.student["score"])

    @property
    def max_score(self) -> float:
        return float(self.student["max_score"])

    def manual(self) -> list[dict]:
        return [q for q in self.student["questions"] if q["score"] is None]


def grade_one(assignment: str, submitted: Path, course_dir: Path, workdir: Path,
              unsafe_no_sandbox: bool = False, notebook_timeout: float = NOTEBOOK_TIMEOUT, log=None) -> Graded:
    """Grade the files in ``submitted`` as one student's submission of ``assignment``.

    ``course_dir`` holds the exported package (``assignments/<id>/`` in it);
    ``workdir`` receives the course folder, the submissions folder and OUT.
    """
    log = log or (lambda text: print(text, file=sys.stderr))
    try:
        chosen = sandbox.mode()
    except SystemExit as error:  # AUTOGRADER_SANDBOX names a mode that does not work here
        raise PlatformError(str(error)) from None
    if chosen == "none" and not unsafe_no_sandbox:
        raise PlatformError(
            "the grader found no sandbox for student code on this machine (bubblewrap or unprivileged "
            "user namespaces), so it did not run the notebook; please tell the instructor")
    workdir = Path(workdir)
    assignments_dir = Path(course_dir) / "assignments"
    course = prepare_course(workdir / "course", [assignment], assignments_dir)
    info = read_assignment(course.source(assignment))
    student_dir = workdir / "submissions" / STUDENT
    notes = copy_submission(Path(submitted), student_dir, info.notebooks)
    options = Options(workers=1, notebook_timeout=notebook_timeout, sandbox=chosen, log=log)
    log(f"isolation: {chosen}" + (" (UNSAFE: no sandbox)" if chosen == "none" else ""))
    out = workdir / "out"
    batch = grade(course, assignment, student_dir.parent, out, options)
    student = results_data(batch)["students"][0]
    hidden = hidden_starts(course.source(assignment))
    failed_at = {}
    for q in student["questions"]:
        if q["score"] is not None and q["score"] < q["max_score"]:
            failed_at[q["grade_id"]] = where_failed(out / "autograded" / STUDENT / f"{q['notebook']}.ipynb",
                                                    q["grade_id"], hidden.get(q["grade_id"], 0))
    pages = sorted((out / "feedback" / STUDENT).glob("*.html"))
    text = "\n\n".join(page_text(p.read_text(encoding="utf-8", errors="replace")) for p in pages)
    return Graded(assignment, student, hidden, failed_at, cut(text, MAX_MESSAGE), pages[0] if pages else None,
                  notes, chosen)


def copy_submission(submitted: Path, student_dir: Path, notebooks: list[str]) -> list[str]:
    """Copy a platform's submission folder to ``student_dir``; say what was renamed.

    Regular files and folders are copied, symbolic links stay links (the grader's
    intake refuses them with a message), anything else is left out. A one-notebook
    assignment accepts its single notebook under another name (an upload may come
    as ``hw (1).ipynb``).
    """
    student_dir.parent.mkdir(parents=True, exist_ok=True)
    if submitted.is_dir() and not submitted.is_symlink():
        shutil.copytree(submitted, student_dir, symlinks=True, ignore=_not_regular)
    else:
        student_dir.mkdir()
    found = sorted(p for p in student_dir.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    expected = [f"{nb}.ipynb" for nb in notebooks]
    if len(notebooks) == 1 and len(found) == 1 and found[0].name != expected[0] \
            and not (student_dir / expected[0]).exists():
        found[0].rename(student_dir / expected[0])
        return [f"{found[0].name} was graded as {expected[0]}"]
    if not found:
        return [f"no notebook was submitted: upload {', '.join(expected)}"]
    return []


def _not_regular(folder: str, names: list[str]) -> set[str]:
    left = set()
    for name in names:
        path = Path(folder) / name
        if not (path.is_symlink() or path.is_dir() or path.is_file()):
            left.add(name)  # FIFOs, sockets, devices: reading one could block or read a device
    return left


def hidden_starts(source: Path) -> dict[str, int]:
    """grade_id of each test cell -> the (1-based) line of its ``### BEGIN HIDDEN TESTS``, 0 if none."""
    starts = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id and cell.cell_type == "code":
                lines = cell.source.splitlines()
                starts[grade_id] = next((i + 1 for i, line in enumerate(lines) if line.strip() == HIDDEN_BEGIN), 0)
    return starts


def where_failed(autograded: Path, grade_id: str, hidden_start: int) -> str:
    """Where a failed test cell stopped: ``"visible"`` (before its hidden tests), ``"hidden"`` or
    ``"unknown"`` (no notebook, no error, or no line of the cell in the traceback).

    The checker runs the instructor's copy of the cell, so the first line of the traceback
    that points into the cell is a line of the source cell.
    """
    if not autograded.is_file():
        return "unknown"
    for cell in nbformat.read(autograded, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") != grade_id:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            match = CELL_FRAME.search(ANSI.sub("", "\n".join(output.get("traceback", []))))
            if match:
                line = int(match.group(1))
                return "hidden" if hidden_start and line > hidden_start else "visible"
    return "unknown"


class _Text(HTMLParser):
    """The visible text of an HTML page (no head, style or script)."""

    SKIPPED = {"head", "style", "script", "title"}
    BLOCKS = {"br", "p", "div", "tr", "h1", "h2", "h3", "h4", "li", "pre", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append("  ")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def page_text(html_text: str) -> str:
    """A feedback page as plain text: its text, blank lines collapsed."""
    parser = _Text()
    parser.feed(html_text)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()


# --- the platform's side ------------------------------------------------------------

def run_platform(assignment: str, submitted: Path, course_dir: Path, write, fail,
                 unsafe_no_sandbox: bool = False, notebook_timeout: float = NOTEBOOK_TIMEOUT) -> int:
    """Grade ``submitted`` and hand the result to ``write(graded, seconds)``; on any failure of
    the grader hand the reason to ``fail(reason, seconds)``. A results file is always written."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograder-platform-") as tmp:
        try:
            graded = grade_one(assignment, submitted, course_dir, Path(tmp), unsafe_no_sandbox, notebook_timeout)
        except PlatformError as error:
            fail(str(error), time.monotonic() - start)
            return 1
        except Exception as error:  # anything at all: the platform must still get a results file
            import traceback

            traceback.print_exc()
            fail(f"the grader failed ({type(error).__name__}: {error}); please tell the instructor",
                 time.monotonic() - start)
            return 1
        write(graded, time.monotonic() - start)
    return 0


def run_script(module: str, assignment: str, unsafe_no_sandbox: bool, notebook_timeout: float, **values) -> str:
    """The bash script a platform runs per submission (``values``: see :data:`RUN_SCRIPT`)."""
    options = f" --notebook-timeout {notebook_timeout:g}" + (" --unsafe-no-sandbox" if unsafe_no_sandbox else "")
    return RUN_SCRIPT.format(module=module, assignment=assignment, options=options, **values)


def main_of(module: str, root_variable: str, default_root: str, folder: str, run) -> Callable[..., int]:
    """The command line ``python -m autograder.<module> run ASSIGNMENT`` that a run script calls."""
    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m autograder.{module}",
                                         description=f"Grade ROOT/{folder}, write ROOT/results/results.json.")
        commands = parser.add_subparsers(dest="command", required=True)
        sub = commands.add_parser("run", help=f"grade ROOT/{folder}, write ROOT/results/results.json")
        sub.add_argument("assignment")
        sub.add_argument("--root", type=Path, default=Path(os.environ.get(root_variable, default_root)),
                         help=f"the platform's root (default: ${root_variable} or {default_root})")
        sub.add_argument("--course-package", type=Path, required=True, help="the exported course package")
        sub.add_argument("--unsafe-no-sandbox", action="store_true",
                         help="run student code even where no sandbox works (it can read the solutions)")
        sub.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT,
                         help=f"seconds of wall time for the notebook (default {NOTEBOOK_TIMEOUT})")
        args = parser.parse_args(argv)
        return run(args.assignment, args.root, args.course_package, args.unsafe_no_sandbox, args.notebook_timeout)

    return main


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def summary_lines(graded: Graded) -> list[str]:
    """What every platform says first: the score, the notes, the submission's problems."""
    lines = [f"{graded.assignment}: {graded.score:g} of {graded.max_score:g} autograded points."]
    manual = graded.manual()
    if manual:
        lines.append("Graded by hand later, not part of this score: " + ", ".join(
            f"{q['grade_id']} ({q['max_score']:g} points)" for q in manual) + ".")
    lines += [f"Note: {note}." for note in graded.notes]
    auto = [q for q in graded.student["questions"] if q["score"] is not None]
    if auto and all(q["score"] == 0 for q in auto):
        # a submission that could not be graded at all has one reason on every question
        reason, count = Counter(q["message"] for q in auto).most_common(1)[0]
        if reason and count > 1:
            lines.append(f"Problem: {reason}")
    return lines
