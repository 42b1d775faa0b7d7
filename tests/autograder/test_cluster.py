"""Grading on a Dask cluster (autograder/cluster.py).

Fast tests check that a submission travels as data without changing what
intake says about it, and that a worker's files land only in its student's
folders. The slow test starts a real ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, kills one of them (and everything it started) with
SIGKILL in the middle of a batch, and checks that the results equal a local run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, read_csv, run_cli

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR, cluster
from autograder.grading import GradingError, read_assignment
from autograder.intake import MAX_FOLDER_DEPTH, MAX_TOTAL_BYTES, intake

ASSIGNMENT = "parameter_counting"
STUDENTS = ("reference", "untouched", "syntax_error", "infinite_loop", "exception", "off_by_one")
CELL_TIMEOUT = "5"  # s: the endless loop runs out of time quickly, the same way in both runs


def copied(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def odd_submission(root: Path, notebook: Path) -> Path:
    """A submission holding every kind of entry intake refuses, next to a good notebook."""
    student = root / "odd"
    (student / "data").mkdir(parents=True)
    (student / "parameter_counting.ipynb").write_bytes(notebook.read_bytes())
    (student / "data" / "numbers.txt").write_text("1 2 3\n")
    (student / "secret.txt").symlink_to("/etc/passwd")
    os.mkfifo(student / "pipe")
    (root / "outside.txt").write_text("not the student's\n")
    os.link(root / "outside.txt", student / "hardlinked.txt")
    with open(student / "huge.bin", "wb") as f:
        f.truncate(MAX_TOTAL_BYTES + 1)  # sparse: refused for its size, never read
    deep = student.joinpath(*["d"] * (MAX_FOLDER_DEPTH + 2))
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("too deep\n")
    return student


def test_a_packed_submission_tells_intake_the_same(tmp_path):
    assignment = read_assignment(ASSIGNMENTS_DIR / ASSIGNMENT)
    notebook = SAMPLES_DIR / ASSIGNMENT / "reference" / f"{ASSIGNMENT}.ipynb"
    student = odd_submission(tmp_path / "client", notebook)
    local = intake(assignment, student, tmp_path / "local" / ASSIGNMENT)

    packed = cluster.pack_submission(student, assignment.notebooks)
    assert b"root:" not in json.dumps(packed, default=repr).encode()  # nothing behind the link was read
    assert "huge.bin" not in packed["files"] and packed["refused"]["huge.bin"]["kind"] == "sparse"
    rebuilt = tmp_path / "worker" / "submissions" / "odd"
    cluster.unpack_submission(packed, rebuilt)
    remote = intake(assignment, rebuilt, tmp_path / "remote" / ASSIGNMENT)

    assert remote == local
    notes = "; ".join(n for ns in local[1].values() for n in ns)
    for name in ("secret.txt", "pipe", "hardlinked.txt", "huge.bin", "d/d/d"):
        assert name in notes, (name, notes)
    assert copied(tmp_path / "remote" / ASSIGNMENT) == copied(tmp_path / "local" / ASSIGNMENT)


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_refused_notebook_or_folder_is_refused_on_the_worker_too(tmp_path, kind):
    assignment = read_assignment(ASSIGNMENTS_DIR / ASSIGNMENT)
    for name in ("folder", "notebook"):
        student = tmp_path / name / "student"
        target = student if name == "folder" else student / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(SAMPLES_DIR / ASSIGNMENT / "reference") if kind == "symlink" else os.mkfifo(target)
        local = intake(assignment, student, tmp_path / name / "local" / ASSIGNMENT)
        rebuilt = tmp_path / name / "worker" / "student"
        cluster.unpack_submission(cluster.pack_submission(student, assignment.notebooks), rebuilt)
        assert intake(assignment, rebuilt, tmp_path / name / "remote" / ASSIGNMENT) == local
        assert local[0]  # the notebook cannot be graded: the same reason on both sides


def test_a_worker_writes_only_into_its_students_folders(tmp_path):
    cluster.write_result_files(tmp_path, "ada", {"feedback/ada/nb.html": b"<p>ok</p>"}, ["feedback", "feedback/ada"])
    assert (tmp_path / "feedback" / "ada" / "nb.html").read_bytes() == b"<p>ok</p>"
    for relative in ("feedback/bob/nb.html", "../escape", "feedback/ada/../../x", "/etc/x", "grades.csv",
                     "logs/ada/../bob/x"):
        with pytest.raises(GradingError):
            cluster.write_result_files(tmp_path, "ada", {relative: b"x"}, [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_says_so(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(GradingError, match="cannot reach the Dask scheduler at " + address):
        cluster.connect(address)


# --- slow: a real cluster on this machine ------------------------------------------------

def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_machine(pid: int) -> None:
    """SIGKILL a worker and everything it started at once, as when its machine dies."""
    for victim in [pid, *descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def dask_cluster(tmp_path):
    """A ``dask scheduler`` and two ``dask worker --nthreads 1`` processes; yields (address, workers)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    scheduler_file = tmp_path / "scheduler.json"
    started = []

    def start(*args, name):
        log = open(tmp_path / f"{name}.log", "w")
        started.append(subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=tmp_path, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True))
        return started[-1]

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file), name="scheduler")
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [start("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--local-directory", str(tmp_path / f"worker{i}"), name=f"worker{i}") for i in (1, 2)]
        yield address, workers
    finally:
        for process in reversed(started):
            kill_machine(process.pid)
            process.wait()


