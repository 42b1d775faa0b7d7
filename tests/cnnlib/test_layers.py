"""Activations, losses and the linear layer against central differences and closed forms."""
import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

ACTIVATIONS = [
    ("sigmoid", F.sigmoid_forward, F.sigmoid_backward, {}),
    ("tanh", F.tanh_forward, F.tanh_backward, {}),
    ("scaled_tanh", F.scaled_tanh_forward, F.scaled_tanh_backward, {}),
    ("relu", F.relu_forward, F.relu_backward, {}),
    ("leaky_relu", F.leaky_relu_forward, F.leaky_relu_backward, {"alpha": 0.1}),
    ("elu", F.elu_forward, F.elu_backward, {"alpha": 0.7}),
]


@pytest.mark.parametrize("name,fwd,bwd,kw", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_backward_matches_central_differences(name, fwd, bwd, kw, rng):
    x = rng.standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kinks of relu-like functions
    dout = rng.standard_normal(x.shape)
    out, cache = fwd(x, **kw)
    dx = bwd(dout, cache)
    dx_num = numerical_gradient_array(lambda v: fwd(v, **kw)[0], x, dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < 1e-7


def test_activation_values_closed_form():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(F.sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(F.relu_forward(x)[0], [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(F.leaky_relu_forward(x, alpha=0.1)[0], [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(F.elu_forward(x)[0], [np.exp(-2) - 1, np.exp(-0.5) - 1, 0, 0.5, 2])
    np.testing.assert_allclose(F.scaled_tanh_forward(x)[0], 1.7159 * np.tanh(2 * x / 3))


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = F.sigmoid_forward(x)
    np.testing.assert_allclose(out, [0.0, 1.0])


@pytest.mark.parametrize("fwd", [F.relu_forward, F.tanh_forward, F.sigmoid_forward, F.elu_forward])
def test_activation_keeps_float32(fwd):
    out, _ = fwd(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32


def test_softmax_cross_entropy_value_and_gradient(rng):
    scores = rng.standard_normal((6, 5))
    y = rng.integers(0, 5, size=6)
    loss, dscores = F.softmax_cross_entropy(scores, y)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-12)
    num = numerical_gradient(lambda s: F.softmax_cross_entropy(s, y)[0], scores.copy())
    assert rel_error(dscores, num) < 1e-7


def test_softmax_cross_entropy_uniform_scores_give_log_k():
    loss, _ = F.softmax_cross_entropy(np.zeros((4, 10)), np.array([0, 3, 7, 9]))
    assert loss == pytest.approx(np.log(10))


def test_softmax_cross_entropy_is_numerically_stable():
    scores = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = F.softmax_cross_entropy(scores, np.array([0, 1]))
    assert np.isfinite(loss) and loss == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.isfinite(dscores))


def test_softmax_cross_entropy_bad_labels():
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"scores must be \(N, K\)"):
        F.softmax_cross_entropy(np.zeros(3), np.array([0]))


def test_mse_and_bce_gradients(rng):
    pred = rng.standard_normal((4, 3))
    target = rng.standard_normal((4, 3))
    loss, d = F.mse_loss(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    assert rel_error(d, numerical_gradient(lambda p: F.mse_loss(p, target)[0], pred.copy())) < 1e-7

    prob = rng.uniform(0.05, 0.95, size=(5, 2))
    t = (rng.uniform(size=(5, 2)) > 0.5).astype(float)
    loss, d = F.binary_cross_entropy(prob, t)
    assert loss == pytest.approx(-np.mean(t * np.log(prob) + (1 - t) * np.log(1 - prob)))
    assert rel_error(d, numerical_gradient(lambda p: F.binary_cross_entropy(p, t)[0], prob.copy())) < 1e-7
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="must match"):
        F.mse_loss(np.zeros(3), np.zeros(4))


def test_linear_forward_backward(rng):
    x = rng.standard_normal((4, 7))
    w = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    out, cache = F.linear_forward(x, w, b)
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = F.linear_backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda v: F.linear_forward(v, w, b)[0], x, dout)) < 1e-7
    assert rel_error(dw, numerical_gradient_array(lambda v: F.linear_forward(x, v, b)[0], w, dout)) < 1e-7
    assert rel_error(db, numerical_gradient_array(lambda v: F.linear_forward(x, w, v)[0], b, dout)) < 1e-7


def test_linear_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"x.shape=\(2, 5\).*w.shape=\(3, 4\)"):
        F.linear_forward(np.zeros((2, 5)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="Flatten"):
        F.linear_forward(np.zeros((2, 1, 2, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"b.shape=\(4,\)"):
        F.linear_forward(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(4))


def test_gradcheck_rel_error_basics():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="float ndarray"):
        numerical_gradient(lambda v: 0.0, np.array([1, 2]))
    # numerical gradient of a known function: d/dx sum(x^3) = 3x^2
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v ** 3), x), 3 * x ** 2, rtol=1e-8)
