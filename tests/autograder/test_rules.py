"""Exercise rules: declared for every written function, checked from the source, enforced by the overlay.

The overlay (autograder/rules.py) is tried in a subprocess that sees it the way the student's
kernel does: with bubblewrap, each [source, target] pair bind-mounted over the real path (the
sandbox's AUTOGRADER_EXTRA_BINDS mechanism); without bubblewrap, the cnnlib copy first on
PYTHONPATH (third-party stubs then need the mounts and are skipped).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import REPO as ROOT

from autograder import rules
from cnnlib.checks import CheckFailure, check_rule, rule_violations

ASSIGNMENTS = ("conv_backprop", "hog_features", "parameter_counting", "lenet_training")

#: Answer cells without a rule, and why: they hold numbers, not functions.
EXEMPT = {
    "hog_features": {
        "DALAL_TRIGGS_LENGTH": "a number (the length of a HOG vector)",
        "MNIST_HOG_LENGTH": "a number (the length of a HOG vector)",
    },
    "parameter_counting": {
        name: "a number or shape, worked out by hand" for name in (
            "S2_C3_WEIGHTS", "LENET5_MODERN_PARAMS", "FC_200_PARAMS", "CONV_100_PARAMS", "LOGREG_MNIST_PARAMS",
            "ALEXNET_CONV1_SHAPE", "ALEXNET_CONV1_PARAMS", "ALEXNET_POOL1_SHAPE", "ALEXNET_FC6_PARAMS")
    },
}

#: Library functions an answer may use while grading (they must keep working under the union of rules).
ALLOWED = {
    "conv_backprop": ["cnnlib.conv.correlate2d", "cnnlib.conv.convolve2d", "cnnlib.gradcheck.rel_error",
                      "cnnlib.conv.conv_output_size", "cnnlib.nn.Linear", "cnnlib.nn.ReLU"],
    "hog_features": ["cnnlib.data.load_mnist", "cnnlib.conv.correlate2d"],
    "parameter_counting": ["cnnlib.checks.check_equal", "cnnlib.activations.relu"],
    "lenet_training": ["cnnlib.nn.Conv2d", "cnnlib.nn.MaxPool2d", "cnnlib.nn.Sequential", "cnnlib.train.evaluate",
                       "cnnlib.optim.Adam", "cnnlib.losses.softmax_cross_entropy"],
}


def _notebook(assignment):
    return json.loads((ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())


def _grade_id(cell):
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _defines_function(source):
    tree = ast.parse("\n".join("pass" if line.lstrip().startswith("%") else line for line in source.split("\n")))
    return any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in tree.body)


# --- check_rule on hand-written sources ---------------------------------------------------------

FORBID = ["cnnlib.conv.conv2d_forward", "cnnlib.hog", "scipy.signal", "torch", "skimage.feature.hog"]


@pytest.mark.parametrize("source, found", [
    ("from cnnlib.conv import conv2d_forward\ndef f(x):\n    return conv2d_forward(x)\n",
     "cnnlib.conv.conv2d_forward"),
    ("import cnnlib.conv\ndef f(x):\n    return cnnlib.conv.conv2d_forward(x)\n", "cnnlib.conv.conv2d_forward"),
    ("import cnnlib.conv as C\ndef f(x):\n    return C.conv2d_forward(x)\n", "cnnlib.conv.conv2d_forward"),
    ("from cnnlib import functional as F\ndef f(x):\n    return F.conv2d_forward(x)\n",
     "cnnlib.functional.conv2d_forward"),
    ("import cnnlib\ndef f(x):\n    return cnnlib.functional.conv2d_forward(x)\n",
     "cnnlib.functional.conv2d_forward"),
    ("def f(x):\n    return __import__('cnnlib.conv')\n", "cnnlib.conv"),
    ("def f(x):\n    import importlib\n    return importlib.import_module('cnnlib.' + 'conv')\n", "cnnlib.conv"),
    ("import cnnlib.conv as C\ndef f(x):\n    return getattr(C, 'conv2d_' + 'forward')(x)\n",
     "cnnlib.conv.conv2d_forward"),
    ("from cnnlib.conv import *\n", "cnnlib.conv.*"),
    ("from cnnlib import hog\ndef f(i):\n    return hog.image_gradients(i)\n", "cnnlib.hog"),
    ("from cnnlib.hog import _gradients\n", "cnnlib.hog._gradients"),
    ("def f(x):\n    from scipy import signal\n    return signal.correlate(x, x)\n", "scipy.signal"),
    ("import torch.nn.functional as TF\n", "torch.nn.functional"),
    ("from skimage.feature import hog\n", "skimage.feature.hog"),
])
def test_check_rule_finds_what_the_rule_forbids(source, found):
    assert found in [name for _, name in rule_violations(source, FORBID)]

    def function():
        pass

    function.__answer_source__ = source
    with pytest.raises(CheckFailure) as failure:
        check_rule(function, FORBID, "write it yourself")
    message = str(failure.value)
    assert "breaks the rule of this exercise: write it yourself" in message and found in message


@pytest.mark.parametrize("source", [
    "import numpy as np\ndef f(x):\n    return np.pad(x, 1)\n",
    "from cnnlib.conv import correlate2d, convolve2d\ndef f(x, w):\n    return correlate2d(x, w), convolve2d(x, w)\n",
    "import cnnlib.conv\ndef f(x, w):\n    return cnnlib.conv.correlate2d(x, w)\n",
    "def f(hog):\n    conv2d_forward = 1\n    return hog + conv2d_forward  # not imported: the student's own names\n",
    "from cnnlib.gradcheck import rel_error\n",
])
def test_check_rule_passes_allowed_sources(source, capsys):
    def function():
        pass

    function.__answer_source__ = source
    check_rule(function, FORBID, "write it yourself")
    assert capsys.readouterr().out.startswith("ok: function uses nothing its rule forbids")


def test_check_rule_reads_the_source_without_the_grader():
    from cnnlib.conv import conv2d_forward

    def shortcut(x, w, b):
        return conv2d_forward(x, w, b)

    with pytest.raises(CheckFailure, match="cnnlib.conv.conv2d_forward"):
        check_rule(shortcut, ["cnnlib.conv.conv2d_forward"], "write the loops yourself")


def test_check_rule_without_source_says_grading_checks_it(capsys):
    check_rule(len, FORBID, "write it yourself")
    assert "source not available" in capsys.readouterr().out


# --- every written function declares a rule, and its test cell checks that rule -------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_function_answer_has_a_rule_checked_at_the_top_of_its_tests(assignment):
    cells = _notebook(assignment)["cells"]
    declared = rules.notebook_rules(_notebook(assignment))
    exempt = EXEMPT.get(assignment, {})
    for index, cell in enumerate(cells):
        meta = cell["metadata"].get("nbgrader", {})
        if not (meta.get("solution") and not meta.get("grade") and cell["cell_type"] == "code"):
            continue
        name = meta["grade_id"]
        if name in exempt:
            assert name not in declared and not _defines_function(_source(cell)), name
            continue
        assert _defines_function(_source(cell)), f"{name}: an answer without a function needs an exemption"
        assert name in declared, f"{assignment}: answer {name} declares no rule"
        rule = declared[name]
        assert rule.forbid and rule.rule
        test = cells[index + 1]
        assert _grade_id(test) == f"test_{name}"
        calls = [node for node in ast.walk(ast.parse(_source(test)))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_rule"]
        assert len(calls) == 1, f"test_{name} calls check_rule {len(calls)} times"
        call = calls[0]
        assert call.args[0].id == name
        assert ast.literal_eval(call.args[1]) == list(rule.forbid)
        assert ast.literal_eval(call.args[2]) == rule.rule
        # at the top: only imports and the check that the function exists come before it
        tree = ast.parse(_source(test))
        before = [node for node in tree.body if node.lineno < call.lineno]
        assert all(isinstance(node, (ast.Import, ast.ImportFrom)) or "callable(globals().get(" in
                   ast.get_source_segment(_source(test), node) for node in before), name
    assert set(exempt) <= {_grade_id(c) for c in cells}


# --- the overlay enforces the union of an assignment's rules -------------------------------------------

def _bwrap_ok():
    from autograder import sandbox

    return sandbox.bwrap_works()


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def overlay(request, tmp_path_factory):
    assignment = request.param
    binds_file = rules.prepare(ROOT / "assignments" / assignment, tmp_path_factory.mktemp(f"overlay-{assignment}"))
    assert binds_file is not None
    return assignment, json.loads(binds_file.read_text())


def _run(binds, script, cwd, env_extra=None):
    """Run ``script`` with python, seeing the overlay as the student's kernel does."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", **(env_extra or {}))
    command = [sys.executable, "-c", script]
    if _bwrap_ok():
        args = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--bind", str(cwd), str(cwd), "--unshare-all", "--die-with-parent"]
        for source, target in binds:
            args += ["--ro-bind", source, target]
        command = args + ["--chdir", str(cwd), "--"] + command
    else:
        cnnlib_copy = next(source for source, target in binds if Path(target).name == "cnnlib")
        env["PYTHONPATH"] = str(Path(cnnlib_copy).parent)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


