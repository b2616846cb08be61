"""Solver loops.  They see the problem only through the C kernels in _core:
each epoch or iteration is one kernel call over X; no per-sample Python.

Every solver updates W and b in place and returns (n_iter, loss_curve).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np

from . import _core
from ._validation import LINKS

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


def gd(problem: Problem, W: np.ndarray, b: np.ndarray, *, learning_rate: float,
       max_iter: int, fit_intercept: bool, on_epoch: EpochCallback) -> Tuple[int, List[float]]:
    """Full-batch gradient descent: W <- W - lr * dL/dW, b <- b - lr * dL/db.

    loss_curve[t] is the objective at the iterate before step t (it comes with
    the gradient at no extra cost).
    """
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    curve: List[float] = []
    for epoch in range(max_iter):
        value = problem.loss_grad(W, b, gW, gb)
        W -= learning_rate * gW
        if fit_intercept:
            b -= learning_rate * gb
        curve.append(value)
        on_epoch(epoch, value)
    return max_iter, curve


def sgd(problem: Problem, W: np.ndarray, b: np.ndarray, *, learning_rate: float,
        max_iter: int, batch_size: int, shuffle: bool, rng: np.random.Generator,
        fit_intercept: bool, on_epoch: EpochCallback) -> Tuple[int, List[float]]:
    """Minibatch SGD, one C call per epoch; batch_size=1 is the per-sample rule.

    loss_curve[e] is the mean over epoch e's minibatches of the minibatch
    objective before each step (as PyTorch training loops usually report it).
    """
    curve: List[float] = []
    for epoch in range(max_iter):
        seed = int(rng.integers(0, 2**63))
        value = _core.sgd_epoch(problem.X, problem.y_index, problem.Y, problem.sample_weight,
                                W, b, problem.link, problem.loss, learning_rate,
                                problem.alpha, batch_size, shuffle, fit_intercept,
                                problem.n_threads, seed)
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


LBFGS_STOPS = {0: "converged", 1: "max_iter", 2: "no_progress"}


# L-BFGS keeps this many (s, y) pairs at least and at most; in between, as many
# as fit in LBFGS_HISTORY_SHARE of X's bytes.  A longer history costs only
# vector operations of size K * M per pair and iteration (nothing against the
# pass over X) and cuts the iterations: on MNIST with C = 1, 271 iterations
# with 10 pairs, 203 with 30, 108 with 100.
LBFGS_MIN_PAIRS = 10
LBFGS_MAX_PAIRS = 100
LBFGS_HISTORY_SHARE = 0.03


def lbfgs_memory(x_nbytes: int, dim: int) -> int:
    """How many (s, y) pairs L-BFGS keeps for parameters of size dim."""
    fits = int(LBFGS_HISTORY_SHARE * x_nbytes) // (2 * 8 * max(dim, 1))
    return max(LBFGS_MIN_PAIRS, min(LBFGS_MAX_PAIRS, fits))


def jacobi_h0(problem: Problem, k: int) -> Optional[np.ndarray]:
    """1 / the diagonal of the objective's Hessian at W = 0, b = 0, ordered as
    L-BFGS's x = [W.ravel(), b]: L-BFGS's initial inverse Hessian, up to scale
    (None when X's squares overflow or X is not finite: the kernels report
    the latter).

    With z = 0 every output's activation derivative is a constant c (softmax:
    p (1 - p) = (K - 1) / K^2; sigmoid: 1/4), so the entry of w_kj is
    c * mean_i(s_i x_ij^2) + alpha and that of b_k is c.  On raw features of
    very unequal scale (pixels that are almost always 0 and pixels that
    rarely are) this brings the curvatures to one scale; on standardized
    features it is a multiple of the identity, the unpreconditioned method.
    One pass over X, without a temporary of X's size.
    """
    X, s = problem.X, problem.sample_weight
    if s is None:
        msq = np.einsum("ij,ij->j", X, X, dtype=np.float64) / X.shape[0]
    else:
        s = np.asarray(s, dtype=np.float64)
        msq = np.einsum("i,ij,ij->j", s, X, X, dtype=np.float64) / s.sum()
    c = (k - 1) / k**2 if problem.link == _SOFTMAX and k > 1 else 0.25
    if not np.all(np.isfinite(msq)):
        return None
    diag = np.concatenate([np.tile(c * msq + problem.alpha, k), np.full(k, c)])
    # a column of zeros without a penalty has a zero gradient: any entry will do
    floor = 1e-12 * diag.max() if diag.max() > 0 else 1.0
    return 1.0 / np.maximum(diag, floor)


def lbfgs(problem: Problem, W: np.ndarray, b: np.ndarray, *, tol: float, max_iter: int,
          fit_intercept: bool, on_epoch: EpochCallback, memory: Optional[int] = None,
          precondition: bool = True) -> Tuple[int, List[float], LbfgsOutcome]:
    """L-BFGS (in C) until ||grad||_2 <= tol * max(1, ||grad_0||_2).

    memory: the (s, y) pairs kept; by default lbfgs_memory(X.nbytes, W.size + b.size).
    precondition: start the inverse-Hessian model from jacobi_h0 rather than
    the identity (the same optimum, fewer iterations on unscaled features).
    loss_curve[t] is the objective after iteration t.  Also returns the outcome.
    """
    if memory is None:
        memory = lbfgs_memory(problem.X.nbytes, W.size + b.size)
    h0 = jacobi_h0(problem, W.shape[0]) if precondition else None
    curve: List[float] = []

    def record(iteration: int, value: float, grad_norm: float) -> None:
        curve.append(value)
        on_epoch(iteration - 1, value)

    n_iter, _, value, gnorm, gnorm0, stop = _core.lbfgs(
        problem.X, problem.y_index, problem.Y, problem.sample_weight, W, b, problem.link,
        problem.loss, problem.alpha, fit_intercept, tol, max_iter, memory, problem.n_threads,
        record, h0)
    return n_iter, curve, LbfgsOutcome(LBFGS_STOPS[stop], value, gnorm, gnorm0)
