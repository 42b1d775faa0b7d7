"""Grade a batch of submissions with nbgrader: each alone, in parallel.

``python -m autograder grade ASSIGNMENT SUBMISSIONS_DIR --out OUT`` reads
``SUBMISSIONS_DIR/<student_id>/<notebook>.ipynb`` (and any other files) and
writes::

    OUT/grades.csv                      student_id,score,max_score   (autograded points)
    OUT/questions.csv                   student_id,grade_id,score,max_score,message
    OUT/feedback/<student_id>/<notebook>.html
    OUT/logs/<student_id>/<step>.log    nbgrader's own logs (for the instructor)
    OUT/autograded/<student_id>/<notebook>.ipynb   nbgrader's autograded notebook (hidden tests
                                        included: the instructor's copy, for formgrader)
    OUT/results.json                    every result as data (read by the report, the exports
                                        and the gradebook; see ``results_data``)

The pipeline, top to bottom:

1. ``read_assignment``   the graded cells of the source notebooks (order, points, manual or not);
2. ``make_template``     a private course where nbgrader's ``generate_assignment`` records the
                         assignment in a gradebook, once per assignment;
3. ``grade_submission``  for every student, in one of ``--workers`` grading workers
                         (:mod:`autograder.worker`: long-lived processes that import nbgrader once
                         and run its converters through its Python API):
   a. ``make_private_course``  config (with this run's limits), ``source/<id>``, a copy of the
                                template gradebook: no student sees another's files or grades;
   b. ``intake``               the submission goes to ``submitted/<student>/<id>/``; a notebook
                                that is missing or unreadable is left out, with the reason;
   c. ``autograde``            nbgrader's Autograde (``GuardedExecute``: a sandboxed student kernel
                                and a trusted checker kernel per notebook, each notebook stopped at
                                its limit); the time its cells ran comes back as data;
   d. ``generate_feedback``    with the course's feedback pipeline (no hidden tests);
   e. ``read_scores``          per-cell scores from the private gradebook (nbgrader's API);
   f. ``read_messages``        each failed test's ``ename: evalue`` from the autograded notebook;
   g. ``publish_feedback``     the HTML, checked once more for hidden-test lines;
   a worker that runs past the wall-time backstop (``backstop``) or dies is killed with
   every process of that submission and replaced; that student's rows say why;
4. ``write_csvs`` and ``write_results``; a progress bar on stderr meanwhile.

Whatever one submission does (invalid JSON, a deleted cell, a crash, an
endless loop) ends in that student's rows; the batch goes on.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests
from tqdm import tqdm

from autograder import execute, rules, worker
from autograder.course import Course, copy_assignment, notebook_names, write_config
from autograder.feedback import (
    MAX_FEEDBACK_BYTES,
    cut,
    error_message,
    find_leaks,
    name_questions,
    notebook_lines,
    notice_html,
    secret_lines,
)
from autograder.intake import cell_remarks, intake, read_notebook, sanitize_ids  # noqa: F401 (part of this module's API)
from autograder.nbgrader_config import CELL_TIMEOUT, NOTEBOOK_TIMEOUT
from autograder.nbgrader_config import c as course_config
from autograder.release import last_error
from autograder.sandbox import DISK_LIMIT, MEMORY_LIMIT, PROCESS_LIMIT
from autograder.worker import nbgrader_step

STARTUP_ALLOWANCE = 120  # s on top of the notebooks' limits before a grading worker is killed
CPU_MARGIN = 120  # s of CPU time a kernel process gets beyond the notebook's wall-time limit
MESSAGE_LENGTH = 2000  # characters of one test's message in questions.csv (readable in a spreadsheet cell)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV-injection rule: a spreadsheet evaluates these
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")  # "-1", "-0.5": no formula, left as is
MANUAL = "needs manual grading"

PRIVATE_LIMITS = '''
# Limits of this grading run (python -m autograder grade --timeout/--notebook-timeout/--memory-limit/
# --disk-limit/--process-limit) and its isolation
from autograder.nbgrader_config import timeout_error

c.Execute.timeout = {timeout}
c.Execute.error_on_timeout = timeout_error({timeout})
c.GuardedExecute.notebook_timeout = {notebook_timeout}
os.environ["AUTOGRADER_MEMORY_LIMIT"] = "{memory_limit}"  # read by the kernel's sandbox
os.environ["AUTOGRADER_DISK_LIMIT"] = "{disk_limit}"  # --disk-limit
os.environ["AUTOGRADER_PROCESS_LIMIT"] = "{process_limit}"  # --process-limit
os.environ["AUTOGRADER_CPU_LIMIT"] = "{cpu_limit}"  # the notebook's time and a margin
os.environ["AUTOGRADER_SANDBOX"] = "{sandbox}" or os.environ.get("AUTOGRADER_SANDBOX", "auto")
'''


class GradingError(RuntimeError):
    """The batch cannot be graded at all (the instructor's side, not a student's)."""


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    cell_timeout: int = CELL_TIMEOUT
    notebook_timeout: float = NOTEBOOK_TIMEOUT
    memory_limit: int = MEMORY_LIMIT  # bytes of address space per kernel (0: no limit)
    disk_limit: int = DISK_LIMIT  # bytes a kernel may write (0: no limit)
    process_limit: int = PROCESS_LIMIT  # processes and threads per kernel (0: no limit)
    sandbox: str = ""  # the kernels' AUTOGRADER_SANDBOX ("": the environment's, else auto)
    progress: bool = True  # a progress bar on stderr while a batch is graded
    log: Callable[[str], None] = print

    @property
    def cpu_limit(self) -> int:
        """Seconds of CPU time per kernel process: the notebook's wall time and a margin."""
        return int(self.notebook_timeout) + CPU_MARGIN if self.notebook_timeout > 0 else 0


