"""Lecture "Why convolutional networks": simple and complex cells, position
tolerance from max pooling, the history 1959-2012, and the vision tasks.

The plain functions compute what the figures and widgets show and are tested
without a browser:

- a model of Hubel & Wiesel's cells: a **simple cell** is an oriented filter
  followed by rectification (a convolution and a ReLU at one position); a
  **complex cell** takes the maximum of simple cells of the same orientation
  over a region (max pooling);
- ``shift_similarity``: how much a representation changes when the image
  moves by a few pixels, for raw pixels, a convolution + ReLU, and max pooling;
- ``TIMELINE`` and ``IMAGENET_TOP5``: the dates and numbers the lecture draws;
- ``digit_scene``: a canvas of MNIST digits with the answers of
  classification, detection and segmentation.

The ``draw_*`` functions draw with matplotlib; ``hubel_wiesel_explorer`` and
``pooling_shift_explorer`` are the thin ipywidgets wrappers.
"""
from __future__ import annotations

import numpy as np

from ..activations import relu
from ..conv import correlate2d
from . import _controls as C
from .pooling import pool2d

__all__ = [
    "bar_image",
    "simple_cell_kernel",
    "simple_cell_map",
    "cell_responses",
    "tuning_curves",
    "hubel_wiesel_explorer",
    "shift_image",
    "feature_representation",
    "shift_similarity",
    "pooling_shift_explorer",
    "TIMELINE",
    "IMAGENET_TOP5",
    "timeline_events",
    "top5_error_reduction",
    "draw_timeline",
    "draw_imagenet_results",
    "draw_ventral_stream",
    "VENTRAL_STREAM",
    "digit_scene",
    "draw_vision_tasks",
    "VISION_TASKS",
]


# --------------------------------------------------------------------------
# Simple and complex cells
# --------------------------------------------------------------------------

def bar_image(size=21, angle=0.0, offset=0.0, width=2.0):
    """A bright bar on a dark background, the stimulus of Hubel & Wiesel.

    The bar runs through the whole image at ``angle`` degrees (counter-clockwise
    from horizontal), moved ``offset`` pixels sideways (perpendicular to the
    bar; positive moves a horizontal bar up). Its edges are anti-aliased.

    Parameters
    ----------
    size : int
        The image is ``size x size``.
    angle, offset, width : float

    Returns
    -------
    (size, size) ndarray in [0, 1]
    """
    if size < 1 or width <= 0:
        raise ValueError(f"bar_image: size must be >= 1 and width > 0, got size={size}, width={width}")
    centre = (size - 1) / 2
    rows, cols = np.mgrid[:size, :size].astype(np.float64)
    x, y = cols - centre, centre - rows
    theta = np.deg2rad(angle)
    distance = -x * np.sin(theta) + y * np.cos(theta) - offset   # signed distance to the bar's axis
    return np.clip(width / 2 + 0.5 - np.abs(distance), 0.0, 1.0)


def simple_cell_kernel(angle=0.0, size=7, width=2.0):
    """An oriented line detector: the receptive field of a simple cell.

    Positive along a bar of ``width`` through the centre at ``angle`` degrees,
    negative on both flanks, inside a round window; the entries sum to 0, so a
    uniform image gives no response.

    Returns
    -------
    (size, size) ndarray
    """
    if size < 3:
        raise ValueError(f"simple_cell_kernel: size must be >= 3, got {size}")
    bar = bar_image(size, angle, 0.0, width)
    centre = (size - 1) / 2
    rows, cols = np.mgrid[:size, :size]
    window = ((rows - centre) ** 2 + (cols - centre) ** 2) <= (size / 2) ** 2
    kernel = np.where(window, bar, 0.0)
    kernel[window] -= kernel[window].mean()        # zero mean inside the window: flanks negative
    return kernel / np.abs(kernel).sum()


