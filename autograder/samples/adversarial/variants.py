"""Adversarial submissions of ``parameter_counting``: one per attack on the grader (see ../README.md).

``python -m autograder.samples build adversarial`` writes them with this
folder's ``manifest.json``; ``tests/test_adversarial.py`` grades them in one
batch together with honest submissions and checks the manifest exactly.

``expected`` is what the student honestly earned, not what the attack was
after. So that this is well defined, every attack sits in one answer cell:

- an attack that should end its cell (``os._exit``, ``sys.exit``, killing the
  grader) replaces that cell's answer: its question is lost whatever the
  grader does, and every other question keeps its points;
- an attack on a limit (sleep, output flood, memory) comes *before* the
  correct answer of its cell: a limit that holds stops the cell there, so
  the question is lost and its message names the limit; a grader without
  that limit gives the point away and fails the manifest;
- an attack meant to steal points (patched checks, found solutions, a
  rewritten gradebook) comes with wrong or missing answers, so any point
  above ``expected`` is a stolen one.

``feedback`` gives, per test cell, a substring (or a list of substrings) the
student's message must contain: the limit that was hit, or what was wrong.

The attack code only goes after the grader's own files: a course folder (a
folder holding ``nbgrader_config.py`` and ``source/``), ``gradebook.db`` files
and the assignment sources. It never touches other processes than the
grader's (``nbgrader`` and ``python -m autograder``), never signals a process
group or every process, and its one long-lived process ends by itself.
"""
from __future__ import annotations

import json
import runpy
from pathlib import Path

ASSIGNMENT = "parameter_counting"
_HERE = Path(__file__).resolve().parent
_HONEST = runpy.run_path(str(_HERE.parent / ASSIGNMENT / "variants.py"))
POINTS, _solution, _expected = _HONEST["POINTS"], _HONEST["_solution"], _HONEST["_expected"]
NOTHING = {name: 0 for name in POINTS}
ANSWERS = ["conv_output_shape", "pool_output_shape", "conv_param_count", "linear_param_count", "S2_C3_WEIGHTS",
           "LENET5_MODERN_PARAMS", "FC_200_PARAMS", "CONV_100_PARAMS", "LOGREG_MNIST_PARAMS", "ALEXNET_CONV1_SHAPE",
           "ALEXNET_CONV1_PARAMS", "ALEXNET_POOL1_SHAPE", "ALEXNET_FC6_PARAMS"]


def _honest(name):
    """The ``cells`` of an honest sample of parameter_counting (its misconception variants)."""
    return dict(_HONEST["VARIANTS"][name]["cells"])


def _edit_cells(edit):
    """raw(): apply ``edit(cells)`` (a list of cell dicts, changed in place or returned) to the notebook."""
    def raw(text):
        nb = json.loads(text)
        cells = edit(nb["cells"])
        if cells is not None:
            nb["cells"] = cells
        return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return raw


