"""Modules, parameter counting, summary and the two LeNet-5 variants."""
import numpy as np
import pytest

from cnnlib import nn
from cnnlib.gradcheck import check_module_gradients, spot_check_parameters
from cnnlib.models import LENET5_C3_TABLE, lenet5


def _tiny_input(rng, shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("module,shape", [
    (nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, seed=1), (2, 2, 5, 6)),
    (nn.Conv2d(3, 2, 3, bias=False, seed=2), (2, 3, 5, 5)),
    (nn.Linear(6, 4, seed=3), (3, 6)),
    (nn.Subsampling(3), (2, 3, 4, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3, seed=0)),
     (2, 1, 6, 6)),
    (nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, seed=0), nn.ELU(), nn.L2Pool2d(2, 1), nn.Sigmoid()), (1, 2, 4, 4)),
], ids=["conv-stride-pad", "conv-nobias", "linear", "subsampling", "small-cnn", "elu-l2pool"])
def test_module_backward_matches_central_differences(module, shape, rng):
    errors = check_module_gradients(module, _tiny_input(rng, shape))
    assert errors and max(errors.values()) < 1e-7, errors


def test_sparse_connection_table_gradient_and_mask(rng):
    table = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    conv = nn.Conv2d(3, 2, 3, connection_table=table, seed=0)
    assert np.all(conv.weight.data[~table] == 0)
    # conv is linear in x and w, so a large step has no truncation error and less rounding noise
    errors = check_module_gradients(conv, rng.standard_normal((2, 3, 5, 5)), h=1e-3)
    assert max(errors.values()) < 1e-7, errors
    assert np.all(conv.weight.grad[~table] == 0)
    assert nn.count_parameters(conv) == 2 * 2 * 9 + 2


def test_relu_module_gradient_away_from_kink(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    x[np.abs(x) < 1e-2] = 0.3
    seq = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    assert max(check_module_gradients(seq, x).values()) < 1e-7


def test_modern_lenet5_parameter_count_and_shapes():
    model = lenet5("modern")
    assert nn.count_parameters(model) == 61_706
    s = nn.summary(model, (1, 32, 32))
    shapes = {name: shape for name, _, shape, _ in s.rows}
    assert shapes["C1"] == (6, 28, 28) and shapes["S2"] == (6, 14, 14)
    assert shapes["C3"] == (16, 10, 10) and shapes["S4"] == (16, 5, 5)
    assert shapes["flatten"] == (400,) and shapes["output"] == (10,)
    params = {name: p for name, _, _, p in s.rows}
    assert params == {"C1": 156, "relu1": 0, "S2": 0, "C3": 2416, "relu3": 0, "S4": 0, "flatten": 0,
                      "C5": 48_120, "relu5": 0, "F6": 10_164, "relu6": 0, "output": 850}
    text = str(s)
    assert "Total params: 61,706" in text and "(6, 28, 28)" in text and "Conv2d" in text
    assert "<table>" in s._repr_html_()


def test_classic_lenet5_matches_lecun_1998_counts():
    model = lenet5("classic")
    counts = {name: nn.count_parameters(layer) for name, layer in zip(model.names, model.layers)}
    assert counts["C1"] == 156
    assert counts["S2"] == 12
    assert counts["C3"] == 1_516
    assert counts["S4"] == 32
    assert counts["C5"] == 48_120
    assert counts["F6"] == 10_164
    s = nn.summary(model, (1, 32, 32))
    assert dict((n, sh) for n, _, sh, _ in s.rows)["C5"] == (120, 1, 1)


def test_c3_connection_table_is_lecuns():
    # Table I of LeCun et al. (1998): 6 maps with 3 inputs, 9 with 4, 1 with 6
    fan_in = LENET5_C3_TABLE.sum(axis=1)
    assert list(fan_in) == [3] * 6 + [4] * 9 + [6]
    # every S2 map feeds exactly 10 of the 16 C3 maps
    assert list(LENET5_C3_TABLE.sum(axis=0)) == [10] * 6
    # weights between S2 and C3 if fully connected: 16 x 6 x 5 x 5 = 2,400
    assert nn.count_parameters(lenet5("modern")["C3"].weight) == 16 * 6 * 5 * 5 == 2_400
    # with the sparse table: 60 connections x 25 weights + 16 biases
    assert 25 * LENET5_C3_TABLE.sum() + 16 == 1_516


@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_lenet5_full_backward_gradcheck(variant, rng):
    model = lenet5(variant, seed=3)
    x = rng.standard_normal((2, 1, 32, 32))
    out = model.forward(x)
    upstream = rng.standard_normal(out.shape)
    model.zero_grad()
    model.backward(upstream)
    # spot-check a few entries of each parameter with central differences
    for name, i, num, grad in spot_check_parameters(model, x, upstream, rng, entries=3, h=1e-6):
        assert abs(num - grad) <= 1e-6 * max(1.0, abs(num)), (name, i, num, grad)


def test_lenet5_seed_and_float32():
    a, b = lenet5(seed=7), lenet5(seed=7)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    c = lenet5(seed=8)
    assert not np.array_equal(a.parameters()[0].data, c.parameters()[0].data)
    m32 = lenet5(dtype=np.float32)
    out = m32.forward(np.zeros((2, 1, 32, 32), dtype=np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 10)
    dx = m32.backward(np.ones_like(out))
    assert dx.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in m32.parameters())


def test_state_dict_roundtrip_and_errors(tmp_path):
    model = lenet5(seed=1)
    path = tmp_path / "w.npz"
    model.save(path)
    other = lenet5(seed=2).load(path)
    x = np.random.default_rng(0).standard_normal((3, 1, 32, 32))
    np.testing.assert_array_equal(model.forward(x), other.forward(x))
    state = model.state_dict()
    assert "C1.weight" in state and state["C1.weight"].shape == (6, 1, 5, 5)
    bad = dict(state)
    bad["C1.weight"] = np.zeros((6, 1, 3, 3))
    with pytest.raises(ValueError, match=r"C1.weight has shape \(6, 1, 3, 3\)"):
        other.load_state_dict(bad)
    del bad["C1.weight"]
    with pytest.raises(ValueError, match="Missing: \\['C1.weight'\\]"):
        other.load_state_dict(bad)


def test_module_errors_are_clear():
    with pytest.raises(ValueError, match="channels must be positive"):
        nn.Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="stride >= 1"):
        nn.Conv2d(1, 3, 3, stride=0)
    with pytest.raises(ValueError, match="connection_table"):
        nn.Conv2d(3, 2, 3, connection_table=np.ones((3, 2)))
    with pytest.raises(TypeError, match="not a cnnlib.nn.Module"):
        nn.Sequential(nn.ReLU(), "relu")
    with pytest.raises(ValueError, match="layer C5 \\(Linear\\)"):
        nn.summary(nn.Sequential(("flat", nn.Flatten()), ("C5", nn.Linear(10, 2))), (1, 4, 4))
    with pytest.raises(ValueError, match="unknown variant"):
        lenet5("alexnet")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Linear(2, 2).backward(np.zeros((1, 2)))


