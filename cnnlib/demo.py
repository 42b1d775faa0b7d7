"""``make train-demo``: train LeNet-5 on 5,000 real MNIST digits and report test accuracy.

Usage: ``python -m cnnlib.demo [--epochs N] [--seed S] [--variant modern|classic]``

The training recipe (Adam, a cosine learning-rate decay, random shifts of up
to 2 pixels as data augmentation) lives here as plain functions so that the
benchmark (``benchmarks/run.py``) trains PyTorch on exactly the same batches.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from . import nn
from .data import load_mnist, to_nchw, train_val_split
from .models import lenet5
from .optim import Adam
from .train import evaluate, train_step

__all__ = ["RECIPE", "learning_rate", "random_shifts", "recipe_batches", "load_digits", "train_lenet5"]

#: The schedule of ``make train-demo`` and of the benchmark's 5,000-digit run.
#: Chosen on the validation split (never on the test set).
RECIPE = {"epochs": 15, "batch_size": 64, "lr": 2e-3, "max_shift": 2}


def learning_rate(epoch, epochs, lr):
    """Cosine decay from ``lr`` (epoch 1) towards 0 (after the last epoch).

    ``lr_e = lr * (1 + cos(pi * (e - 1) / epochs)) / 2`` for ``e = 1 .. epochs``
    (Loshchilov & Hutter, 2017, without restarts).
    """
    return lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))


def random_shifts(images, max_shift, rng):
    """Move every image by its own random whole-pixel offset, filling with zeros.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
    max_shift : int
        Offsets are drawn uniformly from ``-max_shift .. max_shift`` along each axis.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (N, C, H, W), same dtype
        ``out[n, :, i, j] = images[n, :, i - dy_n, j - dx_n]`` (0 outside the image).
    """
    if max_shift == 0:
        return images
    n, c, h, w = images.shape
    s = int(max_shift)
    padded = np.zeros((n, c, h + 2 * s, w + 2 * s), dtype=images.dtype)
    padded[:, :, s:s + h, s:s + w] = images
    dy, dx = rng.integers(-s, s + 1, size=(2, n))
    rows = (s - dy)[:, None] + np.arange(h)            # (N, H) source rows
    cols = (s - dx)[:, None] + np.arange(w)            # (N, W) source columns
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def recipe_batches(X, y, epochs, batch_size, max_shift, seed):
    """The mini-batches of a training run: ``(epoch, xb, yb)``, epoch by epoch.

    Each epoch visits the data in a new random order; every batch is shifted
    by :func:`random_shifts`. The same seed gives the same batches, whichever
    library consumes them.
    """
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            yield epoch, random_shifts(X[idx], max_shift, rng), y[idx]


def load_digits(seed=0):
    """The demo's data: 4,500 training and 500 validation digits, and a test set.

    Returns
    -------
    (X_train, y_train), (X_val, y_val), (X_test, y_test), test_name
        Images as float32 (N, 1, 32, 32) in [0, 1]. The test set is the official
        MNIST test set when it can be found, else 1,000 held-out digits.
    """
    images, labels, source = load_mnist("train-5k", return_source=True)
    X = to_nchw(images, pad_to=32)
    try:
        test_images, test_labels, test_source = load_mnist("test", download=False, return_source=True)
    except FileNotFoundError:
        test_images = None
    if test_images is not None:
        X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.1, seed=seed)
        X_test, y_test = to_nchw(test_images, pad_to=32), test_labels
        test_name = f"the official MNIST test set ({len(y_test):,} digits, {test_source})"
    else:
        X_rest, X_test, y_rest, y_test = train_val_split(X, labels, val_fraction=0.2, seed=seed)
        X_train, X_val, y_train, y_val = train_val_split(X_rest, y_rest, val_fraction=0.1, seed=seed)
        test_name = (f"{len(y_test):,} held-out digits (official test set not found: set CNNLIB_DATA "
                     "or see cnnlib.data.load_mnist)")
    return (X_train, y_train), (X_val, y_val), (X_test, y_test), f"{test_name}; training digits from {source}"


def train_lenet5(model, X, y, epochs, batch_size, lr, max_shift, seed=0, validation_data=None, log=print):
    """Train ``model`` with the recipe: Adam, cosine learning rate, random shifts.

    Returns
    -------
    list of float
        Mean training loss of every epoch.
    """
    optimizer = Adam(model.parameters(), lr=lr)
    losses, total, count, current = [], 0.0, 0, 1
    batches = recipe_batches(X, y, epochs, batch_size, max_shift, seed)
    for epoch, xb, yb in batches:
        if epoch != current:
            losses.append(total / count)
            _log_epoch(log, current, epochs, losses[-1], model, validation_data)
            total, count, current = 0.0, 0, epoch
        optimizer.lr = learning_rate(epoch, epochs, lr)
        total += train_step(model, optimizer, xb, yb) * len(yb)
        count += len(yb)
    losses.append(total / count)
    _log_epoch(log, current, epochs, losses[-1], model, validation_data)
    return losses


def _log_epoch(log, epoch, epochs, loss, model, validation_data):
    if log is None:
        return
    line = f"epoch {epoch}/{epochs}: loss {loss:.4f}"
    if validation_data is not None:
        _, acc = evaluate(model, *validation_data)
        model.train()
        line += f", val_accuracy {acc:.4f}"
    log(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    parser.add_argument("--lr", type=float, default=RECIPE["lr"], help="initial learning rate (cosine decay)")
    parser.add_argument("--max-shift", type=int, default=RECIPE["max_shift"],
                        help="random shifts of up to this many pixels (0: no augmentation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", choices=["modern", "classic"], default="modern")
    args = parser.parse_args(argv)

    (X_train, y_train), validation, (X_test, y_test), test_name = load_digits(args.seed)
    model = lenet5(args.variant, seed=args.seed, dtype=np.float32)
    print(nn.summary(model, (1, 32, 32)))
    print(f"Training on {len(y_train):,} digits, validating on {len(validation[1]):,}; "
          f"Adam lr {args.lr:g} with cosine decay, random shifts up to {args.max_shift} px.")
    start = time.perf_counter()
    train_lenet5(model, X_train, y_train, args.epochs, args.batch_size, args.lr, args.max_shift,
                 seed=args.seed, validation_data=validation)
    seconds = time.perf_counter() - start
    loss, acc = evaluate(model, X_test, y_test)
    print(f"\nTrained in {seconds:.1f} s. Accuracy on {test_name}: {acc:.2%} (loss {loss:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
