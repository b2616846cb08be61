"""Pure-NumPy reference implementation of sigmax's low-level API (the test oracle).

Written straight from the formulas of the lectures and of ``csrc/kernels.h``,
always in float64, with no attempt at speed.  It does not import sigmax.

Objective, for rows x_i, targets t_i, sample weights s_i and z_i = W x_i + b:

    L(W, b) = sum_i s_i l_i / sum_i s_i + (alpha / 2) ||W||_F^2

    softmax + log:  l = -sum_k t_k log softmax(z)_k
    sigmoid + log:  l = -sum_k [t_k log sigma(z_k) + (1 - t_k) log(1 - sigma(z_k))]
    softmax + mse:  l = sum_k (softmax(z)_k - t_k)^2
    sigmoid + mse:  l = sum_k (sigma(z_k) - t_k)^2

Targets t_i are the one-hot vectors of integer class indices (for the sigmoid
link with K = 1: the 0/1 label itself) or the rows of a dense (n, K) matrix.
Every log is taken in a stable form (log-sum-exp, log(1 + e^z) via
np.logaddexp), so logits of magnitude 1e4 give finite results.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "softmax",
    "log_softmax",
    "logits",
    "targets",
    "row_losses",
    "loss",
    "loss_grad",
]


def _f64(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


def sigmoid(z) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), evaluated on the side where exp cannot overflow."""
    z = _f64(z)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def log_sigmoid(z) -> np.ndarray:
    """log sigma(z) = -log(1 + e^-z)."""
    return -np.logaddexp(0.0, -_f64(z))


def log_softmax(Z) -> np.ndarray:
    """Row-wise z_k - log sum_j e^{z_j} (1-D input is one row), as
    (z_k - max z) - log1p(t), with t the sum of e^{z_j - max z} over every
    class but one maximum (whose term is 1): the shift is exact where the
    row's values are close, and log1p keeps log s precise where s rounds to 1."""
    Z = _f64(Z)
    shifted = Z - Z.max(axis=-1, keepdims=True)
    E = np.exp(shifted)
    np.put_along_axis(E, np.argmax(Z, axis=-1)[..., None], 0.0, axis=-1)
    return shifted - np.log1p(E.sum(axis=-1, keepdims=True))


def softmax(Z) -> np.ndarray:
    """Row-wise e^{z_k} / sum_j e^{z_j} (1-D input is one row), with both
    exponents shifted by the row maximum: z - max z is exact where the row's
    values are close, which e^{log_softmax} (off by about 1e-16 |z|) is not."""
    Z = _f64(Z)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def logits(X, W, b) -> np.ndarray:
    """Z = X W^T + b, shape (n, K)."""
    return _f64(X) @ _f64(W).T + _f64(b)


def targets(y, n: int, k: int, link: str) -> np.ndarray:
    """The dense (n, K) float64 target matrix T for class indices or a matrix y."""
    y = np.asarray(y)
    if y.ndim == 2:
        T = _f64(y)
        assert T.shape == (n, k), (T.shape, n, k)
        return T
    assert y.shape == (n,), (y.shape, n)
    idx = y.astype(np.int64)
    assert np.all(idx == y), "class indices must be integral"
    if link == "sigmoid" and k == 1:
        assert np.all((idx == 0) | (idx == 1))
        return idx.astype(np.float64).reshape(n, 1)
    assert np.all((idx >= 0) & (idx < k))
    return np.eye(k)[idx]


def row_losses(Z, T, link: str = "softmax", loss: str = "log"):
    """Per-row losses l_i (n,) and their derivatives dl_i/dz_i (n, K)."""
    Z, T = _f64(Z), _f64(T)
    n, k = Z.shape
    if link == "softmax":
        logA = log_softmax(Z)
        A = np.exp(logA)
        if loss == "log":
            # l = -sum_k t_k log a_k; dl/dz_j = sum_k t_k (a_j - delta_kj) = a_j sum(t) - t_j
            l = -(T * logA).sum(axis=1)
            dZ = A * T.sum(axis=1, keepdims=True) - T
        elif loss == "mse":
            # l = sum_k (a_k - t_k)^2; dl/dz = J^T 2 (a - t) with J_kj = a_k (delta_kj - a_j)
            R = A - T
            l = (R * R).sum(axis=1)
            dZ = np.empty_like(Z)
            for i in range(n):
                a = A[i]
                J = np.diag(a) - np.outer(a, a)
                dZ[i] = J.T @ (2.0 * R[i])
        else:
            raise ValueError(loss)
    elif link == "sigmoid":
        A = sigmoid(Z)
        if loss == "log":
            # -log sigma(z) = log(1 + e^-z); -log(1 - sigma(z)) = log(1 + e^z)
            l = (T * np.logaddexp(0.0, -Z) + (1.0 - T) * np.logaddexp(0.0, Z)).sum(axis=1)
            dZ = A - T
        elif loss == "mse":
            R = A - T
            l = (R * R).sum(axis=1)
            dZ = 2.0 * R * A * sigmoid(-Z)  # 1 - sigma(z) = sigma(-z)
        else:
            raise ValueError(loss)
    else:
        raise ValueError(link)
    return l, dZ


def _weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    s = _f64(sample_weight)
    if s.ndim == 0:
        s = np.full(n, float(s))
    assert s.shape == (n,)
    return s


def loss_grad(X, y, W, b, *, link="softmax", loss="log", sample_weight=None, alpha=0.0):
    """(objective, dL/dW (K, M), dL/db (K,)) in float64."""
    X, W, b = _f64(X), _f64(W), _f64(b)
    n = X.shape[0]
    k = W.shape[0]
    T = targets(y, n, k, link)
    Z = logits(X, W, b)
    l, dZ = row_losses(Z, T, link, loss)
    s = _weights(sample_weight, n)
    stot = s.sum()
    value = (s @ l) / stot + 0.5 * alpha * (W * W).sum()
    G = s[:, None] * dZ / stot
    gW = G.T @ X + alpha * W
    gb = G.sum(axis=0)
    return value, gW, gb


def loss(X, y, W, b, *, link="softmax", loss="log", sample_weight=None, alpha=0.0):
    """The objective alone, float64 scalar."""
    return loss_grad(X, y, W, b, link=link, loss=loss, sample_weight=sample_weight, alpha=alpha)[0]
