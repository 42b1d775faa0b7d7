"""Lecture 3 widgets: numbers behind the stepper and the gate explorer.

Oracles: the lecture's hand-worked results (5x^4, the (x+y)z gradients -4, -4, 3,
the sigmoid neuron's gradients), central differences, and Value.backward().
"""
import math

import pytest

pytest.importorskip("ipywidgets")

from cnnlib.autodiff import lecture_example, sigmoid_neuron_example  # noqa: E402
from cnnlib.widgets import backprop  # noqa: E402


@pytest.mark.parametrize("x", [-1.5, 0.5, 2.0, 3.0])
def test_chain_rule_gives_5x4(x):
    terms = backprop.chain_rule_terms(x)
    assert terms["via_y"] == pytest.approx(x**2 * 3 * x**2)  # dF/dy · dy/dx = z · 3x²
    assert terms["via_z"] == pytest.approx(x**3 * 2 * x)  # dF/dz · dz/dx = y · 2x
    assert terms["total"] == pytest.approx(5 * x**4)
    f, inputs = backprop.chain_rule_example(x)
    f.backward()
    assert inputs["x"].grad == pytest.approx(5 * x**4)
    assert f.data == pytest.approx(x**5)


def test_stepper_frames_walk_the_lecture_example():
    f, inputs = lecture_example()
    frames = backprop.stepper_frames(f)
    # forward only, then one frame per node: f, z, q, x, y (inputs in some order)
    assert len(frames) == 6
    assert frames[0]["highlight"] is None and frames[0]["grads"] == {}
    final = frames[-1]["grads"]
    assert final[inputs["x"]] == -4 and final[inputs["y"]] == -4 and final[inputs["z"]] == 3
    # frame 1 processes f: upstream 1, z receives 1 × q = 3 and q receives 1 × z = -4
    assert frames[1]["highlight"] is f
    assert "1 × 3 = 3" in frames[1]["text"] and "1 × -4 = -4" in frames[1]["text"]
    # the frame that processes q (upstream -4) hands -4 × 1 to x and y: add distributes
    q = f.children[0]
    (q_frame,) = [fr for fr in frames if fr["highlight"] is q]
    assert q_frame["grads"][inputs["x"]] == -4 and q_frame["grads"][inputs["y"]] == -4
    assert "add distributes" in q_frame["text"] and "-4 × 1 = -4" in q_frame["text"]


def test_stepper_frames_sigmoid_neuron_match_finite_differences():
    f, inputs = sigmoid_neuron_example()
    final = backprop.stepper_frames(f)[-1]["grads"]
    values = {k: v.data for k, v in inputs.items()}

    def neuron(**kw):
        return 1.0 / (1.0 + math.exp(-(kw["w0"] * kw["x0"] + kw["w1"] * kw["x1"] + kw["w2"])))

    h = 1e-6
    for name, value in values.items():
        up, down = dict(values), dict(values)
        up[name], down[name] = value + h, value - h
        numeric = (neuron(**up) - neuron(**down)) / (2 * h)
        assert final[inputs[name]] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    # lecture values: w0 gets -0.2, x0 gets 0.39, w2 gets 0.2
    assert final[inputs["w0"]] == pytest.approx(-0.1966, abs=1e-4)
    assert final[inputs["x0"]] == pytest.approx(0.3932, abs=1e-4)
    assert final[inputs["w2"]] == pytest.approx(0.1966, abs=1e-4)


@pytest.mark.parametrize("a,b,u", [(3.0, -4.0, 2.0), (-1.5, 2.5, -0.5), (2.0, 2.0, 1.0)])
def test_gate_patterns(a, b, u):
    out, down = backprop.gate_gradients("add", a, b, u)
    assert out == a + b and down == (u, u)  # add distributes
    out, down = backprop.gate_gradients("multiply", a, b, u)
    assert out == a * b and down == (u * b, u * a)  # multiply swaps
    out, down = backprop.gate_gradients("max", a, b, u)
    assert out == max(a, b)
    assert down == ((u, 0.0) if a >= b else (0.0, u))  # max routes
    out, down = backprop.gate_gradients("copy", a, upstream=u, upstream2=0.75)
    assert out == (a, a) and down == (pytest.approx(u + 0.75),)  # copy adds


def test_gate_gradients_rejects_unknown_gate():
    with pytest.raises(ValueError, match="gate must be one of"):
        backprop.gate_gradients("divide", 1.0, 2.0)


def test_stepper_widget_moves_through_the_pass():
    w = backprop.backprop_stepper()
    assert "cnnlib-widget" in w._dom_classes
    step, graph, text = w.controls["step"], w.outputs["graph"], w.outputs["text"]
    assert "cnnlib-output" in graph._dom_classes
    assert step.max == 5 and "Forward pass" in text.value
    before = graph.value
    step.value = 1
    assert graph.value != before and graph.value.startswith("<img")
    assert "step 1 of 5: f=-12, upstream gradient 1" in text.value
    seen = []
    for k in range(2, step.max + 1):
        step.value = k
        seen.append(text.value)
    assert any("q=3, upstream gradient -4" in t for t in seen)
    w.controls["example"].value = "sigmoid neuron"
    assert step.value == 0 and step.max == len(backprop.stepper_frames(sigmoid_neuron_example()[0])) - 1
    w.controls["example"].value = "f = y z, y = x³, z = x² at x = 2"
    step.value = step.max
    # the last frames hand x its two contributions, 48 via y and 32 via z: 80 = 5·2⁴
    texts = []
    for k in range(1, step.max + 1):
        step.value = k
        texts.append(text.value)
    assert any("grad now 80" in t for t in texts)


def test_stepper_rejects_unknown_example():
    with pytest.raises(ValueError, match="example must be one of"):
        backprop.backprop_stepper("nope")


def test_gate_explorer_updates_text():
    w = backprop.gate_explorer()
    text = w.outputs["text"]
    assert "dL/da = -8,   dL/db = 6" in text.value  # multiply: 2 × -4, 2 × 3
    w.controls["upstream"].value = -1.5
    assert "dL/da = 6,   dL/db = -4.5" in text.value  # -1.5 × -4, -1.5 × 3
    w.controls["a"].value = 1.0
    assert "dL/db = -1.5" in text.value
    w.controls["upstream"].value = 2.0
    w.controls["a"].value = 3.0
    w.controls["gate"].value = "max"
    assert "dL/da = 2,   dL/db = 0" in text.value
    w.controls["b"].value = 4.0
    assert "dL/da = 0,   dL/db = 2" in text.value
    w.controls["gate"].value = "copy"
    w.controls["upstream2"].value = -3.0
    assert "dL/dx = 2 + -3 = -1" in text.value


def test_widgets_package_loads_submodules_on_demand():
    import cnnlib.widgets as widgets
    from cnnlib.widgets import _controls

    assert widgets.backprop is backprop
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = widgets.nope
    with pytest.raises(ValueError, match="2-D array"):
        _controls.array_html([1, 2, 3])
    table = _controls.array_html([[1.0, -2.5]], highlight=[[False, True]], caption="k")
    assert "<caption>k</caption>" in table and table.count("#ffd6d6") == 1 and "-2.5" in table
