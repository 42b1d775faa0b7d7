"""Widgets of the lecture "Transfer learning and looking inside": gradients with respect to the input.

Two uses of one backward pass that stops at the image instead of the weights:

- **activation maximisation**: gradient *ascent* on the input makes the image a
  unit responds to most (Erhan et al. 2009; Yosinski et al. 2015, "Understanding
  neural networks through deep visualization");
- **the fast gradient sign method** (FGSM, Goodfellow, Shlens & Szegedy 2015):
  ``x_adv = clip(x + eps * sign(dL/dx))``, a perturbation too small to notice
  that changes the prediction ("how to confuse your ConvNet").

The functions take any :class:`cnnlib.nn.Sequential` (or a list of its
layers); the widget builder :func:`fgsm_explorer` only draws what they return.
"""
from __future__ import annotations

import numpy as np

from ..losses import softmax_cross_entropy
from . import _controls as C

__all__ = [
    "softmax",
    "fgsm_perturbation",
    "fgsm",
    "input_gradient",
    "unit_objective_gradient",
    "maximize_activation",
    "fgsm_accuracy",
    "fgsm_example",
    "fgsm_explorer",
]


def softmax(scores):
    """Row-wise softmax of class scores, shape (N, K) -> probabilities (N, K)."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def fgsm_perturbation(grad, eps):
    """The FGSM step ``eps * sign(grad)``: every pixel moves by exactly ``eps`` (or 0 where grad is 0).

    Among all perturbations with largest entry at most ``eps`` (an L-infinity
    ball), this one raises a *linear* loss ``w . x`` the most: by ``eps * sum|w|``.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return eps * np.sign(np.asarray(grad))


def fgsm(x, grad, eps, clip=(0.0, 1.0)):
    """Adversarial input ``clip(x + eps * sign(grad), *clip)``; ``clip=None`` skips the clipping.

    Parameters
    ----------
    x : ndarray
        Input(s) the gradient was taken at, e.g. (N, 1, 28, 28) in [0, 1].
    grad : ndarray, shape of ``x``
        Gradient of the loss with respect to ``x`` (:func:`input_gradient`).
    eps : float
        Size of the step per pixel.
    clip : (float, float) or None
        Valid pixel range; the result stays an image.
    """
    x = np.asarray(x)
    grad = np.asarray(grad)
    if grad.shape != x.shape:
        raise ValueError(f"fgsm: grad has shape {grad.shape}, x has shape {x.shape}; they must match")
    out = x + fgsm_perturbation(grad, eps).astype(x.dtype, copy=False)
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    return out


def _layers(model):
    return list(model.layers) if hasattr(model, "layers") else list(model)


def _forward(layers, x):
    for layer in layers:
        x = layer.forward(x)
    return x


def _backward(layers, dout):
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


def _zero_grads(layers):
    for layer in layers:
        for p in layer.parameters():
            p.zero_grad()


def _as_input(model_layers, x):
    dtype = next((p.data.dtype for layer in model_layers for p in layer.parameters()), np.float64)
    return np.asarray(x, dtype=dtype)


def input_gradient(model, x, y):
    """Softmax cross-entropy of ``model`` on ``(x, y)`` and its gradient with respect to ``x``.

    The backward pass runs through every layer down to the input; the parameter
    gradients it adds on the way are reset to zero afterwards.

    Parameters
    ----------
    model : cnnlib.nn.Sequential or list of modules
    x : ndarray, shape (N, ...)
    y : array_like of int, shape (N,)

    Returns
    -------
    loss : float
        Mean loss over the batch.
    dx : ndarray, shape of ``x``
        ``dL/dx``; the loss is a mean, so each row is the gradient of that
        example's own loss divided by N (its sign, all FGSM needs, is the same).
    scores : ndarray, shape (N, K)
    """
    layers = _layers(model)
    x = _as_input(layers, x)
    scores = _forward(layers, x)
    loss, dscores = softmax_cross_entropy(scores, np.asarray(y))
    dx = _backward(layers, dscores.astype(scores.dtype, copy=False))
    _zero_grads(layers)
    return float(loss), dx, scores


