"""Sample submissions, built from an assignment's source and its ``variants.py``.

    python -m autograder.samples build [ASSIGNMENT|SET...]   rewrite the samples
    python -m autograder.samples check [ASSIGNMENT|SET...]   exit 1 if a committed sample is stale

For each assignment with ``samples/<id>/variants.py`` it writes
``samples/<id>/<student>/<id>.ipynb`` (plus any ``files``) for every
variant and ``samples/<id>/manifest.json``; see
``samples/README.md`` for the format. A sample is made in this order:

1. the student version: nbgrader's ``LockCells``, ``ClearSolutions``,
   ``ClearOutput``, ``ClearHiddenTests``, ``ClearMarkScheme`` and
   ``ComputeChecksums`` applied to the source notebook, as ``generate_assignment`` does;
2. unless ``"untouched": True``, every answer cell (``solution: true``) gets the
   source's own cell back, with the ``### BEGIN/END SOLUTION`` lines removed;
3. ``"cells"`` replaces the source of the cells it names by ``grade_id``;
4. ``"raw"(text)`` rewrites the notebook file's text; returning ``None`` leaves
   the notebook out (a student who submitted none, or under another name
   through ``"files"``);
5. ``"files"`` are written next to the notebook.

A variants.py writes its entries with a :class:`SampleSet` (``mistake``: one answer cell
replaced, its test lost; ``variant``: any other entry).

Output is deterministic: no outputs, sorted JSON keys, the source's cell ids.
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import functools
import json
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from autograder import ASSIGNMENTS_DIR, COURSE_ASSIGNMENTS, SAMPLES_DIR
from autograder.cells import grade_id, is_test

STUDENT_VERSION = (LockCells, ClearSolutions, ClearOutput, ClearHiddenTests, ClearMarkScheme, ComputeChecksums)
KNOWN_KEYS = {"description", "untouched", "cells", "files", "raw", "expected", "feedback"}


class SampleError(ValueError):
    """A variants.py that does not describe valid samples."""


# --- one notebook -------------------------------------------------------------

def student_version(source_nb):
    """The notebook as released to students (nbgrader's own preprocessors)."""
    nb = copy.deepcopy(source_nb)
    resources = {}
    for preprocessor in STUDENT_VERSION:
        nb, resources = preprocessor().preprocess(nb, resources)
    return nb


def without_solution_markers(source: str) -> str:
    """An answer cell of the source with its BEGIN/END SOLUTION lines removed."""
    begin = ClearSolutions.class_traits()["begin_solution_delimeter"].default_value
    end = ClearSolutions.class_traits()["end_solution_delimeter"].default_value
    return "\n".join(line for line in source.split("\n") if begin not in line and end not in line)




def sample_notebook(source_nb, variant: dict, name: str):
    """Steps 1-3: the student version, solved unless untouched, with replaced cells."""
    nb = student_version(source_nb)
    solutions = {grade_id(cell): without_solution_markers(cell.source)
                 for cell in source_nb.cells if utils.is_solution(cell)}
    replaced = dict(variant.get("cells", {}))
    unknown = set(replaced) - {grade_id(cell) for cell in nb.cells}
    if unknown:
        raise SampleError(f"variant {name!r}: no cell with grade_id {', '.join(sorted(unknown))}")
    for cell in nb.cells:
        if utils.is_solution(cell) and not variant.get("untouched"):
            cell.source = solutions[grade_id(cell)]
        if grade_id(cell) in replaced:
            cell.source = replaced[grade_id(cell)]
    return nb


def autograded_points(source_nb) -> dict[str, float]:
    """grade_id -> points of every autograded test cell (not manually graded ones)."""
    return {grade_id(cell): cell.metadata["nbgrader"].get("points", 0) for cell in source_nb.cells
            if is_test(cell)}


def notebook_text(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"



# --- helpers for variants.py files ----------------------------------------------

def solution_source(assignment: str, cell_id: str, assignments_dir: Path = ASSIGNMENTS_DIR) -> str:
    """The instructor's answer cell ``cell_id`` (its nbgrader grade_id) of ``assignment``,
    solution markers removed: the starting point of a variant with one mistake."""
    path = Path(assignments_dir) / assignment / f"{assignment}.ipynb"
    for cell in _source_cells(path.resolve(), path.stat().st_mtime_ns):
        if grade_id(cell) == cell_id:
            return without_solution_markers(cell.source)
    raise SampleError(f"{path.name} has no cell with grade_id {cell_id!r}")


@functools.lru_cache(maxsize=8)
def _source_cells(path: Path, mtime_ns: int) -> tuple:
    """The cells of a source notebook, read once per process (and again if the file changes)."""
    return tuple(nbformat.read(path, as_version=4).cells)


def patched_solution(assignment: str, cell_id: str, *replacements: tuple[str, str]) -> str:
    """The solution of cell ``cell_id`` with each ``(old, new)`` replaced; ``old`` must occur exactly
    once, so that a variant breaks loudly when the solution it starts from changes.

    A changed line should never contain a whole line of the solution: the feedback leak check
    looks for solution lines as substrings of the feedback, and a student's own line that merely
    extends a solution line would look like a leak."""
    source = solution_source(assignment, cell_id)
    for old, new in replacements:
        count = source.count(old)
        if count != 1:
            raise SampleError(f"variant of {cell_id}: {old!r} occurs {count} times in the solution, "
                              "expected once")
        source = source.replace(old, new)
    return source


def expected_scores(points: dict, **scores: float) -> dict:
    """Full ``points`` per test cell, except the scores given (``test_x=0``)."""
    unknown = sorted(set(scores) - set(points))
    if unknown:
        raise SampleError(f"unknown test cell(s) {unknown}; the assignment has {sorted(points)}")
    return {name: scores.get(name, full) for name, full in points.items()}


def variant(points: dict, description: str, cells: dict | None = None, lost: dict | None = None, *,
            scores: dict | None = None, feedback: dict | None = None, **keys) -> dict:
    """One entry of VARIANTS: ``description``, the replaced ``cells`` and the expected scores, full
    ``points`` except 0 for each test cell of ``lost`` and the ``scores`` given. ``lost`` maps a test
    cell to the substring its message must contain (None: no feedback checked); ``feedback`` adds
    such substrings for cells that keep their points; ``keys`` are the others (untouched, raw, files)."""
    hints = {cell: hint for cell, hint in (lost or {}).items() if hint is not None} | (feedback or {})
    entry = {"description": description, "expected": expected_scores(points, **dict.fromkeys(lost or {}, 0),
                                                                      **(scores or {}))}
    if cells is not None:
        entry["cells"] = cells
    if hints:
        entry["feedback"] = hints
    return entry | keys


class SampleSet:
    """The helpers of one variants.py, bound to its assignment and the points of its test cells."""

    def __init__(self, assignment: str, points: dict):
        self.assignment, self.points = assignment, dict(points)

    def solution(self, cell_id: str) -> str:
        """See :func:`solution_source`."""
        return solution_source(self.assignment, cell_id)

    def patched(self, cell_id: str, *replacements: tuple[str, str]) -> str:
        """See :func:`patched_solution`."""
        return patched_solution(self.assignment, cell_id, *replacements)

    def expected(self, **scores: float) -> dict:
        """See :func:`expected_scores`."""
        return expected_scores(self.points, **scores)

    def variant(self, description: str, cells: dict | None = None, lost: dict | None = None, **keys) -> dict:
        """See :func:`variant`."""
        return variant(self.points, description, cells, lost, **keys)

    def mistake(self, description: str, cell: str, source: str, hint: str | None = None, *,
                also_lost: tuple = ()) -> dict:
        """A variant whose answer cell ``cell`` holds ``source``: it loses that cell's test
        ``test_<cell>`` (whose message must contain ``hint``) and the test cells ``also_lost``."""
        return self.variant(description, {cell: source}, {f"test_{cell}": hint, **dict.fromkeys(also_lost)})

    def reference(self, description: str = "the instructor's solution") -> dict:
        """The instructor's solution: full points."""
        return self.variant(description, {})

    def untouched(self, description: str = "the student version as released") -> dict:
        """The released student version, nothing answered: no points."""
        return self.variant(description, lost=dict.fromkeys(self.points), untouched=True)


# --- one assignment -----------------------------------------------------------

def load_variants(path: Path) -> dict:
    """VARIANTS from a variants.py (run from source: no __pycache__ next to the samples)."""
    return load_sample_set(path)[1]


def load_sample_set(path: Path) -> tuple[str, dict]:
    """(assignment, VARIANTS) of a variants.py. The assignment is the folder's name, unless the
    file sets ``ASSIGNMENT`` to another one: a set of extra samples of an assignment
    (``samples/adversarial/`` holds attacks on ``parameter_counting``)."""
    module = runpy.run_path(str(path))
    variants = module.get("VARIANTS")
    if not isinstance(variants, dict) or not variants:
        raise SampleError(f"{path} defines no VARIANTS dict")
    return str(module.get("ASSIGNMENT", Path(path).parent.name)), variants


def check_variant(name: str, variant: dict, points: dict) -> None:
    unknown = set(variant) - KNOWN_KEYS
    if unknown:
        raise SampleError(f"variant {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    expected = variant.get("expected", {})
    if set(expected) != set(points):
        missing, extra = sorted(set(points) - set(expected)), sorted(set(expected) - set(points))
        raise SampleError(f"variant {name!r}: 'expected' must list every autograded test cell"
                          + (f"; missing {missing}" if missing else "")
                          + (f"; not test cells {extra}" if extra else ""))
    for cell, score in expected.items():
        if not 0 <= score <= points[cell]:
            raise SampleError(f"variant {name!r}: expected {cell} = {score} is outside 0..{points[cell]}")
    if not set(variant.get("feedback", {})) <= set(points):
        raise SampleError(f"variant {name!r}: 'feedback' names cells that are not test cells")
    if name.startswith((".", "_")) or "/" in name:
        raise SampleError(f"variant name {name!r} cannot be a student folder")


def build_assignment(name: str, samples_dir: Path = SAMPLES_DIR,
                     assignments_dir: Path = ASSIGNMENTS_DIR, into: Path | None = None) -> Path:
    """Write the samples and manifest of samples folder ``name`` (an assignment's id, or a set
    such as ``adversarial``) into ``into`` (default: that samples folder)."""
    assignment, variants = load_sample_set(Path(samples_dir) / name / "variants.py")
    source_path = Path(assignments_dir) / assignment / f"{assignment}.ipynb"
    source_nb = nbformat.read(source_path, as_version=4)
    points = autograded_points(source_nb)
    target = Path(into) if into is not None else Path(samples_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.iterdir():  # every sub-folder is a generated sample
        if stale.is_dir():
            shutil.rmtree(stale)

    students = {}
    for name, variant in variants.items():
        check_variant(name, variant, points)
        folder = target / name
        folder.mkdir()
        text = notebook_text(sample_notebook(source_nb, variant, name))
        if "raw" in variant:
            text = variant["raw"](text)
        if text is not None:
            (folder / f"{assignment}.ipynb").write_text(text)
        for filename, content in sorted(variant.get("files", {}).items()):
            path = folder / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        if not any(folder.iterdir()):
            raise SampleError(f"variant {name!r} writes no file; give it 'files' so that git keeps its folder")
        students[name] = {
            "description": variant.get("description", ""),
            "expected": variant["expected"],
            "feedback": variant.get("feedback", {}),
            "score": sum(variant["expected"].values()),
            "max_score": sum(points.values()),
        }
    manifest = {"assignment": assignment, "notebook": f"{assignment}.ipynb", "points": points,
                "students": students}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return target


def load_manifest(assignment: str, samples_dir: Path = SAMPLES_DIR) -> dict:
    return json.loads((Path(samples_dir) / assignment / "manifest.json").read_text())


def stale_files(assignment: str, samples_dir: Path = SAMPLES_DIR, assignments_dir: Path = ASSIGNMENTS_DIR) -> list[str]:
    """Committed sample files that differ from a fresh build (empty: up to date)."""
    committed = Path(samples_dir) / assignment
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build_assignment(assignment, samples_dir, assignments_dir, into=Path(tmp) / assignment)
        return sorted(differences(fresh, committed))


def differences(fresh: Path, committed: Path, prefix: str = "") -> list[str]:
    """Paths generated into ``fresh`` that are missing, extra or different in ``committed``."""
    keep = {"variants.py", "README.md", "__pycache__"}
    fresh_names = {p.name for p in fresh.iterdir()}
    committed_names = {p.name for p in committed.iterdir()} - keep if committed.is_dir() else set()
    found = [f"{prefix}{n} (missing)" for n in sorted(fresh_names - committed_names)]
    found += [f"{prefix}{n} (not generated)" for n in sorted(committed_names - fresh_names)]
    for name in sorted(fresh_names & committed_names):
        a, b = fresh / name, committed / name
        if a.is_dir() and b.is_dir():
            found += differences(a, b, f"{prefix}{name}/")
        elif a.is_dir() != b.is_dir() or not filecmp.cmp(a, b, shallow=False):
            found.append(f"{prefix}{name} (differs)")
    return found


def assignments_with_variants(samples_dir: Path = SAMPLES_DIR, assignments_dir: Path = ASSIGNMENTS_DIR) -> list[str]:
    found = sorted(p.parent.name for p in Path(samples_dir).glob("*/variants.py")
                   if (Path(assignments_dir) / p.parent.name / f"{p.parent.name}.ipynb").exists())
    return [a for a in COURSE_ASSIGNMENTS if a in found] + [a for a in found if a not in COURSE_ASSIGNMENTS]


def sample_sets(samples_dir: Path = SAMPLES_DIR, assignments_dir: Path = ASSIGNMENTS_DIR) -> list[str]:
    """Every samples folder with a variants.py whose assignment exists: the assignments'
    own folders first (``assignments_with_variants``), then extra sets such as ``adversarial``."""
    own = assignments_with_variants(samples_dir, assignments_dir)
    extra = sorted(p.parent.name for p in Path(samples_dir).glob("*/variants.py") if p.parent.name not in own)
    return own + [name for name in extra
                  if (Path(assignments_dir) / (a := load_sample_set(Path(samples_dir) / name / "variants.py")[0])
                      / f"{a}.ipynb").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.samples",
                                     description="Build or check the sample submissions.")
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("assignment", nargs="*",
                        help="samples folders: assignment ids or sets such as adversarial "
                             "(default: every one with a variants.py)")
    parser.add_argument("--samples", type=Path, default=SAMPLES_DIR, help="samples folder")
    parser.add_argument("--assignments", type=Path, default=ASSIGNMENTS_DIR, help="assignment sources")
    args = parser.parse_args(argv)
    assignments = args.assignment or sample_sets(args.samples, args.assignments)
    status = 0
    for assignment in assignments:
        if args.command == "build":
            target = build_assignment(assignment, args.samples, args.assignments)
            manifest = load_manifest(assignment, args.samples)
            print(f"{assignment}: {len(manifest['students'])} samples -> {target}")
        else:
            stale = stale_files(assignment, args.samples, args.assignments)
            print(f"{assignment}: " + ("up to date" if not stale else "STALE: " + ", ".join(stale)))
            status = status or (1 if stale else 0)
    if args.command == "check" and status:
        print("run: python -m autograder.samples build")
    return status


if __name__ == "__main__":
    sys.exit(main())
