"""Batch normalization, dropout, residual connections, global average pooling,
train/eval modes, and the small VGG and ResNet models built from them."""
import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib import nn
from cnnlib.gradcheck import check_module_gradients, numerical_gradient_array, rel_error, spot_check_parameters
from cnnlib.models import resnet_mini, vgg_mini


def _randomize_batchnorm(bn, rng):
    """Give gamma, beta and the running statistics values away from their defaults."""
    c = bn.num_features
    bn.weight.data[...] = rng.uniform(0.5, 2.0, c)
    bn.bias.data[...] = rng.standard_normal(c)
    bn.running_mean[...] = rng.standard_normal(c)
    bn.running_var[...] = rng.uniform(0.5, 2.0, c)
    return bn


def _forward_backward_against_torch(ours, theirs, x, upstream, torch, rtol_out, rtol_dx):
    """Zero the gradients of our module and its PyTorch twin, run one forward and
    backward pass through both, and check that the outputs and ``dx`` agree."""
    ours.zero_grad()
    theirs.zero_grad()
    out = ours.forward(x)
    dx = ours.backward(upstream)
    tx = torch.from_numpy(x).requires_grad_()
    tout = theirs(tx)
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=rtol_out, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=rtol_dx, atol=1e-10)


# ---------------------------------------------------------------------------
# batch normalization: functional pair, fast vs reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 7), (4, 3, 5, 6)], ids=["NC", "NCL", "NCHW"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_fast_matches_the_step_by_step_graph(shape, training, rng):
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    dout = rng.standard_normal(shape)
    stats = {}
    results = {}
    for name, fwd, bwd in [("fast", F.batchnorm_forward, F.batchnorm_backward),
                           ("reference", F.batchnorm_forward_reference, F.batchnorm_backward_reference)]:
        stats[name] = (np.linspace(-1, 1, c), np.linspace(0.5, 2, c))
        out, cache = fwd(x, gamma, beta, *stats[name], training=training, eps=1e-3, momentum=0.3)
        results[name] = (out,) + tuple(bwd(dout, cache))
    for what, a, b in zip(["out", "dx", "dgamma", "dbeta"], results["fast"], results["reference"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=what)
    for a, b in zip(stats["fast"], stats["reference"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_batchnorm_training_output_is_normalized_and_running_var_is_unbiased(rng):
    x = rng.standard_normal((8, 3, 2, 2)) * np.array([1.0, 5.0, 0.1])[None, :, None, None] + 4
    running_mean, running_var = np.zeros(3), np.ones(3)
    out, _ = F.batchnorm_forward(x, np.ones(3), np.zeros(3), running_mean, running_var, momentum=0.25)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)     # eps keeps it just below 1
    batch_mean = x.mean(axis=(0, 2, 3))
    batch_var_unbiased = x.var(axis=(0, 2, 3), ddof=1)                   # 32 values per channel, divide by 31
    np.testing.assert_allclose(running_mean, 0.25 * batch_mean)
    np.testing.assert_allclose(running_var, 0.75 + 0.25 * batch_var_unbiased)


def test_batchnorm_eval_uses_running_statistics_only(rng):
    x = rng.standard_normal((5, 3))
    mean, var = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])
    out, _ = F.batchnorm_forward(x, np.full(3, 2.0), np.full(3, 0.5), mean.copy(), var.copy(), training=False,
                                 eps=1e-9)
    np.testing.assert_allclose(out, 2.0 * (x - mean) / np.sqrt(var + 1e-9) + 0.5)
    # one example is enough in evaluation; training needs at least two values per channel
    F.batchnorm_forward(x[:1], np.ones(3), np.zeros(3), mean, var, training=False)
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batchnorm_forward(x[:1], np.ones(3), np.zeros(3))


