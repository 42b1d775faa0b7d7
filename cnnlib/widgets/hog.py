"""HOG explorer: an image and its HOG picture side by side (lecture 6).

``hog_view`` computes everything the widget shows for one setting of the
controls (the descriptor, the picture, the cell and block counts); the builder
``hog_explorer`` only wires sliders to it and draws the result.
"""
from __future__ import annotations

import html

import numpy as np

from .. import hog as H
from . import _controls as C

__all__ = ["example_images", "hog_view", "hog_explorer"]


def example_images(digits=None):
    """Images for the explorer: a synthetic bar, a circle, a photograph, digits.

    Parameters
    ----------
    digits : (N, 28, 28) array_like, optional
        Digits to offer (the first three are used), e.g. from
        ``load_mnist("train-5k")``.

    Returns
    -------
    dict of {name: (H, W) float64 array in [0, 1]}
    """
    images = {}
    bar = np.zeros((32, 32))
    bar[:, 12:20] = 1.0                      # a vertical bar: two vertical edges
    images["vertical bar"] = bar
    r, c = np.mgrid[:32, :32]
    images["circle"] = ((r - 15.5) ** 2 + (c - 15.5) ** 2 < 11 ** 2).astype(np.float64)
    try:
        from skimage import data, transform

        camera = transform.resize(data.camera(), (128, 128), anti_aliasing=True)
        images["photograph (camera)"] = camera.astype(np.float64)
    except ImportError:  # scikit-image is in the course extras; the widget works without it
        pass
    if digits is not None:
        digits = np.asarray(digits, dtype=np.float64)
        if digits.ndim != 3:
            raise ValueError(f"example_images: digits must be (N, H, W), got {digits.shape}")
        scale = digits.max() or 1.0
        for k in range(min(3, len(digits))):
            images[f"digit {k}"] = digits[k] / scale
    return images


