"""The course folder nbgrader expects, and running nbgrader in it.

A course folder (default ``./course``) looks like this::

    course/
      nbgrader_config.py      loads autograder/nbgrader_config.py
      kernels/python3/        the kernel spec of this interpreter (see below)
      source/<id>/            copied from assignments/<id>/ (notebooks and data)
      release/<id>/           written by nbgrader generate_assignment
      gradebook.db            nbgrader's gradebook
      .jupyter/               private Jupyter/IPython settings and the logs of release's nbgrader runs

so plain ``cd course && nbgrader generate_assignment|autograde|generate_feedback|export``
work in it. An nbgrader command (``run_nbgrader``: release, validate) runs as a
subprocess in its own process group, with a wall-time limit; grading runs
nbgrader's converters in its workers (:mod:`autograder.worker`). Both use an
environment (``grading_environment``) that makes the kernel named ``python3``
this interpreter (with numpy and cnnlib), whatever other kernels the user has
installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, COURSE_ASSIGNMENTS, REPO_DIR

OWNER_FILE = ".autograder-job"  # in a job's runtime folder: the job's mark (see runtime_folder)
SOCKET_PATH_BYTES = 107  # a Unix socket's path, without the terminating zero byte (Linux: 108 in all)
RUNTIME_TAIL = "/agr-xxxxxxxx/ag-xxxxxxxx/ipc-99"  # what a kernel's socket path adds to runtime_base()

# Files of an assignment folder that are tools, not course material.
NOT_COURSE_MATERIAL = ("make_notebook.py", "__pycache__", "*.pyc", ".ipynb_checkpoints")

COURSE_CONFIG = '''\
# nbgrader configuration of this course folder, written by `python -m autograder`.
# The course's settings live in the autograder package (autograder/nbgrader_config.py).
import os

import autograder

load_subconfig(os.path.join(list(autograder.__path__)[0], "nbgrader_config.py"))

# The kernel named "python3" is the interpreter that wrote this folder (see
# kernels/python3/kernel.json), whatever kernels are installed elsewhere.
_here = os.path.dirname(os.path.abspath(__file__))
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    [_here] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != _here])
'''


class CourseError(RuntimeError):
    """A course folder or assignment that cannot be used as asked."""


# --- assignments --------------------------------------------------------------

def find_assignments(assignments_dir: Path = ASSIGNMENTS_DIR) -> list[str]:
    """Ids of the assignment folders holding ``<id>/<id>.ipynb``, course order first."""
    assignments_dir = Path(assignments_dir)
    found = sorted(p.parent.name for p in assignments_dir.glob("*/*.ipynb")
                   if p.stem == p.parent.name)
    return [a for a in COURSE_ASSIGNMENTS if a in found] + [a for a in found if a not in COURSE_ASSIGNMENTS]


def notebook_names(source_dir: Path) -> list[str]:
    """Names (without .ipynb) of the notebooks of one assignment's source folder."""
    return sorted(p.stem for p in Path(source_dir).glob("*.ipynb"))


def copy_assignment(src: Path, dest: Path) -> None:
    """Copy an assignment folder's notebooks and data files (not its tools)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*NOT_COURSE_MATERIAL))


# --- the course folder ------------------------------------------------------

@dataclass
class Course:
    """A course folder laid out as nbgrader expects."""

    root: Path

    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"


def write_config(root: Path, extra: str = "") -> None:
    """Write the course's ``nbgrader_config.py`` (plus ``extra`` lines) and its kernel spec."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(COURSE_CONFIG + extra)
    install_kernel(root)


def install_kernel(jupyter_data_dir: Path) -> Path:
    """Write ``<dir>/kernels/python3/kernel.json`` that starts this interpreter's ipykernel
    in the grader's sandbox."""
    from ipykernel.kernelspec import get_kernel_dict

    spec = get_kernel_dict()  # argv starts with sys.executable
    # the kernel starts in the grader's sandbox (autograder/sandbox.py), which runs ipykernel
    spec["argv"] = [sys.executable, "-m", "autograder.sandbox", "-f", "{connection_file}"]
    spec["display_name"] = "Python 3 (course grader)"
    folder = Path(jupyter_data_dir) / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    return folder


def prepare_course(root: Path, assignments: list[str] | None = None,
                   assignments_dir: Path = ASSIGNMENTS_DIR) -> Course:
    """Create or refresh a course folder and copy the assignments' sources into it.

    An assignment found in ``assignments_dir`` replaces ``source/<id>``; one
    only in the course folder's ``source/`` is used as it is.
    """
    course = Course(Path(root).resolve())
    write_config(course.root)
    (course.root / "source").mkdir(exist_ok=True)
    (course.root / "release").mkdir(exist_ok=True)
    in_repo = find_assignments(assignments_dir)
    for assignment in assignments if assignments is not None else in_repo:
        if assignment in in_repo:
            copy_assignment(Path(assignments_dir) / assignment, course.source(assignment))
        elif not notebook_names(course.source(assignment)):
            raise CourseError(
                f"unknown assignment {assignment!r}: no {assignment}/{assignment}.ipynb in "
                f"{assignments_dir} and no notebook in {course.source(assignment)}")
    return course


# --- running nbgrader -------------------------------------------------------

