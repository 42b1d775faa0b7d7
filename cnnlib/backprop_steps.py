"""The backward pass of a :mod:`cnnlib.autodiff` graph, one node at a time.

:func:`backward_steps` replays what :meth:`Value.backward` does and records,
for every node, the upstream gradient, the gate rule that passes it on ("add
distributes", "multiply swaps", "max routes", "copy adds") and what each child
receives: the data of the backprop stepper widget and of the lecture's
hand-worked examples. Also importable from :mod:`cnnlib.autodiff`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotations: cnnlib.autodiff imports this module
    from .autodiff import Value

__all__ = ["BackwardStep", "ChildGradient", "backward_steps"]


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
        from .autodiff import _describe  # here: cnnlib.autodiff imports this module

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
        The output of the graph; its own gradient is 1, the start of the pass.

    Returns
    -------
    list of BackwardStep
        In backward order: ``[s.node for s in steps] ==
        topological_order(root)[::-1]``; ``steps[-1].grads`` holds the final
        gradients.
    """
    from .autodiff import topological_order  # here: cnnlib.autodiff imports this module

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
