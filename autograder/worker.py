"""Grading processes that live for a whole batch: nbgrader is imported once.

``grading.grade_or_explain`` hands each submission to a worker process
(``python -m autograder.worker FD``) that has imported nbgrader, nbconvert and
the course's preprocessors once, and grades one submission at a time with
``grading.grade_submission``: a private course folder per submission (its own
copy of the template gradebook, source and submitted files), nbgrader's
``Autograde`` and ``GenerateFeedback`` converters driven through its Python API
(:func:`nbgrader_step`), the same configuration file a plain ``nbgrader`` run
reads. Student code never runs in a worker: it runs in the sandboxed student
kernel that ``GuardedExecute`` starts for every notebook, next to the trusted
checker kernel, and both die with their notebook.

The parent keeps the wall-time backstop (:meth:`Worker.run`): a worker that runs
past it, or dies, is killed with its process group and every process that
carries the submission's ``AUTOGRADER_JOB`` mark (its kernels and whatever they
started), and :class:`WorkerLost` tells the caller why; the next submission
gets a fresh worker. Parent and worker are both the grader's own code and talk
over a private socket pair (``multiprocessing.connection``); only results
cross, never student code.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from autograder.course import grading_environment, kill_group, kill_marked, remove_job_folders, runtime_folder

READY_SECONDS = 120  # s a new worker may take to import nbgrader and say it is ready
STOP_SECONDS = 5  # s a worker gets to exit when told to before it is killed
PER_COURSE = ("JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")  # grading_environment's


class WorkerLost(Exception):
    """The worker grading a submission ran past the backstop or died; the message says which.
    ``started``: False when the worker failed before it got the submission."""

    def __init__(self, message: str, started: bool = True):
        super().__init__(message)
        self.started = started


# --- the parent's side ------------------------------------------------------------

class Worker:
    """One grading process, started at once and used for one submission at a time."""

    def __init__(self):
        self.mark = uuid.uuid4().hex  # AUTOGRADER_JOB of the worker itself
        ours, theirs = socket.socketpair()
        env = grading_environment(Path(tempfile.gettempdir()), self.mark)
        for key in PER_COURSE:  # set for each step, in that submission's private course
            env.pop(key)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.worker", str(theirs.fileno())], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                start_new_session=True)
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())
        self.ready = False

    def _wait_ready(self) -> None:
        if self.ready:
            return
        if not self.connection.poll(READY_SECONDS):
            self.kill()
            raise WorkerLost(f"a grading process did not start within {READY_SECONDS} s", started=False)
        try:
            self.connection.recv()
        except (EOFError, OSError) as error:
            self.kill()
            raise WorkerLost(f"a grading process failed to start ({type(error).__name__}); "
                             "please tell the instructor", started=False) from error
        self.ready = True

    def run(self, job: dict, wall_time: float | None):
        """Send ``job``, return its answer; :class:`WorkerLost` (and the worker killed) when it
        takes longer than ``wall_time`` s or the worker dies."""
        self._wait_ready()
        try:
            self.connection.send(job)
            if not self.connection.poll(wall_time):
                raise WorkerLost(f"grading was stopped: this submission took longer than {wall_time:g} s "
                                 "to grade in all")
            return self.connection.recv()
        except (EOFError, OSError) as error:
            raise WorkerLost("the grading process died while it graded this submission; "
                             "please tell the instructor") from error
        finally:
            if not self.alive():
                kill_marked(job["mark"])

    def alive(self) -> bool:
        return self.process.poll() is None and not self.connection.closed

    def kill(self, job_mark: str | None = None) -> None:
        """The worker, its process group and every process carrying its or the job's mark."""
        if self.process.poll() is None:  # once reaped, its id may belong to another process
            kill_group(self.process.pid)
            self.process.wait()
        kill_marked(self.mark)
        if job_mark:
            kill_marked(job_mark)
        for mark in (self.mark, job_mark):  # the folders the killed processes could not remove
            if mark:
                remove_job_folders(mark)
        self.connection.close()

    def stop(self) -> None:
        """Ask the worker to exit (end of input), kill it if it does not."""
        if self.process.poll() is None:
            self.connection.close()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class Pool:
    """The idle workers of this process, shared by its threads (one submission per worker)."""

    def __init__(self):
        self._idle: list[Worker] = []
        self._lock = threading.Lock()

    @contextmanager
    def worker(self):
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive():
            worker = Worker()
        try:
            yield worker
        finally:
            if worker.alive():
                with self._lock:
                    self._idle.append(worker)

    def run(self, job: dict, wall_time: float | None):
        """``job`` in an idle worker (a new one if none is idle); a lost worker is killed and dropped.
        A worker that fails before it got the job is not the student's doing: one more is tried."""
        for attempt in (1, 2):
            with self.worker() as worker:
                try:
                    return worker.run(job, wall_time)
                except WorkerLost as lost:
                    worker.kill(job["mark"])
                    if lost.started or attempt == 2:
                        raise

    def wait_ready(self) -> None:
        """Wait until the idle workers have imported nbgrader (one that fails is replaced when used)."""
        with self._lock:
            idle = list(self._idle)
        for worker in idle:
            try:
                worker._wait_ready()
            except WorkerLost:
                pass

    def start(self, count: int) -> None:
        """Have ``count`` workers starting (importing nbgrader) while the caller prepares the batch."""
        with self._lock:
            self._idle += [Worker() for _ in range(max(0, count - len(self._idle)))]

    def close(self) -> None:
        """Stop the idle workers (a batch leaves no process behind)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:  # all told at once, then waited for: they exit side by side
            worker.connection.close()
        for worker in idle:
            worker.stop()


POOL = Pool()
atexit.register(POOL.close)


def call(function, *args, options=None, wall_time: float | None = None):
    """``function(*args)`` (a module-level function of the grader) in a worker of this
    process's pool: (its result, the lines it logged). ``options`` (a ``grading.Options``)
    crosses without its log function; the worker's ``options.log`` collects the lines."""
    from dataclasses import replace

    if options is not None:
        args = (*args, replace(options, log=None))
    answer = POOL.run({"function": function, "args": args, "mark": uuid.uuid4().hex}, wall_time)
    if answer["error"]:
        raise RuntimeError(answer["error"])  # the worker's traceback, for the instructor's log
    return answer["result"], answer["lines"]