def test_batchnorm_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"x.shape=\(2, 3\) has 3 channels .*gamma.shape=\(4,\)"):
        F.batchnorm_forward(np.zeros((2, 3)), np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="pass both"):
        F.batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), training=False)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects \(N, C, H, W\) with C=3, got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\) expects .* with C=4, got shape \(2, 3\)"):
        nn.BatchNorm1d(4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(4, momentum=1.5)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BatchNorm1d(2).backward(np.zeros((3, 2)))
    _, cache = F.batchnorm_forward(np.ones((3, 2)) * np.arange(3)[:, None], np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"dout.shape=\(2, 2\) must equal the forward output shape \(3, 2\)"):
        F.batchnorm_backward(np.zeros((2, 2)), cache)


# ---------------------------------------------------------------------------
# batch normalization modules: central differences in both modes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make,shape", [(lambda: nn.BatchNorm1d(4), (5, 4)),
                                        (lambda: nn.BatchNorm1d(3, eps=0.1), (4, 3, 3)),
                                        (lambda: nn.BatchNorm2d(3), (2, 3, 3, 4))],
                         ids=["1d-NC", "1d-NCL", "2d"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_module_gradients(make, shape, training, rng):
    bn = _randomize_batchnorm(make(), rng).train(training)
    errors = check_module_gradients(bn, rng.standard_normal(shape) * 2 + 0.5)
    assert set(errors) == {"x", "weight", "bias"}
    assert max(errors.values()) < 1e-7, errors


def test_batchnorm_inside_a_network_gradients(rng):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, seed=0), nn.BatchNorm2d(3), nn.Tanh(),
                          nn.Flatten(), nn.Linear(48, 5, seed=1), nn.BatchNorm1d(5), nn.Sigmoid())
    x = rng.standard_normal((4, 2, 4, 4))
    errors = check_module_gradients(model, x)
    # in training a bias just before batch norm is subtracted again with the batch mean:
    # its gradient is exactly 0, which rel_error cannot compare with numerical noise
    for bias in (model[0].bias, model[4].bias):
        assert np.abs(bias.grad).max() < 1e-12 and errors.pop(bias.name) >= 0
    assert max(errors.values()) < 1e-7, errors
    model.eval()
    for bn in (model[1], model[5]):
        _randomize_batchnorm(bn, rng)
    assert max(check_module_gradients(model, x).values()) < 1e-6


def test_batchnorm_float32_stays_float32_and_agrees_with_float64(rng):
    x = rng.standard_normal((8, 3, 5, 5)) * 2 + 1
    upstream = rng.standard_normal(x.shape)
    bn64, bn32 = nn.BatchNorm2d(3), nn.BatchNorm2d(3, dtype=np.float32)
    for mode in (True, False):
        bn64.train(mode), bn32.train(mode)
        out64, out32 = bn64(x), bn32(x.astype(np.float32))
        dx64, dx32 = bn64.backward(upstream), bn32.backward(upstream.astype(np.float32))
        assert out32.dtype == dx32.dtype == np.float32
        assert bn32.weight.grad.dtype == bn32.running_var.dtype == np.float32
        np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dx32, dx64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(bn32.running_var, bn64.running_var, rtol=1e-5)


# ---------------------------------------------------------------------------
# batch normalization against PyTorch, several steps of running statistics
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("momentum,eps", [(0.1, 1e-5), (0.5, 1e-3), (0.01, 0.1), (1.0, 1e-5), (0.0, 1e-5)])
@pytest.mark.parametrize("kind,shape", [("1d", (6, 4)), ("1d", (5, 4, 3)), ("2d", (3, 4, 5, 5))],
                         ids=["1d-NC", "1d-NCL", "2d"])
def test_batchnorm_matches_pytorch_over_several_steps(kind, shape, momentum, eps, rng):
    torch = pytest.importorskip("torch")
    ours = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(shape[1], eps=eps, momentum=momentum)
    theirs = (torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d)(
        shape[1], eps=eps, momentum=momentum).double()
    ours.weight.data[...] = rng.uniform(0.5, 2, shape[1])
    ours.bias.data[...] = rng.standard_normal(shape[1])
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))

    def step(x, upstream):
        _forward_backward_against_torch(ours, theirs, x, upstream, torch, rtol_out=1e-10, rtol_dx=1e-8)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12, atol=1e-14)

    for i in range(5):                         # training: batch statistics, running averages move
        x = rng.standard_normal(shape) * (i + 1) + i
        step(x, rng.standard_normal(shape))
    ours.eval()
    theirs.eval()
    for _ in range(2):                         # evaluation: running statistics, which stay put
        step(rng.standard_normal(shape) * 2, rng.standard_normal(shape))
    ours.train()
    theirs.train()
    step(rng.standard_normal(shape), rng.standard_normal(shape))


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def test_dropout_training_scales_survivors_and_backward_uses_the_same_mask(rng):
    p = 0.3
    drop = nn.Dropout(p, seed=0)
    x = rng.uniform(1, 2, (50, 40, 3))
    out = drop(x)
    ratio = out / x
    assert np.all(np.isclose(ratio, 0) | np.isclose(ratio, 1 / (1 - p)))
    assert abs(np.mean(ratio == 0) - p) < 0.02             # 6,000 draws: 4 standard deviations
    dout = rng.standard_normal(x.shape)
    np.testing.assert_allclose(drop.backward(dout), dout * ratio, rtol=1e-15)
    np.testing.assert_allclose(drop.backward(dout), dout * ratio, rtol=1e-15)   # backward does not draw again
    assert not np.array_equal(drop(x), out)                            # forward does


