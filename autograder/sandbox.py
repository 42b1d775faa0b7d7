"""Start a grading kernel in a sandbox: ``python -m autograder.sandbox -f CONNECTION_FILE``.

The course's kernel spec (``course/kernels/python3/kernel.json``, written by
:func:`autograder.course.install_kernel`) runs this module instead of
ipykernel. It starts ``autograder/kernel_boot.py`` (which protects the test
machinery, then runs ipykernel) with the strongest isolation the machine
offers (``AUTOGRADER_SANDBOX`` = ``auto``, the default, picks the first that
works; ``bwrap``, ``unshare`` or ``none`` asks for one):

``bwrap`` (Linux with bubblewrap installed and user namespaces allowed):
    new mount, PID, network, IPC and UTS namespaces and an unprivileged user
    (uid/gid 65534, all capabilities dropped).
``unshare`` (Linux without bubblewrap: util-linux's ``unshare``):
    the same namespaces, made by ``unshare``; this module, run again inside
    them as their process 1 (``--inside``), builds the same view, pivots into
    it and starts the kernel without capabilities (util-linux's ``setpriv``).

In both, the kernel sees a root folder holding only the system folders
(``/usr``, ``/etc``, ...), the Python installation and its site-packages, the
``cnnlib`` package, the data folders (read-only), an empty ``/tmp`` and --
writable -- the folder of the notebook it runs (the student's own working
copy, where the notebooks themselves, which nbgrader has filled with the
hidden tests, cannot be opened) and the folder of its connection file.
Assignment sources, solutions, hidden tests, the gradebook, the repository and
other students' copies do not exist in that view. ``AUTOGRADER_EXTRA_BINDS``
may name a JSON file of ``[source, target]`` pairs shown read-only on top of
that view (e.g. a cnnlib without the functions an exercise forbids). The
network namespace is empty, so the kernel talks to nbgrader over Unix sockets
(``autograder.execute.GuardedExecute`` uses ``ipc`` transport; a client that
asks for TCP, like ``nbgrader validate`` on the instructor's own notebooks,
gets the host's network instead). Every process the kernel starts lives in its
PID namespace and dies with it; ``kill(-1, ...)`` reaches nothing outside.

``none`` (no working sandbox: macOS, Windows, Linux without either tool):
    the kernel runs as the grading user in the submission's temporary working
    copy outside the course folder (files it can name by path stay readable).
    ``python -m autograder grade`` refuses this unless ``--unsafe-no-sandbox``.

Limits (environment variables, written by the grader for every run):

- memory: address space (``RLIMIT_AS``), ``AUTOGRADER_MEMORY_LIMIT`` bytes
  (default 2 GiB, ``0`` for none);
- disk: ``AUTOGRADER_DISK_LIMIT`` bytes (default 256 MiB, ``0`` for none): no
  file larger (``RLIMIT_FSIZE``), ``/tmp`` a tmpfs of that size, and the
  working copy is measured every quarter second and made read-only for the
  kernel once it holds more (in its mount namespace only; not in mode none);
- processes and threads: ``AUTOGRADER_PROCESS_LIMIT`` (default 64): a cgroup
  with ``pids.max`` where the grader may create one (root, cgroup v1 or v2),
  else ``RLIMIT_NPROC`` inside the sandbox's user namespace (not for root: the
  kernel does not apply it to uid 0), else not enforced (:func:`process_enforcement`);
- CPU time per process (``RLIMIT_CPU``): ``AUTOGRADER_CPU_LIMIT`` seconds
  (default 720, the notebook limit plus a margin).

SIGINT is left to the kernel: jupyter_client interrupts a cell by signalling
the kernel's process group. This process stays as the kernel's parent (it
watches the disk limit and removes the cgroup afterwards) and exits with it.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import platform
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BOOT = Path(__file__).resolve().with_name("kernel_boot.py")
# what the student kernel runs of the package: its boot file and its side of the checker protocol
BOOT_FILES = [BOOT, BOOT.with_name("wire.py"), BOOT.with_name("student_server.py")]
LAUNCHER = Path(__file__).resolve()  # this file, run again inside unshare's namespaces
REPO_DIR = Path(__file__).resolve().parents[1]
MODES = ("bwrap", "unshare", "none")
MEMORY_LIMIT = 2 * 1024 ** 3  # bytes of address space per kernel
DISK_LIMIT = 256 * 1024 ** 2  # bytes a kernel may write
PROCESS_LIMIT = 64  # processes and threads per kernel
CPU_LIMIT = 720  # s of CPU time per process: the notebook's 600 s and a margin
WATCH_INTERVAL = 0.25  # s between two measurements of the working copy
GRACE = 2.0  # s the working copy may stay over the disk limit before the kernel is stopped
ENTRY_BYTES = 4096  # what one file or folder counts at least (a million empty files is a disk hog too)
SANDBOX_UID = 65534  # "nobody" inside bubblewrap's user namespace
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
HOME = "/tmp/home"
CGROUP_GROUP = "autograder"


# --- limits -----------------------------------------------------------------------

def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(float(value)) if value.strip() else default


def memory_limit() -> int:
    """Bytes of address space a kernel may use (0: unlimited)."""
    return _number("AUTOGRADER_MEMORY_LIMIT", MEMORY_LIMIT)


def disk_limit() -> int:
    """Bytes a kernel may write (0: unlimited)."""
    return _number("AUTOGRADER_DISK_LIMIT", DISK_LIMIT)


def process_limit() -> int:
    """Processes and threads a kernel may run at once (0: unlimited)."""
    return _number("AUTOGRADER_PROCESS_LIMIT", PROCESS_LIMIT)


def cpu_limit() -> int:
    """Seconds of CPU time one process of a kernel may use (0: unlimited)."""
    return _number("AUTOGRADER_CPU_LIMIT", CPU_LIMIT)


def format_bytes(n: float) -> str:
    """``2 GiB``, ``512 MiB``: a limit as students read it."""
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:g} bytes"


# errno values of a write refused by the disk limit: file too large, no space, read-only, quota
DISK_ERRNOS = ("[Errno 27]", "[Errno 28]", "[Errno 30]", "[Errno 122]")


def explain_limit(ename: str, evalue: str) -> tuple[str, str] | None:
    """(name, message) naming the limit behind an error a cell raised, or None.

    For the executor: a failed fork or thread start is the process limit, a
    refused write the disk limit.
    """
    if (ename == "BlockingIOError" and "[Errno 11]" in evalue) or \
            (ename == "RuntimeError" and "can't start new thread" in evalue):
        n = process_limit()
        if n > 0:
            return "ProcessLimitError", (f"{evalue} -- a notebook may run at most {n} processes and threads "
                                         "(process limit)").lstrip(" -")
    if ename in ("OSError", "PermissionError", "IOError") and any(code in evalue for code in DISK_ERRNOS):
        n = disk_limit()
        if n > 0:
            return "DiskLimitError", (f"{evalue} -- a notebook may write at most {format_bytes(n)} "
                                      "(disk limit)").lstrip(" -")
    return None


# --- choosing the isolation ---------------------------------------------------------

def _probe(command: list[str]) -> bool:
    try:
        probe = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@functools.cache
def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can create the namespaces we use."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or not sys.platform.startswith("linux"):
        return False
    return _probe([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL",
                   "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--", "true"])


UNSHARE_FLAGS = ("--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount-proc",
                 "--mount", "--ipc", "--uts")


@functools.cache
def unshare_works() -> bool:
    """Whether util-linux's unshare (and setpriv) can create the namespaces we use."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare is None or setpriv is None or not sys.platform.startswith("linux"):
        return False
    return _probe([unshare, *UNSHARE_FLAGS, "--net", "--", "sh", "-c",
                   'd=$(mktemp -d) && mount -t tmpfs -o size=1m none "$d" && umount "$d" && rmdir "$d"'])


