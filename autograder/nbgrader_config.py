"""nbgrader configuration of the CNN course.

A traitlets config file: nbgrader runs it with ``c`` in scope. The course
folder's own ``nbgrader_config.py`` (written by ``python -m autograder
release``) loads this file with ``load_subconfig``, and so does every private
course that ``python -m autograder grade`` makes for one submission, so plain
``nbgrader`` commands and the batch grader grade the same way.

It can also be imported (``from autograder.nbgrader_config import c``) to read
the course defaults.
"""

try:
    c = get_config()  # noqa: F821  (injected by traitlets when run as a config file)
except NameError:  # imported as a module
    from traitlets.config import Config

    c = Config()

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.execute import GuardedExecute  # noqa: E402
from autograder.feedback import (  # noqa: E402
    ClearHiddenTestsFromFeedback,
    FeedbackExporter,
    LimitFeedbackPage,
    ReduceTracebacks,
)
from autograder.math_text import MathToText  # noqa: E402

CELL_TIMEOUT = 30  # seconds per cell; `python -m autograder grade --timeout S` overrides it
NOTEBOOK_TIMEOUT = 600  # seconds for all cells of one notebook (--notebook-timeout S)


def timeout_error(seconds):
    """The error nbgrader records for a cell that ran out of time (nbclient's error_on_timeout)."""
    message = f"cell exceeded the {seconds:g} s time limit"
    return {"ename": "CellTimeoutError", "evalue": message,
            "traceback": [f"CellTimeoutError: {message}"]}


# --- the course -------------------------------------------------------------
c.CourseDirectory.course_id = "cnn-course"
# Files of an assignment folder that are tools, not course material.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "make_notebook.py",
]

# --- executing notebooks (validate, autograde) -----------------------------
# Always the kernel named python3; the grader points it at its own interpreter.
c.Execute.kernel_name = "python3"
c.Execute.timeout = CELL_TIMEOUT
# A cell that runs too long is interrupted and recorded as an error, and the
# notebook goes on with the next cell: one slow answer costs one question.
c.Execute.interrupt_on_timeout = True
c.Execute.error_on_timeout = timeout_error(CELL_TIMEOUT)
# Keep going after an error: nbgrader's Execute fixes allow_errors to True
# (not configurable), so every test cell runs whatever failed before it.

# Kernels run in the grader's sandbox (autograder/sandbox.py: the kernel spec
# written into the course folder starts it).

# --- autograde --------------------------------------------------------------
# nbgrader's pipeline with Execute replaced by GuardedExecute (autograder/execute.py):
# tests guarded against patched numpy/builtins and seeded, a wall-time limit for the
# whole notebook, an output cap, and a fresh kernel after a cell kills or hangs it.
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.GuardedExecute.notebook_timeout = NOTEBOOK_TIMEOUT
# A test cell the student deleted is put back (with its hidden tests) and
# run, instead of silently scoring nothing.
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.missing_cell_notification = (
    "This cell (id:{cell_id}) was missing from the submission. It was added back by the grader.\n\n"
)

# --- feedback ----------------------------------------------------------------
# nbgrader's feedback pipeline, plus: hidden tests removed from test cells and
# tracebacks reduced to "ename: evalue" (a traceback quotes the hidden line),
# the maths of markdown cells as text (the page is read offline, without MathJax), and
# the page kept small and free of markup or script that a student wrote.
c.GenerateFeedback.exporter_class = FeedbackExporter  # HTMLExporter without its BeautifulSoup pass
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTestsFromFeedback,
    ReduceTracebacks,
    MathToText,
    LimitFeedbackPage,
    CSSHTMLHeaderPreprocessor,
]
