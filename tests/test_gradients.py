"""Gradient checks: sigmax.loss_grad against central finite differences of sigmax.loss.

Every link x loss x target form, for odd shapes (n = 1, M = 1) and K = 2..7, with
and without sample weights and the L2 penalty, in float64.  The oracle's own
gradient (tests/reference.py) is checked the same way, so that the reference
comparisons in test_reference.py rest on a verified oracle.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import reference as ref
import sigmax

STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-8

TARGET_FORMS = {
    "softmax": ["index", "onehot", "soft"],
    "sigmoid": ["index", "onehot", "soft", "multilabel"],
}
CASES = [
    (link, loss, form)
    for link in ("softmax", "sigmoid")
    for loss in ("log", "mse")
    for form in TARGET_FORMS[link]
]
SHAPES = [(1, 1), (1, 4), (6, 1), (5, 3)]  # (n, M)
WEIGHTING = ["plain", "sample_weight", "alpha", "sample_weight+alpha"]


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def make_problem(n, m, k, link, form, weighting, key):
    """X, y, W, b, keyword arguments: moderate logits so differences are accurate."""
    rng = _rng(n, m, k, link, form, weighting, key)
    X = rng.normal(size=(n, m))
    W = 0.7 * rng.normal(size=(k, m))
    b = 0.5 * rng.normal(size=k)
    if form == "index":
        y = rng.integers(0, 2 if (link == "sigmoid" and k == 1) else k, size=n)
        if n > 1:  # make sure more than one class shows up
            y[0], y[1] = 0, (1 if k > 1 or link == "sigmoid" else 0)
    elif form == "onehot":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    elif form == "soft":
        y = rng.dirichlet(np.ones(k), size=n)  # rows sum to 1
    elif form == "multilabel":
        y = rng.integers(0, 2, size=(n, k)).astype(np.float64)
    elif form == "binary01":  # K = 1 sigmoid, 0/1 labels as a (n, 1) matrix
        y = rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    elif form == "soft01":  # K = 1 sigmoid, soft labels in [0, 1]
        y = rng.uniform(0, 1, size=(n, 1))
    else:  # pragma: no cover
        raise ValueError(form)
    kwargs = {}
    if "sample_weight" in weighting:
        sw = rng.uniform(0.2, 3.0, size=n)
        if n > 2:
            sw[1] = 0.0  # a zero weight drops its row
        kwargs["sample_weight"] = sw
    if "alpha" in weighting:
        kwargs["alpha"] = 0.37
    return X, y, W, b, kwargs


def finite_differences(f, W, b, h=STEP):
    """Central differences of f(W, b) with respect to every entry of W and b."""
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    for arr, out in ((W, gW), (b, gb)):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            fp = float(f(W, b))
            arr[idx] = old - h
            fm = float(f(W, b))
            arr[idx] = old
            out[idx] = (fp - fm) / (2 * h)
    return gW, gb


def check_against_fd(loss_fn, grad_fn, X, y, W, b, kwargs):
    W = W.copy()
    b = b.copy()
    value, gW, gb = grad_fn(X, y, W, b, **kwargs)
    assert np.isfinite(value)
    assert gW.shape == W.shape and gb.shape == b.shape
    fdW, fdb = finite_differences(lambda W_, b_: loss_fn(X, y, W_, b_, **kwargs), W, b)
    np.testing.assert_allclose(gW, fdW, rtol=RTOL, atol=ATOL, err_msg="dL/dW")
    np.testing.assert_allclose(gb, fdb, rtol=RTOL, atol=ATOL, err_msg="dL/db")
    return value, gW, gb


@pytest.mark.parametrize("weighting", WEIGHTING)
@pytest.mark.parametrize("n, m", SHAPES)
@pytest.mark.parametrize("k", range(2, 8))
@pytest.mark.parametrize("link, loss, form", CASES)
def test_gradient_matches_finite_differences(link, loss, form, k, n, m, weighting):
    X, y, W, b, kwargs = make_problem(n, m, k, link, form, weighting, "sigmax")
    kwargs.update(link=link, loss=loss)
    value, _, _ = check_against_fd(sigmax.loss, sigmax.loss_grad, X, y, W, b, kwargs)
    only = sigmax.loss(X, y, W, b, **kwargs)
    np.testing.assert_allclose(only, value, rtol=1e-15, atol=0)


@pytest.mark.parametrize("weighting", WEIGHTING)
@pytest.mark.parametrize("n, m", SHAPES)
@pytest.mark.parametrize("form", ["index", "binary01", "soft01"])
@pytest.mark.parametrize("loss", ["log", "mse"])
def test_gradient_single_sigmoid(loss, form, n, m, weighting):
    """K = 1 with the sigmoid link: binary logistic regression (0/1 labels)."""
    X, y, W, b, kwargs = make_problem(n, m, 1, "sigmoid", form, weighting, "sigmax")
    kwargs.update(link="sigmoid", loss=loss)
    value, _, _ = check_against_fd(sigmax.loss, sigmax.loss_grad, X, y, W, b, kwargs)
    only = sigmax.loss(X, y, W, b, **kwargs)
    np.testing.assert_allclose(only, value, rtol=1e-15, atol=0)


REFERENCE_CASES = [(link, loss, form, k) for link, loss, form in CASES for k in (2, 5)] + [
    ("sigmoid", loss, form, 1) for loss in ("log", "mse") for form in ("index", "binary01", "soft01")]


@pytest.mark.parametrize("n, m", [(1, 1), (4, 3)])
@pytest.mark.parametrize("link, loss, form, k", REFERENCE_CASES)
def test_reference_gradient_matches_finite_differences(link, loss, form, k, n, m):
    """The oracle's own gradient, so a shared mistake cannot hide in both."""
    X, y, W, b, kwargs = make_problem(n, m, k, link, form, "sample_weight+alpha", "reference")
    kwargs.update(link=link, loss=loss)
    check_against_fd(ref.loss, ref.loss_grad, X, y, W, b, kwargs)


