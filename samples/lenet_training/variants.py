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

from autograder.samples import SampleSet

FULL = {
    "test_build_lenet5": 3,
    "test_train_step": 3,
    "test_trained_lenet5": 4,
}


samples = SampleSet("lenet_training", FULL)
# also lost by a mistake that stops training: the grader scores the weights the training run saves
_TRAINING = ("test_trained_lenet5",)


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
    "reference": samples.reference(),
    "untouched": samples.untouched(),
    "architecture_tanh": samples.mistake(
        "tanh instead of ReLU (trains, but is not the modern LeNet-5)", "build_lenet5", BUILD_TANH, "uses ReLU"),
    "architecture_for_28x28": samples.variant(
        "C5 sized for 28x28 inputs (Linear(256, 120)): cannot take the 32x32 digits", {"build_lenet5": BUILD_FOR_28X28},
        {"test_build_lenet5": "16*4*4 = 256", "test_trained_lenet5": "lenet5_weights.npz"}),
    "renamed_layers": samples.mistake(
        "weights-file problem: layers named conv1/fc1/..., so the file does not fit "
        "cnnlib.models.lenet5('modern') (it still loads into the student's own network)",
        "build_lenet5", BUILD_RENAMED, "layer names differ"),
    "train_step_no_zero_grad": samples.variant(
        "train_step never resets the gradients (they accumulate over the steps)",
        {"train_step": TRAIN_STEP_NO_ZERO_GRAD}, {"test_train_step": "zero_grad"}, scores={"test_trained_lenet5": 1}),
    "train_step_no_optimizer_step": samples.variant(
        "train_step never calls optimizer.step(): the loss never drops", {"train_step": TRAIN_STEP_NO_STEP},
        {"test_train_step": "optimizer.step()", "test_trained_lenet5": "better than chance"}),
    "train_step_loss_after_update": samples.mistake(
        "train_step returns the loss after the update", "train_step", TRAIN_STEP_LOSS_AFTER, "loss after the update"),
    "stale_weights_file": samples.variant(
        "correct notebook, submitted with a broken lenet5_weights.npz: the grader retrains", {},
        files={"lenet5_weights.npz": b"this is not a zip archive"}),
    "submitted_weights_ignored": samples.variant(
        "train_step left unwritten, a weights file submitted instead: it is deleted, not graded",
        {"train_step": TRAIN_STEP_STUB}, {"test_train_step": None, "test_trained_lenet5": "lenet5_weights.npz exists"},
        files={"lenet5_weights.npz": _untrained_weights()}),
    "syntax_error": samples.mistake(
        "a syntax error in train_step (unclosed parenthesis): nothing can train",
        "train_step", TRAIN_STEP_SYNTAX_ERROR, also_lost=_TRAINING),
    "exception": samples.mistake(
        "train_step swaps the arguments of softmax_cross_entropy and raises ValueError",
        "train_step", TRAIN_STEP_EXCEPTION, also_lost=_TRAINING),
    "missing_function": samples.mistake(
        "build_lenet5 renamed to lenet5_network", "build_lenet5", BUILD_MISSING, "build_lenet5", also_lost=_TRAINING),
    "infinite_loop": samples.mistake(
        "train_step never returns (while True: pass); the training cell times out too",
        "train_step", TRAIN_STEP_INFINITE_LOOP, also_lost=_TRAINING),
}
