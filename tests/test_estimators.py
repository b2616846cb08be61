"""LogisticRegression and SoftmaxRegression: the lectures' training rules,
label handling, fitted attributes and prediction methods."""
import io
import re
import sys
import subprocess
import warnings
import os
from pathlib import Path

import numpy as np
import pytest

from sigmax import LogisticRegression, NotFittedError, SoftmaxRegression
from sigmax._progress import EpochProgress

from marks import STOPS_EARLY

REPO = Path(__file__).resolve().parents[1]
TOYDATA = Path(os.environ.get("SIGMAX_LECTURE_DATA", REPO.parent / "shared" / "data" / "lectures")) \
    / "toydata.txt"


def blobs(n=120, m=3, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=6.0, size=(k, m))
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.normal(size=(n, m))
    return X.astype(dtype), y


def manual_sgd(X, y, k, lr, epochs, batch, link="softmax", alpha=0.0, sample_weight=None,
               fit_intercept=True):
    """The lectures' minibatch rule with numpy, rows in order.

    With sample weights s_i a batch of B rows steps along
    sum_i s_i grad l_i / (B mean(s)), mean(s) over all rows (an unbiased
    estimate of the gradient of the weighted mean loss), plus alpha W: the
    gradient of the batch's weighted mean loss times the batch's share of the
    weight over its share of the rows.  A batch whose weights are all zero
    steps by the penalty alone (W <- W - lr alpha W, b unchanged).  Without an
    intercept b stays 0."""
    from reference import loss_grad as ref_loss_grad

    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    W = np.zeros((k, X.shape[1]))
    b = np.zeros(k)
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch):
            sl = slice(start, start + batch)
            gW, gb = np.zeros_like(W), np.zeros(k)
            if s[sl].sum() > 0:
                _, gW, gb = ref_loss_grad(X[sl], y[sl], W, b, link=link, loss="log",
                                          sample_weight=s[sl])
                share = s[sl].sum() / (len(s[sl]) * s.mean())
                gW, gb = share * gW, share * gb
            gW = gW + alpha * W
            W = W - lr * gW
            if fit_intercept:
                b = b - lr * gb
    return W, b


@pytest.mark.parametrize("batch", [1, 7, 32])
def test_sgd_without_shuffle_is_the_lecture_rule(batch):
    X, y = blobs(n=50)
    model = SoftmaxRegression(solver="sgd", learning_rate=0.05, max_iter=3, batch_size=batch,
                              shuffle=False, alpha=0.01).fit(X, y)
    W, b = manual_sgd(X, y, 3, 0.05, 3, batch, alpha=0.01)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)


def uneven_weights(n, seed=1):
    """Weights spread over two orders of magnitude, a few of them zero."""
    w = np.random.default_rng(seed).uniform(0.05, 5.0, size=n)
    w[[2, 11, 12]] = 0.0
    return w


@pytest.mark.parametrize("scale", [1.0, 3e5])
@pytest.mark.parametrize("batch", [1, 7, 50])
def test_weighted_sgd_without_shuffle_is_the_weighted_rule(batch, scale):
    # 53 rows: the last batch is short for 7 and 50; with batch 1 the rows of
    # weight 0 are batches of weight 0.  The weights reach the kernels scaled
    # by a power of two (and here by 3e5 first): a weighted mean is the same.
    X, y = blobs(n=53)
    w = uneven_weights(53)
    model = SoftmaxRegression(solver="sgd", learning_rate=0.05, max_iter=3, batch_size=batch,
                              shuffle=False, alpha=0.02).fit(X, y, sample_weight=scale * w)
    W, b = manual_sgd(X, y, 3, 0.05, 3, batch, alpha=0.02, sample_weight=w)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)
    # the weights matter: the unweighted rule is elsewhere
    W1, _ = manual_sgd(X, y, 3, 0.05, 3, batch, alpha=0.02)
    assert np.abs(W1 - W).max() > 1e-3


def test_weighted_logistic_sgd_is_the_weighted_rule():
    X, yi = blobs(n=53, k=2)
    w = uneven_weights(53, seed=2)
    model = LogisticRegression(solver="sgd", learning_rate=0.1, max_iter=2, batch_size=7,
                               shuffle=False, alpha=0.05).fit(X, yi, sample_weight=w)
    W, b = manual_sgd(X, yi, 1, 0.1, 2, 7, link="sigmoid", alpha=0.05, sample_weight=w)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)


def test_a_batch_of_zero_weight_steps_by_the_penalty_alone():
    X, y = blobs(n=20)
    w = uneven_weights(20)
    w[10:15] = 0.0  # the third of four batches of 5
    lr, alpha = 0.1, 0.3
    model = SoftmaxRegression(solver="sgd", learning_rate=lr, max_iter=2, batch_size=5,
                              shuffle=False, alpha=alpha).fit(X, y, sample_weight=w)
    W, b = manual_sgd(X, y, 3, lr, 2, 5, alpha=alpha, sample_weight=w)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)
    # directly: a last batch of zero weight shrinks W by (1 - lr alpha) and leaves b.
    # The 5 rows of zero weight lower the mean weight by 15/20, so the data part
    # of the 3 batches before is 20/15 as large: the head's at learning rate
    # lr * 20/15 and penalty alpha * 15/20 (the same penalty step lr * alpha).
    w[15:] = 0.0
    head = SoftmaxRegression(solver="sgd", learning_rate=lr * 20 / 15, max_iter=1, batch_size=5,
                             shuffle=False, alpha=alpha * 15 / 20).fit(X[:15], y[:15],
                                                                       sample_weight=w[:15])
    full = SoftmaxRegression(solver="sgd", learning_rate=lr, max_iter=1, batch_size=5,
                             shuffle=False, alpha=alpha).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(full.coef_, (1 - lr * alpha) * head.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(full.intercept_, head.intercept_, rtol=1e-12, atol=1e-15)


def test_an_sgd_epoch_runs_on_chunks_of_the_data():
    """Given the whole data's mean weight, an epoch over two chunks (in order,
    batches not straddling them) is the epoch over all rows, to the bit."""
    from sigmax import _core

    X, y = blobs(n=40)
    w = np.r_[np.ones(20), np.full(20, 0.125)]
    mean_weight = float(w.mean())

    def epoch(rows, W, b):
        return _core.sgd_epoch(X[rows], y[rows], None, w[rows], W, b, 0, 0, 0.1, 0.01,
                               mean_weight, 5, False, True, 1, 0)

    W1, b1 = np.zeros((3, X.shape[1])), np.zeros(3)
    epoch(slice(0, 40), W1, b1)
    W2, b2 = np.zeros((3, X.shape[1])), np.zeros(3)
    epoch(slice(0, 20), W2, b2)
    epoch(slice(20, 40), W2, b2)
    assert np.array_equal(W1, W2) and np.array_equal(b1, b2)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="mean_weight finite and > 0"):
            _core.sgd_epoch(X, y, None, w, W1, b1, 0, 0, 0.1, 0.0, bad, 5, False, True, 1, 0)


