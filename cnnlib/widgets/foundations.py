"""Lecture "Neural-network foundations": perceptron, activations, universal
approximation, depth, losses, mini-batches and gradient shapes.

Plain functions (tested without a browser) compute every number the lecture
shows; ``perceptron_stepper``, ``activation_explorer`` and
``universal_approximation_explorer`` are thin ipywidgets wrappers around them.
Notation as in the lecture: input ``x``, weights ``w`` (matrix ``W``), bias
``b``, pre-activation ``z = w·x + b``, activation ``f``.
"""
from __future__ import annotations

import numpy as np

from .. import activations as A
from ..losses import softmax_cross_entropy
from . import _controls as C

__all__ = [
    "AND_DATASET",
    "perceptron_predict",
    "perceptron_train",
    "perceptron_stepper",
    "ACTIVATIONS",
    "activation",
    "activation_explorer",
    "collapse_linear",
    "TARGETS",
    "hidden_features",
    "fit_hidden_units",
    "approximation_parameters",
    "universal_approximation_explorer",
    "tent",
    "sawtooth",
    "count_linear_pieces",
    "score_losses",
    "minibatch_loss_curves",
    "two_layer_gradients",
]


# --------------------------------------------------------------------------
# The perceptron
# --------------------------------------------------------------------------

#: The logical AND of two bits: four points, only (1, 1) is positive.
AND_DATASET = (np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 0, 0, 1]))


def perceptron_predict(X, w, b):
    """Rosenblatt's rule: 1 if ``w·x + b > 0`` else 0, for each row of ``X`` (N, D)."""
    return (np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64) + b > 0).astype(np.int64)


