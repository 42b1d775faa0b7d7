"""Training loop: fit, evaluate, train_step, and LeNet-5 on real MNIST digits."""
import numpy as np
import pytest

from cnnlib import nn
from cnnlib.models import lenet5
from cnnlib.optim import SGD, Adam
from cnnlib.train import evaluate, fit, train_step


def _blobs(rng, n=300):
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + 0.5 * rng.standard_normal((n, 2)), y


def test_fit_learns_separable_blobs_and_records_history(rng):
    X, y = _blobs(rng)
    model = nn.Sequential(nn.Linear(2, 16, seed=0), nn.ReLU(), nn.Linear(16, 3, seed=1))
    calls = []
    hist = fit(model, X, y, epochs=15, batch_size=32, optimizer=SGD(model.parameters(), lr=0.1, momentum=0.9),
               validation_split=0.2, progress=False, verbose=False, callbacks=[lambda h, m: calls.append(len(h.epoch))])
    assert hist.epoch == list(range(1, 16)) and calls == list(range(1, 16))
    assert len(hist.val_accuracy) == 15 and hist.val_accuracy[-1] > 0.95
    assert hist.loss[-1] < hist.loss[0] / 3
    assert len(hist.batch_loss) == 15 * 8  # 240 training examples / 32 per batch
    loss, acc = evaluate(model, X, y)
    assert acc > 0.95 and loss < 0.3


def test_fit_is_deterministic_for_a_seed(rng):
    X, y = _blobs(rng, 100)
    runs = []
    for _ in range(2):
        model = nn.Sequential(nn.Linear(2, 8, seed=0), nn.Tanh(), nn.Linear(8, 3, seed=0))
        runs.append(fit(model, X, y, epochs=3, seed=5, progress=False, verbose=False).batch_loss)
    assert runs[0] == runs[1]


def test_train_step_lowers_the_loss_on_the_same_batch(rng):
    model = lenet5(seed=0)
    x = rng.standard_normal((8, 1, 32, 32))
    y = np.arange(8)
    opt = SGD(model.parameters(), lr=0.05)
    first = train_step(model, opt, x, y)
    second = train_step(model, opt, x, y)
    assert second < first


def test_fit_rejects_bad_shapes_and_exploding_loss():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"X.shape=\(4, 2\), y.shape=\(3,\)"):
        fit(model, np.zeros((4, 2)), np.zeros(3, int), progress=False)
    X = np.array([[1.0, 2.0], [np.nan, 0.0]] * 8)  # one bad pixel makes the loss NaN
    y = np.array([0, 1] * 8)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        with np.errstate(all="ignore"):
            fit(model, X, y, epochs=1, progress=False, verbose=False)


@pytest.mark.slow
def test_lenet5_reaches_95_percent_on_held_out_mnist_digits():
    from cnnlib.data import load_mnist, to_nchw, train_val_split

    images, labels = load_mnist("train-5k")
    X = to_nchw(images, pad_to=32)
    X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.2, seed=0)
    model = lenet5("modern", seed=0, dtype=np.float32)
    fit(model, X_train, y_train, epochs=8, batch_size=64, optimizer=Adam(model.parameters(), lr=2e-3),
        seed=0, progress=False, verbose=False)
    _, acc = evaluate(model, X_val, y_val)
    assert acc >= 0.95, f"held-out accuracy {acc:.4f}"


def test_text_progress_bar_redraws_rarely_off_a_terminal(rng, capsys):
    # under pytest stderr is not a terminal: a log gets a handful of bar lines, not one per step
    from cnnlib import train

    bar = train._progress(10, True, "training")
    try:
        assert bar.mininterval == train._LOG_MININTERVAL
    finally:
        bar.close()
    X, y = _blobs(rng, 400)
    model = nn.Sequential(nn.Linear(2, 3))
    fit(model, X, y, epochs=3, batch_size=4, progress=True, verbose=False)   # 300 steps
    redraws = capsys.readouterr().err.count("\r")
    assert 0 < redraws < 10, f"{redraws} progress redraws for 300 steps"


def test_notebook_progress_bar_keeps_its_default_redraw_interval():
    from tqdm import notebook, std

    from cnnlib import train

    assert train._is_notebook_bar(notebook.tqdm) and not train._is_notebook_bar(std.tqdm)
