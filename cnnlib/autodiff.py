"""A scalar computational graph for the backpropagation lecture.

Every :class:`Value` remembers the values it was computed from (its
``children``) and, for each child, the *local gradient*: the derivative of
this node with respect to that child, evaluated at the forward values.
The backward pass then applies one rule, the chain rule as stated on the slide:

    downstream = upstream × local

and adds (``+=``) the result into the child's ``grad``, so a value used twice
(fan-out, "copy adds") collects the sum of both contributions.

Besides :class:`Value` this module offers teaching helpers for a stepper
widget: :func:`topological_order`, :func:`backward_steps` (the backward pass as
a list of records, one per node) and :func:`draw_graph` (the graph drawn with
matplotlib, no graphviz binary needed).

Examples
--------
>>> from cnnlib.autodiff import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> x.grad, y.grad, z.grad
(-4.0, -4.0, 3.0)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

__all__ = [
    "Value",
    "vmax",
    "topological_order",
    "backward_steps",
    "BackwardStep",
    "ChildGradient",
    "draw_graph",
    "lecture_example",
    "sigmoid_neuron_example",
]


class Value:
    """A scalar node of a computational graph: its ``data`` and its ``grad``.

    Parameters
    ----------
    data : float
        The forward value.
    label : str, optional
        A name shown by ``repr`` and :func:`draw_graph` (``"x"``, ``"w0"``, ...).
    _children : tuple of Value, optional
        The inputs of the operation that produced this value (set by the
        operators; leave empty for an input).
    op : str, optional
        Name of that operation (``"+"``, ``"*"``, ``"tanh"``, ...).

    Attributes
    ----------
    data : float
        Forward value.
    grad : float
        d(root)/d(this value) after ``root.backward()``; 0.0 before.
    children : tuple of Value
        Inputs of the operation, in argument order (a value used twice, as in
        ``x * x``, appears twice).
    local_grads : tuple of float
        For each child, d(this value)/d(child) at the forward values.
    op : str
        Operation name, ``""`` for an input.

    Notes
    -----
    Each operator computes its output together with the local gradients and
    attaches a closure ``_backward`` that applies "downstream = upstream × local"
    to every child with ``+=``. :meth:`backward` runs those closures in reverse
    topological order.
    """

    # Let NumPy scalars hand arithmetic over to Value (np.float64(2) * v is a Value).
    __array_ufunc__ = None

    def __init__(self, data, label="", _children=(), op=""):
        if isinstance(data, Value):
            raise TypeError(f"Value(data) needs a number, got another Value: {data!r}")
        if not isinstance(data, numbers.Real):
            raise TypeError(f"Value(data) needs a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = str(label)
        self.children = tuple(_children)
        self.op = str(op)
        self.local_grads = ()
        self._backward = lambda: None

    # -- building blocks -------------------------------------------------
    def _attach(self, *local_grads):
        """Store one local gradient per child and the closure that uses them."""
        if len(local_grads) != len(self.children):
            raise ValueError(
                f"{self.op!r} has {len(self.children)} children but got {len(local_grads)} local gradients"
            )
        self.local_grads = tuple(float(g) for g in local_grads)
        out = self

        def _backward():
            # downstream = upstream × local; += because a child may be used more than once
            for child, local_grad in zip(out.children, out.local_grads):
                child.grad += out.grad * local_grad

        self._backward = _backward
        return self

    # -- binary operations -----------------------------------------------
    def __add__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data + other.data, _children=(self, other), op="+")
        # add distributes: d(a+b)/da = d(a+b)/db = 1
        return out._attach(1.0, 1.0)

    def __mul__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data * other.data, _children=(self, other), op="*")
        # multiply swaps: d(ab)/da = b, d(ab)/db = a
        return out._attach(other.data, self.data)

    def __sub__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data - other.data, _children=(self, other), op="-")
        # d(a-b)/da = 1, d(a-b)/db = -1
        return out._attach(1.0, -1.0)

    def __truediv__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return NotImplemented
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero: {_describe(self)} / {_describe(other)} (the denominator is 0)"
            )
        out = Value(self.data / other.data, _children=(self, other), op="/")
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        return out._attach(1.0 / other.data, -self.data / other.data**2)

    def max(self, other):
        """Binary max gate ``max(self, other)``.

        The upstream gradient is routed to the larger input only ("max
        routes"); on a tie it goes to ``self``.
        """
        other = _as_value(other)
        if other is NotImplemented:
            raise TypeError(f"max needs a Value or a number, got {type(other).__name__}")
        self_wins = self.data >= other.data
        out = Value(max(self.data, other.data), _children=(self, other), op="max")
        return out._attach(1.0 if self_wins else 0.0, 0.0 if self_wins else 1.0)

    # plain number on the left: 2 + v, 2 * v, 2 - v, 2 / v
    def __radd__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else other + self

    def __rmul__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else other * self

    def __rsub__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else other - self

    def __rtruediv__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else other / self

    # -- unary operations ------------------------------------------------
    def __neg__(self):
        out = Value(-self.data, _children=(self,), op="neg")
        return out._attach(-1.0)

    def __pow__(self, exponent):
        """``self ** n`` for a plain number ``n``; local gradient n·x^(n-1)."""
        if isinstance(exponent, Value):
            raise TypeError(
                "Value ** Value is not supported: the exponent must be a plain number, "
                f"got {exponent!r} (write exp(b * log(a)) for a variable exponent)"
            )
        if not isinstance(exponent, numbers.Real):
            return NotImplemented
        n = float(exponent)
        x = self.data
        if x == 0.0 and n < 0:
            raise ZeroDivisionError(f"0 ** {n:g} is undefined: {_describe(self)} raised to a negative power")
        if x < 0 and not n.is_integer():
            raise ValueError(
                f"{x:g} ** {n:g} is not a real number: a negative base needs an integer exponent ({_describe(self)})"
            )
        out = Value(x**n, _children=(self,), op=f"**{n:g}")
        if n == 0.0:
            local_grad = 0.0
        elif x == 0.0 and n < 1:
            local_grad = math.inf  # the slope of x**n, 0 < n < 1, is vertical at 0
        else:
            local_grad = n * x ** (n - 1)
        return out._attach(local_grad)

    def exp(self):
        """``e ** self``; local gradient exp(x), the output itself."""
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data:g}) overflows a float ({_describe(self)})") from None
        out = Value(e, _children=(self,), op="exp")
        return out._attach(e)

    def log(self):
        """Natural logarithm; local gradient 1/x. Raises ``ValueError`` for x <= 0."""
        if self.data <= 0.0:
            raise ValueError(f"log is only defined for positive inputs, got log({self.data:g}) for {_describe(self)}")
        out = Value(math.log(self.data), _children=(self,), op="log")
        return out._attach(1.0 / self.data)

    def tanh(self):
        """Hyperbolic tangent; local gradient 1 - tanh(x)²."""
        t = math.tanh(self.data)
        out = Value(t, _children=(self,), op="tanh")
        return out._attach(1.0 - t * t)

    def sigmoid(self):
        """Logistic sigmoid σ(x) = 1 / (1 + e^-x); local gradient σ(x)(1 - σ(x))."""
        x = self.data
        # two algebraically equal forms, each safe from overflow on its side
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, _children=(self,), op="sigmoid")
        return out._attach(s * (1.0 - s))

    def relu(self):
        """max(0, x); local gradient 1 for x > 0, else 0 (also at 0, as PyTorch)."""
        out = Value(max(0.0, self.data), _children=(self,), op="relu")
        return out._attach(1.0 if self.data > 0 else 0.0)

    # -- the backward pass -----------------------------------------------
    def backward(self):
        """Fill ``grad`` of every node in the graph with d(self)/d(node).

        Sorts the graph topologically, resets every ``grad`` to 0, seeds
        ``self.grad = 1`` and runs each node's closure from the output back to
        the inputs, so a node passes its gradient on only once it is complete.

        Unlike PyTorch, calling ``backward`` twice does not accumulate across
        calls: each call starts from zero gradients.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0  # d(self)/d(self)
        for node in reversed(order):
            node._backward()

    def zero_grad(self):
        """Set ``grad = 0`` on every node of the graph that ends at ``self``."""
        for node in topological_order(self):
            node.grad = 0.0

    def __repr__(self):
        parts = [f"data={self.data!r}", f"grad={self.grad!r}"]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.op:
            parts.append(f"op={self.op!r}")
        return f"Value({', '.join(parts)})"


def _as_value(x):
    """Wrap a plain number as a constant Value; NotImplemented for anything else."""
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real):
        return Value(x)
    return NotImplemented


