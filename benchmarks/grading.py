"""Grading speed: every sample submission, graded with 1 worker and with 2.

    python benchmarks/grading.py [ASSIGNMENT...] [--workers 1 2] [--timeout 30]

Prints the wall time of each run, seconds per submission, the speed-up over
the first worker count, and how much of one submission's time is spent in its
notebook's cells (student code and tests) versus the grader's own overhead. Nothing is asserted: the numbers depend on the
machine (nbgrader's start-up, about two Python processes per submission,
dominates small notebooks). Everything is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import SAMPLES_DIR  # noqa: E402
from autograder.course import prepare_course  # noqa: E402
from autograder.grading import Batch, Options, grade_batches  # noqa: E402
from autograder.samples import assignments_with_variants, load_manifest  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="*", help="default: every assignment with samples")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=30, help="seconds per cell")
    parser.add_argument("--samples", type=Path, default=SAMPLES_DIR, help="sample submissions folder")
    args = parser.parse_args(argv)
    assignments = args.assignment or [a for a in assignments_with_variants(args.samples)
                                      if (args.samples / a / "manifest.json").exists()]
    if not assignments:
        print("no sample submissions to grade (python -m autograder.samples build)")
        return 1
    count = sum(len(load_manifest(a, args.samples)["students"]) for a in assignments)
    print(f"{count} sample submissions of {', '.join(assignments)}")

    timings = []
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course = prepare_course(Path(tmp) / "course", assignments)
        for workers in args.workers:
            batches = [Batch(a, args.samples / a, Path(tmp) / f"out-{workers}" / a) for a in assignments]
            options = Options(workers=workers, cell_timeout=args.timeout, log=lambda line: None)
            start = time.monotonic()
            grade_batches(course, batches, options)
            seconds = time.monotonic() - start
            timings.append((workers, seconds))
            results = [r for b in batches for r in b.results]
            own = sum(r.seconds for r in results) / count  # one submission's wall time, start to end
            code = sum(r.code_seconds for r in results) / count  # of which its cells ran
            print(f"{workers} worker(s): {seconds:7.1f} s wall, {seconds / count:5.2f} s per submission, "
                  f"speed-up {timings[0][1] / seconds:4.2f}x; one submission takes {own:5.2f} s, of which "
                  f"{code:5.2f} s in its cells and {own - code:5.2f} s grader overhead "
                  "(nbgrader start-ups, kernel start, sandbox, feedback)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
