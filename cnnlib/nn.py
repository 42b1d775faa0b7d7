"""Layers as modules with ``forward(x)``, ``backward(dout)`` and ``parameters()``.

A module remembers what its last ``forward`` needs (the cache of the functional
pair) so that ``backward(dout)`` can return ``dx`` and *add* the parameter
gradients into ``param.grad`` (call ``optimizer.zero_grad()`` between steps,
as in PyTorch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import activations as A
from . import batchnorm as B
from . import conv as C
from . import dropout as D
from . import linear as L
from . import pool as P
from ._checks import pair as _pair

__all__ = [
    "Parameter", "Module", "Conv2d", "Linear", "ReLU", "Tanh", "ScaledTanh", "Sigmoid", "LeakyReLU",
    "ELU", "MaxPool2d", "AvgPool2d", "L2Pool2d", "Subsampling", "Flatten", "Sequential",
    "BatchNorm1d", "BatchNorm2d", "Dropout", "Residual", "GlobalAvgPool2d",
    "count_parameters", "summary", "ModelSummary", "init_weight",
]


class Parameter:
    """A trainable array with its gradient.

    Attributes
    ----------
    data : ndarray
        The value (updated in place by optimizers).
    grad : ndarray
        Same shape and dtype as ``data``; backward passes add into it.
    name : str
        Dotted name inside the model, e.g. ``"conv1.weight"``.
    mask : ndarray of bool or None
        Entries that exist (sparse connection tables); masked-out entries stay 0
        and are not counted as parameters.
    """

    def __init__(self, data, name="", mask=None):
        self.data = np.asarray(data)
        self.grad = np.zeros_like(self.data)
        self.name = name
        self.mask = None if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), self.data.shape).copy()
        if self.mask is not None:
            self.data *= self.mask

    @property
    def shape(self):
        return self.data.shape

    @property
    def size(self):
        """Number of trainable entries (masked-out entries excluded)."""
        return int(self.mask.sum()) if self.mask is not None else int(self.data.size)

    def zero_grad(self):
        self.grad[...] = 0

    def __repr__(self):
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.data.dtype})"


def init_weight(shape, fan_in, fan_out, method, rng, dtype):
    """Random initial weights.

    ``he``: normal with std sqrt(2 / fan_in) (He et al., 2015, for ReLU);
    ``xavier``: uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010, for tanh/sigmoid);
    ``lecun``: uniform in +-2.4 / fan_in (LeCun et al., 1998, appendix A).
    """
    if method == "he":
        w = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
    elif method == "xavier":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=shape)
    elif method == "lecun":
        limit = 2.4 / fan_in
        w = rng.uniform(-limit, limit, size=shape)
    else:
        raise ValueError(f"unknown init {method!r}; choose 'he', 'xavier' or 'lecun'")
    return w.astype(dtype)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class Module:
    """Base class: subclasses implement ``forward``, ``backward`` and list ``_params``.

    A module whose ``backward`` accepts ``need_dx=False`` (skip the gradient
    with respect to its input) sets the class attribute ``can_skip_input_grad``.
    A container lists the modules it holds in ``named_children()``, so that
    ``train()``/``eval()``, buffers and ``state_dict`` reach them; a layer with
    non-trainable state (running statistics) names its array attributes in
    ``_buffer_names``.
    """

    can_skip_input_grad = False

    def __init__(self):
        self._params: dict[str, Parameter] = {}
        self.training = True

    # -- the interface every layer has ---------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """List of :class:`Parameter` (value with its gradient), in a fixed order."""
        return list(self._params.values())

    def named_parameters(self):
        return [(p.name, p) for p in self.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    # -- modules inside modules -------------------------------------------------
    def named_children(self):
        """``(name, module)`` pairs of the modules this one holds (containers override)."""
        return []

    def children(self):
        return [module for _, module in self.named_children()]

    def modules(self):
        """This module and every module inside it, depth first."""
        found = [self]
        for child in self.children():
            found += child.modules()
        return found

    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode here and in every module inside; returns self.

        Layers that behave differently (batch normalization, dropout) read ``self.training``.
        """
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    # -- buffers: arrays that are state but not trained (running statistics) -----
    _buffer_names = ()

    def _buffer_slots(self, prefix=""):
        slots = [(f"{prefix}{attr}", self, attr) for attr in self._buffer_names]
        for name, child in self.named_children():
            slots += child._buffer_slots(f"{prefix}{name}.")
        return slots

    def named_buffers(self):
        """``(dotted name, array)`` of the non-trainable state, e.g. ``("bn1.running_mean", array)``."""
        return [(name, getattr(module, attr)) for name, module, attr in self._buffer_slots()]

    def astype(self, dtype):
        """Convert parameters (and gradients) and buffers to ``dtype`` in place; returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = np.zeros_like(p.data)
        for _, module, attr in self._buffer_slots():
            setattr(module, attr, getattr(module, attr).astype(dtype))
        return self

    @property
    def dtype(self):
        ps = self.parameters()
        return ps[0].data.dtype if ps else None

    # -- saving and loading ----------------------------------------------------
    def state_dict(self):
        """Copies of the parameters and buffers (running statistics), keyed by dotted name."""
        state = {p.name: p.data.copy() for p in self.parameters()}
        state.update((name, np.array(value, copy=True)) for name, value in self.named_buffers())
        return state

    def load_state_dict(self, state):
        """Copy arrays into the parameters and buffers; names and shapes must match exactly."""
        own = {p.name: p for p in self.parameters()}
        own.update((name, _BufferSlot(module, attr)) for name, module, attr in self._buffer_slots())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: names do not match this model. Missing: {missing or 'none'}; "
                f"unexpected: {unexpected or 'none'}. Expected names: {list(own)}"
            )
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.data.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {value.shape} in the file but {p.data.shape} in the model"
                )
            p.data[...] = value
            if p.mask is not None:
                p.data *= p.mask
        return self

    def save(self, path):
        """Save the parameters and buffers to an ``.npz`` file (names as keys)."""
        np.savez(path, **self.state_dict())

    def load(self, path):
        """Load parameters saved by :meth:`save`."""
        with np.load(path) as f:
            return self.load_state_dict({k: f[k] for k in f.files})

    def _add_param(self, local_name, data, mask=None):
        p = Parameter(data, local_name, mask)
        self._params[local_name] = p
        return p

    def _rename(self, prefix):
        for local, p in self._params.items():
            p.name = f"{prefix}.{local}" if prefix else local

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


class _BufferSlot:
    """A buffer seen through the ``data``/``mask`` interface of a Parameter (for load_state_dict)."""

    mask = None

    def __init__(self, module, attr):
        self.module, self.attr = module, attr

    @property
    def data(self):
        return getattr(self.module, self.attr)


def _accumulate(p, g):
    if g is None:
        return
    if p.mask is not None:
        g = g * p.mask
    p.grad += g


class Conv2d(Module):
    """2-D convolution layer (cross-correlation, as in every deep-learning library).

    ``weight`` has shape ``(out_channels, in_channels, KH, KW)``, ``bias`` ``(out_channels,)``.
    Output size per axis: ``(n + 2 pad - k) // stride + 1``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding : int or (int, int)
    bias : bool
    init : {"he", "xavier", "lecun"}
    seed : int or numpy.random.Generator
        Seed of the initial weights (explicit so runs are repeatable).
    connection_table : array_like of bool, shape (out_channels, in_channels), optional
        Which input maps feed which output map (LeNet-5's sparse C3 layer).
    dtype : numpy dtype
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 init="he", seed=0, connection_table=None, dtype=np.float64):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: channels must be positive, got in={in_channels}, out={out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"Conv2d: need kernel_size >= 1, stride >= 1, padding >= 0; got kernel_size={kernel_size}, "
                f"stride={stride}, padding={padding}"
            )
        kh, kw = self.kernel_size
        mask = None
        fan_in = in_channels * kh * kw
        if connection_table is not None:
            table = np.asarray(connection_table, dtype=bool)
            if table.shape != (out_channels, in_channels):
                raise ValueError(
                    f"Conv2d: connection_table must have shape (out_channels, in_channels)="
                    f"{(out_channels, in_channels)}, got {table.shape}"
                )
            mask = table[:, :, None, None]
            fan_in = int(table.sum(axis=1).mean()) * kh * kw
        rng = _rng(seed)
        w = init_weight((out_channels, in_channels, kh, kw), fan_in, out_channels * kh * kw, init, rng, dtype)
        self.weight = self._add_param("weight", w, mask)
        self.bias = self._add_param("bias", np.zeros(out_channels, dtype=dtype)) if bias else None
        self._cache = None

    def forward(self, x):
        b = self.bias.data if self.bias is not None else None
        out, self._cache = C.conv2d_forward(x, self.weight.data, b, self.stride, self.padding)
        return out

    can_skip_input_grad = True

    def backward(self, dout, need_dx=True):
        """Add ``dw``, ``db`` into the parameters' ``grad``; return ``dx`` (None if not ``need_dx``).

        ``need_dx=False`` skips the input gradient, the costliest part of the
        first layer's backward pass (a network's input needs no gradient).
        """
        if self._cache is None:
            raise RuntimeError("Conv2d.backward called before forward")
        dx, dw, db = C.conv2d_backward(dout, self._cache, need_dx=need_dx)
        _accumulate(self.weight, dw)
        if self.bias is not None:
            _accumulate(self.bias, db)
        return dx

    def output_shape(self, input_shape):
        c, h, w = input_shape
        return (self.out_channels,
                C.conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0]),
                C.conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1]))

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        if self.weight.mask is not None:
            s += ", connection_table=sparse"
        return s


