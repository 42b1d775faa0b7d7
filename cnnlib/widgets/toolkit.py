"""Lecture "Training toolkit": initialisation, normalisation, dropout,
augmentation, weight decay, learning-rate schedules, momentum and Adam.

Plain functions (tested without a browser) compute every number the lecture
shows; ``init_explorer``, ``augmentation_explorer``, ``schedule_explorer`` and
``optimizer_path_explorer`` are thin ipywidgets wrappers around them.
Notation as in the lecture: a layer computes ``z = W h + b`` from the previous
activations ``h`` (``fan_in`` inputs, ``fan_out`` outputs), then ``h' = f(z)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import augment as AUG
from ..losses import softmax_cross_entropy
from . import _controls as C

__all__ = [
    "INITS",
    "init_std",
    "variance_gain",
    "activation_stds",
    "init_explorer",
    "NORMALIZATIONS",
    "shared_statistics",
    "normalize",
    "draw_normalizations",
    "TRANSFORMS",
    "augmented",
    "augmentation_explorer",
    "SCHEDULES",
    "lr_schedule",
    "schedule_explorer",
    "BOWL",
    "bowl_loss",
    "optimizer_path",
    "optimizer_path_explorer",
    "weight_norm",
    "train_run",
    "plot_runs",
]


# --------------------------------------------------------------------------
# Weight initialisation
# --------------------------------------------------------------------------

#: Standard deviation of the initial weights as a function of (fan_in, fan_out).
INITS = {
    "small (std 0.01)": lambda fan_in, fan_out: 0.01,
    "large (std 1)": lambda fan_in, fan_out: 1.0,
    "Xavier": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),   # Glorot & Bengio (2010)
    "He": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),                   # He et al. (2015)
}

_ACTIVATIONS = {
    "ReLU": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "linear": (lambda z: z, np.ones_like),
}

# E[f(z)^2] / Var(z) for z ~ N(0, s^2) with small s: 1/2 for ReLU (half the values are zeroed),
# 1 for tanh (tanh z ≈ z near 0) and for no activation
_SECOND_MOMENT = {"ReLU": 0.5, "tanh": 1.0, "linear": 1.0}


def init_std(init, fan_in, fan_out):
    """Standard deviation of the initial weights of a layer under one of :data:`INITS`.

    Xavier: ``sqrt(2 / (fan_in + fan_out))``; He: ``sqrt(2 / fan_in)``.
    """
    if init not in INITS:
        raise ValueError(f"init_std: unknown init {init!r}; choose from {list(INITS)}")
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"init_std: fan_in and fan_out must be >= 1, got {fan_in}, {fan_out}")
    return float(INITS[init](fan_in, fan_out))


def variance_gain(init, activation, fan_in, fan_out=None):
    """Predicted factor by which ``Var(z)`` changes from one layer to the next.

    ``Var(z') = fan_in * Var(w) * E[f(z)^2]`` and ``E[f(z)^2] = c Var(z)``
    with ``c = 1/2`` for ReLU, 1 for tanh (near 0) and for no activation,
    so the gain is ``fan_in * std^2 * c``. He + ReLU gives exactly 1.
    """
    if activation not in _SECOND_MOMENT:
        raise ValueError(f"variance_gain: unknown activation {activation!r}; choose from {list(_SECOND_MOMENT)}")
    fan_out = fan_in if fan_out is None else fan_out
    return fan_in * init_std(init, fan_in, fan_out) ** 2 * _SECOND_MOMENT[activation]


def activation_stds(init="He", activation="ReLU", depth=10, width=256, batch=512, seed=0):
    """Push a batch of standard-normal inputs through ``depth`` random layers and back.

    Each layer is ``z = h W^T`` (``width`` by ``width``, no bias) with weights
    drawn under ``init``, then ``h = f(z)``. The backward pass starts from a
    standard-normal gradient at the top and multiplies by ``f'(z)`` and ``W``.

    Returns
    -------
    dict
        ``z_std`` (depth,) std of the pre-activations per layer; ``h_std``
        (depth,) std of the activations; ``grad_std`` (depth,) std of
        ``dL/dh`` arriving at each layer's input (index 0: the first layer);
        ``h`` list of the activations (batch, width) per layer;
        ``gain`` the predicted variance factor per layer (:func:`variance_gain`).
    """
    if depth < 1 or width < 1 or batch < 2:
        raise ValueError(f"activation_stds: need depth >= 1, width >= 1, batch >= 2; got {depth}, {width}, {batch}")
    f, df = _ACTIVATIONS[activation] if activation in _ACTIVATIONS else (None, None)
    if f is None:
        raise ValueError(f"activation_stds: unknown activation {activation!r}; choose from {list(_ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    std = init_std(init, width, width)
    h = rng.standard_normal((batch, width))
    weights, zs, hs = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            w = rng.standard_normal((width, width)) * std
            z = h @ w.T
            h = f(z)
            weights.append(w)
            zs.append(z)
            hs.append(h)
        grad = rng.standard_normal((batch, width))        # dL/dh at the top
        grad_std = np.empty(depth)
        for layer in range(depth - 1, -1, -1):
            grad = (grad * df(zs[layer])) @ weights[layer]
            grad_std[layer] = grad.std()
    return {"z_std": np.array([z.std() for z in zs]), "h_std": np.array([h.std() for h in hs]),
            "grad_std": grad_std, "h": hs, "gain": variance_gain(init, activation, width, width)}


def init_explorer(init="He", activation="ReLU", depth=10, width=256):
    """A widget: choose the initialisation, the activation and the depth; see each layer's activations.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"init", "activation", "depth"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    init_choice = C.dropdown("initialisation", list(INITS), init)
    act_choice = C.dropdown("activation", list(_ACTIVATIONS), activation)
    depth_slider = C.int_slider("layers", 1, 30, depth)
    figure, text = C.html_area(), C.html_area()

    def redraw():
        n = depth_slider.value
        stats = activation_stds(init_choice.value, act_choice.value, n, width=width, batch=256)
        layers = np.arange(1, n + 1)
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        with np.errstate(divide="ignore"):
            axes[0].semilogy(layers, stats["z_std"], "o-", label="std of z (forward)")
            axes[0].semilogy(layers, stats["grad_std"], "s--", label="std of dL/dh (backward)")
        axes[0].axhline(1.0, color="0.6", linewidth=0.8)
        # at least three decades either side of 1, so that sampling noise does not look like a trend
        finite = np.concatenate([stats["z_std"], stats["grad_std"]])
        finite = finite[np.isfinite(finite) & (finite > 0)]
        low = min(1e-3, finite.min() / 2) if finite.size else 1e-3
        high = max(1e3, finite.max() * 2) if finite.size else 1e3
        axes[0].set_ylim(low, high)
        axes[0].set_xlabel("layer")
        axes[0].set_title(f"{init_choice.value}, {act_choice.value}", fontsize=10)
        axes[0].legend(fontsize=8)
        shown = sorted({1, max(1, n // 2), n})
        for layer in shown:
            values = stats["h"][layer - 1].ravel()
            values = values[np.isfinite(values) & (values != 0)]     # ReLU's exact zeros would swamp the plot
            spread = max(float(np.abs(values).max()) if values.size else 1.0, 1e-12)
            axes[1].hist(values / spread, bins=50, histtype="step", density=True,
                         label=f"layer {layer} (x {spread:.2g})")
        axes[1].set_xlabel("activation h / its largest |h|")
        axes[1].set_title("non-zero activations, rescaled", fontsize=10)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        last = stats["z_std"][-1]
        text.value = (f"Predicted variance factor per layer: fan_in · Var(w) · c = <b>{stats['gain']:.3g}</b>, "
                      f"so after {n} layers std(z) ≈ {stats['gain'] ** (n / 2):.3g} × std(z<sub>1</sub>). "
                      f"Measured std of z at layer {n}: <b>{last:.3g}</b>.")

    return C.widget_root([C.require_ipywidgets().HBox([init_choice, act_choice]), depth_slider, figure, text],
                         controls={"init": init_choice, "activation": act_choice, "depth": depth_slider},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Normalisation layers: which values share a mean and a variance
# --------------------------------------------------------------------------

NORMALIZATIONS = ("batch", "layer", "instance", "group")


def shared_statistics(kind, shape, groups=2, n=0, c=0):
    """Which entries of an ``(N, C, H*W)`` tensor are normalized together with entry ``(n, c, ·)``.

    batch: one channel over the whole batch and all positions; layer: one
    example, all channels and positions; instance: one example, one channel;
    group: one example, the channels of one of ``groups`` equal groups
    (Wu & He, 2018, figure 2).

    Returns
    -------
    ndarray of bool, shape (N, C, HW)
    """
    if kind not in NORMALIZATIONS:
        raise ValueError(f"shared_statistics: unknown kind {kind!r}; choose from {NORMALIZATIONS}")
    N, Cn, HW = shape
    if kind == "group" and (groups < 1 or Cn % groups):
        raise ValueError(f"shared_statistics: {Cn} channels cannot be split into {groups} equal groups")
    mask = np.zeros(shape, dtype=bool)
    if kind == "batch":
        mask[:, c, :] = True
    elif kind == "layer":
        mask[n] = True
    elif kind == "instance":
        mask[n, c] = True
    else:
        size = Cn // groups
        first = (c // size) * size
        mask[n, first:first + size] = True
    return mask


def normalize(x, kind, groups=2, eps=1e-5):
    """Normalize ``x`` (N, C, H, W) to mean 0 and variance 1 over the sets of :func:`shared_statistics`.

    No learned scale and shift (they are the same ``gamma``, ``beta`` per
    channel for all four kinds). Group norm with ``groups=1`` is layer norm,
    with ``groups=C`` it is instance norm.

    Returns
    -------
    ndarray, shape of x
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"normalize: x must be (N, C, H, W), got shape {x.shape}")
    n, c, h, w = x.shape
    if kind == "batch":
        axes, y = (0, 2, 3), x
    elif kind == "layer":
        axes, y = (1, 2, 3), x
    elif kind == "instance":
        axes, y = (2, 3), x
    elif kind == "group":
        if groups < 1 or c % groups:
            raise ValueError(f"normalize: {c} channels cannot be split into {groups} equal groups")
        y = x.reshape(n, groups, c // groups, h, w)
        axes = (2, 3, 4)
    else:
        raise ValueError(f"normalize: unknown kind {kind!r}; choose from {NORMALIZATIONS}")
    mu = y.mean(axis=axes, keepdims=True)
    var = y.var(axis=axes, keepdims=True)
    return ((y - mu) / np.sqrt(var + eps)).reshape(x.shape)


def draw_normalizations(shape=(6, 6, 6), groups=2, axes=None):
    """The four normalisations as 3-D blocks (N, C, H·W), the shared set in blue (Wu & He, 2018).

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig = plt.figure(figsize=(12, 3.4))
        axes = [fig.add_subplot(1, 4, i + 1, projection="3d") for i in range(4)]
    fig = axes[0].figure
    for ax, kind in zip(axes, NORMALIZATIONS):
        # the last example and the first channel: the faces this view shows
        mask = shared_statistics(kind, shape, groups, n=shape[0] - 1, c=0)
        # voxel axes: x = N (batch), y = C (channels), z = H*W (positions)
        colours = np.where(mask[..., None], np.array([0.25, 0.55, 0.95, 1.0]), np.array([0.93, 0.93, 0.93, 0.9]))
        ax.voxels(np.ones(shape, dtype=bool), facecolors=colours, edgecolor=(0.3, 0.3, 0.3, 0.8), linewidth=0.4,
                  shade=False)
        ax.set_xlabel("N", labelpad=-10)
        ax.set_ylabel("C", labelpad=-10)
        ax.set_zlabel("H, W", labelpad=-10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        ax.view_init(elev=20, azim=-55)
        title = f"{kind} norm" + (f" ({groups} groups)" if kind == "group" else "")
        ax.set_title(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------
# Data augmentation
# --------------------------------------------------------------------------

#: Name -> (function of (images, strength, rng), unit of the strength).
TRANSFORMS = {
    "shift": (lambda x, s, rng: AUG.random_shift(x, int(round(s)), rng), "pixels"),
    "rotate": (lambda x, s, rng: AUG.random_rotate(x, s, rng), "degrees"),
    "elastic": (lambda x, s, rng: AUG.elastic_deform(x, s, 4.0, rng), "alpha (pixels)"),
    "noise": (lambda x, s, rng: AUG.add_noise(x, s, rng, clip=(0, 1)), "std"),
}


def augmented(image, transform, strength, copies=8, seed=0):
    """``copies`` random versions of one image under one of :data:`TRANSFORMS`.

    Parameters
    ----------
    image : ndarray, shape (H, W), values in [0, 1]
    transform : str
    strength : float
        Largest shift (pixels), largest angle (degrees), elastic alpha, or noise std.
    copies : int
    seed : int

    Returns
    -------
    ndarray, shape (copies, H, W)
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"augmented: unknown transform {transform!r}; choose from {list(TRANSFORMS)}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"augmented: image must be (H, W), got shape {image.shape}")
    stack = np.repeat(image[None], copies, axis=0)
    if strength == 0:
        return stack
    return TRANSFORMS[transform][0](stack, strength, np.random.default_rng(seed))


_STRENGTHS = {"shift": (0, 6, 2, 1), "rotate": (0, 60, 15, 5), "elastic": (0, 60, 34, 2), "noise": (0, 0.6, 0.2, 0.05)}


def augmentation_explorer(images, transform="rotate"):
    """A widget: pick a digit, a transform and its strength; see eight random versions.

    Parameters
    ----------
    images : ndarray, shape (N, H, W), values in [0, 1]

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"digit", "transform", "strength", "seed"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=np.float64)
    digit = C.int_slider("digit", 0, len(images) - 1, 0)
    choice = C.dropdown("transform", list(TRANSFORMS), transform)
    low, high, value, step = _STRENGTHS[transform]
    strength = C.float_slider("strength", low, high, value, step=step)
    seed = C.int_slider("seed", 0, 20, 0)
    figure, text = C.html_area(), C.html_area()
    busy = [False]

    def retarget():
        busy[0] = True
        low, high, value, step = _STRENGTHS[choice.value]
        strength.max = max(high, strength.min)
        strength.min, strength.max, strength.step, strength.value = low, high, step, value
        busy[0] = False
        redraw()

    def redraw():
        if busy[0]:
            return
        original = images[digit.value]
        versions = augmented(original, choice.value, strength.value, copies=8, seed=seed.value)
        fig, axes = plt.subplots(1, 9, figsize=(10, 1.5))
        for ax, img, title in zip(axes, [original, *versions], ["original"] + [""] * 8):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        figure.value = C.figure_html(fig)
        change = float(np.abs(versions - original).mean())
        text.value = (f"{choice.value}, strength {strength.value:g} {TRANSFORMS[choice.value][1]}: "
                      f"mean |pixel change| <b>{change:.3f}</b>. The label stays the same.")

    choice.observe(lambda change: retarget(), names="value")
    C.on_change([digit, strength, seed], redraw)
    redraw()
    return C.widget_root([C.require_ipywidgets().HBox([choice, digit]), strength, seed, figure, text],
                         controls={"digit": digit, "transform": choice, "strength": strength, "seed": seed},
                         outputs={"figure": figure, "text": text})


# --------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------

SCHEDULES = ("constant", "step", "cosine", "warmup + cosine")


def lr_schedule(kind, step, total_steps, lr0=0.1, gamma=0.1, step_size=None, lr_min=0.0, warmup=0):
    """The learning rate at ``step`` (0-based) of a run of ``total_steps``.

    - constant: ``lr0``;
    - step: ``lr0 * gamma ** floor(step / step_size)`` (``step_size`` defaults to a third of the run);
    - cosine: ``lr_min + (lr0 - lr_min) (1 + cos(pi step / total_steps)) / 2``;
    - warmup + cosine: ``lr0 (step + 1) / warmup`` for the first ``warmup`` steps, then the cosine
      over the remaining steps.

    ``step`` may be an array; the result has its shape.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"lr_schedule: unknown schedule {kind!r}; choose from {SCHEDULES}")
    if total_steps < 1:
        raise ValueError(f"lr_schedule: total_steps must be >= 1, got {total_steps}")
    t = np.asarray(step, dtype=np.float64)
    if kind == "constant":
        out = np.full_like(t, lr0)
    elif kind == "step":
        size = step_size or max(1, total_steps // 3)
        out = lr0 * gamma ** np.floor(t / size)
    else:
        warm = warmup if kind == "warmup + cosine" else 0
        if warm >= total_steps:
            raise ValueError(f"lr_schedule: warmup ({warm}) must be shorter than the run ({total_steps})")
        progress = np.clip((t - warm) / (total_steps - warm), 0, 1)
        out = lr_min + (lr0 - lr_min) * (1 + np.cos(np.pi * progress)) / 2
        if warm:
            out = np.where(t < warm, lr0 * (t + 1) / warm, out)
    return float(out) if out.ndim == 0 else out


def schedule_explorer(total_steps=300, lr0=0.1):
    """A widget: choose a schedule and its knobs; see the learning rate over a run.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"schedule", "gamma", "warmup"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    kind = C.dropdown("schedule", list(SCHEDULES), "step")
    gamma = C.float_slider("step: gamma", 0.05, 0.9, 0.1, step=0.05)
    warmup = C.int_slider("warmup steps", 0, total_steps // 2, total_steps // 10, step=5)
    figure, text = C.html_area(), C.html_area()
    steps = np.arange(total_steps)

    def redraw():
        lrs = lr_schedule(kind.value, steps, total_steps, lr0, gamma=gamma.value, warmup=warmup.value)
        fig, ax = plt.subplots(figsize=(6, 2.6))
        for other in SCHEDULES:
            if other != kind.value:
                ax.plot(steps, lr_schedule(other, steps, total_steps, lr0, gamma=gamma.value, warmup=warmup.value),
                        color="0.85", linewidth=1)
        ax.plot(steps, lrs, linewidth=2)
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.set_title(kind.value, fontsize=10)
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        text.value = (f"mean learning rate over the run <b>{lrs.mean():.4f}</b> "
                      f"(lr<sub>0</sub> = {lr0}); last step <b>{lrs[-1]:.4f}</b>")

    return C.widget_root([kind, gamma, warmup, figure, text],
                         controls={"schedule": kind, "gamma": gamma, "warmup": warmup},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Momentum and Adam on a long narrow valley
# --------------------------------------------------------------------------

#: Curvatures of the valley L(w) = (a w0^2 + b w1^2) / 2 and the starting point.
BOWL = {"curvature": (1.0, 20.0), "start": (-4.0, 1.5)}


def bowl_loss(w, curvature=BOWL["curvature"]):
    """``L(w) = (a w0^2 + b w1^2) / 2`` and its gradient ``(a w0, b w1)``; ``w`` is (..., 2)."""
    w = np.asarray(w, dtype=np.float64)
    a, b = curvature
    return 0.5 * (a * w[..., 0] ** 2 + b * w[..., 1] ** 2), np.stack([a * w[..., 0], b * w[..., 1]], axis=-1)


_PATH_OPTIMIZERS = {
    "SGD": lambda p, lr: ("SGD", {"lr": lr}),
    "SGD + momentum 0.9": lambda p, lr: ("SGD", {"lr": lr, "momentum": 0.9}),
    "Adam": lambda p, lr: ("Adam", {"lr": lr}),
}


def optimizer_path(name, lr, steps=50, start=BOWL["start"], curvature=BOWL["curvature"]):
    """Run one of cnnlib's optimizers on :func:`bowl_loss` and record where it goes.

    The point ``w`` is a :class:`cnnlib.nn.Parameter`; each step sets its
    ``grad`` to the exact gradient and calls ``optimizer.step()``, so this is
    the same update rule that trains the networks.

    Parameters
    ----------
    name : {"SGD", "SGD + momentum 0.9", "Adam"}
    lr : float
    steps : int
    start, curvature : pairs of float

    Returns
    -------
    dict
        ``path`` (steps + 1, 2) positions, ``loss`` (steps + 1,) values.
    """
    from .. import optim
    from ..nn import Parameter

    if name not in _PATH_OPTIMIZERS:
        raise ValueError(f"optimizer_path: unknown optimizer {name!r}; choose from {list(_PATH_OPTIMIZERS)}")
    w = Parameter(np.array(start, dtype=np.float64), name="w")
    cls, kwargs = _PATH_OPTIMIZERS[name](w, lr)
    optimizer = getattr(optim, cls)([w], **kwargs)
    path = [w.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            w.grad[...] = bowl_loss(w.data, curvature)[1]
            optimizer.step()
            path.append(w.data.copy())
    path = np.array(path)
    return {"path": path, "loss": bowl_loss(path, curvature)[0]}


def optimizer_path_explorer(lr=0.05, steps=40):
    """A widget: one learning rate for SGD, momentum and Adam on the same valley; see the three paths.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"lr", "steps"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    rate = C.float_slider("learning rate", 0.01, 0.11, lr, step=0.01, readout_format=".2f")
    n_steps = C.int_slider("steps", 5, 100, steps, step=5)
    figure, text = C.html_area(), C.html_area()
    g0, g1 = np.meshgrid(np.linspace(-5, 5, 121), np.linspace(-2.5, 2.5, 81))
    grid = bowl_loss(np.stack([g0, g1], axis=-1))[0]

    def redraw():
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1.6, 1]})
        axes[0].contour(g0, g1, grid, levels=np.geomspace(0.05, 60, 12), colors="0.75", linewidths=0.8)
        rows = []
        for name, colour in zip(_PATH_OPTIMIZERS, ["#d62728", "#1f77b4", "#2ca02c"]):
            run = optimizer_path(name, rate.value, n_steps.value)
            path = np.clip(run["path"], -50, 50)
            axes[0].plot(path[:, 0], path[:, 1], "o-", markersize=2.5, linewidth=1, color=colour, label=name)
            with np.errstate(divide="ignore"):
                axes[1].semilogy(np.maximum(run["loss"], 1e-12), color=colour, label=name)
            rows.append(f"{name}: <b>{run['loss'][-1]:.3g}</b>")
        axes[0].set_xlim(-5, 5)
        axes[0].set_ylim(-2.5, 2.5)
        axes[0].plot([0], [0], "k*", markersize=9)
        axes[0].set_xlabel("w0 (curvature 1)")
        axes[0].set_ylabel("w1 (curvature 20)")
        axes[0].legend(fontsize=8, loc="lower right")
        axes[1].set_xlabel("step")
        axes[1].set_title("loss", fontsize=10)
        axes[1].set_ylim(1e-6, 1e3)
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        text.value = (f"loss after {n_steps.value} steps at lr = {rate.value:.2f}: " + "; ".join(rows)
                      + ". Plain SGD diverges along w1 once lr > 2/20 = 0.1.")

    return C.widget_root([rate, n_steps, figure, text], controls={"lr": rate, "steps": n_steps},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Training runs for the lecture's comparisons
# --------------------------------------------------------------------------

def weight_norm(model):
    """Euclidean norm of all weight matrices and kernels (biases and batch-norm parameters excluded)."""
    total = 0.0
    for p in model.parameters():
        if p.name.endswith("weight") and p.data.ndim >= 2:
            total += float(np.sum(p.data.astype(np.float64) ** 2))
    return math.sqrt(total)


def _evaluate(model, X, y, batch_size=500):
    was_training = model.training
    model.eval()
    try:
        scores = np.concatenate([model.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)
    loss, _ = softmax_cross_entropy(scores, y)
    return float(loss), float(np.mean(scores.argmax(axis=1) == y))


def train_run(model, optimizer, X, y, steps=300, batch_size=64, validation_data=None, schedule=None,
              transform=None, eval_every=25, seed=0):
    """Train for a fixed number of mini-batch steps and record the curves.

    Parameters
    ----------
    model : cnnlib.nn.Module
    optimizer : cnnlib.optim.Optimizer
    X : ndarray, shape (N, ...), already in the model's dtype
    y : ndarray of int, shape (N,)
    steps, batch_size : int
    validation_data : (X_val, y_val), optional
    schedule : callable, optional
        ``schedule(step)`` gives the learning rate of that step (0-based); it
        is written into ``optimizer.lr`` before the step.
    transform : callable, optional
        ``transform(xb, rng)`` returns an augmented batch (training only).
    eval_every : int
        Every this many steps (and after the last) measure, in evaluation
        mode, the loss and accuracy on the first 1,000 training examples and
        on the validation data, and the weight norm.
    seed : int
        Seed of the mini-batch order and of ``transform``'s randomness.

    Returns
    -------
    dict of arrays
        ``loss`` (steps,) training loss of each batch, ``lr`` (steps,),
        ``eval_step``, ``train_loss``, ``train_accuracy``, ``val_loss``,
        ``val_accuracy``, ``weight_norm`` (one value per evaluation).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y) or len(X) < 1:
        raise ValueError(f"train_run: X and y must hold the same positive number of examples, got {len(X)}, {len(y)}")
    rng = np.random.default_rng(seed)
    record = {key: [] for key in ("loss", "lr", "eval_step", "train_loss", "train_accuracy", "val_loss",
                                  "val_accuracy", "weight_norm")}
    order, position = rng.permutation(len(X)), 0
    probe = (X[:1000], y[:1000])

    def measure(step):
        record["eval_step"].append(step)
        for prefix, data in (("train", probe), ("val", validation_data)):
            loss, acc = _evaluate(model, *data) if data is not None else (np.nan, np.nan)
            record[f"{prefix}_loss"].append(loss)
            record[f"{prefix}_accuracy"].append(acc)
        record["weight_norm"].append(weight_norm(model))

    model.train()
    measure(0)
    for step in range(steps):
        if position + batch_size > len(X):
            order, position = rng.permutation(len(X)), 0
        idx = order[position:position + batch_size]
        position += batch_size
        xb, yb = X[idx], y[idx]
        if transform is not None:
            xb = np.asarray(transform(xb, rng), dtype=X.dtype)
        if schedule is not None:
            optimizer.lr = float(schedule(step))
        optimizer.zero_grad()
        loss, dscores = softmax_cross_entropy(model.forward(xb), yb)
        if getattr(model, "can_skip_input_grad", False):
            model.backward(dscores, need_dx=False)         # only the parameters' gradients are needed
        else:
            model.backward(dscores)
        optimizer.step()
        record["loss"].append(float(loss))
        record["lr"].append(optimizer.lr)
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            measure(step + 1)
    return {key: np.array(values) for key, values in record.items()}


def _smooth(values, width=15):
    values = np.asarray(values, dtype=np.float64)
    if len(values) < width:
        return values
    kernel = np.ones(width) / width
    return np.convolve(values, kernel, mode="valid")


def plot_runs(runs, metrics=("loss", "val_accuracy"), axes=None, title=None):
    """Curves of several :func:`train_run` results side by side, one panel per metric.

    ``loss`` is the batch loss smoothed over 15 steps; the others are the
    evaluation points. ``train_accuracy`` is drawn dashed in the colour of
    its run when ``metrics`` holds both accuracies.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.2))
    axes = np.atleast_1d(axes)
    labels = {"loss": "training loss (batch, smoothed)", "val_accuracy": "held-out accuracy",
              "train_accuracy": "training accuracy", "val_loss": "held-out loss", "weight_norm": "weight norm",
              "lr": "learning rate"}
    for ax, metric in zip(axes, metrics):
        for k, (name, run) in enumerate(runs.items()):
            colour = f"C{k}"
            if metric in ("loss", "lr"):
                values = _smooth(run[metric]) if metric == "loss" else run[metric]
                ax.plot(np.arange(len(values)) + (len(run[metric]) - len(values)) // 2, values, color=colour,
                        label=name)
            else:
                ax.plot(run["eval_step"], run[metric], "o-", markersize=3, color=colour, label=name)
        ax.set_xlabel("step")
        ax.set_title(labels.get(metric, metric), fontsize=10)
        ax.legend(fontsize=8)
    if title:
        axes[0].figure.suptitle(title, fontsize=11)
    axes[0].figure.tight_layout()
    return axes[0].figure
