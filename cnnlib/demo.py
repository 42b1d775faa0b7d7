"""``make demo``: train LeNet-5 on 5,000 real MNIST digits and report test accuracy.

Usage: ``python -m cnnlib.demo [--epochs N] [--seed S] [--variant modern|classic]``
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import nn
from .data import load_mnist, to_nchw, train_val_split
from .models import lenet5
from .optim import Adam
from .train import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", choices=["modern", "classic"], default="modern")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    images, labels, source = load_mnist("train-5k", return_source=True)
    print(f"Training digits: {len(images):,} from {source}")
    X = to_nchw(images, pad_to=32)
    try:
        test_images, test_labels, test_source = load_mnist("test", download=False, return_source=True)
    except FileNotFoundError:
        test_images = None
    if test_images is not None:
        X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.1, seed=args.seed)
        X_test, y_test = to_nchw(test_images, pad_to=32), test_labels
        test_name = f"the official MNIST test set ({len(y_test):,} digits, {test_source})"
    else:
        X_rest, X_test, y_rest, y_test = train_val_split(X, labels, val_fraction=0.2, seed=args.seed)
        X_train, X_val, y_train, y_val = train_val_split(X_rest, y_rest, val_fraction=0.1, seed=args.seed)
        test_name = (f"{len(y_test):,} held-out digits (official test set not found: set CNNLIB_DATA "
                     "or see cnnlib.data.load_mnist)")

    model = lenet5(args.variant, seed=args.seed, dtype=np.float32)
    print(nn.summary(model, (1, 32, 32)))
    print(f"Training on {len(y_train):,} digits, validating on {len(y_val):,}.")
    start = time.perf_counter()
    fit(model, X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=Adam(model.parameters(), lr=args.lr), validation_data=(X_val, y_val),
        seed=args.seed, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    loss, acc = evaluate(model, X_test, y_test)
    print(f"\nTrained in {seconds:.1f} s. Accuracy on {test_name}: {acc:.2%} (loss {loss:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
