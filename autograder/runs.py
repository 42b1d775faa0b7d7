"""What a grading run is given: its options from the command line, the isolation
student code gets, and ``OUT/run.json``, which records both.

Shared by ``grade`` (:mod:`autograder.cli`) and ``demo`` (:mod:`autograder.demo`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

from autograder import sandbox
from autograder.grading import Options
from autograder.sandbox import DISK_LIMIT, PROCESS_LIMIT


def limits_of(args) -> Options:
    """Options of a grading run from the command line's limits."""
    return Options(workers=args.workers, cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                   memory_limit=int(args.memory_limit * 1024 ** 3),
                   disk_limit=int(getattr(args, "disk_limit", DISK_LIMIT / 1024 ** 2) * 1024 ** 2),
                   process_limit=getattr(args, "process_limit", PROCESS_LIMIT),
                   sandbox=getattr(args, "sandbox_mode", "") or "")


def choose_isolation(args, bundled: bool) -> str | None:
    """The sandbox mode student code will run in (also set for the kernels), or None: refused.

    Without a sandbox, real submissions need ``--unsafe-no-sandbox``; the bundled
    samples (``bundled``) run with a notice.
    """
    try:
        chosen = sandbox.mode()
    except SystemExit as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    if chosen == "none" and not getattr(args, "unsafe_no_sandbox", False):
        why = ("AUTOGRADER_SANDBOX=none" if os.environ.get("AUTOGRADER_SANDBOX", "").strip().lower() == "none"
               else f"neither bubblewrap nor unshare works on this machine ({platform.system()})")
        if not bundled:
            print(f"error: refusing to run student code without a sandbox: {why}. To isolate it, "
                  f"{sandbox.INSTALL_HINT}. To run it anyway (only code you trust), add --unsafe-no-sandbox.",
                  file=sys.stderr)
            return None
        print(f"NOTICE: {why}; the bundled sample submissions run without a sandbox. "
              f"Before grading real submissions, {sandbox.INSTALL_HINT}.")
    args.sandbox_mode = chosen
    return chosen


def write_run_info(out: Path, options: Options, args) -> dict:
    """Print the isolation and limits of this run, and write them to OUT/run.json."""
    from importlib.metadata import PackageNotFoundError, version

    import cnnlib

    chosen = getattr(args, "sandbox_mode", "") or sandbox.mode()
    info = sandbox.isolation_report(chosen, memory=options.memory_limit, disk=options.disk_limit,
                                    processes=options.process_limit, cpu=options.cpu_limit)
    info["unsafe_no_sandbox"] = bool(getattr(args, "unsafe_no_sandbox", False))
    info["cell_timeout_seconds"] = options.cell_timeout
    info["notebook_timeout_seconds"] = options.notebook_timeout
    info["workers"] = options.workers
    try:
        nbgrader_version = version("nbgrader")
    except PackageNotFoundError:
        nbgrader_version = None
    info["versions"] = {"cnnlib": cnnlib.__version__, "nbgrader": nbgrader_version,
                        "python": platform.python_version()}
    info["platform"] = platform.platform()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(info, indent=1) + "\n")

    def size(n):
        return sandbox.format_bytes(n) if n else "unlimited"

    print(f"isolation: {chosen}{' (UNSAFE: no sandbox)' if chosen == 'none' else ''}; limits per kernel: "
          f"memory {size(options.memory_limit)}, disk {size(options.disk_limit)}, "
          f"{options.process_limit or 'unlimited'} processes ({info['process_enforcement']}), "
          f"CPU {options.cpu_limit or 'unlimited'} s per process, cell {options.cell_timeout} s, "
          f"notebook {options.notebook_timeout:g} s (details: {out / 'run.json'})")
    return info
