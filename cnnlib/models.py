"""LeNet-5, modern and as in LeCun et al. (1998); small VGG- and ResNet-style networks."""
from __future__ import annotations

import numpy as np

from . import nn

__all__ = ["lenet5", "LENET5_C3_TABLE", "vgg_mini", "resnet_mini", "basic_block"]

# LeCun et al. (1998), Table I: which S2 maps (rows 0-5) feed which C3 maps
# (columns 0-15). Maps 0-5 see 3 contiguous S2 maps, 6-11 see 4 contiguous,
# 12-14 see 4 non-contiguous, 15 sees all 6. Breaking symmetry this way forces
# different C3 maps to extract different features and saves connections.
_C3_INPUTS = [
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
]
LENET5_C3_TABLE = np.zeros((16, 6), dtype=bool)
for _out, _ins in enumerate(_C3_INPUTS):
    LENET5_C3_TABLE[_out, list(_ins)] = True


def lenet5(variant="modern", num_classes=10, seed=0, dtype=np.float64):
    """LeNet-5 for 1x32x32 inputs (28x28 digits padded by 2).

    Parameters
    ----------
    variant : {"modern", "classic"}
        ``"modern"``: conv(6,5x5)-ReLU-maxpool-conv(16,5x5)-ReLU-maxpool-400-120-84-10,
        61,706 parameters, He initialisation.
        ``"classic"``: LeCun et al. (1998): scaled tanh, trainable subsampling
        S2/S4 (2 parameters per map), C3 with the sparse connection table,
        C5 as a 5x5 convolution. Per layer: C1 156, S2 12, C3 1,516, S4 32,
        C5 48,120, F6 10,164. The paper's output layer is made of Euclidean RBF
        units with fixed, hand-designed weights; here it is a trainable
        84 -> ``num_classes`` linear layer (850 parameters) feeding softmax
        cross-entropy.
    num_classes : int
    seed : int
        Seed of the initial weights; each layer draws from one generator.
    dtype : numpy dtype
        ``np.float32`` for fast training, float64 for gradient checks.

    Returns
    -------
    cnnlib.nn.Sequential
    """
    rng = np.random.default_rng(seed)
    if variant == "modern":
        return nn.Sequential(
            ("C1", nn.Conv2d(1, 6, 5, seed=rng, dtype=dtype)),
            ("relu1", nn.ReLU()),
            ("S2", nn.MaxPool2d(2)),
            ("C3", nn.Conv2d(6, 16, 5, seed=rng, dtype=dtype)),
            ("relu3", nn.ReLU()),
            ("S4", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("C5", nn.Linear(400, 120, seed=rng, dtype=dtype)),
            ("relu5", nn.ReLU()),
            ("F6", nn.Linear(120, 84, seed=rng, dtype=dtype)),
            ("relu6", nn.ReLU()),
            ("output", nn.Linear(84, num_classes, init="xavier", seed=rng, dtype=dtype)),
        )
    if variant == "classic":
        return nn.Sequential(
            ("C1", nn.Conv2d(1, 6, 5, init="lecun", seed=rng, dtype=dtype)),
            ("tanh1", nn.ScaledTanh()),
            ("S2", nn.Subsampling(6, dtype=dtype)),
            ("tanh2", nn.ScaledTanh()),
            ("C3", nn.Conv2d(6, 16, 5, init="lecun", seed=rng, connection_table=LENET5_C3_TABLE, dtype=dtype)),
            ("tanh3", nn.ScaledTanh()),
            ("S4", nn.Subsampling(16, dtype=dtype)),
            ("tanh4", nn.ScaledTanh()),
            ("C5", nn.Conv2d(16, 120, 5, init="lecun", seed=rng, dtype=dtype)),
            ("tanh5", nn.ScaledTanh()),
            ("flatten", nn.Flatten()),
            ("F6", nn.Linear(120, 84, init="lecun", seed=rng, dtype=dtype)),
            ("tanh6", nn.ScaledTanh()),
            ("output", nn.Linear(84, num_classes, init="xavier", seed=rng, dtype=dtype)),
        )
    raise ValueError(f"lenet5: unknown variant {variant!r}; choose 'modern' or 'classic'")


def _conv_bn_relu(name, in_ch, out_ch, rng, dtype, stride=1):
    # no conv bias: the batch norm's beta that follows does the same job
    return [(f"conv{name}", nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False, seed=rng, dtype=dtype)),
            (f"bn{name}", nn.BatchNorm2d(out_ch, dtype=dtype)),
            (f"relu{name}", nn.ReLU())]


