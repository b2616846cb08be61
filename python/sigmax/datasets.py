"""MNIST loading without third-party dependencies beyond NumPy.

The four MNIST files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``) are read from a
directory, each either gzipped (``.gz`` suffix) or uncompressed.  Their IDX
format is parsed with NumPy and the SHA-256 of the *uncompressed* bytes is
verified on every load.

The directory is, in order of precedence:

1. the ``data_dir`` argument of :func:`load_mnist`;
2. the directory named by the environment variable ``SIGMAX_DATA``;
3. a cache directory: the ``cache_dir`` argument, else
   ``$XDG_CACHE_HOME/sigmax/mnist``, else ``~/.cache/sigmax/mnist``.

Files missing from the cache directory are downloaded (if ``download=True``)
from the mirrors in :data:`MNIST_MIRRORS`.  Nothing is ever downloaded into a
directory given through ``data_dir`` or ``SIGMAX_DATA``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import secrets
import urllib.request
import zlib
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__all__ = ["load_mnist", "read_idx"]

PathLike = Union[str, "os.PathLike[str]"]

#: Names of the four MNIST files (without the optional ``.gz`` suffix).
MNIST_FILES: Tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: SHA-256 of the *uncompressed* contents of each MNIST file.
MNIST_SHA256: Dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Size in bytes of the *uncompressed* contents of each MNIST file: a file
#: that holds more is rejected before it is read further.
MNIST_BYTES: Dict[str, int] = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}

#: Base URLs tried in order; ``<mirror><name>.gz`` is downloaded.
MNIST_MIRRORS: Tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Environment variable naming a directory that holds the four MNIST files.
DATA_ENV_VAR = "SIGMAX_DATA"

_IDX_MAGIC_LABELS = 0x00000801  # unsigned byte, 1 dimension
_IDX_MAGIC_IMAGES = 0x00000803  # unsigned byte, 3 dimensions
_IDX_MAGIC_NDIM = {_IDX_MAGIC_LABELS: 1, _IDX_MAGIC_IMAGES: 3}

_DOWNLOAD_TIMEOUT = 60.0  # seconds, per connection attempt / read
_CHUNK = 1 << 20

# Errors after which the next mirror is tried.
_DOWNLOAD_ERRORS = (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException)


# --------------------------------------------------------------------------- #
# IDX parsing
# --------------------------------------------------------------------------- #
# a file's contents: bytes, or the bytearray that _read_upto fills
_Bytes = Union[bytes, bytearray]


@contextlib.contextmanager
def _opened(path: Path, gz: bool, remedy: str = "") -> Iterator[io.BufferedIOBase]:
    """``path`` open for reading bytes, gunzipped when ``gz``; invalid or
    truncated gzip data, met while reading, is a ValueError naming the file
    (and ending with ``remedy``)."""
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            yield fh
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip file ({exc}){remedy}") from exc


def _read_upto(fh: io.BufferedIOBase, size: int, head: bytes = b"") -> bytearray:
    """``head`` followed by at most ``size`` bytes of ``fh``, in one buffer
    that grows a chunk at a time: ``read(size)`` can allocate ``size`` bytes
    up front, whatever the file holds, and chunks joined at the end would be
    held twice.  Its memory is about what the file holds (a bytearray
    over-allocates by an eighth at most)."""
    buf = bytearray(head)
    while size > 0:
        chunk = fh.read(min(size, _CHUNK))
        if not chunk:
            break
        buf += chunk
        size -= len(chunk)
    return buf


def _read_bytes(path: Path, gz: Optional[bool] = None, limit: Optional[int] = None,
                remedy: str = "") -> _Bytes:
    """Return the uncompressed contents of ``path``.

    The file is gunzipped if ``gz`` is true, or, when ``gz`` is None, if its
    name ends in ``.gz``.  With a ``limit``, at most ``limit + 1`` bytes are
    read (so a small file that decompresses to gigabytes costs no memory).

    Raises
    ------
    ValueError
        If a ``.gz`` file is not valid gzip data or is truncated, or if the
        contents exceed ``limit`` bytes; the message ends with ``remedy``.
    """
    if gz is None:
        gz = path.suffix == ".gz"
    with _opened(path, gz, remedy) as fh:
        data = fh.read() if limit is None else _read_upto(fh, limit + 1)
    if limit is not None and len(data) > limit:
        raise ValueError(f"{path}: holds more than the {limit} bytes expected"
                         f"{' uncompressed' if gz else ''}; the file is corrupt or not MNIST"
                         f"{remedy}")
    return data


def _parse_idx(data: _Bytes, name: Union[str, Path]) -> np.ndarray:
    """Parse unsigned-byte IDX ``data`` into a uint8 view.

    Parameters
    ----------
    data : bytes or bytearray
        Uncompressed IDX file contents.
    name : str or Path
        File name used in error messages.

    Returns
    -------
    numpy.ndarray
        uint8 array with the IDX shape: a view on ``data``, writable when
        ``data`` is.

    Raises
    ------
    ValueError
        On a bad magic number, a truncated header, a payload whose length
        does not match the dimensions, or dimensions no array can have.
    """
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file (only {len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    ndim = _IDX_MAGIC_NDIM.get(magic)
    if ndim is None:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x} (expected 0x{_IDX_MAGIC_LABELS:08x} "
            f"for labels or 0x{_IDX_MAGIC_IMAGES:08x} for images)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{name}: truncated IDX header ({len(data)} bytes, need {header} for {ndim} dims)"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = 1
    for d in dims:
        expected *= d
    payload = len(data) - header
    if payload != expected:
        raise ValueError(
            f"{name}: IDX payload is {payload} bytes but dimensions {dims} require {expected}"
        )
    try:  # no payload, but dimensions whose product NumPy cannot represent
        return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
    except ValueError as exc:
        raise ValueError(f"{name}: IDX dimensions {dims} are too large for an array "
                         f"({exc})") from exc


def read_idx(path: PathLike) -> np.ndarray:
    """Read an unsigned-byte IDX file (as used by MNIST).

    Parameters
    ----------
    path : str or os.PathLike
        Path to the file.  A ``.gz`` suffix means the file is read with
        :mod:`gzip`; otherwise it is read as raw IDX data.

    Returns
    -------
    numpy.ndarray
        A new writable ``uint8`` array with the shape given by the IDX header:
        1-D for label files (magic ``0x00000801``), 3-D for image files
        (magic ``0x00000803``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is malformed (bad magic number, truncated header,
        payload length not matching the dimensions, dimensions too large
        for an array, corrupt gzip data).  The message names the file.
    """
    path = Path(path)
    return _parse_idx(_read_idx_bytes(path), path)  # a view on a buffer of its own


def _read_idx_bytes(path: Path) -> bytearray:
    """The bytes of the IDX file at ``path`` (gunzipped if its name ends in
    ``.gz``), read no further than one byte past the size its header
    announces: a small .gz that expands to gigabytes costs no more memory
    than its header announces, and _parse_idx still sees that the payload is
    too long.  A header announcing more than the file holds costs what the
    file holds (a buffer filled as it is read).  A malformed or truncated
    header is returned as it is, for _parse_idx to name the fault."""
    with _opened(path, path.suffix == ".gz") as fh:
        data = fh.read(4)
        ndim = _IDX_MAGIC_NDIM.get(int.from_bytes(data, "big")) if len(data) == 4 else None
        if ndim is None:
            return bytearray(data)
        data += fh.read(4 * ndim)
        if len(data) < 4 + 4 * ndim:
            return bytearray(data)
        payload = 1
        for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4):
            payload *= int(d)
        return _read_upto(fh, payload + 1, head=data)


# --------------------------------------------------------------------------- #
# Directory resolution and download
# --------------------------------------------------------------------------- #
def _default_cache_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/sigmax/mnist`` or ``~/.cache/sigmax/mnist``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sigmax" / "mnist"


def _resolve_dir(
    data_dir: Optional[PathLike], cache_dir: Optional[PathLike]
) -> Tuple[Path, bool]:
    """Return ``(directory, explicit)``; ``explicit`` forbids downloading."""
    if data_dir is not None:
        return _given_dir(data_dir, "data_dir (--data-dir)",
                          f"{DATA_ENV_VAR} or the cache"), True
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser(), True
    if cache_dir is not None:
        return _given_dir(cache_dir, "cache_dir", "the default cache"), False
    return _default_cache_dir(), False


def _given_dir(value: PathLike, name: str, otherwise: str) -> Path:
    """The directory a caller passed, refusing an empty path: ``Path("")`` is
    the current directory, never what an empty value meant."""
    if os.fspath(value) == "":
        raise ValueError(f"{name} is an empty path; pass a directory, or leave it out "
                         f"to use {otherwise}")
    return Path(value).expanduser()


def _find(directory: Path, name: str) -> Optional[Path]:
    """Return the uncompressed or ``.gz`` file for ``name``, else ``None``."""
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _check_sha256(data: _Bytes, name: str, path: Union[str, Path], remedy: str = "") -> None:
    """Raise ``ValueError`` unless ``data`` has the known SHA-256 for ``name``;
    the message ends with ``remedy`` (see :func:`_remedy`)."""
    expected = MNIST_SHA256[name]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ValueError(
            f"{path}: SHA-256 of the uncompressed data is {actual}, expected {expected} "
            f"for {name}; the file is corrupt, incomplete or not MNIST{remedy}"
        )


def _remedy(explicit: bool, download: bool) -> str:
    """What to do about a bad file found in the directory load_mnist reads, as
    the end of its error message: a file in the cache is downloaded again once
    deleted (when downloads are allowed); one in a directory given explicitly
    never is."""
    if explicit or not download:
        return " (replace it with the original MNIST file, gzipped or not)"
    return " (delete it to download it again into the cache, or replace it)"


def _max_download_bytes(name: str) -> int:
    """The most bytes ``<name>.gz`` may take: its uncompressed size plus 1 MiB.

    gzip never grows data by more than a few bytes per 32 KiB (stored blocks),
    so a longer response is not the file; it is cut off rather than written
    to disk in full.
    """
    return MNIST_BYTES[name] + (1 << 20)


def _fetch(url: str, dest: Path, max_bytes: int) -> None:
    """Download ``url`` to the file ``dest`` (overwriting it) with urllib.

    Raises ``ValueError`` as soon as the response passes ``max_bytes``.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "sigmax"})
    with urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response:
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > max_bytes:
            raise ValueError(f"the response is {int(announced)} bytes long, more than "
                             f"the {max_bytes} bytes the file can take")
        written = 0
        with open(dest, "wb") as out:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise ValueError(f"the response passed {max_bytes} bytes, more "
                                     f"than the file can take")
                out.write(chunk)


