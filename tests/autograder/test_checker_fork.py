"""Checker kernels forked from the fork server (autograder/checker_fork.py).

A forked kernel must be the kernel ``python -m ipykernel_launcher`` would have been:
in the folder and environment it was asked for, its output where the grader's goes,
stopped and seen to stop by the grader, gone with its server and with its worker;
and when the server is gone or cannot fork, kernels still start.
"""

import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client")
if not hasattr(os, "pidfd_open"):
    pytest.skip("the fork server needs pidfds (Linux 5.3+)", allow_module_level=True)

from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

from autograder import checker_fork  # noqa: E402
from autograder.execute import ReadyClient  # noqa: E402

ARGV = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]


@pytest.fixture(autouse=True)
def fresh_server():
    checker_fork.SERVER.stop()
    failed = checker_fork.SERVER._failed
    yield
    checker_fork.SERVER.stop()
    checker_fork.SERVER._failed = failed


def manager() -> AsyncKernelManager:
    """A checker kernel's manager as GuardedExecute._launch_checker makes it."""
    km = AsyncKernelManager(kernel_name="fork-test")
    km._kernel_spec = KernelSpec(argv=ARGV, display_name="test", language="python")
    km.client_factory = ReadyClient
    km.transport = "ipc"  # as the grader's kernels: Unix sockets
    km.ip = os.path.join(tempfile.mkdtemp(prefix="agf-"), "ipc")
    km.kernel_id = str(uuid.uuid4())
    km.provisioner = checker_fork.ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km._kernel_spec, parent=km)
    return km


async def evaluate(kc, expression: str):
    msg_id = kc.execute("import os, sys", user_expressions={"x": expression})
    while True:
        msg = await kc.get_shell_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id:
            value = msg["content"]["user_expressions"]["x"]
            assert value["status"] == "ok", value
            return eval(value["data"]["text/plain"])


async def started(km, **kwargs):
    await km.start_kernel(**kwargs)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    return kc


def gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


def test_a_forked_kernel_runs_where_and_as_it_was_asked(tmp_path):
    async def main():
        km = manager()
        kc = await started(km, cwd=str(tmp_path), env={**os.environ, "FORK_TEST_MARK": "marked"})
        try:
            pid = km.provisioner.pid
            assert isinstance(km.provisioner.process, checker_fork.ForkedKernel)
            assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)
            server = checker_fork.server_pid()
            assert server is not None and server != os.getpid()
            assert await evaluate(kc, "(os.getpid(), os.getppid(), os.getpgid(0))") == (pid, server, pid)
            assert await evaluate(kc, "os.environ['FORK_TEST_MARK']") == "marked"
            forked_path = await evaluate(kc, "sys.path")
            assert await evaluate(kc, "os.getcwd()") == str(tmp_path)
            assert await evaluate(kc, "21 * 2") == 42
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        assert not await km.is_alive()
        assert gone(pid)
        # the same import path as a kernel started the usual way: IPython's '' for the working
        # folder, nothing of the server's own working folder
        checker_fork.SERVER.stop()
        checker_fork.SERVER._failed = True  # as on a system without pidfds
        km = manager()
        kc = await started(km, cwd=str(tmp_path))
        try:
            assert not isinstance(km.provisioner.process, checker_fork.ForkedKernel)
            assert forked_path == await evaluate(kc, "sys.path")
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        assert "" in forked_path and os.getcwd() not in forked_path

    asyncio.run(main())


def test_a_stopped_server_is_started_again_and_kernels_end_with_it():
    async def main():
        km = manager()
        kc = await started(km)
        first, kernel = checker_fork.server_pid(), km.provisioner.pid
        try:
            os.kill(first, 9)
            # the kernel watches its parent, the server, and ends with it
            assert gone(kernel), "a forked kernel outlived its fork server"
            assert not await km.is_alive()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        km = manager()
        kc = await started(km)  # a new server forks the next kernel
        try:
            assert checker_fork.server_pid() not in (None, first)
            assert isinstance(km.provisioner.process, checker_fork.ForkedKernel)
            assert await evaluate(kc, "1 + 1") == 2
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())


def test_without_a_server_the_kernel_starts_the_usual_way(monkeypatch):
    def refuse(*args, **kwargs):
        raise checker_fork.ForkServerError("no server in this test")

    monkeypatch.setattr(checker_fork.SERVER, "launch", refuse)

    async def main():
        km = manager()
        kc = await started(km)
        try:
            assert not isinstance(km.provisioner.process, checker_fork.ForkedKernel)
            assert await evaluate(kc, "os.getppid()") == os.getpid()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())


def test_the_server_dies_with_its_worker():
    from autograder import worker

    pid = worker.call(os.getpid)[0]
    server = worker.call(checker_fork.server_pid)[0]
    assert server is not None
    # in the worker's process group: killing the worker's group, as the backstop does, ends it
    assert os.getpgid(server) == pid
    worker.POOL.close()
    assert gone(server)


def test_a_server_that_does_not_answer_is_not_waited_for(monkeypatch):
    monkeypatch.setattr(checker_fork, "REPLY_SECONDS", 2)
    checker_fork.SERVER.start()
    stuck = checker_fork.server_pid()
    os.kill(stuck, signal.SIGSTOP)  # alive, but never answers

    async def main():
        km = manager()
        start = time.monotonic()
        kc = await started(km)
        try:
            assert time.monotonic() - start < 60
            assert not isinstance(km.provisioner.process, checker_fork.ForkedKernel)
            assert await evaluate(kc, "os.getppid()") == os.getpid()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    try:
        asyncio.run(main())
        assert gone(stuck), "the stuck server was left running"
    finally:
        try:
            os.kill(stuck, signal.SIGKILL)
        except ProcessLookupError:
            pass