def mode() -> str:
    """``bwrap``, ``unshare`` or ``none``: what this machine gives student code (see the module docstring)."""
    wanted = os.environ.get("AUTOGRADER_SANDBOX", "auto").strip().lower() or "auto"
    if wanted not in ("auto", *MODES):
        raise SystemExit(f"AUTOGRADER_SANDBOX must be auto, bwrap, unshare or none, not {wanted!r}")
    if wanted == "none":
        return "none"
    if wanted in ("auto", "bwrap") and bwrap_works():
        return "bwrap"
    if wanted == "bwrap":
        raise SystemExit("AUTOGRADER_SANDBOX=bwrap, but bubblewrap (bwrap) is missing or cannot create namespaces")
    if unshare_works():
        return "unshare"
    if wanted == "unshare":
        raise SystemExit("AUTOGRADER_SANDBOX=unshare, but util-linux's unshare cannot create user, PID, mount "
                         "and network namespaces here (or setpriv is missing)")
    return "none"


INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) "
                "or make util-linux's unshare work (unprivileged user namespaces enabled: "
                "sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0), "
                "on Linux; macOS and Windows have neither (grade in a Linux VM or container)")


# --- the process limit: a cgroup ------------------------------------------------------

def _cgroup_mounts() -> list[tuple[str, Path]]:
    """(``v1`` or ``v2``, mount point) of the cgroup hierarchies that can count processes."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        point = Path(fields[4].replace("\\040", " "))
        if tail[0] == "cgroup" and "pids" in tail[2].split(","):
            found.append(("v1", point))
        elif tail[0] == "cgroup2":
            try:
                if "pids" in (point / "cgroup.controllers").read_text().split():
                    found.append(("v2", point))
            except OSError:
                pass
    return found


def _enable_pids(folder: Path) -> None:
    control = folder / "cgroup.subtree_control"
    if "pids" not in control.read_text().split():
        control.write_text("+pids")


def _collect_stale(parent: Path) -> None:
    """Remove the empty cgroups of kernels whose watcher was killed (a busy one refuses)."""
    for child in parent.iterdir():
        try:
            if child.is_dir() and time.time() - child.stat().st_mtime > 60:
                child.rmdir()
        except OSError:
            pass


def make_cgroup(limit: int) -> Path | None:
    """A new cgroup with ``pids.max = limit``, or None where the grader may not make one."""
    for kind, point in _cgroup_mounts():
        try:
            parent = point / CGROUP_GROUP
            if kind == "v2":
                _enable_pids(point)  # only possible at the real root or in a delegated subtree
            parent.mkdir(exist_ok=True)
            if kind == "v2":
                _enable_pids(parent)
            _collect_stale(parent)
            group = parent / uuid.uuid4().hex[:12]
            group.mkdir()
            try:
                (group / "pids.max").write_text(str(limit))
            except OSError:
                group.rmdir()
                raise
            return group
        except OSError:
            continue
    return None


def remove_cgroup(group: Path | None) -> None:
    if group is None:
        return
    for _ in range(400):  # the namespace's last processes may still be exiting (for milliseconds)
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.005)


@functools.cache
def cgroup_works() -> bool:
    group = make_cgroup(PROCESS_LIMIT)
    remove_cgroup(group)
    return group is not None


def process_enforcement(chosen: str | None = None) -> str:
    """How the process limit is enforced in this mode on this machine (for run.json)."""
    chosen = chosen or mode()
    if cgroup_works():
        return "cgroup pids.max"
    if chosen != "none" and os.geteuid() != 0:
        return "RLIMIT_NPROC in the sandbox's user namespace"
    reason = ("the grader runs as root, whose processes RLIMIT_NPROC does not count" if os.geteuid() == 0
              else "RLIMIT_NPROC would count all of the grading user's processes")
    return f"not enforced (no writable cgroup with the pids controller; {reason})"


def isolation_report(chosen: str | None = None, memory: int | None = None, disk: int | None = None,
                     processes: int | None = None, cpu: int | None = None) -> dict:
    """What student code gets on this machine: the mode, the limits (default: the environment's)
    and how each is enforced."""
    chosen = chosen or mode()
    sandboxed = chosen != "none"
    return {
        "mode": chosen,
        "memory_limit_bytes": memory_limit() if memory is None else memory,
        "memory_enforcement": "RLIMIT_AS",
        "disk_limit_bytes": disk_limit() if disk is None else disk,
        "disk_enforcement": ("RLIMIT_FSIZE per file; /tmp a tmpfs of that size; the working copy, measured "
                             f"every {WATCH_INTERVAL:g} s, made read-only once it holds more" if sandboxed else
                             "RLIMIT_FSIZE per file only (the working copy's total is not enforced)"),
        "process_limit": process_limit() if processes is None else processes,
        "process_enforcement": process_enforcement(chosen),
        "cpu_limit_seconds": cpu_limit() if cpu is None else cpu,
        "cpu_enforcement": "RLIMIT_CPU per process",
        "network": "none (Unix sockets to nbgrader only)" if sandboxed else "the host's",
    }


# --- what the kernel sees ------------------------------------------------------------

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


def extra_binds() -> list[tuple[str, str]]:
    """The read-only ``[source, target]`` pairs of the JSON file ``AUTOGRADER_EXTRA_BINDS`` names."""
    name = os.environ.get("AUTOGRADER_EXTRA_BINDS", "").strip()
    if not name:
        return []
    try:
        pairs = json.loads(Path(name).read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"AUTOGRADER_EXTRA_BINDS: cannot read {name}: {error}") from None
    if not isinstance(pairs, list) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs):
        raise SystemExit(f"AUTOGRADER_EXTRA_BINDS: {name} must hold a JSON list of [source, target] pairs")
    binds = []
    for source, target in pairs:
        if not os.path.isabs(target) or not os.path.exists(source):
            raise SystemExit(f"AUTOGRADER_EXTRA_BINDS: {source!r} must exist and {target!r} be an absolute path")
        binds.append((str(Path(source).resolve()), os.path.normpath(target)))
    return binds


def transport(connection_file: Path) -> str:
    """``ipc`` or ``tcp``: how the kernel of this connection file talks to its client."""
    try:
        return json.loads(connection_file.read_text()).get("transport", "tcp")
    except (OSError, ValueError):
        return "tcp"


def view(workdir: Path, connection_file: Path) -> dict:
    """The kernel's file system, as plain data both sandboxes build from."""
    links, ro = [], []
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            links.append((os.readlink(folder), folder))
        elif os.path.isdir(folder):
            ro.append(folder)
    bound = [Path(folder) for folder in SYSTEM_DIRS]
    data = [Path(os.environ["CNNLIB_DATA"]).expanduser()] if os.environ.get("CNNLIB_DATA") else []
    for path in python_paths() + data + [cache_dir(), *BOOT_FILES]:
        path = path.resolve()
        if path.exists() and not any(is_within(path, b) for b in bound):
            ro.append(str(path))
            bound.append(path)
    ipc = transport(connection_file) == "ipc"
    return {
        "links": links,
        "ro": ro,
        # the student's working copy; with ipc, the folder where the kernel makes its Unix sockets
        "rw": [str(workdir)] + ([str(connection_file.parent)] if ipc else []),
        "ro_files": [] if ipc else [str(connection_file)],
        # the working copy's notebooks, which nbgrader has already filled with the hidden tests it
        # is about to run: covered by /dev/null, which the kernel may not open (nbgrader sends it the cells)
        "covers": [str(nb) for nb in sorted(workdir.rglob("*.ipynb"))],
        "extra": extra_binds(),
        # TCP (e.g. nbgrader validate's own executor): the kernel needs the host's network
        "share_net": not ipc,
        # matplotlib's font list, copied in: without it every kernel spends seconds building one
        "fonts": [str(f) for f in sorted(matplotlib_cache().glob("fontlist-*.json"))],
        "workdir": str(workdir),
        "tmp_size": disk_limit(),
    }


def sandbox_env(chosen: str) -> dict[str, str]:
    """Variables set inside a sandbox (HOME and the caches live in its private /tmp)."""
    return {"HOME": HOME, "TMPDIR": "/tmp", "MPLCONFIGDIR": f"{HOME}/.matplotlib",
            "IPYTHONDIR": f"{HOME}/.ipython", "JUPYTER_CONFIG_DIR": f"{HOME}/.jupyter",
            "CNNLIB_CACHE_DIR": str(cache_dir()), "AUTOGRADER_SANDBOXED": chosen}


def bwrap_command(kernel: list[str], workdir: Path, connection_file: Path, nproc: int = 0) -> list[str]:
    """The bubblewrap command line that runs ``kernel`` (see the module docstring);
    ``nproc`` > 0 sets RLIMIT_NPROC inside the user namespace."""
    v = view(workdir, connection_file)
    args = [shutil.which("bwrap"), "--die-with-parent", "--unshare-all", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "grader",
            "--proc", "/proc", "--dev", "/dev"]
    if v["tmp_size"] > 0:
        args += ["--size", str(v["tmp_size"])]
    args += ["--tmpfs", "/tmp", "--dir", HOME]
    for target, link in v["links"]:
        args += ["--symlink", target, link]
    for path in v["ro"]:
        args += ["--ro-bind", path, path]
    for path in v["rw"]:
        args += ["--bind", path, path]
    for path in v["ro_files"]:
        args += ["--ro-bind", path, path]
    for notebook in v["covers"]:
        args += ["--ro-bind", "/dev/null", notebook]
    for source, target in v["extra"]:
        args += ["--ro-bind", source, target]
    if v["share_net"]:
        args += ["--share-net"]
    args += ["--dir", f"{HOME}/.matplotlib"]
    for font_list in v["fonts"]:
        fd = os.open(font_list, os.O_RDONLY)
        os.set_inheritable(fd, True)
        args += ["--file", str(fd), f"{HOME}/.matplotlib/{Path(font_list).name}"]
    args += ["--chdir", str(workdir)]
    for key, value in sandbox_env("bwrap").items():
        args += ["--setenv", key, value]
    # the kernel's parent (bwrap's init, pid 1 here) is not jupyter_client's pid
    args += ["--unsetenv", "JPY_PARENT_PID", "--"]
    if nproc > 0:
        args += [shutil.which("prlimit") or "prlimit", f"--nproc={nproc}", "--"]
    return args + kernel


def unshare_command(kernel: list[str], workdir: Path, connection_file: Path, root: Path,
                    nproc: int = 0) -> list[str]:
    """The unshare command line that runs ``kernel`` in a view built at ``root`` (an empty folder)."""
    spec = view(workdir, connection_file)
    spec.update(root=str(root), nproc=nproc, env=sandbox_env("unshare"),
                setpriv=shutil.which("setpriv") or "setpriv")
    flags = list(UNSHARE_FLAGS) + ([] if spec["share_net"] else ["--net"])
    return [shutil.which("unshare") or "unshare", *flags, "--",
            sys.executable, "-I", "-S", str(LAUNCHER), "--inside", json.dumps(spec), "--", *kernel]


def sandbox_command(argv: list[str], workdir: Path, connection_file: Path, chosen: str,
                    root: Path | None = None, nproc: int = 0) -> list[str]:
    """``argv`` wrapped in the sandbox of mode ``chosen``."""
    if chosen == "bwrap":
        return bwrap_command(argv, workdir, connection_file, nproc)
    if chosen == "unshare":
        return unshare_command(argv, workdir, connection_file, root, nproc)
    return list(argv)


# --- mounts (the unshare launcher, and the disk watcher) ------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
# statvfs flag -> mount flag a remount must keep (the kernel refuses to drop locked ones)
KEPT_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 16: 16, 64: 64, 1024: 1024, 2048: 2048, 4096: 1 << 21}
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "ppc64": 203, "s390x": 217,
              "i686": 217, "i386": 217, "armv7l": 218}