def test_dropout_gradient_by_central_differences(rng):
    drop = nn.Dropout(0.4)
    x = rng.standard_normal((3, 4, 5))

    def f(z):
        drop.rng = np.random.default_rng(7)                # the same mask at every evaluation
        return drop.forward(z)

    out = f(x)
    dout = rng.standard_normal(out.shape)
    dx = drop.backward(dout)
    assert rel_error(dx, numerical_gradient_array(f, x, dout)) < 1e-9


def test_dropout_eval_is_identity_and_seeds_repeat(rng):
    x = rng.standard_normal((4, 6))
    drop = nn.Dropout(0.5, seed=3).eval()
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x * 2), x * 2)
    a, b = nn.Dropout(0.5, seed=3)(x), nn.Dropout(0.5, seed=3)(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Dropout(0.5, seed=4)(x))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x), x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x), np.zeros_like(x))
    x32 = x.astype(np.float32)
    d32 = nn.Dropout(0.5, seed=1)
    assert d32(x32).dtype == np.float32 and d32.backward(x32).dtype == np.float32
    with pytest.raises(ValueError, match=r"must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Dropout().backward(x)


def test_functional_dropout_pair(rng):
    x = rng.standard_normal((10, 10))
    out, mask = F.dropout_forward(x, 0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(F.dropout_backward(np.ones_like(x), mask), mask)
    np.testing.assert_array_equal(out, x * mask)
    same, none = F.dropout_forward(x, 0.5, training=False)
    assert same is x and none is None
    with pytest.raises(ValueError, match="dout.shape"):
        F.dropout_backward(np.ones((2, 2)), mask)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_has_pytorch_semantics(p, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = rng.uniform(1, 2, (200, 100))
    dout = rng.standard_normal(x.shape)
    ours = nn.Dropout(p, seed=0)
    theirs = torch.nn.Dropout(p)
    tx = torch.from_numpy(x).requires_grad_()
    tout = theirs(tx)
    tout.backward(torch.from_numpy(dout))
    out, dx = ours(x), ours.backward(dout)
    for o, g in [(out, dx), (tout.detach().numpy(), tx.grad.numpy())]:
        ratio = o / x
        kept = ratio != 0
        np.testing.assert_allclose(ratio[kept], 1 / (1 - p))           # the same scale of the survivors
        assert abs(np.mean(~kept) - p) < 0.02                           # the same rate (20,000 draws)
        np.testing.assert_allclose(g, dout * ratio)                     # the gradient follows the mask
    ours.eval()
    theirs.eval()
    np.testing.assert_array_equal(ours(x), theirs(torch.from_numpy(x)).numpy())


# ---------------------------------------------------------------------------
# global average pooling and residual connections
# ---------------------------------------------------------------------------

def test_global_avg_pool_equals_full_window_average_pool(rng):
    x = rng.standard_normal((3, 4, 5, 6))
    gap = nn.GlobalAvgPool2d()
    ref = nn.Sequential(nn.AvgPool2d((5, 6)), nn.Flatten())
    np.testing.assert_allclose(gap(x), ref(x), rtol=1e-12)
    dout = rng.standard_normal((3, 4))
    np.testing.assert_allclose(gap.backward(dout), ref.backward(dout), rtol=1e-12)
    assert max(check_module_gradients(gap, x[:2, :2]).values()) < 1e-8
    assert gap(x.astype(np.float32)).dtype == gap.backward(dout.astype(np.float32)).dtype == np.float32
    assert gap.output_shape((4, 5, 6)) == (4,)
    with pytest.raises(ValueError, match=r"expects \(N, C, H, W\), got shape \(3, 4\)"):
        gap(np.zeros((3, 4)))


def _small_residual(shortcut, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    stride = 2 if shortcut else 1
    # no bias before batch norm: its gradient would be exactly 0 (the batch mean takes it away again)
    block = nn.Sequential(("conv1", nn.Conv2d(2, 3 if shortcut else 2, 3, stride=stride, padding=1, bias=False,
                                              seed=rng)),
                          ("bn1", nn.BatchNorm2d(3 if shortcut else 2)), ("act", nn.Tanh()),
                          ("conv2", nn.Conv2d(3 if shortcut else 2, 3 if shortcut else 2, 3, padding=1, seed=rng)))
    short = nn.Sequential(("conv", nn.Conv2d(2, 3, 1, stride=2, bias=False, seed=rng)), ("bn", nn.BatchNorm2d(3))) \
        if shortcut else None
    return nn.Residual(block, short)


@pytest.mark.parametrize("shortcut", [False, True], ids=["identity", "projection"])
def test_residual_gradients_and_parameters(shortcut, rng):
    res = _small_residual(shortcut)
    x = rng.standard_normal((3, 2, 4, 4))
    errors = check_module_gradients(res, x)
    assert max(errors.values()) < 1e-7, errors
    names = [p.name for p in res.parameters()]
    assert names[:3] == ["block.conv1.weight", "block.bn1.weight", "block.bn1.bias"]
    assert ("shortcut.conv.weight" in names) == shortcut
    assert nn.count_parameters(res) == sum(p.data.size for p in res.parameters())
    if not shortcut:                       # block(x) + x: the identity path adds dout itself
        res.forward(x)
        dout = rng.standard_normal(x.shape)
        res.zero_grad()
        dx = res.backward(dout)
        res.block.forward(x)
        np.testing.assert_allclose(dx, res.block.backward(dout) + dout, rtol=1e-12)


@pytest.mark.parametrize("shortcut", [False, True], ids=["identity", "projection"])
def test_residual_backward_without_input_gradient_gives_the_same_parameter_gradients(shortcut, rng):
    full, fast = _small_residual(shortcut), _small_residual(shortcut)
    x = rng.standard_normal((2, 2, 4, 4))
    out = full.forward(x)
    fast.forward(x)
    dout = rng.standard_normal(out.shape)
    full.backward(dout)
    assert fast.backward(dout, need_dx=False) is None
    for p, q in zip(full.parameters(), fast.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=p.name)


def test_residual_shape_mismatch_says_what_to_do():
    res = nn.Residual(nn.Conv2d(1, 2, 3, padding=1))
    with pytest.raises(ValueError, match=r"block gives \(1, 2, 4, 4\) but the identity shortcut gives "
                                         r"\(1, 1, 4, 4\).*1x1 Conv2d"):
        res(np.zeros((1, 1, 4, 4)))
    with pytest.raises(TypeError, match="not a cnnlib.nn.Module"):
        nn.Residual("conv")


# ---------------------------------------------------------------------------
# train() / eval() through nested containers, state and summary
# ---------------------------------------------------------------------------

def _nested_model():
    inner = nn.Sequential(("conv", nn.Conv2d(2, 2, 3, padding=1, seed=0)), ("bn", nn.BatchNorm2d(2)),
                          ("drop", nn.Dropout(0.5, seed=0)))
    return nn.Sequential(("stem", nn.Conv2d(1, 2, 3, padding=1, seed=1)), ("bn0", nn.BatchNorm2d(2)),
                         ("res", nn.Residual(inner)), ("gap", nn.GlobalAvgPool2d()),
                         ("drop", nn.Dropout(0.2, seed=1)), ("fc", nn.Linear(2, 3, seed=2)),
                         ("bn_fc", nn.BatchNorm1d(3)))


def test_train_and_eval_reach_every_layer_of_a_nested_model():
    model = _nested_model()
    modules = model.modules()
    assert len(modules) == 12                    # 2 Sequentials, 1 Residual, 9 layers
    assert all(m.training for m in modules)      # default: training
    assert model.eval() is model
    assert not any(m.training for m in modules)
    assert model["res"].block["bn"].training is False
    assert model.train() is model and all(m.training for m in modules)
    model["res"].eval()                          # a sub-tree only
    assert not model["res"].block["drop"].training and model["drop"].training
    assert model.train(False) is model and not any(m.training for m in modules)


def test_eval_mode_makes_a_nested_model_deterministic(rng):
    model = _nested_model()
    x = rng.standard_normal((4, 1, 5, 5))
    for _ in range(3):
        model.forward(x)                         # training: dropout differs, running statistics move
    model.eval()
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    # no batch statistics: an example's output does not depend on the rest of the batch
    np.testing.assert_allclose(model.forward(x[:1]), model.forward(x)[:1], rtol=1e-12, atol=1e-15)


def test_summary_runs_in_eval_mode_and_restores_the_modes():
    model = _nested_model()
    model["res"].eval()
    before = {name: value.copy() for name, value in model.named_buffers()}
    s = nn.summary(model, (1, 5, 5))             # one image: training-mode BatchNorm1d could not run
    after = dict(model.named_buffers())
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert model.training and model["bn0"].training and not model["res"].block["drop"].training
    names = [row[0] for row in s.rows]
    assert names == ["stem", "bn0", "res", "res.block.conv", "res.block.bn", "res.block.drop",
                     "res.shortcut", "gap", "drop", "fc", "bn_fc"]
    assert s.depths == [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    assert sum(p for (_, _, _, p), d in zip(s.rows, s.depths) if d == 0) == s.total == nn.count_parameters(model)
    text = str(s)
    assert "res (Residual)" in text and "\n  res.block.conv (Conv2d)" in text
    assert "res.shortcut (identity)" in text and "padding-left" in s._repr_html_()


def test_state_dict_keeps_running_statistics(tmp_path, rng):
    model = _nested_model()
    x = rng.standard_normal((4, 1, 5, 5))
    for _ in range(3):
        model.forward(x)
    state = model.state_dict()
    assert {"bn0.running_mean", "bn0.running_var", "res.block.bn.running_var", "bn_fc.running_mean",
            "res.block.conv.weight", "bn0.weight"} <= set(state)
    path = tmp_path / "model.npz"
    model.save(path)
    other = _nested_model().load(path)
    np.testing.assert_array_equal(other["bn0"].running_var, model["bn0"].running_var)
    model.eval(), other.eval()
    np.testing.assert_array_equal(model.forward(x), other.forward(x))
    del state["bn0.running_var"]
    with pytest.raises(ValueError, match=r"Missing: \['bn0.running_var'\]"):
        other.load_state_dict(state)
    model.astype(np.float32)
    assert model["bn0"].running_mean.dtype == model["res"].block["bn"].running_var.dtype == np.float32
    assert model.forward(x.astype(np.float32)).dtype == np.float32


# ---------------------------------------------------------------------------
# vgg_mini and resnet_mini
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make,count", [(vgg_mini, 18_482), (resnet_mini, 19_810)])
@pytest.mark.parametrize("size", [28, 32])
def test_small_models_shapes_counts_and_summary(make, count, size, rng):
    model = make()
    assert nn.count_parameters(model) == count
    out = model.forward(rng.standard_normal((3, 1, size, size)))
    assert out.shape == (3, 10)
    s = nn.summary(model, (1, size, size))
    assert s.total == count and s.rows[-1][2] == (10,)
    assert sum(p for (_, _, _, p), d in zip(s.rows, s.depths) if d == 0) == count
    assert all(m.training for m in model.modules())
    if make is resnet_mini:
        rows = {name: (shape, params) for name, _, shape, params in s.rows}
        half, quarter = size // 2, size // 4
        assert rows["res1"][0] == (8, size, size) and rows["res1.shortcut"] == ((8, size, size), 0)
        assert rows["res2"][0] == (16, half, half) and rows["res2.shortcut.conv"][1] == 8 * 16
        assert rows["res3"][0] == (32, quarter, quarter)


@pytest.mark.parametrize("make", [vgg_mini, resnet_mini])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_small_models_gradients_spot_checked(make, training, rng):
    model = make(channels=(3, 4), seed=1) if make is resnet_mini else make(channels=(3, 4), dropout=0.0, seed=1)
    x = rng.standard_normal((4, 1, 12, 12))
    if not training:
        for _ in range(2):
            model.forward(rng.standard_normal(x.shape))      # running statistics away from 0 and 1
    model.train(training)
    out = model.forward(x)
    upstream = rng.standard_normal(out.shape)
    model.zero_grad()
    dx = model.backward(upstream)
    # the input gradient of the first example in full (in training it moves every output through
    # the batch statistics), then a few entries of every parameter
    def f(first):
        return model.forward(np.concatenate([first, x[1:]]))

    assert rel_error(dx[:1], numerical_gradient_array(f, x[:1].copy(), upstream, h=1e-6)) < 1e-5
    for name, i, num, grad in spot_check_parameters(model, x, upstream, rng, entries=3, h=1e-6):
        assert abs(num - grad) <= 1e-6 * max(1.0, abs(num)), (name, i, num, grad)


@pytest.mark.parametrize("make", [vgg_mini, resnet_mini])
def test_small_models_float32_and_fast_backward(make, rng):
    m32 = make(dtype=np.float32)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    out = m32.forward(x)
    assert out.dtype == np.float32
    assert m32.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in m32.parameters())
    assert all(b.dtype == np.float32 for _, b in m32.named_buffers())
    full, fast = make(seed=2), make(seed=2)
    x64 = x.astype(np.float64)
    upstream = rng.standard_normal((4, 10))
    full.forward(x64)
    full.backward(upstream)
    fast.forward(x64)
    assert fast.backward(upstream, need_dx=False) is None
    for p, q in zip(full.parameters(), fast.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=p.name)


@pytest.mark.parametrize("make", [vgg_mini, resnet_mini])
def test_small_models_learn_a_toy_problem(make):
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, train_step

    # a bright 2x2 square in one of the four quarters of an 8x8 image -> class = quarter
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 128)
    x = rng.uniform(0, 0.2, (128, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, 0, r * 4 + 1:r * 4 + 3, q * 4 + 1:q * 4 + 3] += 1
    model = make(num_classes=4, channels=(4, 8), dtype=np.float32)
    optimizer = Adam(model.parameters(), lr=3e-2)
    for _ in range(40):
        idx = rng.choice(128, 32, replace=False)
        train_step(model, optimizer, x[idx], y[idx])
    _, accuracy = evaluate(model, x, y)            # evaluation mode: running statistics, no dropout
    assert accuracy > 0.9
    assert model.training                          # evaluate restores the mode


# ---------------------------------------------------------------------------
# whole networks against PyTorch
# ---------------------------------------------------------------------------

def _to_torch(module, torch):
    """The same network in PyTorch, sharing our parameter values (float64)."""
    tnn = torch.nn

    class Add(tnn.Module):
        def __init__(self, block, shortcut):
            super().__init__()
            self.block, self.shortcut = block, shortcut

        def forward(self, x):
            return self.block(x) + (x if self.shortcut is None else self.shortcut(x))

    if isinstance(module, nn.Sequential):
        return tnn.Sequential(*[_to_torch(m, torch) for m in module])
    if isinstance(module, nn.Residual):
        return Add(_to_torch(module.block, torch),
                   None if module.shortcut is None else _to_torch(module.shortcut, torch))
    if isinstance(module, nn.Conv2d):
        t = tnn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                       module.padding, bias=module.bias is not None)
    elif isinstance(module, nn.Linear):
        t = tnn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        t = getattr(tnn, type(module).__name__)(module.num_features, eps=module.eps, momentum=module.momentum)
    elif isinstance(module, nn.ReLU):
        return tnn.ReLU()
    elif isinstance(module, nn.MaxPool2d):
        return tnn.MaxPool2d(module.kernel_size, module.stride)
    elif isinstance(module, nn.GlobalAvgPool2d):
        return tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten())
    else:
        raise TypeError(type(module).__name__)
    t = t.double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(module.weight.data))
        if module.bias is not None:
            t.bias.copy_(torch.from_numpy(module.bias.data))
    module._torch_twin = t
    return t


@pytest.mark.parametrize("make", [lambda: resnet_mini(seed=4), lambda: vgg_mini(dropout=0.0, seed=4)],
                         ids=["resnet_mini", "vgg_mini"])
def test_small_models_match_pytorch_in_training_and_evaluation(make, rng):
    torch = pytest.importorskip("torch")
    model = make()
    net = _to_torch(model, torch)
    layers_with_params = [m for m in model.modules() if hasattr(m, "_torch_twin")]
    for step in range(4):
        training = step < 3
        model.train(training)
        net.train(training)
        x = rng.standard_normal((6, 1, 28, 28))
        upstream = rng.standard_normal((6, 10))
        _forward_backward_against_torch(model, net, x, upstream, torch, rtol_out=1e-8, rtol_dx=1e-7)
        for m in layers_with_params:
            t = m._torch_twin
            np.testing.assert_allclose(m.weight.grad, t.weight.grad.numpy(), rtol=1e-7, atol=1e-10,
                                       err_msg=m.weight.name)
            if isinstance(m, nn.BatchNorm2d):
                np.testing.assert_allclose(m.running_var, t.running_var.numpy(), rtol=1e-10)
                np.testing.assert_allclose(m.running_mean, t.running_mean.numpy(), rtol=1e-10, atol=1e-14)
