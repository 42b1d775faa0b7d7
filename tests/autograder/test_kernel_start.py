"""Starting and ending the grading kernels without idle waits (autograder/execute.py, sandbox.py).

Each graded notebook starts two kernels and ends them; a fixed wait at either end is
paid twice per submission. These tests show the shortcuts keep what the waits were for:
a client said to be ready receives the kernel's first output, a kernel that dies
before answering is reported, and the sandbox's watcher ends as soon as its kernel does.
"""

import asyncio
import subprocess
import sys
import time

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