def test_lenet5_matches_pytorch_when_installed(rng):
    torch = pytest.importorskip("torch")
    model = lenet5("modern", seed=0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10)).double()
    torch_params = [p for p in net.parameters()]
    for ours, theirs in zip(model.parameters(), torch_params):
        theirs.data = torch.from_numpy(ours.data.copy())
    x = rng.standard_normal((4, 1, 32, 32))
    y = np.array([1, 2, 3, 4])
    from cnnlib.functional import softmax_cross_entropy

    scores = model.forward(x)
    loss, dscores = softmax_cross_entropy(scores, y)
    model.zero_grad()
    model.backward(dscores)
    t_scores = net(torch.from_numpy(x))
    t_loss = torch.nn.functional.cross_entropy(t_scores, torch.from_numpy(y))
    t_loss.backward()
    np.testing.assert_allclose(scores, t_scores.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for ours, theirs in zip(model.parameters(), torch_params):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("variant", ["modern", "classic"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_without_input_gradient_gives_the_same_parameter_gradients(variant, dtype, rng):
    # The training fast path (need_dx=False) stops at the first layer with
    # parameters and skips its input gradient; every param.grad must be
    # exactly what the full backward pass gives.
    full, fast = lenet5(variant, seed=5, dtype=dtype), lenet5(variant, seed=5, dtype=dtype)
    x = rng.standard_normal((3, 1, 32, 32)).astype(dtype)
    upstream = rng.standard_normal((3, 10)).astype(dtype)
    full.forward(x)
    dx = full.backward(upstream)
    fast.forward(x)
    assert fast.backward(upstream, need_dx=False) is None
    assert dx.shape == x.shape and dx.dtype == dtype
    for p, q in zip(full.parameters(), fast.parameters()):
        assert q.grad.dtype == dtype
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=p.name)


@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_float32_network_agrees_with_float64(variant, rng):
    # The same weights in both precisions: the float32 fast paths (C1 and C3
    # on the slabs) must give the float64 scores and
    # gradients to float32 accuracy, not merely keep the dtype.
    m64, m32 = lenet5(variant, seed=3), lenet5(variant, seed=3, dtype=np.float32)
    for p64, p32 in zip(m64.parameters(), m32.parameters()):
        p32.data[...] = p64.data
        p64.data[...] = p32.data            # both hold the float32-rounded weights
    x = rng.standard_normal((8, 1, 32, 32)).astype(np.float32)
    upstream = rng.standard_normal((8, 10)).astype(np.float32)
    out64, out32 = m64.forward(x.astype(np.float64)), m32.forward(x)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-5 * np.abs(out64).max())
    dx64, dx32 = m64.backward(upstream.astype(np.float64)), m32.backward(upstream)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-3, atol=1e-5 * np.abs(dx64).max())
    for p64, p32 in zip(m64.parameters(), m32.parameters()):
        assert p32.grad.dtype == np.float32
        np.testing.assert_allclose(p32.grad, p64.grad, rtol=1e-3, atol=1e-5 * np.abs(p64.grad).max(),
                                   err_msg=p64.name)


def test_backward_without_input_gradient_skips_leading_layers_and_stops_at_first_parameters(rng):
    calls = []

    class Recorder(nn.ReLU):
        def backward(self, dout):
            calls.append(dout.shape)
            return super().backward(dout)

    model = nn.Sequential(Recorder(), nn.Conv2d(1, 2, 3, seed=0), nn.Flatten(), nn.Linear(8, 2, seed=0))
    x = rng.standard_normal((2, 1, 4, 4))
    model.forward(x)
    model.backward(np.ones((2, 2)), need_dx=False)
    assert calls == []                       # nothing below the first conv runs
    model.backward(np.ones((2, 2)))
    assert calls == [(2, 1, 4, 4)]
    # a model whose first parametric layer cannot skip dx still gets its gradients
    linear_first = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, seed=0))
    linear_first.forward(x)
    linear_first.zero_grad()
    assert linear_first.backward(np.ones((2, 2)), need_dx=False) is None
    # dW = dout^T x_flat: with dout all ones, every row is the sum of the flattened inputs
    np.testing.assert_allclose(linear_first[1].weight.grad, np.ones((2, 1)) * x.reshape(2, -1).sum(axis=0))
