"""The low-level functions: sigmoid, softmax, logits, loss, loss_grad.

They mirror the lectures' formulas one to one and run on the C kernels.  The
dtype of X decides the precision: float32 stays float32 (the logits' dot
products are float32; the activations, the loss and the sums over rows are
kept in float64 inside), float64 stays float64, bool and integer input is
converted to float64 once.  No copy of X is made for float32/float64 input in any memory
layout (C order, Fortran order or a strided view).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _core
from ._validation import (
    LINKS,
    as_array,
    as_float_array,
    check_alpha,
    check_finite,
    check_link_loss,
    check_sample_weight,
    class_indices,
)

__all__ = ["sigmoid", "softmax", "log_softmax", "logits", "loss", "loss_grad"]

ArrayLike = Any


def sigmoid(z: ArrayLike) -> Union[np.ndarray, np.floating]:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, element-wise and overflow-free.

    Parameters
    ----------
    z : array_like of any shape
        Logits.  ``+inf`` maps to 1 and ``-inf`` to 0; NaN raises ValueError.

    Returns
    -------
    ndarray of z's shape (float32 for float32 input, else float64), or for a
    scalar input a NumPy scalar of that type.
    """
    arr = as_float_array(z, "z")
    flat = arr.reshape(1, -1)
    out = np.empty(flat.shape, dtype=arr.dtype)
    _core.activate(flat, LINKS["sigmoid"], False, out)
    out = out.reshape(arr.shape)
    return out[()] if out.ndim == 0 else out


def _softmax(Z: ArrayLike, log: bool) -> np.ndarray:
    arr = as_float_array(Z, "Z")
    if arr.ndim not in (1, 2):
        raise ValueError(f"Z must be 1- or 2-dimensional, got shape {arr.shape}")
    rows = arr.reshape(1, -1) if arr.ndim == 1 else arr
    if rows.shape[1] == 0:
        raise ValueError("Z must have at least one column")
    out = np.empty(rows.shape, dtype=arr.dtype)
    _core.activate(rows, LINKS["softmax"], log, out)
    return out.reshape(arr.shape)


def softmax(Z: ArrayLike) -> np.ndarray:
    """Row-wise softmax ``exp(z_k - lse(z))`` (max-shifted, never overflows).

    Parameters
    ----------
    Z : array_like, 2-D (one row of logits per sample) or 1-D (one row)
        ``-inf`` entries get probability 0; NaN, ``+inf`` or a row of only
        ``-inf`` raise ValueError.

    Returns
    -------
    ndarray of Z's shape (float32 for float32 input, else float64), each
    row summing to 1.
    """
    return _softmax(Z, log=False)


def log_softmax(Z: ArrayLike) -> np.ndarray:
    """Row-wise ``log softmax(Z)``, finite where softmax underflows to 0.

    Takes Z as :func:`softmax` does; ``-inf`` entries give ``-inf``.
    """
    return _softmax(Z, log=True)


def _check_params(W: ArrayLike, b: ArrayLike, m: int, dtype: np.dtype) -> Tuple[np.ndarray, np.ndarray]:
    W = np.ascontiguousarray(as_float_array(W, "W", ndim=2, dtype=dtype))  # small: K x M
    b = as_float_array(b, "b", ndim=1, dtype=dtype)
    if W.shape[0] < 1 or W.shape[1] != m:
        raise ValueError(f"W must have shape (K, {m}) with K >= 1 to match X, got {W.shape}")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W, got {b.shape}")
    check_finite(W, "W")
    check_finite(b, "b")
    return W, b


def _check_X(X: ArrayLike) -> np.ndarray:
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] < 1:
        raise ValueError("X must have at least one row")
    return X