# --- the assignment -------------------------------------------------------------

@dataclass(frozen=True)
class GradedCell:
    """A cell nbgrader gives points for, in source order."""

    notebook: str
    grade_id: str
    max_score: float
    autograded: bool  # a test cell; otherwise a manually graded answer or task
    answers: tuple[str, ...] = ()  # answer cells since the previous graded cell
    released: str | None = None  # a test cell's source as students got it (hidden tests removed)


@dataclass
class Assignment:
    name: str
    source: Path
    notebooks: list[str]
    cells: list[GradedCell]
    secrets: list[str]  # hidden-test lines that must never reach a student
    known_ids: dict[str, set[str]] = field(default_factory=dict)  # notebook -> every grade_id of its source
    gradebook: Path | None = None  # template gradebook with the assignment recorded
    binds: Path | None = None  # the sandbox's binds that enforce the answers' rules (autograder.rules)

    def cells_of(self, notebook: str) -> list[GradedCell]:
        return [cell for cell in self.cells if cell.notebook == notebook]


def read_assignment(source: Path) -> Assignment:
    """The graded cells of an assignment's source notebooks."""
    source = Path(source)
    notebooks = notebook_names(source)
    if not notebooks:
        raise GradingError(f"no notebook in {source}")
    cells, secrets, known_ids = [], [], {}
    for name in notebooks:
        nb = nbformat.read(source / f"{name}.ipynb", as_version=4)
        secrets += secret_lines(nb)
        released, _ = ClearHiddenTests().preprocess(copy.deepcopy(nb), {})
        released_sources = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in released.cells}
        known_ids[name] = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells} - {None}
        answers = []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell) or utils.is_task(cell):
                autograded = utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"
                points = float(cell.metadata["nbgrader"].get("points", 0))
                cells.append(GradedCell(name, grade_id, points, autograded, tuple(answers),
                                        released_sources.get(grade_id) if autograded else None))
                answers = []
            elif utils.is_solution(cell):
                answers.append(grade_id)
    return Assignment(source.name, source, notebooks, cells, secrets, known_ids=known_ids)


