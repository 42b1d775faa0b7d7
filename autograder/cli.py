"""Command line: ``python -m autograder release|grade|demo|export``.

    python -m autograder release [ASSIGNMENT...]        validate sources, build student versions
    python -m autograder grade ASSIGNMENT SUBMISSIONS_DIR --out OUT [--workers N] [--timeout S]
                                                        [--notebook-timeout S] [--memory-limit GIB]
                                                        [--disk-limit MIB] [--process-limit N]
                                                        [--unsafe-no-sandbox] [--scheduler ADDRESS]
    python -m autograder demo [ASSIGNMENT...] [--workers N] [--out DIR]
                                                        release everything, grade every sample
    python -m autograder export gradescope ASSIGNMENT --out autograder.zip
    python -m autograder export prairielearn ASSIGNMENT --out DIR
                                                        an autograder for the platform
    python -m autograder export csv|canvas ASSIGNMENT --out FILE [--roster CANVAS_EXPORT.csv]
                                                        final grades from the course gradebook
                                                        (automatic and manual points)

grade and demo print the isolation student code gets (AUTOGRADER_SANDBOX=auto|bwrap|unshare|none)
and write it with the limits to OUT/run.json; without a sandbox, grade refuses to run
submissions unless --unsafe-no-sandbox is given. After a batch, both record every graded
submission in the course folder's nbgrader gradebook (autograder/gradebook.py), where
formgrader grades the written answers.

All take ``--course DIR`` (default ./course), the nbgrader course folder they
prepare and use, and ``--assignments DIR`` (default: the repository's
assignments/), where the source notebooks come from.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR
from autograder.course import CourseError, find_assignments, prepare_course
from autograder.gradebook import GradebookError, record
from autograder.grading import GradingError, grade
from autograder.nbgrader_config import CELL_TIMEOUT, NOTEBOOK_TIMEOUT
from autograder.release import release, summary
from autograder.report import write_report
from autograder.runs import choose_isolation, limits_of, write_run_info
from autograder.sandbox import DISK_LIMIT, MEMORY_LIMIT, PROCESS_LIMIT

# `export FORMAT`; each format's code is its own module
EXPORT_FORMATS = ["gradescope", "prairielearn", "csv", "canvas"]


def default_workers() -> int:
    """One grading worker more than CPUs: a worker waits for its kernels to start, answer and
    stop for part of each submission (benchmarks/NOTES.md, "Two waits per notebook removed")."""
    return (os.cpu_count() or 1) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, workers_help="parallel nbgrader runs (default: number of CPUs + 1)"):
        sub.add_argument("--course", type=Path, default=Path("course"),
                         help="the nbgrader course folder (default: ./course)")
        sub.add_argument("--assignments", type=Path, default=ASSIGNMENTS_DIR,
                         help="folder of assignment sources (default: the repository's assignments/)")
        sub.add_argument("--workers", type=int, default=default_workers(), help=workers_help)

    def limits(sub):
        sub.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                         help=f"seconds one cell may run (default {CELL_TIMEOUT})")
        sub.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT,
                         help=f"seconds of wall time for a whole notebook (default {NOTEBOOK_TIMEOUT})")
        sub.add_argument("--memory-limit", type=float, default=MEMORY_LIMIT / 1024 ** 3, metavar="GIB",
                         help=f"memory per notebook kernel in GiB, 0 for none (default {MEMORY_LIMIT / 1024 ** 3:g})")
        sub.add_argument("--disk-limit", type=float, default=DISK_LIMIT / 1024 ** 2, metavar="MIB",
                         help="disk a notebook kernel may write in MiB, 0 for none "
                              f"(default {DISK_LIMIT // 1024 ** 2})")
        sub.add_argument("--process-limit", type=int, default=PROCESS_LIMIT, metavar="N",
                         help=f"processes and threads per notebook kernel, 0 for none (default {PROCESS_LIMIT})")
        sub.add_argument("--unsafe-no-sandbox", action="store_true",
                         help="run student code even where no sandbox works (only code you trust)")

    sub = commands.add_parser("release", help="validate sources and build the student versions")
    sub.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    common(sub)

    sub = commands.add_parser("grade", help="grade a folder of submissions")
    sub.add_argument("assignment")
    sub.add_argument("submissions", type=Path, help="SUBMISSIONS_DIR/<student_id>/<notebook>.ipynb")
    sub.add_argument("--out", type=Path, required=True, help="where the CSVs and feedback go")
    sub.add_argument("--scheduler", metavar="ADDRESS",
                     help="grade on the Dask cluster of this scheduler (tcp://HOST:8786) instead of here")
    common(sub)
    limits(sub)

    sub = commands.add_parser("demo", help="release all assignments and grade every sample submission")
    sub.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    sub.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default: ./demo-out)")
    sub.add_argument("--samples", type=Path, default=SAMPLES_DIR,
                     help="sample submissions, <id>/<student>/ and <id>/manifest.json "
                          "(default: the repository's samples/)")
    common(sub)
    limits(sub)

    sub = commands.add_parser("export", help="an autograder for another platform, or final grades")
    sub.add_argument("format", choices=EXPORT_FORMATS, help="what to write (each format is its own module)")
    sub.add_argument("assignment")
    sub.add_argument("--out", type=Path, required=True, help="the file or folder to write")
    sub.add_argument("--assignments", type=Path, default=ASSIGNMENTS_DIR,
                     help="folder of assignment sources (default: the repository's assignments/)")
    sub.add_argument("--unsafe-no-sandbox", action="store_true",
                     help="gradescope, prairielearn: grade even where the platform's container has no sandbox "
                          "(student code can then read the solutions there)")
    sub.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT,
                     help=f"gradescope, prairielearn: seconds of wall time for a notebook (default "
                          f"{NOTEBOOK_TIMEOUT}); the platform's own timeout must be longer (the command says how long)")
    sub.add_argument("--course", type=Path, default=Path("course"),
                     help="csv, canvas: the course folder whose gradebook holds the grades (default: ./course)")
    sub.add_argument("--roster", type=Path,
                     help="canvas: the course's gradebook exported from Canvas; students are matched by --roster-key")
    sub.add_argument("--roster-key", default="SIS Login ID",
                     help="canvas: the roster column that holds the student ids (default: SIS Login ID)")
    sub.add_argument("--canvas-column",
                     help="canvas: the assignment's column title, 'Name (Canvas id)' for an existing assignment "
                          "(default: the assignment id, a new assignment)")

    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            return run_release(args)
        if args.command == "grade":
            return run_grade(args)
        if args.command == "export":
            return run_export(args)
        from autograder.demo import demo

        return demo(args)
    except (CourseError, GradingError, GradebookError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_export(args) -> int:
    """Write ASSIGNMENT's export in FORMAT."""
    if args.format in ("gradescope", "prairielearn"):  # an autograder for the platform (autograder/<format>.py)
        module = importlib.import_module(f"autograder.{args.format}")
        out = module.export(args.assignment, args.out, args.assignments, args.unsafe_no_sandbox, args.notebook_timeout)
        print(module.describe(args.assignment, out, args.assignments, args.notebook_timeout))
        return 0
    if args.format in ("csv", "canvas"):  # final grades from the course gradebook (autograder/export_grades.py)
        from autograder.export_grades import export

        return export(args)
    raise CourseError(f"unknown export format {args.format!r}")


