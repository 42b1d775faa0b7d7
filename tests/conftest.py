import os
import pathlib

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)


def mnist_test_dir():
    """Folder holding the official MNIST test set, or None (tests then skip)."""
    base = os.environ.get("CNNLIB_DATA")
    if not base:
        return None
    folder = pathlib.Path(base) / "mnist-test"
    return folder if (folder / "t10k-images-idx3-ubyte.gz").exists() else None


def batch_last(a):
    """A copy of ``a`` (N, C, H, W) with the same values, laid out in memory as
    (C, H, W, N): what the slabs' convolution output and the layers after it
    hand on in a network."""
    import numpy as np

    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