def logits(X: ArrayLike, W: ArrayLike, b: ArrayLike, *, n_jobs: Optional[int] = None) -> np.ndarray:
    """Net inputs ``Z = X W^T + b``: shape (n, K) for X (n, M), W (K, M), b (K,).

    Z has X's float type (float32 for float32 X, else float64); W and b are
    converted to it.  X with no rows gives Z with no rows, as for predict.
    ``n_jobs`` is the threads for the pass over X, as for :func:`loss`; the
    result does not depend on it.
    """
    threads = _threads(n_jobs)
    X = as_float_array(X, "X", ndim=2)
    W, b = _check_params(W, b, X.shape[1], X.dtype)
    out = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
    if X.shape[0]:
        _core.forward(X, W, b, LINKS["softmax"], 0, out, threads)
    return out


def _prepare(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: ArrayLike, link: str, loss: str,
    sample_weight: Optional[ArrayLike], alpha: float,
) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray],
           np.ndarray, np.ndarray, int, int, float]:
    # (X, y_index, Y, sample_weight, W, b, link code, loss code, alpha) for the kernels
    link_code, loss_code = check_link_loss(link, loss)
    X = _check_X(X)
    n = X.shape[0]
    W, b = _check_params(W, b, X.shape[1], X.dtype)
    k = W.shape[0]
    if y is None:
        raise ValueError("y is None: expected class indices (n,) or a target matrix (n, K)")
    y_arr = as_array(y, "y")
    if y_arr.ndim == 2:
        Y = as_float_array(y_arr, "y", dtype=X.dtype)
        if Y.shape != (n, k):
            raise ValueError(f"a target matrix y must have shape ({n}, {k}), got {Y.shape}")
        check_finite(Y, "y")
        y_idx = None
    elif y_arr.ndim == 1:
        if link == "softmax" and k < 2:
            raise ValueError("the softmax link needs W with K >= 2 rows")
        n_classes = 2 if (link == "sigmoid" and k == 1) else k
        y_idx = class_indices(y_arr, n, n_classes)
        Y = None
    else:
        raise ValueError(f"y must be class indices (n,) or a target matrix (n, K), got shape {y_arr.shape}")
    sw = check_sample_weight(sample_weight, n, X.dtype)
    return X, y_idx, Y, sw, W, b, link_code, loss_code, check_alpha(alpha)


def loss(
    X: ArrayLike,
    y: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    *,
    link: str = "softmax",
    loss: str = "log",
    sample_weight: Optional[ArrayLike] = None,
    alpha: float = 0.0,
    n_jobs: Optional[int] = None,
) -> np.floating:
    """The regularized objective

    ``sum_i s_i l_i / sum_i s_i + (alpha / 2) ||W||_F^2``

    with ``l_i`` the cross-entropy of row i (``loss="log"``: softmax
    cross-entropy, or for ``link="sigmoid"`` the binary cross-entropy summed
    over the K outputs) or the squared error ``sum_k (a_ik - y_ik)^2``
    (``loss="mse"``).  ``y`` is integer class indices (n,) in [0, K) (0/1 for
    ``link="sigmoid"`` with K = 1; for K > 1 sigmoids, index c means the
    one-hot target e_c) or a float target matrix (n, K).  Returns a scalar of
    X's float type (float32 for float32 X, else float64).

    Parameters
    ----------
    X : array_like (n, M)
        float32 or float64 rows, read in place (any layout); other numeric
        types are converted to float64.
    y : array_like (n,) of class indices, or (n, K) targets
    W, b : array_like (K, M) and (K,)
        The parameters, converted to X's float type.
    link : {"softmax", "sigmoid"}
    loss : {"log", "mse"}
    sample_weight : array_like (n,), optional
        Non-negative row weights s_i, not all zero (default: all 1).
    alpha : float
        The L2 penalty, >= 0 (the bias is not penalized).
    n_jobs : int or None
        Threads for the pass over X (None: 1, -1: all the cores this process
        may use); the result does not depend on it.

    Raises ValueError for NaN or infinity in X (naming the first one's row
    and column) or in the other inputs, and when the logits overflow.
    """
    X, y_idx, Y, sw, W, b, lk, ls, alpha = _prepare(X, y, W, b, link, loss, sample_weight, alpha)
    value = _core.loss_grad(X, y_idx, Y, sw, W, b, lk, ls, alpha, None, None, _threads(n_jobs))
    return X.dtype.type(value)


