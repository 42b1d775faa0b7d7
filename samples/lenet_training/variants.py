"""Sample submissions of the lenet_training assignment, and the score each must get.

Every variant starts from the instructor's solution (or from the released stubs
for "untouched") and replaces whole answer cells, named by grade_id.

The tests of ``build_lenet5`` and ``train_step`` do not depend on each other
(``train_step`` is tested on a small network of its own). The last question,
``test_trained_lenet5``, grades the training run, which uses *both* functions:
the grader re-runs the training cell with a short seeded budget and scores the
saved weights on held-out digits. A mistake that stops training (a network
that cannot take 32x32 input, a train_step that raises, never returns or never
updates) therefore also costs that question; a mistake that still trains (wrong
activation, wrong layer names, wrong returned loss) does not, or only by the
accuracy band it reaches. The training cell deletes any old
``lenet5_weights.npz`` first, so a weights file shipped with a submission is
never graded.
"""
import io
from functools import partial

from autograder.samples import expected_scores

FULL = {
    "test_build_lenet5": 3,
    "test_train_step": 3,
    "test_trained_lenet5": 4,
}


_expected = partial(expected_scores, FULL)  # full marks, except the scores given (grade_id=points)


def _untrained_weights():
    """Bytes of an .npz file with the right names and shapes (random initial weights)."""
    import numpy as np

    from cnnlib.models import lenet5

    buffer = io.BytesIO()
    np.savez(buffer, **lenet5("modern", seed=0).state_dict())
    return buffer.getvalue()


# ----------------------------------------------------------------------------
# Answer cells
# ----------------------------------------------------------------------------

_BUILD_TEMPLATE = '''
def build_lenet5(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        ("{C1}", nn.Conv2d(1, 6, 5, seed=rng, dtype=dtype)),
        ("relu1", {act}()),
        ("S2", nn.MaxPool2d(2)),
        ("{C3}", nn.Conv2d(6, 16, 5, seed=rng, dtype=dtype)),
        ("relu3", {act}()),
        ("S4", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("{C5}", nn.Linear({flat}, 120, seed=rng, dtype=dtype)),
        ("relu5", {act}()),
        ("{F6}", nn.Linear(120, 84, seed=rng, dtype=dtype)),
        ("relu6", {act}()),
        ("{out}", nn.Linear(84, 10, init="xavier", seed=rng, dtype=dtype)),
    )
'''


def _build(act="nn.ReLU", flat=400, names=("C1", "C3", "C5", "F6", "output")):
    return _BUILD_TEMPLATE.format(act=act, flat=flat, **dict(zip(("C1", "C3", "C5", "F6", "out"), names)))


BUILD_TANH = _build(act="nn.Tanh")
BUILD_FOR_28X28 = _build(flat=256)  # 16 * 4 * 4: the sizes of a 28x28 input
BUILD_RENAMED = _build(names=("conv1", "conv2", "fc1", "fc2", "fc3"))

_TRAIN_STEP_TEMPLATE = '''
def train_step(model, optimizer, x, y):
{body}
'''


def _train_step(*lines):
    return _TRAIN_STEP_TEMPLATE.format(body="\n".join("    " + line for line in lines))


TRAIN_STEP_NO_ZERO_GRAD = _train_step(
    "scores = model.forward(x)",
    "loss, dscores = softmax_cross_entropy(scores, y)",
    "model.backward(dscores)",
    "optimizer.step()",
    "return float(loss)",
)
TRAIN_STEP_NO_STEP = _train_step(
    "optimizer.zero_grad()",
    "scores = model.forward(x)",
    "loss, dscores = softmax_cross_entropy(scores, y)",
    "model.backward(dscores)",
    "return float(loss)",
)
TRAIN_STEP_LOSS_AFTER = _train_step(
    "optimizer.zero_grad()",
    "loss, dscores = softmax_cross_entropy(model.forward(x), y)",
    "model.backward(dscores)",
    "optimizer.step()",
    "loss, _ = softmax_cross_entropy(model.forward(x), y)",
    "return float(loss)",
)
TRAIN_STEP_STUB = _train_step(
    '"""One step of mini-batch gradient descent (left as released)."""',
    "# YOUR CODE HERE",
    "raise NotImplementedError()",
)
TRAIN_STEP_SYNTAX_ERROR = _train_step(
    "optimizer.zero_grad()",
    "scores = model.forward(x",
    "loss, dscores = softmax_cross_entropy(scores, y)",
    "return loss",
)
TRAIN_STEP_EXCEPTION = _train_step(  # arguments swapped: softmax_cross_entropy raises ValueError
    "optimizer.zero_grad()",
    "loss, dscores = softmax_cross_entropy(y, model.forward(x))",
    "model.backward(dscores)",
    "optimizer.step()",
    "return float(loss)",
)
TRAIN_STEP_INFINITE_LOOP = _train_step(
    "while True:",
    "    pass",
)
BUILD_MISSING = '''
def lenet5_network(seed=0, dtype=np.float64):
    """Renamed by the student: the grader looks for build_lenet5."""
    raise NotImplementedError
'''


