"""sigmax's estimators among scikit-learn's tools: its estimator checks,
pickling, pipelines, cross-validation and grid search; and `import sigmax`
loads NumPy alone, not scikit-learn or the other test and benchmark extras."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
# scikit-learn is one of the test extras: without it this module fails, not skips
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

import sigmax
from sigmax import LogisticRegression, SoftmaxRegression


def test_pickle_round_trip_predicts_the_same():
    X, y = datasets.load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = SoftmaxRegression(alpha=1e-2).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(again.predict(X), model.predict(X))


def test_errors_and_warnings_pickle_as_both_libraries_classes():
    """With scikit-learn loaded, sigmax raises subclasses of both libraries'
    classes; they failed to pickle (a Pool worker's error then became a
    MaybeEncodingError)."""
    import sklearn.exceptions
    import sigmax.exceptions

    with pytest.raises(sigmax.NotFittedError) as raised:
        SoftmaxRegression().predict(np.zeros((2, 2)))
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.warns(sigmax.ConvergenceWarning) as caught:
        SoftmaxRegression(max_iter=1).fit(X, X[:, 0] > 0)
    for name, obj in [("NotFittedError", raised.value), ("ConvergenceWarning", caught[0].message)]:
        again = pickle.loads(pickle.dumps(obj))
        assert isinstance(again, getattr(sigmax.exceptions, name))
        assert isinstance(again, getattr(sklearn.exceptions, name))
        assert type(again) is type(obj)
        assert again.args == obj.args and str(again) == str(obj)


@pytest.mark.parametrize("estimator", [SoftmaxRegression(), LogisticRegression(),
                                       LogisticRegression(class_weight="balanced")],
                         ids=lambda e: repr(e))
def test_check_estimator(estimator):
    """(with class_weight, LogisticRegression refuses multi-label targets, and
    its tags say so)"""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 60


# with the default alpha=0, a fold of iris can be separable: sigmax says so, as it should
@pytest.mark.filterwarnings("ignore:.*linearly separable:sigmax.ConvergenceWarning")
def test_pipeline_grid_search_cross_val():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = datasets.load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SoftmaxRegression())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    grid = GridSearchCV(pipe, {"softmaxregression__alpha": [1e-3, 1e-1]}, cv=3).fit(X, y)
    assert grid.best_params_["softmaxregression__alpha"] in (1e-3, 1e-1)
    assert grid.score(X, y) > 0.85


@pytest.mark.parametrize("cls", [SoftmaxRegression, LogisticRegression])
def test_metadata_routing_passes_sample_weight(cls):
    """With routing on, fit and score take sample_weight once requested (a Pipeline's fit, a
    grid search's refit and cross-validation's scores then see the weights), the requests
    survive clone, and an unrequested weight is refused, as scikit-learn's own do."""
    import sklearn
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = datasets.load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    w = np.where(y == 1, 8.0, 1.0)
    weighted = cls(alpha=1e-2).fit(X, y, sample_weight=w)
    plain = cls(alpha=1e-2).fit(X, y)
    assert np.abs(weighted.coef_ - plain.coef_).max() > 1e-2  # the weights matter here
    with sklearn.config_context(enable_metadata_routing=True):
        est = cls(alpha=1e-2).set_fit_request(sample_weight=True)
        pipe = make_pipeline(est).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(pipe[-1].coef_, weighted.coef_)
        grid = GridSearchCV(clone(est).set_score_request(sample_weight=False), {"alpha": [1e-2]},
                            cv=3).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(grid.best_estimator_.coef_, weighted.coef_)
        scored = clone(est).set_score_request(sample_weight=True)
        assert clone(scored).get_metadata_routing().score.requests == {"sample_weight": True}
        folds = [(np.arange(150)[np.arange(150) % 3 != i], np.arange(150)[np.arange(150) % 3 == i])
                 for i in range(3)]
        scores = cross_val_score(scored, X, y, cv=folds, params={"sample_weight": w})
        for score, (train, test) in zip(scores, folds):
            model = cls(alpha=1e-2).fit(X[train], y[train], sample_weight=w[train])
            assert score == model.score(X[test], y[test], sample_weight=w[test])
        with pytest.raises(Exception, match="sample_weight"):
            make_pipeline(cls(alpha=1e-2)).fit(X, y, sample_weight=w)
    with pytest.raises(RuntimeError, match="metadata routing"):  # off: a request does nothing
        cls().set_fit_request(sample_weight=True)


def test_sklearn_is_not_imported_by_sigmax():
    code = ("import sys, numpy as np, sigmax; "
            "m = sigmax.SoftmaxRegression().fit(np.eye(4), [0, 1, 0, 1]); m.predict(np.eye(4)); "
            "assert not any(k.split('.')[0] in ('sklearn', 'scipy', 'torch', 'matplotlib') "
            "for k in sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
