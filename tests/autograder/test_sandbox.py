"""The grading kernel's sandbox and the hardened executor (autograder/sandbox.py, kernel_boot.py, execute.py).

Fast tests check how the sandbox is put together. Slow tests start real
kernels through the course's kernel spec (as nbgrader does) and run real
attacks in them: reading hidden tests, allocating 3 GiB, forking a child that
outlives the kernel, patching numpy, cnnlib.checks, builtins and sys.modules in
the student's kernel (the checker computes the same), reaching the checker
through a callback, killing the kernel, flooding output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from support import REPO, processes_left
from traitlets.config import Config

from autograder import sandbox
from autograder.course import install_kernel
from autograder.execute import GuardedExecute, seed_of
from autograder.nbgrader_config import timeout_error

SECRET = REPO / "assignments" / "parameter_counting" / "parameter_counting.ipynb"


# --- fast -----------------------------------------------------------------------

def test_the_repository_is_not_shown_to_the_kernel():
    paths = sandbox.python_paths()
    assert REPO / "cnnlib" in paths
    assert REPO not in paths and REPO / "assignments" not in paths and REPO / "autograder" not in paths
    assert not any(p in (REPO / "assignments").parents and p != REPO / "cnnlib" for p in paths if p != Path(sys.prefix))


@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed or cannot create namespaces")
def test_bwrap_command_binds_only_what_the_kernel_needs(tmp_path):
    work, runtime = tmp_path / "work", tmp_path / "runtime"
    work.mkdir(), runtime.mkdir()
    (runtime / "kernel.json").write_text(json.dumps({"transport": "ipc", "ip": str(runtime / "ipc")}))
    args = sandbox.bwrap_command(["python"], work, runtime / "kernel.json")
    binds = [(args[i], args[i + 1]) for i in range(len(args) - 1) if args[i] in ("--bind", "--ro-bind")]
    writable = [src for flag, src in binds if flag == "--bind"]
    assert writable == [str(work), str(runtime)]
    assert not any(Path(src) == REPO or Path(src) == REPO / "assignments" for _, src in binds)
    assert "--unshare-all" in args and "--die-with-parent" in args and "--cap-drop" in args
    assert "--share-net" not in args
    # a TCP client (nbgrader validate) gets the network and only its connection file
    (runtime / "kernel.json").write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1"}))
    args = sandbox.bwrap_command(["python"], work, runtime / "kernel.json")
    assert "--share-net" in args and [src for flag, src in zip(args, args[1:]) if flag == "--bind"] == [str(work)]


def test_format_bytes_and_memory_limit(monkeypatch):
    assert sandbox.format_bytes(2 * 1024 ** 3) == "2 GiB"
    monkeypatch.setenv("AUTOGRADER_MEMORY_LIMIT", str(512 * 1024 ** 2))
    assert sandbox.memory_limit() == 512 * 1024 ** 2
    monkeypatch.delenv("AUTOGRADER_MEMORY_LIMIT")
    assert sandbox.memory_limit() == sandbox.MEMORY_LIMIT


def test_seeds_depend_only_on_the_test_cell():
    cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "test_add", "grade": True}})
    assert seed_of(cell) == seed_of(nbformat.v4.new_code_cell("x", metadata=cell.metadata))
    other = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "test_mean", "grade": True}})
    assert seed_of(cell) != seed_of(other)


# --- slow: real kernels -------------------------------------------------------------

@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A course-like kernel spec, a private runtime folder and a working copy."""
    install_kernel(tmp_path / "jupyter")
    runtime = Path(tempfile.mkdtemp(prefix="agt-"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    work = tmp_path / "work"
    work.mkdir()
    yield work
    subprocess.run(["rm", "-rf", str(runtime)])


def executor(timeout=10, **limits) -> GuardedExecute:
    config = Config()
    config.KernelManager.transport = "ipc"
    return GuardedExecute(config=config, timeout=timeout, kernel_name="python3", **limits)


def graded(source, grade_id):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "grade": True,
                                                                    "solution": False, "locked": True, "points": 1}})


def answer(source, grade_id):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "grade": False,
                                                                    "solution": True, "locked": False}})