def _index(cells, grade_id):
    found = [i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    if len(found) != 1:
        raise ValueError(f"{grade_id!r} found {len(found)} times")
    return found[0]


def _delete(grade_id):
    return _edit_cells(lambda cells: [c for i, c in enumerate(cells) if i != _index(cells, grade_id)])


def _duplicate_edited(grade_id, source):
    """The cell is kept, and a copy with ``source`` follows it (nbgrader grades the last copy)."""
    def edit(cells):
        i = _index(cells, grade_id)
        copy = json.loads(json.dumps(cells[i]))
        copy["source"], copy["id"] = source, cells[i]["id"] + "-copy"
        return cells[:i + 1] + [copy] + cells[i + 1:]
    return _edit_cells(edit)


def _retype_to_markdown(grade_id):
    def edit(cells):
        cell = cells[_index(cells, grade_id)]
        cell["cell_type"] = "markdown"
        cell.pop("outputs", None), cell.pop("execution_count", None)
    return _edit_cells(edit)


def _rename(grade_id, new_id, source):
    def edit(cells):
        cell = cells[_index(cells, grade_id)]
        cell["metadata"]["nbgrader"]["grade_id"], cell["source"] = new_id, source
    return _edit_cells(edit)


def _points(grade_id, points):
    def edit(cells):
        cells[_index(cells, grade_id)]["metadata"]["nbgrader"]["points"] = points
    return _edit_cells(edit)


def _kernelspec(text):
    nb = json.loads(text)
    nb["metadata"]["kernelspec"] = {"display_name": "Bash", "language": "bash", "name": "bash"}
    nb["metadata"]["language_info"] = {"name": "bash"}
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --- attack code, as a student would write it into an answer cell -------------

# Places a curious student looks for the grader's files: the folders above the
# notebook, the working folders and command lines of the processes above the
# kernel (the grader's --course and submissions folders) and, for reading only,
# the folders of the installed packages (the repository's assignments/).
# Shared roots (/, /tmp, $HOME) are never searched as a whole: on a shared
# machine that would reach other people's files.
_FIND = '''import glob, os, sys, tempfile

def _ancestors():
    pid, seen = os.getppid(), []
    while pid > 1 and len(seen) < 12:
        seen.append(pid)
        try:
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except Exception:
            break
    return seen

def _places(packages=True):
    places, here = [], os.getcwd()
    for _ in range(5):
        places.append(here)
        here = os.path.dirname(here)
    for pid in _ancestors():
        try:
            places.append(os.readlink(f"/proc/{pid}/cwd"))
            places += [a for a in open(f"/proc/{pid}/cmdline").read().split("\\0") if a.startswith("/")]
        except Exception:
            pass
    if packages:
        for name in ("autograder", "cnnlib"):
            try:
                module = __import__(name)
                places.append(os.path.dirname(os.path.dirname(os.path.abspath(module.__file__))))
            except Exception:
                pass
    shared = {"/", "/tmp", "/var/tmp", "/home", "/root", os.path.expanduser("~"), tempfile.gettempdir()}
    places = [os.path.abspath(p) for p in places]
    return [p for p in dict.fromkeys(places) if os.path.isdir(p) and p not in shared]

def _find(pattern, depth=4, packages=True):
    found = []
    for place in _places(packages):
        for level in range(depth + 1):
            found += glob.glob(os.path.join(place, *["*"] * level, pattern))
    return sorted(set(found))
'''

_HUNT = _FIND + '''
import json, sqlite3

def _show(path, source):
    # reversed, so that a check for the hidden lines themselves does not see them
    print("found hidden tests in", path)
    for line in source.split("\\n"):
        print(line.strip()[::-1])

stolen = {}
for path in _find("*.ipynb"):
    try:
        cells = json.load(open(path))["cells"]
    except Exception:
        continue
    for cell in cells:
        source = "".join(cell["source"])
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if "BEGIN SOLUTION" in source and cell["cell_type"] == "code":
            stolen.setdefault(grade_id, "\\n".join(l for l in source.split("\\n") if "SOLUTION" not in l))
        if "BEGIN HIDDEN TESTS" in source:
            _show(path, source)
for path in _find("gradebook.db"):
    try:
        for (source,) in sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("SELECT source FROM source_cell"):
            if "BEGIN HIDDEN TESTS" in (source or ""):
                _show(path, source)
    except Exception:
        pass
print(f"solutions found for {sorted(stolen)}")
for source in stolen.values():
    exec(source, globals())
'''

_WRITE = _FIND + '''
import sqlite3

for path in _find("gradebook.db", packages=False):
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=1)
        db.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells "
                   "WHERE grade_cells.id = grade.cell_id), extra_credit = 100")
        db.execute("CREATE TABLE IF NOT EXISTS was_here (x)")
        db.commit()
        print("rewrote", path)
    except Exception as error:
        print("could not rewrite", path, error)
for config in _find("nbgrader_config.py", packages=False):
    course = os.path.dirname(config)
    if not os.path.isdir(os.path.join(course, "source")):
        continue                      # only course folders
    targets = [config] + glob.glob(os.path.join(course, "source", "*", "*.ipynb")) + glob.glob(
        os.path.join(course, "release", "*", "*.ipynb"))
    for target in targets:
        try:
            with open(target, "a") as f:
                f.write("\\n")
            print("wrote to", target)
        except Exception as error:
            print("could not write", target, error)
'''

# A grandchild in its own session, with an empty environment (no marks the grader
# could find it by), that outlives the kernel and keeps raising every grade in
# the gradebooks above the notebook for 15 minutes.
_LINGER = '''import os, sys

_code = """
import os, sqlite3, sys, time
end = time.time() + 900
while time.time() < end:
    for path in sys.argv[1:]:
        try:
            db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0.2)
            db.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells "
                       "WHERE grade_cells.id = grade.cell_id)")
            db.commit()
            db.close()
        except Exception:
            pass
    time.sleep(0.5)
"""
_gradebooks, _here = [], os.getcwd()
for _ in range(4):
    _gradebooks.append(os.path.join(_here, "gradebook.db"))
    _here = os.path.dirname(_here)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, [sys.executable, "-c", _code, *_gradebooks], {})
    os._exit(0)
os.wait()
'''

_PATCH_CHECKS = '''import cnnlib.checks

def check_equal(*args, **kwargs):
    print("ok")

def check_true(*args, **kwargs):
    print("ok")

def check_close(*args, **kwargs):
    print("ok")

cnnlib.checks.check_equal = check_equal
cnnlib.checks.check_true = check_true
cnnlib.checks.check_equal.__code__ = check_equal.__code__
'''

_PATCH_NUMPY = '''import numpy as np
import numpy.testing

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.testing.assert_equal = lambda *args, **kwargs: None
'''

_PATCH_BUILTINS = '''import builtins

class _Never(Exception):
    pass

builtins.AssertionError = _Never
builtins.bool = lambda *args: True
builtins.callable = lambda *args: True
builtins.abs = lambda *args: 0
'''

_FAKE_PASS = '''print("Running all tests ...")
for name in ["test_conv_output_shape", "test_pool_output_shape", "test_conv_param_count"]:
    print(f"ok: {name}")
print("All tests passed! Score: 18 / 18")
'''


def _wrong_everywhere():
    """Answers that are all wrong (but run): what a patched check would have to wave through."""
    cells = {
        "conv_output_shape": "def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):\n"
                             "    return (1, 1, 1)\n",
        "pool_output_shape": "def pool_output_shape(input_shape, kernel_size, stride):\n    return (1, 1, 1)\n",
        "conv_param_count": "def conv_param_count(in_channels, out_channels, kernel_size, bias=True):\n    return 1\n",
        "linear_param_count": "def linear_param_count(in_features, out_features, bias=True):\n    return 1\n",
        "ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = (1, 1, 1)\n",
        "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = (1, 1, 1)\n",
    }
    for name in ANSWERS:
        cells.setdefault(name, f"{name} = 1\n")
    return cells


def _with(cells, grade_id, prefix):
    """``cells`` with ``prefix`` put in front of answer cell ``grade_id`` (its own answer, or the solution)."""
    cells = dict(cells)
    cells[grade_id] = prefix + "\n" + cells.get(grade_id, _solution(grade_id)) + "\n"
    return cells


_SOLUTION_GONE = {name: "# (answered above)\n" for name in ANSWERS[1:]}

VARIANTS = {
    # ---------------- honest students in the same batch ----------------
    "reference": {
        "description": "the instructor's solution: full marks",
        "cells": {},
        "expected": _expected(),
    },
    "reference_again": {
        "description": "the same notebook as reference, graded in the same batch: the same scores",
        "cells": {},
        "expected": _expected(),
    },
    "off_by_one": {
        "description": "an honest mistake (output size without the +1): loses that question only",
        "cells": _honest("off_by_one"),
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": "the +1 is missing"},
    },
    "untouched": {
        "description": "the student version as released: zero",
        "untouched": True,
        "expected": NOTHING,
    },
    # ---------------- the notebook file and its test cells ----------------
    "edited_test": {
        "description": "wrong conv_output_shape, and its test cell replaced by a print",
        "cells": {**_honest("off_by_one"), "test_conv_output_shape": "print('ok: conv_output_shape')\n"},
        "expected": _expected(test_conv_output_shape=0),
        "feedback": {"test_conv_output_shape": ["changed in the submission", "the +1 is missing"]},
    },
    "deleted_test": {
        "description": "wrong pool_output_shape, and its test cell deleted",
        "cells": _honest("pool_divides_by_stride"),
        "raw": _delete("test_pool_output_shape"),
        "expected": _expected(test_pool_output_shape=0),
        "feedback": {"test_pool_output_shape": ["deleted", "divided the size by the stride"]},
    },
    "duplicated_test": {
        "description": "wrong conv_param_count; its test cell duplicated, the last copy (the graded one) emptied",
        "cells": _honest("bias_forgotten"),
        "raw": _duplicate_edited("test_conv_param_count", "pass\n"),
        "expected": _expected(test_conv_param_count=0),
        "feedback": {"test_conv_param_count": ["appears 2 times", "the biases are missing"]},
    },
    "retyped_test": {
        "description": "wrong linear_param_count; its test cell turned into markdown",
        "cells": _honest("bias_per_weight"),
        "raw": _retype_to_markdown("test_linear_param_count"),
        "expected": _expected(test_linear_param_count=0),
        "feedback": {"test_linear_param_count": ["turned into a markdown cell", "one bias per weight"]},
    },
    "renamed_test": {
        "description": "wrong LOGREG_MNIST_PARAMS; its test cell given another grade_id and emptied",
        "cells": _honest("logreg_without_biases"),
        "raw": _rename("test_LOGREG_MNIST_PARAMS", "test_LOGREG_MNIST_PARAMS_v2", "pass\n"),
        "expected": _expected(test_LOGREG_MNIST_PARAMS=0),
        "feedback": {"test_LOGREG_MNIST_PARAMS": "the biases are missing"},
    },
    "inflated_points": {
        "description": "correct answers; a test cell's points raised from 3 to 300 in its metadata",
        "cells": {},
        "raw": _points("test_conv_output_shape", 300),
        "expected": _expected(),
        "feedback": {"test_conv_output_shape": "points were changed to 300"},
    },
    "changed_kernelspec": {
        "description": "correct answers in a notebook that asks for a bash kernel",
        "cells": {},
        "raw": _kernelspec,
        "expected": _expected(),
    },
    "broken_json": {
        "description": "the notebook file cut in the middle (invalid JSON)",
        "raw": lambda text: text[: len(text) // 2],
        "expected": NOTHING,
        "feedback": {name: "not valid JSON" for name in POINTS},
    },
    "empty_file": {
        "description": "an empty notebook file",
        "raw": lambda text: "",
        "expected": NOTHING,
        "feedback": {name: "empty" for name in POINTS},
    },
    # ---------------- the kernel and its processes ----------------
    "os_exit": {
        "description": "the CONV_100_PARAMS cell calls os._exit: only that question is lost",
        "cells": {"CONV_100_PARAMS": "import os\nos._exit(0)\n"},
        "expected": _expected(test_CONV_100_PARAMS=0),
        "feedback": {"test_CONV_100_PARAMS": "kernel"},
    },
    "sys_exit": {
        "description": "the LOGREG_MNIST_PARAMS cell calls sys.exit: only that question is lost",
        "cells": {"LOGREG_MNIST_PARAMS": "import sys\nsys.exit(0)\n"},
        "expected": _expected(test_LOGREG_MNIST_PARAMS=0),
        "feedback": {"test_LOGREG_MNIST_PARAMS": "SystemExit"},
    },
    "kill_parent": {
        "description": "the FC_200_PARAMS cell kills the kernel's parent and every nbgrader/autograder "
                       "process above it: only that question is lost, the batch goes on",
        "cells": {"FC_200_PARAMS": _FIND + '''
import signal
for pid in [os.getppid()] + _ancestors():
    try:
        argv = open(f"/proc/{pid}/cmdline").read().split("\\0")
    except Exception:
        continue
    if pid == os.getppid() or argv[1:3] in (["-m", "nbgrader"], ["-m", "autograder"]):
        print("killing", pid, argv[:4])
        try:
            os.kill(pid, signal.SIGKILL)
        except Exception as error:
            print("could not:", error)
'''},
        "expected": _expected(test_FC_200_PARAMS=0),
    },
    "lingering_child": {
        "description": "the S2_C3_WEIGHTS cell starts a process that outlives the kernel and keeps raising the "
                       "grades in the gradebook; that answer is wrong (the sparse table)",
        "cells": _with(_honest("sparse_c3_table"), "S2_C3_WEIGHTS", _LINGER),
        "expected": _expected(test_S2_C3_WEIGHTS=0),
        "feedback": {"test_S2_C3_WEIGHTS": "sparse table"},
    },
    "output_flood": {
        "description": "the ALEXNET_CONV1_SHAPE cell prints 32 MB before its (correct) answer: the output cap "
                       "stops the cell, only that question is lost",
        "cells": _with({}, "ALEXNET_CONV1_SHAPE", 'for _ in range(32 * 1024):\n    print("flood " * 170)\n'),
        "expected": _expected(test_ALEXNET_CONV1_SHAPE=0),
        "feedback": {"test_ALEXNET_CONV1_SHAPE": "output"},
    },
    "sleep_forever": {
        "description": "the ALEXNET_POOL1_SHAPE cell ignores interrupts and sleeps before its (correct) answer: "
                       "the cell time limit stops it, only that question is lost",
        "cells": _with({}, "ALEXNET_POOL1_SHAPE",
                       "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)\n"),
        "expected": _expected(test_ALEXNET_POOL1_SHAPE=0),
        "feedback": {"test_ALEXNET_POOL1_SHAPE": "time limit"},
    },
    "memory_hog": {
        "description": "the ALEXNET_FC6_PARAMS cell fills 3 GiB before its (correct) answer: the memory limit "
                       "stops it, only that question is lost",
        "cells": _with({}, "ALEXNET_FC6_PARAMS", "import numpy as np\nhog = np.ones(3 * 2**30 // 8)\n"),
        "expected": _expected(test_ALEXNET_FC6_PARAMS=0),
        "feedback": {"test_ALEXNET_FC6_PARAMS": "memory"},
    },
    # ---------------- making tests pass without the answers ----------------
    "patched_checks": {
        "description": "wrong answers everywhere; check_equal/check_true replaced by no-ops (in the notebook and "
                       "in cnnlib.checks)",
        "cells": _with(_wrong_everywhere(), "conv_output_shape", _PATCH_CHECKS),
        "expected": NOTHING,
    },
    "patched_numpy": {
        "description": "wrong answers everywhere; numpy.allclose, isclose, array_equal and numpy.testing replaced",
        "cells": _with(_wrong_everywhere(), "conv_output_shape", _PATCH_NUMPY),
        "expected": NOTHING,
    },
    "patched_builtins": {
        "description": "wrong answers everywhere; builtins.AssertionError, bool, callable and abs replaced",
        "cells": _with(_wrong_everywhere(), "conv_output_shape", _PATCH_BUILTINS),
        "expected": NOTHING,
    },
    "prints_all_passed": {
        "description": "nothing answered; prints 'All tests passed! Score: 18 / 18' instead",
        "untouched": True,
        "cells": {"conv_output_shape": _FAKE_PASS},
        "expected": NOTHING,
        "feedback": {"test_conv_output_shape": "no function named conv_output_shape"},
    },
    # ---------------- the grader's files ----------------
    "hunts_solutions": {
        "description": "nothing answered; looks for the source notebooks and gradebooks on disk, prints the "
                       "hidden tests it finds (each line reversed) and runs the solutions",
        "cells": {"conv_output_shape": _HUNT, **_SOLUTION_GONE},
        "expected": NOTHING,
        "feedback": {"test_conv_output_shape": "no function named conv_output_shape"},
    },
    "writes_grader_files": {
        "description": "nothing answered; rewrites every gradebook it finds (full marks), appends to the course's "
                       "config, sources and release",
        "untouched": True,
        "cells": {"conv_output_shape": _WRITE},
        "expected": NOTHING,
    },
}
