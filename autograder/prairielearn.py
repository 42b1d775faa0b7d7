"""A PrairieLearn external grader for one assignment.

``python -m autograder export prairielearn ASSIGNMENT --out DIR`` writes::

    DIR/README.md                 where each part goes
    DIR/Dockerfile                the grading image: Python, bubblewrap and the package's
    DIR/.dockerignore             dependencies; no assignment source (images on Docker Hub are public)
    DIR/serverFilesCourse/cnnlib_course/
        course/                   the course package and the assignment's source
        grade_<ASSIGNMENT>.sh     the entrypoint
    DIR/question/info.json        the question's info.json with its externalGradingOptions
    DIR/question/question.html    a file upload for the notebook and the grader's results

PrairieLearn copies the course's ``serverFilesCourse`` files named in
``externalGradingOptions`` to ``/grade/serverFilesCourse`` and the student's
uploaded files to ``/grade/student``, runs the entrypoint in the image and reads
``/grade/results/results.json``: ``gradable``, ``score`` in [0, 1] (the autograded
points over their maximum), ``message`` (the score, the questions graded by hand, any
note), ``output`` (the feedback page as text) and one test per autograded question
(``points``, ``max_points``, ``message``: its message in ``questions.csv``).
PrairieLearn has no hidden test results: a question's message is what the feedback
page shows. When the submission cannot be graded at all (no sandbox, the grader
failed), ``gradable`` is false and ``message`` says why: PrairieLearn then counts
no attempt.

Environment: ``AUTOGRADER_PRAIRIELEARN_ROOT`` (default ``/grade``) moves the root;
``AUTOGRADER_PYTHON`` is the interpreter of the entrypoint (default ``python3``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, platforms
from autograder.nbgrader_config import NOTEBOOK_TIMEOUT
from autograder.platforms import COURSE_FOLDER, Graded

ROOT_VARIABLE = "AUTOGRADER_PRAIRIELEARN_ROOT"
DEFAULT_ROOT = "/grade"
SERVER_FOLDER = "cnnlib_course"  # the folder in the PrairieLearn course's serverFilesCourse/
IMAGE = "OWNER/cnn-course-grader"  # the Docker Hub name the instructor pushes the image as

DOCKERFILE = """\
# The grading image for PrairieLearn: Python, bubblewrap (the sandbox of student code) and the
# course package's dependencies. Assignment sources never go in here: PrairieLearn mounts them
# from serverFilesCourse at grading time. Build and push:
#   docker build -t {image} . && docker push {image}
FROM python:3.12-slim
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap util-linux \\
    && rm -rf /var/lib/apt/lists/*
COPY serverFilesCourse/{server}/{course} /opt/cnnlib-course
# the grader runs the package from serverFilesCourse (PYTHONPATH): the image keeps only what it imports,
# not a second cnnlib that student code could import around the exercise rules' cnnlib
RUN python3 -m pip install --no-cache-dir "/opt/cnnlib-course[course]" \\
    && python3 -m pip uninstall -y cnnlib-course && rm -rf /opt/cnnlib-course
{extra}"""

# grading containers have no network: the public MNIST test set goes into the image
MNIST_TEST = """\
ENV CNNLIB_CACHE_DIR=/opt/cnnlib-cache
COPY serverFilesCourse/{server}/{course}/cnnlib /opt/mnist/cnnlib
RUN cd /opt/mnist && python3 -c "from cnnlib.data import load_mnist; load_mnist('test')" && rm -rf /opt/mnist
"""

DOCKERIGNORE = """\
# keep the assignment sources (solutions, hidden tests) out of the public image
serverFilesCourse/{server}/{course}/assignments
"""

QUESTION_HTML = """\
<pl-question-panel>
  <p>Upload your notebook <code>{notebook}</code> (the one you were given, with your answers).</p>
  <pl-file-upload file-names="{notebook}"></pl-file-upload>
</pl-question-panel>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""

README = """\
# PrairieLearn external grader: {assignment}

Written by `python -m autograder export prairielearn {assignment}`.

1. Copy `serverFilesCourse/{server}/` into your PrairieLearn course's `serverFilesCourse/`
   (it holds the assignment's source with its solutions: keep the course repository private).
2. Build and push the grading image (no solutions in it), then put its name in `info.json`:
   `docker build -t {image} . && docker push {image}`
3. Make a question folder from `question/` (`info.json` and `question.html`); give it a fresh
   `uuid`. `externalGradingOptions` runs `serverFilesCourse/{server}/grade_{assignment}.sh`.
   The question is worth {auto:g} autograded points; the score is a fraction of them.{manual}

The grader runs student code in bubblewrap. If it cannot create a sandbox in the grading
container, each submission comes back "not gradable" with that reason; `--unsafe-no-sandbox`
at export runs student code without one (it can then read the solutions in the container).
"""


def export(assignment: str, out: Path, assignments_dir: Path = ASSIGNMENTS_DIR, unsafe_no_sandbox: bool = False,
           notebook_timeout: float = NOTEBOOK_TIMEOUT, image: str = IMAGE) -> Path:
    """Write the PrairieLearn files of ``assignment`` to the folder ``out`` (replaced)."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    server = out / "serverFilesCourse" / SERVER_FOLDER
    platforms.bundle_course(assignment, assignments_dir, server / COURSE_FOLDER)
    values = dict(root_variable=ROOT_VARIABLE, default_root=DEFAULT_ROOT, course=COURSE_FOLDER, server=SERVER_FOLDER,
                  assignment=assignment, image=image)
    script = server / f"grade_{assignment}.sh"
    script.write_text(platforms.run_script(
        "prairielearn", assignment, unsafe_no_sandbox, notebook_timeout, platform="PrairieLearn", folder="student",
        root_variable=ROOT_VARIABLE, default_root=DEFAULT_ROOT, python="python3",
        course=f'$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)/{COURSE_FOLDER}',
        fallback='"gradable": false, "message": '))
    script.chmod(0o755)
    extra = MNIST_TEST.format(**values) if assignment == "lenet_training" else ""
    (out / "Dockerfile").write_text(DOCKERFILE.format(extra=extra, **values))
    (out / ".dockerignore").write_text(DOCKERIGNORE.format(**values))
    auto, manual = platforms.max_points(assignment, assignments_dir)
    question = out / "question"
    question.mkdir()
    (question / "question.html").write_text(QUESTION_HTML.format(notebook=f"{assignment}.ipynb"))
    timeout = platforms.platform_timeout(notebook_timeout)
    platforms.write_json(question / "info.json", info_json(assignment, image, timeout))
    (out / "README.md").write_text(README.format(
        auto=auto, manual=(f"\n   Its {manual:g} points of written answers are graded by hand (`manualPoints` in "
                           "the assessment)." if manual else ""), **values))
    return out


def info_json(assignment: str, image: str = IMAGE, timeout: int | None = None) -> dict:
    """The question's info.json: external grading with this project's grader."""
    title = assignment.replace("_", " ").capitalize()
    return {
        "uuid": "REPLACE-WITH-A-NEW-UUID",
        "title": title,
        "topic": "Convolutional neural networks",
        "type": "v3",
        "gradingMethod": "External",
        "singleVariant": True,
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "serverFilesCourse": [f"{SERVER_FOLDER}/"],
            "entrypoint": f"{DEFAULT_ROOT}/serverFilesCourse/{SERVER_FOLDER}/grade_{assignment}.sh",
            "timeout": timeout or platforms.platform_timeout(NOTEBOOK_TIMEOUT),
        },
    }


def results(graded: Graded) -> dict:
    """PrairieLearn's results.json of one graded submission."""
    tests = [{"name": q["grade_id"], "points": float(q["score"]), "max_points": float(q["max_score"]),
              "message": q["message"]}
             for q in graded.student["questions"] if q["score"] is not None]
    return {
        "gradable": True,
        "score": graded.score / graded.max_score if graded.max_score else 0.0,
        "message": "\n".join(platforms.summary_lines(graded)),
        "output": graded.feedback,
        "tests": tests,
    }


def failure(reason: str) -> dict:
    """results.json when the submission could not be graded at all."""
    return {"gradable": False, "score": 0.0, "message": f"Not graded: {reason}", "output": "", "tests": []}


def run(assignment: str, root: Path, course_package: Path, unsafe_no_sandbox: bool = False,
        notebook_timeout: float = NOTEBOOK_TIMEOUT) -> int:
    """Grade ``root/student`` and write ``root/results/results.json``."""
    target = Path(root) / "results" / "results.json"
    return platforms.run_platform(assignment, Path(root) / "student", course_package,
                                  lambda graded, seconds: platforms.write_json(target, results(graded)),
                                  lambda reason, seconds: platforms.write_json(target, failure(reason)),
                                  unsafe_no_sandbox, notebook_timeout)


def describe(assignment: str, out: Path, assignments_dir: Path, notebook_timeout: float = NOTEBOOK_TIMEOUT) -> str:
    return f"wrote {out}: see {Path(out) / 'README.md'} for where each part goes"


main = platforms.main_of("prairielearn", ROOT_VARIABLE, DEFAULT_ROOT, "student", run)

if __name__ == "__main__":
    sys.exit(main())