def simple_cell_map(image, angle=0.0, size=7):
    """Simple cells of one orientation at every position: ``ReLU(x ⋆ w)``.

    The map ``u[i, j] = max(0, sum_{a,b} x[i+a, j+b] w[a, b])`` with ``w`` the
    :func:`simple_cell_kernel`; shape ``(H - size + 1, W - size + 1)``.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"simple_cell_map: image must be 2-D (H, W), got shape {image.shape}")
    return relu(correlate2d(image, simple_cell_kernel(angle, size)))


def cell_responses(image, angle=0.0, size=7):
    """The responses of one simple cell and one complex cell to ``image``.

    The simple cell sits at the centre of the map of :func:`simple_cell_map`;
    the complex cell is the maximum of that whole map (max pooling over its
    field).

    Returns
    -------
    dict
        ``simple`` float, ``complex`` float, ``map`` (OH, OW) ndarray,
        ``centre`` (row, col) of the simple cell in the map.
    """
    cells = simple_cell_map(image, angle, size)
    centre = (cells.shape[0] // 2, cells.shape[1] // 2)
    return {"simple": float(cells[centre]), "complex": float(cells.max()), "map": cells, "centre": centre}


def tuning_curves(preferred=0.0, angles=None, offsets=None, size=21, kernel_size=7):
    """Responses of a simple and a complex cell to bars at many angles and offsets.

    Parameters
    ----------
    preferred : float
        Orientation (degrees) of both cells' kernel.
    angles : array_like, optional
        Bar angles for the orientation curve (bar through the centre).
        Default every 15 degrees from -90 to 90.
    offsets : array_like, optional
        Sideways positions for the position curve (bar at ``preferred``).
        Default -6 .. 6 pixels.

    Returns
    -------
    dict of ndarray
        ``angles``, ``offsets``, ``simple_by_angle``, ``complex_by_angle``,
        ``simple_by_offset``, ``complex_by_offset``.
    """
    angles = np.arange(-90, 91, 15.0) if angles is None else np.asarray(angles, dtype=np.float64)
    offsets = np.arange(-6, 7, 1.0) if offsets is None else np.asarray(offsets, dtype=np.float64)
    by_angle = [cell_responses(bar_image(size, preferred + a), preferred, kernel_size) for a in angles]
    by_offset = [cell_responses(bar_image(size, preferred, o), preferred, kernel_size) for o in offsets]
    return {"angles": angles, "offsets": offsets,
            "simple_by_angle": np.array([r["simple"] for r in by_angle]),
            "complex_by_angle": np.array([r["complex"] for r in by_angle]),
            "simple_by_offset": np.array([r["simple"] for r in by_offset]),
            "complex_by_offset": np.array([r["complex"] for r in by_offset])}


def _cells_figure(image, responses, kernel, best):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 4, figsize=(10, 2.7), gridspec_kw={"width_ratios": [1, 0.5, 1, 0.8]})
    k = kernel.shape[0]
    r0, c0 = responses["centre"]
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes[0].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), k, k, fill=False, edgecolor="red", linewidth=2))
    axes[0].set_title("stimulus; red: simple cell's field", fontsize=9)
    limit = np.abs(kernel).max()
    axes[1].imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[1].set_title("its weights w", fontsize=9)
    axes[2].imshow(responses["map"], cmap="magma", vmin=0, vmax=best)
    axes[2].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    axes[2].set_title("simple cells everywhere: ReLU(x ⋆ w)", fontsize=9)
    for ax in axes[:3]:
        ax.set_xticks([])
        ax.set_yticks([])
    values = [responses["simple"] / best, responses["complex"] / best]
    axes[3].bar(["simple\n(centre)", "complex\n(max of map)"], values, color=["#d62728", "#1f77b4"])
    axes[3].set_ylim(0, 1.05)
    axes[3].set_title("response / best response", fontsize=9)
    fig.tight_layout()
    return C.figure_html(fig)


def hubel_wiesel_explorer(preferred=0.0, size=21, kernel_size=7):
    """A widget: move and turn a bar in front of a simple and a complex cell.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"angle", "offset"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    angle = C.int_slider("bar angle (degrees)", -90, 90, 0, step=15)
    offset = C.int_slider("bar offset (pixels)", -6, 6, 0)
    figure, text = C.html_area(), C.html_area()
    kernel = simple_cell_kernel(preferred, kernel_size)
    best = cell_responses(bar_image(size, preferred), preferred, kernel_size)["simple"]

    def redraw():
        image = bar_image(size, preferred + angle.value, offset.value)
        responses = cell_responses(image, preferred, kernel_size)
        figure.value = _cells_figure(image, responses, kernel, best)
        text.value = (f"bar at {angle.value:+d}° from the preferred orientation, {offset.value:+d} px sideways: "
                      f"simple cell <b>{responses['simple'] / best:.2f}</b>, "
                      f"complex cell <b>{responses['complex'] / best:.2f}</b> of the best response")

    return C.widget_root([angle, offset, figure, text], controls={"angle": angle, "offset": offset},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Position tolerance from max pooling
# --------------------------------------------------------------------------

def shift_image(image, shift):
    """Translate an image by ``shift`` pixels, filling with zeros.

    Parameters
    ----------
    image : (H, W) array_like
    shift : int or (int, int)
        ``(down, right)``; an int moves right only. Negative moves up/left.

    Returns
    -------
    (H, W) ndarray
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"shift_image: image must be 2-D (H, W), got shape {image.shape}")
    down, right = (0, int(shift)) if np.isscalar(shift) else (int(shift[0]), int(shift[1]))
    out = np.zeros_like(image)
    h, w = image.shape
    if abs(down) >= h or abs(right) >= w:
        return out
    out[max(down, 0):h + min(down, 0), max(right, 0):w + min(right, 0)] = \
        image[max(-down, 0):h - max(down, 0), max(-right, 0):w - max(right, 0)]
    return out


def feature_representation(image, kernel, pool=1):
    """``maxpool(ReLU(x ⋆ w))`` with zero padding that keeps the size.

    Parameters
    ----------
    image : (H, W) array_like
    kernel : (K, K) array_like, K odd
    pool : int
        Max-pooling window and stride; 1 means no pooling.

    Returns
    -------
    (H // pool, W // pool) ndarray
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"feature_representation: kernel must be square with an odd side, got {kernel.shape}")
    response = relu(correlate2d(np.asarray(image, dtype=np.float64), kernel, pad=kernel.shape[0] // 2))
    return response if pool == 1 else pool2d(response, "max", pool, pool)


def _cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm else 1.0


def shift_similarity(image, kernel, shifts, pools=(2, 4)):
    """How similar a representation stays when the image moves right.

    For each shift ``s`` the cosine similarity ``<r(x), r(shift(x, s))> /
    (|r(x)| |r(shift(x, s))|)`` of three kinds of representation ``r``: the
    pixels, ``ReLU(x ⋆ w)``, and that map max-pooled with each window in
    ``pools``. 1 means unchanged.

    Returns
    -------
    dict of {name: (len(shifts),) ndarray}
        Keys ``"pixels"``, ``"conv + ReLU"`` and ``"max pool P"`` for each P.
    """
    reps = {"pixels": lambda x: x, "conv + ReLU": lambda x: feature_representation(x, kernel, 1)}
    for p in pools:
        reps[f"max pool {p}"] = (lambda q: lambda x: feature_representation(x, kernel, q))(p)
    out = {}
    for name, represent in reps.items():
        reference = represent(image)
        out[name] = np.array([_cosine(reference, represent(shift_image(image, s))) for s in shifts])
    return out


def pooling_shift_explorer(image, kernel, pools=(1, 2, 4, 7, 14)):
    """A widget: shift a digit and watch which representation changes.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"shift", "pool"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    image = np.asarray(image, dtype=np.float64)
    shift = C.int_slider("shift right (pixels)", 0, 6, 0)
    pool = C.dropdown("max-pool window", [(f"{p}x{p}" if p > 1 else "none", p) for p in pools], pools[1])
    figure, text = C.html_area(), C.html_area()

    def redraw():
        moved = shift_image(image, shift.value)
        before = feature_representation(image, kernel, pool.value)
        after = feature_representation(moved, kernel, pool.value)
        top = max(before.max(), after.max(), 1e-12)
        fig, axes = plt.subplots(2, 2, figsize=(5.2, 5.0))
        for row, (x, rep, label) in enumerate(((image, before, "original"), (moved, after, f"moved {shift.value} px"))):
            axes[row, 0].imshow(x, cmap="gray")
            axes[row, 0].set_title(label, fontsize=9)
            axes[row, 1].imshow(rep, cmap="magma", vmin=0, vmax=top)
            axes[row, 1].set_title(f"max pool {pool.value}x{pool.value} of ReLU(x ⋆ w): {rep.shape[0]}x{rep.shape[1]}"
                                   if pool.value > 1 else "ReLU(x ⋆ w), no pooling", fontsize=9)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        pixels = _cosine(image, moved)
        rep = _cosine(before, after)
        text.value = (f"cosine similarity to the original: pixels <b>{pixels:.2f}</b>, "
                      f"this representation <b>{rep:.2f}</b>")

    return C.widget_root([shift, pool, figure, text], controls={"shift": shift, "pool": pool},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# History 1959-2012
# --------------------------------------------------------------------------

#: Events of the timeline figure: (year, short title, one line of detail, kind).
TIMELINE = [
    (1959, "Hubel & Wiesel", "cat V1 cells respond to\nedges of one orientation", "biology"),
    (1962, "simple & complex cells", "complex cells pool simple\ncells over positions", "biology"),
    (1980, "Neocognitron (Fukushima)", "S-cells and C-cells in layers,\nno backpropagation", "network"),
    (1986, "backpropagation", "rediscovered c. 1985,\nthen popularised", "network"),
    (1989, "LeNet-1: zip codes", "conv net trained by backprop\non ~7,300 USPS digits", "network"),
    (1994, "MNIST", "60,000 + 10,000 handwritten\ndigits, 28x28", "data"),
    (1998, "LeNet-5", "gradient-based learning\nfor document recognition", "network"),
    (2005, "HOG (Dalal & Triggs)", "hand-designed features\n+ linear SVM", "classical"),
    (2007, "CUDA", "GPUs programmable for\ngeneral computation", "hardware"),
    (2009, "ImageNet", "over 14 million\nlabelled images", "data"),
    (2010, "ILSVRC 2010", "winner: SIFT + LBP, SVM,\n28.2% top-5 error", "classical"),
    (2012, "AlexNet", "15.3% top-5 error vs 26.2%\nfor the runner-up; 2 GPUs", "network"),
]

#: ImageNet (ILSVRC) top-5 test error in percent, as in the lecture decks.
IMAGENET_TOP5 = {
    "2010 winner (SIFT + LBP, SVM)": 28.2,
    "2012 runner-up (SIFT + Fisher vectors)": 26.2,
    "2012 AlexNet (CNN)": 15.3,
}

_KIND_COLOURS = {"biology": "#2ca02c", "network": "#d62728", "classical": "#7f7f7f",
                 "data": "#1f77b4", "hardware": "#9467bd"}


# (x of the label, height) per year of TIMELINE, so that no two labels overlap
_TIMELINE_LAYOUT = {1959: (1959, 1.0), 1962: (1963, -1.0), 1980: (1978, 2.1), 1986: (1983, -1.0),
                    1989: (1989, 1.0), 1994: (1993, -2.1), 1998: (1998, 2.1), 2005: (2003, -1.0),
                    2007: (2006, 1.0), 2009: (2011, -2.1), 2010: (2012, 2.1), 2012: (2015, -1.0)}


def timeline_events(start=None, end=None, kinds=None):
    """The events of :data:`TIMELINE` between two years (inclusive), sorted by year.

    Parameters
    ----------
    start, end : int, optional
    kinds : iterable of str, optional
        Keep only these kinds (``"biology"``, ``"network"``, ``"classical"``,
        ``"data"``, ``"hardware"``).
    """
    kinds = None if kinds is None else set(kinds)
    if kinds is not None and not kinds <= set(_KIND_COLOURS):
        raise ValueError(f"timeline_events: unknown kinds {sorted(kinds - set(_KIND_COLOURS))}; "
                         f"choose from {sorted(_KIND_COLOURS)}")
    return sorted((e for e in TIMELINE
                   if (start is None or e[0] >= start) and (end is None or e[0] <= end)
                   and (kinds is None or e[3] in kinds)), key=lambda e: e[0])


def top5_error_reduction(new=15.3, old=26.2):
    """``(percentage points, relative reduction)`` from ``old`` to ``new`` error.

    AlexNet against the 2012 runner-up: 26.2 - 15.3 = 10.9 points, 10.9 / 26.2 = 41.6%.
    """
    if old <= 0:
        raise ValueError(f"top5_error_reduction: old error must be positive, got {old}")
    points = old - new
    return round(points, 10), points / old


def draw_timeline(events=None, ax=None):
    """Draw the timeline 1955-2014: a dot and a label per event, the classical era shaded.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    events = timeline_events() if events is None else events
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4.6))
    ax.axhline(0, color="black", linewidth=1.2, zorder=1)
    ax.axvspan(1998, 2012, ymin=0.0, ymax=1.0, color="0.92", zorder=0)
    ax.text(2005, -3.6, "1998-2012: kernel methods, SVMs and hand-designed features",
            ha="center", va="center", fontsize=8, color="0.35")
    for k, (year, title, detail, kind) in enumerate(events):
        # hand-placed labels for the standard timeline (no two boxes overlap); others alternate
        x_text, h = _TIMELINE_LAYOUT.get(year, (year, [1.0, -1.0, 2.1, -2.1][k % 4]))
        colour = _KIND_COLOURS[kind]
        ax.plot([year, x_text], [0, h], color=colour, linewidth=1, zorder=2)
        ax.scatter([year], [0], s=40, color=colour, zorder=3)
        ax.text(x_text, h + (0.08 if h > 0 else -0.08), f"{year} {title}\n{detail}",
                ha="center", va="bottom" if h > 0 else "top", fontsize=7.2, color=colour,
                bbox={"facecolor": "white", "edgecolor": colour, "boxstyle": "round,pad=0.25", "linewidth": 0.8})
    ax.set_xlim(1950, 2021)
    ax.set_ylim(-3.9, 3.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=kind) for kind, c in _KIND_COLOURS.items()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=8, ncol=5, frameon=False)
    ax.set_title("From the visual cortex to AlexNet")
    return ax


