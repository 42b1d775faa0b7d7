"""A Gradescope programming-assignment autograder for one assignment.

``python -m autograder export gradescope ASSIGNMENT --out autograder.zip`` writes::

    setup.sh          Gradescope runs it once, as root, when it builds the image: python3,
                      a venv with this package and its course extra, bubblewrap
    run_autograder    Gradescope runs it for every submission
    course/           the course package and the assignment's source (see autograder.platforms)

Gradescope unpacks the zip to ``/autograder/source`` (only the instructor uploads
it; students never read it), puts the student's files in ``/autograder/submission``
and shows ``/autograder/results/results.json``. ``run_autograder`` calls
``python -m autograder.gradescope run ASSIGNMENT``, which grades the submission with
:func:`autograder.platforms.grade_one` (intake, sandbox, checker, feedback as in
``python -m autograder grade``) and writes the results file:

- ``score`` the autograded points, the sum of the tests' scores; ``execution_time``
  whole seconds; ``output`` the score, the questions graded by hand and any note;
- one test per autograded question, ``output`` its message in ``questions.csv``. A
  question whose test cell has hidden tests is ``after_published`` (its points and
  message would tell how the hidden tests went); next to it a test without points,
  ``visible``, says whether the visible tests passed (they failed when the cell
  stopped before its hidden tests, which is read from the autograded notebook's
  traceback), with the message then;
- one test per question graded by hand, without points: Gradescope's own manual
  questions grade it (the autograder's points leave it out, as ``grade`` does);
- the feedback page as text, ``after_published`` (it shows hidden tests' messages).

Environment: ``AUTOGRADER_GRADESCOPE_ROOT`` (default ``/autograder``) moves the root;
``AUTOGRADER_PYTHON`` is the interpreter ``run_autograder`` uses (default the venv
that ``setup.sh`` made).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, platforms
from autograder.nbgrader_config import NOTEBOOK_TIMEOUT
from autograder.platforms import COURSE_FOLDER, Graded

ROOT_VARIABLE = "AUTOGRADER_GRADESCOPE_ROOT"
DEFAULT_ROOT = "/autograder"
VENV = "venv"  # under the root: the interpreter setup.sh installs the package into

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 or 24.04).
set -euo pipefail
ROOT="${{{root_variable}:-{default_root}}}"
apt-get update
# bubblewrap: the sandbox that runs student code (autograder/sandbox.py)
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    python3 python3-venv python3-pip bubblewrap util-linux
python3 -m venv "$ROOT/{venv}"
"$ROOT/{venv}/bin/python" -m pip install --upgrade pip
# editable: the sandbox then shows student code the package's cnnlib only, not the assignment sources
"$ROOT/{venv}/bin/python" -m pip install -e "$ROOT/source/{course}[course]"
{extra}"""

MNIST_TEST = """\
# the official MNIST test set, for grading on digits students never had (grading itself never downloads)
"$ROOT/{venv}/bin/python" -c "from cnnlib.data import load_mnist; load_mnist('test')" \\
    || echo "MNIST test set not downloaded: {assignment} will be graded on its validation digits"
"""

def export(assignment: str, out: Path, assignments_dir: Path = ASSIGNMENTS_DIR, unsafe_no_sandbox: bool = False,
           notebook_timeout: float = NOTEBOOK_TIMEOUT) -> Path:
    """Write the autograder zip of ``assignment`` to ``out``."""
    out = Path(out)
    values = dict(root_variable=ROOT_VARIABLE, default_root=DEFAULT_ROOT, venv=VENV, course=COURSE_FOLDER,
                  assignment=assignment)
    extra = MNIST_TEST.format(**values) if assignment == "lenet_training" else ""
    scripts = {"setup.sh": SETUP.format(extra=extra, **values), "run_autograder": platforms.run_script(
        "gradescope", assignment, unsafe_no_sandbox, notebook_timeout, platform="Gradescope", folder="submission",
        root_variable=ROOT_VARIABLE, default_root=DEFAULT_ROOT, python=f"$ROOT/{VENV}/bin/python",
        course=f"$ROOT/source/{COURSE_FOLDER}", fallback='"score": 0, "tests": [], "output": ')}
    with tempfile.TemporaryDirectory(prefix="autograder-export-") as tmp:
        course = platforms.bundle_course(assignment, assignments_dir, Path(tmp) / COURSE_FOLDER)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in scripts.items():
                entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                entry.external_attr = (stat.S_IFREG | 0o755) << 16  # unzip keeps them executable
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, text)
            for path in sorted(course.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(tmp).as_posix())
        os.replace(partial, out)
    return out


