"""Tests for cnnlib.pool: max, average and L2 pooling against independent oracles.

Oracles: hand-worked lecture examples, the loop reference versions, NumPy
reductions over explicit windows, central differences, and PyTorch when it is
installed.
"""
import warnings

import numpy as np
import pytest
from support import batch_last

from cnnlib import pool as P
from cnnlib.gradcheck import numerical_gradient_array, rel_error

KINDS = ["max", "avg", "l2"]
LECTURE_X = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)[None, None]


def fast(kind):
    return getattr(P, f"{kind}pool2d_forward"), getattr(P, f"{kind}pool2d_backward")


def reference(kind):
    return getattr(P, f"{kind}pool2d_forward_reference"), getattr(P, f"{kind}pool2d_backward_reference")


def windows_oracle(x, size, stride, reduce):
    """Pool with explicit window lists, independent of both implementations."""
    (kh, kw), (sh, sw) = size, stride
    n, c, h, w = x.shape
    rows = [range(i, i + kh) for i in range(0, h - kh + 1, sh)]
    cols = [range(j, j + kw) for j in range(0, w - kw + 1, sw)]
    out = np.empty((n, c, len(rows), len(cols)))
    for i, r in enumerate(rows):
        for j, s in enumerate(cols):
            out[:, :, i, j] = reduce(x[:, :, r[0]:r[-1] + 1, s[0]:s[-1] + 1].reshape(n, c, -1))
    return out


REDUCE = {
    "max": lambda v: v.max(axis=-1),
    "avg": lambda v: v.mean(axis=-1),
    "l2": lambda v: np.sqrt((v ** 2).sum(axis=-1)),
}


# ----------------------------------------------------------------------------
# Lecture hand examples
# ----------------------------------------------------------------------------

def test_lecture_max_pooling():
    out, cache = P.maxpool2d_forward(LECTURE_X, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[6, 8], [3, 4]])
    # Backward: dout lands exactly on the arg-max of each window, zeros elsewhere.
    dout = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    dx = P.maxpool2d_backward(dout, cache)
    expected = np.zeros((4, 4))
    expected[1, 1] = 10   # 6
    expected[1, 3] = 20   # 8
    expected[2, 0] = 30   # 3
    expected[3, 3] = 40   # 4
    np.testing.assert_array_equal(dx[0, 0], expected)
    _, ref_cache = P.maxpool2d_forward_reference(LECTURE_X)
    np.testing.assert_array_equal(P.maxpool2d_backward_reference(dout, ref_cache)[0, 0], expected)


