"""Bad input gets a clear exception naming the argument; good-but-unusual input
gets a correct result; a failed fit changes nothing; numerics at the extremes;
concurrent use from threads."""
import ctypes
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import sigmax
from sigmax import LogisticRegression, NotFittedError, SoftmaxRegression, _core
from sigmax.exceptions import DataConversionWarning

from marks import STOPS_EARLY

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3))
Y3 = np.arange(30) % 3
W3 = np.zeros((3, 3))
B3 = np.zeros(3)


def with_nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def with_value_at(a, row, col, value, dtype=np.float64, order="C"):
    """A copy of a in dtype and order, with a[row, col] = value."""
    a = np.array(a, dtype=dtype, order=order)
    a[row, col] = value
    return a


# (call, exception type, a phrase the message must contain)
def _set_by_hand(model, rows=3, width=3, intercepts=None):
    """model with coef_ and intercept_ (and classes_) assigned directly."""
    model.coef_ = np.ones((rows, width))
    model.intercept_ = np.zeros(rows if intercepts is None else intercepts)
    if not hasattr(model, "classes_"):
        model.classes_ = np.arange(3)
    return model


def _without_intercept(model):
    """model with only coef_ assigned."""
    model.coef_ = np.ones((3, 3))
    return model


BAD_CALLS = {
    "nan in X (fit)": (lambda: SoftmaxRegression().fit(with_nan(X), Y3), ValueError,
                       "X contains NaN or infinity (the first at row 0, column 0)"),
    "nan in X (sgd)": (lambda: SoftmaxRegression(solver="sgd").fit(with_value_at(X, 7, 1, np.nan), Y3),
                       ValueError, "X contains NaN or infinity (the first at row 7, column 1)"),
    "inf in X (loss)": (lambda: sigmax.loss(np.full((2, 3), np.inf), [0, 1], W3, B3), ValueError,
                        "X contains NaN or infinity"),
    "nan in X (predict)": (lambda: SoftmaxRegression().fit(X, Y3).predict(with_nan(X)), ValueError,
                           "X contains NaN"),
    "inf in float32 Fortran X (predict_proba)": (
        lambda: SoftmaxRegression().fit(X, Y3).predict_proba(
            with_value_at(X, 29, 2, -np.inf, np.float32, "F")),
        ValueError, "X contains NaN or infinity (the first at row 29, column 2)"),
    "nan in a strided X (loss_grad)": (
        lambda: sigmax.loss_grad(with_value_at(np.repeat(X, 2, axis=1), 4, 2, np.nan)[:, ::2],
                                 Y3, W3, B3),
        ValueError, "X contains NaN or infinity (the first at row 4, column 1)"),
    "gd diverges": (lambda: SoftmaxRegression(solver="gd", learning_rate=1e300, max_iter=5).fit(X * 1e10, Y3),
                    ValueError, "learning_rate=1e+300 is too large"),
    "nan label": (lambda: SoftmaxRegression().fit(X, with_nan(Y3)), ValueError, "y contains NaN"),
    "nan sample_weight": (lambda: SoftmaxRegression().fit(X, Y3, sample_weight=with_nan(np.ones(30))), ValueError, "sample_weight"),
    "negative sample_weight": (lambda: SoftmaxRegression().fit(X, Y3, sample_weight=-np.ones(30)), ValueError, "sample_weight"),
    "all-zero sample_weight": (lambda: SoftmaxRegression().fit(X, Y3, sample_weight=np.zeros(30)), ValueError, "sample_weight"),
    "sample_weight length": (lambda: SoftmaxRegression().fit(X, Y3, sample_weight=np.ones(3)), ValueError, "sample_weight"),
    "X 3-d": (lambda: SoftmaxRegression().fit(X[None], Y3), ValueError, "X must be 2-dimensional, got shape (1, 30, 3)"),
    "X 1-d": (lambda: SoftmaxRegression().fit(X[:, 0], Y3), ValueError, "X must be 2-dimensional, got shape (30,)"),
    "y length": (lambda: SoftmaxRegression().fit(X, Y3[:5]), ValueError, "X has 30 rows but y has 5"),
    "W shape": (lambda: sigmax.loss(X, Y3, np.zeros((3, 4)), B3), ValueError, "W must have shape (K, 3)"),
    "b shape": (lambda: sigmax.loss(X, Y3, W3, np.zeros(2)), ValueError, "b must have shape (3,) to match W, got (2,)"),
    "target matrix shape": (lambda: sigmax.loss(X, np.zeros((30, 2)), W3, B3), ValueError, "y must have shape (30, 3), got (30, 2)"),
    "label >= K": (lambda: sigmax.loss(X, Y3 + 1, W3, B3), ValueError, "[0, 3)"),
    "negative label": (lambda: sigmax.loss(X, Y3 - 1, W3, B3), ValueError, "[0, 3)"),
    "binary sigmoid label 2": (lambda: sigmax.loss(X, Y3, W3[:1], B3[:1], link="sigmoid"), ValueError, "[0, 2)"),
    "object X": (lambda: SoftmaxRegression().fit(np.array([[object()] * 3] * 30), Y3), TypeError, "X must hold real numbers"),
    "string X": (lambda: SoftmaxRegression().fit(np.full((30, 3), "a"), Y3), TypeError, "X must hold real numbers (bool, integer or float), got dtype <U1"),
    "complex X": (lambda: sigmax.loss(X + 1j, Y3, W3, B3), ValueError, "Complex"),
    "no rows": (lambda: SoftmaxRegression().fit(np.zeros((0, 3)), []), ValueError, "0 sample"),
    "no features": (lambda: SoftmaxRegression().fit(np.zeros((30, 0)), Y3), ValueError, "0 feature"),
    "single class": (lambda: SoftmaxRegression().fit(X, np.zeros(30)), ValueError, "1 class"),
    "unknown link": (lambda: sigmax.loss(X, Y3, W3, B3, link="tanh"), ValueError, "link"),
    "unknown loss": (lambda: sigmax.loss(X, Y3, W3, B3, loss="hinge"), ValueError, "loss"),
    "unknown solver": (lambda: SoftmaxRegression(solver="adam").fit(X, Y3), ValueError, "solver"),
    "learning_rate 0": (lambda: SoftmaxRegression(learning_rate=0).fit(X, Y3), ValueError, "learning_rate"),
    "learning_rate nan": (lambda: SoftmaxRegression(learning_rate=float("nan")).fit(X, Y3), ValueError, "learning_rate"),
    "batch_size 0": (lambda: SoftmaxRegression(solver="sgd", batch_size=0).fit(X, Y3), ValueError, "batch_size"),
    "max_iter 0": (lambda: SoftmaxRegression(max_iter=0).fit(X, Y3), ValueError, "max_iter"),
    "max_iter 1e30": (lambda: SoftmaxRegression(max_iter=10**30).fit(X, Y3), ValueError, "max_iter"),
    "alpha < 0": (lambda: SoftmaxRegression(alpha=-1).fit(X, Y3), ValueError, "alpha"),
    "tol < 0": (lambda: SoftmaxRegression(tol=-1e-9).fit(X, Y3), ValueError,
                "tol must be a finite number >= 0, got -1e-09"),
    "tol inf": (lambda: SoftmaxRegression(tol=float("inf")).fit(X, Y3), ValueError, "tol must be"),
    "warm start on other features": (
        lambda: SoftmaxRegression(warm_start=True).fit(X, Y3).fit(X[:, :2], Y3), ValueError,
        "warm_start=True: coef_ has shape (3, 3), but this fit of SoftmaxRegression needs "
        "(3, 2), from y's 3 classes and X's 2 features"),
    "warm start on other classes": (
        lambda: SoftmaxRegression(warm_start=True).fit(X, Y3).fit(X, Y3 + 1), ValueError,
        "coef_ belongs to the classes [0, 1, 2], but y's are [1, 2, 3]"),
    "warm start on fewer classes": (
        lambda: LogisticRegression(warm_start=True).fit(X, Y3).fit(X, Y3 % 2), ValueError,
        "needs (1, 3), from y's 2 classes"),
    "warm start from coef_ without intercept_": (
        lambda: _without_intercept(SoftmaxRegression(warm_start=True)).fit(X, Y3), ValueError,
        "warm_start=True: coef_ is set but intercept_ is not"),
    "warm start from an intercept_ of the wrong length": (
        lambda: _set_by_hand(SoftmaxRegression(warm_start=True), intercepts=2).fit(X, Y3),
        ValueError, "warm_start=True: intercept_ has shape (2,), but this fit of "
                    "SoftmaxRegression needs (3,)"),
    "fit_intercept not bool": (lambda: SoftmaxRegression(fit_intercept="no").fit(X, Y3), ValueError, "fit_intercept"),
    "max_iter too large": (lambda: SoftmaxRegression(max_iter=2**62).fit(X, Y3), ValueError,
                           "max_iter must be a positive integer below 2**62, got 4611686018427387904"),
    "verbose not an integer": (lambda: SoftmaxRegression(verbose="x").fit(X, Y3), ValueError, "verbose"),
    "verbose negative": (lambda: SoftmaxRegression(verbose=-1).fit(X, Y3), ValueError, "verbose"),
    "n_jobs 0": (lambda: SoftmaxRegression(n_jobs=0).fit(X, Y3), ValueError, "n_jobs"),
    "logits' n_jobs 0": (lambda: sigmax.logits(X, np.zeros((3, X.shape[1])), np.zeros(3), n_jobs=0),
                         ValueError, "n_jobs"),
    "random_state": (lambda: SoftmaxRegression(solver="sgd", random_state="x").fit(X, Y3), ValueError, "random_state"),
    "random_state, lbfgs": (lambda: SoftmaxRegression(random_state=-1).fit(X, Y3), ValueError, "random_state"),
    "n_jobs before X": (lambda: SoftmaxRegression(n_jobs=1.5).fit(None, Y3), ValueError, "n_jobs"),
    "random_state before X": (lambda: SoftmaxRegression(solver="sgd", random_state="x").fit(None, Y3),
                              ValueError, "random_state"),
    "class_weight label": (lambda: SoftmaxRegression(class_weight={7: 1.0}).fit(X, Y3), ValueError, "class_weight"),
    "predict before fit": (lambda: SoftmaxRegression().predict(X), NotFittedError, "not fitted"),
    "coef_ set by hand, never fitted": (lambda: _set_by_hand(SoftmaxRegression()).predict(X),
                                        NotFittedError, "not fitted"),
    "coef_ of the wrong width": (lambda: _set_by_hand(SoftmaxRegression().fit(X, Y3), width=4).predict(X),
                                 ValueError, "coef_ has shape (3, 4), but this SoftmaxRegression needs (3, 3)"),
    "coef_ of too few rows": (lambda: _set_by_hand(LogisticRegression().fit(X, Y3), rows=2).predict(X),
                              ValueError, "coef_ has shape (2, 3), but this LogisticRegression needs (3, 3)"),
    "intercept_ of the wrong length": (
        lambda: _set_by_hand(LogisticRegression().fit(X, Y3 % 2), rows=1, intercepts=2).predict_proba(X),
        ValueError, "intercept_ has shape (2,), but this LogisticRegression needs (1,)"),
    "score on no rows": (lambda: SoftmaxRegression().fit(X, Y3).score(X[:0], Y3[:0]), ValueError,
                         "at least one row"),
    "score, string y for number classes": (lambda: SoftmaxRegression().fit(X, Y3).score(X, Y3.astype(str)),
                                           ValueError, "same type"),
    "score, number y for string classes": (
        lambda: SoftmaxRegression().fit(X, Y3.astype(str)).score(X, Y3), ValueError, "same type"),
    "score, y None": (lambda: SoftmaxRegression().fit(X, Y3).score(X, None), ValueError, "requires y"),
    "predict feature count": (lambda: SoftmaxRegression().fit(X, Y3).predict(X[:, :2]), ValueError, "features"),
    "out dtype": (lambda: sigmax.loss_grad(X, Y3, W3, B3, out=(np.zeros((3, 3), np.float32), np.zeros(3))), TypeError, "dtype"),
    "out shape": (lambda: sigmax.loss_grad(X, Y3, W3, B3, out=(np.zeros((3, 2)), np.zeros(3))), ValueError, "shape"),
    "out aliases W": (lambda: sigmax.loss_grad(X, Y3, W3, B3, out=(W3, np.zeros(3))), ValueError, "share memory"),
    "y None": (lambda: SoftmaxRegression().fit(X, None), ValueError, "the target y is None"),
    "X None": (lambda: SoftmaxRegression().fit(None, Y3), ValueError, "X is None"),
    "mixed label types": (lambda: SoftmaxRegression().fit(X, np.array(["a", 1] * 15, dtype=object)), TypeError, "labels"),
    "continuous y": (lambda: SoftmaxRegression().fit(X, X[:, 0]), ValueError, "continuous"),
    "continuous y in an object array": (
        lambda: SoftmaxRegression().fit(X, np.array([0.5, 1.5, 2.5] * 10, dtype=object)),
        ValueError, "continuous"),
    "multi-label not 0/1": (lambda: LogisticRegression().fit(X, RNG.random((30, 3))), ValueError, "0/1"),
    "sparse X": (lambda: SoftmaxRegression().fit(__import__("scipy.sparse").sparse.csr_matrix(X), Y3), TypeError, "sparse"),
    "logits overflow": (lambda: sigmax.logits(np.full((2, 3), 1e300), np.full((3, 3), 1e300), B3),
                        ValueError, "X is finite, but the logits X W^T + b are not"),
    "gradient overflows (float32)": (
        lambda: sigmax.loss_grad(np.full((1000, 3), 1e37, np.float32), np.arange(1000) // 999,
                                 np.zeros((2, 3), np.float32), np.zeros(2, np.float32)),
        ValueError, "X is finite, but the logits X W^T + b, the objective or its gradient are not"),
    "lbfgs from an overflowing start": (lambda: SoftmaxRegression(alpha=1e-3).fit(X * 1e306, Y3),
                                        ValueError, "its gradient are not"),
    "ragged X": (lambda: SoftmaxRegression().fit([[1.0, 2.0], [3.0]], [0, 1]), ValueError,
                 "X could not be read as an array"),
    "object X beyond float64": (lambda: SoftmaxRegression().fit(np.array([[10**400, 1]] * 4, dtype=object), [0, 1] * 2),
                                TypeError, "X must hold real numbers"),
    "class_weight value a string": (lambda: SoftmaxRegression(class_weight={0: "a"}).fit(X, Y3),
                                    TypeError, "class_weight[0] must be a real number"),
    "penalty overflows float32": (
        lambda: sigmax.loss_grad(X.astype(np.float32), Y3, np.ones((3, 3)), B3, alpha=1e39),
        ValueError, "the logits X W^T + b, the objective or its gradient are not"),
    "class_weight value inf": (lambda: SoftmaxRegression(class_weight={0: np.inf}).fit(X, Y3),
                               ValueError, "class_weight values"),
    "link a list": (lambda: sigmax.loss(X, Y3, W3, B3, link=["softmax"]), ValueError, "link"),
    "loss a list": (lambda: sigmax.loss(X, Y3, W3, B3, loss=["log"]), ValueError, "loss"),
    "alpha a string": (lambda: sigmax.loss(X, Y3, W3, B3, alpha="0.1"), TypeError, "alpha"),
    "alpha a bool": (lambda: SoftmaxRegression(alpha=True).fit(X, Y3), TypeError, "alpha"),
    "y None (loss)": (lambda: sigmax.loss(X, None, W3, B3), ValueError, "y is None"),
    "W beyond float32 for float32 X": (lambda: sigmax.loss(X.astype(np.float32), Y3, np.full((3, 3), 1e300), B3),
                                       ValueError, "W has values beyond the range of float32"),
    "NaN label in an object array": (lambda: SoftmaxRegression().fit(X, np.array([1.0, np.float32("nan")] * 15, dtype=object)),
                                     ValueError, "y contains None, NaN or infinite labels"),
    "inf label in an object array": (lambda: SoftmaxRegression().fit(X, np.array([1.0, np.float64("inf")] * 15, dtype=object)),
                                     ValueError, "y contains None, NaN or infinite labels"),
    "Decimal NaN label": (lambda: SoftmaxRegression().fit(X, np.array([__import__("decimal").Decimal(1), __import__("decimal").Decimal("NaN")] * 15, dtype=object)),
                          ValueError, "y contains None, NaN or infinite labels"),
    "softmax of NaN": (lambda: sigmax.softmax([[np.nan, 0.0]]), ValueError, "Z contains NaN"),
    "softmax of +inf": (lambda: sigmax.softmax([[np.inf, 0.0]]), ValueError, "Z contains NaN or +inf"),
    "softmax of a row of -inf": (lambda: sigmax.softmax([[0.0, 1.0], [-np.inf, -np.inf]]), ValueError,
                                 "a row of only -inf"),
    "sigmoid of NaN": (lambda: sigmax.sigmoid([0.0, np.nan]), ValueError, "z contains NaN"),
    "negative sample_weight (score)": (lambda: SoftmaxRegression().fit(X, Y3).score(X, Y3, sample_weight=-np.ones(30)),
                                       ValueError, "sample_weight must be non-negative"),
    "nan sample_weight (score)": (lambda: SoftmaxRegression().fit(X, Y3).score(X, Y3, sample_weight=with_nan(np.ones(30))),
                                  ValueError, "sample_weight contains NaN"),
    "sample_weight length (score)": (lambda: SoftmaxRegression().fit(X, Y3).score(X, Y3, sample_weight=np.ones(3)),
                                     ValueError, "sample_weight must have shape (30,)"),
    "ragged y (fit)": (lambda: SoftmaxRegression().fit(X[:2], [[0], [1, 2]]), ValueError,
                       "y could not be read as an array"),
    "ragged y (loss)": (lambda: sigmax.loss(X[:2], [[0], [1, 2]], W3, B3), ValueError,
                        "y could not be read as an array"),
    "ragged y (score)": (lambda: SoftmaxRegression().fit(X, Y3).score(X[:2], [[0], [1, 2]]),
                         ValueError, "y could not be read as an array"),
    "class_weight label a tuple": (lambda: SoftmaxRegression(class_weight={(0, 1): 2.0}).fit(X, Y3),
                                   ValueError, "names the label (0, 1), which is not in y"),
    "estimator loss a list": (lambda: SoftmaxRegression(loss=["log"]).fit(X, Y3), ValueError,
                              "loss must be one of"),
    "estimator solver a list": (lambda: SoftmaxRegression(solver=["sgd"]).fit(X, Y3), ValueError,
                                "solver must be one of"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_gets_a_clear_error(name):
    call, exc, phrase = BAD_CALLS[name]
    with pytest.raises(exc) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    assert phrase.lower() in str(info.value).lower(), str(info.value)


def test_reshape_hint_only_for_X():
    with pytest.raises(ValueError) as info:
        sigmax.loss(X, Y3, np.zeros(3), B3)
    assert "X.reshape" not in str(info.value)
    with pytest.raises(ValueError, match=r"X\.reshape\(-1, 1\)"):
        SoftmaxRegression().fit(X[:, 0], Y3)


def test_private_core_checks_its_own_arguments():
    """sigmax._core is private, but a bad argument gives an exception, not a crash."""
    y = Y3.astype(np.intp)
    W, b = np.zeros((3, 3)), np.zeros(3)

    def loss_grad(threads=1, alpha=0.0, sw=None, Xa=X):
        return _core.loss_grad(Xa, y, None, sw, W, b, 0, 0, alpha, np.zeros((3, 3)),
                               np.zeros(3), threads)

    expected = loss_grad()
    assert loss_grad(threads=2**31 - 1) == expected  # more threads than cores: as many as cores
    big = np.ones((20000, 2))  # several parts, so a thread team is started
    yb = (np.arange(20000) % 2).astype(np.intp)
    assert _core.loss_grad(big, yb, None, None, np.zeros((2, 2)), np.zeros(2), 0, 0, 0.0, None,
                           None, 2**31 - 1) == pytest.approx(np.log(2))
    assert _core.sgd_epoch(big, yb, None, None, np.zeros((2, 2)), np.zeros(2), 0, 0, 0.1, 0.0,
                           1.0, 256, True, True, 100000, 1) == pytest.approx(np.log(2), rel=1e-3)
    for threads in (0, -5):
        with pytest.raises(ValueError, match="n_threads must be at least 1"):
            loss_grad(threads=threads)
    for alpha in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
            loss_grad(alpha=alpha)
    for bad, match in ((np.nan, r"sample_weight\[4\] is not a finite value >= 0"),
                       (-1.0, r"sample_weight\[4\]")):
        sw = np.ones(30)
        sw[4] = bad
        with pytest.raises(ValueError, match=match):
            loss_grad(sw=sw)
    for sw in (np.full(30, 1e308), np.zeros(30), np.full(30, 5e-324)):  # 1 / sum overflows
        with pytest.raises(ValueError, match="finite sum of at least DBL_MIN"):
            loss_grad(sw=sw)
    with pytest.raises(ValueError, match="at least one row"):
        _core.loss_grad(X[:0], y[:0], None, None, W, b, 0, 0, 0.0, None, None, 1)

    def lbfgs(memory=10, h0=None, Xa=X, ya=y):
        return _core.lbfgs(Xa, ya, None, None, np.zeros((3, 3)), np.zeros(3), 0, 0, 0.1, True,
                           1e-8, 50, memory, 1, None, h0)

    with pytest.raises(MemoryError):
        lbfgs(memory=2**61)  # its byte count would wrap around
    with pytest.raises(ValueError, match="at least one row"):
        lbfgs(Xa=X[:0], ya=y[:0])
    with pytest.raises(ValueError, match="finite positive diagonal"):
        lbfgs(h0=np.diag([1.0, np.inf, 1.0, 1.0]))
    with pytest.raises(ValueError, match="not available"):
        _core.select_isa(_core.isa() + "\x00junk")
    for what in (0, 1, 2):  # logits, probabilities, log-probabilities of no class
        with pytest.raises(ValueError, match="W must have at least one row"):
            _core.forward(X, np.zeros((0, 3)), np.zeros(0), 0, what, np.zeros((len(X), 0)), 1)
    # the classes (what=3) go into one intp per row
    for out, error in ((np.zeros((len(X), 3)), TypeError), (np.zeros((len(X), 1), np.intp), ValueError),
                       (np.zeros(len(X) + 1, np.intp), ValueError)):
        with pytest.raises(error):
            _core.forward(X, W, b, 0, 3, out, 1)
    for what in (-1, 8):
        with pytest.raises(ValueError, match="unknown output code"):
            _core.forward(X, W, b, 0, what, np.zeros((len(X), 3)), 1)
    # the pairs (what=4, 5): one sigmoid's two classes, two values per row
    for what in (4, 5):
        for link, W_, b_ in ((0, W[:1], b[:1]), (1, W, b)):  # softmax; sigmoid of 3 rows
            with pytest.raises(ValueError, match="the pair outputs need the sigmoid link"):
                _core.forward(X, W_, b_, link, what, np.zeros((len(X), 2)), 1)
        with pytest.raises(ValueError):
            _core.forward(X, W[:1], b[:1], 1, what, np.zeros((len(X), 1)), 1)
    # one-vs-rest (what=6, 7): the sigmoids normalized across the row
    for what in (6, 7):
        with pytest.raises(ValueError, match="the one-vs-rest outputs need the sigmoid link"):
            _core.forward(X, W, b, 0, what, np.zeros((len(X), 3)), 1)
    assert lbfgs()[5] == 0  # and the good call still converges


def test_private_core_scratch_sizes_that_overflow_are_out_of_memory():
    """Stride-0 views give shapes no memory holds; the kernels' scratch sizes
    for them would wrap around to small buffers.  They are MemoryErrors (an SGD
    epoch's scratch does not grow with the rows)."""
    k = 2**60  # with no features, W has no elements and nothing else bounds k
    X = np.zeros((1, 0), np.float32)
    W = np.empty((k, 0), np.float32)
    b = np.broadcast_to(np.zeros(1, np.float32), (k,))
    Y = np.broadcast_to(np.zeros((1, 1), np.float32), (1, k))
    with pytest.raises(MemoryError):
        _core.loss_grad(X, None, Y, None, W, b, 0, 0, 0.0, None, None, 1)
    out = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (1, k), (0, 0))
    with pytest.raises(MemoryError):
        _core.forward(X, W, b, 0, 0, out, 1)
    # an SGD epoch keeps no room for a batch's row indices that grows with the batch:
    # one of 2**60 rows (2**63 bytes of indices) starts, and X's NaN stops it
    n, batch = 2**60 + 1, 2**60
    Xn = np.broadcast_to(np.full((1, 1), np.nan, np.float32), (n, 1))
    Yn = np.broadcast_to(np.zeros((1, 1), np.float32), (n, 1))
    for shuffle in (False, True):
        with pytest.raises(ValueError, match="X contains NaN"):
            _core.sgd_epoch(Xn, None, Yn, None, np.zeros((1, 1), np.float32),
                            np.zeros(1, np.float32), 1, 0, 0.1, 0.0, 1.0, batch, shuffle, True,
                            1, 0)
    # with a k that fits, no features is a valid problem: the logits are b
    k = 5
    Wk, bk = np.empty((k, 0)), np.arange(k, dtype=np.float64)
    Yk = np.full((2, k), 1.0 / k)
    expected = np.log(np.exp(bk).sum()) - bk.mean()
    assert _core.loss_grad(np.zeros((2, 0)), None, Yk, None, Wk, bk, 0, 0, 0.0, None, None,
                           1) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_of_any_scale_give_the_same_fit(dtype):
    """The objective is a weighted mean: scaling every weight changes nothing.
    Scales by powers of two (as the weights are normalized) are bit for bit the
    same; extreme ones used to overflow or vanish in the sums."""
    Xd = X.astype(dtype)
    ref = SoftmaxRegression(alpha=0.01).fit(Xd, Y3)
    for scale in (2.0 ** -1070, 2.0 ** 1000, 2.0 ** 120):
        fit = SoftmaxRegression(alpha=0.01).fit(Xd, Y3, sample_weight=np.full(30, scale))
        assert np.array_equal(fit.coef_, ref.coef_) and np.array_equal(fit.intercept_, ref.intercept_)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for kwargs in ({"sample_weight": np.full(30, 1e308)}, {"sample_weight": np.full(30, 5e-324)},
                   {"sample_weight": np.full(30, 1e37)}):
        fit = SoftmaxRegression(alpha=0.01).fit(Xd, Y3, **kwargs)
        np.testing.assert_allclose(fit.coef_, ref.coef_, rtol=tol, atol=tol)
    for weight in (1e39, 1e308):
        fit = SoftmaxRegression(alpha=0.01, class_weight={0: weight, 1: weight, 2: weight}).fit(Xd, Y3)
        np.testing.assert_allclose(fit.coef_, ref.coef_, rtol=tol, atol=tol)
    value = sigmax.loss(Xd, Y3, ref.coef_, ref.intercept_, sample_weight=np.full(30, 1e308))
    assert np.isclose(value, sigmax.loss(Xd, Y3, ref.coef_, ref.intercept_), rtol=tol)


@STOPS_EARLY
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_warm_start_without_intercept_keeps_it_zero(solver):
    model = SoftmaxRegression(solver=solver, warm_start=True, max_iter=5, alpha=0.1).fit(X, Y3)
    assert np.any(model.intercept_ != 0)
    model.set_params(fit_intercept=False).fit(X, Y3)
    assert np.array_equal(model.intercept_, np.zeros(3))


def test_exact_numbers_of_other_types_are_accepted():
    from decimal import Decimal
    from fractions import Fraction

    ref = SoftmaxRegression(class_weight={0: 0.5}).fit(X, Y3)
    for half in (Decimal("0.5"), Fraction(1, 2), np.float32(0.5)):
        assert np.array_equal(SoftmaxRegression(class_weight={0: half}).fit(X, Y3).coef_, ref.coef_)
    assert sigmax.loss(X, Y3, W3, B3, alpha=np.array(0.1)) == sigmax.loss(X, Y3, W3, B3, alpha=0.1)
    huge = Decimal("1e400")  # finite as a Decimal, though not as a float
    labels = np.array([1, 2, huge] * 10, dtype=object)
    assert list(SoftmaxRegression().fit(X, labels).classes_) == [1, 2, huge]
    sgd = {"solver": "sgd", "max_iter": 3, "random_state": 0}
    ref = SoftmaxRegression(**sgd, learning_rate=0.25, tol=0.5).fit(X, Y3)
    for quarter, half in ((Decimal("0.25"), Decimal("0.5")), (Fraction(1, 4), np.array(0.5))):
        fit = SoftmaxRegression(**sgd, learning_rate=quarter, tol=half)
        assert np.array_equal(fit.fit(X, Y3).coef_, ref.coef_)


def test_score_takes_a_column_vector_y_as_fit_does():
    model = SoftmaxRegression(alpha=0.1).fit(X, Y3)
    with pytest.warns(DataConversionWarning, match="column-vector"):
        assert model.score(X, Y3[:, None]) == model.score(X, Y3)


def test_unusual_but_valid_inputs_give_correct_results():
    ref = SoftmaxRegression(alpha=0.1).fit(X, Y3)
    expected = ref.predict_proba(X)
    readonly = X.copy()
    readonly.setflags(write=False)
    variants = {
        "list": X.tolist(), "readonly": readonly, "big-endian": X.astype(">f8"),
        "fortran": np.asfortranarray(X), "strided": np.repeat(X, 2, axis=1)[:, ::2],
    }
    for name, Xv in variants.items():
        model = SoftmaxRegression(alpha=0.1).fit(Xv, list(Y3))
        np.testing.assert_allclose(model.predict_proba(Xv), expected, rtol=1e-9, err_msg=name)
    Xi = (X * 10).astype(np.int32)
    np.testing.assert_allclose(SoftmaxRegression(alpha=0.1).fit(Xi, Y3).coef_,
                               SoftmaxRegression(alpha=0.1).fit(Xi.astype(float), Y3).coef_)
    Xb = X > 0
    np.testing.assert_allclose(SoftmaxRegression(alpha=0.1).fit(Xb, Y3).coef_,
                               SoftmaxRegression(alpha=0.1).fit(Xb.astype(float), Y3).coef_)


@pytest.mark.parametrize("Model", [SoftmaxRegression, LogisticRegression])
@pytest.mark.parametrize("label_type", ["<i8", "<i4", "u2"])
def test_fields_of_packed_records_are_valid_input(Model, label_type):
    """Fields of a packed structured array (binary records, say) are misaligned
    views: the labels 0..K-1 among them were refused as not aligned, the
    features and weights were not."""
    records = np.zeros(X.shape[0], dtype=[("flag", "u1"), ("label", label_type),
                                          ("x", "<f8", X.shape[1]), ("w", "<f8")])
    records["label"], records["x"], records["w"] = Y3, X, 1.0 + (Y3 == 1)
    assert not records["label"].flags.aligned
    got = Model(alpha=0.1).fit(records["x"], records["label"], sample_weight=records["w"])
    want = Model(alpha=0.1).fit(X, Y3, sample_weight=1.0 + (Y3 == 1))
    assert np.array_equal(got.coef_, want.coef_)
    assert np.array_equal(got.classes_, want.classes_)
    assert got.score(records["x"], records["label"]) == want.score(X, Y3)


def test_memory_mapped_input(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    Xm = np.load(path, mmap_mode="r")
    model = SoftmaxRegression(alpha=0.1).fit(Xm, Y3)
    np.testing.assert_allclose(model.predict_proba(Xm),
                               SoftmaxRegression(alpha=0.1).fit(np.array(Xm), Y3).predict_proba(Xm))


def test_string_labels():
    labels = np.array(["setosa", "versicolor", "virginica"])[Y3]
    model = SoftmaxRegression(alpha=0.1).fit(X, labels)
    assert set(model.predict(X)) <= set(labels)


def fitted_state(model):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}


def assert_same_state(before, model):
    after = model if isinstance(model, dict) else vars(model)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, after[key]), key
        else:
            assert value == after[key], key


