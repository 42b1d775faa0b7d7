"""The course's main job: ``python -m autograder demo``.

1. release every assignment (validate the source, generate the student version,
   validate that) into the course folder;
2. meanwhile, grade every sample submission of every assignment (``samples/``),
   all in one pool of workers (grading reads the source, not the release);
3. print the gradebook (student x assignment);
4. compare every per-question score (and expected feedback words) with the
   samples' manifests, and print the mismatches;
5. record every graded submission in the course's nbgrader gradebook (formgrader);
6. say where the CSVs and the feedback are.

Exit status 0 only when every assignment was released and every score matches.
"""

from __future__ import annotations

import csv
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder import SAMPLES_DIR, worker
from autograder.course import find_assignments, prepare_course
from autograder.gradebook import record
from autograder.grading import Batch, grade_batches
from autograder.release import release, summary
from autograder.report import write_report
from autograder.runs import choose_isolation, limits_of, write_run_info
from autograder.samples import load_manifest


def demo(args) -> int:
    start = time.monotonic()
    samples = Path(getattr(args, "samples", SAMPLES_DIR))
    # only the bundled samples may run without a sandbox (with a notice)
    if choose_isolation(args, bundled=samples.resolve() == Path(SAMPLES_DIR).resolve()) is None:
        return 2
    write_run_info(Path(args.out), limits_of(args), args)
    assignments = getattr(args, "assignment", None) or find_assignments(args.assignments)
    if not assignments:
        print(f"no assignment in {args.assignments}")
        return 1
    course = prepare_course(args.course, assignments, args.assignments)

    # Grading reads the instructor's source, not the release, so the releases run beside it
    # (one at a time: the grading workers keep the cores busy); a refused assignment's
    # samples are graded for nothing and left out below.
    with_samples = [a for a in assignments if (samples / a / "manifest.json").exists()]
    out = Path(args.out)
    batches = [Batch(a, samples / a, out / a) for a in with_samples]
    total = sum(len(load_manifest(a, samples)["students"]) for a in with_samples)
    print(f"== release {len(assignments)} assignment(s) into {course.root}, and meanwhile")
    print(f"== grade {total} sample submission(s) with {args.workers} worker(s)")
    worker.POOL.start(args.workers)  # the grading workers import nbgrader while the releases start
    options = limits_of(args)
    grade_start = time.monotonic()
    with ThreadPoolExecutor(1) as releasing:
        releases = releasing.submit(release, course, assignments, 1)
        try:
            grade_batches(course, batches, options)
        finally:
            reports = releases.result()
    grade_seconds = time.monotonic() - grade_start
    print("\n" + summary(reports, course.root))
    released = [r.assignment for r in reports if r.ok]
    batches = [batch for batch in batches if batch.assignment in released]
    no_samples = [a for a in released if a not in with_samples]
    for batch in batches:
        write_report(batch.out)

    print("\n== gradebook (autograded points)")
    print(gradebook_table(batches))
    write_gradebook(batches, out / "gradebook.csv")

    mismatches = [m for batch in batches
                  for m in compare_with_manifest(batch, load_manifest(batch.assignment, samples))]
    print("\n== comparison with the manifests")
    if mismatches:
        print("\n".join(f"MISMATCH {m}" for m in mismatches))
    else:
        print(f"all {sum(len(b.results) for b in batches)} submissions match their manifests, question by question")
    if no_samples:
        print(f"(no samples for: {', '.join(no_samples)})")

    print("\n== course gradebook (written answers are graded in formgrader)")
    for batch in batches:
        print(record(course, batch).summary(course))

    refused = [r.assignment for r in reports if not r.ok]
    print(f"\n== results in {out.resolve()}")
    print(f"  {out / 'gradebook.csv'}")
    for batch in batches:
        print(f"  {batch.out}/grades.csv, questions.csv, report.html, feedback/<student>/*.html")
    print(f"grading: {grade_seconds:.0f} s for {total} submissions "
          f"({grade_seconds / max(total, 1):.1f} s each); demo: {time.monotonic() - start:.0f} s in all")
    if refused:
        print(f"NOT RELEASED: {', '.join(refused)}")
    return 0 if not refused and not mismatches else 1


def compare_with_manifest(batch: Batch, manifest: dict) -> list[str]:
    """Every way the graded batch differs from what the manifest expects."""
    problems = []
    results = {r.student_id: r for r in batch.results}
    for student in sorted(set(results) - set(manifest["students"])):
        problems.append(f"{batch.assignment}/{student}: graded, but not in the manifest")
    for student, expected in sorted(manifest["students"].items()):
        if student not in results:
            problems.append(f"{batch.assignment}/{student}: in the manifest, but no submission folder")
            continue
        questions = {q.grade_id: q for q in results[student].questions if q.score is not None}
        for grade_id, score in sorted(expected["expected"].items()):
            q = questions.get(grade_id)
            if q is None:
                problems.append(f"{batch.assignment}/{student}/{grade_id}: not graded")
            elif abs(q.score - score) > 1e-9:
                problems.append(f"{batch.assignment}/{student}/{grade_id}: expected {score:g}, got {q.score:g}"
                                + (f" ({q.message})" if q.message else ""))
        for grade_id in sorted(set(questions) - set(expected["expected"])):
            problems.append(f"{batch.assignment}/{student}/{grade_id}: graded, but not in the manifest")
        for grade_id, words in sorted(expected.get("feedback", {}).items()):
            q = questions.get(grade_id)
            if q is not None and words.lower() not in q.message.lower():
                problems.append(f"{batch.assignment}/{student}/{grade_id}: message should mention {words!r}, "
                                f"got {q.message!r}")
    return problems


def gradebook_table(batches: list[Batch]) -> str:
    """Students down, assignments across, 'score/max' in each cell."""
    students = sorted({r.student_id for b in batches for r in b.results})
    cells = {(r.student_id, b.assignment): f"{r.score:g}/{r.max_score:g}" for b in batches for r in b.results}
    width = max([len("student")] + [len(s) for s in students])
    columns = [max(len(b.assignment), 7) for b in batches]
    lines = ["  ".join(["student".ljust(width)] + [b.assignment.rjust(w) for b, w in zip(batches, columns)])]
    for student in students:
        lines.append("  ".join([student.ljust(width)] + [cells.get((student, b.assignment), "-").rjust(w)
                                                          for b, w in zip(batches, columns)]))
    return "\n".join(lines)


def write_gradebook(batches: list[Batch], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "assignment", "score", "max_score"])
        for batch in batches:
            for r in batch.results:
                writer.writerow([r.student_id, batch.assignment, f"{r.score:g}", f"{r.max_score:g}"])