def results(graded: Graded, seconds: float) -> dict:
    """Gradescope's results.json of one graded submission."""
    tests = []
    for q in graded.student["questions"]:
        name, message = q["grade_id"], q["message"]
        if q["score"] is None:
            tests.append({"name": f"{name} (graded by hand)", "visibility": "visible",
                          "output": f"Graded by hand by the course staff ({q['max_score']:g} points); "
                                    "not part of the autograder's score."})
            continue
        passed = q["score"] >= q["max_score"]
        hidden = bool(graded.hidden.get(name))
        test = {"name": name, "score": float(q["score"]), "max_score": float(q["max_score"]),
                "status": "passed" if passed else "failed", "output": message,
                "visibility": "after_published" if hidden else "visible"}
        tests.append(test)
        if hidden:
            where = "passed" if passed else graded.failed_at.get(name, "unknown")
            visible = {"name": f"{name}: visible tests", "visibility": "visible"}
            if where == "visible":
                visible |= {"status": "failed", "output": message}
            elif where in ("passed", "hidden"):
                visible |= {"status": "passed", "output": "The visible tests passed; the hidden tests' result "
                                                          "is shown when grades are published."}
            else:
                visible["output"] = "This question's result is shown when grades are published."
            tests.append(visible)
    if graded.feedback:
        tests.append({"name": "Feedback page", "visibility": "after_published", "output": graded.feedback})
    lines = platforms.summary_lines(graded)
    if any(graded.hidden.get(q["grade_id"]) for q in graded.student["questions"] if q["score"] is not None):
        lines.append("Questions with hidden tests show their points and messages when grades are published; "
                     "until then each says whether its visible tests passed.")
    return {
        "score": float(sum(t["score"] for t in tests if "score" in t)),
        "execution_time": int(round(seconds)),
        "output": "\n".join(lines),
        "stdout_visibility": "hidden",  # the grader's log is for the instructor
        "tests": tests,
        "extra_data": {"assignment": graded.assignment, "max_score": graded.max_score, "isolation": graded.isolation},
    }


def failure(reason: str, seconds: float) -> dict:
    """results.json when the submission could not be graded at all."""
    return {"score": 0.0, "execution_time": int(round(seconds)), "output": f"Not graded: {reason}",
            "stdout_visibility": "hidden", "tests": []}


def run(assignment: str, root: Path, course_package: Path, unsafe_no_sandbox: bool = False,
        notebook_timeout: float = NOTEBOOK_TIMEOUT) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``."""
    target = Path(root) / "results" / "results.json"

    def write(graded: Graded, seconds: float) -> None:
        platforms.write_json(target, results(graded, seconds))
        if graded.feedback_html is not None:  # for the instructor, next to the results
            shutil.copyfile(graded.feedback_html, target.with_name("feedback.html"))

    def fail(reason: str, seconds: float) -> None:
        platforms.write_json(target, failure(reason, seconds))

    return platforms.run_platform(assignment, Path(root) / "submission", course_package, write, fail,
                                  unsafe_no_sandbox, notebook_timeout)


def describe(assignment: str, out: Path, assignments_dir: Path, notebook_timeout: float = NOTEBOOK_TIMEOUT) -> str:
    auto, manual = platforms.max_points(assignment, assignments_dir)
    minutes = -(-platforms.platform_timeout(notebook_timeout) // 60)
    return (f"wrote {out}: upload it as the autograder of a Gradescope programming assignment (Ubuntu 22.04 or "
            f"24.04 image) with {auto:g} autograder points and a timeout of at least {minutes} minutes" +
            (f"; add {manual:g} points of manually graded questions for the written answers" if manual else ""))


main = platforms.main_of("gradescope", ROOT_VARIABLE, DEFAULT_ROOT, "submission", run)

if __name__ == "__main__":
    sys.exit(main())
