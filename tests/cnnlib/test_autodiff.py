"""Tests of cnnlib.autodiff against independent oracles.

Oracles: hand-derived lecture values, closed-form derivatives, central
differences (cnnlib.gradcheck.numerical_gradient) and, when installed, PyTorch.
"""
import math

import numpy as np
import pytest

from cnnlib.autodiff import (
    BackwardStep,
    Value,
    backward_steps,
    draw_graph,
    lecture_example,
    sigmoid_neuron_example,
    topological_order,
    vmax,
)
from cnnlib.gradcheck import numerical_gradient, rel_error


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def assert_grads_close(analytic, numeric, what, rtol=1e-6, atol=1e-8):
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    ok = np.all(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    assert ok, (
        f"{what}: backward() gave {analytic}, central differences give {numeric} "
        f"(relative error {rel_error(analytic, numeric):.2e})"
    )


def check_against_finite_differences(build, point, what):
    """Compare Value.backward() of ``build(*values)`` with central differences."""
    point = np.array(point, dtype=np.float64)
    inputs = [Value(v, f"a{i}") for i, v in enumerate(point)]
    out = build(*inputs)
    out.backward()
    analytic = [v.grad for v in inputs]
    numeric = numerical_gradient(lambda p: build(*[Value(v) for v in p]).data, point.copy(), h=1e-6)
    assert_grads_close(analytic, numeric, what)
    return out, inputs


def sigmoid_float(t):
    return 1.0 / (1.0 + math.exp(-t))


# ---------------------------------------------------------------------------
# the lecture examples (hand-computed values)
# ---------------------------------------------------------------------------
def test_lecture_example_x_plus_y_times_z():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    assert f.data == -12.0
    # df/dx = df/dq * dq/dx = z * 1
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert q.grad == -4.0 and f.grad == 1.0


def test_lecture_example_builder_matches():
    f, inputs = lecture_example()
    f.backward()
    assert f.data == -12.0
    assert {k: v.grad for k, v in inputs.items()} == {"x": -4.0, "y": -4.0, "z": 3.0}


SIGMOID_POINT = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
# z = w0 x0 + w1 x1 + w2 = 1, f = σ(1), df/dz = σ(1)(1 - σ(1)) ≈ 0.19661193
SIGMOID_EXPECTED = dict(w0=-0.1966, x0=0.3932, w1=-0.3932, x1=-0.5898, w2=0.1966)


def _neuron_inputs():
    return {k: Value(v, k) for k, v in SIGMOID_POINT.items()}


def _neuron_primitive_reciprocal(p):
    z = p["w0"] * p["x0"] + p["w1"] * p["x1"] + p["w2"]
    return 1 / (1 + (-z).exp())  # rtruediv, radd


def _neuron_primitive_power(p):
    z = p["w0"] * p["x0"] + p["w1"] * p["x1"] + p["w2"]
    return ((z * -1).exp() + 1.0) ** -1


def _neuron_sigmoid_gate(p):
    return (p["w0"] * p["x0"] + p["w1"] * p["x1"] + p["w2"]).sigmoid()


@pytest.mark.parametrize("build", [_neuron_primitive_reciprocal, _neuron_primitive_power, _neuron_sigmoid_gate])
def test_sigmoid_neuron_lecture_values(build):
    p = _neuron_inputs()
    f = build(p)
    f.backward()
    assert f.data == pytest.approx(0.7311, abs=1e-4)
    for name, expected in SIGMOID_EXPECTED.items():
        assert p[name].grad == pytest.approx(expected, abs=1e-4), f"d f / d {name}"


def test_sigmoid_neuron_closed_form_and_finite_differences():
    def f_float(w0, x0, w1, x1, w2):
        return sigmoid_float(w0 * x0 + w1 * x1 + w2)

    s = f_float(**SIGMOID_POINT)
    local = s * (1 - s)
    w0, x0, w1, x1 = (SIGMOID_POINT[k] for k in ("w0", "x0", "w1", "x1"))
    closed_form = dict(w0=x0 * local, x0=w0 * local, w1=x1 * local, x1=w1 * local, w2=local)
    point = np.array(list(SIGMOID_POINT.values()))
    numeric = numerical_gradient(lambda a: f_float(*a), point.copy())
    assert_grads_close(list(closed_form.values()), numeric, "closed-form sigmoid neuron")
    for build in (_neuron_primitive_reciprocal, _neuron_primitive_power, _neuron_sigmoid_gate):
        p = _neuron_inputs()
        build(p).backward()
        for name in closed_form:
            assert p[name].grad == pytest.approx(closed_form[name], rel=1e-12), (build.__name__, name)


def test_sigmoid_neuron_example_both_constructions_agree():
    f1, p1 = sigmoid_neuron_example(primitive=True)
    f2, p2 = sigmoid_neuron_example(primitive=False)
    f1.backward()
    f2.backward()
    assert f1.data == pytest.approx(f2.data, rel=1e-14)
    for name in p1:
        assert p1[name].grad == pytest.approx(p2[name].grad, rel=1e-12), name
        assert p1[name].grad == pytest.approx(SIGMOID_EXPECTED[name], abs=1e-4), name
    # the primitive circuit has more gates than the single sigmoid gate
    assert len(topological_order(f1)) > len(topological_order(f2))


@pytest.mark.parametrize("x0", [-2.0, -0.5, 0.3, 1.0, 1.7])
def test_fan_out_x_used_twice_gives_5x4(x0):
    x = Value(x0, "x")
    y = x**3
    z = x**2
    f = y * z
    f.backward()
    assert f.data == pytest.approx(x0**5)
    assert x.grad == pytest.approx(5 * x0**4, rel=1e-12)


# ---------------------------------------------------------------------------
# every operation against central differences
# ---------------------------------------------------------------------------
RNG_SEED = 1234

# name -> (function of Values, sampler of a valid input point)
OPS = {
    "add": (lambda a, b: a + b, lambda r: r.uniform(-3, 3, 2)),
    "add number": (lambda a: a + 2.5, lambda r: r.uniform(-3, 3, 1)),
    "radd": (lambda a: 2.5 + a, lambda r: r.uniform(-3, 3, 1)),
    "sub": (lambda a, b: a - b, lambda r: r.uniform(-3, 3, 2)),
    "sub number": (lambda a: a - 1.5, lambda r: r.uniform(-3, 3, 1)),
    "rsub": (lambda a: 1.5 - a, lambda r: r.uniform(-3, 3, 1)),
    "mul": (lambda a, b: a * b, lambda r: r.uniform(-3, 3, 2)),
    "rmul": (lambda a: 3.0 * a, lambda r: r.uniform(-3, 3, 1)),
    "div by Value": (lambda a, b: a / b, lambda r: np.array([r.uniform(-3, 3), r.choice([-1, 1]) * r.uniform(0.5, 3)])),
    "div by number": (lambda a: a / 4.0, lambda r: r.uniform(-3, 3, 1)),
    "rtruediv": (lambda a: 2.0 / a, lambda r: r.choice([-1, 1], 1) * r.uniform(0.5, 3, 1)),
    "neg": (lambda a: -a, lambda r: r.uniform(-3, 3, 1)),
    "pow 3": (lambda a: a**3, lambda r: r.uniform(-2, 2, 1)),
    "pow -1": (lambda a: a**-1, lambda r: r.choice([-1, 1], 1) * r.uniform(0.5, 3, 1)),
    "pow 0.5": (lambda a: a**0.5, lambda r: r.uniform(0.5, 3, 1)),
    "pow -2.5": (lambda a: a**-2.5, lambda r: r.uniform(0.5, 3, 1)),
    "exp": (lambda a: a.exp(), lambda r: r.uniform(-3, 3, 1)),
    "log": (lambda a: a.log(), lambda r: r.uniform(0.2, 5, 1)),
    "tanh": (lambda a: a.tanh(), lambda r: r.uniform(-3, 3, 1)),
    "sigmoid": (lambda a: a.sigmoid(), lambda r: r.uniform(-6, 6, 1)),
    "relu positive": (lambda a: a.relu(), lambda r: r.uniform(0.1, 3, 1)),
    "relu negative": (lambda a: a.relu(), lambda r: r.uniform(-3, -0.1, 1)),
    "max left wins": (lambda a, b: a.max(b), lambda r: np.array([1.0, -1.0]) + r.uniform(-0.5, 0.5, 2)),
    "max right wins": (lambda a, b: a.max(b), lambda r: np.array([-1.0, 1.0]) + r.uniform(-0.5, 0.5, 2)),
    "vmax number left": (lambda a: vmax(0.5, a), lambda r: r.choice([-2.0, 2.0], 1) + r.uniform(-0.5, 0.5, 1)),
    "vmax number right": (lambda a: vmax(a, 0.5), lambda r: r.choice([-2.0, 2.0], 1) + r.uniform(-0.5, 0.5, 1)),
    "composite fan-out": (
        lambda a, b, c: (a * b + a.tanh() * c) / (b * b + 1) - (a - c).sigmoid() * a,
        lambda r: r.uniform(-2, 2, 3),
    ),
    "composite division and rsub": (
        lambda a, b: 1 / (1 - a * b) + (2 - a) / (b.exp() + a * a) + (a / b) ** 2,
        lambda r: np.array([r.uniform(-0.5, 0.5), r.choice([-1, 1]) * r.uniform(0.5, 1.5)]),
    ),
    "composite max relu log": (
        lambda a, b, c: vmax(a * b, c).relu() + (a * a + b * b + 1).log() * c.max(a) - (b - 3).relu(),
        lambda r: r.uniform(-2, 2, 3),
    ),
    "neuron with reused weights": (
        lambda w, x, b: ((w * x + b).tanh() * w + (w * x + b).sigmoid() - w**2 / 2),
        lambda r: r.uniform(-2, 2, 3),
    ),
}


@pytest.mark.parametrize("name", list(OPS))
def test_op_gradient_matches_central_differences(name):
    build, sample = OPS[name]
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(5):
        point = sample(rng)
        check_against_finite_differences(build, point, f"{name} at {point}")


def test_max_relu_kinks_are_avoided_by_the_samplers():
    # the max/relu samplers above keep inputs at least 0.1 from the kink,
    # far beyond the finite-difference step, so the comparison is meaningful
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(50):
        a, b = OPS["max left wins"][1](rng)
        assert a - b > 0.1


def test_relu_at_negative_and_positive():
    for x0, expected_out, expected_grad in [(-2.0, 0.0, 0.0), (3.0, 3.0, 1.0), (0.0, 0.0, 0.0)]:
        x = Value(x0)
        y = x.relu()
        y.backward()
        assert (y.data, x.grad) == (expected_out, expected_grad)


def test_sigmoid_is_stable_for_large_inputs():
    for x0 in (-800.0, 800.0):
        x = Value(x0)
        y = x.sigmoid()
        y.backward()
        assert 0.0 <= y.data <= 1.0
        assert x.grad == pytest.approx(0.0, abs=1e-300)


# ---------------------------------------------------------------------------
# gate patterns from the lecture
# ---------------------------------------------------------------------------
def test_add_distributes_upstream_equally():
    a, b, k = Value(1.5), Value(-4.0), Value(-3.0)
    ((a + b) * k).backward()  # upstream of the add gate is k = -3
    assert a.grad == b.grad == -3.0


def test_multiply_swaps_inputs():
    a, b = Value(2.0), Value(-5.0)
    ((a * b) * 7).backward()  # upstream 7
    assert a.grad == 7 * b.data
    assert b.grad == 7 * a.data


@pytest.mark.parametrize("use_function", [False, True])
def test_max_routes_to_larger_input_only(use_function):
    a, b = Value(4.0), Value(-1.0)
    out = vmax(a, b) if use_function else a.max(b)
    (out * 2.5).backward()
    assert (a.grad, b.grad) == (2.5, 0.0)
    a, b = Value(-4.0), Value(1.0)
    out = vmax(a, b) if use_function else a.max(b)
    (out * 2.5).backward()
    assert (a.grad, b.grad) == (0.0, 2.5)


def test_copy_adds_gradients_of_every_use():
    x, y, z = Value(3.0), Value(-2.0), Value(5.0)
    (x * y + x * z).backward()
    assert x.grad == y.data + z.data
    x = Value(3.0)
    (x + x).backward()
    assert x.grad == 2.0
    x = Value(3.0)
    (x * x).backward()  # the same node twice in one gate
    assert x.grad == 6.0


# ---------------------------------------------------------------------------
# PyTorch as a second oracle (skipped when torch is not installed)
# ---------------------------------------------------------------------------
def test_matches_pytorch():
    torch = pytest.importorskip("torch")

    def expression(a, b, c, ops):
        q = a * b + c
        r = ops.tanh(q) * a - ops.sigmoid(b * c) / (c * c + 1)
        s = ops.relu(r) + ops.maximum(a, c) * 2 - 1 / (b + 4)
        return ops.log(s * s + 1) + ops.exp(-a) * (3 - r) + q**3 - (a + c) ** -2

    class ValueOps:
        tanh = staticmethod(lambda v: v.tanh())
        sigmoid = staticmethod(lambda v: v.sigmoid())
        relu = staticmethod(lambda v: v.relu())
        maximum = staticmethod(lambda u, v: u.max(v))
        log = staticmethod(lambda v: v.log())
        exp = staticmethod(lambda v: v.exp())

    rng = np.random.default_rng(RNG_SEED)
    for _ in range(5):
        point = rng.uniform(-1.5, 1.5, 3)
        point[2] += 3.0  # keep a + c and max(a, c) away from 0 and from ties
        values = [Value(v) for v in point]
        out = expression(*values, ValueOps)
        out.backward()
        tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
        t_out = expression(*tensors, torch)
        t_out.backward()
        assert out.data == pytest.approx(t_out.item(), rel=1e-12)
        for v, t in zip(values, tensors):
            assert v.grad == pytest.approx(t.grad.item(), rel=1e-10, abs=1e-12)


# ---------------------------------------------------------------------------
# graph utilities
# ---------------------------------------------------------------------------
def test_topological_order_puts_children_first():
    f, inputs = sigmoid_neuron_example()
    order = topological_order(f)
    assert order[-1] is f
    assert len(order) == len(set(order))
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for child in node.children:
            assert position[child] < position[node]
    assert set(inputs.values()) <= set(order)


def test_long_chain_does_not_hit_recursion_limit():
    x = Value(0.5, "x")
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-9)


