"""nbgrader's ``Execute``, hardened for grading untrusted notebooks.

:class:`GuardedExecute` replaces ``Execute`` in ``nbgrader autograde`` (see
``autograder/nbgrader_config.py``). On top of nbgrader's per-cell timeout it

- **guards the tests**: ahead of every test cell it asks the kernel's
  ``_autograder_guard`` (``autograder/kernel_boot.py``) to restore numpy,
  numpy.testing, builtins, cnnlib.checks and IPython's error hooks and to seed
  ``random`` and ``numpy.random`` (seed from the cell's ``grade_id``); after the
  test cell it asks what changed while the test ran: a test during which student
  code patched any of them fails with ``TamperingDetected``;
- **limits the notebook's wall time**: cells share ``notebook_timeout`` seconds;
  a cell cut short by it, or never started, gets ``NotebookTimeoutError``;
- **caps output**: a cell that prints more than ``cell_output_limit`` bytes (or
  makes the notebook exceed ``notebook_output_limit``) is interrupted and fails
  with ``OutputLimitError``; what it printed beyond the limit is dropped;
- **survives a dead or stuck kernel**: when the kernel dies during a cell
  (``os._exit``, ``exit()``, a crash, a signal) or does not stop when interrupted,
  the notebook is run again in a fresh kernel without that cell (at most
  ``max_restarts`` times), so only the questions that depend on it are lost;
- names the **memory limit** in every ``MemoryError`` a cell raises.

Every message starts with a name students can search for (``CellTimeoutError``,
``NotebookTimeoutError``, ``OutputLimitError``, ``KernelDied``, ``KernelUnresponsive``,
``TamperingDetected``, ``MemoryError ... (memory limit ...)``) and is written as
the cell's error output, which nbgrader scores as a failed test.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import tempfile
import time
import zlib
from queue import Empty

from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer

from autograder.sandbox import format_bytes, memory_limit

GUARD = "_autograder_guard"  # the module kernel_boot.py installs
NOTICE = "autograder_notice"  # metadata key of the grader's own display outputs
GUARD_TIMEOUT = 20  # s for the guard's silent request
CODE_SECONDS = "[autograder] the notebook's cells ran for"  # log line: time spent in student and test code


class KernelLost(Exception):
    """The kernel died or hung in cell ``index``; ``output`` is the error to record there."""

    def __init__(self, index: int, output: NotebookNode):
        super().__init__(output["evalue"])
        self.index, self.output = index, output


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def notice_output(text: str) -> NotebookNode:
    """A note from the grader in a cell's output (display data: it does not change a score)."""
    return NotebookNode(output_type="display_data", data={"text/plain": f"[grader] {text}"},
                        metadata={NOTICE: True})


