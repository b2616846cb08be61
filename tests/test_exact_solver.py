"""The default solver (L-BFGS in C) reaches the regularized optimum: the same
one scikit-learn's lbfgs finds, by objective and by probabilities."""
import warnings

import numpy as np
import pytest
# scikit-learn is one of the test extras: without it this module fails, not skips
import sklearn
from sklearn import datasets
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

import reference
import sigmax
from sigmax import ConvergenceWarning, LogisticRegression, SoftmaxRegression


def standardized(loader):
    X, y = loader(return_X_y=True)
    sd = X.std(0)
    sd[sd == 0] = 1
    return (X - X.mean(0)) / sd, y


DATA = {
    "breast_cancer": datasets.load_breast_cancer,  # binary
    "iris": datasets.load_iris,                    # 3 classes
    "wine": datasets.load_wine,                    # 3 classes
    "digits": datasets.load_digits,                # 10 classes
}


def sklearn_fit(X, y, sample_weight=None, **params):
    """scikit-learn's LogisticRegression fitted with one BLAS thread: on a few
    busy cores its threads mostly wait for each other (on digits, seconds
    instead of a tenth of one)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return SkLogisticRegression(**params).fit(X, y, sample_weight=sample_weight)


def converged_fit(X, y, alpha, sample_weight=None, **params):
    """sigmax's model of y (LogisticRegression for two classes) fitted with
    the default tol, which must converge: a ConvergenceWarning fails."""
    cls = LogisticRegression if len(np.unique(y)) == 2 else SoftmaxRegression
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return cls(alpha=alpha, **params).fit(X, y, sample_weight=sample_weight)


def link_of(model):
    return "sigmoid" if model.coef_.shape[0] == 1 else "softmax"


def sigmax_objective(model, X, y, sw, alpha):
    link = link_of(model)
    y_idx = np.searchsorted(model.classes_, y)
    return sigmax.loss(X, y_idx, model.coef_, model.intercept_, link=link,
                       sample_weight=sw, alpha=alpha)


# C = 100 is a weak penalty: there the default tol has to be tight to be within 1e-7
CASES = [(name, C, weighted) for name in ("breast_cancer", "iris", "wine")
         for C in (0.1, 1.0, 100.0) for weighted in (False, True)]
CASES += [("digits", 1.0, False), ("digits", 0.1, True)]  # the slowest cases for scikit-learn


@pytest.mark.parametrize("name, C, weighted", CASES)
def test_same_optimum_as_scikit_learn(name, C, weighted):
    X, y = standardized(DATA[name])
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.2, 3.0, size=len(y)) if weighted else None
    total = len(y) if sw is None else sw.sum()
    alpha = 1.0 / (C * total)
    ours = converged_fit(X, y, alpha, sample_weight=sw)
    ref = sklearn_fit(X, y, sample_weight=sw, C=C, tol=1e-12, max_iter=100000)
    f_ours = sigmax_objective(ours, X, y, sw, alpha)
    f_ref = sigmax_objective(ref, X, y, sw, alpha)
    assert f_ours <= f_ref + 1e-7 * abs(f_ref), (f_ours, f_ref)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=5e-4)


F32_CASES = [("wine", 1.0), ("wine", 100.0), ("breast_cancer", 1.0), ("digits", 0.1)]


@pytest.mark.parametrize("name, C", F32_CASES)
def test_float32_reaches_the_optimum_of_the_rounded_data(name, C):
    """Trained in float32, the model is at the optimum of the float32 data:
    its objective (the NumPy reference's, in float64 on X rounded to
    float32) is within 1e-6 of scikit-learn's optimum on that same X."""
    X, y = standardized(DATA[name])
    X32 = X.astype(np.float32)
    X_rounded = X32.astype(np.float64)
    alpha = 1.0 / (C * len(y))
    ours = converged_fit(X32, y, alpha)
    assert ours.coef_.dtype == np.float32
    ref = sklearn_fit(X_rounded, y, C=C, tol=1e-10, max_iter=100000)
    link = link_of(ours)
    f_ours = reference.loss(X_rounded, y, ours.coef_, ours.intercept_, link=link, alpha=alpha)
    f_ref = reference.loss(X_rounded, y, ref.coef_, ref.intercept_, link=link, alpha=alpha)
    assert abs(f_ours - f_ref) <= 1e-6 * f_ref, (f_ours, f_ref)
    np.testing.assert_allclose(ours.predict_proba(X32), ref.predict_proba(X_rounded), atol=1e-3)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])  # multinomial, binary
