"""Tests for sigmax.datasets (MNIST loading).  No test touches the network."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tracemalloc
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import sigmax.datasets as ds
from sigmax.datasets import load_mnist, read_idx

REPO_ROOT = Path(__file__).resolve().parent.parent
_REAL_URLOPEN = urllib.request.urlopen
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _shared_mnist_dir() -> Path:
    env = os.environ.get("SIGMAX_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mnist"


def _source_file(directory: Path, name: str) -> Path:
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(candidate)


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    d = _shared_mnist_dir()
    if not all((d / n).is_file() or (d / (n + ".gz")).is_file() for n in ds.MNIST_FILES):
        # a failure, not a skip: the README's test command expects the data there
        pytest.fail(f"MNIST data not found in {d}: set SIGMAX_DATA to the directory of the IDX files")
    return d


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a URL."""

    def forbidden(*args, **kwargs):
        raise AssertionError("network access attempted in tests")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No SIGMAX_DATA; XDG_CACHE_HOME points into tmp_path."""
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    return xdg / "sigmax" / "mnist"


def _idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">I", 0x800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def _link_real_files(src: Path, dst: Path, names) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        f = _source_file(src, name)
        os.symlink(f, dst / f.name)


def _copy_fetch(mnist_dir: Path, calls: list):
    def fetch(url: str, dest, max_bytes: int) -> None:
        calls.append(url)
        src = _source_file(mnist_dir, url.rsplit("/", 1)[-1][: -len(".gz")])
        if src.suffix == ".gz":
            shutil.copyfile(src, dest)
        else:
            Path(dest).write_bytes(gzip.compress(src.read_bytes(), compresslevel=1))

    return fetch


# --------------------------------------------------------------------------- #
# Real data
# --------------------------------------------------------------------------- #
def test_load_mnist_shapes_dtypes(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    for X in (X_train, X_test):
        assert X.flags.c_contiguous and X.flags.writeable
        assert X.min() == 0.0 and X.max() == 1.0


def test_load_mnist_labels(mnist):
    _, y_train, _, y_test = mnist
    for y in (y_train, y_test):
        assert y.min() == 0 and y.max() == 9
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).sum() == 10000
    assert sum(TRAIN_COUNTS) == 60000


def test_load_mnist_scaling_exact(mnist, mnist_dir):
    X_train = mnist[0]
    raw = read_idx(_source_file(mnist_dir, "train-images-idx3-ubyte"))
    assert raw.shape == (60000, 28, 28) and raw.dtype == np.uint8
    np.testing.assert_array_equal(X_train[:100], raw[:100].reshape(100, 784).astype(np.float32) / np.float32(255))


def test_load_mnist_float64(mnist, mnist_dir):
    X_train, y_train, X_test, y_test = load_mnist(mnist_dir, dtype=np.float64)
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64
    assert X_train.flags.c_contiguous and X_test.flags.c_contiguous
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    np.testing.assert_allclose(X_test, mnist[2], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(y_train, mnist[1])


def test_load_mnist_rejects_non_float_dtype(mnist_dir):
    with pytest.raises(ValueError, match="floating"):
        load_mnist(mnist_dir, dtype=np.uint8)


def test_sigmax_data_env_and_uncompressed(monkeypatch, tmp_path, mnist_dir, mnist):
    # mix of uncompressed and gzipped files, located through SIGMAX_DATA
    for name in ds.MNIST_FILES:
        src = _source_file(mnist_dir, name)
        if name.startswith("t10k") and src.suffix == ".gz":
            with gzip.open(src, "rb") as fi, open(tmp_path / name, "wb") as fo:
                shutil.copyfileobj(fi, fo)
        else:
            os.symlink(src, tmp_path / src.name)
    monkeypatch.setenv("SIGMAX_DATA", str(tmp_path))
    _, _, X_test, y_test = load_mnist(download=False)
    np.testing.assert_array_equal(X_test, mnist[2])
    np.testing.assert_array_equal(y_test, mnist[3])


def test_module_constants():
    assert set(ds.MNIST_SHA256) == set(ds.MNIST_FILES)
    assert all(len(h) == 64 for h in ds.MNIST_SHA256.values())
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in ds.MNIST_MIRRORS
    assert "https://storage.googleapis.com/cvdf-datasets/mnist/" in ds.MNIST_MIRRORS
    assert ds.__all__ == ["load_mnist", "read_idx"]


# --------------------------------------------------------------------------- #
# read_idx on synthetic files
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (0, 28, 28)])
def test_read_idx_roundtrip(tmp_path, compress, shape):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
    data = _idx_bytes(arr)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(str(path) if compress else path)
    assert out.dtype == np.uint8 and out.shape == shape
    assert out.flags.writeable
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "not an IDX"),
        (struct.pack(">I", 0x12345678) + b"\0" * 16, "magic"),
        (struct.pack(">II", 0x802, 2) + b"\0" * 4, "magic"),  # 2-D: unsupported
        (struct.pack(">II", 0x0D01, 2) + b"\0" * 8, "magic"),  # float type
        (struct.pack(">II", 0x803, 2), "header"),  # truncated header
        (struct.pack(">II", 0x801, 10) + b"\1" * 9, "payload"),  # truncated payload
        (struct.pack(">II", 0x801, 10) + b"\1" * 11, "payload"),  # trailing bytes
        (struct.pack(">IIII", 0x803, 2, 28, 28) + b"\0" * 1000, "payload"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_malformed(tmp_path, data, match, compress):
    path = tmp_path / ("bad-file.gz" if compress else "bad-file")
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert "bad-file" in str(info.value)


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.arange(100, dtype=np.uint8)))[:-20])
    with pytest.raises(ValueError, match="broken.gz"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_no_further_than_its_header_says(tmp_path, compress):
    # a label file of 10 bytes followed by 160 MiB (160 KiB gzipped): rejected
    # after reading 11 payload bytes, not the whole expansion
    path = tmp_path / ("long.gz" if compress else "long")
    data = _idx_bytes(np.arange(10, dtype=np.uint8)) + bytes(160 << 20)
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    del data
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="payload") as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "long" in str(info.value)
    assert peak < 1 << 20
    huge = tmp_path / "huge"  # a header announcing 2**96 bytes, and 3 of them
    huge.write_bytes(struct.pack(">IIII", 0x803, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"abc")
    with pytest.raises(ValueError, match="payload"):
        read_idx(huge)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("announced", ["as held", "5x held"])
def test_read_idx_holds_the_file_once(tmp_path, compress, announced):
    # an image file of 32000 images (25 MB), whose header announces them or
    # five times as many (a small .gz claiming gigabytes): the peak is about
    # what the file holds, not twice (chunks joined, or a copy of the array)
    images = 32000
    held = images * 28 * 28
    claim = held if announced == "as held" else 5 * held
    path = tmp_path / ("images.gz" if compress else "images")
    data = struct.pack(">IIII", 0x803, claim // (28 * 28), 28, 28) + bytes(held)
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    del data
    tracemalloc.start()
    try:
        if claim == held:
            out = read_idx(path)
            assert out.shape == (images, 28, 28) and out.flags.writeable
            del out
        else:
            with pytest.raises(ValueError, match="payload") as info:
                read_idx(path)
            assert "images" in str(info.value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * held


def test_read_idx_names_the_file_for_dimensions_no_array_can_have(tmp_path):
    # no payload (a dimension is 0), but a product of the others beyond NumPy's
    path = tmp_path / "empty-but-vast"
    path.write_bytes(struct.pack(">IIII", 0x803, 0, 2**32 - 1, 2**32 - 1))
    with pytest.raises(ValueError, match="empty-but-vast: IDX dimensions .* too large"):
        read_idx(path)


def test_read_idx_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


# --------------------------------------------------------------------------- #
# Hash check and missing files
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("compress", [False, True])
def test_hash_mismatch(tmp_path, mnist_dir, compress):
    name = "t10k-labels-idx1-ubyte"
    others = [n for n in ds.MNIST_FILES if n != name]
    _link_real_files(mnist_dir, tmp_path, others)
    fake = _idx_bytes(np.arange(10000, dtype=np.int64) % 10)  # valid IDX, wrong content
    target = tmp_path / (name + ".gz" if compress else name)
    target.write_bytes(gzip.compress(fake) if compress else fake)
    with pytest.raises(ValueError, match="SHA-256") as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert name in msg and ds.MNIST_SHA256[name] in msg
    assert hashlib.sha256(fake).hexdigest() in msg


@pytest.mark.parametrize("where", ["data_dir", "cache", "cache without downloads"])
@pytest.mark.parametrize("fault", ["content", "oversized", "gzip"])
def test_bad_file_message_says_what_to_do_where_it_lies(tmp_path, mnist_dir, monkeypatch,
                                                        where, fault):
    """Deleting a bad file in the cache brings a fresh download; in a directory
    given explicitly, or with download=False, nothing is downloaded, so the
    message must not suggest it."""
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    monkeypatch.setattr(ds, "_fetch", lambda url, dest, max_bytes: pytest.fail("download"))
    name = "t10k-labels-idx1-ubyte"
    _link_real_files(mnist_dir, tmp_path, [n for n in ds.MNIST_FILES if n != name])
    target = tmp_path / (name + ".gz")
    good = _idx_bytes(np.arange(10000, dtype=np.int64) % 10)
    target.write_bytes({"content": gzip.compress(good),
                        "oversized": gzip.compress(good + bytes(100)),
                        "gzip": gzip.compress(good)[:-20]}[fault])
    with pytest.raises(ValueError, match={"content": "SHA-256", "oversized": "more than",
                                          "gzip": "corrupt gzip"}[fault]) as info:
        if where == "data_dir":
            load_mnist(tmp_path)
        else:
            load_mnist(cache_dir=tmp_path, download=where == "cache")
    msg = str(info.value)
    assert str(target) in msg
    if where != "cache":
        assert "replace it" in msg and "download" not in msg
    else:
        assert "delete it to download it again into the cache" in msg


def test_bad_download_message_has_no_file_to_delete(tmp_path, monkeypatch):
    """A download that fails its check is removed at once: the mirror's error
    names the URL and suggests nothing about a file."""
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    monkeypatch.setattr(ds, "_fetch",
                        lambda url, dest, max_bytes: Path(dest).write_bytes(gzip.compress(b"x")))
    with pytest.raises(OSError, match="could not download") as info:
        load_mnist(cache_dir=tmp_path)
    msg = str(info.value)
    assert "SHA-256" in msg and "delete it" not in msg and "replace it" not in msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compress", [False, True])
def test_oversized_file_is_rejected_before_it_is_read_whole(tmp_path, mnist_dir, compress):
    # 160 MiB of zeros (160 KiB gzipped) where 10008 bytes are expected: read
    # whole, it alone would take more memory than the other three files together
    name = "t10k-labels-idx1-ubyte"
    _link_real_files(mnist_dir, tmp_path, [n for n in ds.MNIST_FILES if n != name])
    big = bytes(160 << 20)
    target = tmp_path / (name + ".gz" if compress else name)
    target.write_bytes(gzip.compress(big, compresslevel=1) if compress else big)
    del big
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"more than the {ds.MNIST_BYTES[name]} bytes") as info:
            load_mnist(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(target) in str(info.value)
    assert peak < 100 << 20


def test_mnist_sizes_match_the_real_files(mnist_dir):
    for name in ds.MNIST_FILES:
        path = _source_file(mnist_dir, name)
        assert len(ds._read_bytes(path)) == ds.MNIST_BYTES[name], name


def test_missing_file_in_data_dir(tmp_path, mnist_dir, monkeypatch):
    _link_real_files(mnist_dir, tmp_path, ds.MNIST_FILES[:3])

    def fetch(url, dest, max_bytes):
        raise AssertionError("must not download into an explicit data_dir")

    monkeypatch.setattr(ds, "_fetch", fetch)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg
    assert all(n in msg for n in ds.MNIST_FILES)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_missing_file_in_sigmax_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGMAX_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(ds, "_fetch", lambda url, dest, max_bytes: pytest.fail("download attempted"))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "empty").exists()


def test_empty_data_dir_is_refused(tmp_path, monkeypatch, mnist_dir):
    """An empty data_dir or cache_dir is not read as the current directory, even
    one holding MNIST."""
    _link_real_files(mnist_dir, tmp_path, ds.MNIST_FILES)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"data_dir \(--data-dir\) is an empty path"):
        load_mnist("")
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    with pytest.raises(ValueError, match="cache_dir is an empty path"):
        load_mnist(cache_dir="", download=False)


def test_cache_without_download(clean_env, monkeypatch):
    monkeypatch.setattr(ds, "_fetch", lambda url, dest, max_bytes: pytest.fail("download attempted"))
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(download=False)


# --------------------------------------------------------------------------- #
# Download path (offline: _fetch is monkeypatched)
# --------------------------------------------------------------------------- #
def test_download_into_xdg_cache(clean_env, monkeypatch, mnist_dir, mnist):
    calls: list = []
    monkeypatch.setattr(ds, "_fetch", _copy_fetch(mnist_dir, calls))
    X_train, y_train, X_test, y_test = load_mnist()
    assert calls == [ds.MNIST_MIRRORS[0] + n + ".gz" for n in ds.MNIST_FILES]
    assert sorted(p.name for p in clean_env.iterdir()) == sorted(n + ".gz" for n in ds.MNIST_FILES)
    np.testing.assert_array_equal(y_train, mnist[1])
    np.testing.assert_array_equal(X_test, mnist[2])
    assert X_train.shape == (60000, 784)

    # second call uses the cache without fetching
    calls.clear()
    _, y_train2, _, _ = load_mnist()
    assert calls == []
    np.testing.assert_array_equal(y_train2, y_train)


def test_default_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ds._default_cache_dir() == tmp_path / ".cache" / "sigmax" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert ds._default_cache_dir() == tmp_path / "x" / "sigmax" / "mnist"


def test_download_mirror_fallback(tmp_path, monkeypatch, mnist_dir, mnist):
    """cache_dir argument; first mirror fails (network error / bad data), second works."""
    monkeypatch.delenv("SIGMAX_DATA", raising=False)
    cache = tmp_path / "cache"
    # only the small label file needs downloading
    _link_real_files(mnist_dir, cache, ds.MNIST_FILES[:3])
    name = "t10k-labels-idx1-ubyte"
    calls: list = []
    good = _copy_fetch(mnist_dir, calls)

    for failure in ("network", "corrupt"):
        calls.clear()
        (cache / (name + ".gz")).unlink(missing_ok=True)

        def fetch(url, dest, max_bytes, failure=failure):
            if url.startswith(ds.MNIST_MIRRORS[0]):
                calls.append(url)
                if failure == "network":
                    raise urllib.error.URLError("no route to host")
                Path(dest).write_bytes(gzip.compress(b"garbage"))
                return
            good(url, dest, max_bytes)

        monkeypatch.setattr(ds, "_fetch", fetch)
        _, _, _, y_test = load_mnist(cache_dir=cache)
        assert calls == [m + name + ".gz" for m in ds.MNIST_MIRRORS]
        np.testing.assert_array_equal(y_test, mnist[3])
        assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in ds.MNIST_FILES)


def test_fetch_local_file_url(tmp_path, monkeypatch):
    """The real _fetch, exercised with a local file:// URL only."""

    def local_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        assert url.startswith("file:"), url
        return _REAL_URLOPEN(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    dest = tmp_path / "dest.bin"
    ds._fetch(src.as_uri(), dest, src.stat().st_size)
    assert dest.read_bytes() == src.read_bytes()


class _EndlessResponse:
    """A response that never ends and announces no length (a broken mirror or proxy)."""

    headers: dict = {}

    def __init__(self):
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size < 0 else size
        self.sent += size
        return b"<" * size

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_fetch_stops_past_max_bytes(tmp_path, monkeypatch):
    """A response longer than the file can be is cut off, not written to disk in full."""
    response = _EndlessResponse()
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, *a, **kw: response)
    dest = tmp_path / "dest.gz"
    with pytest.raises(ValueError, match="more than the file can take"):
        ds._fetch("https://mirror.invalid/x.gz", dest, 3 << 20)
    assert dest.stat().st_size <= 3 << 20
    assert response.sent <= (3 << 20) + ds._CHUNK