def _unit_dout(out, units, position):
    """``d objective / d out`` for one unit per example: 1 at its position, or 1/(H W) over its map."""
    dout = np.zeros_like(out)
    rows = np.arange(len(units))
    if out.ndim == 2:
        dout[rows, units] = 1.0
    elif position == "mean":
        dout[rows, units] = 1.0 / (out.shape[2] * out.shape[3])
    else:
        r, c = (out.shape[2] // 2, out.shape[3] // 2) if position == "centre" else position
        dout[rows, units, r, c] = 1.0
    return dout


def _unit_value(out, units, position):
    rows = np.arange(len(units))
    if out.ndim == 2:
        return out[rows, units]
    if position == "mean":
        return out[rows, units].mean(axis=(1, 2))
    r, c = (out.shape[2] // 2, out.shape[3] // 2) if position == "centre" else position
    return out[rows, units, r, c]


def unit_objective_gradient(model, layer, x, units, position="centre"):
    """The activation of one unit per example and its gradient with respect to the input.

    Parameters
    ----------
    model : cnnlib.nn.Sequential or list of modules
    layer : int or str
        The unit sits in the output of this layer (index or name in the Sequential).
        Choose a convolution or linear layer, before its ReLU, so that a unit that
        is switched off still has a gradient.
    x : ndarray, shape (N, C, H, W)
    units : array_like of int, shape (N,)
        Channel (or feature) of ``layer``'s output to excite in each example.
    position : "centre", "mean" or (row, col)
        For a feature map: the unit at the centre, at ``(row, col)``, or the mean
        of the whole map.

    Returns
    -------
    values : ndarray, shape (N,)
    dx : ndarray, shape of ``x``
    """
    layers = _layers(model)
    if isinstance(layer, str):
        layer = list(model.names).index(layer)
    prefix = layers[:int(layer) + 1]
    x = _as_input(layers, x)
    units = np.asarray(units, dtype=np.int64).reshape(-1)
    if len(units) != len(x):
        raise ValueError(f"need one unit per example: x has {len(x)} rows, units has {len(units)}")
    out = _forward(prefix, x)
    if out.ndim not in (2, 4):
        raise ValueError(f"layer {layer} gives outputs of shape {out.shape}; expected (N, K) or (N, C, H, W)")
    if units.min() < 0 or units.max() >= out.shape[1]:
        raise ValueError(f"units must be in 0..{out.shape[1] - 1} for layer {layer}, got {units.tolist()}")
    values = _unit_value(out, units, position)
    dx = _backward(prefix, _unit_dout(out, units, position))
    _zero_grads(prefix)
    return np.asarray(values, dtype=np.float64), dx


def maximize_activation(model, layer, units, shape, steps=100, lr=0.1, decay=0.01, position="centre",
                        start=None, seed=0, clip=None, blur_sigma=None, blur_every=4):
    """Images that excite chosen units most: gradient ascent on the input.

    Maximises ``a(x) - decay/2 * ||x||^2`` for each unit's activation ``a`` by
    ``x <- x + lr * (da/dx - decay * x)``, all units at once (one image each).
    For a unit that is linear in ``x``, ``a = w . x``, the optimum is
    ``x = w / decay``: the image a first-layer unit wants most is its own kernel.

    Parameters
    ----------
    model, layer, position
        As in :func:`unit_objective_gradient`.
    units : array_like of int
    shape : tuple
        Shape of one input, e.g. ``(1, 28, 28)``.
    steps : int
    lr : float
        Step size of the gradient ascent.
    decay : float
        Weight of the L2 penalty that keeps the image from growing without bound.
    start : ndarray, shape (len(units), *shape), optional
        Starting images; default small noise (seeded).
    clip : (float, float) or None
        Clip the image to this range after every step.
    blur_sigma : float or None
        Blur the image with a Gaussian of this width (pixels) every
        ``blur_every`` steps: a regulariser that removes the high-frequency
        patterns a network also responds to (Yosinski et al. 2015), so the
        images look smoother. None: no blur.
    blur_every : int

    Returns
    -------
    images : ndarray, shape (len(units), *shape)
    history : ndarray, shape (steps + 1, len(units))
        The units' activations before the first step and after each step.
    """
    units = np.asarray(units, dtype=np.int64).reshape(-1)
    if start is None:
        start = 0.01 * np.random.default_rng(seed).standard_normal((len(units), *shape))
    x = _as_input(_layers(model), np.array(start, copy=True))
    history = []
    for step in range(int(steps)):
        values, grad = unit_objective_gradient(model, layer, x, units, position)
        history.append(values)
        x = x + lr * (grad - decay * x)
        if blur_sigma and (step + 1) % blur_every == 0:
            from scipy.ndimage import gaussian_filter

            x = gaussian_filter(x, sigma=(0,) * (x.ndim - 2) + (blur_sigma, blur_sigma)).astype(x.dtype, copy=False)
        if clip is not None:
            x = np.clip(x, clip[0], clip[1])
    values, _ = unit_objective_gradient(model, layer, x, units, position)
    history.append(values)
    return x, np.array(history)


def fgsm_accuracy(model, X, y, eps_values, batch_size=250, random_signs_seed=None):
    """Accuracy on FGSM inputs for every ``eps`` (and, optionally, on random-sign noise of the same size).

    Returns
    -------
    dict
        ``eps`` (list), ``fgsm`` (accuracy per eps) and, if ``random_signs_seed``
        is given, ``random`` (accuracy with ``eps * random signs``: the same
        size of perturbation in a direction that ignores the gradient).
    """
    X, y = np.asarray(X), np.asarray(y)
    grads = np.concatenate([input_gradient(model, X[i:i + batch_size], y[i:i + batch_size])[1]
                            for i in range(0, len(X), batch_size)])
    rng = None if random_signs_seed is None else np.random.default_rng(random_signs_seed)
    signs = None if rng is None else rng.choice([-1.0, 1.0], size=X.shape)
    result = {"eps": [float(e) for e in eps_values], "fgsm": []}
    if rng is not None:
        result["random"] = []
    layers = _layers(model)
    for eps in eps_values:
        adv = fgsm(X, grads, eps)
        scores = _forward(layers, _as_input(layers, adv))
        result["fgsm"].append(float(np.mean(scores.argmax(axis=1) == y)))
        if rng is not None:
            noisy = np.clip(X + eps * signs.astype(X.dtype), 0.0, 1.0)
            scores = _forward(layers, _as_input(layers, noisy))
            result["random"].append(float(np.mean(scores.argmax(axis=1) == y)))
    return result


def fgsm_example(model, x, y, eps):
    """Everything the explorer shows for one image.

    Parameters
    ----------
    model : cnnlib.nn.Sequential or list of modules
    x : ndarray, shape (C, H, W)
        One image, pixels in [0, 1].
    y : int
        Its true class.
    eps : float
        The FGSM step per pixel (:func:`fgsm`).

    Returns
    -------
    dict
        ``image``, ``perturbation`` (``adversarial - image``, after clipping),
        ``adversarial``, each (C, H, W); ``probs`` and ``adv_probs`` (K,);
        ``pred`` and ``adv_pred`` (int); ``loss`` and ``adv_loss``.
    """
    x = np.asarray(x)
    loss, dx, scores = input_gradient(model, x[None], [int(y)])
    adv = fgsm(x[None], dx, eps)
    layers = _layers(model)
    adv_scores = _forward(layers, _as_input(layers, adv))
    adv_loss, _ = softmax_cross_entropy(adv_scores, np.array([int(y)]))
    probs, adv_probs = softmax(scores)[0], softmax(adv_scores)[0]
    return {"image": x, "adversarial": adv[0], "perturbation": adv[0] - x,
            "probs": probs, "adv_probs": adv_probs, "pred": int(probs.argmax()), "adv_pred": int(adv_probs.argmax()),
            "loss": float(loss), "adv_loss": float(adv_loss)}


def _example_figure(view, eps, class_names):
    import matplotlib.pyplot as plt

    name = (lambda k: class_names[k]) if class_names is not None else str
    fig, axes = plt.subplots(1, 4, figsize=(10.5, 2.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.5]})
    top = max(float(eps), 1e-6)
    panels = [(view["image"][0], "gray", 0, 1, f"image: {name(view['pred'])} ({view['probs'].max():.0%})"),
              (view["perturbation"][0], "coolwarm", -top, top, f"perturbation, eps = {eps:.2f}"),
              (view["adversarial"][0], "gray", 0, 1,
               f"image + perturbation: {name(view['adv_pred'])} ({view['adv_probs'].max():.0%})")]
    for ax, (picture, cmap, lo, hi, title) in zip(axes, panels):
        ax.imshow(picture, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    k = np.arange(len(view["probs"]))
    axes[3].bar(k - 0.2, view["probs"], width=0.4, label="image", color="0.6")
    axes[3].bar(k + 0.2, view["adv_probs"], width=0.4, label="+ perturbation", color="tab:red")
    axes[3].set_xticks(k)
    axes[3].set_xticklabels([name(i) for i in k], fontsize=7)
    axes[3].set_ylim(0, 1)
    axes[3].set_title("class probabilities", fontsize=9)
    axes[3].legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return C.figure_html(fig)


def fgsm_explorer(model, images, labels, class_names=None, eps=0.1, max_eps=0.3):
    """A widget: pick an image and epsilon; see the image, the FGSM perturbation and the new prediction.

    Parameters
    ----------
    model : cnnlib.nn.Sequential
    images : ndarray, shape (N, C, H, W), values in [0, 1]
    labels : array_like of int, shape (N,)
    class_names : sequence of str, optional

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"eps", "image"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    eps_slider = C.float_slider("epsilon", 0.0, max_eps, eps, step=0.01)
    index = C.int_slider("image", 0, len(images) - 1, 0)
    figure, text = C.html_area(), C.html_area()
    name = (lambda k: class_names[k]) if class_names is not None else str

    def redraw():
        view = fgsm_example(model, images[index.value], labels[index.value], eps_slider.value)
        figure.value = _example_figure(view, eps_slider.value, class_names)
        fooled = view["pred"] == labels[index.value] and view["adv_pred"] != view["pred"]
        verdict = ("<b style='color:#b00'>fooled</b>" if fooled else
                   "not fooled" if view["adv_pred"] == labels[index.value] else "wrong before the perturbation")
        text.value = (f"true class {name(int(labels[index.value]))}; prediction {name(view['pred'])} -> "
                      f"{name(view['adv_pred'])} ({verdict}). Loss {view['loss']:.3f} -> {view['adv_loss']:.3f}; "
                      f"every pixel moved by at most {eps_slider.value:.2f} of the 0-1 range.")

    return C.widget_root([eps_slider, index, figure, text], controls={"eps": eps_slider, "image": index},
                         outputs={"figure": figure, "text": text}, redraw=redraw)
