"""Lecture "Architectures after LeNet": AlexNet, VGG, Inception, ResNet,
DenseNet and AlphaGo's policy network, counted with cnnlib.

Plain functions (tested without a browser) compute every number the lecture
shows: parameter and multiply-add counts of cnnlib models, the receptive
field of stacked small kernels, the cost of 1x1 bottlenecks, gradient norms
per layer. ``stacked_conv_explorer`` and ``bottleneck_explorer`` are thin
ipywidgets wrappers. (The shape-and-parameter explorer of lecture 5 lives in
:mod:`cnnlib.widgets.architecture`.)
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..losses import softmax_cross_entropy
from . import _controls as C
from .pooling import receptive_field

__all__ = [
    "CostTable",
    "layer_costs",
    "ALEXNET_LAYERS",
    "alexnet",
    "ALPHAGO_POLICY_LAYERS",
    "alphago_policy",
    "conv_cost",
    "stack_vs_single",
    "stacked_conv_explorer",
    "bottleneck_cost",
    "INCEPTION_3A",
    "inception_cost",
    "bottleneck_explorer",
    "dense_block",
    "deep_mlp",
    "gradient_norms",
]


# --------------------------------------------------------------------------
# Parameters and multiply-adds of a cnnlib model
# --------------------------------------------------------------------------

@dataclass
class CostTable:
    """Rows ``(name, type, output_shape, params, multiply_adds)`` of :func:`layer_costs`; prints as a table."""

    rows: list = field(default_factory=list)
    input_shape: tuple = ()

    @property
    def params(self):
        return sum(r[3] for r in self.rows)

    @property
    def multiply_adds(self):
        return sum(r[4] for r in self.rows)

    def __str__(self):
        head = ("layer", "type", "output", "params", "multiply-adds")
        body = [(n, t, "x".join(map(str, s)), f"{p:,}", f"{m:,}") for n, t, s, p, m in self.rows]
        body.append(("total", "", "", f"{self.params:,}", f"{self.multiply_adds:,}"))
        widths = [max(len(r[i]) for r in [head] + body) for i in range(5)]
        lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in [head] + body]
        return "\n".join(lines[:1] + ["-" * len(lines[0])] + lines[1:-1] + ["-" * len(lines[0])] + lines[-1:])

    __repr__ = __str__

    def _repr_html_(self):
        cells = "".join(f"<tr><td>{html.escape(n)}</td><td>{t}</td><td>{'x'.join(map(str, s))}</td>"
                        f"<td style='text-align:right'>{p:,}</td><td style='text-align:right'>{m:,}</td></tr>"
                        for n, t, s, p, m in self.rows)
        return ("<table><thead><tr><th>layer</th><th>type</th><th>output</th><th>params</th>"
                f"<th>multiply-adds</th></tr></thead><tbody>{cells}<tr><td><b>total</b></td><td></td><td></td>"
                f"<td style='text-align:right'><b>{self.params:,}</b></td>"
                f"<td style='text-align:right'><b>{self.multiply_adds:,}</b></td></tr></tbody></table>")


def _leaf_cost(layer, out_shape):
    """Multiply-adds of one layer for one example: each weight is used once per output position."""
    if isinstance(layer, nn.Conv2d):
        # out_shape is (1, F, H', W'); masked-out (sparse C3) weights are not in weight.size
        return layer.weight.size * int(np.prod(out_shape[2:]))
    if isinstance(layer, nn.Linear):
        return layer.weight.size
    return 0


def _cost_rows(name, layer, x, rows):
    if isinstance(layer, nn.Sequential):
        for child_name, child in layer.named_children():
            x = _cost_rows(f"{name}.{child_name}" if name else child_name, child, x, rows)
        return x
    if isinstance(layer, nn.Residual):
        _cost_rows(f"{name}.block", layer.block, x, rows)
        if layer.shortcut is not None:
            _cost_rows(f"{name}.shortcut", layer.shortcut, x, rows)
        out = layer.forward(x)
        # the addition of the two branches: one add per output value, no multiplications
        rows.append((f"{name}.add", "add", out.shape[1:], 0, 0))
        return out
    out = layer.forward(x)
    rows.append((name, type(layer).__name__, out.shape[1:], nn.count_parameters(layer), _leaf_cost(layer, out.shape)))
    return out


def layer_costs(model, input_shape):
    """Parameters and multiply-adds of every layer of ``model`` for one input of ``input_shape``.

    A convolution with ``F`` kernels of ``C x K x K`` weights producing an
    ``H' x W'`` map does ``H' W' F C K^2`` multiply-adds (each weight once per
    output position); a linear layer one per weight. Biases, activations,
    pooling and normalisation are not counted (they cost far less). The
    shapes come from a forward pass of one zero image in evaluation mode.

    Returns
    -------
    CostTable
    """
    x = np.zeros((1,) + tuple(int(s) for s in input_shape), dtype=model.dtype or np.float64)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    rows = []
    try:
        _cost_rows("" if isinstance(model, nn.Sequential) else "0", model, x, rows)
    finally:
        for module, mode in modes:
            module.training = mode
    table = CostTable(rows=rows, input_shape=tuple(input_shape))
    if table.params != nn.count_parameters(model):     # every parameter must sit in a counted leaf
        raise RuntimeError(f"layer_costs: rows hold {table.params} parameters, the model {nn.count_parameters(model)}")
    return table


# --------------------------------------------------------------------------
# AlexNet and AlphaGo's policy network, built with cnnlib
# --------------------------------------------------------------------------

#: AlexNet (Krizhevsky, Sutskever & Hinton, 2012) on 3x227x227, one GPU's worth of
#: each layer put together: (name, kind, out, kernel, stride, pad).
ALEXNET_LAYERS = [
    ("conv1", "conv", 96, 11, 4, 0), ("pool1", "maxpool", None, 3, 2, 0),
    ("conv2", "conv", 256, 5, 1, 2), ("pool2", "maxpool", None, 3, 2, 0),
    ("conv3", "conv", 384, 3, 1, 1), ("conv4", "conv", 384, 3, 1, 1), ("conv5", "conv", 256, 3, 1, 1),
    ("pool5", "maxpool", None, 3, 2, 0),
    ("fc6", "linear", 4096, None, None, None), ("fc7", "linear", 4096, None, None, None),
    ("fc8", "linear", 1000, None, None, None),
]


def alexnet(num_classes=1000, dropout=0.5, seed=0, dtype=np.float32):
    """AlexNet's layer sizes as a cnnlib model for 3x227x227 images (no training needed to count it).

    Five convolutions with ReLU (max-pooling 3x3 stride 2 after 1, 2 and 5),
    then dropout and three fully connected layers. The original splits
    conv2, conv4, conv5 across two GPUs (each half sees half the channels) and
    uses local response normalisation; here every layer sees all channels,
    which gives the 62.4 million parameters usually quoted.

    Returns
    -------
    cnnlib.nn.Sequential
    """
    rng = np.random.default_rng(seed)
    layers, channels, size = [], 3, 227
    for name, kind, out, k, s, p in ALEXNET_LAYERS:
        if kind == "conv":
            layers += [(name, nn.Conv2d(channels, out, k, stride=s, padding=p, seed=rng, dtype=dtype)),
                       (f"relu{name[4:]}", nn.ReLU())]
            channels, size = out, (size + 2 * p - k) // s + 1
        elif kind == "maxpool":
            layers.append((name, nn.MaxPool2d(k, stride=s)))
            size = (size - k) // s + 1
        else:
            if name == "fc6":
                layers.append(("flatten", nn.Flatten()))
                channels = channels * size * size
            out = num_classes if name == "fc8" else out
            if name != "fc8" and dropout:
                layers.append((f"drop{name[2:]}", nn.Dropout(dropout, seed=rng)))
            layers.append((name, nn.Linear(channels, out, seed=rng, dtype=dtype)))
            if name != "fc8":
                layers.append((f"relu{name[2:]}", nn.ReLU()))
            channels = out
    return nn.Sequential(*layers)


#: Silver et al. (2016): 19x19 board, 48 feature planes; (kernel, filters) per layer.
ALPHAGO_POLICY_LAYERS = [(5, 192)] + [(3, 192)] * 11 + [(1, 1)]


def alphago_policy(filters=192, seed=0, dtype=np.float32):
    """AlphaGo's policy network (Silver et al., 2016) as a cnnlib model on 48x19x19 inputs.

    Layer 1: 5x5 convolution, ``filters`` kernels, padding 2; layers 2-12: 3x3,
    padding 1; all with ReLU; layer 13: one 1x1 kernel, then a softmax over the
    361 board points (here the 361 scores come out flattened). The paper gives
    the last layer one bias per board point; this model has a single bias.

    Returns
    -------
    cnnlib.nn.Sequential
    """
    rng = np.random.default_rng(seed)
    layers, channels = [], 48
    for i, (k, out) in enumerate(ALPHAGO_POLICY_LAYERS, start=1):
        out = 1 if i == len(ALPHAGO_POLICY_LAYERS) else filters
        layers.append((f"conv{i}", nn.Conv2d(channels, out, k, padding=k // 2, seed=rng, dtype=dtype)))
        if i < len(ALPHAGO_POLICY_LAYERS):
            layers.append((f"relu{i}", nn.ReLU()))
        channels = out
    layers.append(("flatten", nn.Flatten()))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------
# VGG: stacks of small kernels
# --------------------------------------------------------------------------

def conv_cost(in_channels, out_channels, kernel, height, width, bias=False):
    """``(params, multiply_adds)`` of a stride-1 'same' convolution producing ``height x width`` maps.

    params = ``K^2 C_in C_out`` (+ ``C_out`` biases); multiply-adds = ``H W K^2 C_in C_out``.
    """
    weights = kernel * kernel * in_channels * out_channels
    return weights + (out_channels if bias else 0), weights * height * width


def stack_vs_single(layers, kernel=3, channels=64, size=56):
    """``layers`` stacked ``kernel x kernel`` convolutions against one convolution with the same receptive field.

    All layers keep ``channels`` channels and a ``size x size`` map (stride 1,
    'same' padding), biases left out.

    Returns
    -------
    dict
        ``receptive_field`` = ``layers (kernel - 1) + 1`` (``2n + 1`` for 3x3),
        ``fields`` per layer, ``stack_params``, ``single_params``,
        ``stack_madds``, ``single_madds``, ``saving`` (fraction of parameters
        saved), ``nonlinearities`` (ReLUs: ``layers`` against 1).
    """
    if layers < 1 or kernel < 1:
        raise ValueError(f"stack_vs_single: layers and kernel must be >= 1, got {layers}, {kernel}")
    fields = [r for r, _ in receptive_field([(kernel, 1)] * layers)]
    rf = fields[-1]
    stack = conv_cost(channels, channels, kernel, size, size)
    single = conv_cost(channels, channels, rf, size, size)
    return {"receptive_field": rf, "fields": fields, "stack_params": layers * stack[0], "single_params": single[0],
            "stack_madds": layers * stack[1], "single_madds": single[1],
            "saving": 1 - layers * stack[0] / single[0], "nonlinearities": (layers, 1)}


def _draw_stack(ax, layers, kernel):
    """Rows of units, input at the bottom; the units that one top unit sees are coloured."""
    fields = [1] + [r for r, _ in receptive_field([(kernel, 1)] * layers)]
    width = fields[-1] + 4
    centre = width // 2
    for level in range(layers + 1):
        seen = fields[layers - level]         # level 0 is the input: the whole receptive field
        xs = np.arange(width)
        inside = np.abs(xs - centre) <= (seen - 1) // 2
        ax.scatter(xs[~inside], np.full((~inside).sum(), level), s=30, color="0.85", zorder=2)
        ax.scatter(xs[inside], np.full(inside.sum(), level), s=40, color="#d62728" if level else "#1f77b4",
                   zorder=3)
        if level < layers:
            half_above = (fields[layers - level - 1] - 1) // 2
            for x_top in range(centre - half_above, centre + half_above + 1):
                for dx in range(-(kernel // 2), kernel // 2 + 1):
                    ax.plot([x_top, x_top + dx], [level + 1, level], color="0.6", linewidth=0.6, zorder=1)
    ax.set_yticks(range(layers + 1))
    ax.set_yticklabels(["input"] + [f"conv {i}" for i in range(1, layers + 1)])
    ax.set_xticks([])
    ax.set_xlim(-1, width)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def stacked_conv_explorer(layers=2, kernel=3, channels=64):
    """A widget: stack ``n`` small convolutions; see the receptive field grow and the parameters it saves.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"layers", "kernel", "channels"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    n = C.int_slider("stacked layers n", 1, 5, layers)
    k = C.dropdown("kernel", [("3x3", 3), ("5x5", 5)], kernel)
    c = C.dropdown("channels C", [16, 64, 256, 512], channels)
    figure, text = C.html_area(), C.html_area()

    def redraw():
        r = stack_vs_single(n.value, k.value, c.value)
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.55 * (n.value + 1)))
        _draw_stack(ax, n.value, k.value)
        ax.set_title(f"{n.value} stacked {k.value}x{k.value} convolutions: one unit sees "
                     f"{r['receptive_field']} input positions per axis", fontsize=10)
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        rf = r["receptive_field"]
        cell = "<td style='padding:2px 12px;text-align:center'>"
        text.value = (f"<table><tr><th></th><th>receptive field</th><th>parameters</th><th>ReLUs</th></tr>"
                      f"<tr>{cell}{n.value} x conv {k.value}x{k.value}</td>{cell}{rf}x{rf}</td>"
                      f"{cell}{n.value}·{k.value}²·C² = <b>{r['stack_params']:,}</b></td>{cell}{n.value}</td></tr>"
                      f"<tr>{cell}1 x conv {rf}x{rf}</td>{cell}{rf}x{rf}</td>{cell}{rf}²·C² = "
                      f"<b>{r['single_params']:,}</b></td>{cell}1</td></tr></table>"
                      f"with C = {c.value}: the stack needs <b>{100 * r['saving']:.0f}%</b> fewer parameters "
                      f"(and multiply-adds).")

    return C.widget_root([n, C.require_ipywidgets().HBox([k, c]), figure, text],
                         controls={"layers": n, "kernel": k, "channels": c},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# Inception: 1x1 bottlenecks
# --------------------------------------------------------------------------

def bottleneck_cost(in_channels, reduce_channels, out_channels, kernel, height, width):
    """A ``kernel x kernel`` convolution from ``in_channels`` to ``out_channels``, with and without a 1x1 reduction.

    Without: ``K^2 C_in C_out`` weights. With: a 1x1 convolution to
    ``reduce_channels`` first, ``C_in C_red + K^2 C_red C_out`` weights.
    Multiply-adds are the weights times ``H W`` (stride 1, 'same' padding);
    biases left out.

    Returns
    -------
    dict
        ``direct_params``, ``direct_madds``, ``bottleneck_params``, ``bottleneck_madds``, ``ratio``
        (direct / bottleneck multiply-adds).
    """
    direct = conv_cost(in_channels, out_channels, kernel, height, width)
    reduce = conv_cost(in_channels, reduce_channels, 1, height, width)
    then = conv_cost(reduce_channels, out_channels, kernel, height, width)
    return {"direct_params": direct[0], "direct_madds": direct[1],
            "bottleneck_params": reduce[0] + then[0], "bottleneck_madds": reduce[1] + then[1],
            "ratio": direct[1] / (reduce[1] + then[1])}


#: GoogLeNet's inception (3a) module (Szegedy et al., 2015, table 1) on 28x28x192:
#: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection.
INCEPTION_3A = {"in_channels": 192, "size": 28, "1x1": 64, "3x3 reduce": 96, "3x3": 128, "5x5 reduce": 16,
                "5x5": 32, "pool proj": 32}


def inception_cost(spec=INCEPTION_3A, reductions=True):
    """Weights and multiply-adds of an inception module, branch by branch (biases left out).

    With ``reductions`` the 3x3 and 5x5 branches start with their 1x1
    reductions and the pooling branch ends in a 1x1 projection; without, the
    3x3 and 5x5 convolutions see all input channels and the pooled input is
    passed on as it is (the "naive" module).

    Returns
    -------
    dict
        ``branches`` {name: (params, multiply_adds)}, ``params``, ``multiply_adds``, ``out_channels``.
    """
    c, s = spec["in_channels"], spec["size"]
    if reductions:
        branches = {
            "1x1": conv_cost(c, spec["1x1"], 1, s, s),
            "1x1 -> 3x3": tuple(a + b for a, b in zip(conv_cost(c, spec["3x3 reduce"], 1, s, s),
                                                     conv_cost(spec["3x3 reduce"], spec["3x3"], 3, s, s))),
            "1x1 -> 5x5": tuple(a + b for a, b in zip(conv_cost(c, spec["5x5 reduce"], 1, s, s),
                                                     conv_cost(spec["5x5 reduce"], spec["5x5"], 5, s, s))),
            "pool -> 1x1": conv_cost(c, spec["pool proj"], 1, s, s),
        }
        out = spec["1x1"] + spec["3x3"] + spec["5x5"] + spec["pool proj"]
    else:
        branches = {"1x1": conv_cost(c, spec["1x1"], 1, s, s), "3x3": conv_cost(c, spec["3x3"], 3, s, s),
                    "5x5": conv_cost(c, spec["5x5"], 5, s, s), "pool": (0, 0)}
        out = spec["1x1"] + spec["3x3"] + spec["5x5"] + c
    return {"branches": branches, "params": sum(p for p, _ in branches.values()),
            "multiply_adds": sum(m for _, m in branches.values()), "out_channels": out}


def bottleneck_explorer(in_channels=192, reduce_channels=16, out_channels=32, kernel=5, size=28):
    """A widget: the cost of a KxK convolution with and without a 1x1 bottleneck in front.

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` ``{"in", "reduce", "out", "kernel"}``, ``.outputs`` ``{"figure", "text"}``.
    """
    import matplotlib.pyplot as plt

    c_in = C.int_slider("input channels", 16, 512, in_channels, step=16)
    c_red = C.int_slider("1x1 reduces to", 4, 256, reduce_channels, step=4)
    c_out = C.int_slider("output channels", 8, 256, out_channels, step=8)
    k = C.dropdown("kernel", [("3x3", 3), ("5x5", 5)], kernel)
    figure, text = C.html_area(), C.html_area()

    def redraw():
        r = bottleneck_cost(c_in.value, c_red.value, c_out.value, k.value, size, size)
        fig, ax = plt.subplots(figsize=(6, 2.2))
        labels = [f"{k.value}x{k.value} directly", f"1x1 to {c_red.value}, then {k.value}x{k.value}"]
        values = [r["direct_madds"] / 1e6, r["bottleneck_madds"] / 1e6]
        ax.barh(labels, values, color=["#d62728", "#2ca02c"])
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.1f} M", va="center", fontsize=9)
        ax.set_xlim(0, max(values) * 1.3)
        ax.set_xlabel(f"million multiply-adds on a {size}x{size} map")
        fig.tight_layout()
        figure.value = C.figure_html(fig)
        text.value = (f"weights: {k.value}²·{c_in.value}·{c_out.value} = <b>{r['direct_params']:,}</b> directly; "
                      f"{c_in.value}·{c_red.value} + {k.value}²·{c_red.value}·{c_out.value} = "
                      f"<b>{r['bottleneck_params']:,}</b> with the bottleneck: "
                      f"<b>{r['ratio']:.1f}</b> times {'less' if r['ratio'] >= 1 else 'more'} work.")

    return C.widget_root([c_in, c_red, c_out, k, figure, text],
                         controls={"in": c_in, "reduce": c_red, "out": c_out, "kernel": k},
                         outputs={"figure": figure, "text": text}, redraw=redraw)


