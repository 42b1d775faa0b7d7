"""Mini-batch training: ``train_step``, ``fit``, ``evaluate``, ``predict``."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_xy
from .data import BatchIterator
from .losses import softmax_cross_entropy
from .optim import Adam

__all__ = ["History", "train_step", "fit", "evaluate", "predict", "accuracy"]


@dataclass
class History:
    """What happened during :func:`fit`, one entry per epoch (``batch_loss`` per step)."""

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    batch_loss: list = field(default_factory=list)

    def as_dict(self):
        return {k: list(v) for k, v in self.__dict__.items()}

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        if not self.epoch:
            return "History(no epochs yet)"
        last = f"loss={self.loss[-1]:.4f} acc={self.accuracy[-1]:.4f}"
        if self.val_accuracy:
            last += f" val_loss={self.val_loss[-1]:.4f} val_acc={self.val_accuracy[-1]:.4f}"
        return f"History({len(self.epoch)} epochs; last: {last})"


def _check_xy(X, y, fn):
    X, y = check_xy(X, y, fn)
    return X, y.astype(np.int64, copy=False)


def _as_model_dtype(model, xb):
    dtype = model.dtype or np.float64
    return xb if xb.dtype == dtype else xb.astype(dtype)


def _backward_into_parameters(model, dscores):
    """Backward for a training step: only parameter gradients are needed, not the input's."""
    if getattr(model, "can_skip_input_grad", False):
        model.backward(dscores, need_dx=False)
    else:
        model.backward(dscores)


def train_step(model, optimizer, x, y, return_scores=False):
    """One gradient step on a mini-batch: forward, loss, backward, update.

    Parameters
    ----------
    model : cnnlib.nn.Module
    optimizer : cnnlib.optim.Optimizer
        Holds ``model``'s parameters.
    x : ndarray, shape (N, C, H, W) (or (N, D) for an MLP)
        Cast to the model's dtype.
    y : ndarray of int, shape (N,)
    return_scores : bool
        Also return the scores of the forward pass (:func:`fit` counts the
        training accuracy from them without a second forward pass).

    Returns
    -------
    loss : float
        The softmax cross-entropy loss *before* the update.
    scores : ndarray, shape (N, num_classes)
        Only if ``return_scores``.
    """
    optimizer.zero_grad()
    scores = model.forward(_as_model_dtype(model, np.asarray(x)))
    loss, dscores = softmax_cross_entropy(scores, y)
    _backward_into_parameters(model, dscores)
    optimizer.step()
    return (loss, scores) if return_scores else loss