@STOPS_EARLY
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_keyboard_interrupt_mid_fit_leaves_the_model_unchanged(solver, monkeypatch):
    model = SoftmaxRegression(solver=solver, max_iter=5, alpha=0.1).fit(X, Y3)
    before = fitted_state(model)

    def interrupt_at_epoch_2(progress, epoch, value):
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(sigmax._progress.EpochProgress, "__call__", interrupt_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X * 2, (Y3 + 1) % 3)
    assert_same_state(before, model)


def test_diverging_sgd_is_reported_and_changes_nothing():
    model = SoftmaxRegression(solver="sgd", alpha=0.1).fit(X, Y3)
    before = fitted_state(model)
    with pytest.raises(ValueError, match=r"training diverged .* learning_rate=1e\+300 is too large"):
        SoftmaxRegression(solver="sgd", learning_rate=1e300, max_iter=3).fit(X * 1e10, Y3)
    with pytest.raises(ValueError):
        model.fit(X * 1e300, Y3)
    assert_same_state(before, model)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
@pytest.mark.parametrize("learning_rate, alpha", [(30.0, 0.1), (2.5, 1.0), (10.0, 1.0)])
def test_a_penalty_step_that_grows_the_weights_is_refused(solver, learning_rate, alpha):
    # lr * alpha > 2: each step multiplies W by 1 - lr * alpha, below -1, so W grows
    # geometrically.  At lr * alpha = 2.5 it took 100 epochs to |W| ~ 1e17 without
    # overflowing: a useless model, once returned silently.  Refused before training,
    # and a fitted model is left as it was.
    model = SoftmaxRegression(solver=solver, alpha=0.1).fit(X, Y3)
    fitted = {key: value for key, value in fitted_state(model).items() if key.endswith("_")}
    model.set_params(learning_rate=learning_rate, alpha=alpha, batch_size=len(X))
    with pytest.raises(ValueError, match=r"learning_rate \* alpha must be at most 2 with "
                                         rf"solver='{solver}', got learning_rate={learning_rate}"):
        model.fit(X, Y3)
    assert_same_state(fitted, {key: getattr(model, key) for key in fitted})
    # at lr * alpha = 2 the penalty's factor is -1: bounded, so accepted (at lr 20
    # the data's steps are too large, and a warning says so)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*the objective rose", sigmax.ConvergenceWarning)
        model.set_params(learning_rate=2.0 / alpha, max_iter=3).fit(X, Y3)
    assert np.isfinite(model.coef_).all()
    # lbfgs has no learning rate
    SoftmaxRegression(learning_rate=learning_rate, alpha=alpha).fit(X, Y3)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_divergence_without_the_penalty_at_fault_names_the_learning_rate_alone(solver):
    # no penalty: the data's own steps diverge
    model = SoftmaxRegression(solver=solver, learning_rate=1e308, max_iter=5)
    with pytest.raises(ValueError, match=r"training diverged .*: learning_rate=1e\+308 is "
                                         r"too large for this data$"):
        model.fit(X, Y3)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_probabilities_at_extreme_logits(dtype, tol):
    Xe = (X * 1e4).astype(dtype)
    for model in (SoftmaxRegression(alpha=1e-3), LogisticRegression(alpha=1e-3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X.astype(dtype), Y3)
        P = model.predict_proba(Xe)
        L = model.predict_log_proba(Xe)
        assert np.abs(P.sum(axis=1) - 1).max() <= tol
        assert np.isfinite(L).all()
        assert (P == 0).any()  # probabilities underflow here ...
        assert (L[P == 0] < -700 if dtype == np.float64 else L[P == 0] < -80).all()  # ... logs do not


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_gradient_finite_at_logits_1e4(dtype):
    Xe = np.array([[1e4], [-1e4]], dtype=dtype)
    W = np.array([[1.0], [-1.0]], dtype=dtype)
    b = np.zeros(2, dtype=dtype)
    loss, gW, gb = sigmax.loss_grad(Xe, [1, 1], W, b)  # row 0 is 2e4 off, on the wrong side
    assert np.isfinite(loss) and np.isfinite(gW).all() and np.isfinite(gb).all()
    assert float(loss) == pytest.approx(1e4, rel=1e-6)  # (2e4 + 0) / 2


def test_threads_give_the_sequential_results():
    data = [(RNG.normal(size=(2000, 8)), RNG.integers(0, 4, 2000)) for _ in range(4)]
    sequential = [SoftmaxRegression(alpha=1e-2).fit(Xt, yt).coef_ for Xt, yt in data]
    results = [None] * len(data)

    def work(i):
        results[i] = SoftmaxRegression(alpha=1e-2).fit(*data[i]).coef_

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(data))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, sequential):
        assert np.array_equal(got, want)

    model = SoftmaxRegression(alpha=1e-2).fit(*data[0])
    want = model.predict_proba(data[1][0])
    outputs = [None] * 4

    def predict(i):
        outputs[i] = model.predict_proba(data[1][0])

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in outputs:
        assert np.array_equal(got, want)


