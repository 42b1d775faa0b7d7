"""cnnlib next to PyTorch and scikit-image: speed and accuracy, written to benchmarks/RESULTS.md.

    python benchmarks/run.py [--threads 1] [--repeats 21] [--quick] [--out benchmarks/RESULTS.md]
                             [--keep-openblas-env] [--only layers|hog|training ...]

Every timing is the median of ``--repeats`` runs after warm-up; the two
libraries run alternately in the same process, so a change in the machine's
load hits both. Training runs (5,000 MNIST digits, one Fashion-MNIST epoch)
run once per library, each in its own child process, which also reports its
peak memory (RSS). Nothing is asserted: the ratios are for people to read.
PyTorch is optional (``pip install -e '.[bench]'``); without it the reference
columns say "not installed".
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_INSTALLED = "not installed"
PARTS = ("layers", "hog", "training")

# Shapes of the layer rows: LeNet-5's two convolutions and a 3x3 "same" layer, batch 64.
CONV_LAYERS = [
    # name, x shape (N, C, H, W), w shape (F, C, KH, KW), pad
    ("LeNet C1 1->6, 5x5, 32x32", (64, 1, 32, 32), (6, 1, 5, 5), 0),
    ("LeNet C3 6->16, 5x5, 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 0),
    ("3x3 pad 1, 16->32, 14x14", (64, 16, 14, 14), (32, 16, 3, 3), 1),
]


def _set_threads(threads):
    """Pin the BLAS / OpenMP thread pools; must run before NumPy or PyTorch is imported."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


# Variables that make OpenBLAS use another CPU's kernels than the one it detects.
# Some machines set them for good (older OpenBLAS builds crashed or computed wrong
# results on new processors); with a current NumPy they only slow it down, so the
# suite measures what a user's NumPy does unless --keep-openblas-env is given.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _clear_openblas_overrides():
    """Remove :data:`OPENBLAS_OVERRIDES` from the environment (before NumPy is
    imported); returns what was removed, ``{name: value}``."""
    return {name: os.environ.pop(name) for name in OPENBLAS_OVERRIDES if name in os.environ}


def _openblas_kernel(np):
    """The kernel family NumPy's OpenBLAS runs on this CPU (threadpoolctl), or None."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    numpy_dir = str(Path(np.__file__).resolve().parent.parent)
    found = [lib for lib in threadpoolctl.threadpool_info() if lib.get("internal_api") == "openblas"]
    found.sort(key=lambda lib: not str(Path(lib.get("filepath", "")).resolve()).startswith(numpy_dir))
    return found[0].get("architecture") if found else None


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return torch


# ----------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------

def _once(fn, loops):
    """(CPU seconds, wall seconds) per call, over ``loops`` calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.process_time() - cpu) / loops, (time.perf_counter() - wall) / loops


def compare(ours, theirs, repeats, warmup=3, min_seconds=0.005):
    """Median seconds per call of ``ours`` and of ``theirs`` (None if ``theirs`` is None).

    Both are warmed up, then timed alternately ``repeats`` times; a sample
    runs a call several times when one call is shorter than ``min_seconds``.
    Returns ``{"cpu": (ours, theirs), "wall": (ours, theirs)}``: the process's
    CPU time (one thread each, so it does not count time spent waiting for a
    core on a busy machine) and the wall-clock time.
    """
    import numpy as np

    fns = [f for f in (ours, theirs) if f is not None]
    loops = []
    for fn in fns:
        for _ in range(warmup):
            fn()
        loops.append(max(1, int(min_seconds / max(_once(fn, 1)[1], 1e-7))))
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            samples[k].append(_once(fn, loops[k]))
    result = {}
    for clock, column in (("cpu", 0), ("wall", 1)):
        medians = [float(np.median([s[column] for s in fn_samples])) for fn_samples in samples]
        result[clock] = (medians[0], medians[1] if theirs is not None else None)
    return result


