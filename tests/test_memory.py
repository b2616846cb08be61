"""The kernels never allocate anything the size of X: fit and loss_grad on a
float32 X allocate less than 5% of X.nbytes as seen by tracemalloc (which sees
NumPy's buffers but not the C kernels' malloc/calloc), and grow the process's
peak resident memory by less than 25% of X.nbytes (which sees both).

A clean build grows the peak RSS by about 1.3% of X in loss_grad, 0.5% in an
sgd fit and 5% in an lbfgs fit (its preconditioner and history); a scratch
buffer of X's size, written by the C code, adds 100%.  With many classes and few
features (300 classes; 4 or 32 features) loss_grad and an sgd fit grow it by
13-17% of X, mostly the parts' gradient sums and the labels; blocks of 64 rows
whatever the class count made their scratch add 33-115%.  The RSS bound is checked
on Linux, where failing to measure it fails the test; it is skipped elsewhere
and under ASan / valgrind, whose quarantine keeps freed memory resident.
"""
import ctypes
import sys
import tracemalloc

import numpy as np
import pytest

import sigmax
from sigmax import _core

from marks import STOPS_EARLY, benchmark_module, isa, under_memory_tool  # noqa: F401 (isa: a fixture)

fit_memory = benchmark_module("fit_memory")

TRACED_SHARE = 0.05  # of X.nbytes, tracemalloc's peak
RSS_SHARE = 0.25     # of X.nbytes, the peak resident memory's growth

LINUX = sys.platform.startswith("linux")
NEEDS_RSS = [
    pytest.mark.skipif(not LINUX, reason="the peak RSS is reset and read through Linux's "
                                         "/proc/self (clear_refs, status)"),
    pytest.mark.skipif(under_memory_tool(), reason="RSS is meaningless under ASan / valgrind"),
]
RSS = pytest.param("rss", marks=NEEDS_RSS)
MEASURES = ["tracemalloc", RSS]
BOUNDS = {"tracemalloc": TRACED_SHARE, "rss": RSS_SHARE}