@pytest.mark.parametrize("batch", [1, 8])
def test_weighted_sgd_reaches_the_weighted_optimum(batch):
    """Each step is an unbiased estimate of the weighted mean's gradient, so
    small batches too head for the weighted optimum (a batch normalized by its
    own weight would ignore the weights at batch_size 1)."""
    rng = np.random.default_rng(15)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + rng.normal(size=200) > 1.0).astype(int)  # about 20% positives
    w = np.where(y == 1, 10.0, 1.0)
    exact = LogisticRegression(alpha=1e-3).fit(X, y, sample_weight=w)
    plain = LogisticRegression(alpha=1e-3).fit(X, y)
    sgd = LogisticRegression(solver="sgd", batch_size=batch, learning_rate=0.02 * batch ** 0.5,
                             max_iter=200, random_state=0, alpha=1e-3).fit(X, y, sample_weight=w)
    gap = abs(plain.intercept_[0] - exact.intercept_[0])  # about 2.3
    assert abs(sgd.intercept_[0] - exact.intercept_[0]) < 0.05 * gap
    np.testing.assert_allclose(sgd.coef_, exact.coef_, atol=0.05 * gap)


@STOPS_EARLY  # lbfgs after 4 iterations
@pytest.mark.parametrize("solver", ["sgd", "gd", "lbfgs"])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_class_weight_is_the_per_row_sample_weight(solver, with_sample_weight):
    X, yi = blobs(n=53)
    labels = np.array(["a", "b", "c"])
    y = labels[yi]
    cw = {"a": 0.25, "b": 3.0, "c": 1.5}
    per_row = np.array([cw[c] for c in y])
    w = uneven_weights(53) if with_sample_weight else np.ones(53)
    params = dict(solver=solver, learning_rate=0.05, max_iter=4, batch_size=7, shuffle=False,
                  alpha=0.02, tol=1e-6)
    by_class = SoftmaxRegression(class_weight=cw, **params).fit(
        X, y, sample_weight=w if with_sample_weight else None)
    by_row = SoftmaxRegression(**params).fit(X, y, sample_weight=w * per_row)
    np.testing.assert_allclose(by_class.coef_, by_row.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(by_class.intercept_, by_row.intercept_, rtol=1e-12, atol=1e-14)
    # the class weights matter
    plain = SoftmaxRegression(**params).fit(X, y, sample_weight=w)
    assert np.abs(plain.coef_ - by_row.coef_).max() > 1e-3


def test_gd_is_full_batch_gradient_descent():
    X, y = blobs(n=40, k=2)
    model = LogisticRegression(solver="gd", learning_rate=0.3, max_iter=5).fit(X, y)
    W, b = manual_sgd(X, y, 1, 0.3, 5, batch=X.shape[0], link="sigmoid")
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)
    # loss_curve_[t] is the objective before step t; it starts at log 2 from zero weights
    assert model.loss_curve_[0] == pytest.approx(np.log(2), rel=1e-12)
    assert np.all(np.diff(model.loss_curve_) < 0)


@pytest.mark.parametrize("n, batch, n_jobs", [(37, 1, 1), (900, 300, 1), (900, 300, 2),
                                              (1920, 640, 2), (1920, 640, 3)])
def test_shuffled_sgd_visits_every_row_once_per_epoch(n, batch, n_jobs):
    # With lr tiny the epoch's update is (to first order) the sum of all batch
    # gradients (batches of equal size, so every row weighs the same); a
    # permutation that skipped or repeated rows would change it.  Batches of
    # 300 rows are cut into 2 parts, of 640 rows into 5; each thread fills in
    # the indices of the part it takes next, in this batch or the next, ahead.
    X, y = blobs(n=n)
    lr = 1e-7
    shuffled = SoftmaxRegression(solver="sgd", learning_rate=lr, max_iter=1, batch_size=batch,
                                 random_state=3, n_jobs=n_jobs).fit(X, y)
    ordered = SoftmaxRegression(solver="sgd", learning_rate=lr, max_iter=1, batch_size=batch,
                                shuffle=False).fit(X, y)
    np.testing.assert_allclose(shuffled.coef_, ordered.coef_, rtol=1e-5)


def test_random_state_makes_sgd_reproducible():
    X, y = blobs()
    a = SoftmaxRegression(solver="sgd", batch_size=8, max_iter=3, random_state=7).fit(X, y)
    b = SoftmaxRegression(solver="sgd", batch_size=8, max_iter=3, random_state=7).fit(X, y)
    c = SoftmaxRegression(solver="sgd", batch_size=8, max_iter=3, random_state=8).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def lecture_toy_split(X, y):
    rng = np.random.RandomState(123)
    idx = np.arange(y.shape[0])
    rng.shuffle(idx)
    test, train = idx[:25], idx[25:]
    mu, sd = X[train].mean(0), X[train].std(0)
    return (X[train] - mu) / sd, y[train], (X[test] - mu) / sd, y[test]


