"""Lecture 5 widgets: output shapes and parameter counts of a network, layer by layer.

A network is written as text, one layer per line (the same notation the
lecture uses on its tables)::

    C1: conv 6 5            # 6 filters of 5x5, stride 1, no padding
    relu
    S2: maxpool 2           # 2x2 windows, stride 2
    conv 16 5 stride=1 pad=0
    flatten
    linear 120

:func:`shape_table` computes every layer's output shape with
:func:`cnnlib.conv.conv_output_size` / :func:`cnnlib.pool.pool_output_size`
without allocating any weights (AlexNet's 62 million parameters cost
nothing), and :func:`build_network` builds the same network from
:mod:`cnnlib.nn` so :func:`cnnlib.nn.summary` can confirm the table with a real
forward pass.
"""
from __future__ import annotations

import html
import re

from .. import nn
from ..conv import conv_output_size
from ..pool import pool_output_size
from ._controls import dropdown, html_area, int_slider, on_change, require_ipywidgets, widget_root

__all__ = [
    "conv_parameters",
    "linear_parameters",
    "fc_vs_conv_parameters",
    "parse_layers",
    "shape_table",
    "build_network",
    "table_html",
    "NETWORKS",
    "architecture_explorer",
]


def conv_parameters(in_channels, out_channels, kernel_size, bias=True):
    """Weights (+ biases) of a convolution: ``out · (in · k · k + 1)``.

    Every output channel has one ``in_channels x k x k`` kernel (and one bias).
    """
    return out_channels * (in_channels * kernel_size * kernel_size + (1 if bias else 0))


def linear_parameters(in_features, out_features, bias=True):
    """Weights (+ biases) of a fully connected layer: ``out · (in + 1)``."""
    return out_features * (in_features + (1 if bias else 0))


def fc_vs_conv_parameters(height=200, width=200, field=10, filters=100):
    """The lecture's comparison for one ``height x width`` grey image (weights only, no biases).

    Returns
    -------
    dict
        ``fully_connected``: every one of H·W hidden units sees every pixel,
        (H·W)²; ``locally_connected``: each hidden unit sees its own
        ``field x field`` patch, H·W·field²; ``convolution_one_filter``: the
        same patch weights shared by all units, field²;
        ``convolution``: ``filters`` such shared kernels, filters·field².
    """
    n = height * width
    return {
        "fully_connected": linear_parameters(n, n, bias=False),
        "locally_connected": n * field * field,
        "convolution_one_filter": conv_parameters(1, 1, field, bias=False),
        "convolution": conv_parameters(1, filters, field, bias=False),
    }


_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
_KINDS = ("conv", "maxpool", "avgpool", "linear", "flatten") + tuple(_ACTIVATIONS)
_USAGE = ("one layer per line: 'conv OUT K [stride=S] [pad=P]', 'maxpool K [stride=S]', "
          "'avgpool K [stride=S]', 'linear OUT', 'flatten', 'relu', 'tanh' or 'sigmoid', "
          "optionally preceded by a name and a colon ('C1: conv 6 5')")