# --------------------------------------------------------------------------
# DenseNet: every layer sees all earlier maps
# --------------------------------------------------------------------------

def dense_block(in_channels, growth, layers, kernel=3):
    """Channels and weights of a dense block (Huang et al., 2017), without bottlenecks.

    Layer ``l`` (1-based) sees the concatenation of the block's input and
    all ``l - 1`` earlier outputs, ``in_channels + (l - 1) growth`` channels,
    and adds ``growth`` new maps with a ``kernel x kernel`` convolution.

    Returns
    -------
    dict
        ``inputs`` list of input channels per layer, ``params`` list of weights
        per layer, ``out_channels`` = ``in_channels + layers * growth``,
        ``connections`` = ``layers (layers + 1) / 2`` direct links.
    """
    inputs = [in_channels + (k - 1) * growth for k in range(1, layers + 1)]
    return {"inputs": inputs, "params": [kernel * kernel * c * growth for c in inputs],
            "out_channels": in_channels + layers * growth, "connections": layers * (layers + 1) // 2}


# --------------------------------------------------------------------------
# Plain and residual networks of the same depth
# --------------------------------------------------------------------------

def deep_mlp(depth, residual, width=32, in_features=784, num_classes=10, seed=0, dtype=np.float32):
    """A deep fully connected network, plain or residual, with the same layers.

    Input layer ``in_features -> width`` (ReLU), then ``depth`` hidden
    ``width x width`` linear layers, each followed by batch normalisation,
    in pairs: plain ``lin-BN-ReLU-lin-BN-ReLU``, residual
    ``Residual(lin-BN-ReLU-lin-BN)`` then ReLU (He et al., 2016, figure 2);
    then ``width -> num_classes``. Both have exactly the same parameters.

    Returns
    -------
    cnnlib.nn.Sequential
        Linear layers named ``input``, ``pair{i}.lin1``/``lin2`` (plain) or
        ``pair{i}.block.lin1``/``lin2`` (residual), ``output``.
    """
    if depth < 2 or depth % 2:
        raise ValueError(f"deep_mlp: depth counts hidden linear layers in pairs, so it must be even >= 2, got {depth}")
    rng = np.random.default_rng(seed)

    def pair():
        return [("lin1", nn.Linear(width, width, bias=False, seed=rng, dtype=dtype)),
                ("bn1", nn.BatchNorm1d(width, dtype=dtype)), ("relu1", nn.ReLU()),
                ("lin2", nn.Linear(width, width, bias=False, seed=rng, dtype=dtype)),
                ("bn2", nn.BatchNorm1d(width, dtype=dtype))]

    layers = [("input", nn.Linear(in_features, width, seed=rng, dtype=dtype)), ("relu_in", nn.ReLU())]
    for i in range(1, depth // 2 + 1):
        if residual:
            layers.append((f"pair{i}", nn.Residual(nn.Sequential(*pair()))))
        else:
            layers.append((f"pair{i}", nn.Sequential(*pair())))
        layers.append((f"relu{i}", nn.ReLU()))
    layers.append(("output", nn.Linear(width, num_classes, init="xavier", seed=rng, dtype=dtype)))
    return nn.Sequential(*layers)


def gradient_norms(model, X, y):
    """Norm of the loss gradient for each weight matrix or kernel, after one backward pass.

    The model stays in training mode (batch statistics), its gradients are
    zeroed first and hold this batch's gradient afterwards.

    Returns
    -------
    list of (name, float)
        In the order of the layers, input first.
    """
    model.train()
    model.zero_grad()
    loss, dscores = softmax_cross_entropy(model.forward(X), y)
    model.backward(dscores)
    return [(p.name, float(np.linalg.norm(p.grad))) for p in model.parameters()
            if p.name.endswith("weight") and p.data.ndim >= 2]