def test_backward_resets_and_zero_grad():
    f, inputs = lecture_example()
    f.backward()
    first = {k: v.grad for k, v in inputs.items()}
    f.backward()  # a second call starts from zero again
    assert {k: v.grad for k, v in inputs.items()} == first
    f.zero_grad()
    assert all(node.grad == 0.0 for node in topological_order(f))


def test_repr_and_numpy_scalars():
    x = Value(-2.0, "x")
    x.grad = -4.0
    assert repr(x) == "Value(data=-2.0, grad=-4.0, label='x')"
    y = np.float64(2.0) * x
    assert isinstance(y, Value) and y.data == -4.0
    assert "op='*'" in repr(y)


# ---------------------------------------------------------------------------
# backward_steps: the stepper's records
# ---------------------------------------------------------------------------
def _fan_out_graph():
    x = Value(1.5, "x")
    y = x**3
    y.label = "y"
    z = x**2
    z.label = "z"
    m = vmax(z, 1.0)
    m.label = "m"
    f = y * z + m
    f.label = "f"
    return f, x


@pytest.mark.parametrize("make", [lambda: lecture_example()[0], lambda: sigmoid_neuron_example()[0],
                                  lambda: _fan_out_graph()[0]])
def test_backward_steps_match_backward(make):
    root = make()
    steps = backward_steps(root)  # before any backward()
    assert all(node.grad == 0.0 for node in topological_order(root)), "backward_steps must not touch grad"
    assert [s.node for s in steps] == topological_order(root)[::-1]
    assert all(isinstance(s, BackwardStep) for s in steps)
    root.backward()
    for node in topological_order(root):
        assert steps[-1].grads[node] == node.grad  # same arithmetic, same order: exact
    for s in steps:
        # a node is processed once its gradient is complete
        assert s.upstream == s.node.grad
        assert len(s.children) == len(s.node.children)
        for c in s.children:
            assert c.contribution == s.upstream * c.local_grad
            assert s.grads[c.child] == c.grad_after