def draw_imagenet_results(ax=None):
    """Bar chart of :data:`IMAGENET_TOP5` (top-5 error, lower is better)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 2.4))
    names = list(IMAGENET_TOP5)
    values = [IMAGENET_TOP5[n] for n in names]
    colours = ["#7f7f7f", "#7f7f7f", "#d62728"]
    ax.barh(names, values, color=colours)
    for k, v in enumerate(values):
        ax.text(v + 0.4, k, f"{v:.1f}%", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 33)
    ax.set_xlabel("ImageNet top-5 error (%)")
    return ax


#: Stages of the ventral ("what") pathway and what their neurons respond to.
VENTRAL_STREAM = [
    ("retina", "light, spots"),
    ("LGN", "centre-surround\ncontrast"),
    ("V1", "oriented edges\n(simple, complex cells)"),
    ("V2", "corners, contours,\ntextures"),
    ("V4", "shapes,\nobject parts"),
    ("PIT", "larger parts"),
    ("AIT", "whole objects,\nfaces"),
]


def draw_ventral_stream(ax=None):
    """The ventral stream as a chain of boxes, with the CNN stage each one resembles."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 2.6))
    cnn = ["input", "(normalisation)", "conv 1 + ReLU\n+ pooling", "conv 2", "conv 3-4", "conv 5",
           "fully connected\n→ class"]
    n = len(VENTRAL_STREAM)
    for k, ((area, role), layer) in enumerate(zip(VENTRAL_STREAM, cnn)):
        x = k * 1.6
        ax.add_patch(FancyBboxPatch((x, 0.55), 1.2, 0.7, boxstyle="round,pad=0.05", facecolor="#e8f1fa",
                                    edgecolor="#1f77b4"))
        ax.text(x + 0.6, 1.02, area, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(x + 0.6, 0.76, role, ha="center", va="center", fontsize=7.5)
        ax.text(x + 0.6, 0.2, layer, ha="center", va="center", fontsize=7.5, color="#d62728")
        if k < n - 1:
            ax.annotate("", xy=(x + 1.6, 0.9), xytext=(x + 1.25, 0.9), arrowprops={"arrowstyle": "->"})
    ax.text(-0.3, 0.2, "CNN:", ha="right", va="center", fontsize=9, color="#d62728")
    ax.text(-0.3, 0.9, "brain:", ha="right", va="center", fontsize=9, color="#1f77b4")
    ax.set_xlim(-1.2, n * 1.6)
    ax.set_ylim(-0.1, 1.4)
    ax.axis("off")
    ax.set_title("The ventral pathway: each stage sees a larger region and more complex patterns")
    return ax


# --------------------------------------------------------------------------
# Computer-vision tasks on a canvas of digits
# --------------------------------------------------------------------------

#: Input and output of the common tasks (deck "Neural networks for images").
VISION_TASKS = [
    ("image", "classification", "a category"),
    ("image", "detection", "a bounding box (and category) per object"),
    ("image", "semantic segmentation", "a category per pixel"),
    ("image", "image processing (denoising, super-resolution)", "an image"),
    ("image with a missing part", "in-painting", "an image"),
    ("random numbers or text", "image generation", "an image"),
    ("image", "captioning", "text"),
]


def digit_scene(digits, labels, positions, canvas=(56, 84), threshold=0.3):
    """Paste digits onto a canvas and compute what each vision task should answer.

    Parameters
    ----------
    digits : (k, h, w) array_like
        Grey images in [0, 1] (or 0-255; scaled by their maximum).
    labels : sequence of int, length k
    positions : sequence of (row, col), length k
        Top-left corner of each digit on the canvas.
    canvas : (int, int)
    threshold : float
        A pixel brighter than this (after scaling) is ink.

    Returns
    -------
    dict
        ``image`` (H, W) in [0, 1], the pixelwise maximum of the pasted digits;
        ``classes`` sorted list of the labels present (multi-label classification);
        ``boxes`` list of ``(label, top, left, bottom, right)``, the ink's
        bounding box with bottom/right exclusive (detection); ``mask`` (H, W)
        int, the label of each ink pixel and -1 for background (segmentation).
    """
    digits = np.asarray(digits, dtype=np.float64)
    if digits.ndim != 3 or not len(digits) == len(labels) == len(positions):
        raise ValueError(f"digit_scene: need (k, h, w) digits with k labels and k positions, got "
                         f"{digits.shape}, {len(labels)} labels, {len(positions)} positions")
    scale = digits.max() or 1.0
    image = np.zeros(canvas)
    mask = np.full(canvas, -1, dtype=np.int64)
    boxes = []
    h, w = digits.shape[1:]
    for digit, label, (top, left) in zip(digits / scale, labels, positions):
        if top < 0 or left < 0 or top + h > canvas[0] or left + w > canvas[1]:
            raise ValueError(f"digit_scene: a {h}x{w} digit at {(top, left)} does not fit a {canvas} canvas")
        region = image[top:top + h, left:left + w]
        np.maximum(region, digit, out=region)
        ink = digit > threshold
        mask[top:top + h, left:left + w][ink] = int(label)
        rows, cols = np.nonzero(ink)
        if len(rows):
            boxes.append((int(label), top + int(rows.min()), left + int(cols.min()),
                          top + int(rows.max()) + 1, left + int(cols.max()) + 1))
    return {"image": image, "classes": sorted({int(v) for v in labels}), "boxes": boxes, "mask": mask}


def draw_vision_tasks(scene):
    """Four panels: the input and the answers of classification, detection, segmentation."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 4, figsize=(12, 2.6))
    image = scene["image"]
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("input image")
    axes[1].imshow(image, cmap="gray")
    axes[1].set_title("classification: " + ", ".join(str(c) for c in scene["classes"]))
    axes[2].imshow(image, cmap="gray")
    palette = plt.get_cmap("tab10")
    for label, top, left, bottom, right in scene["boxes"]:
        axes[2].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                    edgecolor=palette(label), linewidth=2))
        axes[2].text(left, top - 1, str(label), color=palette(label), fontsize=10, weight="bold", va="bottom")
    axes[2].set_title("detection: a box per object")
    colours = ListedColormap(["black"] + [palette(k) for k in range(10)])
    axes[3].imshow(scene["mask"] + 1, cmap=colours, vmin=0, vmax=10, interpolation="nearest")
    axes[3].set_title("segmentation: a class per pixel")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig

