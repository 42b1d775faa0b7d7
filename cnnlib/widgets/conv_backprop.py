"""Backprop through a convolution, symbol by symbol (lecture 7).

The lecture's example: a 3x3 input ``x``, a 2x2 kernel ``w``, padding 1, so
``x_pad`` is 5x5 and the output ``z`` is 4x4 with

    z[i, j] = sum_{u, v} x_pad[i + u, j + v] w[u, v].

``conv_terms`` lists, for every output, which input pixel meets which weight;
``gradient_terms`` turns that list around into the terms of dL/dx and dL/dw;
``position_gradients`` gives the numbers for the upstream gradient that is 1
at one output and 0 elsewhere, which is what the widget's slider shows: the
inputs that receive gradient from ``z[i, j]`` (weighted by ``w``) and the
weights that do (weighted by the window of ``x_pad``).
"""
from __future__ import annotations

import html

import numpy as np

from .. import conv
from . import _controls as C

__all__ = ["conv_terms", "gradient_terms", "format_terms", "position_gradients", "conv_backprop_explorer"]


def _check_shapes(in_shape, kernel_shape, pad):
    (h, w), (kh, kw) = tuple(in_shape), tuple(kernel_shape)
    if min(h, w, kh, kw) < 1 or pad < 0:
        raise ValueError(f"need positive sizes and pad >= 0, got input {in_shape}, kernel {kernel_shape}, pad {pad}")
    out = (h + 2 * pad - kh + 1, w + 2 * pad - kw + 1)
    if min(out) < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit a {h}x{w} input with padding {pad}")
    return (h, w), (kh, kw), out


def conv_terms(in_shape=(3, 3), kernel_shape=(2, 2), pad=1):
    """Which input pixel meets which weight in each output (stride 1).

    Parameters
    ----------
    in_shape, kernel_shape : (int, int)
    pad : int

    Returns
    -------
    dict of {(i, j): list of ((r, c) or None, (u, v))}
        For output ``z[i, j]`` the terms ``x[r, c] * w[u, v]`` in the order
        of the sum; ``(r, c)`` indexes the *unpadded* input, ``None`` marks a
        padding zero (that term is 0).
    """
    (h, w), (kh, kw), (oh, ow) = _check_shapes(in_shape, kernel_shape, pad)
    terms = {}
    for i in range(oh):
        for j in range(ow):
            row = []
            for u in range(kh):
                for v in range(kw):
                    r, c = i + u - pad, j + v - pad
                    inside = 0 <= r < h and 0 <= c < w
                    row.append(((r, c) if inside else None, (u, v)))
            terms[(i, j)] = row
    return terms


def gradient_terms(in_shape=(3, 3), kernel_shape=(2, 2), pad=1):
    """The terms of dL/dx and dL/dw, read off :func:`conv_terms`.

    With ``g = dL/dz``: ``dL/dx[r, c] = sum g[i, j] w[u, v]`` over the outputs
    in which ``x[r, c]`` meets ``w[u, v]``, and ``dL/dw[u, v] = sum g[i, j]
    x[r, c]`` over the same meetings (padding zeros contribute nothing).

    Returns
    -------
    dx_terms : dict of {(r, c): list of ((i, j), (u, v))}
    dw_terms : dict of {(u, v): list of ((i, j), (r, c))}
    """
    (h, w), (kh, kw), _ = _check_shapes(in_shape, kernel_shape, pad)
    dx_terms = {(r, c): [] for r in range(h) for c in range(w)}
    dw_terms = {(u, v): [] for u in range(kh) for v in range(kw)}
    for out, row in conv_terms(in_shape, kernel_shape, pad).items():
        for x_pos, w_pos in row:
            if x_pos is None:
                continue
            dx_terms[x_pos].append((out, w_pos))
            dw_terms[w_pos].append((out, x_pos))
    return dx_terms, dw_terms


def _name(symbol, pos):
    return f"{symbol}[{pos[0]},{pos[1]}]"


def format_terms(target, terms, kind="z"):
    """A term list as one line of text, e.g. ``z[0,0] = x[0,0]·w[1,1]``.

    ``kind`` is ``"z"`` (terms from :func:`conv_terms`), ``"dx"`` or ``"dw"``
    (from :func:`gradient_terms`); gradients are written with ``g = dL/dz``.
    """
    if kind == "z":
        parts = [f"{_name('x', x)}·{_name('w', w)}" for x, w in terms if x is not None]
        padded = sum(x is None for x, _ in terms)
        if padded:
            parts.append(f"({padded} padding zero{'s' if padded > 1 else ''})")
        return f"{_name('z', target)} = " + " + ".join(parts)
    if kind == "dx":
        return f"dL/d{_name('x', target)} = " + " + ".join(f"{_name('g', o)}·{_name('w', w)}" for o, w in terms)
    if kind == "dw":
        return f"dL/d{_name('w', target)} = " + " + ".join(f"{_name('g', o)}·{_name('x', x)}" for o, x in terms)
    raise ValueError(f"format_terms: kind must be 'z', 'dx' or 'dw', got {kind!r}")