def accuracy(scores, y):
    """Fraction of rows whose arg-max equals the label."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def predict(model, X, batch_size=256):
    """Class scores for ``X`` computed in batches, shape (N, num_classes)."""
    X = np.asarray(X)
    outs = [model.forward(_as_model_dtype(model, X[i:i + batch_size])) for i in range(0, len(X), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, 0))


def evaluate(model, X, y, batch_size=256):
    """Mean loss and accuracy of ``model`` on ``(X, y)``.

    Returns
    -------
    (loss, accuracy) : tuple of float
    """
    X, y = _check_xy(X, y, "evaluate")
    was_training = model.training
    model.eval()
    try:
        scores = predict(model, X, batch_size)
    finally:
        model.train(was_training)
    loss, _ = softmax_cross_entropy(scores, y)
    return loss, accuracy(scores, y)


# seconds between redraws of a text bar off a terminal (CI, nbclient), where each redraw is a log line
_LOG_MININTERVAL = 10.0


def _is_notebook_bar(tqdm_class):
    return any(c.__name__ == "tqdm_notebook" for c in tqdm_class.__mro__)


def _progress(total, enabled, desc):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but training must not die without it
        return None
    options = {}
    if not _is_notebook_bar(tqdm) and not getattr(sys.stderr, "isatty", lambda: False)():
        options["mininterval"] = _LOG_MININTERVAL
    return tqdm(total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True, **options)


def fit(model, X, y, epochs=10, batch_size=64, optimizer=None, validation_data=None,
        validation_split=0.0, seed=0, progress=True, callbacks=(), verbose=True, callback_every=None):
    """Train ``model`` with mini-batch gradient descent on softmax cross-entropy.

    Parameters
    ----------
    model : cnnlib.nn.Module
    X : ndarray, shape (N, C, H, W) (or (N, D) for an MLP)
        Cast batch by batch to the model's dtype.
    y : ndarray of int, shape (N,)
    epochs, batch_size : int
    optimizer : cnnlib.optim.Optimizer, optional
        Defaults to ``Adam(model.parameters(), lr=1e-3)``.
    validation_data : (X_val, y_val), optional
    validation_split : float
        If no ``validation_data``, hold out this fraction (seeded, after shuffling).
    seed : int
        Seed of the validation split and of the batches, which are those of
        ``batch_iterator(X, y, batch_size, seed=seed)``, one loop per epoch.
    progress : bool
        Show a tqdm progress bar (a widget in Jupyter, text in a terminal).
    callbacks : iterable of callables
        Each called as ``cb(history, model)`` after every epoch (e.g. a live plot).
    verbose : bool
        Print one summary line per epoch.
    callback_every : int, optional
        Also call the callbacks after every ``callback_every``-th step
        (counted over the whole run, ``len(history.batch_loss)`` steps so
        far), with the epoch lists as they stand. A step that ends an epoch
        gives one call only, made after the epoch's values are recorded. So
        with ``S`` steps per epoch the callbacks run
        ``epochs + #{k-multiples up to epochs*S that do not end an epoch}`` times.

    Returns
    -------
    History
    """
    X, y = _check_xy(X, y, "fit")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit: epochs and batch_size must be >= 1, got epochs={epochs}, batch_size={batch_size}")
    if callback_every is not None and (isinstance(callback_every, bool) or not isinstance(callback_every, int)
                                       or callback_every < 1):
        raise ValueError(f"fit: callback_every must be a positive int (steps) or None, got {callback_every!r}")
    callbacks = list(callbacks)
    if validation_data is None and validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
        order = np.random.default_rng(seed).permutation(len(X))
        n_val = int(round(len(X) * validation_split))
        validation_data = (X[order[:n_val]], y[order[:n_val]])
        X, y = X[order[n_val:]], y[order[n_val:]]
    if validation_data is not None:
        validation_data = _check_xy(*validation_data, "fit (validation_data)")
    if optimizer is None:
        optimizer = Adam(model.parameters(), lr=1e-3)

    history = History()
    batches = BatchIterator(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    n = len(X)
    bar = _progress(len(batches) * epochs, progress, "training")
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            total_loss, correct = 0.0, 0
            for step, (xb, yb) in enumerate(batches, start=1):
                loss, scores = train_step(model, optimizer, xb, yb, return_scores=True)
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"fit: the loss became {loss} at epoch {epoch}; lower the learning rate "
                        f"(lr={getattr(optimizer, 'lr', '?')}) or check the input scaling"
                    )
                history.batch_loss.append(loss)
                total_loss += loss * len(yb)
                correct += int(np.sum(np.argmax(scores, axis=1) == yb))
                if bar is not None:
                    # postfix first without its own redraw, so update() redraws at most every mininterval
                    bar.set_postfix(epoch=f"{epoch}/{epochs}", loss=f"{loss:.3f}", refresh=False)
                    bar.update(1)
                ends_epoch = step == len(batches)
                if callback_every and not ends_epoch and len(history.batch_loss) % callback_every == 0:
                    for cb in callbacks:
                        cb(history, model)
            history.epoch.append(epoch)
            history.loss.append(total_loss / n)
            history.accuracy.append(correct / n)
            line = f"epoch {epoch}/{epochs}: loss {total_loss / n:.4f}, accuracy {correct / n:.4f}"
            if validation_data is not None:
                vl, va = evaluate(model, *validation_data)
                model.train()
                history.val_loss.append(vl)
                history.val_accuracy.append(va)
                line += f", val_loss {vl:.4f}, val_accuracy {va:.4f}"
            history.seconds.append(time.perf_counter() - start)
            if verbose:
                if bar is not None:
                    bar.write(line)
                else:
                    print(line, flush=True)
            for cb in callbacks:
                cb(history, model)
    finally:
        if bar is not None:
            bar.close()
    return history