PROBE = r'''
import importlib, inspect, json, sys, ast
from pathlib import Path

results = []

def attempt(label, thunk, expect_blocked, message):
    try:
        thunk()
        outcome = "ran"
    except Exception as error:  # noqa: BLE001
        outcome = f"{type(error).__name__}: {error}"
    # a module this machine does not have at all (torch without the bench extra) is blocked too
    blocked = outcome != "ran" and (message in outcome or outcome.startswith("ModuleNotFoundError: No module named"))
    missing = isinstance(outcome, str) and outcome.startswith("ModuleNotFoundError") and not expect_blocked
    results.append({"label": label, "outcome": outcome, "ok": blocked if expect_blocked else outcome == "ran",
                    "expect_blocked": expect_blocked})

def names_in(module_name):
    """Top-level functions and classes of a cnnlib module, from the repository's real source."""
    real = Path(REAL_CNNLIB) / Path(*module_name.split(".")[1:])
    paths = sorted(real.rglob("*.py")) if real.is_dir() else [real.with_suffix(".py")]
    found = []
    for path in paths:
        parts = list(path.relative_to(REAL_CNNLIB).with_suffix("").parts)
        module = ".".join(["cnnlib", *[p for p in parts if p != "__init__"]])
        tree = ast.parse(path.read_text())
        found += [(module, node.name) for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return found

for name, message in FORBIDDEN.items():
    if name.startswith("cnnlib"):
        real = Path(REAL_CNNLIB) / Path(*name.split(".")[1:])
        is_module = real.is_dir() or real.with_suffix(".py").exists()
        targets = names_in(name) if is_module else [tuple(name.rsplit(".", 1))]
        for module, attr in targets:
            def plain(module=module, attr=attr):
                getattr(importlib.import_module(module), attr)()
            def dunder(module=module, attr=attr):
                getattr(__import__(module, fromlist=[attr]), attr)()
            def by_exec(module=module, attr=attr):
                namespace = {"__name__": module, "__package__": module.rpartition(".")[0]}
                exec(compile(open(importlib.import_module(module).__file__).read(), "x", "exec"), namespace)
                namespace[attr]()
            for label, thunk in (("plain", plain), ("__import__", dunder), ("exec", by_exec)):
                attempt(f"{module}.{attr} {label}", thunk, True, message)
        if name == "cnnlib.conv.conv2d_forward":
            attempt("F.conv2d_forward", lambda: importlib.import_module("cnnlib.functional").conv2d_forward(), True,
                    message)
    else:
        module = name if name != "skimage.feature.hog" else "skimage.feature"
        def third(module=module, name=name):
            imported = importlib.import_module(module)
            if name == "skimage.feature.hog":
                imported.hog
        def third_dunder(module=module, name=name):
            if name == "skimage.feature.hog":
                __import__("skimage.feature", fromlist=["hog"]).hog
                __import__("skimage.feature._hog")
            __import__(module)
        attempt(f"{name} import_module", third, True, message)
        attempt(f"{name} __import__", third_dunder, True, message)
        if name == "skimage.feature.hog":  # the compiled helper that computes its histograms
            attempt("skimage.feature._hoghistogram", lambda: importlib.import_module("skimage.feature._hoghistogram"),
                    True, message)

for name in ALLOWED:
    module, attr = name.rsplit(".", 1)
    attempt(f"{name} import", lambda module=module, attr=attr: getattr(importlib.import_module(module), attr),
            False, "")
print(json.dumps(results))
'''


