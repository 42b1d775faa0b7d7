"""nbgrader's ``Execute``, hardened for grading untrusted notebooks.

:class:`GuardedExecute` replaces ``Execute`` in ``nbgrader autograde`` (see
``autograder/nbgrader_config.py``). It runs each notebook in **two kernels**:

- the **student kernel** (the course's ``python3`` kernel spec, started in the
  sandbox of :mod:`autograder.sandbox`) runs every cell of the submission
  except the test cells: the answers and whatever else the student wrote;
- the **checker kernel** (trusted, started here with the grader's own
  interpreter) runs the instructor's ``setup`` cell and the test cells, from
  the assignment's source. Before each test cell it takes from the student
  kernel exactly the names the instructor's answer cells define, as plain data
  or as proxies (:mod:`autograder.checker`), and it seeds ``random`` and
  ``numpy.random`` in both kernels (seed from the cell's ``grade_id``), so
  grading twice gives the same scores. Hidden test source, expected values and
  the oracles' results stay in the checker: only a call's arguments cross.
  From the ``### BEGIN HIDDEN TESTS`` line on, messages of the student's own
  exceptions are withheld, and nothing the student's code prints during a test
  reaches the notebook.

Both kernels are launched together, so the checker boots while the student
kernel does and is ready at the first test (a :class:`ReadyClient` says so as
soon as each has answered); when the last cell has run, the student kernel gets
SIGTERM (the sandbox then ends its namespace at once) instead of a shutdown
request it may take a second to honour, and the checker is killed meanwhile.

On top of nbgrader's per-cell timeout it

- **gives a cell a shorter limit of its own** when the instructor's source sets
  ``"autograder": {"timeout": S}`` in its metadata (a cheap test need not wait
  30 s for a function that never returns); the student's copy cannot lengthen it;
- **limits the notebook's wall time**: cells share ``notebook_timeout`` seconds;
  a cell cut short by it, or never started, gets ``NotebookTimeoutError``;
- **caps output**: a cell that prints more than ``cell_output_limit`` bytes (or
  makes the notebook exceed ``notebook_output_limit``) is interrupted and fails
  with ``OutputLimitError``; what it printed beyond the limit is dropped;
- **survives a dead or stuck kernel**: when the student kernel dies during a
  cell or a test (``os._exit``, ``exit()``, a crash, a signal) or does not stop
  when interrupted, the notebook is run again in fresh kernels without that
  cell (at most ``max_restarts`` times), so only the questions that depend on
  it are lost;
- names the **memory limit** in every ``MemoryError`` a cell raises.

Every message starts with a name students can search for (``CellTimeoutError``,
``NotebookTimeoutError``, ``OutputLimitError``, ``KernelDied``, ``KernelUnresponsive``,
``MemoryError ... (memory limit ...)``) and is written as the cell's error
output, which nbgrader scores as a failed test.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer

from autograder import cells as nbcells
from autograder import checker_fork
from autograder.sandbox import explain_limit, format_bytes, memory_limit

NOTICE = "autograder_notice"  # metadata key of the grader's own display outputs
REQUEST_TIMEOUT = 20  # s for a silent request to a kernel (start-up, taking the answer names)
IOPUB_SECONDS = 0.2  # s for a kernel_info request's idle status on IOPub before it is asked again
TERMINATE_SECONDS = 5  # s a finished notebook's kernel gets to exit on SIGTERM before nbclient's shutdown
CHECKER = "__import__('autograder.checker').checker"  # the checker's module, as test code reaches it
# per graded notebook of this process, {"notebook", "code_seconds"}: the time its cells ran (student
# code and tests), read by the grading worker (autograder.grading.grade_submission) as data
TIMINGS: list[dict] = []


class ReadyClient(AsyncKernelClient):
    """A kernel client that is ready as soon as its kernel has answered ``kernel_info`` on both
    channels. jupyter_client's ``wait_for_ready`` then waits for 0.2 s of silence on IOPub,
    for the student and the checker kernel of every graded notebook: idle time that adds up
    over a batch (benchmarks/NOTES.md). Every reader of these clients (nbclient, the checker)
    takes only the replies to its own requests, so nothing needs flushing."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()  # a late answer to an earlier request counts as well
        while True:
            asked.add(self.kernel_info())
            reply = await self._reply_to(self.shell_channel, asked, 1.0)
            # a request's idle status: IOPub is connected, and nothing of that request comes after it
            if reply is not None and await self._reply_to(self.iopub_channel, asked, IOPUB_SECONDS, idle=True):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    wait_for_ready = _async_wait_for_ready

    def start_channels(self, *args, **kwargs) -> None:
        """jupyter_client's, with the sockets closed at once when one cannot connect (see
        :func:`close_context`); nbclient then shuts the kernel down."""
        try:
            super().start_channels(*args, **kwargs)
        except Exception:
            close_context(self)
            raise

    @staticmethod
    async def _reply_to(channel, asked: set[str], seconds: float, idle: bool = False):
        """The first message on ``channel`` answering one of the requests ``asked`` (with
        ``idle``: an idle status), or None after ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") not in asked:
                continue
            if not idle or (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"):
                return msg
        return None


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


is_test = nbcells.is_test


def mark_hidden(source: str) -> str:
    """A test cell's source that tells the checker where its hidden tests start."""
    lines = source.split("\n")
    for index, line in enumerate(lines):
        if line.strip() == nbcells.HIDDEN_BEGIN:
            indent = line[:len(line) - len(line.lstrip())]
            lines[index] = f"{indent}{CHECKER}.enter_hidden()  {nbcells.HIDDEN_BEGIN}"
    return "\n".join(lines)


