"""Start a grading kernel in a sandbox: ``python -m autograder.sandbox -f CONNECTION_FILE``.

The course's kernel spec (``course/kernels/python3/kernel.json``, written by
:func:`autograder.course.install_kernel`) runs this module instead of
ipykernel. It starts ``autograder/kernel_boot.py`` (which protects the test
machinery, then runs ipykernel) with the strongest isolation the machine
offers:

``bwrap`` (Linux with bubblewrap installed and user namespaces allowed):
    new mount, PID, network, IPC and UTS namespaces and an unprivileged user
    (uid/gid 65534, all capabilities dropped). The kernel sees a root
    folder holding only the system folders (``/usr``, ``/etc``, ...), the
    Python installation and its site-packages, the ``cnnlib`` package, the
    data folders (read-only), an empty ``/tmp``, and -- writable -- the
    folder of the notebook it runs (the student's own working copy, where the
    notebooks themselves, which nbgrader has filled with the hidden tests,
    cannot be opened) and the folder of its connection file. Assignment sources, solutions, hidden
    tests, the gradebook, the repository and other students' copies do not
    exist in that view. The network namespace is empty, so the kernel talks
    to nbgrader over Unix sockets (``autograder.execute.GuardedExecute`` uses
    ``ipc`` transport; a client that asks for TCP, like ``nbgrader validate``
    on the instructor's own notebooks, gets the host's network instead). Every process the
    kernel starts lives in its PID namespace and dies with it.
``none`` (no bubblewrap, other systems):
    the kernel runs as the grading user in its own process group, in the
    submission's temporary working copy outside the course folder (files it
    can name by path stay readable).

In both modes the kernel's address space is limited (``RLIMIT_AS``, default
2 GiB; ``AUTOGRADER_MEMORY_LIMIT`` in bytes, ``0`` for none) and SIGINT is
left to the kernel: jupyter_client interrupts a cell by signalling the
kernel's process group.

Environment: ``AUTOGRADER_SANDBOX`` = ``auto`` (default: bwrap if it works),
``bwrap`` (fail if it does not) or ``none``.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

BOOT = Path(__file__).resolve().with_name("kernel_boot.py")
REPO_DIR = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 2 * 1024 ** 3  # bytes of address space per kernel
SANDBOX_UID = 65534  # "nobody" inside the user namespace
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")


def memory_limit() -> int:
    """Bytes of address space a kernel may use (0: unlimited)."""
    value = os.environ.get("AUTOGRADER_MEMORY_LIMIT", "")
    return int(float(value)) if value.strip() else MEMORY_LIMIT


def format_bytes(n: float) -> str:
    """``2 GiB``, ``512 MiB``: a limit as students read it."""
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:g} bytes"


@functools.lru_cache(maxsize=None)
def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can create the namespaces we use."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or not sys.platform.startswith("linux"):
        return False
    try:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL",
                                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--", "true"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def mode() -> str:
    """``bwrap`` or ``none``: what this machine gives student code (see the module docstring)."""
    wanted = os.environ.get("AUTOGRADER_SANDBOX", "auto").strip().lower() or "auto"
    if wanted not in ("auto", "bwrap", "none"):
        raise SystemExit(f"AUTOGRADER_SANDBOX must be auto, bwrap or none, not {wanted!r}")
    if wanted == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    if wanted == "bwrap":
        raise SystemExit("AUTOGRADER_SANDBOX=bwrap, but bubblewrap (bwrap) is missing or cannot create namespaces")
    return "none"


def cache_dir() -> Path:
    """cnnlib's download cache (cnnlib.data.default_cache_dir, without importing cnnlib)."""
    if os.environ.get("CNNLIB_CACHE_DIR"):
        return Path(os.environ["CNNLIB_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cnnlib"


def matplotlib_cache() -> Path:
    """matplotlib's cache folder outside the sandbox (matplotlib.get_cachedir, without importing it)."""
    if os.environ.get("MPLCONFIGDIR"):
        return Path(os.environ["MPLCONFIGDIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "matplotlib"


def is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def python_paths() -> list[Path]:
    """Folders the kernel's interpreter imports from, without the repository itself.

    The repository (on ``PYTHONPATH``, or through an editable install) holds the
    assignment sources and sample solutions: only its ``cnnlib`` package is
    shown to the kernel.
    """
    import site
    import sysconfig

    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    found += [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    found += [p for p in sys.path if p]
    paths = []
    for entry in found:
        path = Path(entry).resolve() if os.path.isabs(entry) else None
        if path is None or not path.exists():
            continue
        if path == REPO_DIR or (is_within(REPO_DIR, path) and path != Path("/")):
            path = REPO_DIR / "cnnlib"  # the repository or a folder above it: cnnlib only
        elif is_within(path, REPO_DIR) and not is_within(path, Path(sys.prefix).resolve()):
            continue  # some other folder of the repository
        if path not in paths and path.exists():
            paths.append(path)
    if (REPO_DIR / "cnnlib").is_dir() and REPO_DIR / "cnnlib" not in paths:
        paths.append(REPO_DIR / "cnnlib")  # editable installs point into the repository
    return paths


def bwrap_command(kernel: list[str], workdir: Path, connection_file: Path) -> list[str]:
    """The bubblewrap command line that runs ``kernel`` (see the module docstring)."""
    args = [shutil.which("bwrap"), "--die-with-parent", "--unshare-all", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "grader",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    bound = [Path(folder) for folder in SYSTEM_DIRS]
    data = [Path(os.environ["CNNLIB_DATA"]).expanduser()] if os.environ.get("CNNLIB_DATA") else []
    for path in python_paths() + data + [cache_dir(), BOOT]:
        path = path.resolve()
        if path.exists() and not any(is_within(path, b) for b in bound):
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    args += ["--bind", str(workdir), str(workdir)]  # the student's working copy
    # ... whose notebooks nbgrader has already filled with the hidden tests it is about to
    # run: covered by /dev/null, which the kernel may not open (nbgrader sends it the cells)
    for notebook in sorted(workdir.rglob("*.ipynb")):
        args += ["--ro-bind", "/dev/null", str(notebook)]
    if transport(connection_file) == "ipc":  # the kernel makes its Unix sockets next to the file
        args += ["--bind", str(connection_file.parent), str(connection_file.parent)]
    else:  # TCP (e.g. nbgrader validate's own executor): the kernel needs the network namespace
        args += ["--share-net", "--ro-bind", str(connection_file), str(connection_file)]
    # matplotlib's font list, copied in: without it every kernel spends seconds building one
    args += ["--dir", "/tmp/home/.matplotlib"]
    for font_list in sorted(matplotlib_cache().glob("fontlist-*.json")):
        fd = os.open(font_list, os.O_RDONLY)
        os.set_inheritable(fd, True)
        args += ["--file", str(fd), f"/tmp/home/.matplotlib/{font_list.name}"]
    args += ["--chdir", str(workdir),
             "--setenv", "HOME", "/tmp/home",
             "--setenv", "TMPDIR", "/tmp",
             "--setenv", "MPLCONFIGDIR", "/tmp/home/.matplotlib",
             "--setenv", "IPYTHONDIR", "/tmp/home/.ipython",
             "--setenv", "JUPYTER_CONFIG_DIR", "/tmp/home/.jupyter",
             "--setenv", "CNNLIB_CACHE_DIR", str(cache_dir()),
             "--setenv", "AUTOGRADER_SANDBOXED", "bwrap",
             # the kernel's parent (bwrap's init, pid 1 here) is not jupyter_client's pid
             "--unsetenv", "JPY_PARENT_PID",
             "--"]
    return args + kernel


def transport(connection_file: Path) -> str:
    """``ipc`` or ``tcp``: how the kernel of this connection file talks to its client."""
    import json

    try:
        return json.loads(connection_file.read_text()).get("transport", "tcp")
    except (OSError, ValueError):
        return "tcp"


def kernel_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MALLOC_ARENA_MAX", "2")  # glibc: fewer 64 MiB arenas counted against RLIMIT_AS
    env["AUTOGRADER_SANDBOXED"] = "none"
    return env


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        raise SystemExit("usage: python -m autograder.sandbox -f CONNECTION_FILE [kernel options]")
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    kernel = [sys.executable, str(BOOT), *argv]
    env = kernel_environment()
    if mode() == "bwrap":
        kernel = bwrap_command(kernel, Path.cwd().resolve(), connection_file)
    limit = memory_limit()
    if limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # An interrupt (SIGINT to the process group) is for the kernel: bwrap, which
    # replaces this process, must not die of it (the kernel sets its own handler).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.execvpe(kernel[0], kernel, env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
