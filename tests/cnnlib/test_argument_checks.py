"""cnnlib._checks: one rule per kind of argument, and every layer follows it.

(Not cnnlib.checks, the rules for student code: see test_rules.py.)
"""
import numpy as np
import pytest

from cnnlib import activations, conv, hog, nn, pool
from cnnlib._checks import as_float, check_xy, integer, pair


@pytest.mark.parametrize("value, expected", [
    (3, (3, 3)), ((2, 1), (2, 1)), ([2, 1], (2, 1)), (np.int64(4), (4, 4)),
    (np.array(5), (5, 5)), (np.array([1, 2]), (1, 2)), ((np.int32(2), 3), (2, 3)),
])
def test_pair_accepts_an_int_or_a_pair_of_ints(value, expected):
    got = pair(value, "stride")
    assert got == expected and all(type(v) is int for v in got)


@pytest.mark.parametrize("value", [1.5, 2.0, True, (1, 2, 3), (1,), (1.0, 2), (True, 1), "ab", None, [[1, 2]]])
def test_pair_refuses_everything_else_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"f: stride must be an int or a \(row, col\) pair of ints, got"):
        pair(value, "stride", "f")


def test_pair_and_integer_minimum():
    assert pair(0, "pad", minimum=0) == (0, 0)
    with pytest.raises(ValueError, match=r"^f: stride must be >= 1, got stride=\(1, 0\)$"):
        pair((1, 0), "stride", "f", minimum=1)
    assert integer(np.int64(5), "k", minimum=1) == 5 and type(integer(np.int64(5), "k")) is int
    with pytest.raises(ValueError, match=r"^k must be >= 1, got k=0$"):
        integer(0, "k", minimum=1)
    for bad in (1.0, True, "3", (3,)):
        with pytest.raises(TypeError, match="k must be an int"):
            integer(bad, "k")


@pytest.mark.parametrize("value, dtype", [
    (np.zeros(2, np.float32), np.float32), (np.zeros(2), np.float64), ([1, 2], np.float64),
    (np.zeros(2, np.int8), np.float64), (np.zeros(2, bool), np.float64), (np.zeros(2, np.float16), np.float64),
    (np.float32(1), np.float32), (3, np.float64),
])
def test_as_float_keeps_float32_and_float64_and_makes_the_rest_float64(value, dtype):
    assert as_float(value).dtype == dtype
    if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64):
        assert as_float(value) is value          # no copy


@pytest.mark.parametrize("value", [np.zeros(2, complex), np.array(["a"]), np.array([None], dtype=object)])
def test_as_float_refuses_what_is_not_real(value):
    with pytest.raises(TypeError, match=f"f: x must hold real numbers, got dtype {value.dtype}"):
        as_float(value, "x", "f")


def test_check_xy():
    X, y = check_xy(np.zeros((4, 1, 2, 2)), [0, 1, 2, 3])
    assert X.shape == (4, 1, 2, 2) and y.shape == (4,)
    with pytest.raises(ValueError, match="f: X and y must have the same first dimension"):
        check_xy(np.zeros((4, 2)), np.zeros(3), "f")
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        check_xy(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="X must have a batch axis"):
        check_xy(np.float64(1), np.zeros(1))


# The layers and modules that take sizes, strides and paddings all follow pair().
PAIR_CALLS = {
    "conv2d_forward stride": lambda v: conv.conv2d_forward(np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 3, 3)), None,
                                                           stride=v),
    "correlate2d pad": lambda v: conv.correlate2d(np.zeros((4, 4)), np.ones((2, 2)), pad=v),
    "im2col kernel_size": lambda v: conv.im2col(np.zeros((1, 1, 4, 4)), v),
    "maxpool2d_forward size": lambda v: pool.maxpool2d_forward(np.zeros((1, 1, 4, 4)), v),
    "nn.Conv2d kernel_size": lambda v: nn.Conv2d(1, 1, v),
    "nn.MaxPool2d stride": lambda v: nn.MaxPool2d(2, stride=v),
    "hog pixels_per_cell": lambda v: hog.hog(np.zeros((16, 16)), pixels_per_cell=v),
}


@pytest.mark.parametrize("call", PAIR_CALLS.values(), ids=PAIR_CALLS.keys())
def test_every_layer_takes_ints_and_pairs_and_refuses_floats(call):
    call(2)
    call((2, 2))
    call(np.int64(2))
    for bad in (2.0, (2, 2, 2), True):
        with pytest.raises(TypeError, match=r"must be an int or a \(row, col\) pair of ints"):
            call(bad)


def test_every_layer_coerces_floats_by_the_same_rule():
    ints = np.arange(16).reshape(1, 1, 4, 4)
    for out in (conv.conv2d_forward(ints, np.ones((1, 1, 2, 2), int), None)[0],
                pool.maxpool2d_forward(ints)[0], activations.relu_forward(ints)[0]):
        assert out.dtype == np.float64
    for call in (lambda x: conv.conv2d_forward(x, np.ones((1, 1, 2, 2)), None),
                 lambda x: pool.avgpool2d_forward(x), lambda x: activations.relu_forward(x)):
        with pytest.raises(TypeError, match="x must hold real numbers, got dtype complex128"):
            call(ints.astype(complex))