def run(cells, work, source=None, **kwargs):
    """Grade ``cells``; ``source``: the instructor's cells (setup, answers, tests) the checker
    reads, as it reads course/source/ when grading (default: the submission's own cells)."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    grader = executor(**kwargs)
    # no course folder here: the instructor's notebook is handed over as the grader would read it
    instructor = nbformat.v4.new_notebook(cells=source if source is not None else cells)
    grader._source_notebook = lambda resources: instructor
    nb, _ = grader.preprocess(nb, {"metadata": {"path": str(work)}})
    return nb


def errors(cell):
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed or cannot create namespaces")
def test_student_code_cannot_see_sources_network_or_the_grader(kernel_env):
    # the notebook being graded, as nbgrader writes it into the working copy: with its hidden tests
    (kernel_env / "graded.ipynb").write_text("### BEGIN HIDDEN TESTS\nassert secret\n")
    nb = run([
        nbformat.v4.new_code_cell("open('graded.ipynb').read()"),
        nbformat.v4.new_code_cell(f"open({str(SECRET)!r}).read()"),
        nbformat.v4.new_code_cell("import os; print(sorted(os.listdir('..')))"),
        nbformat.v4.new_code_cell("import socket; socket.create_connection(('pypi.org', 443), timeout=3)"),
        nbformat.v4.new_code_cell("import os; print(os.getuid(), os.getppid(), "
                                  "len([p for p in os.listdir('/proc') if p.isdigit()]))"),
        nbformat.v4.new_code_cell("import cnnlib.checks, numpy; print('imports ok')"),
    ], kernel_env)
    assert errors(nb.cells[0])[0].startswith("PermissionError")
    nb.cells = nb.cells[1:]
    assert errors(nb.cells[0])[0].startswith("FileNotFoundError")
    assert text(nb.cells[1]).strip() == "['work']"  # outside: also the kernel spec's folder
    assert errors(nb.cells[2])  # no network at all
    uid, ppid, processes = map(int, text(nb.cells[3]).split())
    assert uid == sandbox.SANDBOX_UID and ppid == 1 and processes <= 3  # bwrap's init, the kernel, its helper
    assert text(nb.cells[4]).strip() == "imports ok"


@pytest.mark.slow
def test_memory_limit_fails_only_the_allocating_cell(kernel_env):
    nb = run([
        nbformat.v4.new_code_cell("import numpy as np\nbig = np.ones(3 * 2**30 // 8)"),
        nbformat.v4.new_code_cell("small = np.ones(1000); print(small.sum())"),
    ], kernel_env)
    (error,) = errors(nb.cells[0])
    assert error.startswith("MemoryError") and "memory limit" in error and "2 GiB" in error
    assert text(nb.cells[1]).strip() == "1000.0"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_forked_child_does_not_outlive_the_kernel(kernel_env):
    marker = f"autograder-orphan-{os.getpid()}-{time.time_ns()}"
    run([nbformat.v4.new_code_cell(
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '600', {marker!r}], start_new_session=True, env={{}})\n"
        "print('started')")], kernel_env)
    left = processes_left(marker)
    for pid in left:  # leave the machine clean even when the test fails
        os.kill(pid, signal.SIGKILL)
    if sandbox.mode() == "bwrap":
        assert not left


@pytest.mark.slow
def test_a_dead_kernel_costs_only_its_cell(kernel_env):
    nb = run([
        answer("def add(a, b):\n    return a + b", "add"),
        answer("import os\nos._exit(1)", "crash"),
        graded("assert add(1, 2) == 3", "test_add"),
    ], kernel_env)
    assert "KernelDied" in errors(nb.cells[1])[0] and "kernel died" in errors(nb.cells[1])[0]
    assert errors(nb.cells[2]) == []


@pytest.mark.slow
def test_output_flood_stops_the_cell(kernel_env):
    nb = run([
        nbformat.v4.new_code_cell("for i in range(10**6):\n    print('x' * 1000)\nANSWER = 42"),
        graded("assert ANSWER == 42", "test_answer"),
    ], kernel_env, cell_output_limit=50_000)
    assert errors(nb.cells[0]) == [
        "OutputLimitError: the cell was stopped: a cell may print at most 48.8 KiB (output limit)"]
    assert len(text(nb.cells[0])) <= 50_000
    assert errors(nb.cells[1])[0].startswith("NameError")


@pytest.mark.slow
def test_patches_cannot_make_a_wrong_answer_pass(kernel_env):
    """Patches made by answer cells, or by an answer while a test calls it, live in the student's
    kernel only: the test cells run in the checker, whose numpy and IPython are its own."""
    nb = run([
        answer("import numpy as np\nnp.allclose = lambda *a, **k: True\ndef f(x):\n    return x + 1", "f"),
        graded("import numpy as np\nassert np.allclose(f(1), 1)", "test_f_restored"),
        answer("import numpy as np\ndef g(x):\n    np.allclose = lambda *a, **k: True\n    return x + 1", "g"),
        graded("import numpy as np\nassert np.allclose(g(1), 1)", "test_g_during"),
        answer("get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)", "hide"),
        graded("assert 1 == 2, 'wrong'", "test_hidden_error"),
    ], kernel_env)
    assert errors(nb.cells[1])[0].startswith("AssertionError")
    assert errors(nb.cells[3])[0].startswith("AssertionError")  # the patch made during the call changed nothing
    assert errors(nb.cells[5]) and errors(nb.cells[5])[0].startswith("AssertionError")


PATCH_EVERYTHING = """
import builtins, sys, threading, time, types
import numpy as np
import cnnlib.checks