def test_overlay_blocks_every_forbidden_name_and_keeps_the_allowed_ones(overlay, tmp_path):
    assignment, binds = overlay
    union = rules.forbidden_union(rules.notebook_rules(_notebook(assignment)))
    forbidden = {name: found[0].rule for name, found in union.items()}
    if not _bwrap_ok():
        forbidden = {name: rule for name, rule in forbidden.items() if name.startswith("cnnlib")}
    script = (f"FORBIDDEN = {forbidden!r}\nALLOWED = {ALLOWED[assignment]!r}\n"
              f"REAL_CNNLIB = {str(ROOT / 'cnnlib')!r}\n" + PROBE)
    if _bwrap_ok():  # the real sources are hidden under the overlay: read them from a copy
        real = tmp_path / "real-cnnlib"
        shutil.copytree(ROOT / "cnnlib", real, ignore=shutil.ignore_patterns("__pycache__"))
        script = script.replace(repr(str(ROOT / "cnnlib")), repr(str(real)))
    done = _run(binds, script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    failures = [r for r in results if not r["ok"]]
    assert not failures, json.dumps(failures[:10], indent=1)
    assert sum(r["expect_blocked"] for r in results) >= len(forbidden)


def test_overlay_keeps_the_notebooks_own_cells_working(overlay, tmp_path):
    """Every cell that runs in the student's kernel (all but the tests), with the solutions, under grading."""
    assignment, binds = overlay
    cells = _notebook(assignment)["cells"]
    code = []
    for cell in cells:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or meta.get("grade"):
            continue
        source = "\n".join(line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith("%") else line
                           for line in _source(cell).split("\n"))
        code.append(source)
    script = "\n\n".join(code) + "\nprint('ALL CELLS RAN')\n"
    done = _run(binds, script, tmp_path, {"NBGRADER_EXECUTION": "autograde"})
    assert "ALL CELLS RAN" in done.stdout, (done.stdout[-2000:], done.stderr[-3000:])


def test_overlay_stubs_in_the_source_and_precompiled(overlay):
    assignment, binds = overlay
    copies = [Path(source) for source, target in binds if Path(target).name == "cnnlib"]
    assert copies
    copy = copies[0]
    assert list((copy / "__pycache__").glob("*.pyc"))
    plan = rules.plan_stubs(ROOT / "cnnlib", rules.forbidden_union(rules.notebook_rules(_notebook(assignment))))
    for module, (path, names) in plan.items():
        rewritten = copy / path.relative_to(ROOT / "cnnlib")
        tree = ast.parse(rewritten.read_text())
        for node in tree.body:
            if getattr(node, "name", None) in names:
                assert "_ForbiddenByRule" in ast.get_source_segment(rewritten.read_text(), node)
        untouched = [node.name for node in ast.parse(path.read_text()).body
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in names]
        original = path.read_text()
        for name in untouched:  # everything else is the same code
            old = next(n for n in ast.parse(original).body if getattr(n, "name", None) == name)
            new = next(n for n in tree.body if getattr(n, "name", None) == name)
            assert ast.dump(old) == ast.dump(new), f"{module}.{name} changed"


def test_rule_messages_name_the_rule():
    rule = rules.Rule("conv_forward_naive", ("cnnlib.conv.conv2d_forward",), "write the loops yourself")
    assert rule.message("cnnlib.conv.conv2d_forward") == (
        "conv_forward_naive's rule: write the loops yourself; cnnlib.conv.conv2d_forward is not available "
        "while grading")


def test_unknown_forbidden_names_are_refused(tmp_path):
    rule = rules.Rule("f", ("cnnlib.conv.no_such_function",), "r")
    with pytest.raises(ValueError, match="no_such_function"):
        rules.build_overlay([rule], tmp_path / "overlay")


def test_prepare_reuses_the_overlay(tmp_path):
    first = rules.prepare(ROOT / "assignments" / "lenet_training", tmp_path)
    second = rules.prepare(ROOT / "assignments" / "lenet_training", tmp_path)
    assert first == second and first.exists()
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("rules-")]) == 1
    for source, target in json.loads(first.read_text()):
        assert Path(source).exists() and Path(target).exists()


