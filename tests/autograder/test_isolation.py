"""Isolation modes and limits of the grading sandbox (autograder/sandbox.py, issue 19).

Most tests start the sandbox (``sandbox.run``) on a small script instead of a
Jupyter kernel; one starts a real kernel through the course's kernel spec.
Each hostile payload first checks that it runs in a PID namespace of its own
and refuses to act otherwise, so a broken sandbox fails the test instead of
killing the machine's processes.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from support import REPO, processes_with

from autograder import sandbox
from autograder.course import install_kernel

MODES = [pytest.param("bwrap", marks=pytest.mark.skipif(not sandbox.bwrap_works(),
                                                        reason="bubblewrap does not work here")),
         pytest.param("unshare", marks=pytest.mark.skipif(not sandbox.unshare_works(),
                                                          reason="unshare does not work here"))]
OUTSIDE_PID_NS = os.readlink("/proc/self/ns/pid") if os.path.exists("/proc/self/ns/pid") else ""
# every hostile payload starts with this: not in a PID namespace of its own -> stop, do nothing
GUARD = f"""
import os, sys
if os.readlink('/proc/self/ns/pid') == {OUTSIDE_PID_NS!r} or os.getpid() > 10:
    print('NOT ISOLATED'); sys.exit(3)
"""


@pytest.fixture
def place(tmp_path):
    """A working copy (with a notebook), a file next to it and a private connection-file folder."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "graded.ipynb").write_text("### BEGIN HIDDEN TESTS\nassert secret\n")
    (tmp_path / "next_to_work.txt").write_text("instructor's file")
    runtime = Path(tempfile.mkdtemp(prefix="agi-"))
    (runtime / "kernel.json").write_text(json.dumps({"transport": "ipc", "ip": str(runtime / "ipc")}))
    yield work, runtime / "kernel.json"
    subprocess.run(["rm", "-rf", str(runtime)])


def sandboxed(mode: str, code: str, work: Path, connection_file: Path, timeout: float = 120, **env):
    """Run ``python -c code`` in the sandbox of ``mode`` (in a child process, as the kernel spec does)."""
    launcher = ("import sys; from pathlib import Path; from autograder import sandbox; "
                f"sys.exit(sandbox.run([sys.executable, '-c', {code!r}], Path({str(work)!r}), "
                f"Path({str(connection_file)!r}), {mode!r}))")
    environment = dict(os.environ, PYTHONPATH=str(REPO), AUTOGRADER_SANDBOX=mode, **env)
    if "AUTOGRADER_EXTRA_BINDS" not in env:
        environment.pop("AUTOGRADER_EXTRA_BINDS", None)
    return subprocess.run([sys.executable, "-c", launcher], cwd=work, env=environment, capture_output=True,
                          text=True, timeout=timeout, start_new_session=True)


# --- choosing the mode ----------------------------------------------------------------

def test_auto_picks_bwrap_then_unshare_then_none(monkeypatch):
    def machine(bwrap, unshare):
        monkeypatch.setattr(sandbox, "bwrap_works", lambda: bwrap)
        monkeypatch.setattr(sandbox, "unshare_works", lambda: unshare)

    monkeypatch.setenv("AUTOGRADER_SANDBOX", "auto")
    machine(True, True)
    assert sandbox.mode() == "bwrap"
    machine(False, True)
    assert sandbox.mode() == "unshare"
    machine(False, False)
    assert sandbox.mode() == "none"
    machine(True, True)
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "unshare")
    assert sandbox.mode() == "unshare"
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "none")
    assert sandbox.mode() == "none"
    machine(False, False)
    for wanted in ("bwrap", "unshare", "chroot"):
        monkeypatch.setenv("AUTOGRADER_SANDBOX", wanted)
        with pytest.raises(SystemExit):
            sandbox.mode()