def peak_allocation(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


RSS_TRIES = 3


def rss_growth(fn):
    """Growth of the peak RSS during fn(), in bytes (Linux only): the least of
    RSS_TRIES calls.  The peak RSS is the whole process's, so a page touched by
    anything else at that moment counts too (once, in a full run of the suite,
    1.9 MB where the call itself grows it by 0.4 MB).  What fn allocates anew
    in every call shows in every call (the kernels' scratch does: the C
    library returns it to the system between calls); memory the C library
    keeps from one call to the next shows in the first only, as it would in
    growth()'s warm-up call anyway."""
    tries = [fit_memory.rss_peak_growth(fn) for _ in range(RSS_TRIES)]
    assert None not in tries, "the peak RSS could not be reset or read through /proc/self " \
                              "(clear_refs, status) on Linux"
    return min(tries)


def growth(measure, fn):
    if measure == "tracemalloc":
        return peak_allocation(fn)
    fn()  # warm-up: first-call pages (thread stacks, lazy symbol binding) are not X's size
    return rss_growth(fn)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, m, k = 20000, 200, 10
    X = rng.standard_normal((n, m), dtype=np.float32)
    y = rng.integers(0, k, size=n)
    return X, y, k


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_loss_grad_allocates_little(data, order, measure):
    X, y, k = data
    X = np.asarray(X, order=order)
    W = np.zeros((k, X.shape[1]), np.float32)
    b = np.zeros(k, np.float32)
    sigmax.loss_grad(X, y, W, b)  # warm-up
    peak = growth(measure, lambda: sigmax.loss_grad(X, y, W, b, alpha=0.1))
    assert peak < BOUNDS[measure] * X.nbytes, (peak, X.nbytes)


@pytest.mark.parametrize("measure", MEASURES)
def test_strided_view_is_not_copied(data, measure):
    X, y, k = data
    view = X[::2, ::2]
    W = np.zeros((k, view.shape[1]), np.float32)
    b = np.zeros(k, np.float32)
    peak = growth(measure, lambda: sigmax.loss_grad(view, y[::2], W, b))
    assert peak < BOUNDS[measure] * view.nbytes, (peak, view.nbytes)


@pytest.mark.parametrize("measure", MEASURES)
def test_memory_map_is_not_copied(data, measure, tmp_path):
    X, y, k = data
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    W = np.zeros((k, X.shape[1]), np.float32)
    b = np.zeros(k, np.float32)
    sigmax.loss_grad(Xm, y, W, b)  # warm-up (and the file's pages read once)
    peak = growth(measure, lambda: sigmax.loss_grad(Xm, y, W, b))
    assert peak < BOUNDS[measure] * X.nbytes, (peak, X.nbytes)


@STOPS_EARLY
@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs"])
@pytest.mark.parametrize("estimator", [sigmax.SoftmaxRegression, sigmax.LogisticRegression])
def test_fit_allocates_little(data, solver, estimator, measure):
    """lbfgs included: its block preconditioner (201 x 201 doubles here) and
    the float32 product that builds it stay within the share."""
    X, y, k = data
    model = estimator(solver=solver, max_iter=2, batch_size=64, random_state=0)
    peak = growth(measure, lambda: model.fit(X, y))
    assert peak < BOUNDS[measure] * X.nbytes, (peak, X.nbytes)


def test_control_a_copy_of_X_is_seen():
    """The measurement would catch a copy of X (the test above can fail)."""
    X = np.ones((1000, 100), np.float32)
    peak = peak_allocation(lambda: X.astype(np.float64))
    assert peak >= X.nbytes


@NEEDS_RSS[0]
@NEEDS_RSS[1]
def test_control_rss_sees_a_c_buffer_of_X_size(data):
    """A buffer of X's size allocated, written and freed in C (as a kernel's
    scratch copy of X would be), which tracemalloc does not see, shows in the
    peak RSS: the RSS bounds above can fail."""
    X, _, _ = data
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.restype = ctypes.c_void_p
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

    def c_scratch():
        p = libc.malloc(X.nbytes)
        assert p
        try:
            libc.memset(p, 1, X.nbytes)
        finally:
            libc.free(p)

    assert peak_allocation(c_scratch) < TRACED_SHARE * X.nbytes  # invisible to tracemalloc
    assert rss_growth(c_scratch) >= 0.9 * X.nbytes > RSS_SHARE * X.nbytes


# Many classes and few features.  A block's scratch holds about 100 bytes per
# row and class (its logits in double and in vector lanes, their exps, dl/dz):
# 64 rows of 300 classes are then half the bytes of 200000 rows of 4 float32
# features, unless the rows per block follow the class count too.
@NEEDS_RSS[0]
@NEEDS_RSS[1]
@pytest.mark.parametrize("isa", _core.supported_isas(), indirect=True)
def test_many_classes_loss_grad_allocates_little(isa):
    rng = np.random.default_rng(0)
    n, m, k = 200_000, 4, 300
    X = rng.standard_normal((n, m), dtype=np.float32)
    y = np.arange(n) % k
    W = np.zeros((k, m), np.float32)
    b = np.zeros(k, np.float32)
    peak = growth("rss", lambda: sigmax.loss_grad(X, y, W, b, n_jobs=2))
    assert peak < RSS_SHARE * X.nbytes, (peak, X.nbytes)


@NEEDS_RSS[0]
@NEEDS_RSS[1]
def test_many_classes_sgd_fit_allocates_little():
    """Batches of 2048 rows are cut into 16 parts: the epoch keeps a block's
    scratch per thread, not per part."""
    rng = np.random.default_rng(0)
    n, m, k = 200_000, 32, 300
    X = rng.standard_normal((n, m), dtype=np.float32)
    y = np.arange(n) % k
    model = sigmax.SoftmaxRegression(solver="sgd", batch_size=2048, max_iter=1, n_jobs=2,
                                     random_state=0)
    peak = growth("rss", lambda: model.fit(X, y))
    assert peak < RSS_SHARE * X.nbytes, (peak, X.nbytes)


@NEEDS_RSS[0]
@NEEDS_RSS[1]
@pytest.mark.parametrize("shuffle", [True, False])
def test_full_batch_sgd_epoch_on_a_tall_thin_X_allocates_little(shuffle):
    """A batch of all the rows: its row indices (8 bytes a row, twice this X)
    are not kept at once."""
    n = 1_000_000
    X = np.ones((n, 1), np.float32)
    y = np.zeros(n, np.intp)
    y[::2] = 1
    W = np.zeros((1, 1), np.float32)
    b = np.zeros(1, np.float32)
    peak = growth("rss", lambda: _core.sgd_epoch(X, y, None, None, W, b, 1, 0, 0.1, 0.0, 1.0, n,
                                                 shuffle, True, 2, 0))
    assert peak < RSS_SHARE * X.nbytes, (peak, X.nbytes)