def hog_view(image, pixels_per_cell=8, orientations=9, cells_per_block=2, block_norm="L2-Hys"):
    """Everything the HOG explorer shows for one setting of its controls.

    Parameters
    ----------
    image : (H, W) array_like
    pixels_per_cell : int
        Side of a square cell in pixels.
    orientations : int
        Number of angle bins over [0, 180) degrees.
    cells_per_block : int
        Side of a square block in cells.
    block_norm : str
        See :func:`cnnlib.hog.normalize_blocks`.

    Returns
    -------
    dict
        ``features`` (D,) -- the descriptor, as ``cnnlib.hog.hog`` (and so
        ``skimage.feature.hog``) with these arguments; ``picture`` (H, W) --
        the HOG picture; ``histograms`` (n_cells_row, n_cells_col,
        orientations) -- cell histograms before normalisation; ``n_cells``,
        ``n_blocks`` -- pairs; ``length`` -- D =
        n_blocks_row * n_blocks_col * cells_per_block**2 * orientations.

    Raises
    ------
    ValueError
        If the image holds fewer cells than one block (the message says
        which cell size would fit).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"hog_view: expected one grayscale image (H, W), got shape {image.shape}")
    cell = (pixels_per_cell, pixels_per_cell)
    n_cells = (image.shape[0] // pixels_per_cell, image.shape[1] // pixels_per_cell)
    if min(n_cells) < cells_per_block:
        largest = min(image.shape) // cells_per_block
        raise ValueError(f"hog_view: a {image.shape[0]}x{image.shape[1]} image has only {n_cells[0]}x{n_cells[1]} "
                         f"cells of {pixels_per_cell} pixels, fewer than one block of {cells_per_block}x"
                         f"{cells_per_block} cells; use pixels_per_cell <= {largest}")
    features, picture = H.hog(image, orientations=orientations, pixels_per_cell=cell,
                              cells_per_block=(cells_per_block, cells_per_block), block_norm=block_norm,
                              visualize=True)
    magnitude, orientation = H.image_gradients(image)
    histograms = H.cell_histograms(magnitude, orientation, pixels_per_cell=cell, orientations=orientations)
    n_blocks = (n_cells[0] - cells_per_block + 1, n_cells[1] - cells_per_block + 1)
    return {
        "features": features,
        "picture": picture,
        "histograms": histograms,
        "n_cells": n_cells,
        "n_blocks": n_blocks,
        "length": int(features.size),
    }


def glyph_segments(histograms, pixels_per_cell):
    """Line segments of the HOG picture, one per cell and orientation bin.

    Each bin's line goes through the cell centre, perpendicular to the bin's
    mid-angle (the gradient points across an edge, so the line lies along it),
    ``0.9 * pixels_per_cell`` long; its strength is the bin's vote relative to
    the largest vote of the image. Drawn as vectors, the picture stays sharp
    for small cells, where a rasterised picture (``hog(..., visualize=True)``)
    has lines only a few pixels long.

    Parameters
    ----------
    histograms : ndarray, shape (n_cells_row, n_cells_col, orientations)
    pixels_per_cell : int

    Returns
    -------
    segments : ndarray, shape (M, 2, 2)
        ``[[x0, y0], [x1, y1]]`` in pixel coordinates (x = column, y = row),
        for the M bins with a positive vote.
    strength : ndarray, shape (M,)
        Vote / largest vote, in (0, 1].
    """
    histograms = np.asarray(histograms, dtype=np.float64)
    bins = histograms.shape[2]
    rows, cols, ks = np.nonzero(histograms > 0)
    mid_angle = np.deg2rad((ks + 0.5) * 180.0 / bins)
    half = 0.45 * pixels_per_cell
    # gradient direction (cos, sin) in (x, y); the edge runs along (-sin, cos)
    dx, dy = -np.sin(mid_angle) * half, np.cos(mid_angle) * half
    cx = (cols + 0.5) * pixels_per_cell - 0.5
    cy = (rows + 0.5) * pixels_per_cell - 0.5
    segments = np.stack([np.stack([cx - dx, cy - dy], axis=-1), np.stack([cx + dx, cy + dy], axis=-1)], axis=1)
    peak = histograms.max()
    strength = histograms[rows, cols, ks] / peak if peak > 0 else np.zeros(len(ks))
    return segments, strength


def _draw(image, view, title, pixels_per_cell):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 3.2))
    left.imshow(image, cmap="gray")
    left.set_title(title, fontsize=9)
    segments, strength = glyph_segments(view["histograms"], pixels_per_cell)
    colours = np.ones((len(strength), 4))
    colours[:, 3] = strength
    right.set_facecolor("black")
    right.add_collection(LineCollection(segments, colors=colours, linewidths=1.5))
    right.set_xlim(-0.5, image.shape[1] - 0.5)
    right.set_ylim(image.shape[0] - 0.5, -0.5)
    right.set_aspect("equal")
    right.set_title(f"HOG: {view['n_cells'][0]}x{view['n_cells'][1]} cells, D = {view['length']}", fontsize=9)
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def hog_explorer(images=None, pixels_per_cell=4, orientations=9, cells_per_block=2):
    """A widget: pick an image, move the cell-size and orientation sliders.

    Parameters
    ----------
    images : dict of {name: (H, W) array}, optional
        Default: :func:`example_images` (bar, circle, photograph).
    pixels_per_cell, orientations, cells_per_block : int
        Starting values of the sliders.

    Returns
    -------
    ipywidgets.VBox
        With ``.controls`` (``image``, ``pixels_per_cell``, ``orientations``,
        ``cells_per_block``), ``.outputs`` (``figure``: the picture as HTML,
        ``summary``: the numbers as text) and ``.view()`` giving the current
        :func:`hog_view` dict.
    """
    images = dict(images) if images is not None else example_images()
    if not images:
        raise ValueError("hog_explorer: no images given")
    names = list(images)
    image = C.dropdown("image", names, value=names[0])
    cell = C.int_slider("pixels per cell", 2, 16, value=pixels_per_cell)
    bins = C.int_slider("orientations", 2, 18, value=orientations)
    block = C.int_slider("cells per block", 1, 3, value=cells_per_block)
    figure = C.html_area()
    summary = C.html_area()
    state = {}

    def update():
        picture = images[image.value]
        try:
            view = hog_view(picture, cell.value, bins.value, block.value)
        except ValueError as err:
            state.pop("view", None)
            figure.value = ""   # no stale picture next to the message
            summary.value = f"<b>{html.escape(str(err))}</b>"
            return
        state["view"] = view
        figure.value = C.figure_html(_draw(picture, view, f"{image.value} ({picture.shape[0]}x{picture.shape[1]})",
                                                 cell.value))
        summary.value = (
            f"{view['n_cells'][0]}x{view['n_cells'][1]} cells of {cell.value}x{cell.value} pixels, "
            f"{view['n_blocks'][0]}x{view['n_blocks'][1]} blocks of {block.value}x{block.value} cells, "
            f"{bins.value} orientation bins: descriptor length D = {view['n_blocks'][0]} x {view['n_blocks'][1]}"
            f" x {block.value * block.value} x {bins.value} = <b>{view['length']}</b>"
        )

    controls = {"image": image, "pixels_per_cell": cell, "orientations": bins, "cells_per_block": block}
    root = C.widget_root([image, cell, bins, block, summary, figure], controls=controls,
                         outputs={"figure": figure, "summary": summary}, redraw=update)
    root.view = lambda: state.get("view")
    return root