def _new_part_file(directory: Path, name: str) -> Path:
    """Create an empty, uniquely named ``.<name>.<random>.gz.part`` in ``directory``.

    Its mode is what any new file gets under the umask (0644 under umask 022),
    as the cache file it becomes should be, not ``tempfile.mkstemp``'s 0600.
    """
    path = directory / f".{name}.{secrets.token_hex(8)}.gz.part"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return path


def _download(name: str, directory: Path) -> _Bytes:
    """Download ``<name>.gz`` into ``directory`` and return its uncompressed bytes.

    Each mirror of :data:`MNIST_MIRRORS` is tried in turn.  The download goes to
    a temporary file in ``directory``; only after the SHA-256 of the
    uncompressed data matches is it atomically renamed to ``<name>.gz``.

    Raises
    ------
    OSError
        If every mirror fails.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / (name + ".gz")
    errors: List[str] = []
    for mirror in MNIST_MIRRORS:
        url = mirror + name + ".gz"
        tmp = _new_part_file(directory, name)
        try:
            _fetch(url, tmp, _max_download_bytes(name))
            data = _read_bytes(tmp, gz=True, limit=MNIST_BYTES[name])
            _check_sha256(data, name, url)
            os.replace(tmp, final)
            return data
        except _DOWNLOAD_ERRORS as exc:
            errors.append(f"  {url}: {type(exc).__name__}: {exc}")
        finally:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
    raise OSError(
        f"could not download MNIST file {name}.gz into {directory} from any mirror:\n"
        + "\n".join(errors)
        + f"\nSet the environment variable {DATA_ENV_VAR} (or pass data_dir=, or --data-dir to python -m sigmax) to a "
        f"directory holding the four MNIST files ({', '.join(MNIST_FILES)}; "
        f"gzipped with a .gz suffix or uncompressed)."
    )


# --------------------------------------------------------------------------- #
# Public loader
# --------------------------------------------------------------------------- #
def load_mnist(
    data_dir: Optional[PathLike] = None,
    *,
    dtype: npt.DTypeLike = np.float32,
    download: bool = True,
    cache_dir: Optional[PathLike] = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST as flat, [0, 1]-scaled feature matrices and integer labels.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding the four MNIST files (each gzipped with a ``.gz``
        suffix or uncompressed).  Defaults to ``$SIGMAX_DATA`` if set, else
        the cache directory.  Nothing is downloaded into this directory.
    dtype : data-type, default numpy.float32
        Floating dtype of the returned feature matrices.
    download : bool, default True
        Whether to download files missing from the *cache* directory.
    cache_dir : str or os.PathLike, optional
        Cache directory used when neither ``data_dir`` nor ``SIGMAX_DATA``
        is given.  Defaults to ``$XDG_CACHE_HOME/sigmax/mnist`` or
        ``~/.cache/sigmax/mnist``.

    Returns
    -------
    X_train : numpy.ndarray
        ``(60000, 784)`` C-contiguous array of ``dtype``, pixels / 255.
    y_train : numpy.ndarray
        ``(60000,)`` int64 labels in 0..9.
    X_test : numpy.ndarray
        ``(10000, 784)`` C-contiguous array of ``dtype``, pixels / 255.
    y_test : numpy.ndarray
        ``(10000,)`` int64 labels in 0..9.

    Raises
    ------
    FileNotFoundError
        If a file is missing from an explicitly given directory (``data_dir``
        or ``SIGMAX_DATA``), or from the cache with ``download=False``.
    ValueError
        If a file is malformed or its SHA-256 (of the uncompressed bytes) does
        not match :data:`MNIST_SHA256`, if ``dtype`` is not floating, or if
        ``data_dir`` is an empty path, or ``cache_dir`` when the cache is the
        directory used (no ``data_dir`` and no ``SIGMAX_DATA``).
    OSError
        If a download is needed and every mirror fails.

    Notes
    -----
    The SHA-256 of every file is verified on each call; results are not
    cached in memory.
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dt}")

    directory, explicit = _resolve_dir(data_dir, cache_dir)
    found = {name: _find(directory, name) for name in MNIST_FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing and (explicit or not download):
        if explicit:
            how = (f"the directory is given explicitly (data_dir, --data-dir or {DATA_ENV_VAR}), "
                   f"so nothing is downloaded into it")
        else:
            how = f"pass download=True to fetch them, or set {DATA_ENV_VAR}"
        raise FileNotFoundError(
            f"MNIST file(s) {', '.join(missing)} not found in {directory} "
            f"(expected each of {', '.join(MNIST_FILES)} as <name> or <name>.gz; {how})"
        )

    arrays: Dict[str, np.ndarray] = {}
    remedy = _remedy(explicit, download)  # the end of a bad file's message
    for name in MNIST_FILES:
        path = found[name]
        if path is None:
            data = _download(name, directory)
            where: Union[str, Path] = directory / (name + ".gz")
        else:
            data = _read_bytes(path, limit=MNIST_BYTES[name], remedy=remedy)
            where = path
            _check_sha256(data, name, where, remedy=remedy)
        arrays[name] = _parse_idx(data, where)

    out: List[np.ndarray] = []
    for split in ("train", "t10k"):
        images = arrays[f"{split}-images-idx3-ubyte"]
        labels = arrays[f"{split}-labels-idx1-ubyte"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{split}: inconsistent MNIST shapes {images.shape} and {labels.shape}"
            )
        X = images.reshape(images.shape[0], -1).astype(dt, order="C")
        X /= dt.type(255)
        out.append(X)
        out.append(labels.astype(np.int64))
    X_train, y_train, X_test, y_test = out
    return X_train, y_train, X_test, y_test
