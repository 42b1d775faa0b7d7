"""Matplotlib figures for the lectures: digits, filters, feature maps, errors, curves.

Each figure has a plain function that computes its numbers (tested without
drawing) and a ``plot_*`` function that draws them and returns the
``matplotlib.figure.Figure``:

- ``plot_images``               -- a grid of images with optional titles
- ``conv_filters`` / ``plot_filters``          -- the weights of a convolution layer
- ``feature_maps`` / ``plot_feature_maps``     -- one input through a model, layer by layer
- ``confusion_matrix`` / ``plot_confusion_matrix``
- ``misclassified`` / ``plot_misclassified``
- ``plot_history``              -- loss and accuracy curves of :func:`cnnlib.train.fit`

matplotlib is imported inside the ``plot_*`` functions, so ``import
cnnlib.plots`` works without it.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "plot_images",
    "conv_filters",
    "plot_filters",
    "feature_maps",
    "feature_montage",
    "plot_feature_maps",
    "confusion_matrix",
    "plot_confusion_matrix",
    "misclassified",
    "plot_misclassified",
    "history_curves",
    "plot_history",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("cnnlib.plots needs matplotlib: `pip install matplotlib`") from err
    return plt


def _as_images(images, caller):
    """(N, H, W) float array from (N, H, W), (N, 1, H, W) or one (H, W) image."""
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"{caller}: expected images of shape (N, H, W) or (N, 1, H, W), got {images.shape}")
    return images


def _grid_shape(n, ncols):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def plot_images(images, titles=None, ncols=10, cmap="gray", size=1.2, symmetric=False, suptitle=None):
    """Draw images in a grid, one axis each, without ticks.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) array_like
    titles : sequence of str, optional
        One title per image.
    ncols : int
        Images per row.
    cmap : str
        Colour map; ``symmetric=True`` centres it on 0 (for weights, with
        e.g. ``cmap="RdBu_r"``), each image with its own range.
    size : float
        Inches per image.
    suptitle : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = _as_images(images, "plot_images")
    n = len(images)
    if n == 0:
        raise ValueError("plot_images: no images to draw")
    if titles is not None and len(titles) != n:
        raise ValueError(f"plot_images: {n} images but {len(titles)} titles")
    plt = _pyplot()
    rows, cols = _grid_shape(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        if symmetric:
            limit = float(np.max(np.abs(images[k]))) or 1.0
            ax.imshow(images[k], cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(images[k], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# filters and feature maps
# --------------------------------------------------------------------------

def _first_conv(model):
    from . import nn

    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            return layer
    raise ValueError(f"conv_filters: {type(model).__name__} has no Conv2d layer")


def conv_filters(model_or_weights, in_channel=0):
    """The kernels of the first convolution layer as a stack of images.

    Parameters
    ----------
    model_or_weights : cnnlib.nn.Module or (F, C, KH, KW) array_like
        A model (its first ``Conv2d`` is used), a ``Conv2d``, or the weights.
    in_channel : int
        Which input channel's kernels to return.

    Returns
    -------
    (F, KH, KW) ndarray
        ``w[:, in_channel]``, a copy.
    """
    if hasattr(model_or_weights, "forward"):
        weights = _first_conv(model_or_weights).weight.data
    else:
        weights = np.asarray(model_or_weights)
    if weights.ndim != 4:
        raise ValueError(f"conv_filters: weights must be (F, C, KH, KW), got shape {weights.shape}")
    if not 0 <= in_channel < weights.shape[1]:
        raise ValueError(f"conv_filters: in_channel {in_channel} out of range for {weights.shape[1]} channels")
    return np.array(weights[:, in_channel], dtype=np.float64)


def plot_filters(model_or_weights, in_channel=0, ncols=8, size=1.2):
    """Draw :func:`conv_filters` in red (positive) and blue (negative), 0 white."""
    filters = conv_filters(model_or_weights, in_channel)
    titles = [f"filter {k}" for k in range(len(filters))]
    return plot_images(filters, titles=titles, ncols=ncols, cmap="RdBu_r", symmetric=True, size=size)


def feature_maps(model, x):
    """Pass one input through a ``Sequential`` model and keep every layer's output.

    Parameters
    ----------
    model : cnnlib.nn.Sequential
    x : (C, H, W) or (1, C, H, W) array_like
        One input (cast to the model's dtype).

    Returns
    -------
    list of (name, ndarray)
        ``[("input", x), (layer_name, output), ...]`` with the batch axis
        removed: ``(C, H, W)`` after convolutions and pooling, ``(D,)`` after
        ``Flatten`` and linear layers. The model is run in eval mode.
    """
    from . import nn

    if not isinstance(model, nn.Sequential):
        raise ValueError(f"feature_maps needs an nn.Sequential model, got {type(model).__name__}")
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps: pass one input of shape (C, H, W) or (1, C, H, W), got {x.shape}")
    dtype = model.dtype or np.float64
    out = x.astype(dtype, copy=False)
    was_training = model.training
    model.eval()
    maps = [("input", out[0].copy())]
    try:
        for name, layer in zip(_layer_names(model), model):
            out = layer.forward(out)
            maps.append((name, out[0].copy()))
    finally:
        model.train(was_training)
    return maps


def _layer_names(model):
    names = getattr(model, "names", None)
    if names is not None and len(names) == len(model):
        return list(names)
    return [f"{k}: {type(layer).__name__}" for k, layer in enumerate(model)]


def feature_montage(maps, max_maps=16, gap=1):
    """Channels of one layer side by side, each scaled to [0, 1], as one image.

    Parameters
    ----------
    maps : (C, H, W) array_like
    max_maps : int
        Keep the first ``max_maps`` channels.
    gap : int
        Columns of NaN (drawn blank) between neighbouring channels.

    Returns
    -------
    (H, k*W + (k-1)*gap) ndarray, k = min(C, max_maps)
        Channel ``c`` sits in columns ``c*(W+gap) : c*(W+gap)+W`` as
        ``(a - a.min()) / (a.max() - a.min())`` (all 0 for a constant map).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"feature_montage: expected (C, H, W) maps, got shape {maps.shape}")
    maps = maps[:max_maps]
    k, h, w = maps.shape
    out = np.full((h, k * w + (k - 1) * gap), np.nan)
    for c, a in enumerate(maps):
        span = a.max() - a.min()
        out[:, c * (w + gap):c * (w + gap) + w] = (a - a.min()) / span if span > 0 else 0.0
    return out


def plot_feature_maps(model, x, layers=None, max_maps=16, size=1.0):
    """Draw the 2-D feature maps of one input, one row per layer.

    ``layers`` picks layer names (default: the input and every layer whose
    output is 3-D, i.e. still an image). Each row is one :func:`feature_montage`
    of at most ``max_maps`` channels, each channel with its own colour range.
    """
    maps = [(name, a) for name, a in feature_maps(model, x) if a.ndim == 3]
    if layers is not None:
        wanted = set(layers)
        unknown = wanted - {name for name, _ in maps}
        if unknown:
            raise ValueError(f"plot_feature_maps: no image-shaped output named {sorted(unknown)}; "
                             f"choose from {[name for name, _ in maps]}")
        maps = [(name, a) for name, a in maps if name in wanted]
    plt = _pyplot()
    cols = min(max_maps, max(a.shape[0] for _, a in maps))
    fig, axes = plt.subplots(len(maps), 1, figsize=(size * cols + 1.0, size * len(maps)), squeeze=False)
    for ax, (name, a) in zip(axes[:, 0], maps):
        montage = feature_montage(a, max_maps, gap=1)
        unit = a.shape[2] + 1      # one map and its gap = 1 unit, so maps of every layer get the same size
        ax.imshow(montage, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest",
                  extent=(0, montage.shape[1] / unit, a.shape[1] / unit, 0))
        ax.set_xlim(0, cols)
        ax.set_anchor("W")         # rows start at the same left edge
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel(f"{name}\n{tuple(a.shape)}", rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

def confusion_matrix(y_true, y_pred, num_classes=None):
    """Count matrix ``C[i, j]`` = number of examples of class i predicted as j.

    Parameters
    ----------
    y_true, y_pred : (N,) array_like of int
        Labels in ``0 .. num_classes-1``.
    num_classes : int, optional
        Default: ``1 + max(y_true, y_pred)``.

    Returns
    -------
    (num_classes, num_classes) ndarray of int64
        Rows are true classes, columns predictions (as scikit-learn); the
        diagonal holds the correct ones, ``C.sum() == N``.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true and y_pred must be 1-D of equal length, "
                         f"got {y_true.shape} and {y_pred.shape}")
    for name, a in (("y_true", y_true), ("y_pred", y_pred)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold non-negative integer labels")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if y_true.size and max(y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError(f"confusion_matrix: a label is >= num_classes={num_classes}")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def plot_confusion_matrix(cm, class_names=None, title="confusion matrix"):
    """Draw a confusion matrix with its counts written in the cells."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: need a square matrix, got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(0.45 * k + 1.5, 0.45 * k + 1.2))
    ax.imshow(cm, cmap="Blues")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > threshold else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names)
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def misclassified(y_true, y_pred):
    """Indices of the examples whose prediction differs from the label, in order."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"misclassified: y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    return np.flatnonzero(y_true != y_pred)


def plot_misclassified(images, y_true, y_pred, max_images=20, ncols=10):
    """Draw the first ``max_images`` misclassified images titled ``true -> predicted``."""
    images = _as_images(images, "plot_misclassified")
    wrong = misclassified(y_true, y_pred)[:max_images]
    if len(wrong) == 0:
        raise ValueError("plot_misclassified: every example is classified correctly, nothing to draw")
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    titles = [f"{y_true[i]} -> {y_pred[i]}" for i in wrong]
    return plot_images(images[wrong], titles=titles, ncols=ncols)


# --------------------------------------------------------------------------
# training curves
# --------------------------------------------------------------------------

def history_curves(history):
    """The curves :func:`plot_history` draws, as arrays.

    Parameters
    ----------
    history : cnnlib.train.History (or a dict with the same keys)

    Returns
    -------
    dict
        ``"step"`` (1..S) and ``"batch_loss"`` per step; ``"epoch"``,
        ``"loss"``, ``"accuracy"`` (and ``"val_loss"``, ``"val_accuracy"``
        when recorded) per epoch. Every value is a float ndarray.
    """
    def get(key):
        return np.asarray(history[key] if key in _keys(history) else [], dtype=np.float64)

    curves = {"step": np.arange(1, len(get("batch_loss")) + 1, dtype=np.float64), "batch_loss": get("batch_loss")}
    for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy"):
        curves[key] = get(key)
    return curves


def _keys(history):
    return history.keys() if isinstance(history, dict) else history.__dict__.keys()


def plot_history(histories, axes=None):
    """Loss per step and accuracy per epoch of one or several training runs.

    Parameters
    ----------
    histories : History or dict of {label: History}
    axes : pair of matplotlib axes, optional
        Draw into these (cleared first) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(histories, dict) or "batch_loss" in histories:
        histories = {"": histories}
    plt = _pyplot()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = axes[0].figure
        for ax in axes:
            ax.clear()
    loss_ax, acc_ax = axes
    for k, (label, history) in enumerate(histories.items()):
        c = history_curves(history)
        colour = f"C{k}"
        if len(c["batch_loss"]):
            loss_ax.plot(c["step"], c["batch_loss"], color=colour, alpha=0.8, lw=1, label=label or None)
        if len(c["epoch"]):
            acc_ax.plot(c["epoch"], c["accuracy"], "o-", color=colour, label=f"{label} train".strip())
        if len(c["val_accuracy"]):
            acc_ax.plot(c["epoch"], c["val_accuracy"], "s--", color=colour, label=f"{label} validation".strip())
    loss_ax.set_xlabel("step (mini-batch)")
    loss_ax.set_ylabel("mini-batch loss")
    loss_ax.set_yscale("log")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
