"""The contenders of the one-epoch minibatch-SGD measurement.

Every contender trains softmax regression (K classes, zero initial weights)
for one epoch of minibatch SGD with a fresh random order of the rows, and
exposes the same three methods:

* ``reset()``: zero weights, thread settings (untimed);
* ``epoch()``: one pass over the data (timed);
* ``accuracy(X, y)``: the fraction of rows of X classified right.

scikit-learn's ``SGDClassifier`` is the exception in what it computes: it is
one-vs-rest logistic regression (one binary log loss per class) trained by
per-sample SGD, a different model and algorithm, measured because it is what
a scikit-learn user would reach for; it is given the others' objective as
far as it goes (no penalty) and their constant learning rate.

The others compute the same thing, which the benchmark checks (untimed):
``stored_order()`` is a context manager inside which ``epoch()`` visits the
rows in their stored order rather than a random one, and ``weights()``
returns W and b as NumPy arrays, so that one such epoch of each can be
compared with sigmax's (``shuffle=False``), to the rounding of the dtype.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Any, Callable, Iterator, Optional, Tuple

import numpy as np

import sigmax
from sigmax import _core

LINK_SOFTMAX = 0
LOSS_LOG = 0


def one_hot(y: np.ndarray, k: int, dtype: np.dtype) -> np.ndarray:
    Y = np.zeros((y.shape[0], k), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


def argmax_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(scores, axis=1) == y))


@contextlib.contextmanager
def replaced(obj: Any, attribute: str, value: Any) -> Iterator[None]:
    """obj.attribute is value inside the block, and what it was after it."""
    saved = getattr(obj, attribute)
    setattr(obj, attribute, value)
    try:
        yield
    finally:
        setattr(obj, attribute, saved)


class SigmaxEstimatorSGD:
    """The public API: ``SoftmaxRegression(solver="sgd", max_iter=1).fit``
    (``shuffle=False``: the rows in their stored order, the same work without
    the random access)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, *, lr: float, batch_size: int,
                 seed: int, n_jobs: int, shuffle: bool = True):
        self.X, self.y = X, y
        self.model = sigmax.SoftmaxRegression(solver="sgd", max_iter=1, learning_rate=lr,
                                              batch_size=batch_size, random_state=seed,
                                              n_jobs=n_jobs, shuffle=shuffle)

    def reset(self) -> None:
        pass  # fit starts from zero weights

    def epoch(self) -> None:
        self.model.fit(self.X, self.y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return self.model.score(X, y)

    def stored_order(self) -> contextlib.AbstractContextManager:
        return replaced(self.model, "shuffle", False)

    def weights(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.model.coef_, self.model.intercept_


class SigmaxKernelSGD:
    """The C kernel alone (``sigmax._core.sgd_epoch``), without the estimator's
    input checks and label encoding: measures the estimator's overhead."""

    def __init__(self, X: np.ndarray, y: np.ndarray, k: int, *, lr: float, batch_size: int,
                 seed: int, n_jobs: int):
        self.X = X
        self.y = np.ascontiguousarray(y, dtype=np.intp)
        self.W = np.zeros((k, X.shape[1]), dtype=X.dtype)
        self.b = np.zeros(k, dtype=X.dtype)
        self.lr, self.batch_size, self.n_jobs = lr, batch_size, n_jobs
        self.shuffle = True
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        self.W[...] = 0
        self.b[...] = 0

    def epoch(self) -> None:
        seed = int(self.rng.integers(0, 2**63))
        _core.sgd_epoch(self.X, self.y, None, None, self.W, self.b, LINK_SOFTMAX, LOSS_LOG,
                        self.lr, 0.0, 1.0, self.batch_size, self.shuffle, True, self.n_jobs,
                        seed)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return argmax_accuracy(X @ self.W.T + self.b, y)

    def stored_order(self) -> contextlib.AbstractContextManager:
        return replaced(self, "shuffle", False)

    def weights(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.W, self.b


class NumpyLectureSGD:
    """The lecture's vectorized NumPy code: per minibatch Z = X_b W^T + b,
    A = softmax(Z), G = A - Y_b, W -= (lr / n_b) G^T X_b,
    b -= (lr / n_b) sum(G), the rows visited in the order of a fresh
    permutation each epoch.

    It follows lecture 001 (softmax regression, vectorized): the softmax is
    ``np.exp`` of Z divided by its row sums (no subtraction of the row
    maximum), the gradient (1/n_b) X_b^T (A - Y) with one-hot targets Y.
    The scalar lr / n_b is formed first, so the K x M product is scaled once
    (one temporary, not two).  From zero weights the logits of one MNIST
    epoch at lr 0.1 stay below 11 in magnitude, far from exp's overflow (88
    in float32).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, k: int, *, lr: float, batch_size: int,
                 seed: int):
        self.X = X
        self.Y = one_hot(y, k, X.dtype)  # built once, before training, as in the lecture
        self.W = np.zeros((k, X.shape[1]), dtype=X.dtype)
        self.b = np.zeros(k, dtype=X.dtype)
        self.lr, self.batch_size = lr, batch_size
        # the order of an epoch's rows, a function of n: a fresh permutation
        self.order: Callable[[int], np.ndarray] = np.random.default_rng(seed).permutation

    def reset(self) -> None:
        self.W[...] = 0
        self.b[...] = 0

    @staticmethod
    def softmax(Z: np.ndarray) -> np.ndarray:
        E = np.exp(Z)
        return E / np.sum(E, axis=1, keepdims=True)

    def epoch(self) -> None:
        X, Y, W, b, lr = self.X, self.Y, self.W, self.b, self.lr
        n = X.shape[0]
        perm = self.order(n)
        for start in range(0, n, self.batch_size):
            idx = perm[start:start + self.batch_size]
            X_b, Y_b = X[idx], Y[idx]
            A = self.softmax(X_b @ W.T + b)
            G = A - Y_b
            step = lr / idx.shape[0]
            W -= step * (G.T @ X_b)
            b -= step * G.sum(axis=0)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return argmax_accuracy(X @ self.W.T + self.b, y)

    def stored_order(self) -> contextlib.AbstractContextManager:
        return replaced(self, "order", np.arange)

    def weights(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.W, self.b


def import_sklearn() -> Optional[Any]:
    """sklearn, with the modules the benchmark uses (linear_model, metrics)
    loaded, or None when it is not installed (or does not load)."""
    try:
        import sklearn
        import sklearn.linear_model  # noqa: F401
        import sklearn.metrics  # noqa: F401
    except Exception:  # ImportError, or an error from a broken install
        return None
    return sklearn


def import_torch() -> Optional[Any]:
    """torch, or None when it is not installed (or does not load)."""
    try:
        import torch
    except Exception:  # ImportError, or an OSError from a broken install
        return None
    return torch


class TorchManualSGD:
    """PyTorch on the CPU, the same math as the NumPy loop written with torch
    operations (no autograd); tensors share X's memory, preloaded.  A batch's
    rows are gathered with ``index_select``, which is faster in torch 2.13 than
    indexing with a tensor (``X[idx]``); ``inference_mode`` instead of
    ``no_grad`` made no measurable difference."""

    def __init__(self, torch: Any, X: np.ndarray, y: np.ndarray, k: int, *, lr: float,
                 batch_size: int, seed: int, threads: int):
        self.torch = torch
        self.threads = threads
        self.X = torch.from_numpy(X)
        y_t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        self.Y = torch.nn.functional.one_hot(y_t, k).to(self.X.dtype)
        self.W = torch.zeros((k, X.shape[1]), dtype=self.X.dtype)
        self.b = torch.zeros(k, dtype=self.X.dtype)
        self.lr, self.batch_size = lr, batch_size
        # the order of an epoch's rows, a function of n: a fresh permutation
        self.order = functools.partial(torch.randperm,
                                       generator=torch.Generator().manual_seed(seed))

    def reset(self) -> None:
        self.torch.set_num_threads(self.threads)
        self.W.zero_()
        self.b.zero_()

    def epoch(self) -> None:
        torch, X, Y, W, b = self.torch, self.X, self.Y, self.W, self.b
        n = X.shape[0]
        with torch.no_grad():
            perm = self.order(n)
            for start in range(0, n, self.batch_size):
                idx = perm[start:start + self.batch_size]
                X_b, Y_b = X.index_select(0, idx), Y.index_select(0, idx)
                G = torch.softmax(torch.addmm(b, X_b, W.t()), dim=1)
                G -= Y_b
                scale = self.lr / idx.shape[0]
                W.sub_(G.t() @ X_b, alpha=scale)
                b.sub_(G.sum(dim=0), alpha=scale)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return argmax_accuracy(X @ self.W.numpy().T + self.b.numpy(), y)

    def stored_order(self) -> contextlib.AbstractContextManager:
        return replaced(self, "order", self.torch.arange)

    def weights(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.W.numpy(), self.b.numpy()


class TorchModuleSGD:
    """PyTorch the usual way: ``nn.Linear`` + ``F.cross_entropy`` +
    ``optim.SGD``, autograd computing the gradient (batch rows gathered with
    ``index_select``, as in the manual loop)."""

    def __init__(self, torch: Any, X: np.ndarray, y: np.ndarray, k: int, *, lr: float,
                 batch_size: int, seed: int, threads: int):
        self.torch = torch
        self.threads = threads
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        self.model = torch.nn.Linear(X.shape[1], k, dtype=self.X.dtype)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.batch_size = batch_size
        # the order of an epoch's rows, a function of n: a fresh permutation
        self.order = functools.partial(torch.randperm,
                                       generator=torch.Generator().manual_seed(seed))

    def reset(self) -> None:
        self.torch.set_num_threads(self.threads)
        with self.torch.no_grad():
            self.model.weight.zero_()
            self.model.bias.zero_()

    def epoch(self) -> None:
        torch = self.torch
        cross_entropy = torch.nn.functional.cross_entropy
        X, y = self.X, self.y
        n = X.shape[0]
        perm = self.order(n)
        for start in range(0, n, self.batch_size):
            idx = perm[start:start + self.batch_size]
            loss = cross_entropy(self.model(X.index_select(0, idx)), y.index_select(0, idx))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        W, b = self.weights()
        return argmax_accuracy(X @ W.T + b, y)

    def stored_order(self) -> contextlib.AbstractContextManager:
        return replaced(self, "order", self.torch.arange)

    def weights(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.model.weight.detach().numpy(), self.model.bias.detach().numpy()


class SklearnSGDClassifier:
    """scikit-learn's ``SGDClassifier(loss="log_loss", penalty=None,
    learning_rate="constant", eta0=lr)`` for one epoch (``max_iter=1,
    tol=None``): one-vs-rest, per-sample SGD, unpenalized, at the others'
    constant learning rate.  It computes in the dtype of the X it is given
    (float32 stays float32), so the benchmark also gives it a float64 copy
    made beforehand, untimed."""

    def __init__(self, X: np.ndarray, y: np.ndarray, *, lr: float, seed: int, n_jobs: int):
        from sklearn.linear_model import SGDClassifier

        self.X, self.y = X, y
        self.model = SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant",
                                   eta0=lr, max_iter=1, tol=None, shuffle=True,
                                   random_state=seed, n_jobs=n_jobs)

    def reset(self) -> None:
        pass  # fit starts afresh

    def epoch(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: one epoch is by design
            self.model.fit(self.X, self.y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(self.model.score(X, y))