def test_limit_errors_name_the_limit(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_PROCESS_LIMIT", "64")
    monkeypatch.setenv("AUTOGRADER_DISK_LIMIT", str(256 * 1024 ** 2))
    name, message = sandbox.explain_limit("BlockingIOError", "[Errno 11] Resource temporarily unavailable")
    assert name == "ProcessLimitError" and message.endswith("at most 64 processes and threads (process limit)")
    assert sandbox.explain_limit("RuntimeError", "can't start new thread")[0] == "ProcessLimitError"
    for evalue in ("[Errno 27] File too large", "[Errno 28] No space left on device: '/tmp/x'",
                   "[Errno 30] Read-only file system: 'big'"):
        name, message = sandbox.explain_limit("OSError", evalue)
        assert name == "DiskLimitError" and message.endswith("at most 256 MiB (disk limit)")
    assert sandbox.explain_limit("OSError", "[Errno 2] No such file or directory") is None
    assert sandbox.explain_limit("ValueError", "[Errno 28]") is None


def test_extra_binds_are_read_only_and_last(tmp_path, monkeypatch, place):
    work, connection_file = place
    rules = tmp_path / "rules.json"
    monkeypatch.setenv("AUTOGRADER_EXTRA_BINDS", str(rules))
    rules.write_text(json.dumps([[str(tmp_path / "next_to_work.txt"), str(REPO / "cnnlib" / "checks.py")]]))
    args = sandbox.bwrap_command(["python"], work, connection_file)
    pairs = [(args[i], args[i + 1], args[i + 2]) for i in range(len(args) - 2) if args[i] in ("--bind", "--ro-bind")]
    assert pairs[-1] == ("--ro-bind", str(tmp_path / "next_to_work.txt"), str(REPO / "cnnlib" / "checks.py"))
    assert sandbox.view(work, connection_file)["extra"] == [(str(tmp_path / "next_to_work.txt"),
                                                             str(REPO / "cnnlib" / "checks.py"))]
    assert sandbox.sandbox_command(["python"], work, connection_file, "none") == ["python"]  # ignored without a sandbox
    for bad in ("{}", "[[1, 2]]", json.dumps([[str(tmp_path / "missing"), "/x"]]), json.dumps([["/etc", "relative"]])):
        rules.write_text(bad)
        with pytest.raises(SystemExit, match="AUTOGRADER_EXTRA_BINDS"):
            sandbox.extra_binds()


# --- what the sandbox holds back ---------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_kill_everything_reaches_nothing_outside(mode, place):
    work, connection_file = place
    sentinel = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        result = sandboxed(mode, GUARD + "import signal, subprocess\n"
                           "inner = subprocess.Popen(['sleep', '300'])\n"  # a target inside, so kill(-1) finds one
                           "os.kill(-1, signal.SIGKILL)\nprint('sent', inner.wait())", work,
                           connection_file)
        assert "NOT ISOLATED" not in result.stdout, result.stdout
        assert result.stdout.split() == ["sent", "-9"], result.stdout + result.stderr
        time.sleep(0.5)
        assert sentinel.poll() is None  # the process next to the test lives on
    finally:
        sentinel.kill()
        sentinel.wait()


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_no_network(mode, place):
    work, connection_file = place
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        result = sandboxed(mode, "import socket\ntry:\n"
                                 f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                                 "    print('connected')\nexcept OSError as e:\n    print('failed', e)", work,
                           connection_file)
        assert result.stdout.startswith("failed"), result.stdout + result.stderr
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody came
    finally:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_instructor_files_are_not_there(mode, place, tmp_path):
    work, connection_file = place
    probe = textwrap.dedent(f"""
        import json, os
        seen = {{}}
        for path in {[str(REPO / "assignments"), str(REPO / "autograder" / "grading.py"),
                      str(tmp_path / "next_to_work.txt"), str(work / "graded.ipynb"), str(REPO / "README.md")]!r}:
            try:
                seen[path] = os.listdir(path) if os.path.isdir(path) else open(path).read()
            except OSError as error:
                seen[path] = type(error).__name__
        seen['repo'] = sorted(os.listdir({str(REPO)!r}))
        seen['up'] = sorted(os.listdir('..'))
        open('mine.txt', 'w').write('written')
        print(json.dumps(seen))
    """)
    result = sandboxed(mode, probe, work, connection_file)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen.pop(str(REPO / "assignments")) == "FileNotFoundError"
    assert seen.pop(str(REPO / "autograder" / "grading.py")) == "FileNotFoundError"
    assert seen.pop(str(REPO / "README.md")) == "FileNotFoundError"
    assert seen.pop(str(tmp_path / "next_to_work.txt")) == "FileNotFoundError"
    assert seen.pop(str(work / "graded.ipynb")) == "PermissionError"  # the notebook with the hidden tests
    assert set(seen.pop("repo")) <= {"cnnlib", ".venv", "autograder"}  # autograder/: kernel_boot.py only
    assert seen.pop("up") == ["work"]
    assert (work / "mine.txt").read_text() == "written"  # the working copy itself is writable


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_process_limit(mode, place):
    if sandbox.process_enforcement(mode).startswith("not enforced"):
        pytest.skip(sandbox.process_enforcement(mode))
    work, connection_file = place
    marker = f"0.{random.randrange(10 ** 8, 10 ** 9)}"  # sleep adds it to 30 s: a mark in the command line
    before = len(processes_with(marker))
    payload = GUARD + textwrap.dedent(f"""
        import subprocess
        started = []
        try:
            for _ in range(200):
                started.append(subprocess.Popen(['sleep', '30', {marker!r}]))
        except OSError as error:
            print(len(started), type(error).__name__, error)
        else:
            print(len(started), 'all started')
    """)
    result = sandboxed(mode, payload, work, connection_file, AUTOGRADER_PROCESS_LIMIT="32")
    assert "NOT ISOLATED" not in result.stdout
    count, ename = result.stdout.split()[:2]
    assert 10 < int(count) < 32 and ename == "BlockingIOError", result.stdout
    assert sandbox.explain_limit(ename, result.stdout.split(" ", 2)[2])[0] == "ProcessLimitError"
    time.sleep(0.5)
    assert len(processes_with(marker)) == before == 0  # the sleepers died with the sandbox


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_disk_limit(mode, place):
    work, connection_file = place
    limit = 64 * 1024 ** 2
    mounts_before = Path("/proc/self/mountinfo").read_text()
    payload = textwrap.dedent("""
        import os, time
        def fill(path, size=1024 ** 3):
            try:
                with open(path, 'wb') as f:
                    for _ in range(size // (4 << 20)):
                        f.write(b'x' * (4 << 20))
                return 'wrote all'
            except OSError as error:
                return f'{type(error).__name__}: {error}'
        print('big', fill('big'))
        print('tmp', fill('/tmp/big'))
        print('more', fill('more', 60 * 1024 ** 2))
        time.sleep(1.5)  # the watcher measures the working copy
        print('after', fill('after', 4096))
    """)
    result = sandboxed(mode, payload, work, connection_file, AUTOGRADER_DISK_LIMIT=str(limit))
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["big"].startswith("OSError: [Errno 27]"), result.stdout  # no file over the limit
    assert lines["tmp"].startswith("OSError: [Errno 2"), result.stdout  # /tmp is a tmpfs of that size
    assert "[Errno 30]" in lines["after"], result.stdout + result.stderr  # the working copy went read-only
    assert "disk limit" in result.stderr
    assert sandbox.explain_limit("OSError", lines["after"].split(": ", 1)[1])[0] == "DiskLimitError"
    assert (work / "big").stat().st_size <= limit
    (work / "outside.txt").write_text("the grader still writes here")  # read-only only inside the sandbox
    assert Path("/proc/self/mountinfo").read_text() == mounts_before  # nothing mounted on the host
    for name in ("big", "more"):
        (work / name).unlink(missing_ok=True)


# --- the command line --------------------------------------------------------------------

def grade_cli(tmp_path, *extra, mode="none"):
    submissions = tmp_path / "submissions"
    submissions.mkdir(exist_ok=True)
    env = dict(os.environ, AUTOGRADER_SANDBOX=mode, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "parameter_counting", str(submissions),
                           "--out", str(tmp_path / "out"), "--course", str(tmp_path / "course"), "--workers", "1",
                           *extra], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)