def loss_grad(
    X: ArrayLike,
    y: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    *,
    link: str = "softmax",
    loss: str = "log",
    sample_weight: Optional[ArrayLike] = None,
    alpha: float = 0.0,
    out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    n_jobs: Optional[int] = None,
) -> Tuple[np.floating, np.ndarray, np.ndarray]:
    """The objective of :func:`loss` and its gradient, in one pass over X.

    Takes the parameters of :func:`loss`, and ``out``.

    Returns ``(loss, grad_W, grad_b)`` with grad_W (K, M) and grad_b (K,) in
    X's float type (float32 for float32 X, else float64: integer X is
    computed in float64).  For softmax + cross-entropy with targets whose
    rows sum to 1 (class indices, one-hot or probability rows) the gradient is the
    lectures' ``(1/n) (A - Y)^T X + alpha W`` (weighted means with sample
    weights); for other target rows it is ``(1/n) (s A - Y)^T X + alpha W``
    with s each row's target sum, the derivative of ``-sum_k y_k log a_k``.
    ``out=(grad_W, grad_b)`` writes into existing arrays of that float type and
    those shapes, which must not share memory with any input.
    """
    X, y_idx, Y, sw, W, b, lk, ls, alpha = _prepare(X, y, W, b, link, loss, sample_weight, alpha)
    if out is None:
        gW = np.empty(W.shape, dtype=X.dtype)
        gb = np.empty(b.shape, dtype=X.dtype)
    else:
        # the inputs as given too: sample_weight reaches the kernels as a scaled copy
        given = tuple(a for a in (y, sample_weight) if isinstance(a, np.ndarray))
        gW, gb = _check_out(out, W.shape, b.shape, X.dtype, (X, y_idx, Y, sw, W, b) + given)
    value = _core.loss_grad(X, y_idx, Y, sw, W, b, lk, ls, alpha, gW, gb, _threads(n_jobs))
    return X.dtype.type(value), gW, gb


def _check_out(out: Any, w_shape: Tuple[int, ...], b_shape: Tuple[int, ...], dtype: np.dtype,
               inputs: Tuple[Optional[np.ndarray], ...]) -> Tuple[np.ndarray, np.ndarray]:
    try:
        gW, gb = out
    except (TypeError, ValueError):
        raise TypeError("out must be a pair (grad_W, grad_b) of arrays") from None
    for arr, shape, name in ((gW, w_shape, "out[0] (grad_W)"), (gb, b_shape, "out[1] (grad_b)")):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray")
        if arr.dtype != dtype:
            raise TypeError(f"{name} must have dtype {dtype} (X's), got {arr.dtype}")
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
        if not arr.flags.writeable:
            raise ValueError(f"{name} must be writeable")
        if not arr.dtype.isnative or not arr.flags.aligned:
            raise ValueError(f"{name} must be aligned and in native byte order")
        for other in inputs:
            if other is not None and np.shares_memory(arr, other):
                raise ValueError(f"{name} must not share memory with an input array")
    if np.shares_memory(gW, gb):
        raise ValueError("out[0] and out[1] must not share memory")
    return gW, gb


def _usable_cores() -> int:
    """The number of CPUs this process may run on (its affinity mask, as set
    by taskset or a container's cpuset), which may be fewer than the machine's."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _threads(n_jobs: Optional[int]) -> int:
    """n_jobs as a thread count: None -> 1, -1 -> all usable cores, -2 -> all
    but one, k > 0 -> k (at most the usable cores: more threads would only wait)."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    cores = _usable_cores()
    wanted = int(n_jobs) if n_jobs > 0 else cores + 1 + int(n_jobs)
    return max(1, min(wanted, cores))
