"""Stateless forward/backward functions: ``from cnnlib import functional as F``.

Every layer is a pair ``out, cache = *_forward(...)`` / ``grads = *_backward(dout, cache)``.
"""
from .activations import *  # noqa: F401,F403
from .batchnorm import (  # noqa: F401
    batchnorm_backward,
    batchnorm_backward_reference,
    batchnorm_forward,
    batchnorm_forward_reference,
)
from .conv import *  # noqa: F401,F403
from .dropout import dropout_backward, dropout_forward  # noqa: F401
from .linear import linear_backward, linear_forward  # noqa: F401
from .losses import *  # noqa: F401,F403
from .pool import (  # noqa: F401
    avgpool2d_backward,
    avgpool2d_forward,
    l2pool2d_backward,
    l2pool2d_forward,
    maxpool2d_backward,
    maxpool2d_backward_reference,
    maxpool2d_forward,
    maxpool2d_forward_reference,
)
