"""Data augmentation for digit images, in NumPy only.

Each function takes a stack of images, ``(N, H, W)`` or ``(N, C, H, W)``,
and returns a new stack of the same shape and float dtype (float32 stays
float32; integer images come back as float64). Randomness comes from an
explicit ``rng`` (a seed or a ``numpy.random.Generator``), so an augmented
training run can be repeated exactly. Each image gets its own random draw;
all channels of one image move together.

Geometric transforms use *inverse mapping*: for every output pixel, compute
where it comes from in the input and read the input there, with bilinear
interpolation between the four neighbouring pixels and zeros outside the
image. Going this way round leaves no holes in the output.

Example
-------
>>> from cnnlib.augment import augment
>>> batch = augment(images, rng=0, shift=2, rotate=10)     # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from .activations import as_float_array

__all__ = [
    "augment", "shift_images", "random_shift", "rotate_images", "random_rotate",
    "elastic_deform", "add_noise", "bilinear_sample", "gaussian_smooth",
]


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _as_stack(images, func):
    """Return the images as (N, C, H, W) and a function that restores the caller's shape."""
    x = as_float_array(images, "images")
    if x.ndim == 3:
        return x[:, None], lambda out: out[:, 0]
    if x.ndim == 4:
        return x, lambda out: out
    raise ValueError(f"{func}: images must be (N, H, W) or (N, C, H, W), got shape {x.shape}")


def _per_image(value, n, name, func):
    """A scalar or (n,) array as an (n,) float64 array."""
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 0:
        return np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"{func}: {name} must be a number or one value per image, shape ({n},), got {v.shape}")
    return v


def _gather(x, rows, cols):
    """``x[n, c, rows[n, i, j], cols[n, i, j]]`` with 0 wherever the index falls outside the image.

    x : (N, C, H, W); rows, cols : int arrays (N, H_out, W_out). Returns (N, C, H_out, W_out).
    """
    n, c, h, w = x.shape
    # a border of zeros: every index outside the image is clipped onto it
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    r = np.clip(rows + 1, 0, h + 1)
    q = np.clip(cols + 1, 0, w + 1)
    flat = (r * (w + 2) + q).reshape(n, 1, -1)
    out = np.take_along_axis(padded.reshape(n, c, -1), np.broadcast_to(flat, (n, c, flat.shape[2])), axis=2)
    return out.reshape((n, c) + rows.shape[1:])


def bilinear_sample(images, rows, cols):
    """Read each image at fractional positions, bilinear interpolation, 0 outside.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    rows, cols : ndarray, shape (N, H_out, W_out)
        Where each output pixel comes from in its input image, in pixels
        (row 0 at the top, column 0 at the left).

    Returns
    -------
    ndarray, shape (N, H_out, W_out) or (N, C, H_out, W_out), float dtype of images
        ``(1-a)(1-b) I[r0, c0] + (1-a) b I[r0, c0+1] + a (1-b) I[r0+1, c0] + a b I[r0+1, c0+1]``
        with ``r0 = floor(row)``, ``a = row - r0`` (and likewise ``c0``, ``b`` for columns).
    """
    x, restore = _as_stack(images, "bilinear_sample")
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    if rows.shape != cols.shape or rows.ndim != 3 or rows.shape[0] != x.shape[0]:
        raise ValueError(f"bilinear_sample: rows and cols must both be (N, H_out, W_out) with N={x.shape[0]}; "
                         f"got rows {rows.shape}, cols {cols.shape}")
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    a = (rows - r0)[:, None]
    b = (cols - c0)[:, None]
    r0 = r0.astype(np.intp)
    c0 = c0.astype(np.intp)
    out = ((1 - a) * ((1 - b) * _gather(x, r0, c0) + b * _gather(x, r0, c0 + 1))
           + a * ((1 - b) * _gather(x, r0 + 1, c0) + b * _gather(x, r0 + 1, c0 + 1)))
    return restore(out.astype(x.dtype, copy=False))


