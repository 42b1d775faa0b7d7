"""Faster memory layouts for :func:`cnnlib.conv.conv2d_forward` and its backward pass.

Not part of the lecture: the same sums as im2col, in an order that copies
less. :func:`choose_layout` picks one per call from the shapes; the
measurements behind each threshold are in ``benchmarks/NOTES.md``.

``"rows"`` (stride 1, unless the kernel is wide for the output)
    Each zero-padded image plane is flattened into one row
    (:func:`_row_planes`); the KH*KW windows are then shifted slices of it,
    so every copy of im2col is long, and it is built a chunk of images at a
    time that stays in the CPU's cache (``_CHUNK_BYTES``). The cache keeps
    only the padded planes; the backward pass rebuilds the chunks. The output
    is NCHW.

``"slabs"`` (other outputs narrower than ``_SLAB_WIDTH`` columns)
    Each padded input row is copied once per kernel column (KW times instead
    of KH*KW, :func:`_row_slabs`); the receptive fields of one output row
    are then KH consecutive slabs, a plain matrix without another copy. The
    slabs put the batch axis last, so that a copy moves N numbers at a time
    however narrow the output.

Batch last: this module is the only place that makes arrays whose memory is
(C, H, W, N) while their shape is (N, C, H, W). The ``"slabs"`` output is
one (its matrix products compute it in that order), and so is ``dx`` of the
slabs and of narrow row windows (:func:`_col2im` with ``batch_last``).
Everything else in cnnlib works on any memory order: pooling keeps the order
it gets and NumPy's elementwise functions do too, so a network passes such
an array on without transposing it, and ``np.ascontiguousarray`` gives NCHW
memory. Inputs may come in any order.

Work arrays that never leave this module come from :func:`_scratch`, one
per name, dtype and thread, reused from call to call.
"""
from __future__ import annotations

import threading

import numpy as np

# Receptive fields built at a time by the row windows: read back from the
# CPU's cache by the matrix product, yet large enough to keep Python's
# per-chunk overhead small.
_CHUNK_BYTES = 1 << 20

# The row windows also compute up to this fraction of wrap-around columns;
# beyond it the slabs are faster.
_MAX_WRAP_FRACTION = 1 / 8

# Outputs narrower than this many columns take the slabs when they do not
# take the row windows; wider outputs keep plain im2col.
_SLAB_WIDTH = 32

# Narrow row-window outputs fold dx back in batch-last order below this width.
_BATCH_LAST_DX_WIDTH = 16

# Matrix products larger than this many multiply-adds are split into column
# blocks (OpenBLAS then skips packing the small matrices).
_SMALL_PRODUCT = 1 << 19

# Work arrays above this size are freed after the call instead of kept.
_SCRATCH_KEEP_BYTES = 16 << 20

# Images lying a multiple of this many bytes apart are transposed a few at a
# time (reading one element of each image would hit the same cache set).
_CACHE_ALIAS_BYTES = 4096


def choose_layout(stride, in_width, out_width, kernel_width, pad_width):
    """``"rows"``, ``"slabs"`` or ``"im2col"`` (none of this module's layouts)."""
    if _uses_row_windows(stride, in_width, out_width, kernel_width, pad_width):
        return "rows"
    if out_width < _SLAB_WIDTH:
        return "slabs"
    return "im2col"


def _uses_row_windows(stride, in_width, out_width, kernel_width, pad_width):
    """Stride 1, and the wrap-around columns (``WR - OW`` per output row, see
    :func:`_row_width`) add at most ``_MAX_WRAP_FRACTION`` to the products."""
    wrap = _row_width(in_width, kernel_width, pad_width) - out_width
    return stride == (1, 1) and wrap <= _MAX_WRAP_FRACTION * out_width


