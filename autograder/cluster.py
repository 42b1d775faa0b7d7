"""Grade on a Dask cluster: one task per submission, files travelling as data.

``python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT --scheduler tcp://HOST:8786``
sends every submission to an existing Dask cluster (``dask scheduler`` and
``dask worker`` processes, ``SSHCluster``, dask-jobqueue on SLURM) and writes
the same OUT folder as a local run. No folder is shared between the machines:

1. the client packs the assignment's source folder (``{relative path: bytes}``
   and its sha256) once, as a task of its own, and every submission as
   :func:`pack_submission` describes;
2. on a worker, :func:`grade_task` unpacks both into a temporary folder, builds
   the template (``grading.make_template``, once per worker process and
   assignment hash), grades with ``grading.grade_or_explain`` in the worker's own
   sandbox and returns the result as data with the files it wrote under
   ``feedback/<student>``, ``logs/<student>`` and ``autograded/<student>``;
3. the client writes those files into OUT (each path checked to stay in its
   student's folders), rebuilds the results and writes the CSVs and results.json.

Tasks are deterministic and keyed per student: when a worker dies, the
scheduler runs its tasks again on another worker, and since grading is seeded
the results equal a local run's.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import json
import os
import platform
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path, PurePosixPath

from autograder import sandbox
from autograder.course import Course, notebook_names
from autograder.grading import (
    Assignment,
    Batch,
    GradingError,
    Options,
    Question,
    StudentResult,
    clear_results,
    grade_or_explain,
    make_template,
    question,
    read_assignment,
    students,
    write_csvs,
    write_results,
)
from autograder.intake import MAX_FILES, MAX_NOTEBOOK_BYTES, MAX_TOTAL_BYTES, _Copier, shown

CONNECT_SECONDS = 20  # s to reach the scheduler before the run stops with a message
WORKER_WAIT_SECONDS = 60  # s to wait for a first worker to join
RETRIES = 2  # reruns of a task that raised (a worker lost mid-task is rerun by the scheduler anyway)
MAX_PLACEHOLDERS = 10 * MAX_FILES  # names past the file cap recreated on the worker (the message counts them)
RESULT_FOLDERS = ("feedback", "logs", "autograded")  # what a task writes under OUT, one folder per student each


# --- files as data ------------------------------------------------------------------

def read_tree(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """({relative path: bytes} of the regular files, [relative folders]) under a folder
    the grader wrote itself (links are not followed)."""
    files, folders = {}, []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        folders += [(here / name).relative_to(root).as_posix() for name in subfolders]
        for name in names:
            path = here / name
            if path.is_file() and not path.is_symlink():
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files, sorted(folders)


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it is a plain relative path that stays under root."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") or "\0" in p for p in parts):
        raise GradingError(f"refused to write {relative!r}: not a plain relative path")
    return root.joinpath(*parts)


def write_tree(root: Path, files: dict[str, bytes], folders: list[str] = ()) -> None:
    for relative in folders:
        inside(root, relative).mkdir(parents=True, exist_ok=True)
    for relative, data in files.items():
        path = inside(root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def pack_assignment(source: Path) -> dict:
    """An assignment's source folder as data, with a sha256 of its paths and contents."""
    files, folders = read_tree(Path(source))
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(files[relative]).digest())
    return {"name": Path(source).name, "files": files, "folders": folders, "sha256": digest.hexdigest()}


# --- a submission as data -------------------------------------------------------------

class _Packer(_Copier):
    """intake's copier (same order, caps and refusals, nothing followed) that also
    records what each refused regular file was, so the worker can rebuild it."""

    def __init__(self, first: list[str]):
        super().__init__(first)
        self.refused_files: dict[str, dict] = {}

    def _file(self, fd, name, info, dest, rel):
        room = MAX_TOTAL_BYTES - self.bytes
        too_large = info.st_size > (min(room, MAX_NOTEBOOK_BYTES) if name.endswith(".ipynb") else room)
        super()._file(fd, name, info, dest, rel)
        if rel in self.skipped:
            if info.st_nlink != 1:
                self.refused_files[rel] = {"kind": "links", "size": info.st_size, "links": info.st_nlink}
            elif too_large:
                self.refused_files[rel] = {"kind": "sparse", "size": info.st_size}
            else:  # unreadable, or changed while it was read
                self.refused_files[rel] = {"kind": "unreadable"}