VARIANTS = {
    "reference": {
        "description": "the instructor's solution",
        "cells": {},
        "expected": dict(FULL),
    },
    "untouched": {
        "description": "the student version as released",
        "untouched": True,
        "expected": _expected(test_build_lenet5=0, test_train_step=0, test_trained_lenet5=0),
    },
    "architecture_tanh": {
        "description": "tanh instead of ReLU (trains, but is not the modern LeNet-5)",
        "cells": {"build_lenet5": BUILD_TANH},
        "expected": _expected(test_build_lenet5=0),
        "feedback": {"test_build_lenet5": "uses ReLU"},
    },
    "architecture_for_28x28": {
        "description": "C5 sized for 28x28 inputs (Linear(256, 120)): cannot take the 32x32 digits",
        "cells": {"build_lenet5": BUILD_FOR_28X28},
        "expected": _expected(test_build_lenet5=0, test_trained_lenet5=0),
        "feedback": {"test_build_lenet5": "16*4*4 = 256", "test_trained_lenet5": "lenet5_weights.npz"},
    },
    "renamed_layers": {
        "description": "weights-file problem: layers named conv1/fc1/..., so the file does not fit "
                       "cnnlib.models.lenet5('modern') (it still loads into the student's own network)",
        "cells": {"build_lenet5": BUILD_RENAMED},
        "expected": _expected(test_build_lenet5=0),
        "feedback": {"test_build_lenet5": "layer names differ"},
    },
    "train_step_no_zero_grad": {
        "description": "train_step never resets the gradients (they accumulate over the steps)",
        "cells": {"train_step": TRAIN_STEP_NO_ZERO_GRAD},
        "expected": _expected(test_train_step=0, test_trained_lenet5=1),
        "feedback": {"test_train_step": "zero_grad"},
    },
    "train_step_no_optimizer_step": {
        "description": "train_step never calls optimizer.step(): the loss never drops",
        "cells": {"train_step": TRAIN_STEP_NO_STEP},
        "expected": _expected(test_train_step=0, test_trained_lenet5=0),
        "feedback": {"test_train_step": "optimizer.step()", "test_trained_lenet5": "better than chance"},
    },
    "train_step_loss_after_update": {
        "description": "train_step returns the loss after the update",
        "cells": {"train_step": TRAIN_STEP_LOSS_AFTER},
        "expected": _expected(test_train_step=0),
        "feedback": {"test_train_step": "loss after the update"},
    },
    "stale_weights_file": {
        "description": "correct notebook, submitted with a broken lenet5_weights.npz: the grader retrains",
        "cells": {},
        "files": {"lenet5_weights.npz": b"this is not a zip archive"},
        "expected": dict(FULL),
    },
    "submitted_weights_ignored": {
        "description": "train_step left unwritten, a weights file submitted instead: it is deleted, not graded",
        "cells": {"train_step": TRAIN_STEP_STUB},
        "files": {"lenet5_weights.npz": _untrained_weights()},
        "expected": _expected(test_train_step=0, test_trained_lenet5=0),
        "feedback": {"test_trained_lenet5": "lenet5_weights.npz exists"},
    },
    "syntax_error": {
        "description": "a syntax error in train_step (unclosed parenthesis): nothing can train",
        "cells": {"train_step": TRAIN_STEP_SYNTAX_ERROR},
        "expected": _expected(test_train_step=0, test_trained_lenet5=0),
    },
    "exception": {
        "description": "train_step swaps the arguments of softmax_cross_entropy and raises ValueError",
        "cells": {"train_step": TRAIN_STEP_EXCEPTION},
        "expected": _expected(test_train_step=0, test_trained_lenet5=0),
    },
    "missing_function": {
        "description": "build_lenet5 renamed to lenet5_network",
        "cells": {"build_lenet5": BUILD_MISSING},
        "expected": _expected(test_build_lenet5=0, test_trained_lenet5=0),
        "feedback": {"test_build_lenet5": "build_lenet5"},
    },
    "infinite_loop": {
        "description": "train_step never returns (while True: pass); the training cell times out too",
        "cells": {"train_step": TRAIN_STEP_INFINITE_LOOP},
        "expected": _expected(test_train_step=0, test_trained_lenet5=0),
    },
}