# ----------------------------------------------------------------------------
# Layer rows
# ----------------------------------------------------------------------------

def conv_rows(torch, repeats):
    import numpy as np

    from cnnlib import conv

    rows = []
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, pad in CONV_LAYERS:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        b = rng.standard_normal(w_shape[0]).astype(np.float32)
        out, cache = conv.conv2d_forward(x, w, b, 1, pad)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        ours_f = lambda: conv.conv2d_forward(x, w, b, 1, pad)          # noqa: E731
        ours_b = lambda: conv.conv2d_backward(dout, cache)              # noqa: E731
        theirs_f = theirs_b = None
        if torch is not None:
            xt, wt, bt, dt = (torch.from_numpy(a) for a in (x, w, b, dout))

            def theirs_f():
                with torch.no_grad():
                    return torch.nn.functional.conv2d(xt, wt, bt, padding=pad)

            def theirs_b():   # dx, dw, db: what cnnlib's backward returns
                return torch.ops.aten.convolution_backward(
                    dt, xt, wt, [w_shape[0]], [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [True, True, True])

            _check_close(out, theirs_f().numpy(), f"conv2d forward {name}")
        rows.append((f"conv2d forward, {name}", compare(ours_f, theirs_f, repeats), "<= 1.5"))
        if not out.flags.c_contiguous:
            # cnnlib's result is batch last in memory (the slabs' products); PyTorch's
            # is NCHW. The price of NCHW memory, for comparison, without a goal:
            ours_c = lambda: np.ascontiguousarray(conv.conv2d_forward(x, w, b, 1, pad)[0])  # noqa: E731
            rows.append((f"conv2d forward, {name}, result copied to NCHW memory",
                         compare(ours_c, theirs_f, repeats), ""))
        rows.append((f"conv2d backward, {name}", compare(ours_b, theirs_b, repeats), ""))
    return rows


def pool_rows(torch, repeats):
    """Max-pool 2x2 on the outputs of the three convolution rows."""
    import numpy as np

    from cnnlib import conv, pool

    rows = []
    rng = np.random.default_rng(1)
    for name, x_shape, w_shape, pad in CONV_LAYERS:
        n, _, h, w = x_shape
        f, _, kh, kw = w_shape
        x = rng.standard_normal((n, f, conv.conv_output_size(h, kh, 1, pad),
                                 conv.conv_output_size(w, kw, 1, pad))).astype(np.float32)
        out, cache = pool.maxpool2d_forward(x, 2)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        ours_f = lambda: pool.maxpool2d_forward(x, 2)                  # noqa: E731
        ours_b = lambda: pool.maxpool2d_backward(dout, cache)          # noqa: E731
        theirs_f = theirs_b = None
        if torch is not None:
            xt, dt = torch.from_numpy(x), torch.from_numpy(dout)
            with torch.no_grad():
                _, indices = torch.nn.functional.max_pool2d(xt, 2, return_indices=True)

            def theirs_f():
                with torch.no_grad():
                    return torch.nn.functional.max_pool2d(xt, 2)

            def theirs_b():
                return torch.ops.aten.max_pool2d_with_indices_backward(
                    dt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, indices)

            _check_close(out, theirs_f().numpy(), f"max-pool {name}")
        shape = "x".join(map(str, x.shape))
        rows.append((f"max-pool 2x2 forward, {shape}", compare(ours_f, theirs_f, repeats), ""))
        rows.append((f"max-pool 2x2 backward, {shape}", compare(ours_b, theirs_b, repeats), ""))
    return rows


def torch_lenet5(torch, model):
    """PyTorch's LeNet-5 ("modern" variant) holding a copy of ``model``'s weights."""
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), net.parameters()):
            theirs.copy_(torch.from_numpy(ours.data))
    return net