def test_answer_source_wins_over_inspect(capsys):
    def honest(x):
        return x

    honest.__answer_source__ = textwrap.dedent("""
        import torch
        def honest(x):
            return torch.tensor(x)
    """)
    with pytest.raises(CheckFailure, match="torch"):
        check_rule(honest, ["torch"], "no torch")


def test_overlay_through_the_real_sandbox(tmp_path):
    """The grader's own bubblewrap command line, with AUTOGRADER_EXTRA_BINDS naming prepare's file."""
    from autograder import sandbox

    if not hasattr(sandbox, "extra_binds") or not _bwrap_ok():
        pytest.skip("needs bubblewrap and the sandbox's AUTOGRADER_EXTRA_BINDS")
    binds_file = rules.prepare(ROOT / "assignments" / "conv_backprop", tmp_path / "grading-run")
    workdir = tmp_path / "student"
    workdir.mkdir()
    os.chmod(workdir, 0o777)
    connection = tmp_path / "connection" / "kernel.json"
    connection.parent.mkdir()
    connection.write_text(json.dumps({"transport": "ipc"}))
    script = textwrap.dedent("""
        import importlib, numpy as np
        from cnnlib.conv import correlate2d
        print("correlate2d", correlate2d(np.ones((3, 3)), np.ones((2, 2))).sum())
        for route in (lambda: importlib.import_module("cnnlib." + "conv").conv2d_forward(1),
                      lambda: __import__("cnnlib.functional", fromlist=["x"]).maxpool2d_forward(1),
                      lambda: __import__("scipy.signal"),
                      lambda: __import__("torch")):
            try:
                route()
                print("RAN")
            except Exception as error:
                print(type(error).__name__, error)
    """)
    old = os.environ.get("AUTOGRADER_EXTRA_BINDS")
    os.environ["AUTOGRADER_EXTRA_BINDS"] = str(binds_file)
    try:
        command = sandbox.bwrap_command([sys.executable, "-c", script], workdir, connection)
    finally:
        if old is None:
            os.environ.pop("AUTOGRADER_EXTRA_BINDS")
        else:
            os.environ["AUTOGRADER_EXTRA_BINDS"] = old
    fds = [int(command[i + 1]) for i, arg in enumerate(command) if arg == "--file"]  # font lists
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, pass_fds=fds)
    for fd in fds:
        os.close(fd)
    assert "correlate2d 16.0" in done.stdout, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()[1:]
    assert len(lines) == 4 and "RAN" not in lines, done.stdout
    torch_missing = importlib.util.find_spec("torch") is None  # then its import fails on its own

    def blocked(line):
        return (line.startswith("ForbiddenByRule") and "conv_forward_naive's rule" in line) or \
            (torch_missing and line == "ModuleNotFoundError No module named 'torch'")
    assert all(blocked(line) for line in lines), lines