class Plan:
    """What the checker needs of one notebook: the instructor's setup cells and answer names."""

    def __init__(self, source_nb, submitted_nb):
        self.setup = [(nbcells.is_setup(cell), cell.source) for cell in nbcells.checker_cells(source_nb)]
        self.cell_of: dict[str, str] = {}  # answer name -> grade_id of the answer cell that defines it
        for grade_id, names in nbcells.answer_names(source_nb).items():
            for name in names:
                self.cell_of.setdefault(name, grade_id)
        self.tests = {nbcells.grade_id(cell): cell.source for cell in source_nb.cells if nbcells.is_test(cell)}
        # the instructor's per-cell limits; without a source (nbgrader validate) the notebook's own,
        # which can only shorten the course's limit
        limits_from = source_nb if source_nb.cells else submitted_nb
        self.time_limits = {nbcells.grade_id(cell): nbcells.time_limit(cell) for cell in limits_from.cells
                            if nbcells.grade_id(cell) and nbcells.time_limit(cell)}
        submitted = {nbcells.grade_id(cell): cell.get("source", "") for cell in submitted_nb.cells
                     if nbcells.is_answer(cell)}
        self.sources = {name: submitted.get(grade_id, "") for name, grade_id in self.cell_of.items()}

    @property
    def names(self) -> list[str]:
        return list(self.cell_of)


def seed_of(cell) -> int:
    """The seed of a test cell: the same for every submission and every run."""
    return zlib.crc32(cell.metadata["nbgrader"]["grade_id"].encode()) & 0x7FFFFFFF


def close_context(owner) -> None:
    """Close the zmq context a kernel manager or client made for itself, sockets and all, at
    once. Left to the garbage collector, a context whose socket never connected (a kernel
    that could not start) is terminated by pyzmq while that socket is still open, and the
    worker waits for ever (benchmarks/NOTES.md)."""
    context = getattr(owner, "context", None) if getattr(owner, "_created_context", False) else None
    if context is not None and not context.closed:
        context.destroy(linger=0)