class Linear(Module):
    """Fully connected layer ``out = x W^T + b`` with ``W`` of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, init="he", seed=0, dtype=np.float64):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: features must be positive, got in={in_features}, out={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        w = init_weight((out_features, in_features), in_features, out_features, init, _rng(seed), dtype)
        self.weight = self._add_param("weight", w)
        self.bias = self._add_param("bias", np.zeros(out_features, dtype=dtype)) if bias else None
        self._cache = None

    def forward(self, x):
        b = self.bias.data if self.bias is not None else None
        out, self._cache = L.linear_forward(x, self.weight.data, b)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("Linear.backward called before forward")
        dx, dw, db = L.linear_backward(dout, self._cache)
        _accumulate(self.weight, dw)
        if self.bias is not None:
            _accumulate(self.bias, db)
        return dx

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(f"Linear expects input shape ({self.in_features},), got {tuple(input_shape)}")
        return (self.out_features,)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}" + ("" if self.bias is not None else ", bias=False")


class _FunctionPair(Module):
    """A module without parameters around a pair of :mod:`cnnlib.functional` functions.

    A subclass names its pair in the class statement,
    ``class ReLU(_Elementwise, forward=A.relu_forward, backward=A.relu_backward)``,
    and returns from :meth:`_kwargs` the settings its forward function takes.
    """
    _forward = None
    _backward = None

    def __init_subclass__(cls, forward=None, backward=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if forward is not None:
            cls._forward, cls._backward = staticmethod(forward), staticmethod(backward)

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, x):
        out, self._cache = type(self)._forward(x, **self._kwargs())
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return type(self)._backward(dout, self._cache)

    def _kwargs(self):
        return {}


class _Elementwise(_FunctionPair):
    def output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise, forward=A.relu_forward, backward=A.relu_backward):
    """``max(0, x)``."""


class Tanh(_Elementwise, forward=A.tanh_forward, backward=A.tanh_backward):
    """``tanh(x)``."""


class ScaledTanh(_Elementwise, forward=A.scaled_tanh_forward, backward=A.scaled_tanh_backward):
    """LeCun's squashing function ``1.7159 tanh(2x/3)`` (LeCun et al., 1998)."""