def step_rows(torch, repeats):
    import numpy as np

    from cnnlib.models import lenet5
    from cnnlib.optim import SGD
    from cnnlib.train import train_step

    rng = np.random.default_rng(2)
    x = rng.random((64, 1, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    model = lenet5(seed=0, dtype=np.float32)
    optimizer = SGD(model.parameters(), lr=0.01)
    ours = lambda: train_step(model, optimizer, x, y)                  # noqa: E731
    theirs = None
    if torch is not None:
        net = torch_lenet5(torch, model)
        t_optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def theirs():
            t_optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt), yt)
            loss.backward()
            t_optimizer.step()
            return loss

    return [("LeNet-5 training step (forward, loss, backward, SGD), batch 64",
             compare(ours, theirs, repeats), "<= 2.0")]


def _check_close(ours, theirs, what):
    import numpy as np

    err = float(np.max(np.abs(ours - theirs)))
    if not err < 1e-3:
        raise RuntimeError(f"{what}: cnnlib and PyTorch disagree (max abs difference {err:.3g})")


# ----------------------------------------------------------------------------
# HOG
# ----------------------------------------------------------------------------

def hog_row(repeats):
    import numpy as np

    from cnnlib.data import load_mnist
    from cnnlib.hog import hog

    images = load_mnist("train-5k")[0].astype(np.float64) / 255.0
    try:
        from skimage.feature import hog as sk_hog
    except ImportError:
        timing = compare(lambda: hog(images), None, max(3, repeats // 5), warmup=1)
        return {"images": len(images), "timing": timing, "diff": None}
    sk_loop = lambda: np.stack([sk_hog(image) for image in images])   # noqa: E731
    diff = float(np.max(np.abs(hog(images) - sk_loop())))
    timing = compare(lambda: hog(images), sk_loop, max(3, repeats // 5), warmup=1)
    return {"images": len(images), "timing": timing, "diff": diff}


# ----------------------------------------------------------------------------
# Training runs, each in a child process (clean peak RSS, no cross-talk)
# ----------------------------------------------------------------------------

def _peak_rss_mib():
    """Peak resident memory of this process in MiB, or None where unknown.

    Linux's VmHWM belongs to the program image started by exec; ``ru_maxrss``
    would also count the parent's memory at fork time (the benchmark process,
    with PyTorch loaded), so it is only the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024          # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:       # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)     # bytes on macOS, KiB on Linux


def _current_rss_mib():
    """Resident memory now (Linux), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _evaluate_torch(torch, net, X, y):
    net.eval()
    with torch.no_grad():
        scores = torch.cat([net(torch.from_numpy(X[i:i + 256])) for i in range(0, len(X), 256)])
    return float((scores.argmax(1).numpy() == y).mean())


def worker(task, library, quick):
    """Run one training task with one library; print a JSON line with the results."""
    import numpy as np

    from cnnlib.demo import RECIPE, learning_rate, load_digits, recipe_batches, train_lenet5
    from cnnlib.models import lenet5
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, train_step

    torch = _torch() if library == "torch" else None     # imported before the clock starts
    if task == "digits":
        (X, y), _, (X_test, y_test), test_name = load_digits(seed=0)
        test_name = ("official MNIST test set (10,000 digits)" if len(y_test) == 10_000
                     else f"{len(y_test):,} held-out digits (official test set not found)")
        recipe = dict(RECIPE)
    else:
        from cnnlib.data import load_fashion_mnist, to_nchw

        images, labels = load_fashion_mnist("train", download=False)
        test_images, y_test = load_fashion_mnist("test", download=False)
        X, y, X_test = to_nchw(images, pad_to=32), labels, to_nchw(test_images, pad_to=32)
        test_name = f"Fashion-MNIST test set ({len(y_test):,} images)"
        recipe = {"epochs": 1, "batch_size": 64, "lr": 1e-3, "max_shift": 0}
    if quick:
        X, y, recipe["epochs"] = X[:640], y[:640], 1
    model = lenet5(seed=0, dtype=np.float32)
    rss_before = _current_rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    if library == "cnnlib":
        if task == "digits":
            train_lenet5(model, X, y, recipe["epochs"], recipe["batch_size"], recipe["lr"],
                         recipe["max_shift"], seed=0, log=None)
        else:
            optimizer = Adam(model.parameters(), lr=recipe["lr"])
            for _, xb, yb in recipe_batches(X, y, 1, recipe["batch_size"], 0, seed=0):
                train_step(model, optimizer, xb, yb)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        accuracy = evaluate(model, X_test, y_test)[1]
    else:
        net = torch_lenet5(torch, model)       # the same initial weights as cnnlib's model
        optimizer = torch.optim.Adam(net.parameters(), lr=recipe["lr"])
        net.train()
        for epoch, xb, yb in recipe_batches(X, y, recipe["epochs"], recipe["batch_size"],
                                            recipe["max_shift"], seed=0):
            if recipe["epochs"] > 1:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(epoch, recipe["epochs"], recipe["lr"])
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
            loss.backward()
            optimizer.step()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        accuracy = _evaluate_torch(torch, net, X_test, y_test)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "accuracy": accuracy, "test_set": test_name,
                      "train_size": len(y), "epochs": recipe["epochs"], "peak_rss_mib": _peak_rss_mib(),
                      "rss_before_mib": rss_before}))


def run_worker(task, library, threads, quick, keep_openblas_env):
    """Results of :func:`worker` in a child process (``{"error": ...}`` if it failed)."""
    cmd = [sys.executable, __file__, "--worker", task, library, "--threads", str(threads)]
    cmd += ["--quick"] if quick else []
    cmd += ["--keep-openblas-env"] if keep_openblas_env else []
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  {task}/{library} did not run: {reason}", flush=True)
        return {"error": reason}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------
# Machine and report
# ----------------------------------------------------------------------------

def machine_info(torch, threads, cleared):
    import numpy as np

    cpu = platform.processor() or platform.machine()
    # The vector units decide how fast both libraries' matrix code can be
    # (PyTorch uses AVX-512 where the CPU has it), so they are part of the machine.
    details, simd = [], None
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        cpu = fields.get("model name", cpu)
        details = [f"{name} {fields[name]}" for name in ("cpu family", "model") if name in fields]
        flags = set(fields.get("flags", "").split())
        simd = ", ".join(name for name, flag in (("AVX-512", "avx512f"), ("AVX2", "avx2"), ("FMA", "fma"))
                         if flag in flags) or "none of AVX-512, AVX2, FMA"
    except OSError:
        pass
    if details:
        cpu += f" ({', '.join(details)})"
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{config.get('name', '?')} {config.get('version', '')}".strip()
    except Exception:   # older NumPy: no mode="dicts"
        pass
    info = {
        "CPU": cpu,
        "logical cores": os.cpu_count(),
        **({"vector instructions": simd} if simd else {}),
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "BLAS": blas,
        "BLAS kernel": _blas_kernel_text(_openblas_kernel(np), cleared),
        "PyTorch": torch.__version__ if torch is not None else NOT_INSTALLED,
        "threads": (f"{threads} (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS"
                    + (", torch.set_num_threads" if torch is not None else "") + ")"),
    }
    try:
        import skimage
        info["scikit-image"] = skimage.__version__
    except ImportError:
        info["scikit-image"] = NOT_INSTALLED
    return info


def _blas_kernel_text(kernel, cleared):
    text = kernel or "unknown (threadpoolctl not installed, or not OpenBLAS)"
    set_now = {name: os.environ[name] for name in OPENBLAS_OVERRIDES if name in os.environ}
    if cleared:
        settings = ", ".join(f"{k}={v}" for k, v in cleared.items())
        return f"{text} (OpenBLAS's own choice; the environment's {settings} cleared for this run)"
    if set_now:
        settings = ", ".join(f"{k}={v}" for k, v in set_now.items())
        return f"{text} (forced by {settings}, kept with --keep-openblas-env)"
    return f"{text} (OpenBLAS's own choice)"


def _ms(seconds):
    return NOT_INSTALLED if seconds is None else f"{seconds * 1e3:.2f} ms"


def _ratio(ours, theirs):
    return "" if theirs is None else f"{ours / theirs:.2f}"


def _training_cell(result, key):
    if result is None:
        return NOT_INSTALLED
    if "error" in result:
        return "did not run"
    if key in ("seconds", "cpu_seconds"):
        return f"{result[key]:.1f} s"
    if key == "accuracy":
        return f"{result['accuracy']:.2%}"
    rss, before = result.get("peak_rss_mib"), result.get("rss_before_mib")
    if rss is None:
        return "n/a"
    return f"{rss:.0f} MiB" + ("" if before is None else f" ({before:.0f} MiB before training)")


def report(info, load_before, load_after, layer_rows, hog, training, args, seconds):
    lines = ["# cnnlib benchmark results", "",
             "Written by `make bench` (`python benchmarks/run.py`); do not edit by hand.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    with_reference = any(timing["cpu"][1] is not None for _, timing, _ in layer_rows)
    how = ("cnnlib and the reference alternating in one process" if with_reference
           else "cnnlib alone: PyTorch is not installed")
    lines += [f"- load average (1, 5, 15 min) at start: {load_before}; at end: {load_after}",
              f"- repeats per timing: {args.repeats} (median after warm-up, {how}); training runs: one each",
              f"- whole run: {seconds / 60:.1f} min" + (" (--quick: shortened training runs)" if args.quick else "")
              + (f" (--only {' '.join(args.only)})" if args.only else "")]
    if layer_rows:
        lines += _layer_section(layer_rows)
    if hog is not None:
        lines += _hog_section(hog)
    if training is not None:
        lines += _training_section(training)
    return "\n".join(lines)


def _layer_section(layer_rows):
    lines = ["", "## Layers and one training step (float32, batch 64)", "",
              "Median time per call. Ratio = cnnlib / PyTorch (lower is better). CPU = the process's "
              "CPU time (both libraries run one thread, so this leaves out time spent waiting for a core "
              "on a busy machine); wall = wall-clock time.", "",
              "| benchmark | cnnlib CPU | PyTorch CPU | ratio (CPU) | cnnlib wall | PyTorch wall "
              "| ratio (wall) | goal (ratio) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, timing, goal in layer_rows:
        (cpu_ours, cpu_theirs), (wall_ours, wall_theirs) = timing["cpu"], timing["wall"]
        lines.append(f"| {name} | {_ms(cpu_ours)} | {_ms(cpu_theirs)} | {_ratio(cpu_ours, cpu_theirs)} "
                     f"| {_ms(wall_ours)} | {_ms(wall_theirs)} | {_ratio(wall_ours, wall_theirs)} | {goal} |")
    return lines


def _hog_section(hog):
    lines = ["", "## HOG features", "",
              "Median over repeated runs; speed-up = scikit-image time / cnnlib time (higher is better).", "",
              "| benchmark | cnnlib (stack) CPU | scikit-image (loop) CPU | speed-up (CPU) | speed-up (wall) "
              "| max abs difference | goal |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    (cpu_ours, cpu_theirs), (wall_ours, wall_theirs) = hog["timing"]["cpu"], hog["timing"]["wall"]
    speedup = lambda a, b: "" if b is None else f"{b / a:.1f}x"        # noqa: E731
    diff = NOT_INSTALLED if hog["diff"] is None else f"{hog['diff']:.1e}"
    theirs = NOT_INSTALLED if cpu_theirs is None else f"{cpu_theirs:.2f} s"
    lines.append(f"| HOG of {hog['images']:,} 28x28 MNIST digits (skimage defaults) | {cpu_ours:.3f} s "
                 f"| {theirs} | {speedup(cpu_ours, cpu_theirs)} | {speedup(wall_ours, wall_theirs)} | {diff} "
                 "| >= 5x, <= 1e-6 |")
    return lines


def _training_section(training):
    lines = ["", "## Training runs (one run per library, each in its own process)", ""]
    for task, title, goal in (
            ("digits", "LeNet-5 from scratch on the 5,000 MNIST digits", ">= 97.5% test accuracy"),
            ("fashion", "LeNet-5, one epoch of Fashion-MNIST (60,000 images)", "")):
        ours, theirs = training[task]
        described = next((r for r in (ours, theirs) if r and "error" not in r), None)
        lines.append(f"### {title}")
        lines.append("")
        if described:
            lines.append(f"{described['train_size']:,} training images, {described['epochs']} epoch(s), "
                         f"batch 64; accuracy on the {described['test_set']}.")
            lines.append("")
        lines += ["| | cnnlib | PyTorch | ratio |", "| --- | ---: | ---: | ---: |"]
        for key, label in (("seconds", "wall time"), ("cpu_seconds", "CPU time")):
            ratio = ""
            if ours and theirs and "error" not in ours and "error" not in theirs:
                ratio = f"{ours[key] / theirs[key]:.2f}"
            lines.append(f"| {label} | {_training_cell(ours, key)} | {_training_cell(theirs, key)} | {ratio} |")
        lines.append(f"| test accuracy | {_training_cell(ours, 'accuracy')} | {_training_cell(theirs, 'accuracy')} "
                     f"| {goal} |")
        lines.append(f"| peak memory (RSS of the process) | {_training_cell(ours, 'rss')} "
                     f"| {_training_cell(theirs, 'rss')} | |")
        lines.append("")
    lines += ["The 5,000-digit recipe (`cnnlib.demo.RECIPE`): 4,500 training digits (500 held out for "
              "validation), Adam, cosine learning-rate decay, random shifts of up to 2 pixels; both "
              "libraries start from the same initial weights and see the same batches.", ""]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for both libraries (default 1: stable on a shared machine)")
    parser.add_argument("--repeats", type=int, default=21, help="timed runs per layer benchmark")
    parser.add_argument("--quick", action="store_true", help="tiny training runs (a smoke test of the suite)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE if set (default: clear them, "
                             "so that OpenBLAS runs the kernels it picks for this CPU)")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="run only this part of the suite (repeatable; default: all of them)")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "LIBRARY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    cleared = {} if args.keep_openblas_env else _clear_openblas_overrides()
    sys.path.insert(0, str(ROOT))
    if args.worker:
        worker(*args.worker, args.quick)
        return 0

    started = time.perf_counter()
    torch = _torch()
    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    info = machine_info(torch, args.threads, cleared)
    print("machine:", info, flush=True)
    parts = set(args.only or PARTS)
    rows = []
    for part in (conv_rows, pool_rows, step_rows) if "layers" in parts else ():
        for row in part(torch, args.repeats):
            (ours, theirs) = row[1]["cpu"]
            print(f"  {row[0]}: CPU cnnlib {_ms(ours)}, PyTorch {_ms(theirs)}, ratio {_ratio(ours, theirs)}",
                  flush=True)
            rows.append(row)
    hog = hog_row(args.repeats) if "hog" in parts else None
    print(f"  HOG: {hog}", flush=True)
    training = {} if "training" in parts else None
    for task in ("digits", "fashion") if "training" in parts else ():
        run = lambda library: run_worker(task, library, args.threads, args.quick,   # noqa: E731
                                         args.keep_openblas_env)
        training[task] = (run("cnnlib"), run("torch") if torch is not None else None)
        print(f"  {task}: {training[task]}", flush=True)
    load_after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    text = report(info, load_before, load_after, rows, hog, training, args, time.perf_counter() - started)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