def perceptron_train(X, y, lr=1.0, epochs=20, w=None, b=0.0):
    """Train a perceptron with its update rule, visiting the points in order.

    For each point: ``ŷ = step(w·x + b)``; if ``ŷ != y``:
    ``w <- w + lr (y - ŷ) x`` and ``b <- b + lr (y - ŷ)``. Stops after the
    first epoch without a mistake (the data are separated) or after ``epochs``.

    Parameters
    ----------
    X : (N, D) array_like
    y : (N,) array_like of 0/1
    lr : float
    epochs : int
    w : (D,) array_like, optional
        Starting weights (default zeros).
    b : float

    Returns
    -------
    dict
        ``w`` (D,), ``b`` float, ``converged`` bool, ``mistakes`` list of the
        number of mistakes per epoch, ``steps`` list with one dict per visited
        point: ``epoch``, ``index``, ``z``, ``prediction``, ``mistake``, and
        ``w``, ``b`` *after* the visit.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"perceptron_train: X must be (N, D) and y (N,), got {X.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("perceptron_train: labels must be 0 or 1")
    w = np.zeros(X.shape[1]) if w is None else np.array(w, dtype=np.float64)
    b = float(b)
    steps, mistakes = [], []
    for epoch in range(epochs):
        errors = 0
        for i, (x, target) in enumerate(zip(X, y)):
            z = float(x @ w + b)
            prediction = int(z > 0)
            mistake = prediction != target
            if mistake:
                w = w + lr * (target - prediction) * x
                b = b + lr * (target - prediction)
                errors += 1
            steps.append({"epoch": epoch, "index": i, "z": z, "prediction": prediction, "mistake": bool(mistake),
                          "w": w.copy(), "b": b})
        mistakes.append(errors)
        if errors == 0:
            break
    return {"w": w, "b": b, "converged": mistakes[-1] == 0, "mistakes": mistakes, "steps": steps}


def _draw_line(ax, w, b, limits, **style):
    """The boundary ``w0 x0 + w1 x1 + b = 0`` inside ``limits``."""
    lo, hi = limits
    xs = np.linspace(lo, hi, 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **style)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-b / w[0], **style)


def perceptron_figure(X, y, w, b, highlight=None, ax=None, limits=None):
    """Points (o: class 0, x: class 1), the boundary and the side where the perceptron says 1."""
    import matplotlib.pyplot as plt

    X = np.asarray(X, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.8, 3.6))
    if limits is None:
        pad = 0.5 + 0.1 * np.ptp(X)
        limits = (X.min() - pad, X.max() + pad)
    grid = np.linspace(*limits, 120)
    gx, gy = np.meshgrid(grid, grid)
    side = perceptron_predict(np.c_[gx.ravel(), gy.ravel()], w, b).reshape(gx.shape)
    ax.contourf(gx, gy, side, levels=[-0.5, 0.5, 1.5], colors=["#dbe8f6", "#f9dcdc"])
    ax.scatter(*X[y == 0].T, marker="o", color="#1f77b4", edgecolor="black", s=45, label="y = 0", zorder=3)
    ax.scatter(*X[y == 1].T, marker="X", color="#d62728", edgecolor="black", s=60, label="y = 1", zorder=3)
    _draw_line(ax, w, b, limits, color="black", linewidth=2)
    if highlight is not None:
        ax.scatter(*X[highlight], s=260, facecolor="none", edgecolor="orange", linewidth=2.5, zorder=4)
    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    ax.set_aspect("equal")
    return ax


def perceptron_stepper(X=None, y=None, lr=1.0):
    """A widget: step through the perceptron's visits, one point at a time.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"step"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    if X is None:
        X, y = AND_DATASET
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    run = perceptron_train(X, y, lr=lr, epochs=50)
    steps = run["steps"]
    step = C.int_slider("visit", 0, len(steps), 0)
    figure, text = C.html_area(), C.html_area()
    pad = 0.5 + 0.1 * np.ptp(X)
    limits = (X.min() - pad, X.max() + pad)

    def redraw():
        k = step.value
        if k == 0:
            w, b, note = np.zeros(X.shape[1]), 0.0, "start: w = 0, b = 0 (every point is predicted 0)"
            highlight = None
        else:
            s = steps[k - 1]
            w, b, highlight = s["w"], s["b"], s["index"]
            x = X[s["index"]]
            verdict = (f"<b>mistake</b>: w += {lr:g}·({y[s['index']]} − {s['prediction']})·x, "
                       f"b += {lr:g}·({y[s['index']]} − {s['prediction']})"
                       if s["mistake"] else "correct: no change")
            note = (f"epoch {s['epoch'] + 1}, point {s['index']} x = ({x[0]:g}, {x[1]:g}), y = {y[s['index']]}: "
                    f"z = w·x + b = {s['z']:g} → ŷ = {s['prediction']}; {verdict}")
        fig, ax = plt.subplots(figsize=(3.8, 3.6))
        perceptron_figure(X, y, w, b, highlight, ax, limits)
        ax.set_title(f"w = ({w[0]:g}, {w[1]:g}), b = {b:g}", fontsize=10)
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        text.value = note + (f"<br>converged after {len(run['mistakes'])} epochs "
                             f"(mistakes per epoch: {run['mistakes']})" if k == len(steps) else "")

    return C.widget_root([step, figure, text], controls={"step": step}, outputs={"figure": figure, "text": text},
                         redraw=redraw)


# --------------------------------------------------------------------------
# Activation functions and their derivatives
# --------------------------------------------------------------------------

def _step(x):
    return (x > 0).astype(np.float64), np.zeros_like(x)


def _with_backward(forward, backward):
    def both(x):
        out, cache = forward(x)
        return out, backward(np.ones_like(out), cache)
    return both


#: name -> function returning ``(f(x), f'(x))``; the derivative is cnnlib's
#: backward pass with an upstream gradient of 1 (downstream = upstream × local).
ACTIVATIONS = {
    "sigmoid": _with_backward(A.sigmoid_forward, A.sigmoid_backward),
    "tanh": _with_backward(A.tanh_forward, A.tanh_backward),
    "ReLU": _with_backward(A.relu_forward, A.relu_backward),
    "leaky ReLU (0.1)": _with_backward(lambda x: A.leaky_relu_forward(x, alpha=0.1), A.leaky_relu_backward),
    "ELU": _with_backward(A.elu_forward, A.elu_backward),
    "step (perceptron)": _step,
    "identity (no activation)": lambda x: (x.copy(), np.ones_like(x)),
}

