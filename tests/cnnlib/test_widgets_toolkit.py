"""Widgets of the lectures "Training toolkit" and "Architectures after LeNet".

Oracles: numbers worked by hand (He keeps Var(z) since fan_in · 2/fan_in · 1/2 = 1,
Xavier halves it under ReLU, cosine and step schedules at chosen steps, an SGD and
a momentum step on (a w0² + b w1²)/2, Adam's first step of size lr, the receptive
field 2n + 1 of n stacked 3x3 kernels, a 1x1 bottleneck 192 -> 16 -> 5x5 32 on
28x28, LeNet-5's multiply-adds layer by layer, AlexNet's 62,378,344 parameters,
AlphaGo's policy network), identities between the normalisations (group norm with
one group is layer norm, with C groups instance norm), and cnnlib.nn itself.
"""
import math

import matplotlib
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
matplotlib.use("Agg")

from cnnlib import nn  # noqa: E402
from cnnlib.models import lenet5, resnet_mini, vgg_mini  # noqa: E402
from cnnlib.optim import SGD  # noqa: E402
from cnnlib.widgets import architectures as ar  # noqa: E402
from cnnlib.widgets import toolkit as tk  # noqa: E402

# == "Training toolkit": initialisation =============================================

def test_init_std_by_hand():
    assert tk.init_std("He", 50, 10) == pytest.approx(math.sqrt(2 / 50)) == pytest.approx(0.2)
    assert tk.init_std("Xavier", 30, 70) == pytest.approx(math.sqrt(2 / 100))
    assert tk.init_std("small (std 0.01)", 5, 5) == 0.01
    with pytest.raises(ValueError, match="unknown init"):
        tk.init_std("zeros", 3, 3)


def test_variance_gain_by_hand():
    # fan_in · std² · c: He + ReLU = n · (2/n) · 1/2 = 1; Xavier + ReLU with fan_in = fan_out = n: n · (1/n) · 1/2
    assert tk.variance_gain("He", "ReLU", 256) == pytest.approx(1.0)
    assert tk.variance_gain("Xavier", "ReLU", 256) == pytest.approx(0.5)
    assert tk.variance_gain("Xavier", "tanh", 256) == pytest.approx(1.0)
    assert tk.variance_gain("He", "linear", 100) == pytest.approx(2.0)
    assert tk.variance_gain("small (std 0.01)", "ReLU", 256) == pytest.approx(256 * 1e-4 / 2)


def test_activation_stds_follow_the_predicted_gain():
    he = tk.activation_stds("He", "ReLU", depth=10, width=512, batch=1024)
    # first layer: Var(z1) = fan_in · (2/fan_in) · Var(x) = 2; He keeps it there (within sampling noise)
    assert he["z_std"][0] == pytest.approx(math.sqrt(2), rel=0.05)
    assert np.all(np.abs(np.log(he["z_std"] / math.sqrt(2))) < math.log(1.5))
    assert np.all((he["grad_std"] > 0.5) & (he["grad_std"] < 2))
    xavier = tk.activation_stds("Xavier", "ReLU", depth=10, width=512, batch=1024)
    # Var halves per layer after the first: std after 9 more layers ≈ sqrt(1/2)^9 of the first
    ratio = xavier["z_std"][-1] / xavier["z_std"][0]
    assert ratio == pytest.approx(0.5 ** 4.5, rel=0.3)
    small = tk.activation_stds("small (std 0.01)", "tanh", depth=5, width=256)
    # std(z) shrinks by sqrt(256 · 0.01²) = 0.16 per layer (tanh z ≈ z for such small z)
    assert small["z_std"][-1] == pytest.approx(0.16 ** 5, rel=0.2)
    assert len(he["h"]) == 10 and he["h"][0].shape == (1024, 512)


def test_init_explorer():
    w = tk.init_explorer()
    text, figure = w.outputs["text"], w.outputs["figure"]
    assert "<b>1</b>" in text.value                     # He + ReLU: gain 1
    before = figure.value
    w.controls["init"].value = "Xavier"
    assert figure.value != before and "<b>0.5</b>" in text.value
    w.controls["depth"].value = 3
    assert "layer 3" in text.value


# == normalisation ==================================================================

def test_shared_statistics_counts():
    shape = (4, 6, 5)                                     # N, C, H·W
    assert tk.shared_statistics("batch", shape).sum() == 4 * 5
    assert tk.shared_statistics("layer", shape).sum() == 6 * 5
    assert tk.shared_statistics("instance", shape).sum() == 5
    group = tk.shared_statistics("group", shape, groups=3, n=1, c=3)
    assert group.sum() == 2 * 5 and group[1, 2:4].all() and not group[0].any()
    with pytest.raises(ValueError, match="equal groups"):
        tk.shared_statistics("group", shape, groups=4)