def parse_layers(text):
    """Read the layer notation (see the module docstring) into a list of dicts.

    Returns
    -------
    list of dict
        Keys ``name``, ``kind`` and, as they apply, ``out`` (channels or
        features), ``kernel``, ``stride``, ``pad``. Unnamed layers are named
        ``kind + number``.
    """
    layers = []
    for number, raw in enumerate(str(text).splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = None
        if ":" in line:
            name, line = (s.strip() for s in line.split(":", 1))
        words = line.split()
        kind, args = words[0].lower(), words[1:]
        if kind not in _KINDS:
            raise ValueError(f"line {number}: unknown layer {words[0]!r}; {_USAGE}")
        numbers, options = [], {}
        for a in args:
            m = re.fullmatch(r"(stride|pad)=(\d+)", a)
            if m:
                options[m.group(1)] = int(m.group(2))
            elif a.isdigit():
                numbers.append(int(a))
            else:
                raise ValueError(f"line {number}: cannot read {a!r} in {raw.strip()!r}; {_USAGE}")
        needed = {"conv": 2, "maxpool": 1, "avgpool": 1, "linear": 1}.get(kind, 0)
        if len(numbers) != needed:
            raise ValueError(f"line {number}: {kind!r} needs {needed} number(s), got {len(numbers)} "
                             f"in {raw.strip()!r}; {_USAGE}")
        if any(n < 1 for n in numbers) or options.get("stride", 1) < 1:
            raise ValueError(f"line {number}: sizes and strides must be >= 1 in {raw.strip()!r}")
        layer = {"name": name or f"{kind}{len(layers) + 1}", "kind": kind}
        if kind == "conv":
            layer.update(out=numbers[0], kernel=numbers[1], stride=options.get("stride", 1),
                         pad=options.get("pad", 0))
        elif kind in ("maxpool", "avgpool"):
            layer.update(kernel=numbers[0], stride=options.get("stride", numbers[0]))
        elif kind == "linear":
            layer["out"] = numbers[0]
        layers.append(layer)
    if not layers:
        raise ValueError(f"no layers given; {_USAGE}")
    return layers


def _describe(layer):
    kind = layer["kind"]
    if kind == "conv":
        extra = "".join(f", {k} {layer[k]}" for k in ("stride", "pad") if layer[k] != (1 if k == "stride" else 0))
        return f"conv {layer['out']} x {layer['kernel']}x{layer['kernel']}{extra}"
    if kind in ("maxpool", "avgpool"):
        return f"{kind} {layer['kernel']}x{layer['kernel']}, stride {layer['stride']}"
    if kind == "linear":
        return f"linear {layer['out']}"
    return kind


def shape_table(layers, input_shape):
    """Output shape and parameter count of every layer, from the formulas alone.

    Parameters
    ----------
    layers : str or list of dict
        Text in the layer notation, or the result of :func:`parse_layers`.
    input_shape : tuple
        ``(C, H, W)`` of one input image.

    Returns
    -------
    rows : list of dict
        ``name``, ``layer`` (a short description), ``output_shape`` (``(C, H, W)``
        or ``(features,)``) and ``params`` per layer.
    total : int
        Sum of ``params``.

    Raises
    ------
    ValueError
        Naming the layer, when a kernel does not fit its input or a layer gets
        an input of the wrong kind (a linear layer before ``flatten``, a
        convolution after it).
    """
    if isinstance(layers, str):
        layers = parse_layers(layers)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape!r}")
    rows, total = [], 0
    for layer in layers:
        kind, where = layer["kind"], f"layer {layer['name']} ({_describe(layer)})"
        params = 0
        if kind in ("conv", "maxpool", "avgpool") and len(shape) != 3:
            raise ValueError(f"{where} needs an image (C, H, W), but its input is flat {shape}")
        try:
            if kind == "conv":
                c, h, w = shape
                shape = (layer["out"], conv_output_size(h, layer["kernel"], layer["stride"], layer["pad"]),
                         conv_output_size(w, layer["kernel"], layer["stride"], layer["pad"]))
                params = conv_parameters(c, layer["out"], layer["kernel"])
            elif kind in ("maxpool", "avgpool"):
                c, h, w = shape
                shape = (c, pool_output_size(h, layer["kernel"], layer["stride"]),
                         pool_output_size(w, layer["kernel"], layer["stride"]))
        except ValueError as err:
            fed = tuple(rows[-1]["output_shape"]) if rows else tuple(input_shape)
            raise ValueError(f"{where} does not fit its input {fed}: {err}") from None
        if kind == "flatten":
            n = 1
            for s in shape:
                n *= s
            shape = (n,)
        elif kind == "linear":
            if len(shape) != 1:
                raise ValueError(f"{where} needs a flat input, got {shape}: put 'flatten' before it")
            params = linear_parameters(shape[0], layer["out"])
            shape = (layer["out"],)
        rows.append({"name": layer["name"], "layer": _describe(layer), "output_shape": shape, "params": params})
        total += params
    return rows, total