def forward(layout, x, w, b, stride, pad, out_size):
    """Output (N, F, OH, OW) and what the backward pass keeps, for ``"rows"`` or ``"slabs"``."""
    n, f = x.shape[0], w.shape[0]
    oh, ow = out_size
    if layout == "rows":
        planes = _row_planes(x, w.shape[2:], pad)
        out = np.empty((n, f, oh, ow), dtype=x.dtype)
        _row_window_conv(planes, _weights_and_bias(w, b), w.shape[2:], x.shape[3], pad[1], out,
                         with_ones=b is not None)
        return out, planes
    slabs = _row_slabs(x, w.shape[2:], stride, pad, out_size, b is not None)
    out = _slab_conv(slabs, _slab_weights(w, b), w.shape[2], stride[0], (n, f, oh, ow),
                     with_ones=b is not None)
    return out, slabs


def backward(layout, dout, kept, w, x_shape, stride, pad, has_bias, need_dx):
    """``(dx, dw, db)`` from what :func:`forward` kept; ``dx`` is None unless ``need_dx``."""
    f, _, kh, kw = w.shape
    _, _, oh, ow = dout.shape
    if layout == "rows":
        dw, db = _row_windows_dw(dout, kept, w, x_shape[3], pad[1], has_bias)
        batch_last = ow < _BATCH_LAST_DX_WIDTH
        if not need_dx:
            return None, dw, db
        dout_fm = _dout_matrix(dout, kept.dtype, batch_last)
    else:
        batch_last = True
        dout_fm = _dout_matrix(dout, kept.dtype, batch_last)
        dw, db = _slab_dw(dout_fm, kept, w.shape, stride[0], (oh, ow), has_bias)
        if not need_dx:
            return None, dw, db
    dcols = np.matmul(w.reshape(f, -1).T, dout_fm)       # (C*KH*KW, N*OH*OW)
    return _col2im(dcols, x_shape, (kh, kw), stride, pad, (oh, ow), batch_last), dw, db


# ----------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------

_scratch_pool = threading.local()


def _scratch(name, shape, dtype):
    """A work array reused from call to call (one per name, dtype and thread).

    Fresh memory of a few MiB costs a page fault per 4 KiB page; reusing it
    avoids that. Its contents are whatever the last user left. Arrays above
    ``_SCRATCH_KEEP_BYTES`` are not kept.
    """
    pool = _scratch_pool.__dict__.setdefault("arrays", {})
    dtype = np.dtype(dtype)
    size = 1
    for dim in shape:
        size *= dim
    if size * dtype.itemsize > _SCRATCH_KEEP_BYTES:
        return np.empty(shape, dtype=dtype)
    buf = pool.get((name, dtype))
    if buf is None or buf.size < size:
        buf = pool[(name, dtype)] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def _strided_view(base, offset, shape, strides):
    """Read-only view of the C-contiguous array ``base`` with the given shape and
    byte strides, starting ``offset`` bytes in: what ``as_strided`` makes, faster
    per call, and NumPy checks that it stays inside ``base``."""
    view = np.ndarray(shape, base.dtype, buffer=base, offset=offset, strides=strides)
    view.flags.writeable = False
    return view


def _copy_batch_last(dst, src):
    """``dst[..., n] = src[n]``: copy a batch (N, ...) into a buffer whose last axis is N."""
    n = src.shape[0]
    step = 8 if src.strides[0] % _CACHE_ALIAS_BYTES == 0 else max(n, 1)
    batch_last = (*range(1, src.ndim), 0)
    for start in range(0, n, step):
        dst[..., start:start + step] = src[start:start + step].transpose(batch_last)


def _zero_border(a, pad, inner, axis):
    """Zero everything of ``a`` outside ``[PH:PH+H, PW:PW+W]`` of its axes
    ``axis`` and ``axis + 1`` (rows, columns); ``inner = (H, W)``."""
    (ph, pw), (h, wd) = pad, inner
    lead = (slice(None),) * axis
    if ph:
        a[lead + (slice(0, ph),)] = 0
    if a.shape[axis] > ph + h:
        a[lead + (slice(ph + h, None),)] = 0
    if pw:
        a[lead + (slice(ph, ph + h), slice(0, pw))] = 0
    if a.shape[axis + 1] > pw + wd:
        a[lead + (slice(ph, ph + h), slice(pw + wd, None))] = 0


