"""Drawing a :mod:`cnnlib.autodiff` graph with matplotlib (no graphviz needed).

Values are boxes, operations small circles between their inputs and their
output. The layout is a small layered ("Sugiyama") drawing: layers by the
longest path from the inputs, each input just before its first use, layers
reordered by barycenters to cut crossings, and nodes placed as close to their
neighbours as their sizes allow. Long edges follow lanes between the boxes of
the layers they cross.

:func:`draw_graph` is also importable from :mod:`cnnlib.autodiff`.
"""
from __future__ import annotations

__all__ = ["draw_graph"]

_OP_SYMBOLS = {"*": "×", "/": "÷", "-": "−", "sigmoid": "σ"}
_FONT = "DejaVu Sans Mono"  # ships with matplotlib; monospace makes box sizes predictable
_CHAR_WIDTH = 0.602  # advance of one DejaVu Sans Mono glyph, in font sizes
_LINE_HEIGHT = 1.2  # matplotlib's default line spacing
_BOX_PAD = 0.45  # padding of value boxes, in font sizes
_CIRCLE_PAD = 0.25  # padding of op circles, in font sizes
_MIN_CIRCLE = 2.4  # smallest op circle, in font sizes
_LAYER_GAP = 34.0  # points between layers (room for an arrow)
_NODE_GAP = 14.0  # points between neighbours in a layer
_COLORS = {
    "input_face": "#e6f2e6",
    "input_edge": "#4c8c4a",
    "value_face": "#e8f0fa",
    "value_edge": "#3b6ea5",
    "op_face": "#fff3d0",
    "op_edge": "#b8901d",
    "arrow": "#6b6b6b",
    "highlight_face": "#ffe1e1",
    "highlight_edge": "#d62728",
}


def _fmt(x):
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def _value_text(node, show_grad, grads):
    lines = [node.label] if node.label else []
    lines.append(f"data {_fmt(node.data)}")
    if show_grad:
        grad = node.grad if grads is None else grads.get(node, 0.0)
        lines.append(f"grad {_fmt(grad)}")
    return "\n".join(lines)


def _op_text(op):
    if op.startswith("**"):
        return op
    return _OP_SYMBOLS.get(op, op)


def _text_size(text, fontsize, pad, circle=False):
    """Width and height in points of a text with a box (monospace estimate)."""
    lines = text.split("\n")
    width = max(len(line) for line in lines) * _CHAR_WIDTH * fontsize
    height = len(lines) * _LINE_HEIGHT * fontsize
    if circle:  # matplotlib's circle box: diameter = max(width, height) + 2 pad
        d = max(width, height) + 2 * pad * fontsize
        return d, d
    return width + 2 * pad * fontsize, height + 2 * pad * fontsize


def _circle_pad(text):
    """Padding (in font sizes) giving every op circle a diameter of at least _MIN_CIRCLE."""
    width = len(text) * _CHAR_WIDTH
    return max(_CIRCLE_PAD, (_MIN_CIRCLE - max(width, _LINE_HEIGHT)) / 2)


