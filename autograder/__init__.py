"""The course's grading tool, built on nbgrader.

nbgrader does the work (``generate_assignment``, ``validate``, ``autograde``,
``generate_feedback``, its gradebook); this package configures it
(``nbgrader_config.py``) and adds what a course needs on top:

- :mod:`autograder.course`   the course folder nbgrader expects, and how nbgrader is run
- :mod:`autograder.release`  validate a source, build the student version, validate that
- :mod:`autograder.grading`  grade many submissions, each alone, in parallel: CSVs + feedback
- :mod:`autograder.cluster`  the same on a Dask cluster, submissions and results sent as data
- :mod:`autograder.feedback` what a student may see (no hidden tests, no tracebacks)
- :mod:`autograder.report`   the instructor's class report, OUT/report.html
- :mod:`autograder.gradebook` graded submissions into the course gradebook (formgrader), final grades
- :mod:`autograder.export_grades` final grades as CSV or a Canvas gradebook import
- :mod:`autograder.gradescope`, :mod:`autograder.prairielearn` an autograder for each platform,
                             on :mod:`autograder.platforms` (one submission graded as ``grade`` does)
- :mod:`autograder.execute`  nbgrader's executor in two kernels: the student's (sandboxed) and the checker
- :mod:`autograder.checker`  the checker's proxies of the student's answers (values cross by
                             :mod:`autograder.wire`; the student's side is ``student_server.py``)
- :mod:`autograder.sandbox`  the student kernel's isolation and limits
- :mod:`autograder.intake`   a submission taken in as regular files only
- :mod:`autograder.rules`    what an answer must not use, enforced in the sandbox
- :mod:`autograder.samples`  sample submissions built from ``variants.py``
- :mod:`autograder.demo`     release everything and grade every sample
- :mod:`autograder.cli`      the command line; :mod:`autograder.runs` a run's options, isolation, run.json

Command line: ``python -m autograder release|grade|demo|export`` and
``python -m autograder.samples build|check``.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSIGNMENTS_DIR = REPO_DIR / "assignments"
SAMPLES_DIR = REPO_DIR / "samples"  # data, not code: generated notebooks beside their variants.py

# The course's assignments in teaching order (other folders follow, sorted).
COURSE_ASSIGNMENTS = ("hog_features", "parameter_counting", "conv_backprop", "lenet_training")
