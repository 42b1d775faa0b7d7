"""Lecture 4 widgets: the convolution explorer, "which kernel made which output", 1-D convolution.

All arithmetic is :func:`cnnlib.conv.correlate2d` / :func:`cnnlib.conv.convolve2d`;
the functions here pick images and kernels, cut out the window at one output
position and show it.
"""
from __future__ import annotations

import functools
import html
import re

import numpy as np

from ..conv import _pad_image, conv_output_size, convolve2d, correlate2d
from ._controls import (
    array_html,
    dropdown,
    figure_html,
    html_area,
    int_slider,
    on_change,
    require_ipywidgets,
    widget_root,
)

__all__ = [
    "bar_image",
    "demo_image",
    "IMAGES",
    "KERNELS",
    "gaussian_kernel",
    "parse_kernel",
    "conv_window",
    "convolution_explorer",
    "kernel_quiz",
    "check_quiz",
    "kernel_quiz_widget",
    "correlate1d",
    "convolve1d",
    "moving_average",
    "find_pattern",
    "smoothing_explorer",
    "channel_contributions",
]


def bar_image(size=10, left=3, width=4):
    """The lecture's bar image: zeros with a vertical bar of ones.

    Returns
    -------
    ndarray, shape (size, size)
        Columns ``left .. left + width - 1`` are 1, the rest 0.
    """
    if not 0 <= left < left + width <= size:
        raise ValueError(f"bar columns {left}..{left + width - 1} do not fit in a {size}x{size} image")
    image = np.zeros((size, size))
    image[:, left:left + width] = 1.0
    return image


@functools.cache  # loading the 5,000 digits takes a second; callers get copies
def _digit():
    from ..data import load_mnist

    images, labels = load_mnist("train-5k")
    return images[np.flatnonzero(labels == 3)[0]] / 255.0  # a 3: curved strokes in every direction


@functools.cache
def _photograph():
    from skimage import data

    from ..pool import avgpool2d_forward

    camera = data.camera().astype(np.float64) / 255.0  # 512x512 photograph of a cameraman
    small, _ = avgpool2d_forward(camera[None, None], size=8)  # 64x64: every window stays readable
    return small[0, 0]


IMAGES = {"bar (10x10)": bar_image, "digit (28x28)": _digit, "photograph (64x64)": _photograph}


def demo_image(name):
    """One of the explorer's images, as float64 in [0, 1].

    Parameters
    ----------
    name : {"bar (10x10)", "digit (28x28)", "photograph (64x64)"}
        The bar of :func:`bar_image`, an MNIST digit, or ``skimage.data.camera``
        averaged down to 64x64.
    """
    if name not in IMAGES:
        raise ValueError(f"image must be one of {list(IMAGES)}, got {name!r}")
    return IMAGES[name]().copy()


def gaussian_kernel(size=5, sigma=1.0):
    """A ``size x size`` Gaussian blur kernel that sums to 1."""
    if size < 1 or sigma <= 0:
        raise ValueError(f"gaussian_kernel needs size >= 1 and sigma > 0, got size={size}, sigma={sigma}")
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


KERNELS = {
    "vertical edge": np.array([[1.0, 0.0, -1.0]] * 3),
    "Sobel x": np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "Sobel y": np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
    "box blur 3x3": np.full((3, 3), 1.0 / 9.0),
    "Gaussian 5x5": gaussian_kernel(5, 1.0),
    "diagonal 4x4": np.eye(4),
}
TYPED = "typed in"


def parse_kernel(text):
    """A kernel typed as rows of numbers: one row per line (or ``;``), numbers split by spaces or commas.

    >>> parse_kernel("1 0 -1; 2 0 -2; 1 0 -1").shape
    (3, 3)
    """
    rows = [r for r in re.split(r"[;\n]", str(text)) if r.strip()]
    if not rows:
        raise ValueError("the kernel is empty: type rows of numbers, e.g. '1 0 -1; 1 0 -1; 1 0 -1'")
    values = []
    for i, row in enumerate(rows, 1):
        items = [s for s in re.split(r"[,\s]+", row.strip()) if s]
        try:
            values.append([float(s) for s in items])
        except ValueError:
            raise ValueError(f"row {i} of the kernel is not a list of numbers: {row.strip()!r}") from None
    if not np.isfinite(np.array([v for r in values for v in r])).all():
        raise ValueError("the kernel must hold finite numbers (no nan or inf)")
    lengths = {len(r) for r in values}
    if len(lengths) != 1:
        raise ValueError(f"every row of the kernel needs the same number of entries, got row lengths "
                         f"{[len(r) for r in values]}")
    return np.array(values)