@pytest.mark.parametrize("link, k, bad", [(0, 3, 10**12), (1, 1, 2), (1, 3, 3)])
def test_y_written_during_a_fit_is_an_error_not_a_crash(link, k, bad):
    """The kernels read y without the GIL; an index that leaves the range checked
    at the start is caught where it is read (here written between two L-BFGS
    iterations, by the callback, which runs with the GIL): the softmax's and
    the sigmoid's (one label, or one-vs-rest) each read it where they do."""
    Xr, yr = RNG.normal(size=(50, 3)), (np.arange(50) % max(k, 2)).astype(np.intp)

    def callback(*_):
        yr[7] = bad

    with pytest.raises(ValueError, match="y changed during the call"):
        _core.lbfgs(Xr, yr, None, None, np.zeros((k, 3)), np.zeros(k), link, 0, 0.1, True, 1e-8,
                    50, 10, 1, callback, None)


@pytest.mark.parametrize("link, k, bad", [(0, 3, 3), (0, 3, -1), (1, 1, 2), (1, 2, 2)])
def test_class_indices_out_of_range_are_refused_before_the_pass(link, k, bad):
    """The kernels check y's class indices against [0, K) (K = 1 sigmoid: the
    labels 0 and 1) before reading X, and name the first row out of range."""
    Xr = RNG.normal(size=(20, 3))
    yr = (np.arange(20) % max(k, 2)).astype(np.intp)
    yr[5] = bad
    classes = 2 if link == 1 and k == 1 else k
    with pytest.raises(ValueError, match=rf"y\[5\] is not a class index in \[0, {classes}\)"):
        _core.loss_grad(Xr, yr, None, None, np.zeros((k, 3)), np.zeros(k), link, 0, 0.0, None,
                        None, 1)
    yr[5] = classes - 1  # the largest index is a class
    value = _core.loss_grad(Xr, yr, None, None, np.zeros((k, 3)), np.zeros(k), link, 0, 0.0,
                            None, None, 1)
    assert np.isfinite(value)