@pytest.mark.parametrize("C", [0.1, 1.0])
def test_without_intercept_same_optimum_as_scikit_learn(name, C):
    X, y = standardized(DATA[name])
    X = X + 0.5  # features not centred: an intercept would change the weights
    alpha = 1.0 / (C * len(y))
    ours = converged_fit(X, y, alpha, fit_intercept=False)
    ref = sklearn_fit(X, y, C=C, fit_intercept=False, tol=1e-12, max_iter=100000)
    assert np.all(ours.intercept_ == 0)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-5)
    link = link_of(ours)
    zero = np.zeros(ours.coef_.shape[0])
    f_ours = reference.loss(X, y, ours.coef_, zero, link=link, alpha=alpha)
    f_ref = reference.loss(X, y, ref.coef_, zero, link=link, alpha=alpha)
    assert f_ours <= f_ref + 1e-9 * f_ref, (f_ours, f_ref)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_two_class_softmax_takes_twice_the_binary_alpha(C):
    """SoftmaxRegression on two classes has two rows of weights, -w/2 and w/2
    at the optimum, whose penalty is half that of scikit-learn's one vector w:
    its alpha for scikit-learn's C is 2 / (C * n), as the docs say."""
    X, y = standardized(DATA["breast_cancer"])
    ref = sklearn_fit(X, y, C=C, tol=1e-12, max_iter=100000)
    ours = SoftmaxRegression(alpha=2.0 / (C * len(y))).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.coef_[1] - ours.coef_[0], ref.coef_[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_one_vs_rest_takes_the_binary_alpha_per_class(C):
    """LogisticRegression on three classes is one-vs-rest: each sigmoid is
    scikit-learn's binary model of its class at alpha = 1 / (C * n), as the
    docs say, and the probabilities are OneVsRestClassifier's."""
    from sklearn.multiclass import OneVsRestClassifier

    X, y = standardized(DATA["wine"])
    with threadpool_limits(limits=1, user_api="blas"):
        ref = OneVsRestClassifier(SkLogisticRegression(C=C, tol=1e-12, max_iter=100000)).fit(X, y)
    ours = LogisticRegression(alpha=1.0 / (C * len(y))).fit(X, y)
    for k, binary in enumerate(ref.estimators_):
        np.testing.assert_allclose(ours.coef_[k], binary.coef_[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours.intercept_[k], binary.intercept_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tol_zero_runs_lbfgs_until_its_line_search_stalls(dtype):
    """tol=0 (scikit-learn takes it too) asks for no gradient target: lbfgs
    goes on until the line search finds no decrease, quietly at the optimum,
    at or below the objective the default tol reaches."""
    X, y = standardized(DATA["wine"])
    X = X.astype(dtype)
    alpha = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exact = SoftmaxRegression(alpha=alpha, tol=0).fit(X, y)
    default = SoftmaxRegression(alpha=alpha).fit(X, y)
    assert exact.n_iter_ >= default.n_iter_
    f_exact, f_default = (sigmax_objective(model, X, y, None, alpha) for model in (exact, default))
    assert f_exact <= f_default * (1 + 10 * np.finfo(dtype).eps), (f_exact, f_default)


def test_default_tol_converges_without_warning():
    X, y = standardized(datasets.load_wine)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SoftmaxRegression(alpha=1e-2).fit(X, y)
    assert 0 < model.n_iter_ < 1000
    assert len(model.loss_curve_) == model.n_iter_
    assert np.all(np.diff(model.loss_curve_) <= 1e-15)


def test_max_iter_warns_and_keeps_the_iterate():
    X, y = standardized(datasets.load_digits)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = SoftmaxRegression(alpha=1e-4, max_iter=3).fit(X, y)
    assert model.n_iter_ == 3
    assert model.score(X, y) > 0.5


def test_separable_without_penalty_terminates_and_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="separable"):
        model = LogisticRegression(alpha=0.0).fit(X, y)
    assert np.isfinite(model.coef_).all()
    assert model.score(X, y) == 1.0
    # with a penalty the optimum exists and no warning is given
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LogisticRegression(alpha=1e-3).fit(X, y)


@pytest.mark.parametrize("weights", [(1e308, 1e308), (1e300, 1e-20), (1.0, 1e-310)])
def test_balanced_class_weight_does_not_see_the_weights_scale(weights):
    """Weights equal within each class, at any scale, leave a balanced fit as it is."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + rng.normal(size=40) > 0.8).astype(int)
    ref = LogisticRegression(alpha=0.01, class_weight="balanced").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way either
        model = LogisticRegression(alpha=0.01, class_weight="balanced").fit(
            X, y, sample_weight=np.where(y == 0, *weights))
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-9)


def test_class_weights_of_any_scale_give_the_same_fit():
    """Class weights enter the objective, a weighted mean, up to a common factor:
    {0: 1, 1: 3} and the same times 2^-1050 (subnormal numbers, exact) make the
    same fit, bit for bit, beside sample weights of full precision."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + rng.normal(size=60) > 0.3).astype(int)
    sw = rng.uniform(0.5, 1.0, 60)
    ref = LogisticRegression(alpha=0.01, class_weight={0: 1.0, 1: 3.0}).fit(X, y, sample_weight=sw)
    tiny = LogisticRegression(alpha=0.01, class_weight={0: 2.0**-1050, 1: 3 * 2.0**-1050})
    tiny.fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(tiny.coef_, ref.coef_)
    np.testing.assert_array_equal(tiny.intercept_, ref.intercept_)


def test_separable_multilabel_without_penalty_warns():
    """Multi-label targets are 0/1, each label a binary cross-entropy: the same
    bound tells a separable fit, as for one label."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.c_[X[:, 0] + X[:, 1] > 0, X[:, 2] > 0].astype(int)
    with pytest.warns(ConvergenceWarning, match="separable"):
        model = LogisticRegression(alpha=0.0).fit(X, Y)
    assert (model.predict(X) == Y).all()
    # one label not separable: an optimum exists, no warning
    Y[:10, 1] = 1 - Y[:10, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LogisticRegression(alpha=0.0).fit(X, Y)


def test_a_step_that_cannot_move_the_weights_stops_the_solver():
    # separable, unpenalized, and a tol no double can reach: the steps shrink
    # until x + a d rounds to x; the solver stops there instead of taking that
    # same step again up to max_iter
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(50, 2)) + 5, rng.normal(size=(50, 2)) - 5]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    with pytest.warns(ConvergenceWarning, match="separable"):
        model = LogisticRegression(tol=1e-300, max_iter=100_000).fit(X, y)
    assert model.n_iter_ < 5_000
    assert np.all(np.diff(model.loss_curve_) <= 0)
    # an h0 that rounds every direction to zero: no descent direction at all
    from sigmax import _core
    Xp = rng.normal(size=(30, 3))
    yp = (np.arange(30) % 3).astype(np.intp)
    n_iter, _, objective, _, _, stop = _core.lbfgs(
        Xp, yp, None, None, np.zeros((3, 3)), np.zeros(3), 0, 0, 0.01, True, 1e-10, 200, 5, 1,
        None, np.eye(4) * 5e-324)
    assert (n_iter, stop) == (0, 2)  # stop 2: "no_progress"
    assert objective == pytest.approx(np.log(3))


@pytest.mark.parametrize("scale, fit_intercept", [(0.01, False), (1.0, True), (30.0, False)])
def test_lbfgs_first_step_meets_the_strong_wolfe_conditions(scale, fit_intercept):
    """The first iteration without a preconditioner steps along d = -g from
    zero; the step length a it accepts must satisfy, by the NumPy oracle's
    objective and gradient, sufficient decrease f(a) <= f(0) + 1e-4 a g.d and
    the strong curvature condition |g(a).d| <= 0.9 |g(0).d|.  Features of scale
    0.01 (no intercept) put the minimum along d far beyond the first trial
    step, of length 1 (the search must go on past it), 30 before it."""
    from reference import loss_grad as ref_loss_grad
    from sigmax._solvers import Problem, lbfgs

    rng = np.random.default_rng(11)
    n, m, k = 200, 4, 3
    X = rng.standard_normal((n, m)) * scale
    y = np.argmax(X @ rng.standard_normal((m, k)) / scale + rng.gumbel(size=(n, k)), axis=1)
    W, b = np.zeros((k, m)), np.zeros(k)
    problem = Problem(X, y.astype(np.intp), None, None, 0, 0, 1e-3, 1)
    n_iter = lbfgs(problem, W, b, tol=0.0, max_iter=1, fit_intercept=fit_intercept,
                   on_epoch=lambda i, v: None, precondition=None)[0]
    assert n_iter == 1
    f0, gW0, gb0 = ref_loss_grad(X, y, np.zeros((k, m)), np.zeros(k), alpha=1e-3)
    f1, gW1, gb1 = ref_loss_grad(X, y, W, b, alpha=1e-3)
    if not fit_intercept:  # b is not a variable: it stays 0
        assert np.all(b == 0)
        gb0, gb1 = gb0 * 0, gb1 * 0
    d = -np.concatenate([gW0.ravel(), gb0])
    step = np.concatenate([W.ravel(), b])
    a = step @ d / (d @ d)
    np.testing.assert_allclose(step, a * d, rtol=1e-12, atol=1e-15)  # along -g
    slope0, slope1 = -(d @ d), np.concatenate([gW1.ravel(), gb1]) @ d
    assert a > 0
    assert f1 <= f0 + 1e-4 * a * slope0
    assert abs(slope1) <= 0.9 * abs(slope0)


def test_n_jobs_does_not_change_the_result():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 20))
    y = rng.integers(0, 4, size=20000)
    fits = [SoftmaxRegression(alpha=1e-3, n_jobs=j).fit(X, y) for j in (1, 2, -1)]
    for other in fits[1:]:
        assert np.array_equal(fits[0].coef_, other.coef_)
    L = [sigmax.loss_grad(X, y, fits[0].coef_, fits[0].intercept_, n_jobs=j) for j in (1, 2)]
    assert L[0][0] == L[1][0] and np.array_equal(L[0][1], L[1][1])


def test_class_weight_matches_scikit_learn():
    X, y = standardized(datasets.load_wine)
    for cw in ("balanced", {0: 2.0, 1: 0.5, 2: 1.0}):
        ref = sklearn_fit(X, y, C=1.0, tol=1e-12, max_iter=100000, class_weight=cw)
        per_class = (len(y) / (3 * np.bincount(y))) if cw == "balanced" else np.array([2.0, 0.5, 1.0])
        alpha = 1.0 / per_class[y].sum()
        ours = SoftmaxRegression(alpha=alpha, tol=1e-10, class_weight=cw).fit(X, y)
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=5e-4)


def test_balanced_class_weight_with_sample_weight_matches_scikit_learn():
    """"balanced" counts each class's weight, not its rows, as scikit-learn
    does from 1.7 on; with an older scikit-learn (which counts rows) the
    reference is given those class weights, s / (K s_c), explicitly."""
    X, y = standardized(datasets.load_wine)
    sw = np.random.default_rng(3).uniform(0.2, 5.0, size=len(y)) * np.array([1.0, 4.0, 0.5])[y]
    s_c = np.bincount(y, weights=sw)
    balanced = sw.sum() / (3 * s_c)
    sklearn_version = tuple(int(part) for part in sklearn.__version__.split(".")[:2])
    ref = sklearn_fit(X, y, sample_weight=sw, C=1.0, tol=1e-12, max_iter=100000,
                      class_weight="balanced" if sklearn_version >= (1, 7)
                      else dict(enumerate(balanced)))
    alpha = 1.0 / (sw * balanced[y]).sum()
    ours = SoftmaxRegression(alpha=alpha, tol=1e-10, class_weight="balanced").fit(X, y,
                                                                                 sample_weight=sw)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=5e-4)


def test_balanced_row_of_weight_three_is_that_row_three_times():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + rng.normal(size=40) > 0.8).astype(int)
    w = np.where(y == 1, 3.0, 1.0)
    tripled = np.r_[np.arange(40), np.flatnonzero(y == 1), np.flatnonzero(y == 1)]
    weighted = LogisticRegression(alpha=0.01, class_weight="balanced").fit(X, y, sample_weight=w)
    repeated = LogisticRegression(alpha=0.01, class_weight="balanced").fit(X[tripled], y[tripled])
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-7)
    # a class whose rows all weigh 0 takes no part, and the other classes are balanced alone
    y3 = np.r_[y, 2, 2]
    X3 = np.vstack([X, rng.normal(size=(2, 2))])
    w3 = np.r_[w, 0.0, 0.0]
    with_empty = SoftmaxRegression(alpha=0.01, class_weight="balanced").fit(X3, y3, sample_weight=w3)
    assert np.isfinite(with_empty.coef_).all()


def test_warm_start_from_the_optimum_stays():
    X, y = standardized(datasets.load_iris)
    model = SoftmaxRegression(alpha=1e-2, tol=1e-8, warm_start=True).fit(X, y)
    coef = model.coef_.copy()
    model.fit(X, y)
    assert model.n_iter_ <= 2
    np.testing.assert_allclose(model.coef_, coef, atol=1e-6)


def test_lbfgs_history_grows_with_X_within_its_bounds():
    from sigmax._solvers import LBFGS_MAX_PAIRS, LBFGS_MIN_PAIRS, LBFGS_STATE_SHARE, lbfgs_memory

    dim = 10 * 784 + 10
    x_nbytes = 60000 * 784 * 4                                     # MNIST float32
    assert lbfgs_memory(1000, dim) == LBFGS_MIN_PAIRS              # small X: the floor
    assert lbfgs_memory(4 * 60000 * 784 * 8, dim) == LBFGS_MAX_PAIRS  # big X: the cap
    pairs = lbfgs_memory(x_nbytes, dim)                            # a share of X
    assert LBFGS_MIN_PAIRS < pairs < LBFGS_MAX_PAIRS
    assert pairs * 2 * 8 * dim <= LBFGS_STATE_SHARE * x_nbytes < (pairs + 1) * 2 * 8 * dim
    # a preconditioner takes its bytes out of the same share
    reserved = 785 * 785 * 8
    fewer = lbfgs_memory(x_nbytes, dim, reserved)
    assert fewer == max(LBFGS_MIN_PAIRS, int(LBFGS_STATE_SHARE * x_nbytes - reserved) // (16 * dim))
    assert fewer < pairs
    assert LBFGS_STATE_SHARE <= 0.03  # with the rest of fit's scratch, under 5% of X


def test_a_longer_history_reaches_the_same_optimum():
    """The history length changes the path, not the minimizer."""
    from sigmax import _solvers

    X, y = datasets.load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-12)
    fits = []
    for memory in (10, 100):
        model = SoftmaxRegression(alpha=1e-3, tol=1e-10, max_iter=5000)
        original = _solvers.lbfgs
        try:
            import sigmax._estimators as est
            est.lbfgs = lambda *a, **kw: original(*a, **kw, memory=memory)
            fits.append(model.fit(X, y))
        finally:
            est.lbfgs = original
    np.testing.assert_allclose(fits[0].predict_proba(X), fits[1].predict_proba(X), atol=1e-6)
    assert fits[1].n_iter_ < fits[0].n_iter_


@pytest.mark.parametrize("link, k, weighted", [("softmax", 3, False), ("softmax", 4, True),
                                               ("sigmoid", 1, True)])
def test_jacobi_h0_is_the_inverse_hessian_diagonal_at_zero(link, k, weighted):
    """L-BFGS's initial inverse Hessian is 1 / diag(Hessian) at W = 0, b = 0,
    checked against central differences of the NumPy oracle's gradient."""
    from reference import loss_grad as ref_loss_grad
    from sigmax._solvers import Problem, _second_moments, jacobi_h0
    from sigmax._validation import LINKS

    rng = np.random.default_rng(3)
    n, m, alpha = 40, 5, 0.05
    X = rng.standard_normal((n, m)) * np.array([0.01, 0.1, 1.0, 10.0, 0.0])  # one zero column
    y = rng.integers(0, max(k, 2), n)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    problem = Problem(X, y.astype(np.intp), None, sw, LINKS[link], 0, alpha, 1)
    h0 = jacobi_h0(problem, k, _second_moments(problem))

    def grad(x):
        W, b = x[:k * m].reshape(k, m), x[k * m:]
        _, gW, gb = ref_loss_grad(X, y, W, b, link=link, sample_weight=sw, alpha=alpha)
        return np.concatenate([gW.ravel(), gb])

    step = 1e-4
    diag = np.empty(k * m + k)
    for i in range(diag.size):
        e = np.zeros(diag.size)
        e[i] = step
        diag[i] = (grad(e) - grad(-e))[i] / (2 * step)
    np.testing.assert_allclose(1.0 / h0, diag, rtol=1e-6)


def test_jacobi_h0_follows_features_of_any_small_scale():
    """alpha = 0 and every feature of scale 1e-8 or less: each weight's entry is
    still 1 / (c * mean x_j^2), c = (K - 1) / K^2 the softmax's curvature at zero,
    and the intercept's 1 / c; no floor set by the intercept's far larger c."""
    from sigmax._solvers import Problem, _second_moments, jacobi_h0

    rng = np.random.default_rng(8)
    n, m, k = 50, 4, 3
    X = rng.standard_normal((n, m)) * np.array([1e-8, 1e-9, 3e-8, 1e-10])
    y = rng.integers(0, k, n).astype(np.intp)
    problem = Problem(X, y, None, None, 0, 0, 0.0, 1)
    h0 = jacobi_h0(problem, k, _second_moments(problem))
    c = (k - 1) / k**2
    expected = np.concatenate([np.tile(c * np.mean(X**2, axis=0), k), np.full(k, c)])
    np.testing.assert_allclose(1.0 / h0, expected, rtol=1e-12)


def test_preconditioning_reaches_the_same_optimum_in_fewer_iterations():
    """On raw features of very unequal scale (digits' pixels, 0 to 16, some
    almost always 0), the diagonal start of L-BFGS changes the path, not the
    minimizer, and cuts the iterations."""
    import sigmax._estimators as est
    from sigmax import _solvers

    X, y = datasets.load_digits(return_X_y=True)
    fits = {}
    original = _solvers.lbfgs
    try:
        for precondition in (None, "diagonal"):
            est.lbfgs = lambda *a, **kw: original(*a, **kw, precondition=precondition)
            fits[precondition] = SoftmaxRegression(alpha=1e-2, tol=1e-8, max_iter=20000).fit(X, y)
    finally:
        est.lbfgs = original
    np.testing.assert_allclose(fits["diagonal"].predict_proba(X), fits[None].predict_proba(X),
                               atol=1e-4)
    assert fits["diagonal"].n_iter_ < fits[None].n_iter_ / 2, (fits["diagonal"].n_iter_,
                                                               fits[None].n_iter_)


@pytest.mark.parametrize("h0", [np.ones(5), -np.ones(3 * 2 + 3), np.full(3 * 2 + 3, np.nan),
                                np.zeros(3 * 2 + 3), "abc",
                                np.eye(4), np.zeros((3, 3)), np.array([[1.0, 0.5, 0], [0, 1, 0],
                                                                       [0, 0, 1]]),
                                np.diag([1.0, np.nan, 1.0]), np.ones((3, 2, 2))])
def test_lbfgs_rejects_a_bad_initial_inverse_hessian(h0):
    from sigmax import _core

    X = np.ones((4, 2))
    y = np.array([0, 1, 2, 0], dtype=np.intp)
    W, b = np.zeros((3, 2)), np.zeros(3)
    with pytest.raises(ValueError):
        _core.lbfgs(X, y, None, None, W, b, 0, 0, 0.1, True, 1e-6, 10, 5, 1, None, h0)


def _block_m(X, alpha, c, fit_intercept, sample_weight=None):
    """M of block_h0 computed from all rows, the plain way."""
    Xa = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    s = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    M = c * (Xa.T * s) @ Xa / s.sum()
    M[np.arange(X.shape[1]), np.arange(X.shape[1])] += alpha
    return M


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_block_h0_inverts_the_hessian_block_at_zero(fit_intercept, dtype, monkeypatch):
    """With few enough rows that every row is used, block_h0 is exactly the
    inverse of the Hessian's per-class block at W = 0, b = 0; that block is
    checked against central differences of the NumPy oracle's gradient."""
    from reference import loss_grad as ref_loss_grad
    from sigmax import _solvers
    from sigmax._solvers import Problem, _second_moments, block_h0

    monkeypatch.setattr(_solvers, "LBFGS_STATE_SHARE", 1.0)  # a tiny X: let the block fit

    rng = np.random.default_rng(5)
    n, m, k, alpha = 70, 6, 3, 0.05  # n <= BLOCK_ROWS_PER_ENTRY * q: every row is used
    X = (rng.standard_normal((n, m)) @ rng.standard_normal((m, m))).astype(dtype)  # correlated
    y = rng.integers(0, k, n)
    problem = Problem(X, y.astype(np.intp), None, None, 0, 0, alpha, 1)
    P = block_h0(problem, k, fit_intercept, _second_moments(problem))
    q = m + 1 if fit_intercept else m

    def grad(x):
        W, b = x[:k * m].reshape(k, m), x[k * m:]
        _, gW, gb = ref_loss_grad(X.astype(np.float64), y, W, b, alpha=alpha)
        return np.concatenate([gW.ravel(), gb])

    # the Hessian's entries between class 1's weights (and intercept) at zero
    entries = [1 * m + j for j in range(m)] + ([k * m + 1] if fit_intercept else [])
    step = 1e-4
    block = np.empty((q, q))
    for a, i in enumerate(entries):
        e = np.zeros(k * m + k)
        e[i] = step
        block[a] = (grad(e) - grad(-e))[entries] / (2 * step)
    np.testing.assert_allclose(P @ block, np.eye(q), atol=1e-5)
    np.testing.assert_allclose(P, P.T, rtol=0, atol=0)


def test_block_h0_rescales_a_row_subsample_to_all_rows_and_the_weights(monkeypatch):
    """On many rows, the correlations come from every step-th row and the
    scales (the diagonal) from all rows, weighted: the diagonal of M equals
    the weighted second moments exactly, and M is close to the full-data one."""
    from sigmax import _solvers
    from sigmax._solvers import Problem, _curvature, _second_moments, block_h0

    monkeypatch.setattr(_solvers, "BLOCK_ROWS_PER_ENTRY", 300)  # a subsample of half the rows
    rng = np.random.default_rng(6)
    m, k, alpha = 8, 4, 0.05  # above the floor of BLOCK_RIDGE
    n = 2 * 300 * (m + 1)
    X = rng.standard_normal((n, m)) @ rng.standard_normal((m, m)) + rng.standard_normal(m)
    y = rng.integers(0, k, n)
    sw = rng.uniform(0.2, 3.0, n)
    problem = Problem(X, y.astype(np.intp), None, sw, 0, 0, alpha, 1)
    M = np.linalg.inv(block_h0(problem, k, True, _second_moments(problem)))
    full = _block_m(X, alpha, _curvature(problem, k), True, sw)
    np.testing.assert_allclose(np.diag(M), np.diag(full), rtol=1e-9)
    np.testing.assert_allclose(M, full, rtol=0.1, atol=0.1 * np.abs(full).max())


def test_block_h0_without_penalty_keeps_its_curvature_above_a_floor():
    """alpha = 0 with a column of zeros, a rare column and two collinear ones:
    M's smallest eigenvalue is still BLOCK_RIDGE times the mean of its
    weights' diagonal entries (else the first steps run off along those
    directions)."""
    from sigmax._solvers import BLOCK_RIDGE, Problem, _curvature, _second_moments, block_h0

    rng = np.random.default_rng(9)
    n, m, k = 3000, 6, 4
    X = rng.uniform(0, 1, (n, m))
    X[:, 0] = 0.0
    X[:, 1] = 0.0
    X[::1000, 1] = 1.0
    X[:, 2] = X[:, 3]
    y = rng.integers(0, k, n).astype(np.intp)
    problem = Problem(X, y, None, None, 0, 0, 0.0, 1)
    M = np.linalg.inv(block_h0(problem, k, True, _second_moments(problem)))
    plain = _block_m(X, 0.0, _curvature(problem, k), True)
    floor = BLOCK_RIDGE * np.mean(np.diag(plain)[:m])
    assert np.linalg.eigvalsh(M).min() >= 0.99 * floor
    np.testing.assert_allclose(np.diag(M)[:m], np.diag(plain)[:m] + floor, rtol=1e-9)


@pytest.mark.parametrize("precondition", ["block", "diagonal"])
def test_preconditioned_lbfgs_does_not_depend_on_the_features_scale(precondition):
    """X * s with alpha * s^2 is the same problem (its optimum is W / s): the
    preconditioners take the scale out, so the iterations stay about the same
    at s = 1e-4 (the intercept's curvature, 1 whatever s, once set the
    block's floor and multiplied them by 15)."""
    from sigmax._solvers import Problem, lbfgs

    rng = np.random.default_rng(0)
    n, m, k = 1000, 5, 3
    X = rng.standard_normal((n, m))
    y = np.argmax(X @ rng.standard_normal((m, k)) + rng.gumbel(size=(n, k)), 1).astype(np.intp)
    iterations = {}
    for s in (1.0, 1e-4):
        W, b = np.zeros((k, m)), np.zeros(k)
        problem = Problem(X * s, y, None, None, 0, 0, 1e-2 * s ** 2, 1)
        iterations[s] = lbfgs(problem, W, b, tol=1e-8, max_iter=5000, fit_intercept=True,
                              on_epoch=lambda i, v: None, precondition=precondition)[0]
    assert iterations[1e-4] <= iterations[1.0] + 5, iterations


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_huge_penalty_leaves_the_intercept_its_own_curvature(order):
    """With alpha = 1e20 the weights stay at 0 and the unpenalized intercept
    goes to the log class frequencies (centred), whichever preconditioner X's
    layout selects: the diagonal one's floor, 1e-12 of the weights' curvature,
    once applied to the intercept too and stopped the fit at b = 0."""
    rng = np.random.default_rng(0)
    X = np.asarray(rng.standard_normal((300, 5)), order=order)
    y = rng.integers(0, 3, 300)
    y[:50] = 0
    log_freq = np.log(np.bincount(y) / y.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SoftmaxRegression(alpha=1e20).fit(X, y)
    np.testing.assert_allclose(model.coef_, 0.0, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, log_freq - log_freq.mean(), atol=1e-6)


def test_block_h0_is_skipped_when_it_does_not_fit_or_pay():
    from sigmax._solvers import LBFGS_STATE_SHARE, Problem, _second_moments, block_h0

    def block(X, y, link, k):
        problem = Problem(X, y, None, None, link, 0, 0.1, 1)
        return block_h0(problem, k, True, _second_moments(problem))

    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 2000).astype(np.intp)
    X = rng.standard_normal((2000, 40))
    assert block(X, y, 0, 3) is not None
    # strided rows: the product would not read them fast
    Xf = np.asfortranarray(X)
    assert block(Xf, y, 0, 3) is None
    # too many features for X's share: q^2 doubles over LBFGS_STATE_SHARE of X
    Xw = rng.standard_normal((2000, 80))
    m = Xw.shape[1]
    assert 8 * (m + 1) ** 2 > LBFGS_STATE_SHARE * Xw.nbytes
    assert block(Xw, y, 0, 3) is None
    # one output (binary) on many rows: the product would cost more than the passes it saves
    Xb = rng.standard_normal((20000, 300))
    yb = rng.integers(0, 2, 20000).astype(np.intp)
    assert block(Xb, yb, 1, 1) is None
    assert block(Xb, yb, 0, 10) is not None


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_block_preconditioning_reaches_the_same_optimum(fit_intercept):
    """The block start changes the path, not the minimizer, and on correlated
    unscaled features (digits' pixels) needs fewer iterations than the diagonal."""
    import sigmax._estimators as est
    from sigmax import _solvers

    X, y = datasets.load_digits(return_X_y=True)
    X = np.repeat(X, 6, axis=0)  # enough rows for the block to fit in X's share
    y = np.repeat(y, 6)
    fits = {}
    original = _solvers.lbfgs
    try:
        for precondition in ("diagonal", "block"):
            est.lbfgs = lambda *a, **kw: original(*a, **kw, precondition=precondition)
            fits[precondition] = SoftmaxRegression(alpha=1e-2, tol=1e-8, max_iter=20000,
                                                   fit_intercept=fit_intercept).fit(X, y)
    finally:
        est.lbfgs = original
    problem = _solvers.Problem(X, y.astype(np.intp), None, None, 0, 0, 1e-2, 1)
    assert _solvers.block_h0(problem, 10, fit_intercept,
                             _solvers._second_moments(problem)) is not None
    np.testing.assert_allclose(fits["block"].predict_proba(X), fits["diagonal"].predict_proba(X),
                               atol=1e-5)
    assert fits["block"].n_iter_ < fits["diagonal"].n_iter_, (fits["block"].n_iter_,
                                                              fits["diagonal"].n_iter_)


def test_spd_inverse_in_place():
    from sigmax import _core

    rng = np.random.default_rng(8)
    B = rng.standard_normal((50, 80))
    A = B @ B.T / 80 + 1e-3 * np.eye(50)
    inv = A.copy()
    inv[np.triu_indices(50, 1)] = np.nan  # only the lower triangle is read
    _core.spd_inverse(inv)
    np.testing.assert_allclose(inv @ A, np.eye(50), atol=1e-9)
    assert np.array_equal(inv, inv.T)
    bad = np.diag([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="not positive definite"):
        _core.spd_inverse(bad)
    tiny = np.eye(3) * 1e-320  # positive pivots, but 1e320 is beyond float64
    with pytest.raises(ValueError, match="inverse overflows"):
        _core.spd_inverse(tiny)
    for wrong in (np.eye(3, dtype=np.float32), np.eye(4)[:, :3].copy(), np.eye(6)[::2, ::2],
                  np.ones(3)):
        with pytest.raises(ValueError):
            _core.spd_inverse(wrong)


@pytest.mark.parametrize("A, pivot", [([[1.0, 1.0], [1.0, 1.0]], 1),
                                      ([[4.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], 1),
                                      ([[0.0, 0.0], [0.0, 1.0]], 0)])
def test_spd_inverse_refuses_a_singular_matrix_at_its_zero_pivot(A, pivot):
    """A positive semi-definite but singular matrix is not positive definite: its
    factorization meets a pivot of exactly 0, which is refused there (not taken
    for a positive one, whose inverse would then overflow)."""
    from sigmax import _core

    with pytest.raises(ValueError, match=rf"not positive definite \(pivot {pivot}\)"):
        _core.spd_inverse(np.array(A))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_remaining_decrease_does_not_depend_on_the_features_units(fit_intercept):
    """g' D^{-1} g / 2 with D the Hessian's diagonal at zero: the same for X and
    for X with its columns rescaled (the weights rescaled inversely)."""
    from sigmax._solvers import Problem, _second_moments, remaining_decrease

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 3))
    y = ((X[:, 0] + rng.standard_normal(300) > 0) + (X[:, 1] > 0)).astype(np.intp)
    W = rng.standard_normal((3, 3)) * 0.1
    b = rng.standard_normal(3) * 0.1
    scales = np.array([1e-3, 1.0, 1e6])
    got = []
    for D in (np.ones(3), scales):
        problem = Problem(X * D, y, None, None, 0, 0, 0.0, 1)
        got.append(remaining_decrease(problem, W / D, b, fit_intercept,
                                      _second_moments(problem)))
    assert got[0] > 0
    np.testing.assert_allclose(got[1], got[0], rtol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_remaining_decrease_is_the_newton_decrease_on_the_diagonal_at_zero(fit_intercept):
    """remaining_decrease = g' D^{-1} g / 2, D the Hessian's diagonal at zero:
    c * mean x_j^2 (+ alpha) for w_kj and c for b_k, c = (K - 1) / K^2; the
    gradient from the NumPy oracle."""
    from reference import loss_grad as ref_loss_grad
    from sigmax._solvers import Problem, _second_moments, remaining_decrease

    rng = np.random.default_rng(9)
    n, m, k, alpha = 200, 3, 4, 0.02
    X = rng.standard_normal((n, m)) * np.array([0.5, 2.0, 10.0])
    y = rng.integers(0, k, n)
    W = rng.standard_normal((k, m)) * 0.1
    b = rng.standard_normal(k)
    problem = Problem(X, y.astype(np.intp), None, None, 0, 0, alpha, 1)
    got = remaining_decrease(problem, W, b, fit_intercept, _second_moments(problem))
    _, gW, gb = ref_loss_grad(X, y, W, b, alpha=alpha)
    c = (k - 1) / k**2
    want = np.sum(gW**2 / (c * np.mean(X**2, axis=0) + alpha))
    if fit_intercept:
        want += np.sum(gb**2) / c
    assert got == pytest.approx(0.5 * want, rel=1e-10)


def test_lbfgs_says_so_when_it_stalls_with_a_feature_left_unfitted():
    """float32 columns of scale 1e-3, 1 and 1e6: the line search stalled with the
    gradient norm below 1e-3 of its start (dominated by the 1e6 column), so
    the fit stopped quietly with the first column's weights near zero and the
    objective 0.93 against 0.83.  Standardized, the same data fit quietly."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 3))
    y = (X[:, 0] + rng.standard_normal(2000) > 0).astype(int) + (X[:, 1] + rng.standard_normal(2000) > 0)
    with pytest.warns(ConvergenceWarning, match="could still fall by about"):
        SoftmaxRegression().fit((X * [1e-3, 1.0, 1e6]).astype(np.float32), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        SoftmaxRegression().fit(X.astype(np.float32), y)