def test_backward_steps_name_the_gate_rules():
    f, inputs = lecture_example()
    steps = backward_steps(f)
    assert steps[0].node is f and steps[0].upstream == 1.0
    assert steps[0].rule == "multiply swaps"
    by_label = {s.node.label: s for s in steps}
    assert by_label["q"].rule == "add distributes"
    assert [c.contribution for c in by_label["q"].children] == [-4.0, -4.0]
    assert [c.local_grad for c in steps[0].children] == [-4.0, 3.0]  # swapped: q gets z, z gets q

    f, x = _fan_out_graph()
    steps = backward_steps(f)
    by_label = {s.node.label: s for s in steps}
    assert by_label["m"].rule == "max routes"
    assert [c.local_grad for c in by_label["m"].children] == [1.0, 0.0]
    # z feeds both the product and the max: its edges say "copy adds"
    product_step = next(s for s in steps if s.node.op == "*")
    z_record = next(c for c in product_step.children if c.child.label == "z")
    assert "copy adds" in z_record.rule
    # x feeds ** 3 and ** 2
    assert all("copy adds" in c.rule for s in steps for c in s.children if c.child is x)
    text = "\n".join(s.describe() for s in steps)
    assert "max routes" in text and "copy adds" in text and "×" in text


# ---------------------------------------------------------------------------
# draw_graph
# ---------------------------------------------------------------------------
def _value_texts(ax):
    return [t for t in ax.texts if "data" in t.get_text()]