def _weights_and_bias(w, b):
    """The filters as rows of a matrix (F, C*KH*KW), with the bias as one more
    column when there is one (it meets the receptive fields' row of ones)."""
    w_mat = w.reshape(w.shape[0], -1)
    return w_mat if b is None else np.concatenate([w_mat, b[:, None]], axis=1)


def _split_dw_db(dwb, w_shape, has_bias):
    """``dw`` (F, C, KH, KW) and ``db`` (F,) or None from the product ``[dw | db]``
    of dout with receptive fields that end in a row of ones when there is a bias."""
    k = dwb.shape[1] - int(has_bias)
    dw = np.ascontiguousarray(dwb[:, :k]).reshape(w_shape)
    db = np.ascontiguousarray(dwb[:, k]) if has_bias else None
    return dw, db


def _dout_matrix(dout, dtype, batch_last):
    """``dout`` (N, F, OH, OW) as an (F, N*OH*OW) matrix, columns ordered
    ``(n, i, j)``, or ``(i, j, n)`` if ``batch_last``; the copy also casts to ``dtype``."""
    n, f, oh, ow = dout.shape
    if batch_last:
        dout_fm = np.empty((f, oh * ow, n), dtype=dtype)
        _copy_batch_last(dout_fm, dout.reshape(n, f, oh * ow))
    else:
        dout_fm = np.empty((f, n, oh * ow), dtype=dtype)
        dout_fm[...] = dout.reshape(n, f, oh * ow).transpose(1, 0, 2)
    return dout_fm.reshape(f, n * oh * ow)


def _col2im(dcols, x_shape, kernel_size, stride, pad, out_size, batch_last):
    """:func:`cnnlib.conv.col2im` for columns ordered ``(n, i, j)``, or ``(i, j, n)``
    if ``batch_last``. Then ``dx`` keeps that memory order, (C, H, W, N), as a
    view into the padded buffer the gradients were added in."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = kernel_size, stride, pad, out_size
    if batch_last:
        dcols = dcols.reshape(c, kh, kw, oh, ow, n)
        dx_pad = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dcols.dtype)
        lead = (slice(None),)
    else:
        dcols = dcols.reshape(c, kh, kw, n, oh, ow)
        dx_pad = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
        lead = (slice(None), slice(None))
    for p in range(kh):
        for q in range(kw):
            taps = lead + (slice(p, p + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw))
            dx_pad[taps] += dcols[:, p, q]
    if batch_last:
        return dx_pad[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)
    dx = np.empty((n, c, h, w), dtype=dcols.dtype)
    dx[...] = dx_pad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)
    return dx


# ----------------------------------------------------------------------------
# "slabs": each padded input row, once per kernel column
# ----------------------------------------------------------------------------

def _batch_last_padded(x, pad):
    """The zero-padded batch with the batch axis last, (C, HP, WP, N) (one
    transposing copy, and zeros written only on the border)."""
    n, c, h, wd = x.shape
    ph, pw = pad
    x_bl = np.empty((c, h + 2 * ph, wd + 2 * pw, n), x.dtype)
    _zero_border(x_bl, pad, (h, wd), axis=1)
    _copy_batch_last(x_bl[:, ph:ph + h, pw:pw + wd], x)
    return x_bl


def _row_slabs(x, kernel_size, stride, pad, out_size, with_ones):
    """The slabs: ``slabs[h, (c, q), (j, n)] = x_pad[n, c, h, j*SW + q]``.

    Shape (HU, C*KW [+ 1], OW*N) for the ``HU = (OH - 1)*SH + KH`` padded rows
    that some window reaches, with a row of ones at the end of each slab when
    ``with_ones`` (for the bias). The receptive fields of output row i are
    the KH consecutive slabs ``i*SH .. i*SH + KH - 1`` (:func:`_slab_windows`).
    """
    n, c = x.shape[:2]
    kw = kernel_size[1]
    (sh, sw), (oh, ow) = stride, out_size
    x_bl = _batch_last_padded(x, pad)
    rows = (oh - 1) * sh + kernel_size[0]
    k = c * kw
    slabs = np.empty((rows, k + int(with_ones), ow * n), x.dtype)
    s_c, s_h, s_w, s_n = x_bl.strides
    shifted = _strided_view(x_bl, 0, (rows, c, kw, ow, n), (s_h, s_c, s_w, s_w * sw, s_n))
    np.copyto(slabs[:, :k].reshape(rows, c, kw, ow, n), shifted)
    if with_ones:
        slabs[:, k] = 1
    return slabs


def _slab_windows(slabs, kernel_height, row_stride, out_height, with_ones):
    """Read-only view (OH, K, OW*N) of the slabs: ``[i]`` holds the receptive
    fields of output row i as columns, one per ``(j, n)``, its rows ordered
    ``(p, c, q)`` as in ``w.transpose(0, 2, 1, 3)``. With ones rows,
    K = KH*(C*KW + 1) - 1: the ones rows of the first KH - 1 slabs are in it
    (only the first gets the bias, see :func:`_slab_weights`), the last slab's
    is left out (unless KH = 1)."""
    slabs = np.ascontiguousarray(slabs)    # made so; this only guards _strided_view
    _, per_slab, width = slabs.shape
    k = _slab_depth(kernel_height, per_slab, with_ones)
    item = slabs.itemsize
    return _strided_view(slabs, 0, (out_height, k, width),
                         (row_stride * per_slab * width * item, width * item, item))


def _slab_depth(kernel_height, per_slab, with_ones):
    """K of :func:`_slab_windows`: KH slabs, less the last slab's ones row."""
    return kernel_height * per_slab - (1 if with_ones and kernel_height > 1 else 0)