def vgg_mini(num_classes=10, in_channels=1, channels=(8, 16, 32), dropout=0.25, seed=0, dtype=np.float64):
    """A small VGG-style network (Simonyan & Zisserman, 2015) for 28x28 or 32x32 digits.

    Each stage is two 3x3 convolutions (padding 1, each followed by batch
    normalization and ReLU) and a 2x2 max-pool that halves the size; global
    average pooling, dropout and one linear layer classify. With the defaults:
    3 stages of 8, 16, 32 channels, 18,482 parameters (the same for any input
    size, thanks to the global pooling).

    Parameters
    ----------
    num_classes : int
    in_channels : int
    channels : sequence of int
        Channels of each stage.
    dropout : float
        Dropout probability before the linear layer (0: no Dropout layer).
    seed : int
        Seed of the initial weights and of the dropout masks.
    dtype : numpy dtype

    Returns
    -------
    cnnlib.nn.Sequential
        Layer names ``conv{stage}_{i}``, ``bn{stage}_{i}``, ``relu{stage}_{i}``,
        ``pool{stage}``, then ``gap``, ``dropout``, ``fc``.
    """
    rng = np.random.default_rng(seed)
    layers = []
    in_ch = in_channels
    for stage, out_ch in enumerate(channels, start=1):
        layers += _conv_bn_relu(f"{stage}_1", in_ch, out_ch, rng, dtype)
        layers += _conv_bn_relu(f"{stage}_2", out_ch, out_ch, rng, dtype)
        layers.append((f"pool{stage}", nn.MaxPool2d(2)))
        in_ch = out_ch
    layers.append(("gap", nn.GlobalAvgPool2d()))
    if dropout:
        layers.append(("dropout", nn.Dropout(dropout, seed=rng)))
    layers.append(("fc", nn.Linear(in_ch, num_classes, init="xavier", seed=rng, dtype=dtype)))
    return nn.Sequential(*layers)


def basic_block(in_channels, out_channels, stride=1, seed=0, dtype=np.float64):
    """ResNet's basic block without its final ReLU (He et al., 2016, figure 2).

    ``conv3x3(stride)-BN-ReLU-conv3x3-BN`` plus a shortcut: the identity when
    the shape is unchanged, else a strided 1x1 convolution and BN (the
    paper's projection shortcut, option B).

    Returns
    -------
    cnnlib.nn.Residual
    """
    rng = np.random.default_rng(seed)
    block = nn.Sequential(
        *_conv_bn_relu("1", in_channels, out_channels, rng, dtype, stride=stride),
        ("conv2", nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False, seed=rng, dtype=dtype)),
        ("bn2", nn.BatchNorm2d(out_channels, dtype=dtype)),
    )
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = nn.Sequential(
            ("conv", nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, seed=rng, dtype=dtype)),
            ("bn", nn.BatchNorm2d(out_channels, dtype=dtype)),
        )
    return nn.Residual(block, shortcut)


def resnet_mini(num_classes=10, in_channels=1, channels=(8, 16, 32), seed=0, dtype=np.float64):
    """A small ResNet (He et al., 2016) for 28x28 or 32x32 digits.

    A 3x3 convolution stem (BN, ReLU), then one :func:`basic_block` per
    entry of ``channels``, each followed by ReLU; every block after the first
    halves the size (stride 2) and uses a projection shortcut. Global average
    pooling and one linear layer classify. With the defaults 19,810 parameters
    (28x28: 28 -> 28 -> 14 -> 7; 32x32: 32 -> 32 -> 16 -> 8).

    Parameters
    ----------
    num_classes : int
    in_channels : int
    channels : sequence of int
        Stem width (= first block) and the channels of each block.
    seed : int
        Seed of the initial weights.
    dtype : numpy dtype

    Returns
    -------
    cnnlib.nn.Sequential
        Layer names ``conv1``, ``bn1``, ``relu1``, then ``res{i}`` (an
        :class:`~cnnlib.nn.Residual`) and ``relu_res{i}`` per block, ``gap``, ``fc``.
    """
    rng = np.random.default_rng(seed)
    layers = _conv_bn_relu("1", in_channels, channels[0], rng, dtype)
    in_ch = channels[0]
    for i, out_ch in enumerate(channels, start=1):
        stride = 1 if i == 1 else 2
        layers.append((f"res{i}", basic_block(in_ch, out_ch, stride, seed=rng, dtype=dtype)))
        layers.append((f"relu_res{i}", nn.ReLU()))
        in_ch = out_ch
    layers.append(("gap", nn.GlobalAvgPool2d()))
    layers.append(("fc", nn.Linear(in_ch, num_classes, init="xavier", seed=rng, dtype=dtype)))
    return nn.Sequential(*layers)
