"""Lecture 5 widgets: pooling explorer, receptive fields, shapes and parameter counts.

Oracles: the lecture's 4x4 example ([[6, 8], [3, 4]]), NumPy window reductions,
a brute-force receptive field (which input pixels move one output), real
cnnlib.nn forward passes (nn.summary) and the published LeNet-5 / AlexNet counts.
"""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from cnnlib import nn  # noqa: E402
from cnnlib.conv import correlate2d  # noqa: E402
from cnnlib.models import lenet5  # noqa: E402
from cnnlib.widgets import architecture as arch  # noqa: E402
from cnnlib.widgets import pooling as pl  # noqa: E402


def test_lecture_example_max_pooling():
    np.testing.assert_array_equal(pl.pool2d(pl.LECTURE_EXAMPLE, "max", 2, 2), [[6, 8], [3, 4]])
    np.testing.assert_allclose(pl.pool2d(pl.LECTURE_EXAMPLE, "average", 2), [[3.25, 5.25], [2.0, 2.0]])
    np.testing.assert_allclose(pl.pool2d(pl.LECTURE_EXAMPLE, "L2", 2),
                               [[np.sqrt(63), np.sqrt(133)], [np.sqrt(18), np.sqrt(26)]])


@pytest.mark.parametrize("size,stride", [(2, 2), (3, 1), (3, 2), (2, 1)])
def test_pool_window_against_numpy(size, stride, rng):
    image = rng.standard_normal((9, 8))
    oh, ow = (9 - size) // stride + 1, (8 - size) // stride + 1
    reductions = {"max": np.max, "average": np.mean, "L2": lambda a: np.sqrt(np.sum(a * a))}
    for mode, reduce in reductions.items():
        for position in (0, oh * ow // 2, oh * ow - 1):
            view = pl.pool_window(image, mode, size, stride, position)
            r, c = divmod(position, ow)
            window = image[r * stride:r * stride + size, c * stride:c * stride + size]
            assert view["output"].shape == (oh, ow)
            np.testing.assert_array_equal(view["window"], window)
            assert view["value"] == pytest.approx(reduce(window))
            assert image[view["argmax"]] == window.max()


def test_pool_input_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        pl.pool2d(pl.LECTURE_EXAMPLE, "median")
    with pytest.raises(ValueError, match="2-D image"):
        pl.pool2d(np.ones((1, 4, 4)))
    with pytest.raises(ValueError, match="position must be in 0..3"):
        pl.pool_window(pl.LECTURE_EXAMPLE, position=4)


def test_pooling_explorer_controls_change_output():
    w = pl.pooling_explorer()
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["figure"]._dom_classes
    text, figure, position = w.outputs["text"], w.outputs["figure"], w.controls["position"]
    assert "output[0, 0] = 6</b>" in text.value and position.max == 3
    before = figure.value
    position.value = 1
    assert figure.value != before and "output[0, 1] = 8</b>" in text.value
    position.value = 3
    assert "output[1, 1] = 4</b>" in text.value
    w.controls["mode"].value = "average"
    assert "output[1, 1] = 2</b>" in text.value
    w.controls["stride"].value = 1
    assert position.max == 8 and "3x3" in text.value
    w.controls["size"].value = 4
    assert "1x1" in text.value and "output[0, 0] = 3.125</b>" in text.value  # mean of all 16 entries: 50 / 16
    w.controls["image"].value = "digit 28x28"
    assert position.max == 25 * 25 - 1


def brute_force_receptive_field(layers, length=300):
    """Input pixels (1-D) that change output unit 0: put a 1 at each pixel in turn."""
    hits = 0
    for i in range(length):
        x = np.zeros((1, length))
        x[0, i] = 1.0
        for k, s in layers:
            x = correlate2d(x, np.ones((1, k)), stride=(1, s))
        hits += x[0, 0] != 0
    return hits


@pytest.mark.parametrize("layers", [
    [(3, 1)] * 3,                                  # three 3x3 convs see 7x7
    [(5, 1), (2, 2), (5, 1), (2, 2)],              # LeNet-5: 5, 6, 14, 16
    [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1)],     # AlexNet's start
    [(7, 2), (3, 2), (1, 1)],
])
def test_receptive_field_against_brute_force(layers):
    fields = pl.receptive_field(layers)
    for depth in range(1, len(layers) + 1):
        assert fields[depth - 1][0] == brute_force_receptive_field(layers[:depth])
    assert fields[-1][1] == int(np.prod([s for _, s in layers]))


def test_receptive_field_lecture_values_and_errors():
    assert [r for r, _ in pl.receptive_field([(5, 1), (2, 2), (5, 1), (2, 2)])] == [5, 6, 14, 16]
    with pytest.raises(ValueError, match="layer 1"):
        pl.receptive_field([(3, 1), (0, 1)])
    with pytest.raises(ValueError, match="pair of ints"):
        pl.receptive_field([3])


def test_receptive_field_explorer():
    w = pl.receptive_field_explorer()
    before = w.outputs["figure"].value
    w.controls["depth"].value = 3
    assert w.outputs["figure"].value != before and "<td>3</td><td>7x7</td>" in w.outputs["text"].value
    w.controls["stride"].value = 2
    assert "<td>3</td><td>15x15</td><td>8</td>" in w.outputs["text"].value  # 3, 3+2·2, 7+2·4
    w.controls["kernel"].value = 5
    assert "<td>3</td><td>29x29</td><td>8</td>" in w.outputs["text"].value  # 5, 5+4·2, 13+4·4