def make_template(course: Course, assignment: str, workdir: Path, options: Options) -> Assignment:
    """Record the assignment in a fresh gradebook, once, for every private course to copy
    (nbgrader's ``generate_assignment``, in a grading worker)."""
    info = read_assignment(course.source(assignment))
    root = workdir / f"template-{assignment}"
    make_private_course(root, course.source(assignment), None, options)
    with ThreadPoolExecutor(1) as beside:  # the rules' overlay is built here while a worker records
        binds = beside.submit(rules.prepare, course.source(assignment), workdir)
        run, _ = worker.call(nbgrader_step, root, "generate_assignment", assignment,
                             root / "generate_assignment.log",
                             wall_time=options.notebook_timeout * len(info.notebooks) + STARTUP_ALLOWANCE)
        info.binds = binds.result()
    if not run.ok:
        raise GradingError(f"nbgrader generate_assignment {assignment} failed: {last_error(run.log)}")
    info.gradebook = root / "gradebook.db"
    return info


def make_private_course(root: Path, source: Path, gradebook: Path | None, options: Options,
                        binds: Path | None = None) -> None:
    """A course folder of its own: config with this run's limits (and the rules' binds), source, gradebook."""
    config = PRIVATE_LIMITS.format(timeout=int(options.cell_timeout), memory_limit=int(options.memory_limit),
                                   notebook_timeout=float(options.notebook_timeout),
                                   disk_limit=int(options.disk_limit), process_limit=int(options.process_limit),
                                   cpu_limit=options.cpu_limit, sandbox=options.sandbox)
    if binds is not None:  # read by the student kernel's sandbox only; the checker has the whole cnnlib
        config += f'os.environ["AUTOGRADER_EXTRA_BINDS"] = {str(binds)!r}\n'
    write_config(root, config)
    copy_assignment(source, root / "source" / source.name)
    if gradebook is not None:
        shutil.copy(gradebook, root / "gradebook.db")


# --- one submission ----------------------------------------------------------

@dataclass
class Question:
    """One row of questions.csv."""

    student_id: str
    grade_id: str
    score: float | None  # None: graded by hand later
    max_score: float
    message: str = ""
    notebook: str = ""


@dataclass
class StudentResult:
    student_id: str
    questions: list[Question] = field(default_factory=list)
    feedback: list[Path] = field(default_factory=list)
    seconds: float = 0.0  # wall time of grading this submission
    code_seconds: float = 0.0  # of which the notebook's cells ran (student code and tests)

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions if q.score is not None)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions if q.score is not None)