def position_gradients(x, w, position, pad=1):
    """Gradients when the upstream gradient is 1 at one output and 0 elsewhere.

    Parameters
    ----------
    x : (H, W) array_like
    w : (KH, KW) array_like
    position : (int, int)
        The output ``(i, j)``.
    pad : int

    Returns
    -------
    dict
        ``z`` (OH, OW) -- the output; ``g`` -- the one-hot upstream
        gradient; ``dx`` (H, W) and ``dw`` (KH, KW) from
        :func:`cnnlib.conv.conv2d_backward`; ``window`` (H + 2 pad, W + 2 pad)
        boolean -- the padded-input pixels under the kernel at ``(i, j)``.
        Then ``dw`` equals that window of ``x_pad`` and ``dx`` holds the
        weights at the pixels of the window that are real inputs.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"position_gradients: x and w must be 2-D, got {x.shape} and {w.shape}")
    _, _, (oh, ow) = _check_shapes(x.shape, w.shape, pad)
    i, j = position
    if not (0 <= i < oh and 0 <= j < ow):
        raise ValueError(f"position_gradients: output position {position} outside the {oh}x{ow} output")
    z, cache = conv.conv2d_forward(x[None, None], w[None, None], np.zeros(1), stride=1, pad=pad)
    g = np.zeros((oh, ow))
    g[i, j] = 1.0
    dx, dw, _ = conv.conv2d_backward(g[None, None], cache)
    window = np.zeros((x.shape[0] + 2 * pad, x.shape[1] + 2 * pad), dtype=bool)
    window[i:i + w.shape[0], j:j + w.shape[1]] = True
    return {"z": z[0, 0], "g": g, "dx": dx[0, 0], "dw": dw[0, 0], "window": window}


def conv_backprop_explorer(x=None, w=None, pad=1):
    """A widget: a slider over the output positions of the lecture's example.

    For the chosen ``z[i, j]`` it shows the padded input with the window
    marked, the formula of ``z[i, j]``, and which inputs and weights receive
    gradient when ``g = dL/dz`` is 1 there: ``dL/dx`` (the weights, placed
    where they met the input) and ``dL/dw`` (the window of ``x_pad``).

    Returns
    -------
    ipywidgets.VBox
        ``.controls["position"]`` (IntSlider over ``i * OW + j``),
        ``.outputs["tables"]``, ``.outputs["formula"]``; ``.gradients()`` the
        current :func:`position_gradients` dict.
    """
    x = np.arange(1.0, 10.0).reshape(3, 3) if x is None else np.asarray(x, dtype=np.float64)
    w = np.array([[1.0, 2.0], [3.0, 4.0]]) if w is None else np.asarray(w, dtype=np.float64)
    _, _, (oh, ow) = _check_shapes(x.shape, w.shape, pad)
    terms = conv_terms(x.shape, w.shape, pad)
    position = C.int_slider("output position", 0, oh * ow - 1, value=0)
    formula = C.html_area()
    tables = C.html_area()
    state = {}
    x_pad = np.pad(x, pad)

    def update():
        i, j = divmod(position.value, ow)
        grads = position_gradients(x, w, (i, j), pad)
        state["gradients"] = grads
        formula.value = (f"<code>{html.escape(format_terms((i, j), terms[(i, j)]))} = {grads['z'][i, j]:g}</code>"
                         f"<br>g = dL/dz is 1 at z[{i},{j}] and 0 elsewhere.")
        dx_pad = np.pad(grads["dx"], pad)
        tables.value = "<div style='display:flex;gap:12px;align-items:flex-start'>" + "".join([
            C.array_html(x_pad, fmt="{:g}", highlight=grads["window"], caption="x_pad (window marked)"),
            C.array_html(w, fmt="{:g}", caption="w"),
            C.array_html(grads["z"], fmt="{:g}", highlight=grads["g"] != 0, caption="z"),
            C.array_html(dx_pad, fmt="{:g}", highlight=grads["window"], caption="dL/dx (padded)"),
            C.array_html(grads["dw"], fmt="{:g}", highlight=np.ones(w.shape, bool), caption="dL/dw"),
        ]) + "</div>"

    root = C.widget_root([position, formula, tables], controls={"position": position},
                         outputs={"formula": formula, "tables": tables}, redraw=update)
    root.gradients = lambda: state["gradients"]
    return root