def entry_kind(path: Path) -> dict:
    """What a refused entry is, from lstat alone (its content is never read)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return {"kind": "unreadable"}
    kinds = {stat.S_IFDIR: "folder", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket",
             stat.S_IFCHR: "device", stat.S_IFBLK: "device", stat.S_IFREG: "empty"}
    return {"kind": kinds.get(stat.S_IFMT(mode), "unreadable")}


def pack_submission(student_dir: Path, notebooks: list[str]) -> dict:
    """One student's submission as data: what a local intake would copy, as bytes, and
    a placeholder for every entry it would refuse.

    The client reads the folder with intake's own rules (links, FIFOs and devices
    never opened, the caps on count and size), so nothing outside the submission is
    ever read or sent. The worker's intake then meets the same names, the same
    kinds and sizes (a sparse file stands for one too large, a dangling link for a
    link) and says the same to the student as a local run would.
    """
    student_dir = Path(student_dir)
    packer = _Packer([f"{nb}.ipynb" for nb in notebooks])
    with tempfile.TemporaryDirectory(prefix="autograder-pack-") as tmp:
        packer.copy(student_dir, Path(tmp) / "copy")
        files, folders = read_tree(Path(tmp) / "copy") if (Path(tmp) / "copy").is_dir() else ({}, [])
    refused = {}
    for relative in list(packer.skipped) + packer.over_count[:MAX_PLACEHOLDERS]:
        if relative in packer.refused_files:
            refused[relative] = packer.refused_files[relative]
        elif relative.endswith("/"):  # a folder too deep or unreadable: its contents were never looked at
            refused[relative.rstrip("/")] = {"kind": "folder"}
        else:
            refused[relative] = entry_kind(student_dir / relative if relative else student_dir)
    return {"student_id": student_dir.name, "files": files, "folders": folders, "refused": refused}


def make_placeholder(path: Path, spec: dict, links_dir: Path) -> None:
    """An entry the worker's intake refuses for the same reason the client's would."""
    kind = spec["kind"]
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        path.mkdir(exist_ok=True)
    elif kind == "symlink":
        os.symlink("left out by the grader", path)  # dangling: nothing to follow
    elif kind == "socket":
        try:
            with socket.socket(socket.AF_UNIX) as unix:
                unix.bind(str(path))
        except OSError:  # a socket path longer than ~100 characters cannot be bound
            os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # the null device: harmless to have
        except OSError:  # no CAP_MKNOD: a FIFO is refused too, under another name
            os.mkfifo(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind in ("sparse", "links"):
        with open(path, "wb") as f:
            try:
                f.truncate(spec["size"])  # the size is checked, the bytes are never read
            except OSError:  # larger than this file system allows: still refused, with a smaller size
                f.truncate(MAX_TOTAL_BYTES + 1)
        links_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(spec.get("links", 1) - 1):  # outside the submission, as the other links were
            os.link(path, links_dir / uuid.uuid4().hex)
    elif kind == "unreadable":
        path.touch()
        path.chmod(0)  # refused as unreadable, except where the worker runs as root
    else:
        path.touch()


def unpack_submission(packed: dict, student_dir: Path) -> None:
    """Rebuild a packed submission at ``student_dir`` (whose name is the student id)."""
    links_dir = student_dir.parent.parent / "links"
    if "" in packed["refused"]:  # the submission folder itself was refused
        make_placeholder(student_dir, packed["refused"][""], links_dir)
        return
    student_dir.mkdir(parents=True)
    write_tree(student_dir, packed["files"], packed["folders"])
    for relative, spec in packed["refused"].items():
        make_placeholder(inside(student_dir, relative), spec, links_dir)


# --- the worker's side ----------------------------------------------------------------

_templates: dict[tuple, Assignment] = {}
_templates_lock = threading.Lock()
_worker_dir: list[Path] = []


def worker_dir() -> Path:
    """A folder of this worker process for its templates, removed when the process ends."""
    if not _worker_dir:
        _worker_dir.append(Path(tempfile.mkdtemp(prefix="autograder-worker-")))
        atexit.register(shutil.rmtree, _worker_dir[0], True)
    return _worker_dir[0]


def template(package: dict, options: Options) -> Assignment:
    """The assignment's template for these limits, built once per worker process."""
    key = (package["sha256"], options_data(options).__repr__())
    with _templates_lock:
        if key not in _templates:
            root = worker_dir() / f"{package['sha256'][:16]}-{len(_templates)}"
            course = Course(root / "course")
            write_tree(course.source(package["name"]), package["files"], package["folders"])
            _templates[key] = make_template(course, package["name"], root, options)
        return _templates[key]