def grade_submission(assignment: Assignment, student_dir: Path, out: Path, workdir: Path,
                     options: Options) -> StudentResult:
    """Grade one student's submission in a private course under ``workdir``.

    Runs in a grading worker (:mod:`autograder.worker`): nbgrader's converters run in
    this process; the notebooks' kernels are its children.
    """
    start = time.monotonic()
    student = student_dir.name
    root = workdir / f"{assignment.name}-{student}"
    make_private_course(root, assignment.source, assignment.gradebook, options, assignment.binds)
    submitted = root / "submitted" / student / assignment.name
    problems, notes = intake(assignment, student_dir, submitted)
    logs = out / "logs" / student
    logs.mkdir(parents=True, exist_ok=True)

    to_grade = [nb for nb in assignment.notebooks if nb not in problems]
    code_seconds = 0.0
    if to_grade:
        execute.TIMINGS.clear()
        run = nbgrader_step(root, "autograde", assignment.name, logs / "autograde.log")
        code_seconds = sum(timing["code_seconds"] for timing in execute.TIMINGS)
        autograded = root / "autograded" / student / assignment.name
        for nb in to_grade:
            if not (autograded / f"{nb}.ipynb").exists():
                problems[nb] = autograde_failure(run)
        if len(problems) < len(assignment.notebooks):
            nbgrader_step(root, "generate_feedback", assignment.name, logs / "generate_feedback.log")

    scores = read_scores(root / "gradebook.db", assignment.name, student)
    result = StudentResult(student, code_seconds=code_seconds)
    for nb in assignment.notebooks:
        tests, answers = ({}, {}) if nb in problems else read_messages(
            root / "autograded" / student / assignment.name / f"{nb}.ipynb")
        for cell in assignment.cells_of(nb):
            result.questions.append(question(student, cell, scores.get((nb, cell.grade_id), 0.0),
                                             problems.get(nb), notes.get(cell.grade_id, []), tests, answers))
        result.feedback.append(publish_feedback(assignment, nb, root, student, out, problems.get(nb),
                                                result.questions, options, notes))
        graded = root / "autograded" / student / assignment.name / f"{nb}.ipynb"
        if nb not in problems and graded.is_file():
            kept = out / "autograded" / student / f"{nb}.ipynb"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(graded, kept)
    shutil.rmtree(root, ignore_errors=True)  # a worker grades many submissions: its disk stays small
    result.seconds = time.monotonic() - start
    return result


def grade_or_explain(assignment: Assignment, student_dir: Path, out: Path, workdir: Path,
                     options: Options) -> StudentResult:
    """``grade_submission`` in a grading worker of this process (:mod:`autograder.worker`),
    stopped by the wall-time backstop; a failure of the grader itself, or a worker that
    overruns or dies, costs this student's rows (zero points, the reason as message),
    never the batch."""
    start = time.monotonic()
    try:
        result, lines = worker.call(grade_submission, assignment, student_dir, out, workdir, options=options,
                                    wall_time=backstop(assignment, options))
        for line in lines:
            options.log(line)
        return result
    except worker.WorkerLost as lost:
        problem = str(lost)
        options.log(f"ERROR while grading {student_dir.name}: {problem}")
    except Exception as error:  # anything at all: the other students must still be graded
        summary = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        problem = f"the grader failed on this submission ({summary}); please tell the instructor"
        options.log(f"ERROR while grading {student_dir.name}:\n{error}")
    result = StudentResult(student_dir.name, seconds=time.monotonic() - start)
    result.questions = [question(student_dir.name, cell, 0.0, problem, [], {}, {}) for cell in assignment.cells]
    return result


def backstop(assignment: Assignment, options: Options) -> float | None:
    """Seconds after which a worker grading one submission is killed (None: no limit). Each
    notebook stops itself at its limit (GuardedExecute); this catches what does not."""
    if options.notebook_timeout <= 0:
        return None
    return options.notebook_timeout * (len(assignment.notebooks) + 1) + STARTUP_ALLOWANCE


def autograde_failure(run) -> str:
    """Why nbgrader produced no autograded notebook."""
    if "DeadKernelError" in run.log or "Kernel died" in run.log:
        return ("the Python kernel died while running the notebook (a crash, os._exit or too much "
                "memory), so no test could be graded")
    return f"nbgrader could not grade the notebook: {last_error(run.log)}"