def _run_isolated(code, timeout=120):
    """Run code in a fresh interpreter (a crash there fails the test, not the
    run) and return its standard output."""
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout, cwd=here,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    return run.stdout


_RESIZE_DURING_LBFGS = """
    import numpy as np
    from sigmax import _core
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4000, 20)), (np.arange(2000) % 3).astype(np.intp)
    X = X[:2000] if VICTIM == "X.base" else X[:2000].copy()  # a view, or owning its data
    W, b = np.zeros((3, 20)), np.zeros(3)
    kept = []

    def victim():
        return {"X": lambda: args[0], "W": lambda: args[4], "X.base": lambda: args[0].base,
                "h0": kept.pop}[VICTIM]()  # each the array's one reference but the call's

    class H0:  # converted after the arrays were checked: it may run any code
        def __array__(self, dtype=None, copy=None):
            kept.append(np.ones(63))  # the array lbfgs uses, kept here
            if WHEN == "h0":
                victim().resize((100000, 20))
            return kept[0]

    def callback(*_):
        if WHEN == "callback":
            victim().resize((100000, 20))

    # f(*args) passes this very tuple: it holds the arrays' only references
    args = (X, y, None, None, W, b, 0, 0, 0.1, True, 1e-8, 20, 5, 1, callback, H0())
    del X, W, b
    try:
        _core.lbfgs(*args)
    except ValueError as err:
        print("refused:", str(err).splitlines()[0])
"""