def test_fetch_refuses_announced_oversize(tmp_path, monkeypatch):
    """A Content-Length above the limit is refused before any byte is read."""

    def local_only(request, *args, **kwargs):
        assert request.full_url.startswith("file:")
        return _REAL_URLOPEN(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 5000)
    with pytest.raises(ValueError, match="5000 bytes long"):
        ds._fetch(src.as_uri(), tmp_path / "dest.bin", 4999)


def test_download_of_endless_response_moves_on(clean_env, monkeypatch):
    """Every mirror sending junk without end: an OSError, and nothing left in the cache."""
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, *a, **kw: _EndlessResponse())
    with pytest.raises(OSError, match="could not download") as info:
        ds._download("train-labels-idx1-ubyte", clean_env)
    assert "more than the file can take" in str(info.value)
    assert list(clean_env.iterdir()) == []


def test_downloaded_files_follow_the_umask(clean_env, monkeypatch, mnist_dir):
    """Cached files get the mode of any new file (0644 under umask 022), so a
    shared cache is readable by the others it is shared with, not private."""
    monkeypatch.setattr(ds, "_fetch", _copy_fetch(mnist_dir, []))
    old = os.umask(0o022)
    try:
        load_mnist()
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in clean_env.iterdir()}
    assert modes == {n + ".gz": 0o644 for n in ds.MNIST_FILES}


def test_download_all_mirrors_fail(clean_env, monkeypatch):
    calls: list = []

    def fetch(url, dest, max_bytes):
        calls.append(url)
        Path(dest).write_bytes(b"partial")
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(ds, "_fetch", fetch)
    with pytest.raises(OSError, match="SIGMAX_DATA") as info:
        load_mnist()
    assert not isinstance(info.value, FileNotFoundError)
    assert len(calls) == len(ds.MNIST_MIRRORS)
    assert "offline" in str(info.value)
    # no temporary or partial files left behind
    assert list(clean_env.iterdir()) == []