def build_network(layers, input_shape, seed=0):
    """The same network as real :mod:`cnnlib.nn` modules (for :func:`cnnlib.nn.summary`).

    ``input_shape`` is ``(C, H, W)``; a linear layer's input size is read off
    :func:`shape_table`.
    """
    if isinstance(layers, str):
        layers = parse_layers(layers)
    rows, _ = shape_table(layers, input_shape)
    modules, shape = [], tuple(input_shape)
    for layer, row in zip(layers, rows):
        kind = layer["kind"]
        if kind == "conv":
            module = nn.Conv2d(shape[0], layer["out"], layer["kernel"], layer["stride"], layer["pad"], seed=seed)
        elif kind == "maxpool":
            module = nn.MaxPool2d(layer["kernel"], layer["stride"])
        elif kind == "avgpool":
            module = nn.AvgPool2d(layer["kernel"], layer["stride"])
        elif kind == "linear":
            module = nn.Linear(shape[0], layer["out"], seed=seed)
        elif kind == "flatten":
            module = nn.Flatten()
        else:
            module = _ACTIVATIONS[kind]()
        modules.append((layer["name"], module))
        shape = row["output_shape"]
    return nn.Sequential(*modules)


def table_html(rows, total, input_shape):
    """The table of :func:`shape_table` as HTML (what the explorer shows)."""
    body = "".join(
        f"<tr><td>{html.escape(r['name'])}</td><td>{html.escape(r['layer'])}</td>"
        f"<td>{' x '.join(map(str, r['output_shape']))}</td><td style='text-align:right'>{r['params']:,}</td></tr>"
        for r in rows)
    return ("<table><thead><tr><th>layer</th><th>what</th><th>output shape</th><th>parameters</th></tr></thead>"
            f"<tbody><tr><td>input</td><td></td><td>{' x '.join(map(str, input_shape))}</td><td></td></tr>"
            f"{body}</tbody></table><p>total parameters: <b>{total:,}</b></p>")


NETWORKS = {
    "small CNN": ("conv1: conv 8 3 pad=1\nrelu\npool1: maxpool 2\nconv2: conv 16 3 pad=1\nrelu\n"
                  "pool2: maxpool 2\nflatten\nfc: linear 10", (1, 28, 28)),
    "LeNet-5 (modern)": ("C1: conv 6 5\nrelu\nS2: maxpool 2\nC3: conv 16 5\nrelu\nS4: maxpool 2\nflatten\n"
                         "C5: linear 120\nrelu\nF6: linear 84\nrelu\noutput: linear 10", (1, 32, 32)),
    # Krizhevsky et al. (2012) as one tower (the paper split conv2, conv4, conv5 over two GPUs)
    "AlexNet": ("conv1: conv 96 11 stride=4\nrelu\npool1: maxpool 3 stride=2\nconv2: conv 256 5 pad=2\nrelu\n"
                "pool2: maxpool 3 stride=2\nconv3: conv 384 3 pad=1\nrelu\nconv4: conv 384 3 pad=1\nrelu\n"
                "conv5: conv 256 3 pad=1\nrelu\npool5: maxpool 3 stride=2\nflatten\nfc6: linear 4096\nrelu\n"
                "fc7: linear 4096\nrelu\nfc8: linear 1000", (3, 227, 227)),
}


def architecture_explorer(network="small CNN"):
    """A widget: edit a network as text, set the input size, read shapes and parameter counts.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"network", "layers", "size", "channels"}``, ``.outputs`` ``{"table"}``.
        Mistakes (a kernel larger than its input, an unknown layer) show as a
        message in the table area; the text is kept.
    """
    w = require_ipywidgets()
    text, (c, h, _) = NETWORKS[network]
    preset = dropdown("start from", list(NETWORKS), network)
    layers = w.Textarea(value=text, description="layers", layout={"width": "420px", "height": "220px"})
    size = int_slider("input size", 8, 256, h)
    channels = int_slider("input channels", 1, 3, c)
    table = html_area()

    def load_preset():
        text, (c, h, _) = NETWORKS[preset.value]
        layers.value, size.value, channels.value = text, h, c

    def redraw():
        shape = (channels.value, size.value, size.value)
        try:
            rows, total = shape_table(layers.value, shape)
        except ValueError as err:
            table.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return
        table.value = table_html(rows, total, shape)

    preset.observe(lambda change: load_preset(), names="value")
    on_change([layers, size, channels], redraw)
    redraw()
    return widget_root([preset, w.HBox([layers, w.VBox([size, channels])]), table],
                       controls={"network": preset, "layers": layers, "size": size, "channels": channels},
                       outputs={"table": table})