_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0, data: str | None = None):
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {source} on {target}")


def remount_read_only(target: str, extra: int = 0) -> None:
    """Make the mount at ``target`` read-only (plus ``extra`` flags), keeping the flags the kernel
    will not let us drop."""
    kept = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | extra
    for st, ms in KEPT_FLAGS.items():
        if kept & st:
            flags |= ms
    mount(None, target, None, flags)


def bind(source: str, target: str, read_only: bool, extra: int = 0) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        remount_read_only(target, extra)


def _place(root: str, path: str, is_dir: bool) -> str:
    """``root + path``, created as an empty folder or file to mount on."""
    target = os.path.join(root, path.lstrip("/"))
    if is_dir:
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    return target


def build_view(spec: dict) -> None:
    """Inside new user and mount namespaces: build the kernel's file system at spec['root'] and pivot into it."""
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for target, link in spec["links"]:
        os.symlink(target, os.path.join(root, link.lstrip("/")))
    # /tmp first, as bubblewrap's --tmpfs: what lives under /tmp on the host (a checkout, a
    # virtual environment, the working copy) is bound on top of it, not hidden by it
    size = f",size={spec['tmp_size']}" if spec["tmp_size"] > 0 else ""
    mount("tmpfs", _place(root, "/tmp", True), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" + size)
    for path in spec["ro"]:
        bind(path, _place(root, path, os.path.isdir(path)), read_only=True)
    mount("proc", _place(root, "/proc", True), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = _place(root, "/dev", True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=0755")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            bind(f"/dev/{name}", _place(root, f"/dev/{name}", False), read_only=False)
    mount("tmpfs", _place(root, "/dev/shm", True), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    fonts = _place(root, f"{HOME}/.matplotlib", True)
    for font_list in spec["fonts"]:
        shutil.copyfile(font_list, os.path.join(fonts, os.path.basename(font_list)))
    for path in spec["rw"]:
        bind(path, _place(root, path, True), read_only=False)
    for path in spec["ro_files"]:
        bind(path, _place(root, path, False), read_only=True)
    for notebook in spec["covers"]:
        # nodev: opening the cover fails (as in bubblewrap) instead of reading nothing
        bind("/dev/null", _place(root, notebook, False), read_only=True, extra=MS_NODEV | MS_NOSUID | MS_NOEXEC)
    for source, target in spec["extra"]:
        bind(source, _place(root, target, os.path.isdir(source)), read_only=True)
    remount_read_only(root)
    os.chdir(root)
    number = PIVOT_ROOT.get(platform.machine())
    if number is not None:  # the old root leaves the namespace altogether
        _check(libc().syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
        _check(libc().umount2(b".", MNT_DETACH), "umount the old root")
    else:  # an architecture we have no number for: the kernel gets no capability to leave it
        os.chroot(".")
    os.chdir("/")


def inside(spec: dict, argv: list[str]) -> int:
    """Process 1 of unshare's namespaces: build the view, start the kernel without capabilities, reap."""
    build_view(spec)
    try:
        libc().sethostname(b"grader", 6)
    except OSError:
        pass
    os.environ.update(spec["env"])
    os.environ.pop("JPY_PARENT_PID", None)
    child = os.fork()
    if child == 0:
        try:
            os.chdir(spec["workdir"])
            if spec["nproc"] > 0:
                resource.setrlimit(resource.RLIMIT_NPROC, (spec["nproc"], spec["nproc"]))
            os.execv(spec["setpriv"], [spec["setpriv"], "--no-new-privs", "--inh-caps=-all", "--ambient-caps=-all",
                                       "--bounding-set=-all", "--", *argv])
        except BaseException as error:  # never return into the launcher's loop
            print(f"autograder.sandbox: cannot start {argv[0]}: {error}", file=sys.stderr)
        os._exit(127)
    libc().prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: the kernel cannot read this process's memory
    forward = lambda signum, frame: os.kill(child, signum)  # noqa: E731
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    while True:  # as init: reap every orphan; leave with the kernel
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


# --- the watcher outside ---------------------------------------------------------------

def tree_size(folder: str, stop: int) -> int:
    """Bytes a folder takes on disk (each entry at least ENTRY_BYTES), counted until ``stop``."""
    total, todo = 0, [folder]
    while todo and total <= stop:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += max(st.st_blocks * 512, ENTRY_BYTES)
            if entry.is_dir(follow_symlinks=False):
                todo.append(entry.path)
    return total


def sandbox_process(parent: int) -> int | None:
    """The first descendant of ``parent`` in another mount namespace (the sandbox's)."""
    own = os.readlink("/proc/self/ns/mnt")
    todo = [parent]
    while todo:
        pid = todo.pop(0)
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != own:
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return None


def remount_in(pid: int, folder: str) -> bool:
    """Make ``folder`` read-only in the mount namespace of process ``pid`` (only there)."""
    helper = os.fork()
    if helper == 0:
        try:
            mnt = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
            if libc().setns(mnt, 0) != 0:  # not root here: enter the sandbox's user namespace first
                user = f"/proc/{pid}/ns/user"
                if os.readlink(user) != os.readlink("/proc/self/ns/user"):
                    _check(libc().setns(os.open(user, os.O_RDONLY), 0), "setns user")
                _check(libc().setns(mnt, 0), "setns mnt")
            remount_read_only(folder)
            os._exit(0)
        except BaseException as error:
            busy = isinstance(error, OSError) and error.errno == 16
            if not busy:  # busy: a file is open for writing; the watcher tries again
                print(f"autograder.sandbox: cannot enforce the disk limit: {error}", file=sys.stderr)
            os._exit(1)
    _, status = os.waitpid(helper, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def start(command: list[str], env: dict[str, str], group: Path | None) -> int:
    """Fork and exec ``command`` with the kernel's resource limits, in ``group``; its pid."""
    child = os.fork()
    if child:
        return child
    try:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))
        for which, value, hard in ((resource.RLIMIT_AS, memory_limit(), 0), (resource.RLIMIT_FSIZE, disk_limit(), 0),
                                   (resource.RLIMIT_CPU, cpu_limit(), 5)):
            if value > 0:
                resource.setrlimit(which, (value, value + hard))
        libc().prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: the sandbox dies with its watcher
        os.execvpe(command[0], command, env)
    except BaseException as error:
        print(f"autograder.sandbox: cannot start the kernel: {error}", file=sys.stderr)
    os._exit(127)


def exited(child: int):
    """A function that waits ``seconds``, or less when ``child`` exits first: a pid file
    descriptor wakes the watcher as soon as the kernel ends, so a finished notebook does not
    wait for the next measurement. Without one (Linux before 5.3) it just sleeps."""
    try:
        descriptor = os.pidfd_open(child)
    except (AttributeError, OSError):
        return time.sleep
    return lambda seconds: select.select([descriptor], [], [], seconds)


def supervise(child: int, workdir: str | None, limit: int) -> int:
    """Wait for ``child``; meanwhile make ``workdir`` read-only in the sandbox once it holds over ``limit`` bytes."""
    watching = workdir is not None and limit > 0
    over_since = None
    wait = exited(child)
    while True:
        try:
            pid, status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            return 1
        if pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        if watching and tree_size(workdir, limit) > limit:
            over_since = over_since or time.monotonic()
            target = sandbox_process(child)
            if target is not None and remount_in(target, workdir):
                print(f"[autograder] the working copy holds more than {format_bytes(limit)}: it is read-only "
                      "for the kernel from now on (disk limit)", file=sys.stderr, flush=True)
                watching = False
            elif time.monotonic() - over_since > GRACE:  # a file kept open for writing blocks the remount
                print(f"[autograder] the working copy holds more than {format_bytes(limit)} and cannot be made "
                      "read-only: the kernel is stopped (disk limit)", file=sys.stderr, flush=True)
                os.kill(child, signal.SIGKILL)
                watching = False
        wait(WATCH_INTERVAL)


def root_prefix(job: str | None) -> str:
    """The name an unshare sandbox's root folder starts with: named after the job, so that the
    grader removes it when it kills the job (course.remove_job_folders)."""
    return f"agsb-{job}-" if job else "agsb-"


def run(argv: list[str], workdir: Path, connection_file: Path, chosen: str | None = None) -> int:
    """Run ``argv`` in the sandbox of mode ``chosen`` (default: :func:`mode`) with the limits; its exit status."""
    chosen = chosen or mode()
    env = dict(os.environ)
    env.setdefault("MALLOC_ARENA_MAX", "2")  # glibc: fewer 64 MiB arenas counted against RLIMIT_AS
    env["AUTOGRADER_SANDBOXED"] = chosen
    limit = process_limit()
    group = make_cgroup(limit) if limit > 0 else None
    # without a cgroup, RLIMIT_NPROC counts the sandbox's own user namespace (it spares root)
    nproc = limit if group is None and chosen != "none" and os.geteuid() != 0 else 0
    root = Path(tempfile.mkdtemp(prefix=root_prefix(os.environ.get("AUTOGRADER_JOB")))) if chosen == "unshare" else None
    try:
        command = sandbox_command(argv, workdir, connection_file, chosen, root, nproc)
        # An interrupt (SIGINT to the process group) is for the kernel: neither this
        # watcher nor bwrap/unshare may die of it (the kernel sets its own handler).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        child = start(command, env, group)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda s, f: os.kill(child, signal.SIGKILL))
        return supervise(child, str(workdir) if chosen != "none" else None, disk_limit())
    finally:
        remove_cgroup(group)
        if root is not None:
            try:
                root.rmdir()
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--inside"]:  # unshare's process 1 (see unshare_command)
        return inside(json.loads(argv[1]), argv[3:])
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        raise SystemExit("usage: python -m autograder.sandbox -f CONNECTION_FILE [kernel options]")
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    return run([sys.executable, str(BOOT), *argv], Path.cwd().resolve(), connection_file)


if __name__ == "__main__":
    sys.exit(main())