def test_reference_loss_matches_lecture_formulas():
    """A hand-written check of the oracle's objective on one small problem."""
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    W = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])
    b = np.array([0.1, 0.0, -0.1])
    y = np.array([2, 0])
    Z = X @ W.T + b
    A = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    T = np.eye(3)[y]
    sw = np.array([2.0, 1.0])
    ce = -np.log(A[[0, 1], y])
    np.testing.assert_allclose(ref.loss(X, y, W, b), ce.mean(), rtol=1e-14)
    np.testing.assert_allclose(ref.loss(X, y, W, b, sample_weight=sw, alpha=0.5),
                               (2 * ce[0] + ce[1]) / 3 + 0.25 * (W ** 2).sum(), rtol=1e-14)
    np.testing.assert_allclose(ref.loss(X, y, W, b, loss="mse"), ((A - T) ** 2).sum(1).mean(), rtol=1e-14)
    S = 1 / (1 + np.exp(-Z))
    bce = -(T * np.log(S) + (1 - T) * np.log(1 - S)).sum(1)
    np.testing.assert_allclose(ref.loss(X, y, W, b, link="sigmoid"), bce.mean(), rtol=1e-13)
    np.testing.assert_allclose(ref.loss(X, y, W, b, link="sigmoid", loss="mse"),
                               ((S - T) ** 2).sum(1).mean(), rtol=1e-14)
    _, gW, gb = ref.loss_grad(X, y, W, b)
    np.testing.assert_allclose(gW, (A - T).T @ X / 2, rtol=1e-14)  # (1/n) (A - Y)^T X
    np.testing.assert_allclose(gb, (A - T).mean(0), rtol=1e-14, atol=1e-16)


# A row classified with margin d: its loss and gradient are near e^{-d}, and
# keep their relative precision whatever the logits' offset c (lse - z_y
# computed as (c + log s) - c would lose log s to the rounding of c).
SURE_OFFSETS = [0.0, 1e3, 1e6]
SURE_RTOL = {np.float64: 1e-13, np.float32: 1e-6}


def _sure_expected(d):
    """e = e^{-d}: a1 = e / (1 + e), the other class's probability, and
    a0 = 1 / (1 + e), the true class's, both without cancellation."""
    e = np.exp(-d)
    return e / (1.0 + e), 1.0 / (1.0 + e), np.log1p(e)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c", SURE_OFFSETS)
@pytest.mark.parametrize("targets", ["index", "onehot"])
def test_sure_softmax_row_keeps_relative_precision(dtype, c, targets):
    d = 30.0
    a1, _, log_s = _sure_expected(d)
    X = np.ones((1, 1), dtype)
    W = np.array([[c], [c - d]], dtype)
    b = np.zeros(2, dtype)
    y = np.array([0]) if targets == "index" else np.array([[1.0, 0.0]], dtype)
    value, _, grad_b = sigmax.loss_grad(X, y, W, b)
    rtol = SURE_RTOL[dtype]
    np.testing.assert_allclose(sigmax.loss(X, y, W, b), log_s, rtol=rtol)
    np.testing.assert_allclose(value, log_s, rtol=rtol)
    np.testing.assert_allclose(grad_b, [-a1, a1], rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("z, label", [(40.0, 1), (-40.0, 0)])
def test_sure_sigmoid_row_keeps_relative_precision(dtype, z, label):
    a1, _, log_s = _sure_expected(abs(z))
    X = np.ones((1, 1), dtype)
    W = np.array([[z]], dtype)
    value, _, grad_b = sigmax.loss_grad(X, np.array([label]), W, np.zeros(1, dtype),
                                        link="sigmoid")
    np.testing.assert_allclose(value, log_s, rtol=SURE_RTOL[dtype])
    np.testing.assert_allclose(grad_b, [a1 if label == 0 else -a1], rtol=SURE_RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c", SURE_OFFSETS)
def test_sure_softmax_mse_row_keeps_relative_precision(dtype, c):
    """Two classes, target (1, 0): r = (-a1, a1), l = 2 a1^2 and
    dl/dz = (-4 a0 a1^2, 4 a0 a1^2)."""
    d = 12.0
    a1, a0, _ = _sure_expected(d)
    X = np.ones((1, 1), dtype)
    W = np.array([[c], [c - d]], dtype)
    value, _, grad_b = sigmax.loss_grad(X, np.array([0]), W, np.zeros(2, dtype), loss="mse")
    rtol = SURE_RTOL[dtype]
    np.testing.assert_allclose(value, 2 * a1**2, rtol=rtol)
    np.testing.assert_allclose(grad_b, [-4 * a0 * a1**2, 4 * a0 * a1**2], rtol=rtol)


@pytest.mark.parametrize("targets", ["index", "onehot"])
def test_a_zero_target_far_below_the_maximum_adds_nothing(targets):
    """zmax - z_j overflows to inf for logits 2e308 apart; a zero target there
    contributes 0 to the loss (not 0 * inf = NaN), as with class indices."""
    X = np.ones((1, 1))
    W = np.array([[1e308], [-1e308], [0.0]])
    y = np.array([0]) if targets == "index" else np.array([[1.0, 0.0, 0.0]])
    value, _, grad_b = sigmax.loss_grad(X, y, W, np.zeros(3))
    assert value == 0.0
    np.testing.assert_array_equal(grad_b, [0.0, 0.0, 0.0])
