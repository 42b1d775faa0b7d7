"""Paths and helpers the tests share (importable from every test folder: pytest's
``pythonpath`` in pyproject.toml); conftest.py offers the paths as fixtures too."""
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from autograder.feedback import find_leaks, notebook_lines, secret_lines, solution_only_lines

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"                       # tiny assignments, samples and browser files
ARTIFACTS = TESTS / "artifacts"                     # screenshots and feedback pages to look at (git-ignored)
SCREENSHOTS = ARTIFACTS / "screenshots"


def mnist_test_dir():
    """Folder holding the official MNIST test set, or None (tests then skip)."""
    base = os.environ.get("CNNLIB_DATA")
    if not base:
        return None
    folder = Path(base) / "mnist-test"
    return folder if (folder / "t10k-images-idx3-ubyte.gz").exists() else None


def processes_with(marker: str) -> list[int]:
    """The ids of the processes whose command line holds ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def processes_left(marker: str, seconds: float = 10) -> list[int]:
    """``processes_with(marker)`` once they are gone, or after ``seconds``: a process killed a
    moment ago may still be listed on a busy machine."""
    deadline = time.monotonic() + seconds
    while (found := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def batch_last(a):
    """A copy of ``a`` (N, C, H, W) with the same values, laid out in memory as
    (C, H, W, N): what the slabs' convolution output and the layers after it
    hand on in a network."""
    import numpy as np

    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


# --- grading runs ---------------------------------------------------------------

def run_cli(*args, cwd: Path, module: str = "autograder", check_rc: int | None = 0) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` as a user runs it; the output is shown when it fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, text=True, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3000)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stdout
    return proc


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))


def written_by(student_dir: Path) -> set[str]:
    """Every line of a student's submitted notebooks (unreadable ones count as empty)."""
    lines = set()
    for path in student_dir.glob("*.ipynb"):
        try:
            lines |= notebook_lines(nbformat.read(path, as_version=4))
        except Exception:
            pass
    return lines


def assert_nothing_leaks(out: Path, source_notebook: Path, submissions: Path) -> int:
    """No hidden-test line (non-trivial, never shown to students) in questions.csv or in any
    feedback file, and no solution line either, unless that student wrote the line.
    Returns the number of feedback files checked."""
    source = nbformat.read(source_notebook, as_version=4)
    hidden, solutions = secret_lines(source), solution_only_lines(source)
    assert hidden, "the source has hidden tests to look for"
    questions = (out / "questions.csv").read_text()
    assert not [line for line in hidden if line in questions]
    checked = 0
    for page in sorted((out / "feedback").glob("*/*.html")):
        text = page.read_text()
        own = written_by(submissions / page.parent.name)
        assert not find_leaks(text, [line for line in hidden if line not in own]), page
        assert not find_leaks(text, [line for line in solutions if line not in own]), page
        checked += 1
    return checked


def questions_by_student(out: Path) -> dict[str, dict[str, dict]]:
    table = {}
    for row in read_csv(out / "questions.csv"):
        table.setdefault(row["student_id"], {})[row["grade_id"]] = row
    return table
