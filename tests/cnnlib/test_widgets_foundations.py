"""Widgets of the lectures "Why convolutional networks" and "Neural-network foundations".

Oracles: numbers worked by hand (the perceptron on AND step by step, sigmoid'(0)
= 1/4, a two-layer linear collapse on 2x2 matrices, |x| from two ReLU units,
the tent map, 7,850 = 784·10 + 10, a gradient-descent step from zero weights),
central differences, cnnlib.gradcheck and cnnlib.nn's parameter count.
"""
import math

import matplotlib
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
matplotlib.use("Agg")

from cnnlib import nn  # noqa: E402
from cnnlib.gradcheck import numerical_gradient, rel_error  # noqa: E402
from cnnlib.widgets import foundations as fd  # noqa: E402
from cnnlib.widgets import history as hi  # noqa: E402

# == "Why convolutional networks" ================================================

def test_bar_image_by_hand():
    horizontal = hi.bar_image(7, angle=0, offset=1, width=1)     # centre row 3, moved up one row
    expected = np.zeros((7, 7))
    expected[2] = 1
    np.testing.assert_array_equal(horizontal, expected)
    vertical = hi.bar_image(7, angle=90, offset=0, width=1)
    np.testing.assert_allclose(vertical, np.tile(np.arange(7) == 3, (7, 1)), atol=1e-12)
    with pytest.raises(ValueError, match="width > 0"):
        hi.bar_image(7, width=0)


def test_simple_cell_kernel_has_zero_mean_and_ignores_uniform_images():
    for angle in (0, 30, 90):
        kernel = hi.simple_cell_kernel(angle, 7)
        assert kernel.shape == (7, 7)
        assert abs(kernel.sum()) < 1e-12 and np.abs(kernel).sum() == pytest.approx(1.0)
        np.testing.assert_allclose(hi.simple_cell_map(np.ones((15, 15)), angle), 0, atol=1e-12)
    assert hi.simple_cell_map(np.zeros((21, 21))).shape == (15, 15)


def test_simple_cell_is_tuned_to_orientation_and_position_complex_cell_only_to_orientation():
    curves = hi.tuning_curves(preferred=0.0)
    best = curves["simple_by_angle"].max()
    assert curves["simple_by_angle"][curves["angles"] == 0] == best > 0
    assert curves["simple_by_offset"][curves["offsets"] == 0] == best
    # a horizontal bar moved by whole pixels is an exact translation: outside the simple cell's
    # 7-pixel field it gets nothing, while the complex cell (max over the map) keeps the full response
    far = np.abs(curves["offsets"]) >= 3
    np.testing.assert_array_equal(curves["simple_by_offset"][far], 0)
    np.testing.assert_allclose(curves["complex_by_offset"], best, rtol=1e-12)
    turned = np.abs(curves["angles"]) == 90
    assert np.all(curves["complex_by_angle"][turned] < 0.25 * best)