def test_normalize_identities():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(3, 4, 5, 5))
    np.testing.assert_allclose(tk.normalize(x, "group", groups=1), tk.normalize(x, "layer"), atol=1e-12)
    np.testing.assert_allclose(tk.normalize(x, "group", groups=4), tk.normalize(x, "instance"), atol=1e-12)
    bn = tk.normalize(x, "batch")
    np.testing.assert_allclose(bn.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(bn.var(axis=(0, 2, 3)), 1, atol=1e-3)
    # the same as cnnlib's batch norm in training with gamma = 1, beta = 0
    layer = nn.BatchNorm2d(4)
    np.testing.assert_allclose(layer.forward(x), bn, atol=1e-10)


def test_draw_normalizations_has_four_panels():
    fig = tk.draw_normalizations(shape=(3, 4, 3), groups=2)
    assert [ax.get_title() for ax in fig.axes] == ["batch norm", "layer norm", "instance norm", "group norm (2 groups)"]


# == augmentation ===================================================================

def test_augmented_shift_moves_by_whole_pixels():
    image = np.zeros((9, 9))
    image[4, 4] = 1.0
    versions = tk.augmented(image, "shift", 2, copies=20, seed=1)
    assert versions.shape == (20, 9, 9)
    for v in versions:
        (r,), (c,) = np.nonzero(v)[0], np.nonzero(v)[1]
        assert abs(r - 4) <= 2 and abs(c - 4) <= 2 and v.sum() == 1.0
    np.testing.assert_array_equal(tk.augmented(image, "rotate", 0, copies=3), np.repeat(image[None], 3, axis=0))
    with pytest.raises(ValueError, match="unknown transform"):
        tk.augmented(image, "flip", 1)


def test_augmentation_explorer():
    digits = np.random.default_rng(0).random((3, 28, 28))
    w = tk.augmentation_explorer(digits)
    text, figure = w.outputs["text"], w.outputs["figure"]
    before = figure.value
    w.controls["transform"].value = "shift"
    assert w.controls["strength"].value == 2 and "shift" in text.value and figure.value != before
    w.controls["strength"].value = 0
    assert "<b>0.000</b>" in text.value


# == learning-rate schedules ========================================================

def test_lr_schedules_by_hand():
    assert tk.lr_schedule("constant", 123, 300, lr0=0.1) == 0.1
    np.testing.assert_allclose(tk.lr_schedule("step", [0, 99, 100, 199, 200], 300, lr0=0.1, gamma=0.1),
                               [0.1, 0.1, 0.01, 0.01, 0.001])
    # cosine: lr0 at the start, the mean of lr0 and lr_min half-way, lr_min at the end
    np.testing.assert_allclose(tk.lr_schedule("cosine", [0, 50, 100], 100, lr0=0.2, lr_min=0.02), [0.2, 0.11, 0.02])
    warm = tk.lr_schedule("warmup + cosine", [0, 9, 10, 55, 100], 100, lr0=0.1, warmup=10)
    np.testing.assert_allclose(warm, [0.01, 0.1, 0.1, 0.05, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="unknown schedule"):
        tk.lr_schedule("linear", 0, 10)


def test_schedule_explorer():
    w = tk.schedule_explorer(total_steps=300, lr0=0.1)
    before = w.outputs["figure"].value
    w.controls["schedule"].value = "cosine"
    assert w.outputs["figure"].value != before
    assert "<b>0.0502</b>" in w.outputs["text"].value    # mean of (1 + cos) / 2 · 0.1 over 300 steps


# == momentum and Adam ==============================================================

def test_sgd_and_momentum_steps_by_hand():
    # L = (w0² + 20 w1²)/2 from (-4, 1.5): gradient (-4, 30)
    sgd = tk.optimizer_path("SGD", 0.01, steps=1)["path"]
    np.testing.assert_allclose(sgd[1], [-4 + 0.04, 1.5 - 0.3])
    mom = tk.optimizer_path("SGD + momentum 0.9", 0.01, steps=2)["path"]
    w1 = np.array([-3.96, 1.2])
    g1 = np.array([-3.96, 24.0])
    v2 = 0.9 * np.array([-4.0, 30.0]) + g1
    np.testing.assert_allclose(mom[1], w1)
    np.testing.assert_allclose(mom[2], w1 - 0.01 * v2)


def test_adam_first_step_has_size_lr():
    path = tk.optimizer_path("Adam", 0.05, steps=1)["path"]
    np.testing.assert_allclose(path[1] - path[0], [0.05, -0.05], rtol=1e-6)


def test_plain_sgd_diverges_above_two_over_curvature():
    assert tk.optimizer_path("SGD", 0.09, steps=100)["loss"][-1] < 1e-3
    assert tk.optimizer_path("SGD", 0.11, steps=100)["loss"][-1] > 1e3


def test_optimizer_path_explorer():
    w = tk.optimizer_path_explorer()
    before = w.outputs["figure"].value
    w.controls["lr"].value = 0.02
    assert w.outputs["figure"].value != before and "lr = 0.02" in w.outputs["text"].value


# == training runs ==================================================================

def _toy_problem(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def test_train_run_learns_and_follows_the_schedule():
    X, y = _toy_problem()
    model = nn.Sequential(nn.Linear(4, 8, dtype=np.float32), nn.ReLU(), nn.Linear(8, 2, dtype=np.float32))
    run = tk.train_run(model, SGD(model.parameters(), lr=0.1), X, y, steps=60, batch_size=20,
                       validation_data=(X, y), schedule=lambda t: tk.lr_schedule("step", t, 60, 0.1),
                       eval_every=20)
    assert run["loss"].shape == (60,) and list(run["eval_step"]) == [0, 20, 40, 60]
    np.testing.assert_allclose(run["lr"][[0, 19, 20, 40]], [0.1, 0.1, 0.01, 0.001])
    assert run["val_accuracy"][-1] > 0.8 and run["val_loss"][-1] < run["val_loss"][0]
    assert run["weight_norm"][0] == pytest.approx(tk.weight_norm(nn.Sequential(
        nn.Linear(4, 8, dtype=np.float32), nn.ReLU(), nn.Linear(8, 2, dtype=np.float32))), rel=1e-6)


def test_train_run_is_repeatable_and_applies_the_transform():
    X, y = _toy_problem()
    seen = []

    def transform(xb, rng):
        seen.append(len(xb))
        return xb + 0.0

    runs = []
    for _ in range(2):
        model = nn.Sequential(nn.Linear(4, 2, dtype=np.float32))
        runs.append(tk.train_run(model, SGD(model.parameters(), lr=0.1), X, y, steps=15, batch_size=32,
                                 transform=transform, eval_every=100))
    np.testing.assert_array_equal(runs[0]["loss"], runs[1]["loss"])
    assert seen == [32] * 30
    assert np.isnan(runs[0]["val_loss"]).all()


def test_weight_norm_skips_biases_and_batchnorm():
    model = nn.Sequential(nn.Linear(2, 2, bias=True), nn.BatchNorm1d(2))
    model[0].weight.data[...] = [[3.0, 0.0], [0.0, 4.0]]
    model[0].bias.data[...] = 100.0
    assert tk.weight_norm(model) == pytest.approx(5.0)


# == "Architectures after LeNet" =====================================================

def test_layer_costs_of_lenet5_by_hand():
    table = ar.layer_costs(lenet5("modern"), (1, 32, 32))
    madds = {name: m for name, _, _, _, m in table.rows if m}
    # C1: 28·28 positions × 6·1·5·5 weights; C3: 10·10 × 16·6·5·5; then one multiply-add per weight
    assert madds == {"C1": 117_600, "C3": 240_000, "C5": 48_000, "F6": 10_080, "output": 840}
    assert table.params == 61_706 and table.multiply_adds == 416_520
    classic = ar.layer_costs(lenet5("classic"), (1, 32, 32))
    # the sparse C3 table keeps 1,500 of the 2,400 weights: 10·10·1,500 multiply-adds
    assert dict((n, m) for n, _, _, _, m in classic.rows)["C3"] == 150_000
    assert "total" in str(table) and "<table>" in table._repr_html_()


def test_layer_costs_agree_with_count_parameters():
    for model, shape in [(vgg_mini(), (1, 28, 28)), (resnet_mini(), (1, 28, 28))]:
        table = ar.layer_costs(model, shape)
        assert table.params == nn.count_parameters(model)
    res = ar.layer_costs(resnet_mini(), (1, 28, 28))
    # stem: 28·28 positions × 8 kernels of 1·3·3 weights
    assert res.rows[0][4] == 28 * 28 * 8 * 9
    assert any(row[1] == "add" for row in res.rows)


def test_alexnet_parameters():
    model = ar.alexnet()
    rows = {name: (shape, p) for name, _, shape, p in nn.summary(model, (3, 227, 227)).rows}
    assert rows["conv1"] == ((96, 55, 55), 11 * 11 * 3 * 96 + 96)
    assert rows["pool5"][0] == (256, 6, 6)
    assert rows["fc6"][1] == 256 * 6 * 6 * 4096 + 4096
    assert nn.count_parameters(model) == 62_378_344


def test_alphago_policy_by_hand():
    model = ar.alphago_policy()
    layer1 = 5 * 5 * 48 * 192 + 192
    middle = 11 * (3 * 3 * 192 * 192 + 192)
    assert nn.count_parameters(model) == layer1 + middle + 192 + 1 == 3_882_433
    small = ar.alphago_policy(filters=4)
    assert small.forward(np.zeros((2, 48, 19, 19), dtype=np.float32)).shape == (2, 361)


def test_receptive_field_of_stacked_3x3_is_2n_plus_1():
    for n in range(1, 7):
        r = ar.stack_vs_single(n, kernel=3, channels=10)
        assert r["receptive_field"] == 2 * n + 1
        assert r["stack_params"] == n * 9 * 100 and r["single_params"] == (2 * n + 1) ** 2 * 100
    two, three = ar.stack_vs_single(2), ar.stack_vs_single(3)
    assert two["saving"] == pytest.approx(1 - 18 / 25) and three["saving"] == pytest.approx(1 - 27 / 49)
    assert ar.stack_vs_single(2, kernel=5)["receptive_field"] == 9


def test_bottleneck_by_hand():
    r = ar.bottleneck_cost(192, 16, 32, 5, 28, 28)
    assert r["direct_params"] == 5 * 5 * 192 * 32 == 153_600
    assert r["direct_madds"] == 28 * 28 * 153_600 == 120_422_400
    assert r["bottleneck_params"] == 192 * 16 + 25 * 16 * 32 == 15_872
    assert r["bottleneck_madds"] == 28 * 28 * 15_872 == 12_443_648
    # the same count from cnnlib layers
    branch = nn.Sequential(nn.Conv2d(192, 16, 1, bias=False), nn.Conv2d(16, 32, 5, padding=2, bias=False))
    assert nn.count_parameters(branch) == 15_872


def test_inception_3a():
    module = ar.inception_cost()
    assert module["out_channels"] == 64 + 128 + 32 + 32 == 256
    assert module["params"] == 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32 == 163_328
    assert module["multiply_adds"] == 28 * 28 * 163_328            # about 128 million, as in GoogLeNet's table
    naive = ar.inception_cost(reductions=False)
    assert naive["out_channels"] == 64 + 128 + 32 + 192 and naive["params"] == 192 * (64 + 9 * 128 + 25 * 32)


def test_dense_block_by_hand():
    block = ar.dense_block(16, 12, 4)
    assert block["inputs"] == [16, 28, 40, 52] and block["out_channels"] == 64
    assert block["params"][1] == 9 * 28 * 12 and block["connections"] == 10


def test_deep_mlp_plain_and_residual_have_the_same_parameters():
    plain, residual = ar.deep_mlp(6, False), ar.deep_mlp(6, True)
    assert nn.count_parameters(plain) == nn.count_parameters(residual) == 784 * 32 + 32 + 6 * (32 * 32 + 64) + 330
    with pytest.raises(ValueError, match="even"):
        ar.deep_mlp(5, True)


def test_gradient_norms_identity_path():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    norms = ar.gradient_norms(ar.deep_mlp(4, True), X, y)
    assert [name for name, _ in norms] == ["input.weight", "pair1.block.lin1.weight", "pair1.block.lin2.weight",
                                           "pair2.block.lin1.weight", "pair2.block.lin2.weight", "output.weight"]
    assert all(value > 0 for _, value in norms)


def test_stacked_conv_explorer():
    w = ar.stacked_conv_explorer()
    text, figure = w.outputs["text"], w.outputs["figure"]
    assert "5x5" in text.value and "<b>28%</b>" in text.value      # 1 - 18/25
    before = figure.value
    w.controls["layers"].value = 3
    assert figure.value != before and "7x7" in text.value and "<b>45%</b>" in text.value


def test_bottleneck_explorer():
    w = ar.bottleneck_explorer()
    text = w.outputs["text"]
    assert "<b>153,600</b>" in text.value and "<b>15,872</b>" in text.value and "<b>9.7</b>" in text.value
    before = w.outputs["figure"].value
    w.controls["reduce"].value = 32
    assert w.outputs["figure"].value != before