def shift_images(images, offsets):
    """Move each image by whole pixels, filling the uncovered border with zeros.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    offsets : (int, int) or int array of shape (N, 2)
        ``(down, right)`` per image (negative: up, left); one pair for all images
        or one per image.

    Returns
    -------
    ndarray, shape and float dtype of images
        ``out[n, ..., i, j] = images[n, ..., i - down, j - right]`` (0 outside).
    """
    x, restore = _as_stack(images, "shift_images")
    n, _, h, w = x.shape
    offsets = np.asarray(offsets)
    if offsets.shape == (2,):
        offsets = np.broadcast_to(offsets, (n, 2))
    if offsets.shape != (n, 2) or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"shift_images: offsets must be integer (down, right) pairs, shape (2,) or ({n}, 2); "
                         f"got shape {offsets.shape} of dtype {offsets.dtype}")
    rows = np.arange(h)[None, :, None] - offsets[:, 0, None, None]
    cols = np.arange(w)[None, None, :] - offsets[:, 1, None, None]
    rows, cols = np.broadcast_arrays(rows, cols)
    return restore(_gather(x, rows, cols))


def random_shift(images, max_shift=2, rng=None):
    """Shift each image by whole pixels drawn uniformly from ``[-max_shift, max_shift]`` on each axis.

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    x, _ = _as_stack(images, "random_shift")
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be a whole number of pixels >= 0, got {max_shift}")
    offsets = _rng(rng).integers(-int(max_shift), int(max_shift) + 1, size=(x.shape[0], 2))
    return shift_images(images, offsets)


def rotate_images(images, angles):
    """Rotate each image about its centre, counter-clockwise by ``angles`` degrees.

    Inverse mapping: the output pixel at offset ``(u, v)`` from the centre
    ``((W-1)/2, (H-1)/2)`` (u to the right, v up) reads the input at
    ``R(-angle) (u, v)``, by bilinear interpolation; zeros come in from
    outside. Same result as ``scipy.ndimage.rotate(image, angle, reshape=False,
    order=1, mode="grid-constant")``.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    angles : float or ndarray of shape (N,)
        Degrees, one for all images or one per image.

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    x, _ = _as_stack(images, "rotate_images")
    n, _, h, w = x.shape
    theta = np.deg2rad(_per_image(angles, n, "angles", "rotate_images"))[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    u = np.arange(w)[None, None, :] - (w - 1) / 2
    v = (h - 1) / 2 - np.arange(h)[None, :, None]
    u_in = cos * u + sin * v
    v_in = -sin * u + cos * v
    return bilinear_sample(images, (h - 1) / 2 - v_in, (w - 1) / 2 + u_in)


def random_rotate(images, max_angle=10.0, rng=None):
    """Rotate each image by an angle drawn uniformly from ``[-max_angle, max_angle]`` degrees.

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    x, _ = _as_stack(images, "random_rotate")
    angles = _rng(rng).uniform(-max_angle, max_angle, size=x.shape[0])
    return rotate_images(images, angles)


def _gaussian_matrix(n, sigma, truncate=4.0):
    """(n, n) matrix ``K`` such that ``K @ v`` is ``v`` blurred by a Gaussian, zeros outside."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    total = np.exp(-0.5 * (offsets / sigma) ** 2).sum()
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    return np.where(np.abs(d) <= radius, np.exp(-0.5 * (d / sigma) ** 2), 0.0) / total


def gaussian_smooth(fields, sigma, truncate=4.0):
    """Blur each (H, W) field with a Gaussian of standard deviation ``sigma`` pixels, zeros outside.

    The 2-D Gaussian is separable, so the blur is ``K_H @ field @ K_W^T`` with
    one matrix of 1-D kernel weights per axis (cut at ``truncate * sigma``, as
    ``scipy.ndimage.gaussian_filter(field, sigma, mode="constant")``).

    Parameters
    ----------
    fields : ndarray, shape (..., H, W)
    sigma : float > 0
    truncate : float

    Returns
    -------
    ndarray, shape (..., H, W), float64
    """
    if not sigma > 0:
        raise ValueError(f"gaussian_smooth: sigma must be positive, got {sigma}")
    fields = np.asarray(fields, dtype=np.float64)
    if fields.ndim < 2:
        raise ValueError(f"gaussian_smooth: fields must be at least 2-D (..., H, W), got shape {fields.shape}")
    h, w = fields.shape[-2:]
    return _gaussian_matrix(h, sigma, truncate) @ fields @ _gaussian_matrix(w, sigma, truncate).T


def elastic_deform(images, alpha=34.0, sigma=4.0, rng=None):
    """Elastic distortion of Simard, Steinkraus & Platt (2003), section 2.

    Each pixel gets a random displacement, uniform in [-1, 1] on each axis;
    the displacement fields are blurred with a Gaussian of ``sigma`` pixels
    (so neighbours move together) and scaled by ``alpha``; each output pixel
    then reads the input at its displaced position (bilinear interpolation).
    For 28x28 digits the paper uses sigma = 4 and alpha = 34.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    alpha : float
        Strength in pixels (0 leaves the images unchanged).
    sigma : float
        Smoothness of the displacement field, in pixels.
    rng : int or numpy.random.Generator or None

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    x, _ = _as_stack(images, "elastic_deform")
    n, _, h, w = x.shape
    fields = _rng(rng).uniform(-1.0, 1.0, size=(2, n, h, w))
    d_rows, d_cols = alpha * gaussian_smooth(fields, sigma)
    rows = np.arange(h)[None, :, None] + d_rows
    cols = np.arange(w)[None, None, :] + d_cols
    return bilinear_sample(images, rows, cols)


def add_noise(images, std, rng=None, clip=None):
    """Add Gaussian noise of standard deviation ``std`` to every pixel.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    std : float >= 0
    rng : int or numpy.random.Generator or None
    clip : (float, float) or None
        Clip the result to this range, e.g. ``(0, 1)`` for images in [0, 1].

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    x, restore = _as_stack(images, "add_noise")
    if not std >= 0:
        raise ValueError(f"add_noise: std must be >= 0, got {std}")
    out = x + (std * _rng(rng).standard_normal(x.shape)).astype(x.dtype)
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    return restore(out)


def augment(images, rng=None, shift=2, rotate=10.0, noise=0.0, elastic=0.0, elastic_sigma=4.0, clip=None):
    """Random variations of a batch of digits: elastic distortion, rotation, shift, noise (in that order).

    Each transform with a strength of 0 is skipped (and draws no random numbers).

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, C, H, W)
    rng : int or numpy.random.Generator or None
        Seed or generator; the same seed gives the same batch.
    shift : int
        Largest shift in whole pixels on each axis (:func:`random_shift`).
    rotate : float
        Largest rotation in degrees either way (:func:`random_rotate`).
    noise : float
        Standard deviation of additive Gaussian noise (:func:`add_noise`).
    elastic : float
        ``alpha`` of :func:`elastic_deform` (e.g. 34 for 28x28 digits); 0: off.
    elastic_sigma : float
        ``sigma`` of :func:`elastic_deform`.
    clip : (float, float) or None
        Clip the final images to this range.

    Returns
    -------
    ndarray, shape and float dtype of images
    """
    rng = _rng(rng)
    out, _ = _as_stack(images, "augment")
    out = np.asarray(images, dtype=out.dtype)
    if elastic:
        out = elastic_deform(out, elastic, elastic_sigma, rng)
    if rotate:
        out = random_rotate(out, rotate, rng)
    if shift:
        out = random_shift(out, shift, rng)
    if noise:
        out = add_noise(out, noise, rng)
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    return out.copy() if out is images else out