def _isotonic(targets):
    """Least-squares nondecreasing fit (pool adjacent violators)."""
    blocks = []  # [mean, count]
    for t in targets:
        blocks.append([t, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    out = []
    for mean, count in blocks:
        out.extend([mean] * count)
    return out


def _spread(desired, gaps):
    """Positions closest to ``desired`` (least squares) keeping p[i+1] - p[i] >= gaps[i]."""
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    q = _isotonic([d - o for d, o in zip(desired, offsets)])
    return [qi + o for qi, o in zip(q, offsets)]


def _layout(root, nodes, show_grad, grads, fontsize, rankdir):
    """Layered (Sugiyama-style) layout in points of ``nodes``, the graph ending at ``root``.

    Returns elements ``{key: dict(kind, node, text, size, pos)}``, the edge list
    ``[(src, dst, multiplicity, path_keys)]`` and the drawing extent.
    """
    elements = {}
    layer = {}
    # layer = longest path from the inputs; an op sits between its inputs and its output
    for node in nodes:
        if node.children:
            op_layer = 1 + max(layer.get(("v", c), 0) for c in node.children)
            layer[("o", node)] = op_layer
            layer[("v", node)] = op_layer + 1
    consumers = {}
    for node in nodes:
        for c in node.children:
            consumers.setdefault(c, []).append(layer[("o", node)])
    for node in nodes:
        if not node.children:
            # inputs sit just before their first use, which keeps arrows short
            layer[("v", node)] = min(consumers.get(node, [1])) - 1

    for node in nodes:
        text = _value_text(node, show_grad, grads)
        elements[("v", node)] = dict(kind="value", node=node, text=text,
                                     size=_text_size(text, fontsize, _BOX_PAD))
        if node.children:
            text = _op_text(node.op)
            elements[("o", node)] = dict(kind="op", node=node, text=text,
                                         size=_text_size(text, fontsize, _circle_pad(text), circle=True))

    edges = []  # (src, dst, multiplicity)
    for node in nodes:
        if node.children:
            counts = {}
            for c in node.children:
                counts[c] = counts.get(c, 0) + 1
            for c, m in counts.items():
                edges.append((("v", c), ("o", node), m))
            edges.append((("o", node), ("v", node), 1))

    # long edges pass through invisible dummy elements, one per skipped layer
    paths = []
    for k, (src, dst, _) in enumerate(edges):
        path = [src]
        for j in range(layer[src] + 1, layer[dst]):
            key = ("d", k, j)
            elements[key] = dict(kind="dummy", node=None, text="", size=(0.0, 0.0))
            layer[key] = j
            path.append(key)
        path.append(dst)
        paths.append(path)

    n_layers = max(layer.values()) + 1
    preds = {key: [] for key in elements}
    succs = {key: [] for key in elements}
    for path in paths:
        for a, b in zip(path, path[1:]):
            if b not in succs[a]:
                succs[a].append(b)
                preds[b].append(a)

    # initial order: depth-first from the output, so siblings start together
    first_seen = {}
    stack = [("v", root)]
    while stack:
        key = stack.pop()
        if key in first_seen:
            continue
        first_seen[key] = len(first_seen)
        stack.extend(reversed(preds[key]))
    layers = [[] for _ in range(n_layers)]
    for key in sorted(elements, key=lambda k: first_seen.get(k, len(first_seen))):
        layers[layer[key]].append(key)

    def crossings(order):
        rank = {key: i for lay in order for i, key in enumerate(lay)}
        total = 0
        for lay in order:
            segs = [(rank[a], rank[b]) for a in lay for b in succs[a]]
            for i in range(len(segs)):
                for j in range(i + 1, len(segs)):
                    if (segs[i][0] - segs[j][0]) * (segs[i][1] - segs[j][1]) < 0:
                        total += 1
        return total

    def barycenter_sweep(order, neighbours, layer_indices):
        for li in layer_indices:
            rank = {key: i for lay in order for i, key in enumerate(lay)}

            def key_of(key, i):
                ns = neighbours[key]
                return sum(rank[n] for n in ns) / len(ns) if ns else i

            order[li] = [k for _, _, k in sorted(
                (key_of(k, i), i, k) for i, k in enumerate(order[li]))]

    best, best_cross = [list(lay) for lay in layers], crossings(layers)
    for _ in range(6):
        barycenter_sweep(layers, preds, range(1, n_layers))
        barycenter_sweep(layers, succs, range(n_layers - 2, -1, -1))
        c = crossings(layers)
        if c < best_cross:
            best, best_cross = [list(lay) for lay in layers], c
    layers = best

    # breadth = position along a layer, depth = position across layers
    lr = rankdir == "LR"

    def breadth_size(key):
        w, h = elements[key]["size"]
        return h if lr else w

    def depth_size(key):
        w, h = elements[key]["size"]
        return w if lr else h

    def gap(a, b):
        sep = _NODE_GAP if elements[a]["kind"] != "dummy" and elements[b]["kind"] != "dummy" else _NODE_GAP / 2
        return (breadth_size(a) + breadth_size(b)) / 2 + sep

    pos = {}
    for lay in layers:
        gaps = [gap(a, b) for a, b in zip(lay, lay[1:])]
        p = _spread([0.0] * len(lay), gaps)
        for key, value in zip(lay, p):
            pos[key] = value

    def place(lay, neighbours):
        desired = []
        for key in lay:
            ns = neighbours(key)
            desired.append(sum(pos[n] for n in ns) / len(ns) if ns else pos[key])
        gaps = [gap(a, b) for a, b in zip(lay, lay[1:])]
        for key, value in zip(lay, _spread(desired, gaps)):
            pos[key] = value

    # align each element with its neighbours, alternating directions
    for _ in range(8):
        for lay in layers[1:]:
            place(lay, lambda k: preds[k])
        for lay in reversed(layers[:-1]):
            place(lay, lambda k: succs[k])
    for lay in layers:
        place(lay, lambda k: preds[k] + succs[k])

    depth = []
    thickness = [max((depth_size(k) for k in lay), default=0.0) for lay in layers]
    current = 0.0
    for i, t in enumerate(thickness):
        if i > 0:
            current += thickness[i - 1] / 2 + _LAYER_GAP + t / 2
        depth.append(current)

    for li, lay in enumerate(layers):
        for key in lay:
            b, d = pos[key], depth[li]
            elements[key]["pos"] = (d, -b) if lr else (b, -d)
            if elements[key]["kind"] == "dummy":
                # a long edge crosses a layer straight, along a lane, so it misses the boxes there
                half = thickness[li] / 2
                ends = [(d - half, -b), (d + half, -b)] if lr else [(b, -d + half), (b, -d - half)]
                elements[key]["lane"] = ends

    xs0 = [e["pos"][0] - e["size"][0] / 2 for e in elements.values()]
    xs1 = [e["pos"][0] + e["size"][0] / 2 for e in elements.values()]
    ys0 = [e["pos"][1] - e["size"][1] / 2 for e in elements.values()]
    ys1 = [e["pos"][1] + e["size"][1] / 2 for e in elements.values()]
    extent = (min(xs0), max(xs1), min(ys0), max(ys1))
    edge_list = [(src, dst, m, path) for (src, dst, m), path in zip(edges, paths)]
    return elements, edge_list, extent


def _smooth_path(points, lr):
    """A matplotlib Path through ``points``: straight along lanes, S-curves between them."""
    from matplotlib.path import Path

    vertices, codes = [points[0]], [Path.MOVETO]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if (lr and x0 == x1) or (not lr and y0 == y1) or (x0, y0) == (x1, y1):
            vertices.append((x1, y1))
            codes.append(Path.LINETO)
            continue
        # control points leave and arrive along the layer direction
        if lr:
            c0, c1 = ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1)
        else:
            c0, c1 = (x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)
        vertices.extend([c0, c1, (x1, y1)])
        codes.extend([Path.CURVE4] * 3)
    return Path(vertices, codes)


_NODE_ARROW = None


def _node_arrow_class():
    """FancyArrowPatch that places its end boxes before clipping to them.

    Arrows are drawn before (under) the node boxes, so the text boxes must be
    positioned first; matplotlib's own annotate does the same.
    """
    global _NODE_ARROW
    if _NODE_ARROW is None:
        from matplotlib.patches import FancyArrowPatch

        class NodeArrow(FancyArrowPatch):
            def __init__(self, texts, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._texts = texts

            def draw(self, renderer):
                for text in self._texts:
                    text.update_bbox_position_size(renderer)
                super().draw(renderer)

        _NODE_ARROW = NodeArrow
    return _NODE_ARROW


def draw_graph(root, ax=None, show_grad=True, highlight=None, rankdir="LR", grads=None, fontsize=9.0):
    """Draw the computational graph ending at ``root`` with matplotlib.

    Values are boxes (label, ``data``, ``grad`` to 4 significant figures),
    operations are small circles between their inputs and their output, and
    arrows show the forward direction. Layers follow the longest path from
    the inputs; inputs sit just before their first use.

    Parameters
    ----------
    root : Value
        Output of the graph.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure sized to the graph if omitted. In a given
        Axes the text is scaled so that boxes do not overlap.
    show_grad : bool
        Show the ``grad`` line in each box.
    highlight : Value or iterable of Value, optional
        Nodes to emphasise (red), together with their operation and the edges
        from their children: the step a backward stepper is processing.
    rankdir : {"LR", "TB"}
        Left to right or top to bottom.
    grads : dict, optional
        ``{Value: grad}`` shown instead of the ``grad`` attributes, e.g.
        ``backward_steps(root)[k].grads``; missing nodes show 0.
    fontsize : float
        Font size in points before any scaling.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into; it holds one text per value node (containing
        ``"data"``) and one per operation.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch

    # imported here, not at the top: cnnlib.autodiff imports this module to offer draw_graph
    from .autodiff import Value, topological_order

    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    if highlight is None:
        highlighted = set()
    else:
        highlighted = {highlight} if isinstance(highlight, Value) else set(highlight)
    elements, edges, (x0, x1, y0, y1) = _layout(root, topological_order(root), show_grad, grads,
                                                fontsize, rankdir)
    margin = 8.0
    x0, x1, y0, y1 = x0 - margin, x1 + margin, y0 - margin, y1 + margin
    width, height = x1 - x0, y1 - y0  # points at scale 1

    if ax is None:
        # 1 data unit = 1 point, capped at a figure of 16 x 12 inches
        scale = min(1.0, 16 * 72 / width, 12 * 72 / height)
        fig = plt.figure(figsize=(width * scale / 72, height * scale / 72))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
        box = ax.get_position()
        fig_w, fig_h = fig.get_size_inches()
        scale = min(box.width * fig_w * 72 / width, box.height * fig_h * 72 / height)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()

    fs = fontsize * scale
    lw = max(0.4, scale)
    artists = {}
    for key, e in elements.items():
        if e["kind"] == "dummy":
            continue
        node = e["node"]
        hot = node in highlighted
        if e["kind"] == "value":
            face = _COLORS["input_face"] if not node.children else _COLORS["value_face"]
            edge = _COLORS["input_edge"] if not node.children else _COLORS["value_edge"]
            style = f"round,pad={_BOX_PAD}"
        else:
            face, edge = _COLORS["op_face"], _COLORS["op_edge"]
            style = f"circle,pad={_circle_pad(e['text']):.3f}"
        if hot:
            face, edge = _COLORS["highlight_face"], _COLORS["highlight_edge"]
        bbox = dict(boxstyle=style, facecolor=face, edgecolor=edge, linewidth=(2.2 if hot else 1.0) * lw)
        artists[key] = ax.text(
            *e["pos"], e["text"], ha="center", va="center", fontsize=fs, family=_FONT,
            fontweight="bold" if hot and e["kind"] == "op" else "normal",
            linespacing=_LINE_HEIGHT, bbox=bbox, zorder=3,
        )

    arrow_class = _node_arrow_class()
    for src, dst, multiplicity, path in edges:
        hot = elements[dst]["node"] in highlighted
        color = _COLORS["highlight_edge"] if hot else _COLORS["arrow"]
        # edges sit under the boxes: a line passing a box is hidden, not drawn across it
        style = dict(color=color, linewidth=(1.8 if hot else 1.0) * lw, zorder=2.5 if hot else 2)
        texts = (artists[src], artists[dst])
        head = dict(arrowstyle="-|>", mutation_scale=10 * lw, shrinkA=1, shrinkB=1)
        if len(path) == 2:
            start, end = elements[src]["pos"], elements[dst]["pos"]
            rads = [0.0] if multiplicity == 1 else [0.35 * (i - (multiplicity - 1) / 2) for i in range(multiplicity)]
            for rad in rads:
                ax.add_patch(arrow_class(texts, start, end, patchA=texts[0].get_bbox_patch(),
                                         patchB=texts[1].get_bbox_patch(),
                                         connectionstyle=f"arc3,rad={rad}", **head, **style))
            continue
        # a long edge: smooth curves between the lanes of its dummy elements, then an arrow
        points = [elements[src]["pos"]]
        for key in path[1:-1]:
            points.extend(elements[key]["lane"])
        ax.add_patch(PathPatch(_smooth_path(points, rankdir == "LR"), facecolor="none",
                               edgecolor=color, linewidth=style["linewidth"], zorder=style["zorder"]))
        head["shrinkA"] = 0  # continue the curve without a gap
        ax.add_patch(arrow_class(texts, points[-1], elements[dst]["pos"], patchB=texts[1].get_bbox_patch(),
                                 **head, **style))
    return ax
