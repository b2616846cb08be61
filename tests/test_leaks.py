"""No leaks across thousands of calls into the C extension.

One round of the workload below makes about 3,200 calls of the public API
(fit / predict / predict_proba / predict_log_proba / decision_function of both
estimators and all solvers, loss_grad / loss / logits / softmax / log_softmax /
sigmoid), almost half of them failing on purpose: NaN in X (the ValueError comes
from the C kernels, through their error exits), bad shapes caught in Python, and
bad shapes and dtypes handed straight to sigmax._core (its C argument checks).
The whole file runs in about 5 seconds.
After a warm-up round (caches, OpenMP threads, malloc arenas) the later rounds
must not grow

  (a) the process RSS by more than RSS_BOUND: this catches C-level leaks that
      tracemalloc cannot see (malloc in csrc/);
  (b) the reference counts of the inputs, the estimators and None: a missing
      Py_DECREF / extra Py_INCREF in module.c shows up as +1 per call;
  (c) tracemalloc's traced memory (Python objects and NumPy buffers) after
      gc.collect() by more than TRACED_BOUND, nor the number of blocks held by
      Python's allocator (sys.getallocatedblocks) by more than BLOCKS_BOUND: a
      leaked result object (a float per loss_grad call: 24 bytes, too small for
      the byte bounds) is still one block per call.

Why the bounds can fail (test_the_checks_see_a_leak runs the same checks on a
deliberately leaking workload): a round makes > 1,000 calls with arrays of at
least W's size (K x M float64 = 16 KiB; X is 256 KiB).  Leaking one W-sized
buffer per call is > 1,000 x 16 KiB = 16 MiB per round (48 MiB over the three
measured rounds), against RSS_BOUND = 8 MiB and TRACED_BOUND = 1 MiB; leaking
an X-sized array per call would be > 250 MiB per round.  The low-level
functions and predict methods run 100-400 times per round, so one leaked object
per call of any of them is >= 300 blocks over the measured rounds, against
BLOCKS_BOUND = 200 (fit runs 10 times per round: a small object leaked once per
fit, rather than per epoch, stays below the bound).  A refcount leak on the
inputs is exact: any extra reference fails, the bound is 0.
(Checked with leaks planted in a copy of module.c: free(grad) removed from
loss_grad -> RSS +24.5 MiB; Py_INCREF(X) in forward -> refcount of X +1500; an
extra Py_INCREF of loss_grad's result -> +1682 blocks.  A clean build measures
RSS +0 bytes, traced memory < 1 KiB, +-1 block, no refcount change.)
Smaller C leaks (a few bytes of scratch per call) are left to tools/valgrind.sh.
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

import sigmax
from sigmax import LogisticRegression, SoftmaxRegression

from marks import under_memory_tool

N, M, K = 128, 256, 8           # X: 128 x 256 float64 = 256 KiB; W: 8 x 256 = 16 KiB
MEASURED_ROUNDS = 3
RSS_BOUND = 8 << 20             # bytes of RSS growth allowed after the warm-up round
TRACED_BOUND = 1 << 20          # bytes of tracemalloc growth allowed after the warm-up round
BLOCKS_BOUND = 200              # sys.getallocatedblocks() growth allowed after the warm-up round


def _expect_error(exc, fn, *args, **kwargs):
    """Call fn and require exc; the exception and its traceback die here."""
    try:
        fn(*args, **kwargs)
    except exc:
        return
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not raise {exc.__name__}")


class Workload:
    """The data, the estimators, and one round of calls (run_round)."""

    def __init__(self):
        rng = np.random.default_rng(20240607)
        centers = rng.normal(scale=3.0, size=(K, M))
        self.y = rng.integers(0, K, size=N).astype(np.intp)
        self.X = centers[self.y] + rng.standard_normal((N, M))
        self.X32 = self.X.astype(np.float32)
        self.XF = np.asfortranarray(self.X)
        self.Xbig = rng.standard_normal((4096, 16))       # > 2048 rows: the threaded path
        self.ybig = rng.integers(0, 3, size=4096).astype(np.intp)
        self.Wbig = rng.standard_normal((3, 16)) * 0.1
        self.bbig = np.zeros(3)
        self.Xnan = self.X.copy()
        self.Xnan[N // 2, M // 3] = np.nan
        self.Xnan32 = self.Xnan.astype(np.float32)
        self.Y = np.eye(K)[self.y]                        # one-hot targets
        self.ybin = (self.y % 2).astype(np.intp)
        self.W = rng.standard_normal((K, M)) * 0.01
        self.W32 = self.W.astype(np.float32)
        self.b = rng.standard_normal(K) * 0.1
        self.b32 = self.b.astype(np.float32)
        self.sw = rng.uniform(0.5, 2.0, size=N)
        self.Z = rng.standard_normal((N, K)) * 5
        self.Znan = self.Z.copy()
        self.Znan[3, 1] = np.nan
        self.gW = np.empty_like(self.W)
        self.gb = np.empty_like(self.b)
        self.soft = SoftmaxRegression(alpha=0.1, max_iter=30, tol=1e-4)
        self.soft_sgd = SoftmaxRegression(solver="sgd", max_iter=2, batch_size=32, random_state=0)
        self.logit = LogisticRegression(alpha=0.1, max_iter=30, tol=1e-4)
        self.logit_gd = LogisticRegression(solver="gd", max_iter=3)
        self.multilabel = LogisticRegression(solver="gd", max_iter=2)
        self.fitted = SoftmaxRegression(alpha=0.1, max_iter=30, tol=1e-4).fit(self.X, self.y)
        self.fitted_ovr = LogisticRegression(alpha=0.1, max_iter=30, tol=1e-4).fit(self.X, self.y)
        self.calls = 0

    def objects(self):
        """Everything whose reference count must not change."""
        return {name: value for name, value in vars(self).items()
                if isinstance(value, (np.ndarray, SoftmaxRegression, LogisticRegression))}

    def run_round(self):
        core = sigmax._core
        X, y, W, b = self.X, self.y, self.W, self.b
        calls = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(100):
                # the low-level API, every layout and dtype
                sigmax.loss_grad(X, y, W, b)
                sigmax.loss_grad(self.X32, y, self.W32, self.b32, link="sigmoid", loss="mse")
                sigmax.loss_grad(self.XF, self.Y, W, b, sample_weight=self.sw, alpha=0.1,
                                 out=(self.gW, self.gb))
                sigmax.loss_grad(X[::2, ::2], y[::2], W[:, ::2], b)
                sigmax.loss(X, y, W, b, link="sigmoid")
                sigmax.logits(X, W, b)
                sigmax.logits(self.X32, self.W32, self.b32)
                sigmax.softmax(self.Z)
                sigmax.log_softmax(self.Z)
                sigmax.sigmoid(self.Z)
                sigmax.sigmoid(0.5)
                calls += 11
                # errors from the kernels (NaN in X) and from the Python checks (shapes)
                _expect_error(ValueError, sigmax.loss_grad, self.Xnan, y, W, b)
                _expect_error(ValueError, sigmax.loss, self.Xnan32, y, self.W32, self.b32)
                _expect_error(ValueError, sigmax.logits, self.Xnan, W, b)
                _expect_error(ValueError, sigmax.softmax, self.Znan)
                _expect_error(ValueError, sigmax.sigmoid, self.Znan)
                _expect_error(ValueError, sigmax.loss_grad, X, y, W[:, :-1], b)
                _expect_error(ValueError, sigmax.loss_grad, X, y[:-1], W, b)
                calls += 7
                # bad arguments straight into the C module's checks
                _expect_error((TypeError, ValueError), core.forward, X, W, b, 0, 0,
                              np.empty((N, K - 1)))
                _expect_error((TypeError, ValueError), core.forward, self.X32, W, b, 0, 0,
                              np.empty((N, K)))
                _expect_error((TypeError, ValueError), core.activate, self.Z, 0, False,
                              np.empty((N, K + 1)))
                _expect_error((TypeError, ValueError), core.loss_grad, X, y, None, None,
                              W[:, :-1].copy(), b, 0, 0, 0.0, None, None, 1)
                _expect_error((TypeError, ValueError), core.loss_grad, X, y, None, None,
                              W, b, 0, 0, 0.0, self.gW[:, :-1], self.gb, 1)
                calls += 5
                # prediction, fitted models
                self.fitted.predict(X)
                self.fitted.predict_proba(X)
                self.fitted.predict_log_proba(self.X32)
                self.fitted_ovr.predict_proba(X)
                self.fitted_ovr.decision_function(X)
                _expect_error(ValueError, self.fitted.predict, self.Xnan)
                _expect_error(ValueError, self.fitted.predict_proba, self.Xnan)
                _expect_error(ValueError, self.fitted.predict, X[:, :-1])
                calls += 8
                if i % 10 == 0:
                    # fitting: L-BFGS, SGD and GD, softmax / one-vs-rest / binary / multi-label
                    self.soft.fit(X, y)
                    self.soft_sgd.fit(self.X32, y)
                    self.logit.fit(X, self.ybin, sample_weight=self.sw)
                    self.logit_gd.fit(X, y)
                    self.multilabel.fit(X, self.Y.astype(np.intp))
                    sigmax.loss_grad(self.Xbig, self.ybig, self.Wbig, self.bbig, n_jobs=2)
                    _expect_error(ValueError, self.soft.fit, self.Xnan, y)
                    _expect_error(ValueError, self.soft_sgd.fit, self.Xnan32, y)
                    _expect_error(ValueError, self.logit_gd.fit, self.Xnan, y)
                    _expect_error(ValueError, self.soft.fit, X, y[:-1])
                    calls += 10
        self.calls += calls
        return calls


def _rss():
    """Resident set size in bytes (Linux /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release_free_heap():
    """Give the C heap's free memory back to the system (glibc's malloc_trim),
    so that what a round allocates must grow the RSS: memory earlier tests
    freed but the heap kept resident would otherwise absorb a leak unseen."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


def rss_growth(run_round):
    """RSS growth (bytes) over MEASURED_ROUNDS rounds after one warm-up round."""
    run_round()
    gc.collect()
    _release_free_heap()
    base = _rss()
    peak = base
    for _ in range(MEASURED_ROUNDS):
        run_round()
        gc.collect()
        peak = max(peak, _rss())
    return peak - base


def refcount_changes(work, run_round):
    """{name: change} of the reference counts over the measured rounds."""
    def counts():
        gc.collect()
        objs = dict(work.objects(), None_=None, core=sigmax._core,
                    loss_grad=sigmax._core.loss_grad)
        return {name: sys.getrefcount(obj) for name, obj in objs.items()}

    run_round()
    before = counts()
    for _ in range(MEASURED_ROUNDS):
        run_round()
    after = counts()
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def traced_growth(run_round):
    """Growth over the measured rounds of tracemalloc's traced memory (bytes) and
    of the blocks held by Python's allocator (0 under PYTHONMALLOC=malloc)."""
    tracemalloc.start()
    try:
        run_round()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        base_blocks = sys.getallocatedblocks()
        for _ in range(MEASURED_ROUNDS):
            run_round()
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - base,
                sys.getallocatedblocks() - base_blocks)
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def work():
    return Workload()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