async def abandon(km, kc=None) -> None:
    """A kernel that failed to start or connect: its process killed, its sockets closed."""
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # channels that never started
            pass
        close_context(kc)
    try:
        if km.has_kernel:
            await ensure_async(km.provisioner.kill())
        km.cleanup_connection_file()
    except Exception as error:  # a process that is already gone
        logging.getLogger(__name__).debug("abandoning a kernel: %s", error)
    close_context(km)


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
        # without the instructor's source the checker takes no name at all: a submission's own
        # answer cells must never decide what the checker's namespace holds
        self._plan = Plan(self._source_notebook(resources) or nbformat.v4.new_notebook(), original)
        try:
            return self._preprocess_with_restarts(original, resources, km)
        finally:
            notebook = (resources or {}).get("nbgrader", {}).get("notebook")
            TIMINGS.append({"notebook": notebook, "code_seconds": self._code_seconds})
            self.log.info("the notebook's cells ran for %.3f s", self._code_seconds)

    def _source_notebook(self, resources):
        """The instructor's version of the notebook being graded (course/source/<id>/<nb>.ipynb)."""
        info = (resources or {}).get("nbgrader", {})
        if not info.get("assignment") or not info.get("notebook"):
            return None
        path = Path.cwd() / "source" / info["assignment"] / f"{info['notebook']}.ipynb"
        if not path.is_file():
            self.log.warning("no source notebook at %s: the tests get none of the answers", path)
            return None
        return nbformat.read(path, as_version=4)

    def _preprocess_with_restarts(self, original, resources, km):
        while True:
            self._output_bytes, self._cell_bytes, self._truncated = 0, {}, {}
            self._give_up = len(self._lost) >= self.max_restarts
            self._dead = None
            self._checker = None
            self._checker_km = None  # launched with the student kernel, connected at the first test
            try:
                return super().preprocess(copy.deepcopy(original), resources, km)
            except KernelLost as lost:
                self.log.warning("Cell %d: %s; running the notebook again without it", lost.index,
                                 lost.output["evalue"])
                self._lost[lost.index] = lost.output
            finally:
                if self._checker is not None:
                    run_sync(self._stop_checker)()
                elif self._checker_km is not None:  # launched, but no test ran
                    run_sync(self._shutdown_checker_km)()
                for folder in self._kernel_dirs:
                    shutil.rmtree(folder, ignore_errors=True)
                self._kernel_dirs = []

    def _own_limit(self, cell) -> float | None:
        """The limit the instructor's source sets for this cell, when shorter than the course's."""
        own = self._plan.time_limits.get(nbcells.grade_id(cell)) if cell is not None else None
        return own if own is not None and (not self.timeout or own < self.timeout) else None

    def _get_timeout(self, cell):
        timeout = self._own_limit(cell) or super()._get_timeout(cell)
        if self._deadline is not None:
            remaining = max(1.0, self._deadline - time.monotonic())
            if timeout is None or remaining < timeout:
                return remaining
        return timeout

    def _private_ipc(self, km):
        """Unix sockets, with the connection file in a folder of its own: the sandbox shows that
        folder, and only it, to the student kernel."""
        if os.name == "posix" and not km.has_kernel:
            km.transport = "ipc"  # no network needed: the sandbox gives the kernel none
            from jupyter_core.paths import jupyter_runtime_dir

            os.makedirs(jupyter_runtime_dir(), exist_ok=True)
            folder = tempfile.mkdtemp(prefix="ag-", dir=jupyter_runtime_dir())
            self._kernel_dirs.append(folder)
            km.connection_file = os.path.join(folder, "kernel.json")
            km.ip = os.path.join(folder, "ipc")
        return km

    def create_kernel_manager(self):
        """nbclient's kernel manager (the student kernel), on private Unix sockets. The checker
        kernel is launched now too, so that it boots while the student kernel does."""
        km = self._private_ipc(super().create_kernel_manager())
        km.client_factory = ReadyClient
        if self._plan.tests and self._checker_km is None:
            run_sync(self._launch_checker)()
        return km

    async def async_start_new_kernel(self, **kwargs):
        try:
            await super().async_start_new_kernel(**kwargs)
        except Exception:
            await abandon(self.km)
            raise

    start_new_kernel = run_sync(async_start_new_kernel)

    async def _async_cleanup_kernel(self):
        """End the student kernel with SIGTERM rather than a shutdown request: the notebook has
        run, and the sandbox's watcher ends its namespace at once on that signal. The checker
        kernel is killed at the same time."""
        km = self.km
        provisioner = getattr(km, "provisioner", None)
        # the checker is killed meanwhile (trusted, nothing to save): both exits are waited for at once
        connected = getattr(self, "_checker", None)
        checker = connected[0] if connected is not None else getattr(self, "_checker_km", None)
        kernels = [k for k in (km, checker) if getattr(k, "provisioner", None) is not None]
        try:
            if checker in kernels:
                await checker.provisioner.kill()
            if provisioner is not None and await ensure_async(km.is_alive()):
                await provisioner.terminate()
            deadline = time.monotonic() + TERMINATE_SECONDS
            while time.monotonic() < deadline and any([await ensure_async(k.is_alive()) for k in kernels]):
                await asyncio.sleep(0.02)
        except Exception as error:  # nbclient's own shutdown below, and the checker's, still run
            self.log.debug("terminating the kernels: %s", error)
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)  # nbclient's sync wrapper names its own method

    # -- the checker kernel -------------------------------------------------------
    async def _launch_checker(self):
        """Start the checker kernel's process (it is connected to the student kernel later)."""
        km = self._private_ipc(AsyncKernelManager(kernel_name="autograder-checker"))
        km.client_factory = ReadyClient
        # the grader's own interpreter, not the sandboxed kernel spec: this kernel is trusted
        km._kernel_spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                                           "--HistoryManager.hist_file=:memory:"],
                                     display_name="autograder checker", language="python")
        # forked from this process's checker fork server, which has imported ipykernel once
        km.kernel_id = str(uuid.uuid4())
        km.provisioner = checker_fork.ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km._kernel_spec,
                                                        parent=km)
        cwd = self.resources.get("metadata", {}).get("path") or None
        try:
            await ensure_async(km.start_kernel(cwd=cwd))
        except Exception:
            await abandon(km)
            raise
        self._checker_km = km

    async def _shutdown_checker_km(self):
        km, self._checker_km = self._checker_km, None
        try:
            await ensure_async(km.shutdown_kernel(now=True))
        except Exception as error:  # a checker that is already gone
            self.log.debug("stopping the checker: %s", error)

    async def _start_checker(self):
        """Connect the checker kernel (launched with the student kernel, or now after a lost
        one) to the student kernel and run the setup cells."""
        if self._checker_km is None or not await ensure_async(self._checker_km.is_alive()):
            if self._checker_km is not None:
                await self._shutdown_checker_km()
            await self._launch_checker()
        km, self._checker_km = self._checker_km, None
        kc = km.client()
        try:
            kc.start_channels()
            await ensure_async(kc.wait_for_ready(timeout=self.startup_timeout))
        except Exception:
            await abandon(km, kc)
            raise
        self._checker = (km, kc)
        info = self.km.get_connection_info(session=False)
        info = {key: value.decode() if isinstance(value, bytes) else value for key, value in info.items()}
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        pid = getattr(process, "pid", None)
        steps = [(True, f"{CHECKER}.connect({json.dumps(info)!r}, {pid!r})")] + self._plan.setup
        for required, code in steps:
            reply = await self._request(code, kc=kc, timeout=max(REQUEST_TIMEOUT, self.timeout or 0))
            if reply is not None and reply.get("status") == "ok":
                continue
            what = "no answer" if reply is None else f"{reply.get('ename')}: {reply.get('evalue')}"
            if required or reply is None:
                raise RuntimeError(f"the grader's checker kernel could not be prepared ({what})")
            # a read-only cell that needs something of the student's after all: the tests may not
            self.log.warning("an instructor cell failed in the checker (%s)", what)

    async def _stop_checker(self):
        km, kc = self._checker
        self._checker = None
        try:
            kc.stop_channels()
            await ensure_async(km.shutdown_kernel(now=True))
        except Exception as error:  # a checker that is already gone
            self.log.debug("stopping the checker: %s", error)

    async def _run_test(self, cell, cell_index, execution_count, store_history):
        """A test cell in the checker kernel, with the student's answer names fresh."""
        if self._checker is None:
            await self._start_checker()
        km, kc = self._checker
        before = (f"{CHECKER}.before_test({seed_of(cell)}, {self._plan.names!r}, {self._plan.sources!r})")
        reply = await self._request("", {"missing": before}, kc=kc, timeout=REQUEST_TIMEOUT)
        if reply is None:
            await ensure_async(km.interrupt_kernel())
            if not await self._alive():
                return self._lose(cell, cell_index, "KernelDied", "the Python kernel died before this test")
            return self._lose(cell, cell_index, "KernelUnresponsive",
                              "the notebook's kernel did not answer the grader before this test")
        missing = reply.get("user_expressions", {}).get("missing", {})
        if missing.get("status") != "ok":
            self.log.warning("Cell %d: taking the answer names failed: %s", cell_index, missing.get("evalue"))
        source = cell.source
        # the instructor's test, whatever the submission's copy says (nbgrader has restored it too)
        cell.source = mark_hidden(self._plan.tests.get(nbcells.grade_id(cell), source))
        student = (self.km, self.kc)
        self.km, self.kc = km, kc  # nbclient runs the cell in whatever kernel these name
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            self.km, self.kc = student
            cell.source = source
        return cell

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

        test = is_test(cell)
        own = self._own_limit(cell)
        cell_limit = own or self.timeout or 1e9
        cut_by_notebook = self._deadline is not None and self._deadline - time.monotonic() < cell_limit
        started = time.monotonic()
        try:
            if test:
                cell = await self._run_test(cell, cell_index, execution_count, store_history)
            else:
                cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except KernelLost:
            raise
        except Exception as error:  # DeadKernelError, or a kernel that never went idle again
            alive = await self._alive()
            if test and alive:  # the checker failed, not the student's kernel: this test only
                self.log.warning("Cell %d: the checker failed (%s: %s)", cell_index, type(error).__name__, error)
                if self._checker is not None:
                    await self._stop_checker()
                cell.outputs.append(error_output("GraderError", "the grader could not run this test "
                                                 f"({type(error).__name__}); please tell the instructor"))
                return cell
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
            if not test:
                await self._forget_answers(cell)
        timed_out = any(o.output_type == "error" and o.ename == "CellTimeoutError" for o in cell.outputs)
        if timed_out and own is not None and not cut_by_notebook:
            message = f"cell exceeded the {own:g} s time limit of this cell"
            for output in cell.outputs:
                if output.output_type == "error" and output.ename == "CellTimeoutError":
                    output.evalue, output.traceback = message, [f"CellTimeoutError: {message}"]
        if timed_out and cut_by_notebook:
            cell.outputs = [o for o in cell.outputs if o.output_type != "error"] + [error_output(
                "NotebookTimeoutError",
                f"the notebook's {self.notebook_timeout:g} s time limit ran out during this cell")]
        if test and not await self._alive():
            return self._lose(cell, cell_index, "KernelDied", "the Python kernel died while this test ran your code "
                              "(os._exit, exit(), a crash, a signal or too much memory)")
        if test and timed_out:  # the student's code may still be running the call the test made
            await ensure_async(self.km.interrupt_kernel())
        if timed_out and not await self._responsive():
            return self._lose(cell, cell_index, "KernelUnresponsive",
                              "the cell did not stop when interrupted at its time limit")
        self._name_limits(cell)
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

    def _name_limits(self, cell):
        """Errors caused by a limit of the sandbox say which limit."""
        limit = memory_limit()
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            if output.ename == "MemoryError" and limit > 0:
                output.evalue = (f"{output.evalue} (memory limit: a notebook may use at most "
                                 f"{format_bytes(limit)})").lstrip()
                output.traceback = [f"MemoryError: {output.evalue}"]
            named = explain_limit(output.ename, output.evalue)
            if named is not None:
                output.ename, output.evalue = named
                output.traceback = [f"{output.ename}: {output.evalue}"]

    async def _forget_answers(self, cell):
        """A stopped answer cell counts as not run, even when it finished before the interrupt
        landed: the names it defines are removed from the student's kernel."""
        names = [name for name, grade_id in self._plan.cell_of.items() if grade_id == nbcells.grade_id(cell)]
        pending = getattr(self, "_interrupt", None)
        if pending is not None:
            await pending
            await asyncio.sleep(0.2)  # let the signal land while the kernel is still idle
        if names:
            await self._request("".join(f"globals().pop({name!r}, None)\n" for name in names))

    # -- talking to a kernel --------------------------------------------------------
    async def _request(self, code: str, user_expressions=None, timeout: float = REQUEST_TIMEOUT, kc=None):
        """Run ``code`` silently (in the student kernel unless ``kc`` says otherwise); the
        reply's content, or None if none came in time."""
        kc = kc or self.kc
        msg_id = await ensure_async(kc.execute(code, silent=True, store_history=False,
                                               user_expressions=user_expressions or {}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await kc.shell_channel.get_msg(timeout=min(1.0, max(0.05, deadline - time.monotonic())))
            except Empty:
                if not await self._alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        return None

    async def _alive(self) -> bool:
        """Whether the student kernel is alive."""
        try:
            return bool(await ensure_async(self.km.is_alive()))
        except Exception:
            return False

    async def _responsive(self) -> bool:
        return await self._alive() and await self._request("", timeout=10) is not None

    # -- output -------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = output_size(msg)
        cell_bytes = self._cell_bytes.get(cell_index, 0) + size
        if cell_bytes > self.cell_output_limit or self._output_bytes + size > self.notebook_output_limit:
            if cell_index not in self._truncated:
                # the cell is stopped (interrupted) and fails, like a cell that runs out of time
                self._truncated[cell_index] = (("a cell", self.cell_output_limit)
                                               if cell_bytes > self.cell_output_limit
                                               else ("the whole notebook", self.notebook_output_limit))
                self._interrupt = asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
            return None
        self._cell_bytes[cell_index] = cell_bytes
        self._output_bytes += size
        return super().output(outs, msg, display_id, cell_index)