def _quiet(*args, **kwargs):
    return None

def _patch():
    cnnlib.checks.check_equal = cnnlib.checks.check_true = _quiet
    sys.modules["cnnlib.checks"] = types.ModuleType("cnnlib.checks")
    sys.modules["numpy.testing"] = types.ModuleType("numpy.testing")
    np.allclose = np.array_equal = lambda *args, **kwargs: True
    builtins.abs = lambda *args: 0
    builtins.AssertionError = type("Never", (Exception,), {})

def _forever():
    while True:
        _patch()
        time.sleep(0.005)

threading.Thread(target=_forever, daemon=True).start()

def h(x):
    _patch()
    return x + 1
"""

CHECKER_WORLD = """
import builtins, sys
import numpy as np
import numpy.testing
from cnnlib.checks import CheckFailure, check_equal
assert h(1) == 2
world = [np.allclose(h(1), 1), np.array_equal(h(1), 1), abs(-3), builtins.AssertionError.__name__,
         type(sys.modules["cnnlib.checks"]).__name__, hasattr(sys.modules["numpy.testing"], "assert_allclose")]
try:
    check_equal("h(1)", h(1), 1)
except CheckFailure:
    world.append("check_equal still fails a wrong answer")
print(world)
"""


@pytest.mark.slow
def test_patching_the_student_kernel_changes_nothing_the_checker_computes(kernel_env):
    """cnnlib.checks, numpy, builtins and sys.modules patched in the student's kernel, once in an
    answer cell, again during each call and all the time from a thread: the checker computes
    exactly what it computes for an honest notebook."""
    honest = run([answer("def h(x):\n    return x + 1", "h"), graded(CHECKER_WORLD, "test_world")], kernel_env)
    patched = run([answer(PATCH_EVERYTHING, "h"), graded(CHECKER_WORLD, "test_world")], kernel_env)
    assert errors(honest.cells[1]) == [] and errors(patched.cells[1]) == [], errors(patched.cells[1])
    assert text(patched.cells[1]) == text(honest.cells[1])
    assert "False, False, 3, 'AssertionError', 'module', True, 'check_equal still fails" in text(honest.cells[1])


SPY = """
def spy(callback):
    found = []
    for name in ("__globals__", "__code__", "__closure__", "__dict__", "__self__", "__wrapped__", "_id",
                 "_kernel", "data", "forward"):
        try:
            found.append(f"{name}: {getattr(callback, name)!r}"[:300])
        except Exception as error:
            found.append(f"{name}: {type(error).__name__}")
    found.append(f"call: {callback()!r}")
    remote = type(callback)
    for handle in range(-2, 12):       # forged handles: ids the checker may have handed out
        try:
            found.append(f"forged {handle}: {remote(handle, 'function', True)()!r}"[:300])
        except Exception as error:
            found.append(f"forged {handle}: {type(error).__name__}")
    server = __import__("_autograder_student").server
    for request in [("getattr", 1, "__globals__"), ("getattr", 1, "__code__"), ("setattr", 1, "__code__", 1),
                    ("call", 1, (), {"x": 1})]:
        try:
            found.append(f"{request[0]} {request[2]}: {server.ask(request)!r}"[:300])
        except Exception as error:
            found.append(f"{request[0]}: {error}"[:300])
    return "\\n".join(found)