def is_test(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def seed_of(cell) -> int:
    """The seed of a test cell: the same for every submission and every run."""
    return zlib.crc32(cell.metadata["nbgrader"]["grade_id"].encode()) & 0x7FFFFFFF


def output_size(msg) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    return sum(len(str(value)) for value in content.get("data", {}).values())


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with the protections listed in the module docstring."""

    notebook_timeout = Float(600, help="seconds all cells of one notebook may run together (0: no limit)"
                             ).tag(config=True)
    cell_output_limit = Integer(100_000, help="bytes of output one cell keeps").tag(config=True)
    notebook_output_limit = Integer(2_000_000, help="bytes of output one notebook keeps").tag(config=True)
    max_restarts = Integer(3, help="fresh kernels after a cell killed or hung the kernel").tag(config=True)

    # -- the notebook -------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        original = copy.deepcopy(nb)
        self._lost: dict[int, NotebookNode] = {}
        self._kernel_dirs: list[str] = []
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout > 0 else None
        self._code_seconds = 0.0
        try:
            return self._preprocess_with_restarts(original, resources, km)
        finally:
            # read by the grader (autograder.grading.code_seconds) for the benchmark's overhead figure
            self.log.info("%s %.3f s", CODE_SECONDS, self._code_seconds)

    def _preprocess_with_restarts(self, original, resources, km):
        while True:
            self._output_bytes, self._cell_bytes, self._truncated = 0, {}, {}
            self._give_up = len(self._lost) >= self.max_restarts
            self._dead = None
            try:
                return super().preprocess(copy.deepcopy(original), resources, km)
            except KernelLost as lost:
                self.log.warning("Cell %d: %s; running the notebook again without it", lost.index, lost.output["evalue"])
                self._lost[lost.index] = lost.output
            finally:
                for folder in self._kernel_dirs:
                    shutil.rmtree(folder, ignore_errors=True)
                self._kernel_dirs = []

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is not None:
            remaining = max(1.0, self._deadline - time.monotonic())
            if timeout is None or remaining < timeout:
                return remaining
        return timeout

    def create_kernel_manager(self):
        """nbclient's kernel manager, talking over Unix sockets, with its connection file (and
        the sockets) in a folder of its own: the sandbox shows that folder, and only it, to the kernel."""
        km = super().create_kernel_manager()
        if os.name == "posix" and not km.has_kernel:
            km.transport = "ipc"  # no network needed: the sandbox gives the kernel none
            from jupyter_core.paths import jupyter_runtime_dir

            os.makedirs(jupyter_runtime_dir(), exist_ok=True)
            folder = tempfile.mkdtemp(prefix="ag-", dir=jupyter_runtime_dir())
            self._kernel_dirs.append(folder)
            km.connection_file = os.path.join(folder, "kernel.json")
            km.ip = os.path.join(folder, "ipc")
        return km

    # -- one cell -----------------------------------------------------------------
    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell_index in self._lost:
            cell.outputs = [self._lost[cell_index]]
            return cell
        if self._dead is not None:
            cell.outputs = [error_output(self._dead[0], f"this cell was not run: {self._dead[1]}")]
            return cell
        if self._deadline is not None and time.monotonic() >= self._deadline:
            cell.outputs = [error_output("NotebookTimeoutError", "this cell was not run: the notebook used up its "
                                         f"{self.notebook_timeout:g} s time limit")]
            return cell

        restored = []
        if is_test(cell):
            restored = await self._guard(f"before({seed_of(cell)})", cell_index)
        cut_by_notebook = self._deadline is not None and self._deadline - time.monotonic() < (self.timeout or 1e9)
        started = time.monotonic()
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except KernelLost:
            raise
        except Exception as error:  # DeadKernelError, or a kernel that never went idle again
            alive = await self._alive()
            what = (("KernelUnresponsive", "the cell did not stop when interrupted at its time limit") if alive else
                    ("KernelDied", "the Python kernel died while this cell ran (os._exit, exit(), a crash, "
                                   "a signal or too much memory)"))
            self.log.warning("Cell %d: %s (%s)", cell_index, what[1], type(error).__name__)
            return self._lose(cell, cell_index, *what)

        self._code_seconds += time.monotonic() - started
        if cell_index in self._truncated:  # stopped for printing too much: that is its error
            what, limit = self._truncated[cell_index]
            cell.outputs = [o for o in cell.outputs if o.output_type != "error"] + [error_output(
                "OutputLimitError", f"the cell was stopped: {what} may print at most {format_bytes(limit)} "
                "(output limit)")]
        timed_out = any(o.output_type == "error" and o.ename == "CellTimeoutError" for o in cell.outputs)
        if timed_out and cut_by_notebook:
            cell.outputs = [o for o in cell.outputs if o.output_type != "error"] + [error_output(
                "NotebookTimeoutError", f"the notebook's {self.notebook_timeout:g} s time limit ran out during this cell")]
        if timed_out and not await self._responsive():
            return self._lose(cell, cell_index, "KernelUnresponsive",
                              "the cell did not stop when interrupted at its time limit")
        self._name_memory_limit(cell)
        if is_test(cell):
            changed = await self._guard("after()", cell_index)
            if changed:
                cell.outputs.append(error_output(
                    "TamperingDetected", f"while this test ran, the submission changed {', '.join(changed[:5])}"
                    + (f" and {len(changed) - 5} more" if len(changed) > 5 else "") + "; this test gets no points"))
            elif restored:
                cell.outputs.insert(0, notice_output(
                    f"before this test the grader restored {', '.join(restored[:5])}, which the submission had changed"))
        return cell

    # nbclient binds its synchronous wrapper to its own coroutine: rebind it to this one
    execute_cell = run_sync(async_execute_cell)

    def _lose(self, cell, cell_index, ename, reason):
        """A cell that killed or hung the kernel: run again without it, or give up on the rest."""
        if self._give_up:
            cell.outputs.append(error_output(ename, f"{reason}; the kernel was lost {self.max_restarts + 1} times, "
                                             "so the cells after this one were not run"))
            self._dead = (ename, f"an earlier cell stopped the kernel ({reason})")
            return cell
        raise KernelLost(cell_index, error_output(ename, f"{reason}; the notebook was run again without this cell"))

    def _name_memory_limit(self, cell):
        limit = memory_limit()
        for output in cell.outputs:
            if output.output_type == "error" and output.ename == "MemoryError" and limit > 0:
                output.evalue = (f"{output.evalue} (memory limit: a notebook may use at most "
                                 f"{format_bytes(limit)})").lstrip()
                output.traceback = [f"MemoryError: {output.evalue}"]

    # -- talking to the kernel ----------------------------------------------------
    async def _request(self, code: str, user_expressions=None, timeout: float = GUARD_TIMEOUT):
        """Run ``code`` silently; the reply's content, or None if none came in time."""
        msg_id = await ensure_async(self.kc.execute(code, silent=True, store_history=False,
                                                    user_expressions=user_expressions or {}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, max(0.05, deadline - time.monotonic())))
            except Empty:
                if not await self._alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        return None

    async def _alive(self) -> bool:
        try:
            return bool(await ensure_async(self.km.is_alive()))
        except Exception:
            return False

    async def _responsive(self) -> bool:
        return await self._alive() and await self._request("", timeout=10) is not None

    async def _guard(self, call: str, cell_index: int) -> list[str]:
        """Call the kernel's guard; what it reports (names of changed objects)."""
        reply = await self._request("", {"guard": f"__import__({GUARD!r}).{call}"})
        if reply is None:
            raise KernelLost(cell_index, error_output(
                "KernelUnresponsive", "the kernel did not answer the grader before this test; "
                "the notebook was run again without this cell"))
        result = reply.get("user_expressions", {}).get("guard", {})
        if result.get("status") != "ok":
            return ["the grader's guard of the tests (_autograder_guard), which the submission removed"]
        text = result.get("data", {}).get("text/plain", "[]")
        try:
            import ast

            changed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return ["the grader's guard of the tests (_autograder_guard)"]
        return [str(name) for name in changed] if isinstance(changed, list) else []

    # -- output -------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = output_size(msg)
        cell_bytes = self._cell_bytes.get(cell_index, 0) + size
        if cell_bytes > self.cell_output_limit or self._output_bytes + size > self.notebook_output_limit:
            if cell_index not in self._truncated:
                # the cell is stopped (interrupted) and fails, like a cell that runs out of time
                self._truncated[cell_index] = ("a cell", self.cell_output_limit) if cell_bytes > self.cell_output_limit \
                    else ("the whole notebook", self.notebook_output_limit)
                self._interrupt = asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
            return None
        self._cell_bytes[cell_index] = cell_bytes
        self._output_bytes += size
        return super().output(outs, msg, display_id, cell_index)