@dataclass
class Run:
    """The outcome of one nbgrader command."""

    args: list[str]
    returncode: int | None  # None when it was killed for running too long
    seconds: float
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def grading_environment(course_root: Path, job: str) -> dict[str, str]:
    """The environment of an nbgrader command and of the kernels it starts.

    The user's variables pass through (CNNLIB_DATA, ...). On top: the course's
    kernel spec comes first on JUPYTER_PATH; Jupyter and IPython configuration
    and runtime files live in the course folder (a user's ~/.jupyter or
    IPython startup files do not change a grade); the package and cnnlib are
    importable even without an install; numerical libraries use one thread
    each (parallel workers, and the same floats whatever the worker count);
    ``AUTOGRADER_JOB`` marks every process of this command so that none
    outlives it.
    """
    env = dict(os.environ)
    private = course_root / ".jupyter"
    others = [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join([str(course_root)] + others)
    env["JUPYTER_CONFIG_DIR"] = str(private / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(private / "runtime")
    env["IPYTHONDIR"] = str(private / "ipython")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(threads, "1")
    env["PYTHONUNBUFFERED"] = "1"
    # nbgrader runs the `alembic` executable by name (gradebook migrations): the
    # interpreter's own bin folder must come first even when no venv is activated
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir] + [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir])
    env["AUTOGRADER_JOB"] = job
    return env


def run_nbgrader(course_root: Path, *args: str, wall_time: float | None = None,
                 log_file: Path | None = None) -> Run:
    """Run nbgrader ARGS (``python -m autograder.nbgrader_cli``) in ``course_root``; kill it all
    after ``wall_time`` s.

    The command runs in its own process group; the kernels it starts run in
    theirs. On overrun, or when the command ends and leaves a process behind,
    every process carrying this command's ``AUTOGRADER_JOB`` mark is killed.
    """
    course_root = Path(course_root)
    job = uuid.uuid4().hex
    log_file = log_file or course_root / ".jupyter" / f"nbgrader-{args[0]}-{job[:8]}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "autograder.nbgrader_cli", *args]  # plain nbgrader, started faster
    start = time.monotonic()
    env = grading_environment(course_root, job)
    # kernels' connection files and Unix sockets: a short private folder of this command
    # (the sandbox binds this folder)
    runtime = runtime_folder(job)
    env["JUPYTER_RUNTIME_DIR"] = runtime
    with open(log_file, "w") as log:
        process = subprocess.Popen(command, cwd=course_root, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            returncode = process.wait(timeout=wall_time)
        except subprocess.TimeoutExpired:
            returncode = None
            kill_group(process.pid)
            process.wait()
        finally:
            kill_marked(job)
            shutil.rmtree(runtime, ignore_errors=True)
    return Run(list(args), returncode, time.monotonic() - start, log_file.read_text(errors="replace"))


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def runtime_base() -> str:
    """Where kernels' runtime folders go: the temporary folder, or a short one when that
    path would make the kernels' Unix socket paths longer than the system allows (a long
    TMPDIR: a cluster's per-job scratch folder, macOS's /var/folders/..., pytest's)."""
    tmp = tempfile.gettempdir()
    if len(os.fsencode(tmp)) + len(RUNTIME_TAIL) <= SOCKET_PATH_BYTES:
        return tmp
    for short in ("/tmp", "/var/tmp"):
        if os.path.isdir(short) and os.access(short, os.W_OK | os.X_OK):
            return short
    return tmp  # the kernels cannot start; each notebook says why


def runtime_folder(job: str | None = None) -> str:
    """A new folder for kernels' connection files and Unix sockets (``agr-…`` in
    :func:`runtime_base`), with an owner file naming the job's ``AUTOGRADER_JOB`` mark
    (default: this process's) so that :func:`remove_job_folders` finds it when the job is
    killed before it could remove the folder itself. The mark goes into a file, not into
    the name, which would lengthen the socket paths."""
    folder = tempfile.mkdtemp(prefix="agr-", dir=runtime_base())
    job = job or os.environ.get("AUTOGRADER_JOB")
    if job:
        Path(folder, OWNER_FILE).write_text(job)
    return folder


def remove_job_folders(job: str) -> None:
    """Remove what processes of a killed job left in the temporary folder: its kernels'
    runtime folders (owner file) and the empty roots of its unshare sandboxes (named after it)."""
    from autograder.sandbox import root_prefix

    if not job:  # an empty mark would name every job's folders
        return
    tmp = Path(tempfile.gettempdir())
    runtimes = [folder for base in {tmp, Path(runtime_base())} for folder in base.glob("agr-*")]  # each listed once
    for folder in runtimes:
        try:
            # a shared /tmp: only a real folder of this user, never a link another user planted
            if folder.is_symlink() or folder.lstat().st_uid != os.getuid():
                continue
            owner = (folder / OWNER_FILE).read_text()
        except OSError:
            continue
        if owner == job:
            shutil.rmtree(folder, ignore_errors=True)
    for root in tmp.glob(f"{root_prefix(job)}*"):
        try:
            root.rmdir()  # an empty mount point once its namespace is gone; never anything else
        except OSError:
            pass


def kill_marked(job: str) -> None:
    """Kill every process whose environment carries ``AUTOGRADER_JOB=job`` (Linux /proc)."""
    mark = f"AUTOGRADER_JOB={job}".encode()
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if mark in environ.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