def _boxes_overlap(ax):
    renderer = ax.figure.canvas.get_renderer()
    boxes = []
    for t in ax.texts:
        t.update_bbox_position_size(renderer)
        boxes.append(t.get_bbox_patch().get_extents())
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5:
                return ax.texts[i].get_text(), ax.texts[j].get_text()
    return None


def _net_graph():
    x1, x2 = Value(0.5, "x1"), Value(-1.5, "x2")
    w = [Value(v, f"w{i}") for i, v in enumerate([0.3, -0.8, 1.1, 0.4, 0.7, -1.2])]
    h1 = (w[0] * x1 + w[1] * x2).tanh()
    h2 = (w[2] * x1 + w[3] * x2).relu()
    out = w[4] * h1 + w[5] * h2 + h1
    loss = (out - 1.0) ** 2 / x1
    return loss, h1


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_draw_graph_one_text_per_value_node(plt, tmp_path):
    f, inputs = sigmoid_neuron_example()
    f.backward()
    ax = draw_graph(f)
    nodes = topological_order(f)
    texts = _value_texts(ax)
    assert len(texts) == len(nodes)
    shown = {t.get_text() for t in texts}
    for node in nodes:
        expected = f"data {node.data + 0.0:.4g}\ngrad {node.grad + 0.0:.4g}"
        assert any(expected in s for s in shown), f"no box shows {expected!r}"
    assert any(s.startswith("w0\n") for s in shown)
    ax.figure.savefig(tmp_path / "graph.png", dpi=60)  # runs the arrow clipping
    assert _boxes_overlap(ax) is None