_FORMULAS = {
    "sigmoid": (r"$\sigma(z) = 1/(1+e^{-z})$", r"$\sigma'(z) = \sigma(z)(1-\sigma(z))$"),
    "tanh": (r"$\tanh(z)$", r"$1 - \tanh^2(z)$"),
    "ReLU": (r"$\max(0, z)$", r"$1$ if $z > 0$ else $0$"),
    "leaky ReLU (0.1)": (r"$\max(0.1z, z)$", r"$1$ if $z > 0$ else $0.1$"),
    "ELU": (r"$z$ if $z > 0$ else $e^z - 1$", r"$1$ if $z > 0$ else $e^z$"),
    "step (perceptron)": (r"$1$ if $z > 0$ else $0$", r"$0$ (undefined at 0)"),
    "identity (no activation)": (r"$z$", r"$1$"),
}


def activation(name, x):
    """``(f(x), f'(x))`` of one of :data:`ACTIVATIONS`, elementwise.

    The derivative at a kink (0 for ReLU, leaky ReLU, step) is the right one
    cnnlib's backward pass uses: the value for ``x <= 0``.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: unknown activation {name!r}; choose from {list(ACTIVATIONS)}")
    x = np.asarray(x, dtype=np.float64)
    return ACTIVATIONS[name](x)


def activation_explorer(name="sigmoid", x0=0.0):
    """A widget: pick an activation and a point ``z``; see f, f' and the tangent.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"activation", "z"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    choice = C.dropdown("activation", list(ACTIVATIONS), name)
    point = C.float_slider("z", -4.0, 4.0, x0, step=0.5)
    figure, text = C.html_area(), C.html_area()
    zs = np.linspace(-5, 5, 401)

    def redraw():
        f, df = activation(choice.value, zs)
        f0, df0 = (float(v[0]) for v in activation(choice.value, np.array([point.value])))
        fig, axes = plt.subplots(1, 2, figsize=(8, 3))
        formula, derivative = _FORMULAS[choice.value]
        axes[0].plot(zs, f, color="#1f77b4")
        axes[0].plot(zs, f0 + df0 * (zs - point.value), color="orange", linestyle="--", linewidth=1)
        axes[0].scatter([point.value], [f0], color="orange", zorder=3)
        axes[0].set_title("f: " + formula, fontsize=10)
        axes[1].plot(zs, df, color="#d62728")
        axes[1].scatter([point.value], [df0], color="orange", zorder=3)
        axes[1].set_title("f': " + derivative, fontsize=10)
        axes[0].set_ylim(min(-1.5, f.min() - 0.2), max(1.5, min(f.max(), 5) + 0.2))
        axes[1].set_ylim(-0.1, 1.2)
        for ax in axes:
            ax.axhline(0, color="0.7", linewidth=0.8)
            ax.axvline(0, color="0.7", linewidth=0.8)
            ax.set_xlabel("z")
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        ten = df0 ** 10
        text.value = (f"f({point.value:g}) = <b>{f0:.4g}</b>, f'({point.value:g}) = <b>{df0:.4g}</b> "
                      f"(the dashed tangent's slope). Through 10 such layers the local gradients "
                      f"multiply to f'<sup>10</sup> = {ten:.3g}.")

    return C.widget_root([choice, point, figure, text], controls={"activation": choice, "z": point},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Without a non-linearity, layers collapse
# --------------------------------------------------------------------------

def collapse_linear(W1, b1, W2, b2):
    """The single layer equal to two linear layers ``W2 (W1 x + b1) + b2``.

    Returns
    -------
    (W, b) with ``W = W2 W1`` and ``b = W2 b1 + b2``.
    """
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    b1, b2 = np.asarray(b1, dtype=np.float64), np.asarray(b2, dtype=np.float64)
    if W1.ndim != 2 or W2.ndim != 2 or W2.shape[1] != W1.shape[0]:
        raise ValueError(f"collapse_linear: W2 {W2.shape} must have as many columns as W1 {W1.shape} has rows")
    if b1.shape != (W1.shape[0],) or b2.shape != (W2.shape[0],):
        raise ValueError(f"collapse_linear: b1 {b1.shape} and b2 {b2.shape} must match W1's and W2's rows")
    return W2 @ W1, W2 @ b1 + b2


# --------------------------------------------------------------------------
# Universal approximation with one hidden layer
# --------------------------------------------------------------------------

#: 1-D functions on [-1, 1] for the approximation widget.
TARGETS = {
    "sine": lambda x: np.sin(3 * x),
    "step": lambda x: (x > 0.1).astype(np.float64),
    "bump": lambda x: np.exp(-((x - 0.2) / 0.15) ** 2),
    "|x|": np.abs,
    "wiggle": lambda x: np.sin(8 * x) * (1 - x ** 2) + 0.3 * x,
}


def hidden_features(x, n_hidden, kind="ReLU", lo=-1.0, hi=1.0):
    """The outputs of ``n_hidden`` fixed hidden units on a 1-D input, plus a constant.

    ReLU unit ``j``: ``max(0, x - t_j)``, with the knots ``t_j`` evenly
    spaced from ``lo`` (included) to ``hi`` (excluded): each unit adds a bend.
    Sigmoid unit ``j``: ``σ(s (x - t_j))`` with centres ``t_j`` in the middle
    of ``n_hidden`` equal intervals and steepness ``s = 4 n / (hi - lo)``:
    each unit is a soft step.

    Returns
    -------
    (len(x), n_hidden + 1) ndarray
        The last column is 1 (the output bias).
    """
    if n_hidden < 1:
        raise ValueError(f"hidden_features: n_hidden must be >= 1, got {n_hidden}")
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    if kind == "ReLU":
        knots = lo + (hi - lo) * np.arange(n_hidden) / n_hidden
        h = A.relu(x - knots)
    elif kind == "sigmoid":
        centres = lo + (hi - lo) * (np.arange(n_hidden) + 0.5) / n_hidden
        h = A.sigmoid(4.0 * n_hidden / (hi - lo) * (x - centres))
    else:
        raise ValueError(f"hidden_features: kind must be 'ReLU' or 'sigmoid', got {kind!r}")
    return np.hstack([h, np.ones((len(x), 1))])


def fit_hidden_units(x, target, n_hidden, kind="ReLU"):
    """Fit the output layer of a one-hidden-layer network by least squares.

    The hidden layer is :func:`hidden_features` (fixed weights and biases); the
    output weights ``v`` minimise ``sum_i (v·h(x_i) - target_i)^2``, solved in
    one call to ``numpy.linalg.lstsq`` (milliseconds, so a widget can refit on
    every slider move).

    Returns
    -------
    dict
        ``v`` (n_hidden + 1,), ``prediction`` (len(x),), ``max_error``,
        ``rms_error``, ``features`` (len(x), n_hidden + 1).
    """
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if x.shape != target.shape or x.ndim != 1:
        raise ValueError("fit_hidden_units: x and target must be 1-D of the same length, "
                         f"got {x.shape}, {target.shape}")
    features = hidden_features(x, n_hidden, kind, lo=float(x.min()), hi=float(x.max()))
    v = np.linalg.lstsq(features, target, rcond=None)[0]
    prediction = features @ v
    error = prediction - target
    return {"v": v, "prediction": prediction, "max_error": float(np.abs(error).max()),
            "rms_error": float(np.sqrt(np.mean(error ** 2))), "features": features}


def approximation_parameters(n_hidden, n_inputs=1, n_outputs=1):
    """Parameters of a one-hidden-layer network: ``n (d + 1) + m (n + 1)``; ``3n + 1`` for 1-D in and out."""
    return n_hidden * (n_inputs + 1) + n_outputs * (n_hidden + 1)


def universal_approximation_explorer(target="sine", kind="ReLU", n_hidden=4):
    """A widget: approximate a 1-D function with ``n`` hidden units.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"target", "kind", "hidden"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    choice = C.dropdown("target", list(TARGETS), target)
    units = C.dropdown("hidden units", ["ReLU", "sigmoid"], kind)
    hidden = C.int_slider("n hidden", 1, 40, n_hidden)
    figure, text = C.html_area(), C.html_area()
    x = np.linspace(-1, 1, 400)

    def redraw():
        y = TARGETS[choice.value](x)
        fit = fit_hidden_units(x, y, hidden.value, units.value)
        fig, axes = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [1.3, 1]})
        axes[0].plot(x, y, color="black", linewidth=2, label="target")
        axes[0].plot(x, fit["prediction"], color="#d62728", linewidth=1.5, label="network")
        axes[0].legend(fontsize=8, loc="best")
        axes[0].set_title(f"{hidden.value} {units.value} units: max error {fit['max_error']:.3f}", fontsize=10)
        contributions = fit["features"][:, :-1] * fit["v"][:-1]
        axes[1].plot(x, contributions, linewidth=0.9)
        axes[1].set_title("each unit's contribution $v_j h_j(x)$", fontsize=10)
        for ax in axes:
            ax.set_xlabel("x")
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        text.value = (f"parameters: {hidden.value}·(1 + 1) + ({hidden.value} + 1) = "
                      f"<b>{approximation_parameters(hidden.value)}</b>; "
                      f"rms error <b>{fit['rms_error']:.4f}</b>")

    return C.widget_root([choice, units, hidden, figure, text],
                         controls={"target": choice, "kind": units, "hidden": hidden},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Depth versus width: the sawtooth
# --------------------------------------------------------------------------

def tent(x):
    """``2 ReLU(x) - 4 ReLU(x - 1/2)``: up from 0 to 1 on [0, 1/2], back to 0 on [1/2, 1]. Two ReLU units."""
    x = np.asarray(x, dtype=np.float64)
    return 2 * A.relu(x) - 4 * A.relu(x - 0.5)


def sawtooth(x, depth):
    """The tent composed ``depth`` times: a network of ``depth`` layers of 2 ReLUs, ``2**depth`` linear pieces."""
    if depth < 1:
        raise ValueError(f"sawtooth: depth must be >= 1, got {depth}")
    x = np.asarray(x, dtype=np.float64)
    for _ in range(depth):
        x = tent(x)
    return x


def count_linear_pieces(x, y, tol=1e-9):
    """Number of straight pieces of a piecewise-linear curve sampled at sorted ``x``.

    A new piece starts wherever the slope between neighbouring samples changes.
    Sample finely enough that every kink falls on a sample.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    slopes = np.diff(y) / np.diff(x)
    return int(1 + np.count_nonzero(np.abs(np.diff(slopes)) > tol * max(1.0, np.abs(slopes).max())))


# --------------------------------------------------------------------------
# Loss functions against the score
# --------------------------------------------------------------------------

def score_losses(score):
    """Losses of a binary classifier for a positive example (label +1, or 1 for probabilities).

    With the score ``s = w·x + b``:

    - ``"0-1"``: 1 if ``s <= 0`` (a mistake) else 0;
    - ``"hinge"``: ``max(0, 1 - s)`` (the SVM);
    - ``"cross-entropy"``: ``-log σ(s) = log(1 + e^{-s})`` (logistic regression);
    - ``"squared (s - 1)^2"``: regression of the score onto the label;
    - ``"squared (σ(s) - 1)^2"``: quadratic loss on the probability.

    Returns
    -------
    dict of {name: (values, derivatives with respect to s)}
    """
    s = np.asarray(score, dtype=np.float64)
    p = A.sigmoid(s)
    softplus = np.logaddexp(0.0, -s)                       # log(1 + e^{-s}) without overflow
    return {
        "0-1": ((s <= 0).astype(np.float64), np.zeros_like(s)),
        "hinge": (np.maximum(0.0, 1 - s), np.where(s < 1, -1.0, 0.0)),
        "cross-entropy": (softplus, p - 1),
        "squared (s - 1)^2": ((s - 1) ** 2, 2 * (s - 1)),
        "squared (σ(s) - 1)^2": ((p - 1) ** 2, 2 * (p - 1) * p * (1 - p)),
    }


# --------------------------------------------------------------------------
# Gradient descent, SGD and mini-batches
# --------------------------------------------------------------------------

def minibatch_loss_curves(X, y, batch_sizes, lr=0.5, epochs=1, n_classes=10, seed=0, points=40):
    """Train softmax regression ``s = x W^T + b`` from zero weights with several batch sizes.

    One run per batch size, each with the same shuffled order of the examples
    per epoch; every run evaluates the loss on the **whole** training set at
    about ``points`` evenly spaced moments. A batch size of ``len(X)`` is
    plain gradient descent (one step per epoch); 1 is pure SGD.

    Returns
    -------
    dict of {batch_size: dict}
        ``examples`` (examples seen so far), ``steps`` (updates so far),
        ``loss`` (full-data loss at those moments), ``W`` (K, D), ``b`` (K,).
        At zero weights every loss starts at ``log K``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"minibatch_loss_curves: X must be (N, D) and y (N,), got {X.shape} and {y.shape}")
    n, d = X.shape
    orders = [np.random.default_rng(seed + e).permutation(n) for e in range(epochs)]
    curves = {}
    for batch in batch_sizes:
        if not 1 <= batch <= n:
            raise ValueError(f"minibatch_loss_curves: batch sizes must be in 1..{n}, got {batch}")
        W, b = np.zeros((n_classes, d)), np.zeros(n_classes)
        steps_per_epoch = -(-n // batch)
        total = steps_per_epoch * epochs
        record = set(np.unique(np.linspace(0, total, points + 1).round().astype(int)))
        examples, steps, losses = [], [], []
        seen = step = 0

        def log():
            loss, _ = softmax_cross_entropy(X @ W.T + b, y)
            examples.append(seen)
            steps.append(step)
            losses.append(loss)

        log()
        for order in orders:
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                _, dscores = softmax_cross_entropy(X[idx] @ W.T + b, y[idx])
                W -= lr * dscores.T @ X[idx]          # dL/dW = (dL/ds)^T x : the shape of W
                b -= lr * dscores.sum(axis=0)
                seen += len(idx)
                step += 1
                if step in record and step:
                    log()
        curves[batch] = {"examples": np.array(examples), "steps": np.array(steps), "loss": np.array(losses),
                         "W": W, "b": b}
    return curves


# --------------------------------------------------------------------------
# Matrix calculus: the gradient has the shape of its variable
# --------------------------------------------------------------------------

def two_layer_gradients(X, W1, W2):
    """Forward and backward pass of ``z1 = X W1, h1 = ReLU(z1), ŷ = h1 W2, L = ||ŷ||²``.

    The backward pass, each gradient with the shape of its variable::

        dL/dŷ  = 2 ŷ                 (N, m)
        dL/dW2 = h1^T dL/dŷ          (n_h, m)   like W2
        dL/dh1 = dL/dŷ W2^T          (N, n_h)   like h1
        dL/dz1 = dL/dh1 * [z1 > 0]   (N, n_h)   like z1
        dL/dW1 = X^T dL/dz1          (d, n_h)   like W1
        dL/dX  = dL/dz1 W1^T         (N, d)     like X

    Returns
    -------
    dict with ``L`` and the arrays ``z1, h1, y_hat, dy_hat, dW2, dh1, dz1, dW1, dX``.
    """
    X, W1, W2 = (np.asarray(a, dtype=np.float64) for a in (X, W1, W2))
    if X.ndim != 2 or W1.ndim != 2 or W2.ndim != 2 or X.shape[1] != W1.shape[0] or W1.shape[1] != W2.shape[0]:
        raise ValueError(f"two_layer_gradients: need X (N, d), W1 (d, n_h), W2 (n_h, m); "
                         f"got {X.shape}, {W1.shape}, {W2.shape}")
    z1 = X @ W1
    h1 = A.relu(z1)
    y_hat = h1 @ W2
    dy_hat = 2 * y_hat
    dW2 = h1.T @ dy_hat
    dh1 = dy_hat @ W2.T
    dz1 = dh1 * (z1 > 0)
    return {"L": float(np.sum(y_hat ** 2)), "z1": z1, "h1": h1, "y_hat": y_hat, "dy_hat": dy_hat,
            "dW2": dW2, "dh1": dh1, "dz1": dz1, "dW1": X.T @ dz1, "dX": dz1 @ W1.T}