def results_by_student(out: Path) -> dict[str, list[dict]]:
    data = json.loads((out / "results.json").read_text())
    return {s["student_id"]: [{k: q[k] for k in ("notebook", "grade_id", "score", "max_score", "message")}
                              for q in s["questions"]] for s in data["students"]}


def files_under(out: Path, folder: str) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / folder).rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_nothing(dask_cluster, tmp_path):
    from distributed import Client

    address, workers = dask_cluster
    submissions = tmp_path / "submissions"
    for student in STUDENTS:
        (submissions / student).mkdir(parents=True)
        for path in (SAMPLES_DIR / ASSIGNMENT / student).iterdir():
            (submissions / student / path.name).write_bytes(path.read_bytes())
    common = ["--assignments", ASSIGNMENTS_DIR, "--timeout", CELL_TIMEOUT]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "cluster-out"
    start = time.monotonic()
    with Client(address, timeout="30s") as watcher:
        watcher.wait_for_workers(2, timeout=60)
        pids = {pid: address for address, pid in watcher.run(os.getpid).items()}
        victim = workers[0]
        grading = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out),
             "--course", str(tmp_path / "course-cluster"), "--scheduler", address, *map(str, common)],
            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # mid-batch: a first student's results are in OUT and the victim is grading another
        killed_while = None
        while killed_while is None and grading.poll() is None and time.monotonic() - start < 600:
            busy = watcher.processing().get(pids[victim.pid], ())
            done = (out / "feedback").is_dir() and any((out / "feedback").iterdir())
            if done and busy:
                time.sleep(2)  # well into that notebook: nbgrader and its kernels are running
                kill_machine(victim.pid)
                killed_while = busy[0]
            time.sleep(0.5)
        stdout, stderr = grading.communicate(timeout=900)
    cluster_seconds = time.monotonic() - start
    assert grading.returncode == 0, stdout + stderr
    assert killed_while is not None, "the batch ended before a worker could be killed mid-batch"
    assert victim.poll() == -signal.SIGKILL

    local = tmp_path / "local-out"
    run_cli("grade", ASSIGNMENT, submissions, "--out", local, "--course", tmp_path / "course-local",
            "--workers", 2, *common, cwd=tmp_path)

    assert read_csv(out / "grades.csv") == read_csv(local / "grades.csv")
    assert read_csv(out / "questions.csv") == read_csv(local / "questions.csv")
    assert results_by_student(out) == results_by_student(local)
    assert sorted(results_by_student(out)) == sorted(STUDENTS)
    assert "the grader failed" not in (out / "questions.csv").read_text()
    for folder in ("feedback", "autograded", "logs"):
        assert files_under(out, folder) == files_under(local, folder)
    run = json.loads((out / "run.json").read_text())
    assert run["mode"] in ("bwrap", "unshare") and run["cluster"]["scheduler"] == address
    assert len(run["cluster"]["workers"]) == 2
    assert f"{len(STUDENTS)}/{len(STUDENTS)}" in stderr  # the progress bar reached the end
    print(f"cluster run with a worker killed while it graded {killed_while}: {cluster_seconds:.0f} s")