def run_release(args) -> int:
    assignments = args.assignment or find_assignments(args.assignments)
    if not assignments:
        print(f"error: no assignment in {args.assignments}", file=sys.stderr)
        return 2
    course = prepare_course(args.course, assignments, args.assignments)
    reports = release(course, assignments, args.workers)
    print(summary(reports, course.root))
    return 0 if all(r.ok for r in reports) else 1


def run_grade(args) -> int:
    if args.scheduler:
        from autograder import cluster

        if cluster.choose_isolation(args) is None:  # the workers run student code, not this machine
            return 2
    elif choose_isolation(args, bundled=False) is None:
        return 2
    course = prepare_course(args.course, [args.assignment], args.assignments)
    options = limits_of(args)
    write_run_info(args.out, options, args)
    start = time.monotonic()
    if args.scheduler:
        batch = cluster.grade(course, args.assignment, args.submissions, args.out, options, args.scheduler,
                              args.unsafe_no_sandbox)
    else:
        batch = grade(course, args.assignment, args.submissions, args.out, options)
    seconds = time.monotonic() - start
    n = len(batch.results)
    print(f"graded {n} submission(s) of {args.assignment} in {seconds:.0f} s "
          f"({seconds / max(n, 1):.1f} s per submission, "
          f"{'Dask scheduler ' + args.scheduler if args.scheduler else str(args.workers) + ' worker(s)'})")
    for r in batch.results:
        failed = [q.grade_id for q in r.questions if q.score is not None and q.score < q.max_score]
        lost = f"   lost points on: {', '.join(failed)}" if failed else ""
        print(f"  {r.student_id:<24} {r.score:g}/{r.max_score:g}{lost}")
    print(f"results: {args.out / 'grades.csv'}, {args.out / 'questions.csv'}, {args.out / 'feedback'}/")
    print(f"class report: {write_report(args.out)}")
    # formgrader's gradebook: written answers are graded there, exports read it
    print(record(course, batch).summary(course))
    return 0