@pytest.mark.slow
def test_grade_refuses_to_run_without_a_sandbox(tmp_path):
    refused = grade_cli(tmp_path)
    assert refused.returncode == 2
    assert "refusing to run student code without a sandbox" in refused.stderr and "bubblewrap" in refused.stderr
    assert not (tmp_path / "out").exists()
    allowed = grade_cli(tmp_path, "--unsafe-no-sandbox")
    assert allowed.returncode == 0, allowed.stderr
    assert "isolation: none (UNSAFE" in allowed.stdout
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["mode"] == "none" and info["unsafe_no_sandbox"] is True


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_run_json_records_the_isolation_and_limits(tmp_path, mode):
    result = grade_cli(tmp_path, "--disk-limit", "100", "--process-limit", "32", "--timeout", "20",
                       "--notebook-timeout", "300", "--memory-limit", "1.5", mode=mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"isolation: {mode};")
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["mode"] == mode and info["unsafe_no_sandbox"] is False
    assert info["disk_limit_bytes"] == 100 * 1024 ** 2 and info["process_limit"] == 32
    assert info["memory_limit_bytes"] == int(1.5 * 1024 ** 3)
    assert info["cell_timeout_seconds"] == 20 and info["notebook_timeout_seconds"] == 300
    assert info["cpu_limit_seconds"] > 300 and info["process_enforcement"]
    assert set(info["versions"]) == {"cnnlib", "nbgrader", "python"} and all(info["versions"].values())


# --- a real kernel through the course's kernel spec ----------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_a_real_kernel_runs_isolated(mode, tmp_path, monkeypatch, place):
    from jupyter_client import KernelManager

    work, _ = place
    install_kernel(tmp_path / "jupyter")
    runtime = Path(tempfile.mkdtemp(prefix="agk-"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("AUTOGRADER_SANDBOX", mode)
    monkeypatch.setenv("AUTOGRADER_PROCESS_LIMIT", "32")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(runtime / "ipc"),
                       connection_file=str(runtime / "kernel.json"))
    km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    out = []
    try:
        kc.wait_for_ready(timeout=120)
        code = GUARD.replace("sys.exit(3)", "raise SystemExit('not isolated')") + textwrap.dedent(f"""
            import subprocess
            caps = open('/proc/self/status').read().split('CapEff:')[1].split()[0]
            print(os.environ['AUTOGRADER_SANDBOXED'], caps, os.path.exists({str(REPO / "assignments")!r}))
            try:
                [subprocess.Popen(['sleep', '5']) for _ in range(100)]
            except OSError as error:
                print(type(error).__name__)
        """)
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: out.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        subprocess.run(["rm", "-rf", str(runtime)])
    assert "".join(out).split() == [mode, "0000000000000000", "False", "BlockingIOError"] or (
        sandbox.process_enforcement(mode).startswith("not enforced") and "".join(out).split()[:3] == [
            mode, "0000000000000000", "False"]), out