# -- shapes and parameters ------------------------------------------------------
def test_fc_vs_conv_for_a_200x200_image():
    counts = arch.fc_vs_conv_parameters(200, 200, field=10, filters=100)
    assert counts == {"fully_connected": 1_600_000_000, "locally_connected": 4_000_000,
                      "convolution_one_filter": 100, "convolution": 10_000}


def test_parameter_formulas_against_real_modules():
    for cin, cout, k in [(1, 6, 5), (6, 16, 5), (3, 8, 3)]:
        assert arch.conv_parameters(cin, cout, k) == nn.count_parameters(nn.Conv2d(cin, cout, k))
        without_bias = nn.Conv2d(cin, cout, k, bias=False)
        assert arch.conv_parameters(cin, cout, k, bias=False) == nn.count_parameters(without_bias)
    assert arch.linear_parameters(400, 120) == nn.count_parameters(nn.Linear(400, 120)) == 48_120
    # S2 -> C3 fully connected: 16 x 6 x 5 x 5 weights
    assert arch.conv_parameters(6, 16, 5, bias=False) == 2_400


@pytest.mark.parametrize("name", ["small CNN", "LeNet-5 (modern)"])
@pytest.mark.parametrize("size", [None, 40])
def test_shape_table_matches_a_real_forward_pass(name, size):
    text, shape = arch.NETWORKS[name]
    if size is not None:
        shape = (shape[0], size, size)
    rows, total = arch.shape_table(text, shape)
    model = arch.build_network(text, shape)
    table = nn.summary(model, shape)
    assert [r["output_shape"] for r in rows] == [s for _, _, s, _ in table.rows]
    assert [r["params"] for r in rows] == [p for _, _, _, p in table.rows]
    assert total == table.total == nn.count_parameters(model)


def test_lenet5_table_equals_the_library_model():
    rows, total = arch.shape_table(*arch.NETWORKS["LeNet-5 (modern)"])
    assert total == 61_706 == nn.count_parameters(lenet5("modern"))
    by_name = {r["name"]: r for r in rows}
    assert by_name["C1"]["output_shape"] == (6, 28, 28) and by_name["C1"]["params"] == 156
    assert by_name["S2"]["output_shape"] == (6, 14, 14)
    assert by_name["C3"]["output_shape"] == (16, 10, 10) and by_name["C3"]["params"] == 2_416
    assert by_name["S4"]["output_shape"] == (16, 5, 5)


def test_alexnet_table():
    rows, total = arch.shape_table(*arch.NETWORKS["AlexNet"])
    by_name = {r["name"]: r for r in rows}
    assert by_name["conv1"]["output_shape"] == (96, 55, 55) and by_name["conv1"]["params"] == 34_944
    assert by_name["pool1"]["output_shape"] == (96, 27, 27)
    assert by_name["pool5"]["output_shape"] == (256, 6, 6)
    assert by_name["fc6"]["params"] == 9216 * 4096 + 4096
    assert total == 62_378_344  # the usual "62.3 million" of single-tower AlexNet


def test_parse_layers():
    layers = arch.parse_layers("C1: conv 6 5 stride=2 pad=1  # comment\n\nmaxpool 3\nflatten\nlinear 10")
    assert layers[0] == {"name": "C1", "kind": "conv", "out": 6, "kernel": 5, "stride": 2, "pad": 1}
    assert layers[1] == {"name": "maxpool2", "kind": "maxpool", "kernel": 3, "stride": 3}


@pytest.mark.parametrize("layers, message", [
    ("dense 10", "line 1: unknown layer 'dense'"),
    ("conv 6", "'conv' needs 2 number"),
    ("maxpool 2 stride=x", "cannot read 'stride=x'"),
    ("# nothing\n", "no layers"),
])
def test_parse_layers_errors(layers, message):
    with pytest.raises(ValueError, match=message):
        arch.parse_layers(layers)


@pytest.mark.parametrize("layers, message", [
    ("conv 4 3\nlinear 10", "put 'flatten' before it"),
    ("conv 4 3\nconv 4 7", "layer conv2 .* does not fit its input"),
    ("flatten\nconv 4 3", "needs an image"),
])
def test_shape_table_errors(layers, message):
    with pytest.raises(ValueError, match=message):
        arch.shape_table(layers, (1, 8, 8))


def test_architecture_explorer_controls():
    w = arch.architecture_explorer()
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["table"]._dom_classes
    table = w.outputs["table"]
    # conv1 8·(9+1) = 80, conv2 16·(8·9+1) = 1,168, fc 10·(16·7·7+1) = 7,850
    assert "total parameters: <b>9,098</b>" in table.value
    _, expected = arch.shape_table(arch.NETWORKS["small CNN"][0], (1, 28, 28))
    assert f"<b>{expected:,}</b>" in table.value
    w.controls["size"].value = 32
    _, expected = arch.shape_table(arch.NETWORKS["small CNN"][0], (1, 32, 32))
    assert f"<b>{expected:,}</b>" in table.value and "16 x 8 x 8" in table.value
    w.controls["channels"].value = 3
    assert "conv 8 x 3x3" in table.value and f"<b>{expected + 8 * 9 * 2:,}</b>" in table.value
    w.controls["layers"].value = "conv 4 50"
    assert "does not fit" in table.value and w.controls["layers"].value == "conv 4 50"
    w.controls["network"].value = "AlexNet"
    assert w.controls["size"].value == 227 and "<b>62,378,344</b>" in table.value
