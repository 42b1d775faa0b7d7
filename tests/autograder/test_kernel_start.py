"""Starting and ending the grading kernels without idle waits (autograder/execute.py, sandbox.py).

Each graded notebook starts two kernels and ends them; a fixed wait at either end is
paid twice per submission. These tests show the shortcuts keep what the waits were for:
a client said to be ready receives the kernel's first output, a kernel that dies
before answering is reported, and the sandbox's watcher ends as soon as its kernel does.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client")

from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

from autograder import sandbox  # noqa: E402
from autograder.execute import ReadyClient  # noqa: E402


def manager(argv: list[str]) -> AsyncKernelManager:
    km = AsyncKernelManager(kernel_name="ready-client-test")
    km._kernel_spec = KernelSpec(argv=argv, display_name="test", language="python")
    km.client_factory = ReadyClient
    return km


async def first_output(kc, code: str) -> str:
    msg_id = kc.execute(code)
    while True:
        msg = await kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            return msg["content"]["text"]


def test_a_ready_client_gets_the_first_output_of_the_first_cell():
    async def main():
        km = manager([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
        await km.start_kernel()
        kc = km.client()
        try:
            assert isinstance(kc, ReadyClient)
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            # IOPub was connected when the client said ready: nothing of the first cell is lost
            assert await first_output(kc, "print('ready', 6 * 26)") == "ready 156\n"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())


def test_a_kernel_that_dies_before_answering_is_reported():
    async def main():
        km = manager([sys.executable, "-c", "import sys; sys.exit(3)", "{connection_file}"])
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            with pytest.raises(RuntimeError, match="died before replying"):
                await kc.wait_for_ready(timeout=60)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())


def test_the_sandbox_watcher_wakes_when_its_kernel_exits():
    """The watcher measures the working copy every WATCH_INTERVAL s; its wait between two
    measurements ends at once when the kernel exits (a finished notebook waits for nothing)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    try:
        wait = sandbox.exited(child.pid)
        start = time.monotonic()
        wait(120)
        assert time.monotonic() - start < 60  # woken by the exit, not by the end of the 120 s
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()


REFUSED = """
import asyncio, gc, os, sys
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from autograder.execute import abandon

async def main():
    km = AsyncKernelManager(kernel_name="refused")
    km.transport = "ipc"
    km.ip = os.path.join(sys.argv[1], "ipc")
    km.connection_file = os.path.join(sys.argv[1], "kernel.json")
    km._kernel_spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                 display_name="refused", language="python")
    try:
        await km.start_kernel()
    except zmq.ZMQError as error:
        await abandon(km)
        return error  # kept, with its traceback, as nbgrader keeps the error it logs

error = asyncio.run(main())
print("refused:", error.strerror, flush=True)
del error
gc.collect()  # the manager, its socket and context are garbage now
print("collected", flush=True)
"""


def test_a_kernel_whose_sockets_cannot_connect_leaves_nothing_to_wait_for(tmp_path):
    """A socket path too long for Unix sockets: the kernel manager fails to connect. Left to
    the garbage collector, its zmq context waited for ever for that socket (a grading worker
    hung until its backstop); abandoned, nothing waits."""
    folder = tmp_path / ("x" * 110)
    folder.mkdir()
    proc = subprocess.run([sys.executable, "-c", REFUSED, str(folder)], capture_output=True, text=True, timeout=120)
    assert "refused: File name too long" in proc.stdout, proc.stdout + proc.stderr
    assert "collected" in proc.stdout


def test_the_runtime_folder_is_short_enough_for_unix_sockets(tmp_path, monkeypatch):
    from autograder import course

    monkeypatch.setattr(course.tempfile, "tempdir", str(tmp_path / ("x" * 100)))
    base = course.runtime_base()
    assert base in ("/tmp", "/var/tmp")
    folder = course.runtime_folder("job-mark")
    try:
        assert Path(folder).parent == Path(base) and (Path(folder) / course.OWNER_FILE).read_text() == "job-mark"
        socket_path = os.path.join(folder, "ag-" + "x" * 8, "ipc-4")
        assert len(socket_path.encode()) <= course.SOCKET_PATH_BYTES
    finally:
        shutil.rmtree(folder)
    monkeypatch.setattr(course.tempfile, "tempdir", str(tmp_path))
    assert course.runtime_base() == str(tmp_path)  # a short one is used as it is