class Sigmoid(_Elementwise, forward=A.sigmoid_forward, backward=A.sigmoid_backward):
    """``1 / (1 + exp(-x))``."""


class LeakyReLU(_Elementwise, forward=A.leaky_relu_forward, backward=A.leaky_relu_backward):
    """``x if x > 0 else alpha x``."""

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = alpha

    def _kwargs(self):
        return {"alpha": self.alpha}

    def extra_repr(self):
        return f"alpha={self.alpha}"


class ELU(LeakyReLU, forward=A.elu_forward, backward=A.elu_backward):
    """``x if x > 0 else alpha (exp(x) - 1)``."""

    def __init__(self, alpha=1.0):
        super().__init__(alpha)


class _Pool(_FunctionPair):
    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"{type(self).__name__}: kernel_size and stride must be >= 1, got "
                             f"kernel_size={kernel_size}, stride={stride}")

    def _kwargs(self):
        return {"size": self.kernel_size, "stride": self.stride}

    def output_shape(self, input_shape):
        c, h, w = input_shape
        return (c, C.conv_output_size(h, self.kernel_size[0], self.stride[0]),
                C.conv_output_size(w, self.kernel_size[1], self.stride[1]))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool, forward=P.maxpool2d_forward, backward=P.maxpool2d_backward):
    """Max pooling; backward routes each window's gradient to its arg-max."""