def _slab_weights(w, b):
    """The filters as the (F, K) matrix that multiplies :func:`_slab_windows`:
    columns ordered ``(p, c, q)``, with a column for each ones row in between,
    the first holding the bias and the others zero."""
    f, c, kh, kw = w.shape
    k = c * kw
    per_slab = k + int(b is not None)
    w_mat = np.zeros((f, kh, per_slab), w.dtype)
    w_mat[:, :, :k] = w.transpose(0, 2, 1, 3).reshape(f, kh, k)
    if b is not None:
        w_mat[:, 0, k] = b
    return w_mat.reshape(f, -1)[:, :_slab_depth(kh, per_slab, b is not None)]


def _slab_conv(slabs, w_mat, kernel_height, row_stride, out_shape, with_ones):
    """The correlation: one matrix product per output row, each written by BLAS
    straight into its output row, in column blocks of :func:`_product_columns`.
    Returns shape ``out_shape`` (N, F, OH, OW), batch last in memory."""
    n, f, oh, ow = out_shape
    windows = _slab_windows(slabs, kernel_height, row_stride, oh, with_ones)
    width = ow * n
    out = np.empty((f, oh, width), windows.dtype)
    by_row = out.transpose(1, 0, 2)                          # (OH, F, OW*N), a view
    columns = _product_columns(f, windows.shape[1], width)
    for j0 in range(0, width, columns):
        np.matmul(w_mat, windows[:, :, j0:j0 + columns], out=by_row[:, :, j0:j0 + columns])
    return out.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)


