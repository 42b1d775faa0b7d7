"""Interactive widgets for the lectures (ipywidgets 7.7 and 8).

Every widget is a set of plain functions that compute the numbers (tested
without a browser) plus a thin builder returning an ipywidgets box:

- :mod:`cnnlib.widgets.backprop`: the backward-pass stepper, gate patterns.
- :mod:`cnnlib.widgets.convolution`: the convolution explorer, the "which
  kernel made which output" question, 1-D convolution.
- :mod:`cnnlib.widgets.pooling`: the pooling explorer, receptive fields.
- :mod:`cnnlib.widgets.architecture`: the shape and parameter explorer.
- :mod:`cnnlib.widgets.hog`, :mod:`cnnlib.widgets.conv_backprop`,
  :mod:`cnnlib.widgets.training`: HOG features, gradients through a
  convolution, live training plots.
- :mod:`cnnlib.widgets.history`: simple and complex cells, position
  tolerance from max pooling, the 1959-2012 timeline, the vision tasks.
- :mod:`cnnlib.widgets.foundations`: the perceptron, activations, universal
  approximation, depth, losses, mini-batches, gradient shapes.
- :mod:`cnnlib.widgets.toolkit`: initialisation, normalisation, augmentation,
  learning-rate schedules, momentum and Adam, training runs.
- :mod:`cnnlib.widgets.architectures`: parameters and multiply-adds, AlexNet,
  stacked 3x3 kernels, 1x1 bottlenecks, DenseNet, plain against residual.
- :mod:`cnnlib.widgets.inside`: gradients with respect to the input:
  activation maximisation and adversarial images (FGSM).

Submodules load on first use (``from cnnlib.widgets import convolution``
works, and so does ``cnnlib.widgets.convolution``), so importing this package
costs nothing and does not need ipywidgets.
"""
import importlib

_SUBMODULES = ("backprop", "convolution", "pooling", "architecture", "hog", "conv_backprop", "training",
               "history", "foundations", "inside", "toolkit", "architectures")

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
