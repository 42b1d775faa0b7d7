"""Lecture 7's worked example (3x3 input, 2x2 kernel, padding 1) against gradcheck and scipy.signal."""
import numpy as np
import pytest
from scipy import signal

pytest.importorskip("ipywidgets")

from cnnlib import conv  # noqa: E402
from cnnlib.gradcheck import numerical_gradient, rel_error  # noqa: E402
from cnnlib.widgets import conv_backprop as cb  # noqa: E402


def _evaluate_z(terms, x, w, out_shape):
    z = np.zeros(out_shape)
    for (i, j), row in terms.items():
        z[i, j] = sum(x[r] * w[uv] for r, uv in row if r is not None)
    return z


@pytest.mark.parametrize("in_shape, kernel_shape, pad", [((3, 3), (2, 2), 1), ((4, 5), (3, 2), 0), ((3, 4), (3, 3), 2)])
def test_symbolic_terms_give_the_convolution_and_its_gradients(rng, in_shape, kernel_shape, pad):
    x = rng.standard_normal(in_shape)
    w = rng.standard_normal(kernel_shape)
    terms = cb.conv_terms(in_shape, kernel_shape, pad)
    x_pad = np.pad(x, pad)
    z_ref = signal.correlate2d(x_pad, w, mode="valid")
    np.testing.assert_allclose(_evaluate_z(terms, x, w, z_ref.shape), z_ref, rtol=1e-12, atol=1e-12)

    g = rng.standard_normal(z_ref.shape)       # upstream gradient dL/dz, L = sum(g * z)
    dx_terms, dw_terms = cb.gradient_terms(in_shape, kernel_shape, pad)
    dx = np.zeros(in_shape)
    for pos, row in dx_terms.items():
        dx[pos] = sum(g[o] * w[uv] for o, uv in row)
    dw = np.zeros(kernel_shape)
    for uv, row in dw_terms.items():
        dw[uv] = sum(g[o] * x[r] for o, r in row)

    def loss():
        return np.sum(g * signal.correlate2d(np.pad(x, pad), w, mode="valid"))

    assert rel_error(dx, numerical_gradient(lambda _: loss(), x)) < 1e-7
    assert rel_error(dw, numerical_gradient(lambda _: loss(), w)) < 1e-7
    # the slide's two statements: dL/dw correlates x_pad with g; dL/dx is g fully convolved with w
    np.testing.assert_allclose(dw, signal.correlate2d(x_pad, g, mode="valid"), rtol=1e-10, atol=1e-12)
    full = signal.convolve2d(g, w, mode="full")
    np.testing.assert_allclose(dx, full[pad:pad + in_shape[0], pad:pad + in_shape[1]], rtol=1e-10, atol=1e-12)


def test_formulas_of_the_lecture_example():
    terms = cb.conv_terms()
    assert len(terms) == 16
    assert cb.format_terms((0, 0), terms[(0, 0)]) == "z[0,0] = x[0,0]·w[1,1] + (3 padding zeros)"
    assert cb.format_terms((1, 1), terms[(1, 1)]) == \
        "z[1,1] = x[0,0]·w[0,0] + x[0,1]·w[0,1] + x[1,0]·w[1,0] + x[1,1]·w[1,1]"
    dx_terms, dw_terms = cb.gradient_terms()
    assert cb.format_terms((0, 0), dx_terms[(0, 0)], "dx") == \
        "dL/dx[0,0] = g[0,0]·w[1,1] + g[0,1]·w[1,0] + g[1,0]·w[0,1] + g[1,1]·w[0,0]"
    assert len(dw_terms[(0, 0)]) == 9        # every weight meets all 9 real inputs
    with pytest.raises(ValueError, match="does not fit"):
        cb.conv_terms((2, 2), (5, 5), 1)


def test_position_gradients_route_to_the_window(rng):
    x = rng.standard_normal((3, 3))
    w = rng.standard_normal((2, 2))
    for i in range(4):
        for j in range(4):
            grads = cb.position_gradients(x, w, (i, j))
            x_pad = np.pad(x, 1)
            np.testing.assert_allclose(grads["dw"], x_pad[i:i + 2, j:j + 2], rtol=1e-12)
            dx_pad = np.zeros((5, 5))
            dx_pad[i:i + 2, j:j + 2] = w
            np.testing.assert_allclose(grads["dx"], dx_pad[1:4, 1:4], rtol=1e-12)
            assert grads["window"].sum() == 4 and grads["window"][i, j]
    z, _ = conv.conv2d_forward(x[None, None], w[None, None], np.zeros(1), pad=1)
    np.testing.assert_allclose(grads["z"], z[0, 0])
    with pytest.raises(ValueError, match="outside the 4x4 output"):
        cb.position_gradients(x, w, (4, 0))


def test_explorer_slider_moves_the_window_and_the_gradients():
    w = cb.conv_backprop_explorer()
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["tables"]._dom_classes
    assert "z[0,0] = x[0,0]·w[1,1] + (3 padding zeros) = 4" in w.outputs["formula"].value  # x=1..9, w=[[1,2],[3,4]]
    tables = w.outputs["tables"].value
    w.controls["position"].value = 5          # z[1,1] = 1*1 + 2*2 + 4*3 + 5*4
    assert "z[1,1]" in w.outputs["formula"].value and "= 37" in w.outputs["formula"].value
    np.testing.assert_array_equal(w.gradients()["dw"], [[1, 2], [4, 5]])
    np.testing.assert_array_equal(w.gradients()["dx"], [[1, 2, 0], [3, 4, 0], [0, 0, 0]])
    assert w.outputs["tables"].value != tables
