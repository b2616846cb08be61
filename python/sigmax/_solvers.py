"""Solver loops.  Each epoch or iteration is one call of the C kernels in
_core over X; no per-sample Python.  L-BFGS's preconditioner is built before
it, with NumPy, from X's second moments and a row subsample.

Every solver updates W and b in place and returns (n_iter, loss_curve).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np

from . import _core
from ._validation import LINKS, unit_scaled

_SOFTMAX = LINKS["softmax"]


@dataclass
class Problem:
    """A validated training problem, ready for the kernels."""

    X: np.ndarray                 # (n, M) float32/float64, any strides
    y_index: Optional[np.ndarray]  # (n,) intp class indices, or None ...
    Y: Optional[np.ndarray]        # ... an (n, K) target matrix of X's dtype
    sample_weight: Optional[np.ndarray]
    link: int
    loss: int
    alpha: float
    n_threads: int

    def loss_grad(self, W: np.ndarray, b: np.ndarray, gW: np.ndarray, gb: np.ndarray) -> float:
        """Objective at (W, b); its gradient written into gW, gb."""
        return _core.loss_grad(self.X, self.y_index, self.Y, self.sample_weight, W, b,
                               self.link, self.loss, self.alpha, gW, gb, self.n_threads)


EpochCallback = Callable[[int, float], None]


def diverged(learning_rate: float, what: str) -> ValueError:
    """The error of a fit whose steps made the model overflow.  (A penalty
    with learning_rate * alpha > 2, whose own part of each step grows W
    geometrically, is refused before training.)"""
    return ValueError(f"training diverged ({what}): learning_rate={learning_rate!r} is too "
                      "large for this data")


def _all_finite(X: np.ndarray) -> bool:
    """Whether X holds no NaN or infinity, checked a block of rows at a time
    (no temporary the size of X); for error paths."""
    rows = max(1, (1 << 16) // max(1, X.shape[1]))
    return all(np.isfinite(X[i:i + rows]).all() for i in range(0, X.shape[0], rows))


def objective(problem: Problem, W: np.ndarray, b: np.ndarray) -> float:
    """The objective at (W, b): the kernels' loss without the gradient.

    At W = 0 (a fresh fit) every row's logits are b whatever its x, so a row's
    loss depends on its targets alone, and X is not read: with class indices,
    one row per class weighted by its rows' total weight gives the same
    weighted mean (K rows, not n); with a target matrix, the pass reads a zero
    column (as many rows, stride 0) in X's place.  Otherwise (a warm start),
    one pass over X.
    """
    X, y, sw = problem.X, problem.y_index, problem.sample_weight
    if not W.any():
        W = np.zeros((W.shape[0], 1), W.dtype)
        if y is not None:
            classes = max(W.shape[0], 2)  # K = 1: the sigmoid unit's labels 0 and 1
            totals = np.bincount(y, weights=sw, minlength=classes)
            X, y, sw = np.zeros((classes, 1), X.dtype), np.arange(classes, dtype=np.intp), \
                unit_scaled(totals).astype(X.dtype)
        else:
            X = np.broadcast_to(np.zeros((1, 1), X.dtype), (X.shape[0], 1))
    return _core.loss_grad(X, y, problem.Y, sw, W, b, problem.link, problem.loss,
                           problem.alpha, None, None, problem.n_threads)


def gd(problem: Problem, W: np.ndarray, b: np.ndarray, *, learning_rate: float,
       max_iter: int, fit_intercept: bool, on_epoch: EpochCallback) -> Tuple[int, List[float]]:
    """Full-batch gradient descent: W <- W - lr * dL/dW, b <- b - lr * dL/db.

    loss_curve[t] is the objective at the iterate before step t (it comes with
    the gradient at no extra cost).  Stops early, after the step that made W
    or b overflow (the caller reports the divergence); raises ``diverged``'s
    error when the steps made the objective or its gradient overflow first.
    """
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    curve: List[float] = []
    for epoch in range(max_iter):
        try:
            value = problem.loss_grad(W, b, gW, gb)
        except ValueError as err:
            if epoch == 0:  # the starting point's fault, not the steps'
                raise
            steps = f"{epoch} step" + ("s" if epoch != 1 else "")
            raise diverged(learning_rate, f"the objective overflowed after {steps}") from err
        with np.errstate(over="ignore", invalid="ignore"):
            W -= learning_rate * gW
            if fit_intercept:
                b -= learning_rate * gb
        curve.append(value)
        on_epoch(epoch, value)
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            return epoch + 1, curve
    return max_iter, curve


def sgd(problem: Problem, W: np.ndarray, b: np.ndarray, *, learning_rate: float,
        max_iter: int, batch_size: int, shuffle: bool, rng: np.random.Generator,
        fit_intercept: bool, on_epoch: EpochCallback) -> Tuple[int, List[float]]:
    """Minibatch SGD, one C call per epoch; batch_size=1 is the per-sample rule.

    loss_curve[e] is the mean over epoch e's minibatches of the minibatch
    objective before each step (as PyTorch training loops usually report it;
    with weights, each batch's estimate of the weighted objective, its
    weighted loss sum over its row count times the data's mean weight).
    Raises ``diverged``'s error when that mean, or the logits, overflow while
    X is finite (the caller has checked the starting point, so the steps did
    it); the kernel's own error for a NaN or infinity in X.
    """
    sw = problem.sample_weight
    # the divisor of every batch's weighted sums, with its row count (see sx_sgd_epoch)
    mean_weight = 1.0 if sw is None else float(np.mean(sw, dtype=np.float64))
    curve: List[float] = []
    for epoch in range(max_iter):
        seed = int(rng.integers(0, 2**63))
        try:
            value = _core.sgd_epoch(problem.X, problem.y_index, problem.Y, problem.sample_weight,
                                    W, b, problem.link, problem.loss, learning_rate,
                                    problem.alpha, mean_weight, batch_size, shuffle,
                                    fit_intercept, problem.n_threads, seed)
        except ValueError as err:  # the kernel's: a NaN or infinity in X or computed from it
            if not _all_finite(problem.X):
                raise  # the data's fault (the start's objective need not have read X)
            raise diverged(learning_rate, f"the model overflowed in epoch {epoch + 1}") from err
        if not math.isfinite(value):  # finite weights, but |W|^2 or the loss sum overflowed
            raise diverged(learning_rate, f"the objective overflowed in epoch {epoch + 1}")
        curve.append(value)
        on_epoch(epoch, value)
    return max_iter, curve


@dataclass
class LbfgsOutcome:
    """Why L-BFGS stopped: "converged", "max_iter" or "no_progress" (the line
    search found no decrease: the rounding limit of the data's dtype)."""

    stop: str
    objective: float
    grad_norm: float
    initial_grad_norm: float
    # at a "no_progress" stop: about how much lower the objective could still go
    # (remaining_decrease); None when not estimated
    remaining: Optional[float] = None


LBFGS_STOPS = {0: "converged", 1: "max_iter", 2: "no_progress"}


# L-BFGS's state beyond X: its initial inverse Hessian (the preconditioner) and
# its (s, y) pairs, together in LBFGS_STATE_SHARE of X's bytes (with the rest
# of fit's scratch, under 5% of X).  The preconditioner has the first claim;
# the pairs take the rest, within LBFGS_MIN_PAIRS and LBFGS_MAX_PAIRS.  A
# longer history costs only vector operations of size K * M per pair and
# iteration (nothing against the pass over X) and cuts the iterations: on
# MNIST with C = 1 and no preconditioner, 271 iterations with 10 pairs, 203
# with 30, 108 with 100; with the block preconditioner, 49 with 10 and 45 with 40.
LBFGS_MIN_PAIRS = 10
LBFGS_MAX_PAIRS = 100
LBFGS_STATE_SHARE = 0.03

# The block preconditioner's correlations come from BLOCK_ROWS_PER_ENTRY * q
# evenly spaced rows for blocks of size q (the scales from all rows), and it is
# built only when that costs at most BLOCK_MAX_PASSES passes of loss_grad.
BLOCK_ROWS_PER_ENTRY = 12
BLOCK_MAX_PASSES = 4
BLOCK_PANEL = 64  # columns per float32 product
# Without a penalty, the weights' entries of M get at least BLOCK_RIDGE times
# the mean of those entries: M^{-1} would otherwise send the first steps along
# rare pixels and near-collinear combinations of pixels (where the curvature at
# zero is tiny and the objective far from quadratic); on MNIST with alpha = 0,
# a floor of 1e-10 left the loss at 2.01 after 100 iterations, 1e-3 at 0.20.
BLOCK_RIDGE = 1e-3


def lbfgs_memory(x_nbytes: int, dim: int, reserved: int = 0) -> int:
    """How many (s, y) pairs L-BFGS keeps for parameters of size dim, when
    `reserved` bytes of its state share already hold the preconditioner."""
    fits = int(LBFGS_STATE_SHARE * x_nbytes - reserved) // (2 * 8 * max(dim, 1))
    return max(LBFGS_MIN_PAIRS, min(LBFGS_MAX_PAIRS, fits))


def _curvature(problem: Problem, k: int) -> float:
    """The activation derivative at z = 0, the same for every output there
    (softmax: p (1 - p) = (K - 1) / K^2; sigmoid: 1/4)."""
    return (k - 1) / k**2 if problem.link == _SOFTMAX and k > 1 else 0.25


def _second_moments(problem: Problem) -> Optional[np.ndarray]:
    """The (weighted) mean of x_ij^2 over the rows, per column: one pass over
    X, without a temporary of X's size; None when X's squares overflow."""
    X, s = problem.X, problem.sample_weight
    if s is None:
        msq = np.einsum("ij,ij->j", X, X, dtype=np.float64) / X.shape[0]
    else:
        weights = np.asarray(s, dtype=np.float64)
        msq = np.einsum("i,ij,ij->j", weights, X, X, dtype=np.float64) / weights.sum()
    return msq if np.all(np.isfinite(msq)) else None


def _hessian_diagonal_at_zero(problem: Problem, k: int,
                              msq: np.ndarray) -> Tuple[np.ndarray, float]:
    """The objective's Hessian diagonal at W = 0, b = 0: with z = 0 every
    output's activation derivative is a constant c, so the entry of w_kj is
    c * mean_i(s_i x_ij^2) + alpha (the same for every k; returned per column)
    and that of b_k is c (returned as c).  msq: _second_moments(problem)."""
    c = _curvature(problem, k)
    return c * msq + problem.alpha, c


def remaining_decrease(problem: Problem, W: np.ndarray, b: np.ndarray, fit_intercept: bool,
                       msq: np.ndarray) -> float:
    """About how much lower the objective could go from (W, b): g' D^{-1} g / 2,
    the decrease of a Newton step on D, the Hessian's diagonal at zero
    (_hessian_diagonal_at_zero), one pass over X.  Unlike the gradient's norm
    it does not depend on the features' units: a column of scale 1e-3 beside
    one of 1e6 counts as much as it would standardized."""
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    problem.loss_grad(W, b, gW, gb)
    diag, c = _hessian_diagonal_at_zero(problem, W.shape[0], msq)
    # a column of zeros without a penalty has a zero gradient: it adds nothing
    total = float(np.sum(np.divide(np.square(gW, dtype=np.float64), diag,
                                   out=np.zeros(gW.shape), where=diag > 0)))
    if fit_intercept:
        total += float(np.sum(np.square(gb, dtype=np.float64))) / c
    return 0.5 * total


def jacobi_h0(problem: Problem, k: int, msq: np.ndarray) -> np.ndarray:
    """1 / the diagonal of the objective's Hessian at W = 0, b = 0, ordered as
    L-BFGS's x = [W.ravel(), b]: L-BFGS's initial inverse Hessian, up to scale.

    The diagonal is _hessian_diagonal_at_zero's.  On raw features of very
    unequal scale (pixels that are almost always 0 and pixels that rarely
    are) this brings the curvatures to one scale; on standardized features it
    is a multiple of the identity, the unpreconditioned method.
    msq: _second_moments(problem).
    """
    weights, c = _hessian_diagonal_at_zero(problem, k, msq)
    # a column of zeros without a penalty has a zero gradient: any entry will
    # do (the floor is the weights' own: the intercept's c may be far larger)
    floor = 1e-12 * weights.max() if weights.max() > 0 else 1.0
    return 1.0 / np.concatenate([np.tile(np.maximum(weights, floor), k), np.full(k, c)])


def block_h0(problem: Problem, k: int, fit_intercept: bool,
             msq: np.ndarray) -> Optional[np.ndarray]:
    """M^{-1} for M = c E[x' x'^T] + alpha I (x' = [x, 1] with an intercept, x
    without; no penalty on the intercept): M is the block of the objective's
    Hessian at W = 0, b = 0 that couples one class's weights, taken for every
    class.  L-BFGS's initial inverse Hessian maps each class's entries to
    M^{-1} times them (see _core.lbfgs).  None when it does not pay or does not
    fit (then jacobi_h0, from M's diagonal, serves).

    Where the diagonal only evens out the scales of the features, the block
    also undoes their correlations (neighbouring pixels), which set most of
    the Hessian's condition number: on MNIST with C = 1, 45 to 51 iterations
    instead of 90.  E[x' x'^T] is the correlation matrix of every step-th row
    (a strided view: no copy of X) scaled to msq, the second moments of all
    the rows (_second_moments), weighted like the objective.  Built only for
    unit-stride rows (what the matrix product reads fast), when its q x q
    doubles fit in LBFGS_STATE_SHARE of X and the product costs at most
    BLOCK_MAX_PASSES passes of loss_grad; inverted in place (no second q x q
    array).
    """
    X = problem.X
    n, m = X.shape
    q = m + 1 if fit_intercept else m
    step = max(1, -(-n // (BLOCK_ROWS_PER_ENTRY * q)))
    rows = -(-n // step)
    # the product's rows * q^2 / 2 multiply-adds against a pass's 2 n k m
    affordable = rows * q <= 4 * BLOCK_MAX_PASSES * n * k
    if (q == 0 or X.strides[1] != X.itemsize or 8 * q * q > LBFGS_STATE_SHARE * X.nbytes
            or not affordable):
        return None
    sub = X[::step]
    A = np.empty((q, q))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is checked below
        if X.dtype == np.float64:
            np.matmul(sub.T, sub, out=A[:m, :m])
        else:  # in panels of columns: no second q x q array for the float32 product
            for j in range(0, m, BLOCK_PANEL):
                panel = slice(j, min(j + BLOCK_PANEL, m))
                A[:m, panel] = sub.T @ sub[:, panel]
        if q > m:
            A[m, :m] = A[:m, m] = sub.sum(axis=0, dtype=np.float64)
            A[m, m] = rows
        A /= rows
    if not np.all(np.isfinite(A)):
        return None
    # correlations from the subsample, second moments from all the rows
    full = np.concatenate([msq, [1.0]])[:q]
    seen = np.diagonal(A) > 0
    scale = np.sqrt(np.divide(full, np.diagonal(A), out=np.zeros(q), where=seen))
    A *= scale[:, None]
    A *= scale[None, :]
    idx = np.arange(q)
    A[idx, idx] = full
    A *= _curvature(problem, k)
    # the penalty, at least BLOCK_RIDGE times the weights' mean curvature (the intercept's,
    # c whatever the features' scale, would make the floor depend on that scale)
    A[idx[:m], idx[:m]] += max(problem.alpha, BLOCK_RIDGE * float(np.mean(np.diagonal(A)[:m])))
    try:
        _core.spd_inverse(A)
    except ValueError:  # not positive definite in floating point: use the diagonal
        return None
    return A


def lbfgs(problem: Problem, W: np.ndarray, b: np.ndarray, *, tol: float, max_iter: int,
          fit_intercept: bool, on_epoch: EpochCallback, memory: Optional[int] = None,
          precondition: Optional[str] = "block") -> Tuple[int, List[float], LbfgsOutcome]:
    """L-BFGS (in C) until ||grad||_2 <= tol * max(1, ||grad_0||_2).

    memory: the (s, y) pairs kept; by default lbfgs_memory(X.nbytes, dim, the
    preconditioner's bytes).  precondition: the initial inverse-Hessian model,
    "block" (block_h0 when it is built, else jacobi_h0), "diagonal"
    (jacobi_h0) or None (the identity); the same optimum, fewer iterations on
    unscaled or correlated features.  loss_curve[t] is the objective after
    iteration t.  Also returns the outcome.
    """
    if precondition not in ("block", "diagonal", None):
        raise ValueError(f"precondition must be 'block', 'diagonal' or None, got {precondition!r}")
    k = W.shape[0]
    h0 = None
    # without finite second moments (X's squares overflow, or X is not finite:
    # the kernels report the latter), the identity
    msq = _second_moments(problem) if precondition is not None else None
    if msq is not None and precondition == "block":
        h0 = block_h0(problem, k, fit_intercept, msq)
    if msq is not None and h0 is None:
        h0 = jacobi_h0(problem, k, msq)
    if memory is None:
        reserved = h0.nbytes if h0 is not None and h0.ndim == 2 else 0
        memory = lbfgs_memory(problem.X.nbytes, W.size + b.size, reserved)
    curve: List[float] = []

    def record(iteration: int, value: float, grad_norm: float) -> None:
        curve.append(value)
        on_epoch(iteration - 1, value)

    n_iter, _, value, gnorm, gnorm0, stop = _core.lbfgs(
        problem.X, problem.y_index, problem.Y, problem.sample_weight, W, b, problem.link,
        problem.loss, problem.alpha, fit_intercept, tol, max_iter, memory, problem.n_threads,
        record, h0)
    outcome = LbfgsOutcome(LBFGS_STOPS[stop], value, gnorm, gnorm0)
    if outcome.stop == "no_progress" and msq is not None:
        outcome.remaining = remaining_decrease(problem, W, b, fit_intercept, msq)
    return n_iter, curve, outcome
