"""Checker kernels forked from a process that has imported ipykernel once.

Every graded notebook gets a fresh checker kernel (:mod:`autograder.execute`).
Started as ``python -m ipykernel_launcher``, each one spends about 0.3 CPU-s
importing ipykernel, IPython, zmq and NumPy before it can answer: a quarter of
what a worker spends on a small submission, paid again for every notebook
(benchmarks/NOTES.md). A worker therefore keeps one *fork server*
(``python -m autograder.checker_fork FD``), which imports those modules once and
forks a kernel for each request; the child takes the request's working folder,
environment, standard output and error, and runs ipykernel as the launcher would.

Only the trusted checker kernel is forked: the student kernel starts in its own
sandbox, and nothing of a submission ever reaches the server (a request carries
the kernel's arguments, environment and folder, all chosen by the grader).

The worker talks to the server over a private socket pair; the server answers
each request with the child's process id and a pidfd (Linux 5.3+), so the
worker can watch and signal a kernel that is not its own child without any risk
of signalling a recycled process id. Where any of this is missing (not Linux,
an old kernel, a server that died), kernels are started the usual way.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback

from jupyter_client.provisioning import LocalProvisioner

PRELOADED = ("numpy", "ipykernel.kernelapp", "ipykernel.ipkernel", "autograder.checker")
MESSAGE_BYTES = 1 << 20  # a request: arguments, environment and folder as JSON
REPLY_SECONDS = 60  # for the server's answer (its first one waits for its imports): then the usual way
LAUNCHER = ["-m", "ipykernel_launcher"]  # what a checker kernel's command runs after the interpreter
log = logging.getLogger(__name__)


class ForkServerError(RuntimeError):
    """The fork server is missing or did not answer: the kernel is started the usual way."""


# --- the grader's side -------------------------------------------------------------

class ForkedKernel:
    """A kernel forked by the server, with the parts of ``subprocess.Popen`` that
    jupyter_client's local provisioner uses. It is not this process's child, so it is
    watched and signalled through its pidfd; its exit status is not known here."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int):
        self.pid, self._pidfd = pid, pidfd
        self.returncode: int | None = None
        self._signal = 0  # the last signal sent: the exit status reported once it has ended

    def poll(self) -> int | None:
        return self.wait(0, raising=False)

    def wait(self, timeout: float | None = None, raising: bool = True) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], timeout)[0]:
            self.returncode = -self._signal
            os.close(self._pidfd)
        if self.returncode is None and raising:
            raise subprocess.TimeoutExpired(f"checker kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signum)
                self._signal = signum
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self):
        if self.returncode is None:
            os.close(self._pidfd)


class ForkServer:
    """This process's fork server: started by :meth:`start` (a grading worker does so as it
    starts, so that the server carries the worker's mark) or at the first kernel."""

    def __init__(self):
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._failed = not (hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal"))

    def start(self) -> None:
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._failed or (self._process is not None and self._process.poll() is None):
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # in the caller's process group: killing a worker's group ends its server too
            self._process = subprocess.Popen(
                [sys.executable, "-m", "autograder.checker_fork", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        except OSError as error:
            log.warning("no checker fork server (%s): checker kernels start the usual way", error)
            self._failed = True
            ours.close()
            return
        finally:
            theirs.close()
        ours.settimeout(REPLY_SECONDS)
        self._socket = ours

    def launch(self, args: list[str], env: dict[str, str], cwd: str | None) -> ForkedKernel:
        """A checker kernel running ipykernel with ``args`` (after ``-m ipykernel_launcher``)."""
        request = json.dumps({"args": args, "env": env, "cwd": cwd}).encode()
        with self._lock:
            self._start()
            if self._socket is None:
                raise ForkServerError("the checker fork server is not available")
            try:
                # the kernel writes where this process's output goes now (a step's log file)
                socket.send_fds(self._socket, [request], [1, 2])
                # a server that died answers at once with an empty message
                reply, fds, _, _ = socket.recv_fds(self._socket, MESSAGE_BYTES, 1)
            except OSError as error:  # a timeout too: a server that hangs is not waited for again
                self._stop()
                raise ForkServerError(f"the checker fork server failed ({error!r})") from error
        answer = json.loads(reply or b"{}")
        if "pid" not in answer or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            with self._lock:
                self._stop()
            raise ForkServerError(f"the checker fork server could not fork ({answer.get('error', 'no answer')})")
        return ForkedKernel(answer["pid"], fds[0])

    def _stop(self) -> None:
        if self._socket is not None:
            self._socket.close()  # the server exits on end of input
            self._socket = None
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def stop(self) -> None:
        with self._lock:
            self._stop()


SERVER = ForkServer()


def server_pid() -> int | None:
    """The process id of this process's fork server, if it runs."""
    process = SERVER._process
    return process.pid if process is not None and process.poll() is None else None


def kernel_arguments(cmd: list[str]) -> list[str] | None:
    """The ipykernel arguments of a checker kernel's command, or None when it is another command."""
    if len(cmd) > 2 and cmd[0] == sys.executable and cmd[1:3] == LAUNCHER:
        return cmd[3:]
    return None


class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by :data:`SERVER`
    (the usual ``Popen`` when the server is not available)."""

    async def launch_kernel(self, cmd, **kwargs):
        args = kernel_arguments(cmd)
        if args is not None:
            try:
                env = kwargs.get("env") or dict(os.environ)
                cwd = kwargs.get("cwd")
                self.process = SERVER.launch(args, env, None if cwd is None else str(cwd))
            except ForkServerError as error:
                log.warning("%s: the checker kernel starts the usual way", error)
            else:
                self.pid = self.pgid = self.process.pid  # the child is a session and group leader
                self.cwd = cwd or os.getcwd()
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    async def send_signal(self, signum: int) -> None:
        if isinstance(self.process, ForkedKernel):
            if self.process.poll() is None:  # its group id is not reused while it runs
                try:
                    os.killpg(self.pgid, signum)
                except OSError:
                    self.process.send_signal(signum)
            return
        await super().send_signal(signum)


# --- the server's side -------------------------------------------------------------

def _reap(signum=None, frame=None) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(connection: socket.socket, request: dict, fds: list[int]) -> None:
    """Become the kernel the request asks for (never returns)."""
    code = 1
    try:
        connection.close()
        os.setsid()  # a group of its own, as jupyter_client starts kernels
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for target, fd in zip((1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        if request.get("cwd"):
            os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the server is the parent that ipykernel watches: the kernel ends if it dies
        sys.argv = ["ipykernel_launcher", *request["args"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush(), sys.stderr.flush()
        finally:
            os._exit(code)


def serve(connection: socket.socket) -> int:
    """Fork a kernel for each request until the grader closes its end."""
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    # as ipykernel's launcher does: the working folder is not a place to import from
    # (IPython adds the kernel's own folder back as it starts)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(connection, MESSAGE_BYTES, 2)
        except OSError:
            return 0
        if not data:
            return 0
        try:
            request = json.loads(data)
            # a child that ends at once is not reaped before its pidfd exists
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
            try:
                pid = os.fork()
                if pid == 0:
                    _child(connection, request, fds)
                pidfd = os.pidfd_open(pid)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        except Exception as error:  # the grader starts this kernel the usual way
            connection.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
            continue
        finally:
            for fd in fds:
                os.close(fd)
        try:
            socket.send_fds(connection, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)


if __name__ == "__main__":
    code = serve(socket.socket(fileno=int(sys.argv[1])))
    os._exit(code)