def _describe(v):
    """Short name of a node for messages: ``x=-2`` or ``(*)=6`` or ``3``."""
    if v.label:
        return f"{v.label}={v.data:g}"
    if v.op:
        return f"({v.op})={v.data:g}"
    return f"{v.data:g}"


def vmax(a, b):
    """Binary max gate ``max(a, b)`` of Values or numbers (at least one a Value).

    See :meth:`Value.max`: the gradient goes to the larger input only.
    """
    if not isinstance(a, Value) and not isinstance(b, Value):
        raise TypeError(f"vmax needs at least one Value, got {type(a).__name__} and {type(b).__name__}")
    a = _as_value(a)
    if a is NotImplemented:
        raise TypeError("vmax needs Values or numbers")
    return a.max(b)


# ---------------------------------------------------------------------------
# teaching helpers
# ---------------------------------------------------------------------------
def topological_order(root):
    """All nodes of the graph ending at ``root``, each after its children.

    Parameters
    ----------
    root : Value
        The output of the graph.

    Returns
    -------
    list of Value
        Inputs first, ``root`` last; every node appears once. The backward pass
        visits this list in reverse.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order needs a Value, got {type(root).__name__}")
    order, seen = [], set()
    # iterative depth-first search: a long chain must not hit the recursion limit
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child in reversed(node.children):
            if child not in seen:
                stack.append((child, False))
    return order


_GATE_RULES = {
    "+": "add distributes",
    "-": "subtract distributes (the right input gets it negated)",
    "*": "multiply swaps",
    "/": "divide: 1/b to a, -a/b² to b",
    "max": "max routes",
    "neg": "negate flips the sign",
    "exp": "exp: local = exp(x)",
    "log": "log: local = 1/x",
    "tanh": "tanh: local = 1 - tanh²(x)",
    "sigmoid": "sigmoid: local = σ(x)(1 - σ(x))",
    "relu": "relu gates: passes only if x > 0",
}
_LEAF_RULE = "input: its gradient is complete"
_COPY_RULE = "copy adds"


def _gate_rule(op):
    if not op:
        return _LEAF_RULE
    if op.startswith("**"):
        return "power rule: local = n·x^(n-1)"
    return _GATE_RULES.get(op, f"{op}: upstream × local")


@dataclass
class ChildGradient:
    """What one child receives during a :class:`BackwardStep`.

    Attributes
    ----------
    child : Value
        The child node.
    local_grad : float
        d(node)/d(child).
    contribution : float
        ``upstream * local_grad``, added to the child's gradient.
    grad_after : float
        The child's accumulated gradient after this step.
    rule : str
        The gate rule, with ``"copy adds"`` appended when the child feeds
        more than one place (its gradient is a sum).
    """

    child: Value
    local_grad: float
    contribution: float
    grad_after: float
    rule: str


@dataclass
class BackwardStep:
    """One node processed by the backward pass.

    Attributes
    ----------
    index : int
        Position in the backward order (0 = the output).
    node : Value
        The node whose gradient is passed on.
    upstream : float
        d(root)/d(node), complete when the node is processed (1 for the root).
    rule : str
        The gate rule ("add distributes", "multiply swaps", "max routes", ...).
    children : list of ChildGradient
        One record per child edge, in argument order; empty for an input.
    grads : dict
        Gradient of every node after this step, ``{Value: float}``; pass it to
        ``draw_graph(root, grads=step.grads)`` to show the pass in progress.
    """

    index: int
    node: Value
    upstream: float
    rule: str
    children: list = field(default_factory=list)
    grads: dict = field(default_factory=dict, repr=False)

    def describe(self):
        """One line per child: ``x gets upstream × local = contribution``."""
        head = f"step {self.index}: {_describe(self.node)}, upstream gradient {self.upstream:.4g} — {self.rule}"
        lines = [head]
        for c in self.children:
            lines.append(
                f"  {_describe(c.child)} gets {self.upstream:.4g} × {c.local_grad:.4g} = {c.contribution:.4g}"
                f" (grad now {c.grad_after:.4g}; {c.rule})"
            )
        return "\n".join(lines)


def backward_steps(root):
    """The backward pass from ``root``, one record per node, without touching ``grad``.

    Applies the same rule as :meth:`Value.backward` (downstream = upstream ×
    local, summed over uses) in the same order, so the final ``grads`` equal the
    ``grad`` attributes after ``root.backward()``. It does not need
    ``backward()`` to have been called and leaves every ``grad`` unchanged.

    Parameters
    ----------
    root : Value
        The output of the graph.

    Returns
    -------
    list of BackwardStep
        In backward order: ``[s.node for s in steps] ==
        topological_order(root)[::-1]``; ``steps[-1].grads`` holds the final
        gradients.
    """
    order = topological_order(root)
    uses = {node: 0 for node in order}  # fan-out: how many edges leave each node
    for node in order:
        for child in node.children:
            uses[child] += 1
    grads = {node: 0.0 for node in order}
    grads[root] = 1.0
    steps = []
    for index, node in enumerate(reversed(order)):
        upstream = grads[node]
        rule = _gate_rule(node.op)
        records = []
        for child, local_grad in zip(node.children, node.local_grads):
            contribution = upstream * local_grad  # downstream = upstream × local
            grads[child] += contribution
            child_rule = rule if uses[child] == 1 else f"{rule}; {_COPY_RULE}"
            records.append(ChildGradient(child, local_grad, contribution, grads[child], child_rule))
        steps.append(BackwardStep(index, node, upstream, rule, records, dict(grads)))
    return steps


# ---------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------
_OP_SYMBOLS = {"*": "×", "/": "÷", "-": "−", "sigmoid": "σ"}
_FONT = "DejaVu Sans Mono"  # ships with matplotlib; monospace makes box sizes predictable
_CHAR_WIDTH = 0.602  # advance of one DejaVu Sans Mono glyph, in font sizes
_LINE_HEIGHT = 1.2  # matplotlib's default line spacing
_BOX_PAD = 0.45  # padding of value boxes, in font sizes
_CIRCLE_PAD = 0.25
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


def _layout(root, show_grad, grads, fontsize, rankdir):
    """Layered (Sugiyama-style) layout in points.

    Returns elements ``{key: dict(kind, node, text, size, pos)}``, the edge list
    ``[(src, dst, multiplicity, path_keys)]`` and the drawing extent.
    """
    nodes = topological_order(root)
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
    for k, (src, dst, m) in enumerate(edges):
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


def _as_highlight_set(highlight):
    if highlight is None:
        return set()
    if isinstance(highlight, Value):
        return {highlight}
    return set(highlight)


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
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch

    highlighted = _as_highlight_set(highlight)
    elements, edges, (x0, x1, y0, y1) = _layout(root, show_grad, grads, fontsize, rankdir)
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


# ---------------------------------------------------------------------------
# the lecture's two graphs
# ---------------------------------------------------------------------------
def lecture_example(x=-2.0, y=5.0, z=-4.0):
    """The first backprop example, f(x, y, z) = (x + y) z, with q = x + y.

    Returns
    -------
    f : Value
        The output (-12 at the default point).
    inputs : dict
        ``{"x": x, "y": y, "z": z}`` as Values.
    """
    x, y, z = Value(x, "x"), Value(y, "y"), Value(z, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f, {"x": x, "y": y, "z": z}


def sigmoid_neuron_example(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0, primitive=True):
    """The 2-D sigmoid neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))).

    Parameters
    ----------
    w0, x0, w1, x1, w2 : float
        Weights, inputs and bias (defaults: the lecture's values, f ≈ 0.7311).
    primitive : bool
        True builds the lecture's circuit from primitive gates (×, +, negate,
        exp, +1, **-1); False uses the single ``sigmoid`` gate, whose local
        gradient σ(1 - σ) gives the same result in one step.

    Returns
    -------
    f : Value
        The neuron's output.
    inputs : dict
        ``{"w0": ..., "x0": ..., "w1": ..., "x1": ..., "w2": ...}`` as Values.
    """
    inputs = {name: Value(v, name) for name, v in
              [("w0", w0), ("x0", x0), ("w1", w1), ("x1", x1), ("w2", w2)]}
    w0, x0, w1, x1, w2 = inputs.values()
    a = w0 * x0
    a.label = "w0·x0"
    b = w1 * x1
    b.label = "w1·x1"
    s = a + b
    s.label = "sum"
    z = s + w2
    z.label = "z"
    if primitive:
        neg = -z
        neg.label = "-z"
        e = neg.exp()
        e.label = "exp(-z)"
        d = e + 1
        d.label = "1+exp(-z)"
        f = d**-1
    else:
        f = z.sigmoid()
    f.label = "f"
    return f, inputs