def read_scores(gradebook: Path, assignment: str, student: str) -> dict[tuple[str, str], float]:
    """(notebook, grade_id) -> score, from a private gradebook (empty if never graded)."""
    url = f"sqlite:///{gradebook}"
    with Gradebook(url, course_config.CourseDirectory.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        # the automatic score only, within 0..max: a manual or extra-credit entry in a private
        # gradebook is never the student's to make
        return {(nb.name, grade.name): min(max(float(grade.auto_score or 0.0), 0.0), float(grade.max_score))
                for nb in submission.notebooks for grade in nb.grades}


def read_messages(autograded: Path) -> tuple[dict[str, str], dict[str, str]]:
    """From the autograded notebook: grade_id -> message of each test cell ('' if it
    passed), and answer cell -> the error it raised when it ran."""
    nb = nbformat.read(autograded, as_version=4)
    tests, answers = {}, {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not grade_id or cell.cell_type != "code":
            continue
        if utils.is_grade(cell) and not utils.is_solution(cell):
            tests[grade_id] = test_message(cell)
        elif utils.is_solution(cell):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors:
                answers[grade_id] = output_message(errors)
    return tests, answers


def test_message(cell) -> str:
    """The message of one executed test cell: '' when it passed."""
    errors = [o for o in cell.outputs if o.output_type == "error"]
    if errors:
        return output_message(errors)
    stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    if stderr:
        return "the test wrote to stderr: " + one_line(stderr[0])
    score, max_score = utils.determine_grade(cell)
    if score is not None and score < max_score:
        return f"partial credit: {score:g} of {max_score:g}"
    return ""


def output_message(errors) -> str:
    """``ename: evalue`` of a cell's errors; a timeout wins over the interrupt it causes."""
    timeouts = [o for o in errors if o.get("ename") == "CellTimeoutError"]
    return one_line(error_message((timeouts or errors)[-1]))


def one_line(text: str) -> str:
    """A message on one CSV line: its lines joined by ' | ', the middle cut when very long
    (a test's last line often names the likely mistake), the cut saying how much was left out."""
    text, half = str(text), MESSAGE_LENGTH // 2
    if len(text) <= 4 * MESSAGE_LENGTH:
        whole = _one_line(text)
        if len(whole) <= MESSAGE_LENGTH:
            return whole
        head, tail, left_out = whole[:half], whole[-half:], len(whole) - 2 * half
    else:  # only the ends are shown: never join megabytes of lines
        first, last = _one_line(text[:2 * MESSAGE_LENGTH]), _one_line(text[-2 * MESSAGE_LENGTH:])
        head, tail = first[:half], last[-half:]
        left_out = len(text) - 4 * MESSAGE_LENGTH + len(first) - len(head) + len(last) - len(tail)
    return f"{head} … [{left_out:,} characters left out] … {tail}"


def _one_line(text: str) -> str:
    return " | ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def question(student: str, cell: GradedCell, score: float, problem: str | None, notes: list[str],
             tests: dict[str, str], answers: dict[str, str]) -> Question:
    """One row of questions.csv: the score, and a message that says why."""
    if not cell.autograded:
        return Question(student, cell.grade_id, None, cell.max_score,
                        MANUAL if problem is None else cut(f"{MANUAL}; {problem}"), cell.notebook)
    if problem is not None:
        return Question(student, cell.grade_id, 0.0, cell.max_score, cut("; ".join([problem, *notes])),
                        cell.notebook)
    parts = list(notes)
    if tests.get(cell.grade_id):
        parts.append(tests[cell.grade_id])
    if score < cell.max_score:
        parts += [f"answer cell {answer!r} itself failed: {answers[answer]}"
                  for answer in cell.answers if answer in answers]
    return Question(student, cell.grade_id, score, cell.max_score, cut("; ".join(parts)), cell.notebook)


def publish_feedback(assignment: Assignment, nb: str, root: Path, student: str, out: Path,
                     problem: str | None, questions: list[Question], options: Options,
                     notes: dict[str, list[str]] | None = None) -> Path:
    """Copy the feedback HTML to OUT/feedback/<student>/, or write a notice page instead."""
    target = out / "feedback" / student / f"{nb}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    html_file = root / "feedback" / student / assignment.name / f"{nb}.html"
    cells = {cell.grade_id for cell in assignment.cells_of(nb)}
    mine = [q.__dict__ | {"score": "" if q.score is None else f"{q.score:g}", "max_score": f"{q.max_score:g}"}
            for q in questions if q.grade_id in cells]
    if problem is None and html_file.is_file() and html_file.stat().st_size > MAX_FEEDBACK_BYTES:
        problem = (f"The detailed feedback for this notebook would be {html_file.stat().st_size / 2**20:.1f} MiB "
                   f"(at most {MAX_FEEDBACK_BYTES // 2**20} MiB are shown); here are your results.")
    elif problem is None and html_file.exists():
        text = html_file.read_text(encoding="utf-8", errors="replace")
        # a line the student wrote may be shown back to them, even if a hidden test has it too
        submitted = root / "submitted" / student / assignment.name / f"{nb}.ipynb"
        written = notebook_lines(nbformat.read(submitted, as_version=4))
        leaks = find_leaks(text, [line for line in assignment.secrets if line not in written])
        if not leaks:
            auto = [q for q in questions if q.grade_id in cells and q.score is not None]
            page = name_questions(text, sum(q.score for q in auto), sum(q.max_score for q in auto),
                                  {q.grade_id for q in questions if q.grade_id in cells and q.score is None},
                                  {g: "; ".join(n) for g, n in (notes or {}).items() if g in cells})
            data = page.encode("utf-8", "backslashreplace")
            if len(data) <= MAX_FEEDBACK_BYTES:
                target.write_bytes(data)
                return target
            problem = (f"The detailed feedback for this notebook would be {len(data) / 2**20:.1f} MiB "
                       f"(at most {MAX_FEEDBACK_BYTES // 2**20} MiB are shown); here are your results.")
        else:
            options.log(f"WARNING: feedback of {student} quoted {len(leaks)} hidden-test line(s); "
                        "a summary page was written instead")
            problem = "The detailed feedback for this notebook is not available; here are your results."
    elif problem is None:
        problem = "nbgrader could not write the detailed feedback for this notebook; here are your results."
    target.write_bytes(notice_html(f"{assignment.name} / {nb}", problem, mine).encode("utf-8", "backslashreplace"))
    return target


# --- the batch -------------------------------------------------------------------

@dataclass
class Batch:
    """One assignment's submissions and where its results go."""

    assignment: str
    submissions: Path
    out: Path
    results: list[StudentResult] = field(default_factory=list)


def students(submissions: Path) -> list[Path]:
    """The student folders of a submissions folder (hidden and ``_``/``.`` folders skipped)."""
    return sorted(p for p in Path(submissions).iterdir() if p.is_dir() and p.name[0] not in "._")


def grade(course: Course, assignment: str, submissions: Path, out: Path, options: Options) -> Batch:
    """Grade every submission of one assignment (see the module docstring)."""
    return grade_batches(course, [Batch(assignment, Path(submissions), Path(out))], options)[0]


def grade_batches(course: Course, batches: list[Batch], options: Options) -> list[Batch]:
    """Grade several assignments' submissions with ``options.workers`` grading workers
    (:mod:`autograder.worker`), a progress bar on stderr (``options.progress``)."""
    for batch in batches:
        if not Path(batch.submissions).is_dir():
            raise GradingError(f"no submissions folder {batch.submissions}")
    workers = max(1, options.workers)
    worker.POOL.start(workers)
    try:
        # the templates (and the rules' overlays, in this process) are made once the workers have
        # imported nbgrader: on the same cores, they slowed the imports every submission waits for
        worker.POOL.wait_ready()
        with tempfile.TemporaryDirectory(prefix="autograder-") as tmp, ThreadPoolExecutor(workers) as pool:
            workdir = Path(tmp)
            names = sorted({batch.assignment for batch in batches})
            templates = dict(zip(names, pool.map(lambda a: make_template(course, a, workdir, options), names)))
            # the assignments taken in turn: a slow assignment's submissions (or one that hangs) do
            # not all queue at the end, where they would leave workers idle
            queues = [[(batch, student_dir) for student_dir in students(batch.submissions)] for batch in batches]
            todo = [job for turn in itertools.zip_longest(*queues) for job in turn if job is not None]
            for batch in batches:
                clear_results(batch.out)
            with progress_bar(len(todo), options) as (bar, log):
                logged = replace(options, log=log)
                jobs = {pool.submit(grade_or_explain, templates[batch.assignment], student_dir, batch.out,
                                    workdir, logged): batch for batch, student_dir in todo}
                for done, job in enumerate(as_completed(jobs), 1):
                    batch, result = jobs[job], job.result()
                    batch.results.append(result)
                    bar.update(1)
                    log(f"[{done}/{len(jobs)}] {batch.assignment} {result.student_id}: "
                        f"{result.score:g}/{result.max_score:g} ({result.seconds:.0f} s)")
    finally:
        worker.POOL.close()
    for batch in batches:
        batch.results.sort(key=lambda r: r.student_id)
        write_csvs(batch)
        write_results(batch)
    return batches


@contextmanager
def progress_bar(total: int, options: Options):
    """(tqdm bar on stderr: count, rate, time left; the log function that prints above it)."""
    bar = tqdm(total=total, unit="submission", file=sys.stderr, disable=not options.progress,
               dynamic_ncols=True, smoothing=0.1)
    printing = options.log is print and options.progress
    try:
        yield bar, (lambda line: tqdm.write(line, file=sys.stdout)) if printing else options.log
    finally:
        bar.close()


def clear_results(out: Path) -> None:
    """Remove an earlier run's results from OUT (and only those)."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("feedback", "logs", "autograded"):
        shutil.rmtree(out / folder, ignore_errors=True)
    for table in ("grades.csv", "questions.csv", "results.json"):
        (out / table).unlink(missing_ok=True)


def spreadsheet_text(value) -> str:
    """A text cell of a CSV file that is safe to open in a spreadsheet: at most
    :data:`MAX_MESSAGE` bytes (the cut marked), no character UTF-8 cannot hold, and a
    leading quote on what a spreadsheet would evaluate as a formula (OWASP's rule;
    a plain number such as "-1" is no formula and stays as it is)."""
    text = cut(str(value).encode("utf-8", "backslashreplace").decode("utf-8"))
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def results_data(batch: Batch) -> dict:
    """A batch's results as plain data (OUT/results.json): per student the scores, the
    wall time, and per graded cell its notebook, score (None: graded by hand), maximum
    and message. The CSVs, the report and the exports all say the same."""
    return {
        "assignment": batch.assignment,
        "students": [{
            "student_id": r.student_id, "score": r.score, "max_score": r.max_score,
            "seconds": round(r.seconds, 3), "code_seconds": round(r.code_seconds, 3),
            "questions": [{"notebook": q.notebook, "grade_id": q.grade_id, "score": q.score,
                           "max_score": q.max_score, "message": q.message} for q in r.questions],
        } for r in batch.results],
    }


def write_results(batch: Batch) -> None:
    """OUT/results.json (see :func:`results_data`)."""
    text = json.dumps(results_data(batch), indent=1, ensure_ascii=False)
    (batch.out / "results.json").write_text(text + "\n", encoding="utf-8")


def write_csvs(batch: Batch) -> None:
    """OUT/grades.csv and OUT/questions.csv, students sorted, cells in notebook order.
    Scores are numbers as written by the grader; every text cell goes through
    :func:`spreadsheet_text` (student ids are folder names, messages quote student code)."""
    with open(batch.out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "score", "max_score"])
        for r in batch.results:
            writer.writerow([spreadsheet_text(r.student_id), f"{r.score:g}", f"{r.max_score:g}"])
    with open(batch.out / "questions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "grade_id", "score", "max_score", "message"])
        for r in batch.results:
            for q in r.questions:
                writer.writerow([spreadsheet_text(q.student_id), spreadsheet_text(q.grade_id),
                                 "" if q.score is None else f"{q.score:g}", f"{q.max_score:g}",
                                 spreadsheet_text(q.message)])
