"""Grading speed: plain nbgrader next to ``grade --workers 1`` and ``--workers 2``.

    python benchmarks/grading.py [ASSIGNMENT...] [--students N] [--workers 1 2] [--timeout 30]

All runs grade the same submissions (every sample submission of each assignment,
default ``parameter_counting``: 24 students, the honest ones and the crashes,
endless loops and syntax errors; ``--students N`` takes the first N) in one
course folder, with the course's configuration (same kernel spec, same executor).
A batch's start (workers importing nbgrader, the assignment's template) costs
about a second whatever the worker count: on six submissions it is a sixth of a
two-worker run, on a class of 300 nothing (benchmarks/NOTES.md).

- **plain nbgrader**: the submissions copied to ``course/submitted/``, then
  ``nbgrader autograde ASSIGNMENT`` and ``nbgrader generate_feedback ASSIGNMENT``,
  one process each, as an instructor runs them in the activated venv;
- **grade --workers N**: ``grading.grade_batches`` as ``python -m autograder grade``
  runs it (template gradebook, a private course per submission, worker processes,
  CSVs and feedback pages), for each N of ``--workers``.

Prints seconds per submission side by side, the ratio of each grader run to plain
nbgrader and the speed-up of each worker count over the first, the machine's busy
CPU seconds and busy cores during each run, and its load average (other jobs slow
every figure and count in the CPU columns). Nothing is asserted. Everything is
written to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import REPO_DIR, SAMPLES_DIR  # noqa: E402
from autograder.course import prepare_course  # noqa: E402
from autograder.grading import Batch, Options, grade_batches, students  # noqa: E402


def plain_environment() -> dict[str, str]:
    """An instructor's shell in the activated venv: no grader variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "AUTOGRADER"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_DIR), os.environ.get("PYTHONPATH", "")])
    # nbgrader runs the `alembic` executable by name (gradebook migrations)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return env


def nbgrader(course: Path, *args: str) -> float:
    """Seconds of ``nbgrader ARGS`` in the course folder (a failed submission is fine)."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=plain_environment(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=7200)
    return time.monotonic() - start


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (/proc/stat), all cores together. The grader's
    kernels are killed rather than waited for, so their CPU time never reaches this process's
    children's rusage (which counted a third of it): on a quiet machine the busy time is what
    the run cost. Elsewhere, this process's and its waited-for children's CPU time."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="*", default=["parameter_counting"])
    parser.add_argument("--students", type=int, default=0, help="sample submissions per assignment (0: all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=30, help="seconds per cell")
    parser.add_argument("--samples", type=Path, default=SAMPLES_DIR, help="sample submissions folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        tmp = Path(tmp)
        chosen = {}
        for assignment in args.assignment:
            found = students(args.samples / assignment)
            chosen[assignment] = found[:args.students] if args.students > 0 else found
            for student in chosen[assignment]:
                shutil.copytree(student, tmp / "submissions" / assignment / student.name)
        count = sum(len(s) for s in chosen.values())
        print(f"{count} submissions: " + "; ".join(f"{a}: {', '.join(s.name for s in chosen[a])}"
                                                    for a in chosen), flush=True)
        course = prepare_course(tmp / "course", list(chosen))
        # the course's timeout, as in the graded runs
        with open(course.root / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.Execute.timeout = {args.timeout}\n")
        for assignment, found in chosen.items():
            nbgrader(course.root, "generate_assignment", assignment, "--force")
            for student in found:
                shutil.copytree(student, course.root / "submitted" / student.name / assignment)

        rows = []
        before, cpu = load(), cpu_seconds()
        seconds = sum(nbgrader(course.root, step, assignment)
                      for assignment in chosen for step in ("autograde", "generate_feedback"))
        rows.append(("plain nbgrader (autograde + generate_feedback)", seconds, cpu_seconds() - cpu,
                     f"{before}, then {load()}"))
        print(f"{rows[-1][0]}: {seconds:.1f} s, CPU {rows[-1][2]:.1f} s ({rows[-1][3]})", flush=True)
        for workers in args.workers:
            batches = [Batch(a, tmp / "submissions" / a, tmp / f"out-{workers}" / a) for a in chosen]
            options = Options(workers=workers, cell_timeout=args.timeout, progress=False, log=lambda line: None)
            before, cpu, start = load(), cpu_seconds(), time.monotonic()
            grade_batches(course, batches, options)
            seconds = time.monotonic() - start
            rows.append((f"grade --workers {workers}", seconds, cpu_seconds() - cpu, f"{before}, then {load()}"))
            results = [r for b in batches for r in b.results]
            code = sum(r.code_seconds for r in results) / count
            print(f"{rows[-1][0]}: {seconds:.1f} s, CPU {rows[-1][2]:.1f} s ({rows[-1][3]}); "
                  f"cells ran {code:.2f} s per submission", flush=True)

    plain, plain_cpu = rows[0][1], rows[0][2]
    first = rows[1][1] if len(rows) > 1 else None
    print(f"\n{'per submission':48} {'wall s':>7} {'x plain':>8} {'speed-up':>9} {'CPU s':>6} {'x plain':>8}"
          f" {'cores':>6}   load average (1 min)")
    for name, seconds, cpu, loads in rows:
        speedup = f"{first / seconds:8.2f}x" if first and name != rows[0][0] else ""
        print(f"{name:48} {seconds / count:7.2f} {seconds / plain:7.2f}x {speedup:>9} {cpu / count:6.2f} "
              f"{cpu / plain_cpu:7.2f}x {cpu / seconds:6.2f}   {loads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