def test_lecture_average_pooling():
    # (1+1+5+6)/4, (2+4+7+8)/4, (3+2+1+2)/4, (1+0+3+4)/4
    out, cache = P.avgpool2d_forward(LECTURE_X, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[3.25, 5.25], [2.0, 2.0]])
    dx = P.avgpool2d_backward(np.array([[[[4.0, 8.0], [-4.0, 0.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [-1, -1, 0, 0], [-1, -1, 0, 0]])


def test_l2_pooling_hand_example():
    x = np.array([[3.0, 4.0, 1.0, 0.0], [0.0, 0.0, 2.0, 2.0]])[None, None]
    out, cache = P.l2pool2d_forward(x, 2)
    np.testing.assert_allclose(out[0, 0], [[5.0, 3.0]], rtol=1e-15)
    dx = P.l2pool2d_backward(np.array([[[[10.0, 3.0]]]]), cache)
    # d sqrt(sum x^2) / dx = x / out
    np.testing.assert_allclose(dx[0, 0], [[6.0, 8.0, 1.0, 0.0], [0.0, 0.0, 2.0, 2.0]], rtol=1e-15)


def test_max_pool_ties_go_to_the_first_position_in_row_major_order():
    x = np.array([[[[7.0, 2.0, 5.0, 9.0],
                    [7.0, 7.0, 9.0, 1.0],
                    [1.0, 1.0, 0.0, 0.0],
                    [1.0, 1.0, 0.0, 0.0]]]])
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = np.zeros((4, 4))
    expected[0, 0] = 1   # three 7s: the top-left one
    expected[0, 3] = 2   # 9 at (0, 3) comes before 9 at (1, 2)
    expected[2, 0] = 3   # all ones: top-left
    expected[2, 2] = 4   # all zeros: top-left
    for forward, backward in (fast("max"), reference("max")):
        out, cache = forward(x)
        np.testing.assert_array_equal(out[0, 0], [[7, 9], [1, 0]])
        np.testing.assert_array_equal(backward(dout, cache)[0, 0], expected)


def test_overlapping_max_windows_add_their_gradients():
    # Windows of width 2, stride 1 along a row 0 5 0 1: the 5 wins both windows
    # that contain it, the 1 wins the last one.
    x = np.array([0.0, 5.0, 0.0, 1.0])[None, None, None, :]
    out, cache = P.maxpool2d_forward(x, size=(1, 2), stride=1)
    np.testing.assert_array_equal(out.ravel(), [5, 5, 1])
    dx = P.maxpool2d_backward(np.array([1.0, 10.0, 100.0])[None, None, None, :], cache)
    np.testing.assert_array_equal(dx.ravel(), [0, 11, 0, 100])


def test_windows_that_do_not_fit_are_dropped():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    for kind in KINDS:
        forward, backward = fast(kind)
        out, cache = forward(x, 2)
        assert out.shape == (1, 1, 2, 2)
        dx = backward(np.ones(out.shape), cache)
        assert np.all(dx[0, 0, 4, :] == 0) and np.all(dx[0, 0, :, 4] == 0)
    np.testing.assert_array_equal(P.maxpool2d_forward(x, 2)[0][0, 0], [[6, 8], [16, 18]])


# ----------------------------------------------------------------------------
# Fast versus references and the window oracle
# ----------------------------------------------------------------------------

CONFIGS = [
    ((2, 2), (2, 2)), ((2, 2), (1, 1)), ((3, 3), (2, 2)), ((3, 3), (3, 3)),
    ((2, 3), (1, 2)), ((3, 1), (3, 1)), ((1, 1), (1, 1)), ((2, 2), (3, 3)), ((4, 3), (2, 1)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, stride", CONFIGS)
def test_fast_matches_reference_and_window_oracle(kind, size, stride, dtype):
    rng = np.random.default_rng([KINDS.index(kind), *size, *stride])
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    # float32 sums and square roots round differently in the two versions
    atol = 1e-12 if dtype == np.float64 else 1e-5
    forward, backward = fast(kind)
    forward_ref, backward_ref = reference(kind)
    out, cache = forward(x, size, stride)
    out_ref, cache_ref = forward_ref(x, size, stride)
    assert out.dtype == out_ref.dtype == dtype
    np.testing.assert_allclose(out, windows_oracle(x.astype(np.float64), size, stride, REDUCE[kind]),
                               rtol=0, atol=atol)
    np.testing.assert_allclose(out, out_ref, rtol=0, atol=atol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dx_ref = backward(dout, cache), backward_ref(dout, cache_ref)
    assert dx.dtype == dx_ref.dtype == dtype
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=atol)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_matches_reference_random_shapes(kind):
    rng = np.random.default_rng(99)
    forward, backward = fast(kind)
    forward_ref, backward_ref = reference(kind)
    for _ in range(15):
        n, c = rng.integers(1, 4, size=2)
        size = tuple(int(v) for v in rng.integers(1, 5, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 5, size=2))
        h, w = size[0] + rng.integers(0, 9), size[1] + rng.integers(0, 9)
        # Small integers make ties common, which exercises the first-maximum rule.
        x = rng.integers(-3, 4, size=(n, c, h, w)).astype(float)
        out, cache = forward(x, size, stride)
        out_ref, cache_ref = forward_ref(x, size, stride)
        np.testing.assert_allclose(out, out_ref, rtol=0, atol=1e-12)
        dout = rng.standard_normal(out.shape)
        np.testing.assert_allclose(backward(dout, cache), backward_ref(dout, cache_ref), rtol=0, atol=1e-12)


def _is_batch_last(a):
    return a.transpose(1, 2, 3, 0).flags.c_contiguous


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), ((2, 3), 1)])
@pytest.mark.parametrize("x_order, dout_order", [("C", "C"), ("batch last", "batch last"),
                                                 ("batch last", "C"), ("C", "batch last")])
def test_memory_order_is_kept_and_values_do_not_depend_on_it(kind, size, stride, x_order, dout_order):
    """A batch-last input (as conv2d_forward's slabs return) gives a batch-last
    output and dx, a C-contiguous one C-contiguous outputs, with the values of
    the reference whatever the memory order of x and dout."""
    rng = np.random.default_rng([KINDS.index(kind), len(x_order), len(dout_order)])
    x = rng.integers(-3, 4, size=(5, 3, 9, 8)).astype(np.float32)    # ties: the first-maximum rule
    forward, backward = fast(kind)
    forward_ref, backward_ref = reference(kind)
    out, cache = forward(batch_last(x) if x_order == "batch last" else x, size, stride)
    out_ref, cache_ref = forward_ref(x, size, stride)
    np.testing.assert_allclose(out, out_ref, rtol=0, atol=1e-6)
    assert _is_batch_last(out) if x_order == "batch last" else out.flags.c_contiguous
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = backward(batch_last(dout) if dout_order == "batch last" else dout, cache)
    np.testing.assert_allclose(dx, backward_ref(dout, cache_ref), rtol=0, atol=1e-6)
    # max and L2 pooling: dx like the forward input; average pooling: like dout
    follows = dout_order if kind == "avg" else x_order
    assert _is_batch_last(dx) if follows == "batch last" else dx.flags.c_contiguous


def test_max_pool_backward_one_element_per_window():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=(2, 2, 6, 6)).astype(float)   # lots of ties
    out, cache = P.maxpool2d_forward(x, 2)
    dx = P.maxpool2d_backward(np.ones(out.shape), cache)
    # Non-overlapping windows: exactly one 1 per window, and it sits on a maximum.
    windows = dx.reshape(2, 2, 3, 2, 3, 2)
    np.testing.assert_array_equal(windows.sum(axis=(3, 5)), np.ones((2, 2, 3, 3)))
    assert np.all(x[dx == 1] == np.repeat(np.repeat(out, 2, axis=2), 2, axis=3)[dx == 1])


def test_stride_defaults_to_size():
    x = np.random.default_rng(2).standard_normal((1, 2, 9, 9))
    for kind in KINDS:
        forward, _ = fast(kind)
        out_default, _ = forward(x, size=3)
        out_explicit, _ = forward(x, size=3, stride=3)
        assert out_default.shape == (1, 2, 3, 3)
        np.testing.assert_array_equal(out_default, out_explicit)


def test_pool_output_size():
    assert P.pool_output_size(28, 2) == 14
    assert P.pool_output_size(13, 3, 2) == 6
    assert P.pool_output_size(5, 2) == 2
    assert P.pool_output_size(4, 4, 1) == 1
    with pytest.raises(ValueError, match="size=5 is larger than the input n=4"):
        P.pool_output_size(4, 5)
    with pytest.raises(ValueError, match="stride=0"):
        P.pool_output_size(4, 2, 0)


# ----------------------------------------------------------------------------
# Gradients against central differences (float64)
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), ((2, 3), 1)])
def test_backward_matches_central_differences(kind, size, stride):
    rng = np.random.default_rng(17)
    # Well separated values: no two entries of a window within 2h of each other,
    # so the max is differentiable at x.
    x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) * 0.01 - 1.5
    forward, backward = fast(kind)
    out, cache = forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    dx = backward(dout, cache)
    dx_num = numerical_gradient_array(lambda v: forward(v, size, stride)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-7


def test_l2_pool_gradient_of_an_all_zero_window_is_zero_without_warnings():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[1.0, 2.0], [2.0, 4.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = P.l2pool2d_forward(x, 2)
        dx = P.l2pool2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(out[0, 0], [[0, 0], [0, 5]])
    assert np.all(np.isfinite(dx))
    np.testing.assert_array_equal(dx[0, 0, :2], 0)
    np.testing.assert_allclose(dx[0, 0, 2:, 2:], [[0.2, 0.4], [0.4, 0.8]], rtol=1e-15)


# ----------------------------------------------------------------------------
# Dtypes
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32(kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 10, 10)).astype(np.float32)
    forward, backward = fast(kind)
    for size, stride in [(2, None), (3, 1)]:
        out, cache = forward(x, size, stride)
        assert out.dtype == np.float32
        dx = backward(rng.standard_normal(out.shape), cache)    # float64 dout: no upcast
        assert dx.dtype == np.float32
        out64, cache64 = forward(x.astype(np.float64), size, stride)
        np.testing.assert_allclose(out, out64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_integer_input_becomes_float64(kind):
    forward, backward = fast(kind)
    out, cache = forward(LECTURE_X.astype(int))
    assert out.dtype == np.float64
    assert backward(np.ones(out.shape, dtype=int), cache).dtype == np.float64


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_raises_value_error(kind):
    forward, backward = fast(kind)
    name = f"{kind}pool2d_forward"
    with pytest.raises(ValueError, match=rf"{name}: x must be 4-D.*x.shape=\(3, 8, 8\)"):
        forward(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match=r"window 3x3 is larger than the input 2x5 \(x.shape=\(1, 1, 2, 5\)\)"):
        forward(np.zeros((1, 1, 2, 5)), 3)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got stride=0"):
        forward(np.zeros((1, 1, 4, 4)), 2, 0)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got stride=\(1, -2\)"):
        forward(np.zeros((1, 1, 4, 4)), 2, (1, -2))
    with pytest.raises(ValueError, match=r"window size must be >= 1, got size=0"):
        forward(np.zeros((1, 1, 4, 4)), 0)
    with pytest.raises(TypeError, match=r"size must be an int or a \(row, col\) pair"):
        forward(np.zeros((1, 1, 4, 4)), 2.5)
    _, cache = forward(np.zeros((2, 3, 4, 4)), 2)
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(2, 3, 2, 2\).*\(2, 3, 2, 3\)"):
        backward(np.zeros((2, 3, 2, 3)), cache)


# ----------------------------------------------------------------------------
# PyTorch (runs only where torch is installed)
# ----------------------------------------------------------------------------

def test_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 3, 9, 8))
    torch_pool = {
        "max": lambda t, k, s: functional.max_pool2d(t, k, s),
        "avg": lambda t, k, s: functional.avg_pool2d(t, k, s),
        "l2": lambda t, k, s: functional.lp_pool2d(t, 2, k, s),
    }
    for kind in KINDS:
        forward, backward = fast(kind)
        for size, stride in [((2, 2), (2, 2)), ((3, 2), (1, 2))]:
            out, cache = forward(x, size, stride)
            xt = torch.tensor(x, requires_grad=True)
            out_t = torch_pool[kind](xt, size, stride)
            np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
            dout = rng.standard_normal(out.shape)
            out_t.backward(torch.tensor(dout))
            np.testing.assert_allclose(backward(dout, cache), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
