"""The kernels never allocate anything the size of X: fit and loss_grad on a
float32 X allocate (as seen by tracemalloc, which sees NumPy's buffers) less
than 5% of X.nbytes."""
import tracemalloc

import numpy as np
import pytest

import sigmax

from marks import STOPS_EARLY


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


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, m, k = 20000, 200, 10
    X = rng.standard_normal((n, m), dtype=np.float32)
    y = rng.integers(0, k, size=n)
    return X, y, k


@pytest.mark.parametrize("order", ["C", "F"])
def test_loss_grad_allocates_little(data, order):
    X, y, k = data
    X = np.asarray(X, order=order)
    W = np.zeros((k, X.shape[1]), np.float32)
    b = np.zeros(k, np.float32)
    sigmax.loss_grad(X, y, W, b)  # warm-up
    peak = peak_allocation(lambda: sigmax.loss_grad(X, y, W, b, alpha=0.1))
    assert peak < 0.05 * X.nbytes, (peak, X.nbytes)


def test_strided_view_is_not_copied(data):
    X, y, k = data
    view = X[::2, ::2]
    W = np.zeros((k, view.shape[1]), np.float32)
    b = np.zeros(k, np.float32)
    peak = peak_allocation(lambda: sigmax.loss_grad(view, y[::2], W, b))
    assert peak < 0.05 * view.nbytes


@STOPS_EARLY
@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs"])
@pytest.mark.parametrize("estimator", [sigmax.SoftmaxRegression, sigmax.LogisticRegression])
def test_fit_allocates_little(data, solver, estimator):
    """lbfgs included: its block preconditioner (201 x 201 doubles here) and
    the float32 product that builds it stay within the share."""
    X, y, k = data
    model = estimator(solver=solver, max_iter=2, batch_size=64, random_state=0)
    peak = peak_allocation(lambda: model.fit(X, y))
    assert peak < 0.05 * X.nbytes, (peak, X.nbytes)


def test_control_a_copy_of_X_is_seen():
    """The measurement would catch a copy of X (the test above can fail)."""
    X = np.ones((1000, 100), np.float32)
    peak = peak_allocation(lambda: X.astype(np.float64))
    assert peak >= X.nbytes