@pytest.mark.parametrize("victim, when", [("X", "callback"), ("W", "callback"),
                                          ("X.base", "callback"), ("h0", "callback"),
                                          ("X", "h0")])
def test_an_array_in_use_cannot_be_resized(victim, when):
    """Python code that runs during a call (the lbfgs callback, an h0's
    __array__, or another thread while the GIL is released) could resize an
    array the kernels hold a pointer into, which freed its data: X's read
    crashed, W's write corrupted the heap silently, and so did resizing the
    base of a view passed as X, or the h0 array __array__ returned and kept.
    The call holds its arrays and their bases, so NumPy refuses (from another
    thread as well: the same references, but a race, so not tested here)."""
    out = _run_isolated(f"VICTIM, WHEN = {victim!r}, {when!r}\n"
                        + textwrap.dedent(_RESIZE_DURING_LBFGS))
    assert "refused: cannot resize an array that references or is referenced" in out


def _fork_test_data(rng):
    """Rows enough for the fits below to run on a team of threads."""
    Xf = rng.normal(size=(20000, 20))
    return Xf, (Xf[:, 0] > 0).astype(int) + (Xf[:, 1] > 0)


def _fit_in_forked_child(data):
    Xf, yf = data
    return SoftmaxRegression(solver="gd", max_iter=3, n_jobs=2).fit(Xf, yf).predict_proba(Xf)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork with threads: Linux only")
