"""Final grades out of the course gradebook: ``python -m autograder export csv|canvas``.

    python -m autograder export csv ASSIGNMENT --out grades.csv [--course DIR]
    python -m autograder export canvas ASSIGNMENT --out canvas.csv [--course DIR]
                                   [--roster CANVAS_EXPORT.csv] [--roster-key COLUMN] [--canvas-column TITLE]

Both read what ``grade`` recorded and formgrader added (:func:`autograder.gradebook.final_grades`):
automatic plus manual points, per student.

``csv``: student_id, auto_score, manual_score, late_penalty, total, max_score,
manual_grading_pending (yes/no), pending_cells. total = auto_score + manual_score - late_penalty.

``canvas``: Canvas's gradebook-import layout (Grades > Import): the columns Student, ID,
SIS User ID, SIS Login ID, Section, then one column for the assignment, and a
"Points Possible" row under the header. Canvas finds each student by ID, SIS User ID
or SIS Login ID; a column title that is no assignment of the Canvas course creates a
new assignment on import, and ``Title (Canvas assignment id)`` fills an existing one.
Without a roster, the student id (the submission folder's name) goes into SIS Login ID
and Student; with ``--roster`` (a gradebook exported from the same Canvas course) each
student's five identity cells are copied from the roster row whose ``--roster-key``
column (default SIS Login ID) equals the student id.

Every text cell goes through :func:`autograder.grading.spreadsheet_text` (no formulas).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from autograder.course import Course
from autograder.gradebook import FinalGrade, GradebookError, final_grades, recorded_cells
from autograder.grading import spreadsheet_text

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"  # Canvas's second row; its export indents it with spaces


def points(value: float) -> str:
    return f"{value:g}"


def write_csv(grades: list[FinalGrade], path: Path) -> None:
    """One row per student: automatic and manual points, total, maximum, what is pending."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "auto_score", "manual_score", "late_penalty", "total", "max_score",
                         "manual_grading_pending", "pending_cells"])
        for g in grades:
            writer.writerow([spreadsheet_text(g.student_id), points(g.auto_score), points(g.manual_score),
                             points(g.late_penalty), points(g.total), points(g.max_score),
                             "yes" if g.pending else "no", spreadsheet_text(" ".join(g.pending))])


def read_roster(path: Path, key: str) -> dict[str, dict[str, str]]:
    """Roster rows (a Canvas gradebook export) by the value of their ``key`` column."""
    with open(path, newline="", encoding="utf-8-sig") as f:  # Canvas and Excel write a BOM
        reader = csv.DictReader(f)
        missing = [c for c in [key, *CANVAS_IDENTITY] if c not in (reader.fieldnames or [])]
        if missing:
            raise GradebookError(f"the roster {path} has no column {', '.join(map(repr, missing))} "
                                 f"(its columns: {', '.join(reader.fieldnames or [])}); export the gradebook "
                                 "from Canvas (Grades > Export) and pass that file")
        rows = {}
        for row in reader:
            if (row.get("Student") or "").strip() == POINTS_POSSIBLE or not (row.get(key) or "").strip():
                continue
            rows[row[key].strip()] = row
    return rows


def write_canvas(grades: list[FinalGrade], path: Path, column: str, max_score: float,
                 roster: dict[str, dict[str, str]] | None = None) -> list[str]:
    """The Canvas import file; returns the ids of graded students left out (not in the roster)."""
    left_out = []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CANVAS_IDENTITY + [spreadsheet_text(column)])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", points(max_score)])
        for g in grades:
            if roster is None:
                identity = [g.student_id, "", "", g.student_id, ""]
            elif g.student_id in roster:
                identity = [roster[g.student_id].get(c) or "" for c in CANVAS_IDENTITY]
            else:
                left_out.append(g.student_id)
                continue
            writer.writerow([spreadsheet_text(cell) if cell else "" for cell in identity] + [points(g.total)])
    return left_out


def export(args) -> int:
    """``python -m autograder export csv|canvas ASSIGNMENT --out FILE`` (see the module docstring)."""
    course = Course(Path(args.course).resolve())
    grades = final_grades(course, args.assignment)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "csv":
        write_csv(grades, out)
    else:
        max_score = sum(sum(cells.values()) for cells in (recorded_cells(course, args.assignment) or {}).values())
        roster = read_roster(args.roster, args.roster_key) if args.roster else None
        left_out = write_canvas(grades, out, args.canvas_column or args.assignment, max_score, roster)
        if left_out:
            print(f"WARNING: {len(left_out)} graded student(s) are not in the roster's {args.roster_key!r} "
                  f"column and were left out: {', '.join(left_out)}", file=sys.stderr)
    pending = [g.student_id for g in grades if g.pending]
    print(f"{len(grades)} student(s) of {args.assignment} written to {out}")
    if pending:
        print(f"WARNING: manual grading is still pending for {len(pending)} student(s) ({', '.join(pending)}); "
              "their totals hold the points so far. Grade them in formgrader and export again.", file=sys.stderr)
    return 0
