"""Widgets of the lecture "Transfer learning and looking inside" (cnnlib.widgets.inside).

Oracles: numbers worked by hand on linear models (an FGSM step is
x + eps * sign(w); softmax cross-entropy at equal scores has gradient
(p - onehot) W; gradient ascent with an L2 penalty on a linear unit w . x ends
at w / decay), and central differences for a small convolutional network.
"""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from cnnlib import nn  # noqa: E402
from cnnlib.gradcheck import numerical_gradient, rel_error  # noqa: E402
from cnnlib.losses import softmax_cross_entropy  # noqa: E402
from cnnlib.widgets import inside  # noqa: E402


def linear_model(weight, bias=None):
    """Flatten + Linear with the given weight matrix (K, D)."""
    weight = np.asarray(weight, dtype=np.float64)
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data[...] = weight
    layer.bias.data[...] = 0.0 if bias is None else bias
    return nn.Sequential(("flatten", nn.Flatten()), ("linear", layer))


def test_fgsm_step_on_a_linear_score_by_hand():
    w = np.array([1.0, -2.0, 3.0])
    x = np.array([0.5, 0.5, 0.5])
    # the gradient of the score w . x with respect to x is w, so the step is eps * sign(w)
    np.testing.assert_allclose(inside.fgsm_perturbation(w, 0.1), [0.1, -0.1, 0.1])
    adv = inside.fgsm(x, w, 0.1)
    np.testing.assert_allclose(adv, [0.6, 0.4, 0.6])
    # the score rises by eps * sum|w| = 0.1 * 6
    assert w @ adv - w @ x == pytest.approx(0.6)
    # clipping keeps an image an image; clip=None does not
    np.testing.assert_allclose(inside.fgsm([0.95, 0.02], [1.0, -1.0], 0.1), [1.0, 0.0])
    np.testing.assert_allclose(inside.fgsm([0.95, 0.02], [1.0, -1.0], 0.1, clip=None), [1.05, -0.08])
    # a zero gradient moves nothing
    np.testing.assert_allclose(inside.fgsm([0.5], [0.0], 0.3), [0.5])


def test_fgsm_rejects_bad_input():
    with pytest.raises(ValueError, match="eps must be >= 0"):
        inside.fgsm_perturbation([1.0], -0.1)
    with pytest.raises(ValueError, match="must match"):
        inside.fgsm(np.zeros(3), np.zeros(2), 0.1)


def test_input_gradient_of_a_linear_model_by_hand():
    # W = identity, x = 0: both scores 0, p = (1/2, 1/2); for y = 0, dL/ds = p - (1, 0) = (-1/2, 1/2)
    # and dL/dx = dL/ds W = (-1/2, 1/2): FGSM moves x towards class 1
    model = linear_model(np.eye(2))
    loss, dx, scores = inside.input_gradient(model, np.zeros((1, 1, 1, 2)), [0])
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(dx.reshape(-1), [-0.5, 0.5])
    np.testing.assert_allclose(scores, [[0.0, 0.0]])
    adv = inside.fgsm(np.full((1, 1, 1, 2), 0.5), dx, 0.25)
    np.testing.assert_allclose(adv.reshape(-1), [0.25, 0.75])
    # the parameter gradients added on the way are reset
    assert all(np.all(p.grad == 0) for p in model.parameters())


def test_input_gradient_matches_central_differences_for_a_small_cnn():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, seed=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2 * 3 * 3, 3, seed=2))
    x = rng.random((2, 1, 8, 8))
    y = np.array([0, 2])
    _, dx, _ = inside.input_gradient(model, x, y)

    def loss(v):
        return softmax_cross_entropy(model.forward(v), y)[0]

    assert rel_error(dx, numerical_gradient(loss, x.copy())) < 1e-6


def test_unit_gradient_by_hand_centre_and_mean():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    conv.weight.data[...] = 2.0                        # out = 2 x
    model = nn.Sequential(("conv", conv))
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    values, dx = inside.unit_objective_gradient(model, "conv", x, [0], position="mean")
    assert values[0] == pytest.approx(2 * 1.5)         # mean of 2 * (0, 1, 2, 3)
    np.testing.assert_allclose(dx[0, 0], np.full((2, 2), 0.5))
    values, dx = inside.unit_objective_gradient(model, 0, x, [0], position=(0, 1))
    assert values[0] == pytest.approx(2.0)
    np.testing.assert_allclose(dx[0, 0], [[0, 2], [0, 0]])
    with pytest.raises(ValueError, match="units must be in 0..0"):
        inside.unit_objective_gradient(model, 0, x, [1])
    with pytest.raises(ValueError, match="one unit per example"):
        inside.unit_objective_gradient(model, 0, x, [0, 0])