def test_shift_image_by_hand():
    image = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(hi.shift_image(image, 1), [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    np.testing.assert_array_equal(hi.shift_image(image, (-1, -1)), [[5, 6, 0], [8, 9, 0], [0, 0, 0]])
    np.testing.assert_array_equal(hi.shift_image(image, (0, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        hi.shift_image(np.ones(3), 1)


def test_max_pooling_forgives_a_shift_inside_its_window():
    image = np.zeros((4, 4))
    image[0, 0] = 1.0                                      # one bright pixel, kernel [[1]]: the map is the image
    one = [[1.0]]
    np.testing.assert_array_equal(hi.feature_representation(image, one, 2), [[1, 0], [0, 0]])
    np.testing.assert_array_equal(hi.feature_representation(hi.shift_image(image, 1), one, 2), [[1, 0], [0, 0]])
    np.testing.assert_array_equal(hi.feature_representation(hi.shift_image(image, 2), one, 2), [[0, 1], [0, 0]])
    sims = hi.shift_similarity(image, one, shifts=[0, 1, 2], pools=(2, 4))
    np.testing.assert_allclose(sims["pixels"], [1, 0, 0])
    np.testing.assert_allclose(sims["conv + ReLU"], [1, 0, 0])
    np.testing.assert_allclose(sims["max pool 2"], [1, 1, 0])
    np.testing.assert_allclose(sims["max pool 4"], [1, 1, 1])
    with pytest.raises(ValueError, match="odd side"):
        hi.feature_representation(image, np.ones((2, 2)))


def test_timeline_and_imagenet_numbers():
    years = [e[0] for e in hi.TIMELINE]
    assert years == sorted(years)
    titles = {e[0]: e[1] for e in hi.TIMELINE}
    assert "Neocognitron" in titles[1980] and titles[1998] == "LeNet-5" and titles[2012] == "AlexNet"
    alexnet = [e for e in hi.TIMELINE if e[0] == 2012][0]
    assert "15.3%" in alexnet[2] and "26.2%" in alexnet[2]
    assert [e[0] for e in hi.timeline_events(1998, 2009)] == [1998, 2005, 2007, 2009]
    assert [e[1] for e in hi.timeline_events(kinds=["hardware"])] == ["CUDA"]
    with pytest.raises(ValueError, match="unknown kinds"):
        hi.timeline_events(kinds=["music"])
    assert hi.IMAGENET_TOP5["2012 AlexNet (CNN)"] == 15.3
    points, relative = hi.top5_error_reduction()
    assert points == 10.9 and relative == pytest.approx(10.9 / 26.2) and round(relative, 3) == 0.416


def test_drawings_run():
    import matplotlib.pyplot as plt

    ax = hi.draw_timeline()
    assert sum(len(t.get_text()) > 0 for t in ax.texts) == len(hi.TIMELINE) + 1   # + the shaded era's label
    hi.draw_imagenet_results()
    ax = hi.draw_ventral_stream()
    assert {t.get_text() for t in ax.texts} >= {"V1", "V2", "V4", "AIT"}
    plt.close("all")


def test_digit_scene_answers_by_hand():
    a, b = np.zeros((28, 28)), np.zeros((28, 28))
    a[5:10, 10:14] = 1.0                                    # ink rows 5-9, columns 10-13
    b[0:2, 0:28] = 0.5
    scene = hi.digit_scene([a, b], [7, 3], [(0, 0), (20, 40)], canvas=(56, 84))
    assert scene["classes"] == [3, 7]
    assert scene["boxes"] == [(7, 5, 10, 10, 14), (3, 20, 40, 22, 68)]
    assert (scene["mask"] == 7).sum() == 20 and (scene["mask"] == 3).sum() == 2 * 28
    assert (scene["mask"] == -1).sum() == 56 * 84 - 20 - 56
    assert scene["image"].max() == 1.0
    with pytest.raises(ValueError, match="does not fit"):
        hi.digit_scene([a], [1], [(40, 0)], canvas=(56, 84))
    fig = hi.draw_vision_tasks(scene)
    assert "3, 7" in fig.axes[1].get_title()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_hubel_wiesel_explorer():
    w = hi.hubel_wiesel_explorer()
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["figure"]._dom_classes
    text, figure = w.outputs["text"], w.outputs["figure"]
    assert "simple cell <b>1.00</b>" in text.value and "complex cell <b>1.00</b>" in text.value
    before = figure.value
    w.controls["offset"].value = 4
    assert figure.value != before
    assert "simple cell <b>0.00</b>" in text.value and "complex cell <b>1.00</b>" in text.value
    w.controls["offset"].value = 0
    w.controls["angle"].value = 90
    assert "simple cell <b>0.00</b>" in text.value


def test_pooling_shift_explorer():
    image = np.zeros((28, 28))
    image[8:20, 8:11] = 1.0                                 # its left edge answers in map columns 7-8
    sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    w = hi.pooling_shift_explorer(image, sobel)
    text, figure = w.outputs["text"], w.outputs["figure"]
    assert "pixels <b>1.00</b>" in text.value
    before = figure.value
    w.controls["shift"].value = 4
    assert figure.value != before and "pixels <b>0.00</b>" in text.value   # a 3-wide bar moved by 4: no overlap
    w.controls["pool"].value = 14                           # columns 7-8 and 11-12 share a 14x14 window
    assert "this representation <b>1.00</b>" in text.value


# == "Neural-network foundations" ================================================

def test_perceptron_on_and_step_by_step():
    X, y = fd.AND_DATASET
    run = fd.perceptron_train(X, y, lr=1.0)
    # by hand from w = 0, b = 0: epoch 1 only (1, 1) is wrong -> w = (1, 1), b = 1; ... ; epoch 6 clean
    assert run["mistakes"] == [1, 3, 3, 2, 1, 0] and run["converged"]
    first = run["steps"][3]
    assert first["mistake"] and first["z"] == 0 and list(first["w"]) == [1, 1] and first["b"] == 1
    np.testing.assert_array_equal(run["w"], [2, 1])
    assert run["b"] == -2
    # the line 2 x0 + x1 - 2 = 0 separates: z = -2, -1, 0, 1 for the four points
    np.testing.assert_array_equal(X @ run["w"] + run["b"], [-2, -1, 0, 1])
    np.testing.assert_array_equal(fd.perceptron_predict(X, run["w"], run["b"]), y)


def test_perceptron_never_settles_on_xor_and_checks_input():
    X, _ = fd.AND_DATASET
    run = fd.perceptron_train(X, [0, 1, 1, 0], epochs=30)
    assert not run["converged"] and len(run["mistakes"]) == 30 and min(run["mistakes"]) >= 1
    with pytest.raises(ValueError, match="0 or 1"):
        fd.perceptron_train(X, [0, 2, 1, 0])
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        fd.perceptron_train(X, [0, 1])


def test_activation_values_by_hand():
    z = np.array([-2.0, -1.0, 0.0, 2.0])
    f, df = fd.activation("sigmoid", z)
    assert f[2] == 0.5 and df[2] == 0.25                   # sigma'(0) = sigma(0)(1 - sigma(0)) = 1/4
    f, df = fd.activation("tanh", z)
    assert f[2] == 0 and df[2] == 1
    f, df = fd.activation("ReLU", z)
    np.testing.assert_array_equal(f, [0, 0, 0, 2])
    np.testing.assert_array_equal(df, [0, 0, 0, 1])
    f, df = fd.activation("leaky ReLU (0.1)", z)
    np.testing.assert_allclose(f, [-0.2, -0.1, 0, 2])
    np.testing.assert_allclose(df, [0.1, 0.1, 0.1, 1])
    f, df = fd.activation("ELU", z)
    assert f[1] == pytest.approx(math.exp(-1) - 1) and df[1] == pytest.approx(math.exp(-1))
    f, df = fd.activation("step (perceptron)", z)
    np.testing.assert_array_equal(f, [0, 0, 0, 1])
    np.testing.assert_array_equal(df, 0)
    with pytest.raises(ValueError, match="unknown activation"):
        fd.activation("swish", z)


@pytest.mark.parametrize("name", list(fd.ACTIVATIONS))
def test_activation_derivatives_match_central_differences(name):
    z = np.array([-3.1, -1.3, -0.4, 0.6, 1.7, 3.2])        # away from kinks
    h = 1e-6
    _, df = fd.activation(name, z)
    numeric = (fd.activation(name, z + h)[0] - fd.activation(name, z - h)[0]) / (2 * h)
    np.testing.assert_allclose(df, numeric, atol=1e-7)


def test_two_linear_layers_collapse_by_hand():
    W1, b1 = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([1.0, 0.0])
    W2, b2 = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([0.0, 1.0])
    W, b = fd.collapse_linear(W1, b1, W2, b2)
    np.testing.assert_array_equal(W, [[1, 2], [1, 3]])     # W2 W1
    np.testing.assert_array_equal(b, [1, 2])               # W2 b1 + b2 = (1, 1) + (0, 1)
    x = np.array([1.0, 1.0])                               # layer 1: (4, 1); layer 2: (4, 6)
    np.testing.assert_array_equal(W2 @ (W1 @ x + b1) + b2, [4, 6])
    np.testing.assert_array_equal(W @ x + b, [4, 6])
    with pytest.raises(ValueError, match="columns"):
        fd.collapse_linear(W1, b1, np.ones((2, 3)), b2)


def test_two_relu_units_make_abs_exactly_and_errors_shrink_with_width():
    x = np.linspace(-1, 1, 401)
    features = fd.hidden_features(x, 2, "ReLU")            # knots at -1 and 0: |x| = 1 - h_0 + 2 h_1
    np.testing.assert_allclose(features[:, 0], x + 1)
    np.testing.assert_allclose(features[:, 1], np.maximum(x, 0))
    fit = fd.fit_hidden_units(x, np.abs(x), 2)
    np.testing.assert_allclose(fit["v"], [-1, 2, 1], atol=1e-12)
    assert fit["max_error"] < 1e-12
    for kind in ("ReLU", "sigmoid"):
        errors = [fd.fit_hidden_units(x, np.sin(3 * x), n, kind)["max_error"] for n in (4, 8, 16, 32)]
        assert errors == sorted(errors, reverse=True) and errors[-1] < 0.02
    assert fd.approximation_parameters(4) == 13 and fd.approximation_parameters(100, 784, 10) == 79_510
    with pytest.raises(ValueError, match="'ReLU' or 'sigmoid'"):
        fd.hidden_features(x, 3, "tanh")


def test_sawtooth_depth_doubles_the_pieces():
    np.testing.assert_allclose(fd.tent([0, 0.25, 0.5, 0.75, 1]), [0, 0.5, 1, 0.5, 0])
    assert fd.sawtooth([0.25], 2)[0] == 1.0                 # tent(tent(1/4)) = tent(1/2) = 1
    x = np.linspace(0, 1, 2 ** 8 + 1)                       # every kink k / 2^depth is a sample
    assert [fd.count_linear_pieces(x, fd.sawtooth(x, d)) for d in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert fd.count_linear_pieces(x, 3 * x + 1) == 1


def test_score_losses_by_hand():
    s = np.array([-1.0, 0.0, 1.0, 2.0])
    losses = fd.score_losses(s)
    np.testing.assert_array_equal(losses["0-1"][0], [1, 1, 0, 0])
    np.testing.assert_array_equal(losses["hinge"][0], [2, 1, 0, 0])
    assert losses["cross-entropy"][0][1] == pytest.approx(math.log(2)) and losses["cross-entropy"][1][1] == -0.5
    np.testing.assert_array_equal(losses["squared (s - 1)^2"][0], [4, 1, 0, 1])
    assert losses["squared (σ(s) - 1)^2"][0][1] == 0.25
    z = np.array([-2.3, -0.7, 0.4, 1.6])                    # away from the hinge's kink
    h = 1e-6
    for name, (_, d) in fd.score_losses(z).items():
        numeric = (fd.score_losses(z + h)[name][0] - fd.score_losses(z - h)[name][0]) / (2 * h)
        np.testing.assert_allclose(d, numeric, atol=1e-6, err_msg=name)


def test_minibatch_curves_start_at_log_k_and_full_batch_is_gradient_descent(rng):
    X = rng.standard_normal((20, 784))
    y = np.arange(20) % 10
    curves = fd.minibatch_loss_curves(X, y, [1, 5, 20], lr=0.1, epochs=1)
    for batch, curve in curves.items():
        assert curve["loss"][0] == pytest.approx(math.log(10))
        assert curve["steps"][-1] == 20 // batch and curve["examples"][-1] == 20
        assert curve["W"].size + curve["b"].size == 7_850 == nn.count_parameters(nn.Linear(784, 10))
    # one step from W = 0: every class has probability 1/10, so dL/ds = (1/10 - onehot) / N
    dscores = (np.full((20, 10), 0.1) - np.eye(10)[y]) / 20
    np.testing.assert_allclose(curves[20]["W"], -0.1 * dscores.T @ X)
    np.testing.assert_allclose(curves[20]["b"], -0.1 * dscores.sum(axis=0), atol=1e-15)
    assert curves[1]["loss"][-1] < curves[20]["loss"][-1]   # 20 small steps beat one big one here
    with pytest.raises(ValueError, match="batch sizes must be in 1..20"):
        fd.minibatch_loss_curves(X, y, [21])


def test_two_layer_gradients_by_hand_and_numerically(rng):
    g = fd.two_layer_gradients([[1.0, 2.0]], [[1.0, 0.0], [0.0, -1.0]], [[1.0], [1.0]])
    # z1 = (1, -2), h1 = (1, 0), y = 1, L = 1; dL/dy = 2
    assert g["L"] == 1.0
    np.testing.assert_array_equal(g["dW2"], [[2], [0]])
    np.testing.assert_array_equal(g["dh1"], [[2, 2]])
    np.testing.assert_array_equal(g["dz1"], [[2, 0]])
    np.testing.assert_array_equal(g["dW1"], [[2, 0], [4, 0]])
    X, W1, W2 = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    g = fd.two_layer_gradients(X, W1, W2)
    for name, variable in (("dW1", W1), ("dW2", W2), ("dX", X)):
        assert g[name].shape == variable.shape
    loss = lambda _: fd.two_layer_gradients(X, W1, W2)["L"]  # noqa: E731 (reads the arrays numerical_gradient perturbs)
    assert rel_error(g["dW1"], numerical_gradient(loss, W1)) < 1e-7
    assert rel_error(g["dW2"], numerical_gradient(loss, W2)) < 1e-7
    assert rel_error(g["dX"], numerical_gradient(loss, X)) < 1e-7
    with pytest.raises(ValueError, match="W1 \\(d, n_h\\)"):
        fd.two_layer_gradients(X, W2, W1)


def test_perceptron_stepper():
    w = fd.perceptron_stepper()
    text, figure, step = w.outputs["text"], w.outputs["figure"], w.controls["step"]
    assert step.max == 24 and "start" in text.value        # 6 epochs x 4 points
    before = figure.value
    step.value = 4
    assert figure.value != before and "<b>mistake</b>" in text.value and "z = w·x + b = 0" in text.value
    step.value = 1
    assert "correct: no change" in text.value
    step.value = 24
    assert "converged after 6 epochs" in text.value and "mistakes per epoch: [1, 3, 3, 2, 1, 0]" in text.value


def test_activation_explorer():
    w = fd.activation_explorer()
    text, figure = w.outputs["text"], w.outputs["figure"]
    assert "f'(0) = <b>0.25</b>" in text.value and "f(0) = <b>0.5</b>" in text.value
    before = figure.value
    w.controls["activation"].value = "ReLU"
    w.controls["z"].value = 2.0
    assert figure.value != before and "f'(2) = <b>1</b>" in text.value


def test_universal_approximation_explorer_redraws_for_every_width():
    # how fast it answers is a benchmark's question, not a test's (a busy machine fails it)
    w = fd.universal_approximation_explorer()
    text, figure, hidden = w.outputs["text"], w.outputs["figure"], w.controls["hidden"]
    assert "<b>13</b>" in text.value                        # 4 units: 4·2 + 5
    for n in (1, 20, 40):
        before = figure.value
        hidden.value = n
        assert figure.value != before
    assert f"<b>{3 * 40 + 1}</b>" in text.value
    w.controls["kind"].value = "sigmoid"
    w.controls["target"].value = "step"
    assert "rms error" in text.value
