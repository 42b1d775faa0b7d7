"""The benchmark suite (`make bench`) runs end to end and writes a complete report.

Only the report's shape and the numbers that are not timings are checked
(which rows are there, "not installed" where PyTorch is missing, HOG equal
to scikit-image): speed goals live in benchmarks/RESULTS.md, never in tests.
"""
import importlib.util
import os
import re
import subprocess
import sys

import pytest
from support import REPO

RUN = REPO / "benchmarks" / "run.py"

LAYER_ROWS = [
    "conv2d forward, LeNet C1 1->6, 5x5, 32x32",
    "conv2d backward, LeNet C1 1->6, 5x5, 32x32",
    "conv2d forward, LeNet C3 6->16, 5x5, 14x14",
    "conv2d backward, LeNet C3 6->16, 5x5, 14x14",
    "conv2d forward, 3x3 pad 1, 16->32, 14x14",
    "conv2d backward, 3x3 pad 1, 16->32, 14x14",
    "max-pool 2x2 forward, 64x6x28x28",
    "max-pool 2x2 backward, 64x6x28x28",
    "max-pool 2x2 forward, 64x16x10x10",
    "max-pool 2x2 backward, 64x16x10x10",
    "max-pool 2x2 forward, 64x32x14x14",
    "max-pool 2x2 backward, 64x32x14x14",
    "LeNet-5 training step (forward, loss, backward, SGD), batch 64",
]


def _run_suite(tmp_path, block_torch, env=()):
    """``run.py --quick`` in a child process; returns (stdout, report text)."""
    out = tmp_path / "RESULTS.md"
    args = [str(RUN), "--quick", "--repeats", "3", "--out", str(out)]
    if block_torch:
        # As on a machine without the `bench` extra: `import torch` fails.
        code = ("import runpy, sys; sys.modules['torch'] = None; "
                f"sys.argv = {args!r}; runpy.run_path({str(RUN)!r}, run_name='__main__')")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **dict(env)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert out.exists()
    return proc.stdout, out.read_text()


def _table_row(report, name):
    """The cells of the report's table row that starts with ``name``."""
    for line in report.splitlines():
        if line.startswith(f"| {name} |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise AssertionError(f"no row {name!r} in the report:\n{report}")


def _check_common(report):
    assert report.startswith("# cnnlib benchmark results")
    for field in ("CPU:", "logical cores:", "NumPy:", "BLAS:", "BLAS kernel:", "PyTorch:", "repeats per timing: 3"):
        assert f"- {field}" in report
    assert "--quick" in report             # a shortened run says so
    for name in LAYER_ROWS:
        cells = _table_row(report, name)
        assert re.fullmatch(r"\d+\.\d\d ms", cells[1]), cells      # cnnlib CPU time
        assert re.fullmatch(r"\d+\.\d\d ms", cells[4]), cells      # cnnlib wall time
    for name in ("conv2d forward, LeNet C1 1->6, 5x5, 32x32", "conv2d forward, 3x3 pad 1, 16->32, 14x14"):
        assert _table_row(report, name)[-1] == "<= 1.5"
    assert _table_row(report, LAYER_ROWS[-1])[-1] == "<= 2.0"
    # C1 and C3 run on the slabs, whose result is batch last in memory: a second
    # row, without a goal, times it copied to NCHW memory (PyTorch's layout)
    for name in ("LeNet C1 1->6, 5x5, 32x32", "LeNet C3 6->16, 5x5, 14x14"):
        cells = _table_row(report, f"conv2d forward, {name}, result copied to NCHW memory")
        assert re.fullmatch(r"\d+\.\d\d ms", cells[1]) and cells[-1] == "", cells
    assert "3x3 pad 1, 16->32, 14x14, result copied" not in report     # NCHW already
    hog = _table_row(report, "HOG of 5,000 28x28 MNIST digits (skimage defaults)")
    if importlib.util.find_spec("skimage") is not None:
        assert float(hog[5]) <= 1e-6                                # equal to scikit-image
        assert re.fullmatch(r"\d+\.\dx", hog[3]), hog
    # both training runs are reported; cnnlib's digits run ran (it needs only the bundled data)
    assert "### LeNet-5 from scratch on the 5,000 MNIST digits" in report
    assert "### LeNet-5, one epoch of Fashion-MNIST (60,000 images)" in report
    digits = report.split("### LeNet-5 from scratch")[1].split("### LeNet-5, one epoch")[0]
    assert re.search(r"\| test accuracy \| \d+\.\d\d% \|", digits), digits
    assert re.search(r"\| peak memory \(RSS of the process\) \| \d+ MiB", digits), digits


@pytest.mark.slow
def test_bench_suite_without_pytorch_says_not_installed(tmp_path):
    # A machine that forces OpenBLAS's kernels: the suite clears them and says so.
    stdout, report = _run_suite(tmp_path, block_torch=True,
                                env={"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"})
    _check_common(report)
    kernel = next(line for line in report.splitlines() if line.startswith("- BLAS kernel:"))
    assert "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE=512 cleared for this run" in kernel, kernel
    assert "- PyTorch: not installed" in report
    assert "cnnlib alone: PyTorch is not installed" in report and "alternating" not in report
    for name in LAYER_ROWS:
        cells = _table_row(report, name)
        assert cells[2] == cells[5] == "not installed"             # PyTorch CPU and wall
        assert cells[3] == cells[6] == ""                           # no ratio without a reference
    digits = report.split("### LeNet-5 from scratch")[1].split("### LeNet-5, one epoch")[0]
    assert _table_row(digits, "test accuracy")[2] == "not installed"
    assert "wrote" in stdout


@pytest.mark.slow
def test_bench_suite_with_pytorch_reports_ratios(tmp_path):
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed (the optional `bench` extra)")
    _, report = _run_suite(tmp_path, block_torch=False)
    _check_common(report)
    assert "cnnlib and the reference alternating in one process" in report
    for name in LAYER_ROWS:
        cells = _table_row(report, name)
        assert re.fullmatch(r"\d+\.\d\d ms", cells[2]), cells
        assert float(cells[3]) > 0
    digits = report.split("### LeNet-5 from scratch")[1].split("### LeNet-5, one epoch")[0]
    assert re.fullmatch(r"\d+\.\d\d%", _table_row(digits, "test accuracy")[2])


def test_blas_kernel_line_says_whether_the_environment_forced_it(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    assert run._blas_kernel_text("Haswell", {}) == \
        "Haswell (forced by OPENBLAS_CORETYPE=Zen, kept with --keep-openblas-env)"
    assert run._clear_openblas_overrides() == {"OPENBLAS_CORETYPE": "Zen"}
    assert "OPENBLAS_CORETYPE" not in os.environ
    assert run._blas_kernel_text("SkylakeX", {"OPENBLAS_CORETYPE": "Zen"}) == (
        "SkylakeX (OpenBLAS's own choice; the environment's OPENBLAS_CORETYPE=Zen cleared for this run)")
    assert run._blas_kernel_text(None, {}).startswith("unknown")