def _product_columns(rows, depth, width):
    """Columns per matrix product when a (rows, depth) @ (depth, width) product
    is split into equal parts of at most ``_SMALL_PRODUCT`` multiply-adds."""
    parts = max(1, -(-rows * depth * width // _SMALL_PRODUCT))
    return max(1, -(-width // parts))


def _slab_dw(dout_fm, slabs, w_shape, row_stride, out_size, has_bias):
    """``dw`` and ``db``: for each output row i, ``dout[:, i]`` (F, OW*N) times
    the transpose of its windows, summed over i. ``dout_fm`` is the batch-last
    (F, OH*OW*N) of :func:`_dout_matrix`."""
    f, c, kh, kw = w_shape
    oh, ow = out_size
    windows = _slab_windows(slabs, kh, row_stride, oh, has_bias)
    width = windows.shape[2]
    item = dout_fm.itemsize
    by_row = _strided_view(np.ascontiguousarray(dout_fm), 0, (oh, f, width),
                           (width * item, oh * width * item, item))
    per_slab = slabs.shape[1]
    dwb = np.zeros((f, kh * per_slab), dout_fm.dtype)
    dwb[:, :windows.shape[1]] = np.matmul(by_row, windows.transpose(0, 2, 1)).sum(axis=0)
    dwb = dwb.reshape(f, kh, per_slab)
    k = c * kw
    dw = np.ascontiguousarray(dwb[:, :, :k].reshape(f, kh, c, kw).transpose(0, 2, 1, 3))
    db = np.ascontiguousarray(dwb[:, 0, k]) if has_bias else None
    return dw, db


# ----------------------------------------------------------------------------
# "rows": stride 1, whole padded rows, a chunk of images at a time
# ----------------------------------------------------------------------------

def _row_width(in_width, kernel_width, pad_width):
    """Row length WR of the flattened planes of :func:`_row_planes`: the input's
    width W, or the output's width OW when that is larger (padding wider than
    half the kernel). The rows are packed without their left and right zero
    columns, so the windows compute ``WR - OW = max(KW - 1 - 2*PW, 0)``
    wrap-around columns per output row (none for "same" padding), and the few
    window entries that reach across a row's edge into the padding read the
    neighbouring row instead; :func:`_crossing_columns` lists them."""
    return max(in_width, in_width + 2 * pad_width - kernel_width + 1)


def _crossing_columns(in_width, kernel_width, pad_width, out_width):
    """``(q, j)`` for each kernel column q and output column j whose entries in
    the row windows must be padding zeros but read a neighbouring image row.
    Tap q at output column j reads input column ``c = j + q - PW``; a stored
    row is W numbers and ``WR - W`` zeros, so ``c < -(WR - W)`` lands in the
    previous row's numbers and ``c >= WR`` in the next row's. For 3x3 with
    padding 1: ``(0, 0)`` and ``(2, W - 1)``."""
    wr = _row_width(in_width, kernel_width, pad_width)
    crossing = []
    for q in range(kernel_width):
        first_inside = min(max(pad_width - q - (wr - in_width), 0), out_width)   # c >= -(WR - W)
        first_after = max(min(wr + pad_width - q, out_width), first_inside)       # c >= WR
        crossing += [(q, j) for j in [*range(first_inside), *range(first_after, out_width)]]
    return crossing


def _row_planes(x, kernel_size, pad):
    """The zero-padded batch as (N, C, HP*WR + max(KW - 1, PW)): each padded
    plane flattened into one row, image row ``i`` starting at
    ``PW + (i + PH)*WR`` (WR from :func:`_row_width`), with zeros in front and
    behind so that every window of a plane stays inside it. All those zeros
    are needed: the wrap-around columns read the spare ones at the end, and
    must not meet NaN left in memory (``0 * nan`` in dw)."""
    n, c, h, wd = x.shape
    ph, pw = pad
    kw = kernel_size[1]
    hp, wr = h + 2 * ph, _row_width(wd, kw, pw)
    planes = np.empty((n, c, hp * wr + max(kw - 1, pw)), x.dtype)
    planes[:, :, :pw] = 0
    planes[:, :, pw + hp * wr:] = 0
    grid = planes[:, :, pw:pw + hp * wr].reshape(n, c, hp, wr)
    _zero_border(grid, (ph, 0), (h, wd), axis=2)
    grid[:, :, ph:ph + h, :wd] = x
    return planes


def _row_window_chunks(planes, kernel_size, in_width, pad_width, out_size, with_ones):
    """im2col for stride 1 with whole padded rows, a chunk of images at a time.

    Yields ``(n0, m, cols)`` for images ``n0 .. n0+m-1``, with ``cols`` of shape
    (C*KH*KW [+ 1], m, OH*WR) and
    ``cols[(c, p, q), k, i*WR + j] = x_pad[n0 + k, c, i + p, j + q]`` for ``j < OW``.
    The KH*KW windows are shifted slices of the flattened planes (offset
    ``p*WR + q``, length ``OH*WR``); the entries that crossed into a
    neighbouring row (:func:`_crossing_columns`) are set to zero, and the
    ``WR - OW`` wrap-around columns per output row are computed but dropped.
    ``with_ones`` appends a row of ones (for the bias). ``cols`` is one work
    array of about ``_CHUNK_BYTES``, overwritten for the next chunk.
    """
    planes = np.ascontiguousarray(planes)  # made so; this only guards _strided_view
    n, c, _ = planes.shape
    kh, kw = kernel_size
    oh, ow = out_size
    wr = _row_width(in_width, kw, pad_width)
    length = oh * wr
    k = c * kh * kw
    rows = k + int(with_ones)
    chunk = max(1, min(n, _CHUNK_BYTES // (rows * length * planes.itemsize)))
    buf = _scratch("windows", (rows, chunk, length), planes.dtype)
    if with_ones:
        buf[k] = 1
    s_n, s_c, s_l = planes.strides
    # the views are made once per call, not once per chunk (Python overhead per chunk)
    windows = _strided_view(planes, 0, (c, kh, kw, n, length), (s_c, wr * s_l, s_l, s_n, s_l))
    fields = buf[:k].reshape(c, kh, kw, chunk, length)
    by_column = buf[:k].reshape(c * kh, kw, chunk, oh, wr)
    crossing = [by_column[:, q, :, :, j] for q, j in _crossing_columns(in_width, kw, pad_width, ow)]
    assert all(np.may_share_memory(entries, buf) for entries in crossing)   # views, never copies
    for n0 in range(0, n, chunk):
        m = min(chunk, n - n0)
        np.copyto(fields[:, :, :, :m], windows[:, :, :, n0:n0 + m])
        for entries in crossing:
            entries[:, :m] = 0      # one column of one tap: a fill with a long inner loop
        yield n0, m, buf[:, :m]


def _row_window_conv(planes, w_mat, kernel_size, in_width, pad_width, out, with_ones):
    """Stride-1 correlation of the padded planes with ``w_mat`` (F, C*KH*KW [+ 1])
    into ``out`` (N, F, OH, OW), chunk by chunk. Without wrap-around columns
    each image's product is written in place; otherwise a chunk's product goes
    to a work array and is copied to NCHW without them."""
    n, f, oh, ow = out.shape
    wr = _row_width(in_width, kernel_size[1], pad_width)
    for n0, m, cols in _row_window_chunks(planes, kernel_size, in_width, pad_width, (oh, ow), with_ones):
        if wr == ow:
            np.matmul(w_mat, cols.transpose(1, 0, 2), out=out[n0:n0 + m].reshape(m, f, oh * ow))
            continue
        r = _scratch("product", (f, m, oh, wr), out.dtype)
        np.matmul(w_mat, cols.reshape(cols.shape[0], -1), out=r.reshape(f, -1))
        np.copyto(out[n0:n0 + m], r[..., :ow].transpose(1, 0, 2, 3))   # to NCHW, wrap-around dropped


def _row_windows_dw(dout, planes, w, in_width, pad_width, has_bias):
    """``dw`` and ``db`` from the padded planes: the receptive fields are rebuilt
    chunk by chunk and ``[dw | db] += dout_chunk @ cols_chunk.T``."""
    n, f, oh, ow = dout.shape
    k = w[0].size
    wr = _row_width(in_width, w.shape[3], pad_width)
    dwb = np.zeros((f, k + int(has_bias)), dtype=planes.dtype)
    for n0, m, cols in _row_window_chunks(planes, w.shape[2:], in_width, pad_width, (oh, ow), has_bias):
        d = _scratch("product", (f, m, oh, wr), planes.dtype)
        d[..., :ow] = dout[n0:n0 + m].transpose(1, 0, 2, 3)    # dout on the forward's columns,
        d[..., ow:] = 0                                          # zero on the wrap-around ones
        dwb += np.matmul(d.reshape(f, -1), cols.reshape(cols.shape[0], -1).T)   # BLAS reads .T as is
    return _split_dw_db(dwb, w.shape, has_bias)