class AvgPool2d(_Pool, forward=P.avgpool2d_forward, backward=P.avgpool2d_backward):
    """Average pooling; backward spreads ``dout / window size`` over the window."""


class L2Pool2d(_Pool, forward=P.l2pool2d_forward, backward=P.l2pool2d_backward):
    """L2 pooling ``sqrt(sum of squares)`` over each window."""


class Subsampling(Module):
    """LeNet-5's trainable subsampling (S2, S4): per map, ``coef * sum of a 2x2 window + bias``.

    LeCun et al. (1998), section II.B: each S-layer unit adds its four inputs,
    multiplies by a trainable coefficient and adds a trainable bias (2 parameters
    per map). The squashing function is a separate module.
    """

    def __init__(self, channels, kernel_size=2, init_coef=0.25, dtype=np.float64):
        super().__init__()
        self.channels = int(channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.weight = self._add_param("weight", np.full(channels, init_coef, dtype=dtype))
        self.bias = self._add_param("bias", np.zeros(channels, dtype=dtype))
        self._cache = None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"Subsampling expects (N, {self.channels}, H, W), got shape {x.shape}")
        kh, kw = self.kernel_size
        pooled, pool_cache = P.avgpool2d_forward(x, size=self.kernel_size, stride=self.kernel_size)
        window_sum = pooled * (kh * kw)
        self._cache = (window_sum, pool_cache)
        return window_sum * self.weight.data[None, :, None, None] + self.bias.data[None, :, None, None]

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("Subsampling.backward called before forward")
        window_sum, pool_cache = self._cache
        kh, kw = self.kernel_size
        _accumulate(self.weight, np.sum(dout * window_sum, axis=(0, 2, 3)))
        _accumulate(self.bias, np.sum(dout, axis=(0, 2, 3)))
        dsum = dout * self.weight.data[None, :, None, None]
        return P.avgpool2d_backward(dsum * (kh * kw), pool_cache)

    def output_shape(self, input_shape):
        c, h, w = input_shape
        return (c, h // self.kernel_size[0], w // self.kernel_size[1])

    def extra_repr(self):
        return f"{self.channels}, kernel_size={self.kernel_size}"


class Flatten(Module):
    """Reshape (N, C, H, W) to (N, C*H*W) (and back in backward)."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def forward(self, x):
        x = np.asarray(x)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return np.asarray(dout).reshape(self._shape)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Sequential(Module):
    """Layers applied in order; ``backward`` runs them in reverse.

    Pass modules, or ``(name, module)`` pairs to name the layers (names appear
    in :func:`summary` and as prefixes of parameter names, e.g. ``"C1.weight"``).
    """

    def __init__(self, *layers):
        super().__init__()
        self.layers = []
        self.names = []
        for i, item in enumerate(layers):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                name, layer = item
            else:
                name, layer = str(i), item
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {name!r} is a {type(layer).__name__}, not a cnnlib.nn.Module")
            if name in self.names:
                raise ValueError(f"Sequential: duplicate layer name {name!r}")
            self.layers.append(layer)
            self.names.append(name)
        for name, layer in zip(self.names, self.layers):
            for p in layer.parameters():
                p.name = f"{name}.{p.name}"

    def __getitem__(self, i):
        if isinstance(i, str):
            return self.layers[self.names.index(i)]
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    can_skip_input_grad = True

    def backward(self, dout, need_dx=True):
        """Backpropagate ``dout`` through the layers in reverse order.

        Parameters
        ----------
        dout : ndarray
            Gradient of the loss with respect to the output.
        need_dx : bool
            True: return the gradient with respect to the input. False (a
            training step, where only ``param.grad`` matters): stop at the
            first layer that has parameters, ask it to skip its own input
            gradient when it can, and return None. The parameter gradients
            are the same either way.

        Returns
        -------
        dx : ndarray, shape of the input, or None if ``need_dx`` is False
        """
        first = 0
        if not need_dx:
            # Layers before the first parametric one only pass gradients on to the input.
            first = next((i for i, layer in enumerate(self.layers) if layer.parameters()), len(self.layers))
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer = self.layers[i]
            if i == first and not need_dx and layer.can_skip_input_grad:
                layer.backward(dout, need_dx=False)
            else:
                dout = layer.backward(dout)
        return dout if need_dx else None

    def named_children(self):
        return list(zip(self.names, self.layers))

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def __repr__(self):
        lines = [f"  ({n}): {layer!r}" for n, layer in zip(self.names, self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"

class _BatchNorm(Module):
    """Shared code of :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _input_ndims = ()
    _layout = ""
    _buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__()
        name = type(self).__name__
        if int(num_features) < 1:
            raise ValueError(f"{name}: num_features must be positive, got {num_features}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        # gamma = 1, beta = 0: the layer starts as a plain normalization
        self.weight = self._add_param("weight", np.ones(self.num_features, dtype=dtype))
        self.bias = self._add_param("bias", np.zeros(self.num_features, dtype=dtype))
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)
        self._cache = None

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim not in self._input_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects {self._layout} with "
                             f"C={self.num_features}, got shape {x.shape}")
        out, self._cache = B.batchnorm_forward(x, self.weight.data, self.bias.data, self.running_mean,
                                               self.running_var, training=self.training, eps=self.eps,
                                               momentum=self.momentum)
        return out

    def backward(self, dout):
        """Add ``dgamma``, ``dbeta`` into ``weight.grad``, ``bias.grad``; return ``dx``.

        The gradient is that of the mode of the last forward pass: through the
        batch statistics in training, with the running statistics as constants
        in evaluation.
        """
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dx, dgamma, dbeta = B.batchnorm_backward(dout, self._cache)
        _accumulate(self.weight, dgamma)
        _accumulate(self.bias, dbeta)
        return dx

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) features (or (N, C, L)), PyTorch's semantics.

    Training normalizes each feature with the batch mean and biased variance,
    then applies ``weight`` (gamma) and ``bias`` (beta); it also updates
    ``running = (1 - momentum) running + momentum batch`` (the unbiased batch
    variance for ``running_var``). Evaluation (``eval()``) normalizes with the
    running statistics. Ioffe & Szegedy (2015), Algorithm 1.

    Parameters
    ----------
    num_features : int
        C, the size of axis 1.
    eps : float
        Added to the variance before the square root.
    momentum : float in [0, 1]
        Weight of each new batch in the running statistics.
    dtype : numpy dtype
        Of the parameters and running statistics.

    Attributes
    ----------
    weight, bias : Parameter, shape (C,)
    running_mean, running_var : ndarray, shape (C,)
        Start at 0 and 1; saved with the parameters by :meth:`state_dict`.
    """

    _input_ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) maps: statistics per channel over N, H and W.

    The same layer as :class:`BatchNorm1d` with ``M = N * H * W`` values per
    channel (the "spatial" batch norm of CS231n); see there for the parameters.
    """

    _input_ndims = (4,)
    _layout = "(N, C, H, W)"


