"""cnnlib: a small, tested NumPy library for teaching convolutional neural networks.

Arrays are NCHW. Float64 by default (gradient checks need it); float32 input
stays float32 (speed).
"""
__version__ = "0.1.0"
