"""Lecture 3 widgets: the backward pass step by step, and the gate patterns.

The numbers come from :mod:`cnnlib.autodiff` (``Value``, ``backward_steps``,
``draw_graph``); this module only arranges them into frames a slider can walk
through, and wraps them in ipywidgets.
"""
from __future__ import annotations

import html

from ..autodiff import Value, backward_steps, draw_graph, lecture_example, sigmoid_neuron_example
from ._controls import dropdown, figure_html, float_slider, html_area, int_slider, widget_root

__all__ = [
    "chain_rule_example",
    "chain_rule_terms",
    "EXAMPLES",
    "stepper_frames",
    "gate_gradients",
    "GATES",
    "backprop_stepper",
    "gate_explorer",
]


def chain_rule_example(x=2.0):
    """The multivariate chain rule example: f = y·z with y = x³ and z = x².

    x feeds both y and z, so df/dx = (df/dy)(dy/dx) + (df/dz)(dz/dx)
    = z·3x² + y·2x = 5x⁴ (the derivative of f = x⁵).

    Returns
    -------
    f : Value
        The output, x⁵.
    inputs : dict
        ``{"x": x}``.
    """
    x = Value(x, "x")
    y = x**3
    y.label = "y"
    z = x**2
    z.label = "z"
    f = y * z
    f.label = "f"
    return f, {"x": x}


def chain_rule_terms(x=2.0):
    """The two paths of the multivariate chain rule for f = y·z, y = x³, z = x².

    Each term is upstream × local read off the graph's local gradients.

    Returns
    -------
    dict
        ``via_y`` = (df/dy)(dy/dx), ``via_z`` = (df/dz)(dz/dx) and
        ``total`` = their sum, equal to 5x⁴.
    """
    f, _ = chain_rule_example(x)
    y, z = f.children
    df_dy, df_dz = f.local_grads
    (dy_dx,), (dz_dx,) = y.local_grads, z.local_grads
    via_y, via_z = df_dy * dy_dx, df_dz * dz_dx
    return {"via_y": via_y, "via_z": via_z, "total": via_y + via_z}


# name shown in the dropdown -> function building (output, inputs)
EXAMPLES = {
    "f = (x + y) z at (-2, 5, -4)": lecture_example,
    "sigmoid neuron": sigmoid_neuron_example,
    "f = y z, y = x³, z = x² at x = 2": chain_rule_example,
}


def stepper_frames(root):
    """The backward pass as frames for a stepper: frame 0 is the forward pass only.

    Parameters
    ----------
    root : Value
        Output of the graph.

    Returns
    -------
    list of dict
        ``len(backward_steps(root)) + 1`` frames. Each has ``grads``
        (``{Value: float}`` after that many steps), ``highlight`` (the node
        just processed, or None) and ``text`` (what happened, "upstream ×
        local = contribution" per child).
    """
    steps = backward_steps(root)
    frames = [{
        "grads": {},
        "highlight": None,
        "text": "Forward pass done: every box shows its value. Move the slider to run the "
                "backward pass one node at a time (the output's gradient is 1).",
    }]
    for step in steps:
        # number the steps as the slider does: 1 .. len(steps)
        text = step.describe().replace(f"step {step.index}:", f"step {step.index + 1} of {len(steps)}:", 1)
        frames.append({"grads": step.grads, "highlight": step.node, "text": text})
    return frames


def _frame_figure(root, frame):
    import matplotlib.pyplot as plt

    ax = draw_graph(root, grads=frame["grads"], highlight=frame["highlight"])
    fig = ax.figure
    html_figure = figure_html(fig)
    plt.close(fig)
    return html_figure