def test_a_child_forked_after_threads_ran_does_not_hang():
    """OpenMP's worker threads do not survive fork(): a forked child that asked for
    a team again waited forever.  It now runs single-threaded, to the same result."""
    Xf, yf = _fork_test_data(RNG)
    want = _fit_in_forked_child((Xf, yf))  # starts the parent's thread team
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(_fit_in_forked_child, [(Xf, yf)] * 2).get(timeout=60)
    for g in got:
        assert np.array_equal(g, want)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _openmp_runtime_path():
    """The file of the OpenMP runtime sigmax's extension runs on; None if it
    has none.  It is where the dynamic linker finds GOMP_parallel for _core:
    among _core's own dependencies, not whichever OpenMP runtime comes first
    in /proc/self/maps, which may be another copy loaded for another library
    (scikit-learn bundles its own libgomp)."""
    core = ctypes.CDLL(_core.__file__)  # already loaded: its handle
    try:  # dlsym on a library's handle searches the library and its dependencies
        address = ctypes.cast(core.GOMP_parallel, ctypes.c_void_p).value
    except AttributeError:  # a build without OpenMP
        return None
    info = _DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
        return None
    return os.fsdecode(info.dli_fname)


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None,
                    reason="reads ldd's list of the extension's libraries")
def test_the_openmp_runtime_found_is_the_one_the_extension_links():
    """The fork test below starts a team on the OpenMP runtime the extension
    runs on; another copy of a runtime loaded into the process as well
    (scikit-learn's bundled libgomp) must not be taken for it, or that test
    checks nothing."""
    pytest.importorskip("sklearn.cluster")  # loads scikit-learn's own libgomp, if it has one
    path = _openmp_runtime_path()
    if path is None:
        pytest.skip("the extension was built without OpenMP")
    listed = subprocess.run(["ldd", _core.__file__], capture_output=True, text=True,
                            check=True).stdout
    # "\tlibgomp.so.1 => /path/to/libgomp.so.1 (0x...)"; the path may hold spaces
    linked = [line.split(" => ", 1)[1].rsplit(" (", 1)[0] for line in listed.splitlines()
              if " => " in line and "omp" in line.split(" => ", 1)[0]]
    assert [os.path.realpath(p) for p in linked] == [os.path.realpath(path)]


