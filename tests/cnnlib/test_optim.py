"""Optimizers against hand-computed updates."""
import numpy as np
import pytest

from cnnlib import nn
from cnnlib.optim import SGD, Adam


def _param(values, grad):
    p = nn.Parameter(np.array(values, dtype=float), "w")
    p.grad[...] = grad
    return p


def test_sgd_plain_and_weight_decay():
    p = _param([1.0, -2.0], [0.5, 0.5])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.05])
    p = _param([1.0, -2.0], [0.5, 0.5])
    SGD([p], lr=0.1, weight_decay=0.1).step()  # g = 0.5 + 0.1 w
    np.testing.assert_allclose(p.data, [1 - 0.1 * 0.6, -2 - 0.1 * 0.3])


def test_sgd_momentum_by_hand():
    # f(w) = w^2 / 2, grad = w; lr 0.1, momentum 0.9, from w = 1
    p = _param([1.0], [0.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    w, v, trace = 1.0, 0.0, []
    for _ in range(3):
        p.grad[...] = p.data
        opt.step()
        v = 0.9 * v + w
        w = w - 0.1 * v
        trace.append(w)
        assert p.data[0] == pytest.approx(w, rel=1e-12)
    # by hand: 0.9, 0.9 - 0.1*(0.9*1 + 0.9) = 0.72, 0.72 - 0.1*(0.9*1.8 + 0.72) = 0.486
    np.testing.assert_allclose(trace, [0.9, 0.72, 0.486], rtol=1e-12)


def test_adam_first_step_is_lr_times_sign():
    # with bias correction, m_hat = g and v_hat = g^2, so the first step is lr * g / |g|
    p = _param([0.0, 0.0, 0.0], [3.0, -0.02, 1e3])
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01], rtol=1e-5)


def test_adam_minimises_a_quadratic():
    target = np.array([3.0, -1.0, 0.5])
    p = _param(np.zeros(3), np.zeros(3))
    opt = Adam([p], lr=0.05)
    for _ in range(2000):
        opt.zero_grad()
        p.grad += 2 * (p.data - target)
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=1e-3)


def test_optimizers_keep_masked_weights_zero():
    conv = nn.Conv2d(2, 2, 1, connection_table=[[1, 0], [0, 1]], seed=0)
    for opt in (SGD(conv.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1), Adam(conv.parameters())):
        conv.weight.grad[...] = 1.0
        opt.step()
        assert conv.weight.data[0, 1, 0, 0] == 0 and conv.weight.data[1, 0, 0, 0] == 0


def test_optimizer_errors():
    p = _param([1.0], [0.0])
    with pytest.raises(ValueError, match="learning rate"):
        SGD([p], lr=0)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=1.5)


def test_optimizers_match_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(4)]
    for ours_cls, theirs_cls, kw in [(SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
                                     (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.01))]:
        p = _param(w0.copy(), 0)
        t = torch.tensor(w0.copy(), requires_grad=True)
        ours, theirs = ours_cls([p], **kw), theirs_cls([t], **kw)
        for g in grads:
            p.grad[...] = g
            t.grad = torch.tensor(g)
            ours.step()
            theirs.step()
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10)