def conv_window(image, kernel, stride=1, pad=0, position=0, flip=False):
    """Everything the explorer shows for one output position.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    stride, pad : int
    position : int
        Output pixel in row-major order, ``0 <= position < OH * OW``.
    flip : bool
        True: true convolution (kernel flipped), as :func:`cnnlib.conv.convolve2d`.

    Returns
    -------
    dict
        ``output`` (OH, OW) from cnnlib; ``row``, ``col`` of the output pixel;
        ``top``, ``left`` of its window in the padded image; ``padded``
        (H + 2 pad, W + 2 pad); ``patch`` (KH, KW); ``applied_kernel`` (the
        kernel as multiplied, flipped if ``flip``); ``products`` = patch ×
        applied_kernel; ``dot`` = their sum, equal to ``output[row, col]``.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    output = (convolve2d if flip else correlate2d)(image, kernel, stride=stride, pad=pad)
    oh, ow = output.shape
    if not 0 <= position < oh * ow:
        raise ValueError(f"position must be in 0..{oh * ow - 1} for a {oh}x{ow} output, got {position}")
    row, col = divmod(int(position), ow)
    padded = _pad_image(image, (pad, pad))
    top, left = row * stride, col * stride
    kh, kw = kernel.shape
    patch = padded[top:top + kh, left:left + kw]
    applied = kernel[::-1, ::-1] if flip else kernel
    products = patch * applied
    return {"output": output, "row": row, "col": col, "top": top, "left": left, "padded": padded,
            "patch": patch, "applied_kernel": applied, "products": products, "dot": float(products.sum())}


def _explorer_figure(view, pad):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    kh, kw = view["patch"].shape
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), gridspec_kw={"width_ratios": [3, 1.3, 3]})
    ax = axes[0]
    ax.imshow(view["padded"], cmap="gray")
    if pad:
        h, w = view["padded"].shape
        ax.add_patch(Rectangle((pad - 0.5, pad - 0.5), w - 2 * pad, h - 2 * pad, fill=False,
                               edgecolor="tab:blue", linestyle="--", linewidth=1))
    ax.add_patch(Rectangle((view["left"] - 0.5, view["top"] - 0.5), kw, kh, fill=False,
                           edgecolor="red", linewidth=2))
    ax.set_title(f"input {view['padded'].shape[0] - 2 * pad}x{view['padded'].shape[1] - 2 * pad}"
                 + (f", padded by {pad}" if pad else ""))
    top = max(np.abs(view["applied_kernel"]).max(), 1e-12)  # symmetric colours: 0 is white
    axes[1].imshow(view["applied_kernel"], cmap="coolwarm", vmin=-top, vmax=top)
    axes[1].set_title(f"kernel {kh}x{kw}")
    ax = axes[2]
    ax.imshow(view["output"], cmap="gray")
    ax.add_patch(Rectangle((view["col"] - 0.5, view["row"] - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    ax.set_title(f"output {view['output'].shape[0]}x{view['output'].shape[1]}")
    for ax, shape in zip(axes, (view["padded"].shape, (kh, kw), view["output"].shape)):
        ax.set_xticks([])
        ax.set_yticks([])
        if max(shape) <= 32:  # small arrays: show the pixel grid
            ax.set_xticks(np.arange(shape[1] + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(shape[0] + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="0.6", linewidth=0.5)
            ax.tick_params(which="minor", length=0)
    fig.tight_layout()
    return figure_html(fig)


def _window_text(view):
    terms = " + ".join(f"{p:.3g}·{k:.3g}" for p, k in zip(view["patch"].ravel(), view["applied_kernel"].ravel()))
    if len(terms) > 400:
        terms = terms[:400] + " + ..."
    return (f"<b>output[{view['row']}, {view['col']}]</b> = sum of window × kernel = "
            f"<b>{view['dot']:.4g}</b><div style='display:flex;align-items:center'>"
            + array_html(view["patch"], caption="window") + "<span>×</span>"
            + array_html(view["applied_kernel"], caption="kernel") + "<span>=</span>"
            + array_html(view["products"], caption="products") + "</div>"
            f"<small>{html.escape(terms)}</small>")


def convolution_explorer(image="bar (10x10)", kernel="vertical edge"):
    """A widget: image, kernel (or one typed in), stride, padding and a window position.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"image", "kernel", "typed", "flip", "stride", "pad", "position"}``,
        ``.outputs`` ``{"figure", "text"}``; ``text`` also shows errors
        (a kernel larger than the padded image, a badly typed kernel).
    """
    w = require_ipywidgets()
    image_choice = dropdown("image", list(IMAGES), image)
    kernel_choice = dropdown("kernel", list(KERNELS) + [TYPED], kernel)
    typed = w.Textarea(value="0 1 0\n1 -4 1\n0 1 0", description="typed kernel",
                       layout={"width": "320px", "height": "80px"}, style={"description_width": "initial"})
    flip = w.Checkbox(value=False, description="flip the kernel (true convolution)",
                      layout={"width": "auto"}, style={"description_width": "initial"})
    stride = int_slider("stride", 1, 4, 1)
    pad = int_slider("padding", 0, 3, 0)
    position = int_slider("position", 0, 1, 0, layout={"width": "500px"})
    figure, text = html_area(), html_area()
    cache = {}

    def current_kernel():
        if kernel_choice.value == TYPED:
            return parse_kernel(typed.value)
        return KERNELS[kernel_choice.value]

    def redraw():
        if image_choice.value not in cache:
            cache[image_choice.value] = demo_image(image_choice.value)
        img = cache[image_choice.value]
        try:
            k = current_kernel()
            oh = conv_output_size(img.shape[0], k.shape[0], stride.value, pad.value)
            ow = conv_output_size(img.shape[1], k.shape[1], stride.value, pad.value)
        except ValueError as err:
            text.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return
        n = oh * ow
        if position.max != n - 1:
            # moving the max may clamp the value, which calls redraw again: guard against it
            cache["busy"] = True
            position.max = max(n - 1, 1)
            position.value = min(position.value, n - 1)
            cache["busy"] = False
        # with a single window the slider keeps max 1 (a slider needs a range): clamp
        view = conv_window(img, k, stride.value, pad.value, min(position.value, n - 1), flip.value)
        figure.value = _explorer_figure(view, pad.value)
        text.value = (f"output size = ⌊(n + 2·pad − k) / stride⌋ + 1 = {oh}x{ow}<br>" + _window_text(view))

    def changed():
        if not cache.get("busy"):
            redraw()

    on_change([image_choice, kernel_choice, typed, flip, stride, pad, position], changed)
    redraw()
    controls = {"image": image_choice, "kernel": kernel_choice, "typed": typed, "flip": flip,
                "stride": stride, "pad": pad, "position": position}
    return widget_root([w.HBox([image_choice, kernel_choice]), w.HBox([typed, flip]), stride, pad,
                        position, figure, text], controls=controls, outputs={"figure": figure, "text": text})


def kernel_quiz(image, kernel_names=("vertical edge", "Sobel y", "box blur 3x3", "diagonal 4x4"), seed=0):
    """The "which kernel made which output" exercise: outputs in shuffled order.

    Returns
    -------
    outputs : list of ndarray
        ``correlate2d(image, KERNELS[name], pad=1)`` for every name, shuffled.
    answer : list of str
        ``answer[i]`` is the kernel that made ``outputs[i]``.
    """
    unknown = [n for n in kernel_names if n not in KERNELS]
    if unknown:
        raise ValueError(f"unknown kernels {unknown}; choose from {list(KERNELS)}")
    order = np.random.default_rng(seed).permutation(len(kernel_names))
    answer = [kernel_names[i] for i in order]
    outputs = [correlate2d(image, KERNELS[name], pad=1) for name in answer]
    return outputs, answer


def check_quiz(guesses, answer):
    """Compare the guesses with the answer; returns ``(number right, list of bools)``."""
    if len(guesses) != len(answer):
        raise ValueError(f"expected {len(answer)} guesses, got {len(guesses)}")
    right = [g == a for g, a in zip(guesses, answer)]
    return sum(right), right


def kernel_quiz_widget(image="digit (28x28)", seed=0):
    """A widget: four outputs labelled A-D, a dropdown under each, a Check button.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"A", "B", "C", "D", "check"}``, ``.outputs`` ``{"figure", "feedback"}``.
    """
    import matplotlib.pyplot as plt

    w = require_ipywidgets()
    img = demo_image(image)
    outputs, answer = kernel_quiz(img, seed=seed)
    letters = "ABCD"[:len(outputs)]
    fig, axes = plt.subplots(1, len(outputs) + 1, figsize=(2.4 * (len(outputs) + 1), 2.6))
    axes[0].imshow(img, cmap="gray")
    axes[0].set_title("image")
    for ax, out, letter in zip(axes[1:], outputs, letters):
        ax.imshow(out, cmap="gray")
        ax.set_title(f"output {letter}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    figure = html_area(figure_html(fig))
    choices = {letter: dropdown(f"output {letter}", ["?"] + sorted(answer), "?") for letter in letters}
    check = w.Button(description="Check")
    feedback = html_area("Pick a kernel for every output, then press Check.")

    def on_check(_):
        guesses = [choices[letter].value for letter in letters]
        n_right, right = check_quiz(guesses, answer)
        marks = ", ".join(f"{letter} {'right' if ok else 'wrong'}" for letter, ok in zip(letters, right))
        feedback.value = f"<b>{n_right} of {len(answer)} right</b>: {marks}"

    check.on_click(on_check)
    controls = dict(choices, check=check)
    return widget_root([figure, w.HBox(list(choices.values())), check, feedback], controls=controls,
                       outputs={"figure": figure, "feedback": feedback})


# ---------------------------------------------------------------------------
# 1-D convolution: a signal is a 1 x N image
# ---------------------------------------------------------------------------
def correlate1d(signal, kernel):
    """``out[i] = sum_k signal[i + k] kernel[k]`` (valid part, no flip)."""
    return correlate2d(np.atleast_1d(signal)[None, :], np.atleast_1d(kernel)[None, :])[0]


def convolve1d(signal, kernel):
    """True 1-D convolution, valid part: ``out[i] = sum_k signal[i + K - 1 - k] kernel[k]``."""
    return convolve2d(np.atleast_1d(signal)[None, :], np.atleast_1d(kernel)[None, :])[0]


def moving_average(signal, width):
    """Smooth a signal with a box kernel of ``width`` taps (valid part, length N - width + 1)."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    return convolve1d(signal, np.full(width, 1.0 / width))