def _team_of_another_library(path):
    """A thread team started on the runtime at path directly, as another
    extension using the same runtime (PyTorch on libgomp, say) would."""
    runtime = ctypes.CDLL(path)
    body = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda data: None)
    runtime.GOMP_parallel(body, None, 2, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork with threads: Linux only")
def test_a_child_forked_after_another_librarys_threads_ran_does_not_hang():
    """A team that another library started on the same OpenMP runtime is lost in
    a forked child as well: a child asking for a team waited forever, although
    sigmax itself had run no threads in the parent."""
    path = _openmp_runtime_path()
    if path is None or "gomp" not in os.path.basename(path):
        pytest.skip("sigmax's kernels do not run on libgomp here")
    here = os.path.dirname(os.path.abspath(__file__))
    code = textwrap.dedent(f"""
        import multiprocessing, sys
        import numpy as np
        sys.path[:0] = {[here] + sys.path!r}
        from test_robustness import (_fit_in_forked_child, _fork_test_data,
                                     _team_of_another_library)
        if __name__ == "__main__":
            Xf, yf = _fork_test_data(np.random.default_rng(0))
            _team_of_another_library({path!r})
            with multiprocessing.get_context("fork").Pool(1) as pool:
                got = pool.map_async(_fit_in_forked_child, [(Xf, yf)]).get(timeout=30)
            want = _fit_in_forked_child((Xf, yf))
            print("same" if np.array_equal(got[0], want) else "different")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=here)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "same"


@pytest.mark.parametrize("make", ["logits", "decision_function"])
def test_float32_logits_beyond_float32_range_are_an_error(make):
    """The logits are summed in double; stored as float32 they must fit, as
    float64 logits must fit in double, rather than become infinities."""
    X32 = np.array([[1e20, 1e20]], np.float32)
    with pytest.raises(ValueError, match="a logit overflowed"):
        if make == "logits":
            sigmax.logits(X32, np.array([[1e20, 1e20]], np.float32), np.zeros(1, np.float32))
        else:
            model = SoftmaxRegression(alpha=1.0).fit(np.array([[0, 1], [1, 0]], np.float32), [0, 1])
            model.coef_ = np.full_like(model.coef_, 1e20)
            model.decision_function(X32)
    assert np.isfinite(sigmax.logits(X32, np.array([[1e10, 1e10]], np.float32),
                                     np.zeros(1, np.float32))).all()


# ---- property test: the estimators on arbitrary small problems ----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import reference  # noqa: E402


@st.composite
def problems(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 5))
    k = draw(st.integers(2, 4))
    dtype = draw(st.sampled_from(["<f8", ">f8", "<f4", ">f4"]))
    order = draw(st.sampled_from(["C", "F", "strided"]))
    values = draw(st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=n * m, max_size=n * m))
    X = np.array(values, dtype=np.float64).reshape(n, m)
    y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    y[: min(n, k)] = np.arange(min(n, k))  # at least two classes when n >= 2
    if n == 1:
        y = np.array([0])
    Xd = X.astype(dtype)
    if order == "F":
        Xd = np.asfortranarray(Xd)
    elif order == "strided":
        Xd = np.repeat(Xd, 2, axis=1)[:, ::2]
    return X, Xd, y


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# features up to 50 make lr 0.05 too large for many draws: their objective rises, and says so
@pytest.mark.filterwarnings("ignore:.*the objective rose:sigmax.ConvergenceWarning")
@given(problems(), st.sampled_from(["gd", "sgd"]), st.sampled_from([0.0, 0.1, 1.0]))
def test_property_two_epochs_match_the_reference(problem, solver, alpha):
    """Two full-batch steps from zero weights: the second starts from W != 0,
    where the penalty's part alpha W of the gradient counts."""
    X, Xd, y = problem
    if len(np.unique(y)) < 2:
        with pytest.raises(ValueError, match="class"):
            SoftmaxRegression(solver=solver).fit(Xd, y)
        return
    lr = 0.05
    model = SoftmaxRegression(solver=solver, max_iter=2, learning_rate=lr, alpha=alpha,
                              batch_size=len(y), shuffle=False).fit(Xd, y)
    classes, yi = np.unique(y, return_inverse=True)
    Xr = Xd.astype(np.float64)  # the values sigmax saw, in float64
    k = len(classes)
    W, b = np.zeros((k, Xr.shape[1])), np.zeros(k)
    for _ in range(2):
        _, gW, gb = reference.loss_grad(Xr, yi, W, b, link="softmax", loss="log", alpha=alpha)
        # the weights are kept in X's dtype between the epochs
        W = (W - lr * gW).astype(Xd.dtype).astype(np.float64)
        b = (b - lr * gb).astype(Xd.dtype).astype(np.float64)
    single = Xd.dtype.itemsize == 4
    np.testing.assert_allclose(model.coef_, W, rtol=1e-4 if single else 1e-10,
                               atol=1e-5 if single else 1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-4 if single else 1e-10,
                               atol=1e-6 if single else 1e-12)
    P = model.predict_proba(Xd)
    assert P.shape == (len(y), k)
    assert np.abs(P.sum(axis=1) - 1).max() < (1e-6 if single else 1e-12)


def test_an_overflowing_preconditioner_block_is_dropped_without_numpy_warnings():
    """float32 features near 1e20: the preconditioner's second moments overflow
    and the solver falls back to the diagonal; NumPy's overflow warning from
    that product leaked out of fit."""
    Xn = np.random.default_rng(0).normal(size=(2000, 3))
    Xl = (Xn * 1e20).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sigmax.ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        model = SoftmaxRegression(max_iter=20).fit(Xl, (Xn[:, 0] > 0) + (Xn[:, 1] > 0))
    assert np.all(np.isfinite(model.coef_))


def test_no_rows_give_no_rows_where_nothing_is_averaged():
    """logits, like predict_proba, softmax and sigmoid, maps rows to rows: no rows
    in, none out.  loss, a mean over the rows, has none to take."""
    model = SoftmaxRegression().fit(X, Y3)
    for dtype in (np.float32, np.float64):
        X0 = X[:0].astype(dtype)
        for Z in (sigmax.logits(X0, W3, B3), model.predict_proba(X0), sigmax.softmax(X0)):
            assert Z.shape == (0, 3) and Z.dtype == dtype
    with pytest.raises(ValueError, match="at least one row"):
        sigmax.loss(X[:0], Y3[:0], W3, B3)


def _refit_during_the_kernel(monkeypatch, model, other):
    """Make the first forward kernel call of a prediction end with ``model``
    refitted as ``other`` (as another thread's fit would), once."""
    real = _core.forward
    done = []

    def forward_then_refit(*args):
        real(*args)
        if not done:
            done.append(True)
            model.__dict__.update({k: v for k, v in vars(other).items() if k.endswith("_")
                                   or k in ("_mode", "_fitted_link")})

    monkeypatch.setattr(_core, "forward", forward_then_refit)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba",
                                    "decision_function"])