def backprop_stepper(example="f = (x + y) z at (-2, 5, -4)"):
    """A widget: pick a graph, drag the step slider, watch the gradients fill in.

    Returns
    -------
    ipywidgets.VBox
        With ``.controls`` ``{"example", "step"}`` and ``.outputs``
        ``{"graph", "text"}`` (both HTML).
    """
    if example not in EXAMPLES:
        raise ValueError(f"example must be one of {list(EXAMPLES)}, got {example!r}")
    choose = dropdown("graph", list(EXAMPLES), example, layout={"width": "420px"})
    step = int_slider("backward step", 0, 1, 0)
    graph, text = html_area(), html_area()
    state = {}

    def rebuild():
        root, _ = EXAMPLES[choose.value]()
        state["root"], state["frames"] = root, stepper_frames(root)
        if step.value != 0:
            step.value = 0  # triggers redraw
        step.max = len(state["frames"]) - 1
        redraw()

    def redraw():
        frame = state["frames"][min(step.value, len(state["frames"]) - 1)]
        graph.value = _frame_figure(state["root"], frame)
        text.value = f"<pre style='line-height:1.3'>{html.escape(frame['text'])}</pre>"

    choose.observe(lambda change: rebuild(), names="value")
    step.observe(lambda change: redraw(), names="value")
    rebuild()
    return widget_root([choose, step, text, graph], controls={"example": choose, "step": step},
                       outputs={"graph": graph, "text": text})


# name -> (number of inputs, function building the gate from Values)
GATES = {
    "add": (2, lambda a, b: a + b),
    "multiply": (2, lambda a, b: a * b),
    "max": (2, lambda a, b: a.max(b)),
    "copy": (1, None),
}


def gate_gradients(gate, a, b=0.0, upstream=1.0, upstream2=1.0):
    """Downstream gradients of one gate, from upstream × local.

    Parameters
    ----------
    gate : {"add", "multiply", "max", "copy"}
    a, b : float
        Input values (``copy`` uses ``a`` only).
    upstream : float
        Gradient arriving at the output.
    upstream2 : float
        For ``copy``: the gradient arriving at the second copy.

    Returns
    -------
    out : float or tuple of float
        Forward value(s) of the gate (``copy``: the two copies).
    downstream : tuple of float
        Gradient for each input. add distributes (u, u); multiply swaps
        (u·b, u·a); max routes (u to the larger input, 0 to the other);
        copy adds (u + u2).
    """
    if gate not in GATES:
        raise ValueError(f"gate must be one of {list(GATES)}, got {gate!r}")
    if gate == "copy":
        # x is used twice: each use sends back its own upstream and the two add up
        x = Value(a, "x")
        f = upstream * x + upstream2 * x
        f.backward()
        return (a, a), (x.grad,)
    _, build = GATES[gate]
    out = build(Value(a, "a"), Value(b, "b"))
    return out.data, tuple(upstream * local for local in out.local_grads)


_GATE_RULES = {
    "add": "add distributes: every input gets the upstream gradient unchanged",
    "multiply": "multiply swaps: each input gets upstream × the other input",
    "max": "max routes: the larger input gets the whole upstream gradient, the other 0",
    "copy": "copy adds: a value used twice gets the sum of both upstream gradients",
}


def gate_explorer():
    """A widget: choose a gate, set the inputs and the upstream gradient, read the gradients.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"gate", "a", "b", "upstream", "upstream2"}``, ``.outputs`` ``{"text"}``.
    """
    gate = dropdown("gate", list(GATES), "multiply")
    a = float_slider("a", -5.0, 5.0, 3.0, step=0.5)
    b = float_slider("b", -5.0, 5.0, -4.0, step=0.5)
    up = float_slider("upstream", -3.0, 3.0, 2.0, step=0.5)
    up2 = float_slider("upstream 2 (copy)", -3.0, 3.0, 1.0, step=0.5)
    text = html_area()

    def redraw():
        out, down = gate_gradients(gate.value, a.value, b.value, up.value, up2.value)
        if gate.value == "copy":
            lines = [f"forward: x = {a.value:g} is copied to two places",
                     f"upstream gradients of the copies: {up.value:g} and {up2.value:g}",
                     f"dL/dx = {up.value:g} + {up2.value:g} = {down[0]:g}"]
        else:
            lines = [f"forward: {gate.value}({a.value:g}, {b.value:g}) = {out:g}",
                     f"upstream gradient: {up.value:g}",
                     f"dL/da = {down[0]:g},   dL/db = {down[1]:g}"]
        lines.append(_GATE_RULES[gate.value])
        text.value = "<pre>" + html.escape("\n".join(lines)) + "</pre>"

    return widget_root([gate, a, b, up, up2, text],
                       controls={"gate": gate, "a": a, "b": b, "upstream": up, "upstream2": up2},
                       outputs={"text": text}, redraw=redraw)