# --- the worker's side -----------------------------------------------------------------

@dataclass
class Step:
    """What one nbgrader converter did: whether it ended without an error, and its log."""

    ok: bool
    log: str
    timed_out: bool = False


def nbgrader_step(course_root: Path, step: str, assignment: str, log_file: Path) -> Step:
    """nbgrader's converter for ``step`` (``generate_assignment``, ``autograde`` or
    ``generate_feedback``) on ``assignment``
    in ``course_root``, in this process, configured by the folder's ``nbgrader_config.py`` as
    ``nbgrader STEP`` would be; its log (and its kernels' output) goes to ``log_file``.

    Only for a worker process: it sets the process's environment, working folder and
    standard output for the step.
    """
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback, NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course_root = Path(course_root)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = grading_environment(course_root, os.environ["AUTOGRADER_JOB"])
    # kernels' connection files and Unix sockets: a short private folder (the sandbox binds it)
    runtime = runtime_folder()
    env["JUPYTER_RUNTIME_DIR"] = runtime
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    log = logging.getLogger(f"autograder.worker.{step}")
    log.setLevel(logging.INFO)
    log.propagate = False
    with open(log_file, "a") as output, redirected(output):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"[{step} | %(levelname)s] %(message)s"))
        log.addHandler(handler)
        try:
            # the course's config file, as nbgrader reads it (it also sets the kernels' limits)
            config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
            coursedir = CourseDirectory(config=config, root=str(course_root))
            coursedir.assignment_id = assignment
            converter = {"generate_assignment": GenerateAssignment, "autograde": Autograde,
                         "generate_feedback": GenerateFeedback}[step]
            converter(coursedir=coursedir, config=config, log=log, force=True).start()
            ok = True
        except NbGraderException:
            ok = False  # nbgrader has logged why
        except Exception:
            log.error("%s failed:\n%s", step, traceback.format_exc())
            ok = False
        finally:
            log.removeHandler(handler)
            sys.stderr.flush()
            os.environ.clear()
            os.environ.update(saved)
            shutil.rmtree(runtime, ignore_errors=True)
    return Step(ok, log_file.read_text(errors="replace"))


@contextmanager
def redirected(file):
    """File descriptors 1 and 2 of this process (inherited by the kernels it starts) point at ``file``."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(file.fileno(), 1), os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])


def serve(connection: Connection) -> int:
    """Grade the submissions the parent sends, one at a time, until it closes the connection."""
    from autograder import checker_fork
    from autograder.nbgrader_cli import start_faster

    # first, with the worker's own mark (killing the worker ends it and the kernels it forked)
    checker_fork.SERVER.start()
    start_faster()  # see autograder.nbgrader_cli
    from nbconvert.exporters import HTMLExporter  # noqa: F401  (imported now, not for the first student)
    from nbgrader.converters import Autograde, GenerateFeedback  # noqa: F401

    from autograder import (
        grading,
        nbgrader_config,  # noqa: F401  (the preprocessors the config names)
    )

    connection.send("ready")
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return 0
        lines: list[str] = []
        os.environ["AUTOGRADER_JOB"] = job["mark"]
        try:
            for arg in job["args"]:
                if isinstance(arg, grading.Options):
                    arg.log = lines.append
            answer = {"result": job["function"](*job["args"]), "lines": lines, "error": None}
        except Exception:  # the grader's own failure: this student's rows say so, the batch goes on
            answer = {"result": None, "lines": lines, "error": traceback.format_exc()}
        finally:
            kill_marked(job["mark"])  # a kernel's child that outlived its notebook
            remove_job_folders(job["mark"])
        connection.send(answer)


def main(argv: list[str]) -> int:
    return serve(Connection(int(argv[0])))


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush(), sys.stderr.flush()
    # nothing is left to save: skip tearing down nbgrader's and nbconvert's modules, which the
    # batch used to wait for (benchmarks/NOTES.md)
    os._exit(code)