class Dropout(Module):
    """Inverted dropout: in training zero each value with probability ``p``, scale the rest by ``1 / (1 - p)``.

    Evaluation (``eval()``) is the identity. ``backward`` applies the mask of
    the last forward pass. Srivastava et al. (2014).

    Parameters
    ----------
    p : float in [0, 1]
        Probability of dropping a value.
    seed : int or numpy.random.Generator or None
        Seed of the layer's own generator of masks.
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the probability of dropping a value and must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = _rng(seed)
        self._cache = None
        self._ran_forward = False

    def forward(self, x):
        out, self._cache = D.dropout_forward(x, self.p, self.rng, training=self.training)
        self._ran_forward = True
        return out

    def backward(self, dout):
        if not self._ran_forward:
            raise RuntimeError("Dropout.backward called before forward")
        return D.dropout_backward(dout, self._cache)

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def extra_repr(self):
        return f"p={self.p}"


def _backward_parameters_only(module, dout):
    """Backward pass of a branch whose input gradient nobody needs."""
    if not module.parameters():
        return
    if module.can_skip_input_grad:
        module.backward(dout, need_dx=False)
    else:
        module.backward(dout)


class Residual(Module):
    """A residual connection: ``out = block(x) + shortcut(x)`` (He et al., 2016).

    The addition copies the upstream gradient to both branches, so ``backward``
    returns ``block.backward(dout) + shortcut.backward(dout)``; with the
    identity shortcut the second term is ``dout`` itself, the path by which
    gradients reach early layers of a deep network unchanged.

    Parameters
    ----------
    block : Module
        The residual branch, usually a :class:`Sequential` of conv, batch norm, ReLU.
    shortcut : Module or None
        None: the identity (block output and input must have the same shape);
        otherwise e.g. a strided 1x1 :class:`Conv2d` when the block changes the
        shape. Parameter names get the prefixes ``block.`` and ``shortcut.``.
    """

    can_skip_input_grad = True

    def __init__(self, block, shortcut=None):
        super().__init__()
        for role, module in (("block", block), ("shortcut", shortcut)):
            if module is not None and not isinstance(module, Module):
                raise TypeError(f"Residual: {role} is a {type(module).__name__}, not a cnnlib.nn.Module")
        self.block, self.shortcut = block, shortcut
        for role, module in self.named_children():
            for p in module.parameters():
                p.name = f"{role}.{p.name}"

    def named_children(self):
        return [("block", self.block)] + ([("shortcut", self.shortcut)] if self.shortcut is not None else [])

    def parameters(self):
        return [p for module in self.children() for p in module.parameters()]

    def forward(self, x):
        x = np.asarray(x)
        main = self.block.forward(x)
        skip = x if self.shortcut is None else self.shortcut.forward(x)
        if main.shape != skip.shape:
            kind = "identity shortcut" if self.shortcut is None else "shortcut"
            raise ValueError(f"Residual: for input shape {x.shape} the block gives {main.shape} but the {kind} "
                             f"gives {skip.shape}; they must match to be added"
                             + ("; pass a shortcut that maps the input to the block's shape (e.g. a 1x1 Conv2d "
                                "with the block's stride)" if self.shortcut is None else ""))
        return main + skip

    def backward(self, dout, need_dx=True):
        """Return ``dx`` of both branches summed (None if not ``need_dx``; the parameters' grads are the same)."""
        if not need_dx:
            _backward_parameters_only(self.block, dout)
            if self.shortcut is not None:
                _backward_parameters_only(self.shortcut, dout)
            return None
        dx = self.block.backward(dout)
        return dx + (dout if self.shortcut is None else self.shortcut.backward(dout))

    def output_shape(self, input_shape):
        return self.block.output_shape(input_shape)

    def __repr__(self):
        inner = [f"  (block): {self.block!r}".replace("\n", "\n  "),
                 f"  (shortcut): {self.shortcut!r}".replace("\n", "\n  ") if self.shortcut is not None
                 else "  (shortcut): identity"]
        return "Residual(\n" + "\n".join(inner) + "\n)"


class GlobalAvgPool2d(Module):
    """Mean of each map: (N, C, H, W) -> (N, C) (Lin et al., 2014, "Network in Network").

    Backward spreads ``dout / (H W)`` over each map.
    """

    def __init__(self):
        super().__init__()
        self._shape = None

    def forward(self, x):
        x = A.as_float_array(x)
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d expects (N, C, H, W), got shape {x.shape}")
        self._shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        if self._shape is None:
            raise RuntimeError("GlobalAvgPool2d.backward called before forward")
        n, c, h, w = self._shape
        dout = np.asarray(dout)
        if dout.shape != (n, c):
            raise ValueError(f"GlobalAvgPool2d.backward: dout.shape={dout.shape} must be {(n, c)}")
        dx = np.empty(self._shape, dtype=dout.dtype)
        dx[...] = (dout / (h * w))[:, :, None, None]
        return dx

    def output_shape(self, input_shape):
        return (tuple(input_shape)[0],)


def count_parameters(model):
    """Number of trainable scalars in ``model`` (masked-out connections excluded)."""
    if isinstance(model, Parameter):
        return model.size
    if not hasattr(model, "parameters"):
        raise TypeError(f"count_parameters needs a cnnlib module, got {type(model).__name__}")
    return sum(p.size for p in model.parameters())


@dataclass
class ModelSummary:
    """The table returned by :func:`summary`; prints like Keras' ``model.summary()``.

    ``rows`` holds ``(name, type, output_shape, params)`` per row and
    ``depths`` how deep each row is nested: the rows inside a
    :class:`Residual` (its block's layers and its shortcut) follow the
    Residual's own row one level deeper and are already counted in it, so the
    rows of depth 0 add up to ``total``.
    """

    rows: list = field(default_factory=list)  # (name, type, output_shape, params)
    input_shape: tuple = ()
    total: int = 0
    depths: list = field(default_factory=list)  # nesting depth of each row; empty: all 0

    def _depth(self, i):
        return self.depths[i] if i < len(self.depths) else 0

    def __str__(self):
        head = ("Layer (type)", "Output Shape", "Param #")
        body = [("  " * self._depth(i) + f"{n} ({t})", str(s), f"{p:,}") for i, (n, t, s, p) in enumerate(self.rows)]
        w0 = max(len(head[0]), *(len(r[0]) for r in body)) if body else len(head[0])
        w1 = max(len(head[1]), *(len(r[1]) for r in body)) if body else len(head[1])
        w2 = max(len(head[2]), *(len(r[2]) for r in body)) if body else len(head[2])
        width = w0 + w1 + w2 + 6
        out = [f"Input shape: {self.input_shape}", "=" * width,
               f"{head[0]:<{w0}}   {head[1]:<{w1}}   {head[2]:>{w2}}", "=" * width]
        out += [f"{a:<{w0}}   {b:<{w1}}   {c:>{w2}}" for a, b, c in body]
        out += ["=" * width, f"Total params: {self.total:,}", f"Trainable params: {self.total:,}"]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self):
        rows = "".join(f"<tr><td style='padding-left:{0.5 + 1.5 * self._depth(i)}em'>{n} ({t})</td><td>{s}</td>"
                       f"<td style='text-align:right'>{p:,}</td></tr>"
                       for i, (n, t, s, p) in enumerate(self.rows))
        return ("<table><thead><tr><th>Layer (type)</th><th>Output Shape</th><th>Param #</th></tr></thead>"
                f"<tbody>{rows}</tbody></table><p>Input shape {self.input_shape}; "
                f"total params: <b>{self.total:,}</b></p>")