@pytest.mark.parametrize("cls", [SoftmaxRegression, LogisticRegression])
def test_a_refit_during_a_prediction_is_not_mixed_into_it(monkeypatch, cls, method):
    """A prediction reads the fitted model once: a refit (here to other classes)
    finishing meanwhile gives the old model's answer, never parts of both."""
    X10 = np.random.default_rng(3).normal(size=(60, 3))
    y10 = np.arange(60) % 10 + 100
    model = cls(alpha=0.1).fit(X, Y3 % 2 if cls is LogisticRegression else Y3)
    other = cls(alpha=0.1).fit(X10, y10)
    expected = getattr(model, method)(X)
    _refit_during_the_kernel(monkeypatch, model, other)
    got = getattr(model, method)(X)
    np.testing.assert_array_equal(got, expected)
    assert model.classes_[0] == 100  # the refit did land


class _InterruptedCurve(list):
    def __iter__(self):
        raise KeyboardInterrupt


def test_an_interrupt_as_fit_stores_its_result_leaves_the_old_model(monkeypatch):
    """fit replaces its attributes in one step: an interrupt while it builds
    them leaves the previous fit whole."""
    model = SoftmaxRegression(alpha=0.1).fit(X, Y3)
    before = fitted_state(model)
    real = SoftmaxRegression._run_solver

    def solver_whose_curve_is_interrupted(self, *args, **kwargs):
        n_iter, curve = real(self, *args, **kwargs)
        return n_iter, _InterruptedCurve(curve)

    monkeypatch.setattr(SoftmaxRegression, "_run_solver", solver_whose_curve_is_interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X * 2, (Y3 + 1) % 3)
    assert_same_state(before, model)


def test_fit_reads_a_private_copy_of_y(monkeypatch):
    """The kernels (and NumPy's index checks before them) see fit's own copy of
    the labels, not the caller's y, which another thread could be writing: labels
    changed between NumPy's check and its use had corrupted memory."""
    y = (np.arange(len(X)) % 3).astype(np.intp)  # 0..K-1 as intp: the case with no copy before
    seen = []
    real = _core.loss_grad

    def recording(X_, y_, *args):
        seen.append(y_)
        return real(X_, y_, *args)

    monkeypatch.setattr(_core, "loss_grad", recording)
    SoftmaxRegression(solver="gd", max_iter=2).fit(X, y)
    assert seen and not any(np.shares_memory(y, other) for other in seen if other is not None)


@pytest.mark.parametrize("solver, batch_size, max_iter", [("gd", 200, 20), ("sgd", 200, 20),
                                                          ("sgd", 8, 20), ("sgd", 8, 1)])
def test_a_rising_objective_warns(solver, batch_size, max_iter):
    """Too large a step that does not overflow (the log loss's gradient is
    bounded, so the weights grow only linearly) still says so, against the
    objective at the starting weights (log 2 at zero): with sgd's small batches
    the objective has risen within the first epoch, whose mean loss_curve_[0] is.
    A tenth of the labels is flipped: no step, however large, then classifies
    every row right (which would bring the objective down to 0)."""
    rng = np.random.default_rng(0)
    X2 = rng.normal(size=(200, 4))
    y2 = (X2[:, 0] + X2[:, 1] > 0).astype(int)
    y2[rng.choice(200, 20, replace=False)] ^= 1
    with pytest.warns(sigmax.ConvergenceWarning, match=r"the objective rose from 0\.6931 to .* "
                                                         r"learning_rate=10000000000\.0"):
        model = LogisticRegression(solver=solver, learning_rate=1e10, max_iter=max_iter,
                                   batch_size=batch_size).fit(X2, y2)
    assert model.loss_curve_[-1] > 1.1 * np.log(2)
    # a learning rate that suits the data: quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(solver=solver, learning_rate=0.5, max_iter=20).fit(X2, y2)


def test_a_rising_objective_after_a_warm_start_is_measured_from_its_start():
    """A warm start's starting objective is that of the previous fit's
    weights (a pass over X), not zero weights'."""
    X2 = np.random.default_rng(1).normal(size=(300, 5))
    y2 = (X2[:, 0] - X2[:, 2] > 0).astype(int)
    model = LogisticRegression(solver="sgd", warm_start=True, learning_rate=0.5, max_iter=30,
                               alpha=0.0, random_state=0).fit(X2, y2)
    start = sigmax.loss(X2, y2, model.coef_, model.intercept_, link="sigmoid")
    assert start < 0.5  # well below log 2, the objective at zero weights
    model.set_params(learning_rate=1e10, batch_size=8)
    with pytest.warns(sigmax.ConvergenceWarning,
                      match=rf"the objective rose from {start:.4g} to "):
        model.fit(X2, y2)


def test_sgd_divergence_is_reported_as_such():
    with pytest.raises(ValueError, match=r"training diverged \(the model overflowed in epoch \d+\):"
                                         r" learning_rate=1e\+300 is too large") as raised:
        SoftmaxRegression(solver="sgd", learning_rate=1e300, max_iter=3).fit(X * 1e10, Y3)
    assert "the weights diverged" in str(raised.value.__cause__)  # the kernel's own words


def test_the_rising_warning_starts_above_ten_percent():
    model = SoftmaxRegression(solver="gd")
    with pytest.warns(sigmax.ConvergenceWarning, match="rose from 1 to 1.12"):
        model._warn_rising(1.0, [0.9, 1.12])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model._warn_rising(1.0, [0.9, 1.09])
