"""LeNet-5, modern and as in LeCun et al. (1998)."""
from __future__ import annotations

import numpy as np

from . import nn

__all__ = ["lenet5", "LENET5_C3_TABLE"]

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
