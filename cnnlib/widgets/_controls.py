"""Small helpers shared by the lecture widgets, for ipywidgets 7.7 and 8.

Only APIs present in both versions are used (sliders, dropdowns, boxes, HTML,
Output). Every widget returned by a builder is a box with the CSS class
``cnnlib-widget``; the areas that change when a control moves carry
``cnnlib-output`` (the browser test looks for both).

Figures are shown as PNG images inside an ``HTML`` widget rather than printed
into an ``Output`` area: the HTML string is the widget's state, so a test
without a browser can move a slider and see that the picture changed, and the
page updates the same way in JupyterLab and in Colab.
"""
from __future__ import annotations

import base64
import html
import io

__all__ = [
    "require_ipywidgets",
    "int_slider",
    "float_slider",
    "dropdown",
    "html_area",
    "output_area",
    "widget_root",
    "figure_html",
    "array_html",
    "on_change",
]

WIDGET_CLASS = "cnnlib-widget"
OUTPUT_CLASS = "cnnlib-output"

# wide enough for descriptions such as "position"; ipywidgets 7 cuts long ones otherwise
_STYLE = {"description_width": "initial"}


def require_ipywidgets():
    """Import and return ``ipywidgets``, or raise an ImportError saying how to get it."""
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the cnnlib widgets need ipywidgets (>= 7.7): install the course extras with "
            "`pip install 'cnnlib-course[course]'` or just `pip install ipywidgets`"
        ) from err
    return ipywidgets


def int_slider(description, min, max, value=None, step=1, **kwargs):
    """An ``IntSlider`` that updates only when released (keeps redraws cheap)."""
    w = require_ipywidgets()
    value = min if value is None else value
    return w.IntSlider(value=value, min=min, max=max, step=step, description=description,
                       continuous_update=False, style=_STYLE, **kwargs)


def float_slider(description, min, max, value=None, step=0.1, **kwargs):
    """A ``FloatSlider`` that updates only when released."""
    w = require_ipywidgets()
    value = min if value is None else value
    return w.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                         continuous_update=False, style=_STYLE, **kwargs)


def dropdown(description, options, value=None, **kwargs):
    """A ``Dropdown``; ``options`` is a list of labels or of ``(label, value)`` pairs."""
    w = require_ipywidgets()
    options = list(options)
    if value is None:
        first = options[0]
        value = first[1] if isinstance(first, tuple) else first
    return w.Dropdown(options=options, value=value, description=description, style=_STYLE, **kwargs)


def html_area(value=""):
    """An ``HTML`` widget marked ``cnnlib-output``: the part of a widget that changes."""
    w = require_ipywidgets()
    area = w.HTML(value=value)
    area.add_class(OUTPUT_CLASS)
    return area


def output_area():
    """An ``Output`` widget marked ``cnnlib-output`` (for prints and live plots)."""
    w = require_ipywidgets()
    area = w.Output()
    area.add_class(OUTPUT_CLASS)
    return area


def widget_root(children, controls=None, outputs=None, vertical=True, redraw=None):
    """The outer box of a widget, marked ``cnnlib-widget``.

    ``controls`` and ``outputs`` (dicts of name -> widget) are kept as
    attributes of the box so code and tests can drive a widget by name:
    ``w.controls["stride"].value = 2`` then read ``w.outputs["figure"].value``.
    ``redraw()``, if given, fills the outputs: it is called once now and again
    whenever the value of one of ``controls`` changes.
    """
    w = require_ipywidgets()
    box = (w.VBox if vertical else w.HBox)(list(children))
    box.add_class(WIDGET_CLASS)
    box.controls = dict(controls or {})
    box.outputs = dict(outputs or {})
    if redraw is not None:
        on_change(box.controls.values(), redraw)
        redraw()
    return box


def on_change(controls, callback):
    """Call ``callback()`` whenever the value of any of ``controls`` changes."""
    for control in controls:
        control.observe(lambda change: callback(), names="value")


def figure_html(fig, dpi=80):
    """A matplotlib figure as an ``<img>`` tag (PNG, base64); the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}"/>'


def array_html(a, fmt="{:.3g}", highlight=None, caption=None):
    """A small 2-D array as an HTML table; ``highlight`` is a boolean mask of cells to colour."""
    import numpy as np

    a = np.asarray(a)
    highlight = None if highlight is None else np.asarray(highlight, dtype=bool)
    if a.ndim != 2:
        raise ValueError(f"array_html needs a 2-D array, got shape {a.shape}")
    rows = []
    for i in range(a.shape[0]):
        cells = []
        for j in range(a.shape[1]):
            style = "padding:2px 6px;text-align:right;border:1px solid #ccc"
            if highlight is not None and highlight[i, j]:
                style += ";background:#ffd6d6"
            cells.append(f"<td style='{style}'>{html.escape(fmt.format(a[i, j] + 0))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table style='border-collapse:collapse;margin:4px'>{head}{''.join(rows)}</table>"