@pytest.mark.skipif(under_memory_tool(), reason="RSS is meaningless under ASan / valgrind")
def test_rss_does_not_grow(work):
    growth = rss_growth(work.run_round)
    assert work.calls > 4 * 2000
    assert growth <= RSS_BOUND, f"RSS grew by {growth / 2**20:.1f} MiB over " \
                                f"{MEASURED_ROUNDS} rounds"


def test_reference_counts_unchanged(work):
    changes = refcount_changes(work, work.run_round)
    assert changes == {}, f"reference counts changed: {changes}"


def test_traced_memory_stable(work):
    growth, blocks = traced_growth(work.run_round)
    assert growth <= TRACED_BOUND, f"tracemalloc: {growth / 2**20:.2f} MiB more after " \
                                   f"{MEASURED_ROUNDS} rounds"
    assert blocks <= BLOCKS_BOUND, f"{blocks} more blocks allocated after {MEASURED_ROUNDS} rounds"


def test_the_checks_see_a_leak(work):
    """Control: the same measurements on a workload that leaks one W-sized array
    (16 KiB), one small object and one reference to X per call, without calling
    sigmax (fast)."""
    leaked = []
    per_round = 1100  # fewer calls than a real round makes

    def leaky_round():
        for _ in range(per_round):
            leaked.append(work.W.copy())  # an array per call
            leaked.append(float(len(leaked)) + 0.5)  # a small object per call
            leaked.append(work.X)         # a reference per call

    try:
        if os.path.exists("/proc/self/statm") and not under_memory_tool():
            assert rss_growth(leaky_round) > RSS_BOUND
        assert refcount_changes(work, leaky_round)["X"] == MEASURED_ROUNDS * per_round
        growth, blocks = traced_growth(leaky_round)
        assert growth > TRACED_BOUND
        if sys.getallocatedblocks():  # 0 when Python's allocator is bypassed
            assert blocks > BLOCKS_BOUND
    finally:
        leaked.clear()
