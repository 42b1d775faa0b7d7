"""Command line: ``python -m autograder release|grade|demo``.

    python -m autograder release [ASSIGNMENT...]        validate sources, build student versions
    python -m autograder grade ASSIGNMENT SUBMISSIONS_DIR --out OUT [--workers N] [--timeout S]
                                                        [--notebook-timeout S] [--memory-limit GIB]
    python -m autograder demo [ASSIGNMENT...] [--workers N] [--out DIR]
                                                        release everything, grade every sample

All take ``--course DIR`` (default ./course), the nbgrader course folder they
prepare and use, and ``--assignments DIR`` (default: the repository's
assignments/), where the source notebooks come from.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR
from autograder.course import CourseError, find_assignments, prepare_course
from autograder.grading import GradingError, Options, grade
from autograder.nbgrader_config import CELL_TIMEOUT, NOTEBOOK_TIMEOUT
from autograder.release import release, summary
from autograder.sandbox import MEMORY_LIMIT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, workers_help="parallel nbgrader runs (default: number of CPUs)"):
        sub.add_argument("--course", type=Path, default=Path("course"),
                         help="the nbgrader course folder (default: ./course)")
        sub.add_argument("--assignments", type=Path, default=ASSIGNMENTS_DIR,
                         help="folder of assignment sources (default: the repository's assignments/)")
        sub.add_argument("--workers", type=int, default=os.cpu_count() or 1, help=workers_help)

    def limits(sub):
        sub.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                         help=f"seconds one cell may run (default {CELL_TIMEOUT})")
        sub.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT,
                         help=f"seconds of wall time for a whole notebook (default {NOTEBOOK_TIMEOUT})")
        sub.add_argument("--memory-limit", type=float, default=MEMORY_LIMIT / 1024 ** 3, metavar="GIB",
                         help=f"memory per notebook kernel in GiB, 0 for none (default {MEMORY_LIMIT / 1024 ** 3:g})")

    sub = commands.add_parser("release", help="validate sources and build the student versions")
    sub.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    common(sub)

    sub = commands.add_parser("grade", help="grade a folder of submissions")
    sub.add_argument("assignment")
    sub.add_argument("submissions", type=Path, help="SUBMISSIONS_DIR/<student_id>/<notebook>.ipynb")
    sub.add_argument("--out", type=Path, required=True, help="where the CSVs and feedback go")
    common(sub)
    limits(sub)

    sub = commands.add_parser("demo", help="release all assignments and grade every sample submission")
    sub.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    sub.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default: ./demo-out)")
    sub.add_argument("--samples", type=Path, default=SAMPLES_DIR,
                     help="sample submissions, <id>/<student>/ and <id>/manifest.json (default: autograder/samples)")
    common(sub)
    limits(sub)

    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            return run_release(args)
        if args.command == "grade":
            return run_grade(args)
        from autograder.demo import demo

        return demo(args)
    except (CourseError, GradingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


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
    course = prepare_course(args.course, [args.assignment], args.assignments)
    options = limits_of(args)
    start = time.monotonic()
    batch = grade(course, args.assignment, args.submissions, args.out, options)
    seconds = time.monotonic() - start
    n = len(batch.results)
    print(f"graded {n} submission(s) of {args.assignment} in {seconds:.0f} s "
          f"({seconds / max(n, 1):.1f} s per submission, {args.workers} worker(s))")
    for r in batch.results:
        failed = [q.grade_id for q in r.questions if q.score is not None and q.score < q.max_score]
        print(f"  {r.student_id:<24} {r.score:g}/{r.max_score:g}" + (f"   lost points on: {', '.join(failed)}" if failed else ""))
    print(f"results: {args.out / 'grades.csv'}, {args.out / 'questions.csv'}, {args.out / 'feedback'}/")
    return 0


def limits_of(args) -> Options:
    """Options of a grading run from the command line's limits."""
    return Options(workers=args.workers, cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                   memory_limit=int(args.memory_limit * 1024 ** 3))


if __name__ == "__main__":
    sys.exit(main())
