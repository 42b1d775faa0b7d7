"""Lecture 5 widgets: the pooling explorer and receptive fields.

Pooling itself is :mod:`cnnlib.pool`; this module applies it to one 2-D
image, cuts out one window, and traces how far back a stack of layers sees.
"""
from __future__ import annotations

import html

import numpy as np

from ..pool import avgpool2d_forward, l2pool2d_forward, maxpool2d_forward, pool_output_size
from ._controls import array_html, dropdown, figure_html, html_area, int_slider, widget_root

__all__ = [
    "LECTURE_EXAMPLE",
    "POOLS",
    "pool2d",
    "pool_window",
    "pooling_explorer",
    "receptive_field",
    "receptive_field_explorer",
]

# the 4x4 example of the lecture: 2x2 max pooling with stride 2 gives [[6, 8], [3, 4]]
LECTURE_EXAMPLE = np.array([[1.0, 1.0, 2.0, 4.0],
                            [5.0, 6.0, 7.0, 8.0],
                            [3.0, 2.0, 1.0, 0.0],
                            [1.0, 2.0, 3.0, 4.0]])

POOLS = {"max": maxpool2d_forward, "average": avgpool2d_forward, "L2": l2pool2d_forward}


def pool2d(image, mode="max", size=2, stride=None):
    """Pool one 2-D image with :mod:`cnnlib.pool`.

    Parameters
    ----------
    image : array_like, shape (H, W)
    mode : {"max", "average", "L2"}
    size : int
        Window size.
    stride : int or None
        None means ``stride = size``.

    Returns
    -------
    ndarray, shape (OH, OW)
        ``OH = (H - size) // stride + 1``.
    """
    if mode not in POOLS:
        raise ValueError(f"mode must be one of {list(POOLS)}, got {mode!r}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"pool2d needs a 2-D image (H, W), got shape {image.shape}")
    out, _ = POOLS[mode](image[None, None], size=size, stride=stride)
    return out[0, 0]


def pool_window(image, mode="max", size=2, stride=None, position=0):
    """The window behind one pooled value.

    Returns
    -------
    dict
        ``output`` (OH, OW); ``row``, ``col``; ``top``, ``left`` of the window;
        ``window`` (size, size); ``value`` = ``output[row, col]``; ``argmax``
        = (row, col) in the image of the largest entry (what max pooling picks
        and where its gradient goes).
    """
    stride = size if stride is None else stride
    output = pool2d(image, mode, size, stride)
    oh, ow = output.shape
    if not 0 <= position < oh * ow:
        raise ValueError(f"position must be in 0..{oh * ow - 1} for a {oh}x{ow} output, got {position}")
    row, col = divmod(int(position), ow)
    top, left = row * stride, col * stride
    window = np.asarray(image, dtype=np.float64)[top:top + size, left:left + size]
    r, c = np.unravel_index(np.argmax(window), window.shape)
    return {"output": output, "row": row, "col": col, "top": top, "left": left, "window": window,
            "value": float(output[row, col]), "argmax": (top + int(r), left + int(c))}


def _random_image():
    return np.random.default_rng(0).integers(0, 10, size=(8, 8)).astype(np.float64)


def _digit():
    from .convolution import demo_image

    return np.round(demo_image("digit (28x28)") * 9)  # 0-9 so the numbers stay readable


_POOL_IMAGES = {"lecture 4x4": lambda: LECTURE_EXAMPLE, "random 8x8": _random_image, "digit 28x28": _digit}


def _pool_figure(image, view, size):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
    for ax, a, title in ((axes[0], image, f"input {image.shape[0]}x{image.shape[1]}"),
                         (axes[1], view["output"], f"output {view['output'].shape[0]}x{view['output'].shape[1]}")):
        ax.imshow(a, cmap="viridis")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if a.size <= 100:
            for (i, j), v in np.ndenumerate(a):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="white", fontsize=9)
    axes[0].add_patch(Rectangle((view["left"] - 0.5, view["top"] - 0.5), size, size, fill=False,
                                edgecolor="red", linewidth=2.5))
    axes[1].add_patch(Rectangle((view["col"] - 0.5, view["row"] - 0.5), 1, 1, fill=False,
                                edgecolor="red", linewidth=2.5))
    fig.tight_layout()
    return figure_html(fig)