def test_lecture_toy_experiment_96_percent():
    if not TOYDATA.exists():
        pytest.fail(f"the lectures' toy data set is not at {TOYDATA}")
    data = np.genfromtxt(TOYDATA, delimiter="\t")
    X, y = data[:, :2].astype(np.float32), data[:, 2].astype(np.int64)
    Xtr, ytr, Xte, yte = lecture_toy_split(X, y)
    # the lecture steps 0.1 times the summed gradient, sigmax steps on the mean: 0.1 * 75
    model = LogisticRegression(solver="gd", learning_rate=0.1 * len(ytr), max_iter=30).fit(Xtr, ytr)
    assert model.score(Xte, yte) == pytest.approx(0.96)
    # the parameters the lecture prints after its 30 epochs
    np.testing.assert_allclose(model.coef_[0], [5.0453, 3.4349], atol=5e-5)
    np.testing.assert_allclose(model.intercept_, [-0.7931], atol=5e-5)


@STOPS_EARLY
@pytest.mark.parametrize("labels", [
    np.array([3, 7, 9]), np.array(["cat", "dog", "emu"]), np.array([-2.0, 0.0, 4.0]),
])
def test_any_labels(labels):
    X, yi = blobs()
    y = labels[yi]
    model = SoftmaxRegression(max_iter=20).fit(X, y)
    assert np.array_equal(model.classes_, np.sort(labels))
    pred = model.predict(X)
    assert pred.dtype == y.dtype and set(pred) <= set(labels)
    assert model.score(X, y) > 0.9


@STOPS_EARLY
def test_bool_labels_binary():
    X, yi = blobs(k=2)
    y = yi.astype(bool)
    model = LogisticRegression(max_iter=20).fit(X, y)
    assert model.classes_.tolist() == [False, True]
    assert model.coef_.shape == (1, 3)
    assert model.predict(X).dtype == bool
    assert model.score(X, y) > 0.9