def test_draw_graph_highlight_grads_and_options(plt, tmp_path):
    loss, h1 = _net_graph()
    assert len(topological_order(loss)) >= 20
    loss.backward()
    ax = draw_graph(loss, highlight=h1)
    ax.figure.savefig(tmp_path / "net.png", dpi=60)
    assert _boxes_overlap(ax) is None
    highlight = pytest.approx((0.839, 0.153, 0.157), abs=0.01)
    red = [t for t in ax.texts if t.get_bbox_patch().get_edgecolor()[:3] == highlight]
    assert len(red) == 2  # the highlighted box and its op circle

    steps = backward_steps(loss)
    fig, ax = plt.subplots(figsize=(8, 3))
    out = draw_graph(loss, ax=ax, highlight={steps[3].node, steps[4].node}, grads=steps[3].grads, rankdir="TB")
    assert out is ax
    fig.savefig(tmp_path / "tb.png", dpi=60)
    assert _boxes_overlap(ax) is None

    ax = draw_graph(loss, show_grad=False)
    assert not any("grad" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(loss, rankdir="RL")


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_layout_puts_every_edge_forward_one_layer_per_depth(rankdir):
    from cnnlib.graph_drawing import _layout

    loss, _ = _net_graph()
    elements, edges, _ = _layout(loss, topological_order(loss), True, None, 9.0, rankdir)
    depth = (lambda pos: pos[0]) if rankdir == "LR" else (lambda pos: -pos[1])
    for src, dst, _, _ in edges:
        assert depth(elements[dst]["pos"]) > depth(elements[src]["pos"]), (src, dst)
    # an operation and its output sit in consecutive layers, one depth each
    depths = sorted({round(depth(e["pos"]), 6) for e in elements.values()})
    for key, e in elements.items():
        if key[0] == "o":
            out = depths.index(round(depth(elements[("v", key[1])]["pos"]), 6))
            assert depths.index(round(depth(e["pos"]), 6)) == out - 1


def test_draw_graph_shows_stepper_grads(plt):
    f, inputs = lecture_example()
    steps = backward_steps(f)
    ax = draw_graph(f, grads=steps[0].grads, highlight=steps[0].node)
    shown = {t.get_text() for t in _value_texts(ax)}
    assert "q\ndata 3\ngrad -4" in shown  # reached at step 0
    assert "x\ndata -2\ngrad 0" in shown  # not yet reached
    assert all(v.grad == 0.0 for v in inputs.values())


# ---------------------------------------------------------------------------
# errors a student can trigger
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("x0", [0.0, -1.0])
def test_log_of_non_positive_raises(x0):
    with pytest.raises(ValueError, match=r"log is only defined for positive inputs, got log\(" + str(int(x0))):
        Value(x0, "x").log()


def test_zero_to_negative_power_raises():
    with pytest.raises(ZeroDivisionError, match=r"0 \*\* -1 is undefined"):
        Value(0.0, "x") ** -1


def test_division_by_zero_names_the_values():
    with pytest.raises(ZeroDivisionError, match=r"a=3 / b=0"):
        Value(3.0, "a") / Value(0.0, "b")
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        2 / Value(0.0)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="negative base"):
        Value(-8.0) ** 0.5
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="real number"):
        Value("3")
    with pytest.raises(TypeError):
        Value(1.0) + "a"