def options_data(options: Options) -> dict:
    """The limits of a run as plain data (the log function stays on each side)."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
            if isinstance(getattr(options, f.name), (bool, int, float, str))}


@functools.lru_cache(maxsize=1)
def worker_isolation() -> dict:
    """What student code gets on this worker (run by the client on every worker; probed once)."""
    from importlib.metadata import version

    import cnnlib

    try:
        chosen = sandbox.mode()
    except SystemExit as error:  # a sandbox forced by AUTOGRADER_SANDBOX that does not work here
        chosen = f"broken: {error}"
    return {"host": platform.node(), "mode": chosen, "python": platform.python_version(),
            "cnnlib": cnnlib.__version__, "nbgrader": version("nbgrader"), "code": code_hash()}


def code_hash() -> str:
    """sha256 of the grader's and cnnlib's Python files: equal on every machine of a run."""
    import cnnlib

    digest = hashlib.sha256()
    for package in (Path(__file__).parent, Path(cnnlib.__file__).parent):
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def hold(package: dict) -> dict:
    """The assignment as a task's result: a lost copy is computed again from the graph."""
    return package


def grade_task(package: dict, packed: dict, limits: dict, unsafe_no_sandbox: bool) -> dict:
    """Grade one packed submission on this worker; the result and its files as data."""
    chosen = worker_isolation()["mode"]
    if chosen not in ("bwrap", "unshare") and not (chosen == "none" and unsafe_no_sandbox):
        raise GradingError(f"worker {platform.node()} has no sandbox for student code ({chosen}); "
                           f"{sandbox.INSTALL_HINT}, or grade with --unsafe-no-sandbox")
    lines: list[str] = []
    options = Options(**(limits | {"sandbox": chosen}), log=lines.append)
    assignment = template(package, options)
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
        student_dir = Path(tmp) / "submissions" / packed["student_id"]
        unpack_submission(packed, student_dir)
        out = Path(tmp) / "out"
        (Path(tmp) / "work").mkdir()
        result = grade_or_explain(assignment, student_dir, out, Path(tmp) / "work", options)
        files, folders = read_tree(out) if out.is_dir() else ({}, [])
        feedback = [Path(p).relative_to(out).as_posix() for p in result.feedback]
    return {"student_id": result.student_id, "questions": [dataclasses.asdict(q) for q in result.questions],
            "feedback": feedback, "seconds": result.seconds, "code_seconds": result.code_seconds,
            "files": files, "folders": folders, "log": lines, "host": platform.node()}


# --- the client's side ---------------------------------------------------------------

def connect(address: str):
    """A Dask client of the scheduler at ``address``, or a GradingError that says what to do."""
    try:
        from distributed import Client
    except ImportError as error:
        raise GradingError("grading on a Dask cluster needs the 'cluster' extra: "
                           "pip install -e '.[course,cluster]'") from error
    try:
        client = Client(address, timeout=f"{CONNECT_SECONDS}s")
    except (OSError, TimeoutError, ValueError) as error:
        raise GradingError(f"cannot reach the Dask scheduler at {address} within {CONNECT_SECONDS} s "
                           f"({type(error).__name__}: {error}); start one with `dask scheduler` and give its "
                           "address (tcp://HOST:8786)") from error
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (TimeoutError, OSError) as error:
        client.close()
        raise GradingError(f"the Dask scheduler at {address} has no worker after {WORKER_WAIT_SECONDS} s; "
                           "start some with `dask worker ADDRESS --nthreads 1`") from error
    return client


def check_workers(client, unsafe_no_sandbox: bool) -> dict[str, dict]:
    """Every worker's isolation; a GradingError if one would run student code unsandboxed."""
    workers = client.run(worker_isolation)
    unsafe = {address: info["mode"] for address, info in workers.items() if info["mode"] not in ("bwrap", "unshare")}
    refused = {a: m for a, m in unsafe.items() if not (m == "none" and unsafe_no_sandbox)}
    if refused:
        listed = ", ".join(f"{workers[a]['host']} ({a}): {m}" for a, m in refused.items())
        raise GradingError(f"refusing to run student code on workers without a sandbox: {listed}. On each, "
                           f"{sandbox.INSTALL_HINT}; to run it anyway (only code you trust), add --unsafe-no-sandbox.")
    mine = code_hash()
    for address, info in sorted(workers.items()):
        if info["code"] != mine:
            print(f"WARNING: worker {address} on {info['host']} runs other grader code than this machine "
                  f"({info['code']}, here {mine}): check out the same commit there, or its grades may differ")
    return workers


def weakest_mode(workers: dict[str, dict]) -> str:
    """The isolation the least isolated worker gives (what run.json reports)."""
    modes = {info["mode"] for info in workers.values()}
    return next(m for m in ("none", "unshare", "bwrap") if m in modes)