def _summary_forward(name, layer, x):
    try:
        return layer.forward(x)
    except ValueError as err:
        raise ValueError(f"summary: layer {name} ({type(layer).__name__}) cannot take input of shape "
                         f"{x.shape[1:]}: {err}") from err


def _summary_rows(name, layer, x, depth, rows, depths):
    """Append the rows of ``layer`` (run on ``x``) and return its output."""
    if isinstance(layer, Sequential):
        # a Sequential inside a model adds no row: its layers appear under dotted names
        for child_name, child in layer.named_children():
            x = _summary_rows(f"{name}.{child_name}" if name else child_name, child, x, depth, rows, depths)
        return x
    if isinstance(layer, Residual):
        own_row = len(rows)
        rows.append(None)              # filled in below, once the output shape is known
        depths.append(depth)
        _summary_rows(f"{name}.block", layer.block, x, depth + 1, rows, depths)
        if layer.shortcut is None:
            rows.append((f"{name}.shortcut", "identity", x.shape[1:], 0))
            depths.append(depth + 1)
        else:
            _summary_rows(f"{name}.shortcut", layer.shortcut, x, depth + 1, rows, depths)
        out = _summary_forward(name, layer, x)
        rows[own_row] = (name, "Residual", out.shape[1:], count_parameters(layer))
        return out
    out = _summary_forward(name, layer, x)
    rows.append((name, type(layer).__name__, out.shape[1:], count_parameters(layer)))
    depths.append(depth)
    return out


def summary(model, input_shape):
    """Layer-by-layer table of output shapes and parameter counts.

    Shapes come from a real forward pass of one zero image in evaluation mode
    (running statistics are not touched, dropout is off; each module's mode
    is restored afterwards), so the table shows exactly what the model
    computes. A :class:`Residual` gets a row of its own, followed by the
    layers of its block and its shortcut, indented.

    Parameters
    ----------
    model : Module (usually Sequential)
    input_shape : tuple
        Shape of one example without the batch axis, e.g. ``(1, 32, 32)``.

    Returns
    -------
    ModelSummary
        Prints as a table (``print(nn.summary(model, (1, 32, 32)))``); in a
        notebook it renders as an HTML table.
    """
    input_shape = tuple(int(s) for s in input_shape)
    dtype = model.dtype or np.float64
    x = np.zeros((1,) + input_shape, dtype=dtype)
    rows, depths = [], []
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        _summary_rows("" if isinstance(model, Sequential) else "0", model, x, 0, rows, depths)
    finally:
        for module, mode in modes:
            module.training = mode
    return ModelSummary(rows=rows, input_shape=input_shape, total=count_parameters(model), depths=depths)