def pooling_explorer(image="lecture 4x4"):
    """A widget: pooling type, window size, stride and the position of one window.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"image", "mode", "size", "stride", "position"}``,
        ``.outputs`` ``{"figure", "text"}``.
    """
    image_choice = dropdown("image", list(_POOL_IMAGES), image)
    mode = dropdown("pooling", list(POOLS), "max")
    size = int_slider("window", 1, 4, 2)
    stride = int_slider("stride", 1, 4, 2)
    position = int_slider("position", 0, 3, 0)
    figure, text = html_area(), html_area()
    state = {"busy": False}

    def redraw():
        if state["busy"]:
            return
        img = _POOL_IMAGES[image_choice.value]()
        try:
            oh = pool_output_size(img.shape[0], size.value, stride.value)
            ow = pool_output_size(img.shape[1], size.value, stride.value)
        except ValueError as err:
            text.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return
        state["busy"] = True
        position.max = max(oh * ow - 1, 1)
        position.value = min(position.value, oh * ow - 1)
        state["busy"] = False
        # with a single window the slider keeps max 1 (a slider needs a range): clamp
        view = pool_window(img, mode.value, size.value, stride.value, min(position.value, oh * ow - 1))
        figure.value = _pool_figure(img, view, size.value)
        rule = {"max": "largest entry", "average": "mean of the entries",
                "L2": "square root of the sum of squares"}[mode.value]
        text.value = (f"output size = ⌊(n − window) / stride⌋ + 1 = {oh}x{ow}<br>"
                      f"<b>output[{view['row']}, {view['col']}] = {view['value']:.4g}</b>, the {rule} of the window"
                      + array_html(view["window"], caption="window")
                      + (array_html(view["output"], caption="pooled output") if view["output"].size <= 49 else ""))

    return widget_root([image_choice, mode, size, stride, position, figure, text],
                       controls={"image": image_choice, "mode": mode, "size": size, "stride": stride,
                                 "position": position},
                       outputs={"figure": figure, "text": text}, redraw=redraw)


def receptive_field(layers):
    """Receptive field of one unit after each layer of a stack.

    With ``r`` the receptive field and ``j`` the distance in input pixels
    between neighbouring units (the "jump"): a layer with kernel ``k`` and
    stride ``s`` gives ``r' = r + (k - 1) j`` and ``j' = j s``.

    Parameters
    ----------
    layers : list of (kernel, stride)
        Convolutions and poolings alike.

    Returns
    -------
    list of (int, int)
        ``(receptive_field, jump)`` after each layer.
    """
    r, j, out = 1, 1, []
    for i, layer in enumerate(layers):
        try:
            k, s = (int(v) for v in layer)
        except (TypeError, ValueError):
            raise ValueError(f"layer {i} must be a (kernel, stride) pair of ints, got {layer!r}") from None
        if k < 1 or s < 1:
            raise ValueError(f"layer {i}: kernel and stride must be >= 1, got {layer!r}")
        r, j = r + (k - 1) * j, j * s
        out.append((r, j))
    return out


def receptive_field_explorer():
    """A widget: a stack of equal layers (kernel, stride, how many) and its receptive field.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"kernel", "stride", "depth"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    kernel = int_slider("kernel", 1, 7, 3)
    stride = int_slider("stride", 1, 3, 1)
    depth = int_slider("layers", 1, 6, 2)
    figure, text = html_area(), html_area()

    def redraw():
        fields = receptive_field([(kernel.value, stride.value)] * depth.value)
        r = fields[-1][0]
        size = r + 4
        fig, ax = plt.subplots(figsize=(3.2, 3.2))
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        ax.add_patch(Rectangle((1.5, 1.5), r, r, facecolor="#ffd6d6", edgecolor="red", linewidth=2))
        ax.set_xticks(np.arange(size) - 0.5, minor=True)
        ax.set_yticks(np.arange(size) - 0.5, minor=True)
        ax.grid(which="minor", color="0.85")
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"one unit sees {r}x{r} input pixels")
        figure.value = figure_html(fig)
        rows = "".join(f"<tr><td>{i + 1}</td><td>{rf}x{rf}</td><td>{jump}</td></tr>"
                       for i, (rf, jump) in enumerate(fields))
        text.value = ("<table><tr><th>after layer</th><th>receptive field</th><th>jump</th></tr>"
                      f"{rows}</table>")

    return widget_root([kernel, stride, depth, figure, text],
                       controls={"kernel": kernel, "stride": stride, "depth": depth},
                       outputs={"figure": figure, "text": text}, redraw=redraw)