def find_pattern(signal, pattern):
    """Where ``pattern`` best matches ``signal``: the peak of their correlation.

    The pattern's mean is removed first so a bright flat stretch does not win.

    Returns
    -------
    start : int
        Index in ``signal`` where the best-matching window starts.
    scores : ndarray, shape (N - len(pattern) + 1,)
        The correlation at every shift.
    """
    pattern = np.asarray(pattern, dtype=np.float64)
    scores = correlate1d(signal, pattern - pattern.mean())
    return int(np.argmax(scores)), scores


def smoothing_explorer(seed=0, n=200):
    """A widget: a noisy sine and its moving average; a slider sets the window width.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"width"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, n)
    clean = np.sin(t)
    noisy = clean + 0.4 * rng.standard_normal(n)
    width = int_slider("window width", 1, 41, 9, step=2)
    figure, text = html_area(), html_area()

    def redraw():
        k = width.value
        smooth = moving_average(noisy, k)
        centre = t[(k - 1) // 2: (k - 1) // 2 + len(smooth)]
        error = np.sqrt(np.mean((smooth - clean[(k - 1) // 2: (k - 1) // 2 + len(smooth)]) ** 2))
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.plot(t, noisy, color="0.7", linewidth=0.8, label="noisy signal")
        ax.plot(centre, smooth, color="tab:red", label=f"moving average, width {k}")
        ax.plot(t, clean, color="black", linestyle=":", label="clean sine")
        ax.legend(loc="upper right", fontsize=8)
        figure.value = figure_html(fig)
        text.value = f"output length {len(smooth)} = {n} − {k} + 1; RMS error against the clean sine {error:.3f}"

    return widget_root([width, figure, text], controls={"width": width},
                       outputs={"figure": figure, "text": text}, redraw=redraw)


def channel_contributions(x, w):
    """One output channel of a multi-channel convolution, split by input channel.

    Parameters
    ----------
    x : array_like, shape (C, H, W)
    w : array_like, shape (C, KH, KW)
        The kernel of one output channel: one KH x KW slice per input channel.

    Returns
    -------
    ndarray, shape (C, OH, OW)
        ``correlate2d(x[c], w[c])`` for each c; their sum over c is the output
        channel (before the bias).
    """
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if x.ndim != 3 or w.ndim != 3 or x.shape[0] != w.shape[0]:
        raise ValueError(f"need x (C, H, W) and w (C, KH, KW) with the same C, got x {x.shape} and w {w.shape}")
    return np.stack([correlate2d(xc, wc) for xc, wc in zip(x, w)])