def test_activation_maximisation_of_a_linear_unit_ends_at_w_over_decay():
    # maximise w . x - decay/2 |x|^2: the optimum is x = w / decay
    model = linear_model([[1.0, -2.0, 3.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    images, history = inside.maximize_activation(model, "linear", [0, 1], (1, 2, 2), steps=60, lr=0.5, decay=1.0)
    np.testing.assert_allclose(images[0].reshape(-1), [1, -2, 3, 0], atol=1e-6)
    np.testing.assert_allclose(images[1].reshape(-1), [0, 1, 0, 0], atol=1e-6)
    assert history.shape == (61, 2)
    assert history[-1, 0] == pytest.approx(14.0, abs=1e-5)      # w . w = 1 + 4 + 9
    assert np.all(np.diff(history[:, 0]) > -1e-12)               # ascent never goes down here


def test_first_layer_unit_wants_its_own_kernel():
    kernel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    conv = nn.Conv2d(1, 1, 3, bias=False)
    conv.weight.data[0, 0] = kernel
    model = nn.Sequential(("conv", conv), ("relu", nn.ReLU()))
    images, _ = inside.maximize_activation(model, "conv", [0], (1, 3, 3), steps=80, lr=0.5, decay=2.0)
    np.testing.assert_allclose(images[0, 0], kernel / 2.0, atol=1e-6)
    # kept in [0, 1] from a grey start: white where w > 0, black where w < 0, unchanged where w = 0
    clipped, _ = inside.maximize_activation(model, "conv", [0], (1, 3, 3), steps=20, lr=0.5, decay=0.0,
                                            clip=(0.0, 1.0), start=np.full((1, 1, 3, 3), 0.5))
    np.testing.assert_allclose(clipped[0, 0], [[0, 0.5, 1]] * 3)


def test_fgsm_accuracy_and_example():
    # two classes told apart by which pixel is brighter; every image is correct at eps = 0
    model = linear_model([[1.0, -1.0], [-1.0, 1.0]])
    X = np.array([[0.6, 0.4], [0.45, 0.55], [0.9, 0.1]]).reshape(3, 1, 1, 2)
    y = np.array([0, 1, 0])
    result = inside.fgsm_accuracy(model, X, y, [0.0, 0.06, 0.5], random_signs_seed=0)
    assert result["eps"] == [0.0, 0.06, 0.5]
    # both pixels move by eps towards the other class, so the gap |x0 - x1| shrinks by 2 eps:
    # eps = 0.06 flips only the image with gap 0.1 (not 0.2 or 0.8); eps = 0.5 flips all three
    assert result["fgsm"] == pytest.approx([1.0, 2 / 3, 0.0])
    assert len(result["random"]) == 3 and result["random"][0] == 1.0
    view = inside.fgsm_example(model, X[0], 0, 0.2)
    assert view["pred"] == 0 and view["adv_pred"] == 1
    np.testing.assert_allclose(view["adversarial"].reshape(-1), [0.4, 0.6])
    np.testing.assert_allclose(view["perturbation"].reshape(-1), [-0.2, 0.2])
    assert view["adv_loss"] > view["loss"]
    np.testing.assert_allclose(view["probs"].sum(), 1.0)


def test_softmax_by_hand():
    np.testing.assert_allclose(inside.softmax([[0.0, 0.0], [np.log(3.0), 0.0]]), [[0.5, 0.5], [0.75, 0.25]])


def test_fgsm_explorer_slider_changes_the_output():
    pytest.importorskip("ipywidgets")
    model = linear_model([[1.0, -1.0], [-1.0, 1.0]])
    X = np.array([[0.6, 0.4], [0.45, 0.55]]).reshape(2, 1, 1, 2)
    widget = inside.fgsm_explorer(model, X, [0, 1], class_names=["left", "right"], eps=0.0)
    assert "cnnlib-widget" in widget._dom_classes
    before = widget.outputs["text"].value
    assert "prediction left -> left" in before and "not fooled" in before
    figure_before = widget.outputs["figure"].value
    widget.controls["eps"].value = 0.2
    after = widget.outputs["text"].value
    assert "prediction left -> right" in after and "fooled" in after
    assert widget.outputs["figure"].value != figure_before
    widget.controls["image"].value = 1
    assert "true class right" in widget.outputs["text"].value


def test_blur_regulariser_smooths_the_image():
    # a unit that wants a checkerboard: plain ascent draws it, blurring every step flattens it
    checker = np.indices((6, 6)).sum(axis=0) % 2 * 2.0 - 1.0
    model = linear_model(checker.reshape(1, -1))
    plain, _ = inside.maximize_activation(model, "linear", [0], (1, 6, 6), steps=40, lr=0.5, decay=1.0)
    blurred, _ = inside.maximize_activation(model, "linear", [0], (1, 6, 6), steps=40, lr=0.5, decay=1.0,
                                            blur_sigma=1.0, blur_every=1)
    assert plain.shape == blurred.shape == (1, 1, 6, 6)

    def roughness(a):
        return np.abs(np.diff(a, axis=-1)).sum() + np.abs(np.diff(a, axis=-2)).sum()

    assert roughness(blurred) < 0.5 * roughness(plain)