def test_binary_probabilities():
    X, y = blobs(k=2)
    model = LogisticRegression(max_iter=30).fit(X, y)
    z = model.decision_function(X)
    assert z.shape == (X.shape[0],)
    np.testing.assert_allclose(z, X @ model.coef_[0] + model.intercept_[0], rtol=1e-12)
    P = model.predict_proba(X)
    np.testing.assert_allclose(P[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(P.sum(1), 1, atol=1e-12)
    # log P computed stably: log sigma(z) = -log(1 + e^-z)
    L = model.predict_log_proba(X)
    np.testing.assert_allclose(L[:, 1], -np.logaddexp(0, -z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(L[:, 0], -np.logaddexp(0, z), rtol=1e-12, atol=1e-15)
    large = P >= 0.5
    assert np.array_equal(L[large], np.log(P[large]))
    assert np.array_equal(model.predict(X), model.classes_[(z > 0).astype(int)])


def test_one_vs_rest_trains_independent_sigmoids():
    X, y = blobs(k=4)
    ovr = LogisticRegression(solver="gd", max_iter=20, learning_rate=0.5).fit(X, y)
    assert ovr.coef_.shape == (4, 3)
    for c in range(4):
        single = LogisticRegression(solver="gd", max_iter=20, learning_rate=0.5).fit(X, y == c)
        np.testing.assert_allclose(ovr.coef_[c], single.coef_[0], rtol=1e-10, atol=1e-12)
    P = ovr.predict_proba(X)
    S = 1 / (1 + np.exp(-ovr.decision_function(X)))
    np.testing.assert_allclose(P, S / S.sum(1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(np.exp(ovr.predict_log_proba(X)), P, rtol=1e-10)
    assert np.isfinite(ovr.predict_log_proba(X * 1e4)).all()
    assert np.array_equal(ovr.predict(X), np.argmax(P, axis=1))


def test_multilabel_indicator_targets():
    X, y = blobs(k=3)
    Y = np.stack([y == 0, y != 0, X[:, 0] > 0], axis=1).astype(int)
    model = LogisticRegression(solver="gd", max_iter=50, learning_rate=0.5).fit(X, Y)
    assert model.coef_.shape == (3, 3)
    P = model.predict_proba(X)
    np.testing.assert_allclose(P, 1 / (1 + np.exp(-model.decision_function(X))), rtol=1e-10)
    assert np.array_equal(model.predict(X), (P > 0.5).astype(int))
    assert model.score(X, Y) > 0.8


def test_multilabel_score_is_the_share_of_rows_with_every_label_right():
    X, y = blobs(k=3)
    Y = np.stack([y == 0, y != 0, X[:, 0] > 0], axis=1).astype(int)
    model = LogisticRegression(solver="gd", max_iter=50, learning_rate=0.5).fit(X, Y)
    hits = (model.predict(X) == Y).all(axis=1)
    assert 0 < hits.mean() < 1 and hits.mean() < (model.predict(X) == Y).mean()
    assert model.score(X, Y) == pytest.approx(np.mean(hits), rel=1e-15)
    w = np.random.default_rng(4).uniform(0.1, 4.0, size=len(y))
    assert model.score(X, Y, sample_weight=w) == pytest.approx(np.average(hits, weights=w),
                                                               rel=1e-12)


@STOPS_EARLY
def test_softmax_probabilities():
    X, y = blobs(k=5)
    model = SoftmaxRegression(max_iter=10).fit(X, y)
    Z = model.decision_function(X)
    # to rounding relative to the size of the terms (a logit near 0 can be a cancellation)
    scale = np.abs(X) @ np.abs(model.coef_.T) + np.abs(model.intercept_)
    np.testing.assert_array_less(np.abs(Z - (X @ model.coef_.T + model.intercept_)), 1e-12 * scale + 1e-300)
    P = model.predict_proba(X)
    E = np.exp(Z - Z.max(1, keepdims=True))
    np.testing.assert_allclose(P, E / E.sum(1, keepdims=True), rtol=1e-12)
    # log softmax = (z - max z) - log1p(sum of e over the other classes): log of a
    # sum near 1 would lose the relative precision of the log-probabilities near 0
    top = np.argmax(Z, axis=1)
    others = np.array([np.sum(np.delete(E[i], top[i])) for i in range(len(E))])[:, None]
    L = model.predict_log_proba(X)
    np.testing.assert_allclose(L, (Z - Z.max(1, keepdims=True)) - np.log1p(others),
                               rtol=1e-12, atol=1e-15)
    # the documented promise: log(predict_proba) exactly, wherever P is a normal float
    normal = P >= np.finfo(P.dtype).tiny
    assert normal.all()
    assert np.array_equal(L, np.log(P))


@pytest.mark.filterwarnings("ignore:.*L-BFGS reached max_iter")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_probabilities_where_probabilities_underflow(dtype, monkeypatch):
    # rows whose probabilities underflow take their logs from the logits, a chunk
    # of rows at a time (7 here, so that there are several chunks); the others'
    # logs are log(predict_proba) to the last bit
    import reference as ref
    import sigmax._estimators as est
    monkeypatch.setattr(est, "_LOG_ROWS_CHUNK", 7)
    X, y = blobs(k=4, dtype=dtype)
    Xe = X * dtype(300.0)
    Y = np.stack([y == 0, y != 1, X[:, 0] > 0], axis=1).astype(int)
    for model, labels, link in ((SoftmaxRegression(max_iter=20), y, "softmax"),
                                (LogisticRegression(max_iter=20), y, "ovr"),
                                (LogisticRegression(max_iter=20), Y, "sigmoid"),
                                (LogisticRegression(max_iter=20), y == 1, "binary")):
        model.fit(X, labels)
        P, L = model.predict_proba(Xe), model.predict_log_proba(Xe)
        assert L.dtype == dtype and np.isfinite(L).all(), link
        normal = P >= np.finfo(dtype).tiny
        assert (~normal).any(axis=1).sum() > 14, link  # rows of more than two chunks
        assert np.array_equal(L[normal], np.log(P[normal])), link
        Z = model.decision_function(Xe).astype(np.float64)
        want = {"softmax": ref.log_softmax(Z),
                "ovr": ref.log_softmax(ref.log_sigmoid(Z)),
                "sigmoid": ref.log_sigmoid(Z),
                "binary": ref.log_sigmoid(np.stack([-Z, Z], axis=1))}[link]
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(L[~normal], want[~normal], rtol=rtol, err_msg=link)


def test_float32_predict_takes_the_class_predict_proba_prefers():
    """Logits 1000 and 1000.000024 round to the same float32; the probabilities
    come from the double logits and prefer class 1, and so does predict."""
    X, y = blobs(k=2, dtype=np.float32)
    model = SoftmaxRegression().fit(X, y)
    model.coef_ = np.array([[0.0, 0.0, 0.0], [0.0, 2.4e-5, 0.0]], np.float32)
    model.intercept_ = np.array([1000.0, 1000.0], np.float32)
    row = np.array([[0.0, 1.0, 0.0]], np.float32)
    P = model.predict_proba(row)
    assert P[0, 1] > P[0, 0]
    assert model.predict(row)[0] == model.classes_[1]


def test_float32_binary_probabilities_come_from_double_logits():
    """LogisticRegression's two classes: [sigma(-z), sigma(z)] from the logit
    before it is rounded to float32, each rounded once (a float32 logit of 20
    would be off by 1e-6, sigma(-20) by as much relatively), also where the
    logit is beyond float32's range: probabilities 0 and 1, not an error.
    Three features, fewer than any instruction set's float32 lanes: the
    kernels sum such columns in double, so the logit is exact to double's
    rounding here (wider rows' vector lanes add in float32)."""
    import reference as ref

    rng = np.random.default_rng(3)
    X = rng.normal(scale=8.0, size=(400, 3)).astype(np.float32)
    model = LogisticRegression(alpha=1.0).fit(X, (X[:, 0] > 0).astype(int))
    model.coef_ = np.array([[1.0, 0.37, -0.71]], np.float32)
    model.intercept_ = np.array([0.29], np.float32)
    z = X.astype(np.float64) @ model.coef_[0].astype(np.float64) + float(model.intercept_[0])
    want = ref.sigmoid(np.stack([-z, z], axis=1)).astype(np.float32)
    P = model.predict_proba(X)
    assert P.dtype == np.float32
    ulps = np.abs(P.view(np.int32).astype(np.int64) - want.view(np.int32))
    assert ulps.max() <= 1, ulps.max()
    np.testing.assert_array_equal(model.predict(X), (z > 0).astype(int))
    far = np.array([[3e38, 0, 0], [-3e38, 0, 0]], np.float32)  # z = +/-3e38 * 1.0 ...
    far[:, 1] = far[:, 0]  # ... + 0.37 * 3e38: beyond float32's largest value
    np.testing.assert_array_equal(model.predict_proba(far), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(model.predict(far), [1, 0])


def test_float32_one_vs_rest_probabilities_come_from_double_logits():
    """LogisticRegression's one-vs-rest probabilities, like the other models',
    come from the logits before they are rounded to float32: -80 and
    -80 + 3e-6 round to the same float32, but their normalized sigmoids
    (about e^z each) differ by 3e-6 relatively, which float32 keeps; predict
    takes class 1, as predict_proba does."""
    X, y = blobs(k=3, dtype=np.float32)
    model = LogisticRegression().fit(X, y)
    model.coef_ = np.array([[0, 0, 0], [0, 3e-6, 0], [0, 0, 0]], np.float32)
    model.intercept_ = np.array([-80.0, -80.0, -90.0], np.float32)
    row = np.array([[0.0, 1.0, 0.0]], np.float32)
    Z = model.decision_function(row)
    assert Z[0, 0] == Z[0, 1]
    P = model.predict_proba(row)
    assert P[0, 1] > P[0, 0]
    np.testing.assert_allclose(P[0, 1] / P[0, 0], np.exp(np.float64(np.float32(3e-6))), rtol=1e-6)
    assert model.predict(row)[0] == model.classes_[1]


@pytest.mark.parametrize("k", [1, 2, 3, 10])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_is_the_largest_logit_first_of_ties(k, dtype):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(500, 6)).astype(dtype)
    X[:50] = 0  # these rows' logits are the intercepts: ties where they are equal
    y = rng.integers(0, max(k, 2), size=500)
    model = (LogisticRegression() if k == 1 else SoftmaxRegression()).fit(X, y)
    b = np.round(model.intercept_.astype(np.float64), 1)
    if k >= 3:
        b[1] = b[2] = b.max() + 1  # a tie at the maximum in the zero rows: the first wins
    model.intercept_ = b.astype(dtype)
    Z = X.astype(np.float64) @ model.coef_.astype(dtype).astype(np.float64).T + b.astype(dtype)
    want = (Z[:, 0] > 0).astype(int) if k == 1 else np.argmax(Z, axis=1)
    np.testing.assert_array_equal(model.predict(X), model.classes_[want])


def test_float32_log_probability_beyond_its_range_is_minus_infinity():
    """A log-probability below -FLT_MAX is -inf in float32 (log_softmax's
    answer too), not an error."""
    import sigmax

    X, y = blobs(k=2, dtype=np.float32)
    model = SoftmaxRegression().fit(X, y)
    model.coef_ = np.array([[2e38, 0, 0], [-2e38, 0, 0]], np.float32)
    model.intercept_ = np.zeros(2, np.float32)
    row = np.array([[1.0, 0.0, 0.0]], np.float32)
    L = model.predict_log_proba(row)
    np.testing.assert_array_equal(L, [[0.0, -np.inf]])
    np.testing.assert_array_equal(L, sigmax.log_softmax(np.array([[2e38, -2e38]], np.float32)))


def test_two_class_softmax_decision_function_is_the_logit_difference():
    X, yi = blobs(k=2)
    y = np.array(["no", "yes"])[yi]
    model = SoftmaxRegression(alpha=0.01).fit(X, y)
    # the fitted rows are opposite (W_1 = -W_0): also weights set by hand, which are not
    fitted = (model.coef_.copy(), model.intercept_.copy())
    by_hand = (np.array([[0.3, -1.2, 0.5], [-0.4, 0.7, 0.9]]), np.array([0.25, -0.6]))
    for W, b in (fitted, by_hand):
        model.coef_, model.intercept_ = W, b
        Z = X @ W.T + b
        d = model.decision_function(X)
        assert d.shape == (X.shape[0],)
        scale = np.abs(X) @ np.abs(W).sum(axis=0) + np.abs(b).sum()
        np.testing.assert_array_less(np.abs(d - (Z[:, 1] - Z[:, 0])), 1e-12 * scale)
        pred = model.predict(X)
        assert 0 < (pred == "yes").sum() < len(y)
        assert np.array_equal(d > 0, pred == model.classes_[1])


def test_mse_loss_uses_the_squared_error_gradient():
    X, y = blobs(k=2)
    model = LogisticRegression(solver="gd", loss="mse", max_iter=1, learning_rate=1.0).fit(X, y)
    # from zero weights a = 1/2, so dL/dz = 2 (a - y) a (1 - a) = (1/2)(1/2 - y)
    g = 0.5 * (0.5 - y)
    np.testing.assert_allclose(model.coef_[0], -(g @ X) / X.shape[0], rtol=1e-12)


def test_sample_weight_equals_repetition():
    X, y = blobs(n=30)
    w = np.arange(30) % 3
    weighted = SoftmaxRegression(solver="gd", max_iter=5).fit(X, y, sample_weight=w)
    repeated = SoftmaxRegression(solver="gd", max_iter=5).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10)


@pytest.mark.parametrize("estimator", [SoftmaxRegression, LogisticRegression])
def test_weighted_score_is_the_weighted_accuracy(estimator):
    X, y = blobs(n=90)
    model = estimator(alpha=0.01).fit(X, y)
    labels = y.copy()
    labels[::6] = (labels[::6] + 1) % 3  # every sixth label wrong: accuracy below 1
    pred = model.predict(X)
    wrong = pred != labels
    assert 0 < wrong.sum() < len(y)
    w = np.random.default_rng(5).uniform(0.1, 4.0, size=len(y))
    expected = np.average(pred == labels, weights=w)
    assert abs(expected - np.mean(pred == labels)) > 1e-3  # the weights matter
    assert model.score(X, labels, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    # no weight on the misclassified rows: every weighted row is right
    w[wrong] = 0.0
    assert model.score(X, labels, sample_weight=w) == 1.0


@pytest.mark.parametrize("solver, batch", [("gd", 40), ("sgd", 7)])
@pytest.mark.parametrize("estimator", [SoftmaxRegression, LogisticRegression])
def test_fit_intercept_false_is_the_rule_with_b_held_at_zero(estimator, solver, batch):
    softmax = estimator is SoftmaxRegression
    X, y = blobs(n=40, k=3 if softmax else 2)
    X = X + 2.0  # features not centred: b would move
    k, link = (3, "softmax") if softmax else (1, "sigmoid")
    lr, epochs, alpha = 0.1, 10, 0.05
    model = estimator(solver=solver, fit_intercept=False, learning_rate=lr, max_iter=epochs,
                      alpha=alpha, batch_size=batch, shuffle=False).fit(X, y)
    W, b = manual_sgd(X, y, k, lr, epochs, batch, link=link, alpha=alpha, fit_intercept=False)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    assert np.all(model.intercept_ == 0)
    # with the intercept the weights go elsewhere
    W1, _ = manual_sgd(X, y, k, lr, epochs, batch, link=link, alpha=alpha)
    assert np.abs(W1 - W).max() > 1e-3 * np.abs(W).max()


def test_fit_intercept_false_keeps_zero_bias():
    X, y = blobs()
    for solver in ("gd", "sgd"):
        model = SoftmaxRegression(solver=solver, fit_intercept=False, max_iter=3).fit(X, y)
        assert np.all(model.intercept_ == 0)


def test_warm_start_continues():
    X, y = blobs()
    once = SoftmaxRegression(solver="gd", max_iter=6).fit(X, y)
    twice = SoftmaxRegression(solver="gd", max_iter=3, warm_start=True).fit(X, y).fit(X, y)
    np.testing.assert_allclose(once.coef_, twice.coef_, rtol=1e-12)


@pytest.mark.parametrize("reshape", [np.transpose, np.ravel], ids=["transposed", "flat"])
def test_warm_start_refuses_coefficients_of_another_shape_and_the_same_size(reshape):
    X, y = blobs(m=2)
    model = SoftmaxRegression(solver="gd", max_iter=2, warm_start=True).fit(X, y)
    model.coef_ = reshape(model.coef_)  # 6 values, as (2, 3) or (6,) for (3, 2)
    with pytest.raises(ValueError, match=r"coef_ has shape .* needs \(3, 2\)"):
        model.fit(X, y)


@pytest.mark.parametrize("as_given", [np.asfortranarray, lambda a: a.tolist(),
                                      lambda a: np.repeat(a, 2, axis=-1)[..., ::2]],
                         ids=["fortran", "list", "strided"])
def test_coefficients_set_by_hand(as_given):
    X, y = blobs()
    model = SoftmaxRegression(solver="gd", max_iter=3).fit(X, y)
    W = np.arange(9.0).reshape(3, 3) / 10 - 0.4
    b = np.array([0.3, -0.2, 0.1])
    model.coef_, model.intercept_ = as_given(W), as_given(b)
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), P / P.sum(axis=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[Z.argmax(axis=1)])
    # a step of 1e-300 leaves the warm start's values where they were
    warm = SoftmaxRegression(solver="gd", max_iter=1, learning_rate=1e-300, warm_start=True)
    warm.coef_, warm.intercept_ = as_given(W), as_given(b)
    warm.fit(X, y)
    np.testing.assert_allclose(warm.coef_, W, rtol=1e-15, atol=1e-200)
    np.testing.assert_allclose(warm.intercept_, b, rtol=1e-15)


@STOPS_EARLY
def test_float32_in_float32_out():
    X, y = blobs(dtype=np.float32)
    model = SoftmaxRegression(max_iter=3).fit(X, y)
    assert model.coef_.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32


def test_params_protocol():
    model = SoftmaxRegression(learning_rate=0.5, max_iter=7)
    params = model.get_params()
    assert params["learning_rate"] == 0.5 and params["max_iter"] == 7
    assert model.set_params(alpha=0.1) is model and model.alpha == 0.1
    assert "learning_rate=0.5" in repr(model)
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(nope=1)
    clone = type(model)(**model.get_params())
    assert clone.get_params() == model.get_params()


def test_not_fitted_and_feature_count():
    model = SoftmaxRegression()
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((2, 3)))
    X, y = blobs()
    model.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((2, 4)))


@STOPS_EARLY
def test_failed_fit_leaves_the_model_unchanged():
    X, y = blobs()
    model = SoftmaxRegression(max_iter=3).fit(X, y)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}
    bad = X.copy()
    bad[-1, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        model.fit(bad, y)
    with pytest.raises(ValueError):
        model.fit(X[:, :2], np.zeros(len(X)))  # a single class
    after = vars(model)
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert np.array_equal(value, after[key]) if isinstance(value, np.ndarray) else value == after[key]


@STOPS_EARLY
def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = blobs()
    SoftmaxRegression(max_iter=4, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert err.count("iterations") == 4 and "4/4" in err
    SoftmaxRegression(solver="sgd", max_iter=3, verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert err.count("epochs") == 3 and "3/3" in err
    SoftmaxRegression(solver="sgd", max_iter=3).fit(X, y)
    assert capsys.readouterr().err == ""


def test_verbose_without_stderr_fits_silently(monkeypatch):
    """sys.stderr is None under pythonw and some services: nothing to write to."""
    X, y = blobs()
    quiet = SoftmaxRegression(solver="sgd", max_iter=3, random_state=0).fit(X, y)
    monkeypatch.setattr(sys, "stderr", None)
    loud = SoftmaxRegression(solver="sgd", max_iter=3, random_state=0, verbose=1).fit(X, y)
    assert np.array_equal(loud.coef_, quiet.coef_)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def on_screen(drawn: str) -> str:
    """What a terminal shows of the bar's last line: each '\\r' returns to column 0."""
    line = ""
    for chunk in drawn.split("\r"):
        chunk = chunk.rstrip("\n")
        line = chunk + line[len(chunk):]
    return line


def test_progress_bar_ends_its_line_when_the_fit_stops_early(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    stream = _Terminal()
    progress = EpochProgress(1000, "SoftmaxRegression", "iterations", stream=stream)
    for iteration in range(47):  # a fit that converges long before max_iter
        progress(iteration, 0.5)
    progress.close()
    lines = stream.getvalue().split("\r")
    assert lines[-1].startswith("SoftmaxRegression [#-----")
    assert lines[-1].endswith("\n") and lines[-1].count("\n") == 1 and "47/1000 iterations" in lines[-1]
    progress.close()  # a second close writes nothing
    assert stream.getvalue().count("\n") == 1


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_a_fits_warning_starts_on_a_line_of_its_own(solver, monkeypatch):
    """The solver's warning (printed to the same stderr) comes after the bar's
    line has ended, not glued to its end."""
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    rng = np.random.default_rng(0)
    X2 = rng.normal(size=(60, 3))
    y2 = (X2[:, 0] > 0).astype(int)
    y2[:6] ^= 1  # not separable: sgd's huge steps cannot bring the objective to 0
    model = (SoftmaxRegression(max_iter=2, verbose=1) if solver == "lbfgs" else
             SoftmaxRegression(solver="sgd", learning_rate=1e10, batch_size=4, max_iter=2,
                               verbose=1))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
            stream.write(f"WARNING {category.__name__}: {message}\n")
        model.fit(X2, y2)
    out = stream.getvalue()
    assert "WARNING ConvergenceWarning" in out
    assert "\nWARNING ConvergenceWarning" in out, out


@pytest.mark.parametrize("columns", [None, 80, 60, 40, 12])
@pytest.mark.parametrize("total, unit", [(25, "epochs"), (1000, "iterations")])
def test_progress_bar_fits_the_terminal_width(columns, total, unit, monkeypatch):
    """A line as wide as the terminal or wider wraps, and each redraw ('\\r'
    returns to the start of the wrapped part) then leaves a copy on screen."""
    if columns is None:  # no $COLUMNS, and the stream has no terminal to ask: 80
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    stream = _Terminal()
    progress = EpochProgress(total, "SoftmaxRegression", unit, stream=stream)
    for epoch, objective in [(0, 2.302585), (total // 2, 123.456789), (total - 1, 0.25)]:
        progress(epoch, objective)
    progress.close()
    for drawn in stream.getvalue().split("\r")[1:]:
        assert len(drawn.rstrip("\n")) <= (columns or 80) - 1, drawn
    last = on_screen(stream.getvalue())
    assert f"{total}/{total} {unit}" in last or (columns or 80) < 20
    if columns in (None, 80):  # room for a bar (shrunk) and the objective
        assert last.startswith("SoftmaxRegression [###") and "objective 0.25000" in last


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal of Linux")
def test_progress_bar_asks_its_own_terminal_for_the_width(monkeypatch):
    import fcntl
    import pty
    import select
    import struct
    import termios

    monkeypatch.delenv("COLUMNS", raising=False)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    with open(terminal, "w", closefd=True) as stream:
        progress = EpochProgress(25, "SoftmaxRegression", stream=stream)
        progress(24, 0.25)
        progress.close()
    drawn = ""
    while not drawn.endswith("\r\n"):  # the bar and close()'s newline: two writes
        ready, _, _ = select.select([controller], [], [], 10.0)
        if not ready:
            break
        drawn += os.read(controller, 4096).decode()
    os.close(controller)
    assert drawn.startswith("\r") and drawn.endswith("\r\n")  # the terminal's \n is \r\n
    assert 0 < len(drawn.strip("\r\n")) <= 49 and "25/25 epochs" in drawn


def test_progress_bar_blanks_the_rest_of_a_longer_line():
    stream = _Terminal()
    progress = EpochProgress(3, "SoftmaxRegression", stream=stream, width=10)
    for epoch, objective in enumerate([2.30259, 123.45678, 1.23456]):
        progress(epoch, objective)
    progress.close()
    assert re.fullmatch(r"SoftmaxRegression \[#{10}\] 3/3 epochs  objective 1\.23456  "
                        r"\d+\.\d{3} s/epoch", on_screen(stream.getvalue()).rstrip())


class _FullDisk(io.TextIOBase):
    """A stream whose writes fail, as on a full disk or a pipe its reader closed."""

    def __init__(self, terminal: bool, error: BaseException):
        self.terminal, self.error, self.writes = terminal, error, 0

    def isatty(self) -> bool:
        return self.terminal

    def write(self, text: str) -> int:
        self.writes += 1
        raise self.error


def _closed_stream():
    stream = io.StringIO()
    stream.close()
    return stream


@STOPS_EARLY
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
@pytest.mark.parametrize("stream", [
    lambda: _FullDisk(False, OSError(28, "No space left on device")),
    lambda: _FullDisk(True, BrokenPipeError(32, "Broken pipe")),
    _closed_stream,
], ids=["full-disk", "broken-pipe-terminal", "closed"])
def test_verbose_fit_outlives_a_stream_it_cannot_write(solver, stream, monkeypatch):
    """Progress is a diagnostic: a stream that refuses a write ends the display
    (no further writes), and the fit goes on to the same model as a quiet one."""
    X, y = blobs()
    quiet = SoftmaxRegression(solver=solver, max_iter=5, random_state=0).fit(X, y)
    stderr = stream()
    monkeypatch.setattr(sys, "stderr", stderr)
    loud = SoftmaxRegression(solver=solver, max_iter=5, random_state=0, verbose=1).fit(X, y)
    assert np.array_equal(loud.coef_, quiet.coef_) and loud.n_iter_ == quiet.n_iter_
    assert getattr(stderr, "writes", 1) == 1


def test_keyboard_interrupt_in_a_progress_write_still_stops_the_fit(monkeypatch):
    X, y = blobs()
    monkeypatch.setattr(sys, "stderr", _FullDisk(False, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        SoftmaxRegression(solver="sgd", max_iter=5, verbose=1).fit(X, y)


def test_sgd_reshuffles_every_epoch(monkeypatch):
    """Each epoch draws its own row order from random_state (a new seed per
    epoch): two epochs differ from the first epoch's order run twice."""
    from sigmax import _core

    X, y = blobs()
    seeds = []
    real = _core.sgd_epoch

    def recording(*args):
        seeds.append(args[-1])
        return real(*args)

    monkeypatch.setattr(_core, "sgd_epoch", recording)
    SoftmaxRegression(solver="sgd", batch_size=8, max_iter=5, random_state=0).fit(X, y)
    assert len(set(seeds)) == 5
    monkeypatch.undo()
    kw = dict(solver="sgd", batch_size=1, learning_rate=0.5, random_state=0)
    two = SoftmaxRegression(max_iter=2, **kw).fit(X, y)
    # one epoch, then a warm start from a fresh generator: the first order twice
    again = SoftmaxRegression(max_iter=1, warm_start=True, **kw).fit(X, y).fit(X, y)
    assert np.abs(two.coef_ - again.coef_).max() > 1e-6


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_default_max_iter_is_100_epochs(solver):
    X, y = blobs()
    model = SoftmaxRegression(solver=solver, learning_rate=0.01).fit(X, y)
    assert model.n_iter_ == 100 and len(model.loss_curve_) == 100


def test_n_jobs_counts_cores_like_joblib():
    from sigmax._api import _threads

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert _threads(None) == 1 and _threads(1) == 1
    assert _threads(-1) == cores and _threads(-2) == max(1, cores - 1)
    assert _threads(cores + 5) == cores


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs an affinity mask of two CPUs or more to narrow")
def test_n_jobs_counts_only_the_cores_the_process_may_use():
    """Under taskset (or a container's cpuset) -1 means the CPUs this process
    may run on, not the machine's: more threads would only take turns."""
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "from sigmax._api import _threads\n"
        "print(_threads(-1), _threads(-2), _threads(4))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1"]


def test_sgd_loss_curve_includes_the_penalty():
    """loss_curve_ is the objective, (alpha / 2) ||W||^2 included: with steps
    too small to move W, one full batch's value is the objective at W."""
    import reference as ref

    X, y = blobs()
    alpha = 0.5
    W0 = np.full((3, 3), 2.0)
    model = SoftmaxRegression(solver="sgd", shuffle=False, batch_size=len(y), max_iter=1,
                              learning_rate=1e-12, alpha=alpha, warm_start=True)
    model.coef_, model.intercept_, model.classes_ = W0.copy(), np.zeros(3), np.arange(3)
    model.fit(X, y)
    assert model.loss_curve_[0] == pytest.approx(ref.loss(X, y, W0, np.zeros(3), alpha=alpha),
                                                 rel=1e-9)


def test_lbfgs_tol_is_relative_to_the_initial_gradient():
    """L-BFGS stops at the first iterate whose gradient norm is at most
    tol * max(1, initial norm); here the initial norm is far above 1."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)) * 50.0
    y = (X[:, 0] + X[:, 1] + 20 * rng.normal(size=300) > 0).astype(int)

    def gnorm(W, b):
        import sigmax

        _, gW, gb = sigmax.loss_grad(X, y, W, b, link="sigmoid", alpha=1e-3)
        return np.sqrt((gW ** 2).sum() + (gb ** 2).sum())

    g0, tol = gnorm(np.zeros((1, 4)), np.zeros(1)), 1e-3
    assert g0 > 10
    model = LogisticRegression(alpha=1e-3, tol=tol).fit(X, y)
    assert gnorm(model.coef_, model.intercept_) <= tol * g0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = LogisticRegression(alpha=1e-3, tol=tol, max_iter=model.n_iter_ - 1).fit(X, y)
    assert gnorm(before.coef_, before.intercept_) > tol * g0


def test_softmax_mse_estimator_takes_the_gradient_step():
    import reference as ref

    X, y = blobs()
    model = SoftmaxRegression(solver="gd", loss="mse", learning_rate=0.5, max_iter=1).fit(X, y)
    _, gW, gb = ref.loss_grad(X, y, np.zeros((3, 3)), np.zeros(3), loss="mse")
    np.testing.assert_allclose(model.coef_, -0.5 * gW, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.intercept_, -0.5 * gb, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("form", ["softmax", "binary", "ovr", "soft", "multilabel"])
@pytest.mark.parametrize("loss", ["log", "mse"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("b_scale", [0.0, 1.5])
def test_starting_objective_at_zero_weights_needs_no_pass_over_x(form, loss, weighted, b_scale):
    """sgd's starting objective at W = 0, from one row per class (or a zero
    column), is the objective a full pass over X gives."""
    from sigmax import _core
    from sigmax._solvers import Problem, objective
    from sigmax._validation import LINKS, LOSSES

    rng = np.random.default_rng(7)
    n, m = 300, 5
    X = rng.normal(size=(n, m))
    k = {"softmax": 4, "binary": 1, "ovr": 4, "soft": 4, "multilabel": 3}[form]
    link = LINKS["softmax" if form in ("softmax", "soft") else "sigmoid"]
    y, Y = None, None
    if form == "soft":
        Y = rng.dirichlet(np.ones(k), size=n) * rng.uniform(0.5, 1.5, size=(n, 1))
    elif form == "multilabel":
        Y = rng.integers(0, 2, size=(n, k)).astype(np.float64)
    else:
        y = rng.integers(0, 2 if k == 1 else k - 1, size=n).astype(np.intp)  # a class unseen
    sw = rng.uniform(0, 3, size=n) * (rng.uniform(size=n) > 0.2) if weighted else None
    problem = Problem(X, y, Y, sw, link, LOSSES[loss], 0.3, 1)
    W, b = np.zeros((k, m)), b_scale * rng.normal(size=k)
    full = _core.loss_grad(X, y, Y, sw, W, b, link, LOSSES[loss], 0.3, None, None, 1)
    assert objective(problem, W, b) == pytest.approx(full, rel=1e-13)