"""


@pytest.mark.slow
def test_callbacks_given_to_student_code_are_call_only(kernel_env):
    """A checker function passed to a student's function (as conv_gradient_check passes forward and
    backward): the student can call it, and reach nothing of the checker through it."""
    nb = run([
        answer(SPY, "spy"),
        graded("SECRET = 'expected-4242'\n"
               "def forward(x=None):\n    return [SECRET.upper().lower() == SECRET, 7]\n"
               "leaked = spy(forward)\n"
               "print(leaked)\n"
               "assert 'expected-4242' not in leaked and 'EXPECTED-4242' not in leaked", "test_spy"),
    ], kernel_env)
    assert errors(nb.cells[0]) == [] and errors(nb.cells[1]) == [], (errors(nb.cells[0]), errors(nb.cells[1]))
    shown = text(nb.cells[1])
    assert "call: [True, 7]" in shown  # calling is what a callback is for
    for name in ("__globals__", "__code__", "__closure__", "__dict__", "_kernel"):
        assert f"{name}: AttributeError" in shown, shown
    assert "code object" not in shown and "SECRET" not in shown and "expected-4242" not in shown


@pytest.mark.slow
def test_test_cells_are_seeded(kernel_env):
    # the student kernel draws numbers too; test cells run in the checker, seeded per cell
    cells = [nbformat.v4.new_code_cell("import numpy as np, random\nnp.random.rand(5); random.random()"),
             graded("import numpy as np, random\nprint(np.random.rand(), random.random())", "test_one"),
             graded("import numpy as np, random\nprint(np.random.rand(), random.random())", "test_two")]
    first, second = run(cells, kernel_env), run(cells, kernel_env)
    assert text(first.cells[1]) == text(second.cells[1]) and text(first.cells[2]) == text(second.cells[2])
    assert text(first.cells[1]) != text(first.cells[2])  # a seed per test cell, not one for all


@pytest.mark.slow
def test_rebinding_the_checks_in_the_notebook_does_not_help(kernel_env):
    # the instructor's setup cell runs in both kernels; the checker takes only the names the
    # instructor's answer cell defines (ANSWER), so the student's rebinding stays in their kernel
    setup = nbformat.v4.new_code_cell("from cnnlib.checks import check_true\nimport numpy as np",
                                      metadata={"nbgrader": {"grade_id": "setup", "locked": True}})
    test = graded("check_true('ANSWER is 42', ANSWER == 42)\nassert np.allclose(1, 1)", "test_ANSWER")
    nb = run([
        setup,
        answer("check_true = lambda *args, **kwargs: None\nnp = None\nANSWER = 41", "ANSWER"),
        test,
    ], kernel_env, source=[setup, answer("ANSWER = 42", "ANSWER"), test])
    (error,) = errors(nb.cells[2])
    assert "ANSWER is 42" in error and not error.startswith(("NameError", "AttributeError"))


def test_duplicated_and_renamed_cells_lose_their_grader_metadata():
    from autograder.grading import sanitize_ids

    def cell(grade_id, source=""):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "grade": True}})

    nb = nbformat.v4.new_notebook(cells=[cell("test_f", "first"), cell("test_f", "last"), cell("test_f_v2"),
                                         nbformat.v4.new_code_cell("plain")])
    assert sanitize_ids(nb, {"test_f"})
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells] == [None, "test_f", None, None]
    assert nb.cells[1].source == "last"
    assert not sanitize_ids(nb, {"test_f"})  # nothing left to change


@pytest.mark.slow
def test_a_cell_that_ignores_the_interrupt_costs_only_itself(kernel_env):
    nb = run([
        answer("def add(a, b):\n    return a + b", "add"),
        answer("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)", "stuck"),
        graded("assert add(1, 2) == 3", "test_add"),
    ], kernel_env, timeout=3)
    (error,) = errors(nb.cells[1])
    assert error.startswith("KernelUnresponsive") and "time limit" in error
    assert errors(nb.cells[2]) == []


@pytest.mark.slow
def test_a_test_with_a_limit_of_its_own_gives_up_sooner_whatever_the_copy_says(kernel_env):
    def limited(cell, seconds):
        cell.metadata["autograder"] = {"timeout": seconds}
        return cell

    source = [answer("def f():\n    return 1", "f"), limited(graded("assert f() == 1", "test_f"), 2),
              graded("assert f() == 1", "test_f_again")]
    # the submission's f never returns, and its copy of test_f claims a longer limit than the course's
    nb = run([answer("def f():\n    while True:\n        pass", "f"), limited(graded("assert f() == 1", "test_f"), 600),
              graded("assert f() == 1", "test_f_again")], kernel_env, source=source,
             timeout=6, interrupt_on_timeout=True, error_on_timeout=timeout_error(6))  # as the course sets it
    # (the interrupt that stopped the call may come first: the timeout is the cell's message)
    assert errors(nb.cells[1])[-1] == "CellTimeoutError: cell exceeded the 2 s time limit of this cell"
    assert errors(nb.cells[2])[-1] == "CellTimeoutError: cell exceeded the 6 s time limit"
    ran = {cell.metadata.nbgrader.grade_id: seconds_run(cell) for cell in nb.cells[1:]}
    assert 1.5 < ran["test_f"] < 4.5 and 5.5 < ran["test_f_again"] < 9, ran


def seconds_run(cell) -> float:
    timing = cell.metadata["execution"]
    start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                  for key in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()
