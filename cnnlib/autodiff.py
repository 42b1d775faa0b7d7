"""A scalar computational graph for the backpropagation lecture.

Every :class:`Value` remembers the values it was computed from (its
``children``) and, for each child, the *local gradient*: the derivative of
this node with respect to that child, evaluated at the forward values.
The backward pass then applies one rule, the chain rule as stated on the slide:

    downstream = upstream × local

and adds (``+=``) the result into the child's ``grad``, so a value used twice
(fan-out, "copy adds") collects the sum of both contributions.

Besides :class:`Value` this module offers :func:`topological_order` (the order
of the backward pass) and the lecture's two graphs, and re-exports the helpers
of the backprop stepper widget: :func:`backward_steps` (the backward pass as a
list of records, one per node; :mod:`cnnlib.backprop_steps`) and
:func:`draw_graph` (the graph drawn with matplotlib; :mod:`cnnlib.graph_drawing`).

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

from .backprop_steps import BackwardStep, ChildGradient, backward_steps
from .graph_drawing import draw_graph

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
# the order of the backward pass
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