def choose_isolation(args) -> str | None:
    """As ``runs.choose_isolation`` for a cluster run: the workers' sandboxes, not this
    machine's (no student code runs here). None: refused, with a message."""
    import sys

    try:
        with connect(args.scheduler) as client:
            workers = check_workers(client, args.unsafe_no_sandbox)
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    args.sandbox_mode = weakest_mode(workers)
    for address, info in sorted(workers.items()):
        print(f"worker {address} on {info['host']}: isolation {info['mode']}, Python {info['python']}, "
              f"cnnlib {info['cnnlib']}, nbgrader {info['nbgrader']}, grader code {info['code']}")
    return args.sandbox_mode


def record_workers(out: Path, scheduler: str, workers: dict[str, dict]) -> None:
    """Add the scheduler and each worker's isolation to OUT/run.json (written before by ``grade``)."""
    run_file = Path(out) / "run.json"
    info = json.loads(run_file.read_text()) if run_file.is_file() else {}
    info["cluster"] = {"scheduler": scheduler, "workers": workers}
    run_file.parent.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(info, indent=1) + "\n")


def write_result_files(out: Path, student: str, files: dict[str, bytes], folders: list[str]) -> None:
    """A task's files into OUT, each refused unless it lies in one of this student's folders."""
    for relative in [*folders, *files]:
        parts = PurePosixPath(relative).parts
        if not parts or parts[0] not in RESULT_FOLDERS or (relative in files or len(parts) > 1) and (
                len(parts) < 2 or parts[1] != student):
            raise GradingError(f"a worker returned {relative!r} for {student!r}: outside that student's folders")
    write_tree(out, files, folders)


def rebuild(data: dict, out: Path) -> StudentResult:
    return StudentResult(data["student_id"], [Question(**q) for q in data["questions"]],
                         [out / p for p in data["feedback"]], data["seconds"], data["code_seconds"])


def failed(assignment: Assignment, student: str, error: BaseException) -> StudentResult:
    """This student's rows when the cluster could not grade the submission (zero points, the reason)."""
    problem = (f"the grader failed on this submission ({type(error).__name__}: {error}); "
               "please tell the instructor")
    return StudentResult(student, [question(student, cell, 0.0, problem, [], {}, {}) for cell in assignment.cells])


def grade(course: Course, assignment: str, submissions: Path, out: Path, options: Options, scheduler: str,
          unsafe_no_sandbox: bool = False) -> Batch:
    """Grade every submission of one assignment on the Dask cluster at ``scheduler``."""
    from distributed import as_completed
    from tqdm import tqdm

    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise GradingError(f"no submissions folder {submissions}")
    batch = Batch(assignment, submissions, out)
    info = read_assignment(course.source(assignment))
    notebooks = notebook_names(course.source(assignment))
    with connect(scheduler) as client:
        record_workers(out, scheduler, check_workers(client, unsafe_no_sandbox))
        clear_results(out)
        package = pack_assignment(course.source(assignment))
        held = client.submit(hold, package, key=f"autograder-assignment-{package['sha256'][:32]}")
        run = uuid.uuid4().hex[:8]
        limits = options_data(options)
        jobs = {}
        for index, student_dir in enumerate(students(submissions)):
            key = f"autograder-{assignment}-{run}-{index}-{shown(student_dir.name)}"  # unique if names print alike
            job = client.submit(grade_task, held, pack_submission(student_dir, notebooks), limits,
                                unsafe_no_sandbox, key=key, retries=RETRIES)
            jobs[job] = student_dir.name
        start = time.monotonic()
        with tqdm(total=len(jobs), unit="submission", desc=f"{assignment} on {scheduler}", smoothing=0,
                  disable=not getattr(options, "progress", True)) as bar:
            for done, job in enumerate(as_completed(jobs), 1):
                student = jobs[job]
                try:
                    data = job.result()
                    if data["student_id"] != student:
                        raise GradingError(f"a worker returned the results of {data['student_id']!r}")
                    write_result_files(out, student, data["files"], data["folders"])
                    result = rebuild(data, out)
                    for line in data["log"]:
                        bar.write(f"[{data['host']}] {line}")
                    where = data["host"]
                except Exception as error:  # a task that failed on every try costs this student's rows only
                    result, where = failed(info, student, error), "nowhere"
                    bar.write(f"ERROR: {student} could not be graded on the cluster: {type(error).__name__}: {error}")
                batch.results.append(result)
                bar.update()
                bar.write(f"[{done}/{len(jobs)}] {assignment} {student}: {result.score:g}/{result.max_score:g} "
                          f"({result.seconds:.0f} s on {where})")
                job.release()
        options.log(f"the cluster graded {len(jobs)} submission(s) in {time.monotonic() - start:.0f} s")
    batch.results.sort(key=lambda r: r.student_id)
    write_csvs(batch)
    write_results(batch)
    return batch
