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
    """(nor pandas or another data frame library, whose frames sigmax
    recognizes only when they are already imported)"""
    code = ("import sys, numpy as np, sigmax; "
            "m = sigmax.SoftmaxRegression().fit(np.eye(4), [0, 1, 0, 1]); m.predict(np.eye(4)); "
            "assert not any(k.split('.')[0] in ('sklearn', 'scipy', 'torch', 'matplotlib', "
            "'pandas', 'polars', 'pyarrow', 'narwhals') for k in sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- feature names: a data frame's column names, checked as scikit-learn does -----------------

def _frame_data():
    """A pandas frame of 4 named columns, its array and 3 classes."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]), X, y


_METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function", "score"]


def _call(model, method, X, y):
    return model.score(X, y) if method == "score" else getattr(model, method)(X)


@pytest.mark.parametrize("cls", [SoftmaxRegression, LogisticRegression])
def test_fit_on_a_data_frame_keeps_its_column_names(cls):
    """feature_names_in_ is an object array of the names, as scikit-learn's; the
    frame in its own column order predicts as its array does, without warning.
    (The frame's array is in Fortran order, which the kernels' sums follow, to
    the last bit on some instruction sets: the model is compared with one
    fitted on that array, and predicts as it does on that array.)"""
    df, X, y = _frame_data()
    model = cls(alpha=0.1).fit(df, y)
    assert isinstance(model.feature_names_in_, np.ndarray)
    assert model.feature_names_in_.dtype == object
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert model.n_features_in_ == 4
    frame_array = df.to_numpy()
    np.testing.assert_array_equal(frame_array, X)
    plain = cls(alpha=0.1).fit(frame_array, y)
    assert not hasattr(plain, "feature_names_in_")
    np.testing.assert_array_equal(model.coef_, plain.coef_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in _METHODS:
            np.testing.assert_array_equal(_call(model, method, df, y),
                                          _call(plain, method, frame_array, y))


def _other_columns():
    """(name, frame from the fitted one with other columns, the key phrase of the error)"""
    return [("reordered", lambda df: df[["b", "a", "c", "d"]],
             "Feature names must be in the same order as they were in fit"),
            ("renamed", lambda df: df.rename(columns={"c": "z"}),
             "Feature names unseen at fit time:\n- z\nFeature names seen at fit time, yet "
             "now missing:\n- c\n"),
            ("missing", lambda df: df[["a", "b", "c"]],
             "Feature names seen at fit time, yet now missing:\n- d\n"),
            ("extra", lambda df: df.assign(e=1.0),
             "Feature names unseen at fit time:\n- e\n")]


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize("case", _other_columns(), ids=lambda c: c[0])
@pytest.mark.parametrize("cls", [SoftmaxRegression, LogisticRegression])
def test_other_columns_than_the_fits_raise_as_in_sklearn(cls, case, method):
    """Reordered, renamed, missing or extra columns: a ValueError that says
    which, with scikit-learn's message word for word (before the count of
    features is compared: a missing column is named, not counted)."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    _, change, phrase = case
    df, X, y = _frame_data()
    model = cls(alpha=0.1).fit(df, y)
    reference = SkLogisticRegression().fit(df, y)
    with pytest.raises(ValueError) as raised:
        _call(model, method, change(df), y)
    with pytest.raises(ValueError) as expected:
        _call(reference, method, change(df), y)
    assert "The feature names should match those that were passed during fit" \
        in str(raised.value)
    assert phrase in str(raised.value)
    assert str(raised.value) == str(expected.value)


def test_many_unseen_names_are_listed_five_at_most():
    import pandas as pd

    df, X, y = _frame_data()
    model = SoftmaxRegression().fit(df, y)
    wide = pd.DataFrame(np.zeros((2, 8)), columns=[f"n{i}" for i in range(8)])
    with pytest.raises(ValueError) as raised:
        model.predict(wide)
    assert str(raised.value) == (
        "The feature names should match those that were passed during fit.\n"
        "Feature names unseen at fit time:\n- n0\n- n1\n- n2\n- n3\n- n4\n- ...\n"
        "Feature names seen at fit time, yet now missing:\n- a\n- b\n- c\n- d\n")


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize("cls", [SoftmaxRegression, LogisticRegression])
def test_names_on_one_side_only_warn_as_in_sklearn(cls, method):
    """Fitted with names, predicting on an array (or the reverse): scikit-learn's
    UserWarning, shown at the caller's line, and the prediction by position."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    df, X, y = _frame_data()
    named, plain = cls(alpha=0.1).fit(df, y), cls(alpha=0.1).fit(df.to_numpy(), y)
    # (model, the data it was fitted on, the data it predicts, the key phrase)
    for model, fitted_on, data, phrase in [
            (named, df, X, "X does not have valid feature names, but "),
            (plain, X, df, "X has feature names, but ")]:
        with pytest.warns(UserWarning) as caught:
            got = _call(model, method, data, y)
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1 and messages[0].startswith(phrase), messages
        assert caught[0].filename == __file__  # the line that called sigmax
        # by position: as the unnamed model on the same array (in the same
        # memory order, which the last bits of the kernels' sums may follow)
        np.testing.assert_array_equal(got, _call(plain, method, np.asarray(data), y))
        reference = SkLogisticRegression().fit(fitted_on, y)
        with pytest.warns(UserWarning) as expected:
            _call(reference, method, data, y)
        assert str(expected[0].message).startswith(phrase)  # the prefix filters match


def test_names_that_are_not_strings_are_no_feature_names():
    """All-integer (or other non-string) column names, as scikit-learn: no
    feature_names_in_, and no warning when predicting on either kind of X; a
    frame of string names is then one with names given to a model without."""
    import pandas as pd

    named, X, y = _frame_data()
    for columns in ([0, 1, 2, 3], [0.5, 1.5, 2.5, 3.5], pd.MultiIndex.from_product([["a", "b"],
                                                                                 ["x", "y"]])):
        df = pd.DataFrame(X, columns=columns)
        model = SoftmaxRegression().fit(df, y)
        assert not hasattr(model, "feature_names_in_")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(model.predict(df), model.predict(X))
            model.fit(X, y).predict(df)
        with pytest.warns(UserWarning, match="X has feature names, but SoftmaxRegression was "
                                             "fitted on data without any"):
            model.fit(df, y).predict(named)


def test_mixed_string_and_other_names_raise_type_error_as_in_sklearn():
    """Some names strings, some not: scikit-learn's TypeError, from fit (which
    then changes nothing) and from a prediction."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    df, X, y = _frame_data()
    mixed = pd.DataFrame(X, columns=["a", "b", 2, 3])
    model = SoftmaxRegression().fit(df, y)
    coef = model.coef_
    with pytest.raises(TypeError) as raised:
        model.fit(mixed, y)
    with pytest.raises(TypeError) as expected:
        SkLogisticRegression().fit(mixed, y)
    assert "mix strings with other types (int, str)" in str(raised.value)
    assert "string" in str(expected.value)  # scikit-learn refuses them too
    assert model.coef_ is coef and model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    with pytest.raises(TypeError, match="kept only when every column name is a string"):
        model.predict(mixed)


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_refit_replaces_or_removes_the_feature_names(warm_start):
    """Every fit sets the names anew, warm-started or not (as scikit-learn): a
    refit on other columns takes theirs, one on an array removes them."""
    df, X, y = _frame_data()
    model = SoftmaxRegression(alpha=0.1, warm_start=warm_start).fit(df, y)
    model.fit(df[["d", "c", "b", "a"]], y)  # no error: fit checks nothing against the last
    assert model.feature_names_in_.tolist() == ["d", "c", "b", "a"]
    model.fit(X, y)
    assert not hasattr(model, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but SoftmaxRegression was "
                                         "fitted on data without any"):
        model.predict(df)
    model.fit(df, y)
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]


def test_a_failed_fit_keeps_the_feature_names():
    """A fit that fails leaves the fitted model as it was, feature names included
    (scikit-learn's own estimators have already replaced them by then)."""
    df, X, y = _frame_data()
    model = SoftmaxRegression().fit(df, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        model.fit(df.rename(columns={"a": "z"}), np.zeros(len(y)))
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    with pytest.raises(ValueError):
        model.fit(X, np.zeros(len(y)))
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]


def test_feature_names_survive_pickle_and_are_no_parameter():
    """pickle keeps the names (and their checks); clone and get_params see
    parameters only, as for every fitted attribute."""
    from sklearn.base import clone

    df, X, y = _frame_data()
    model = LogisticRegression(alpha=0.1).fit(df, y)
    assert "feature_names_in_" not in model.get_params()
    fresh = clone(model)
    assert not hasattr(fresh, "feature_names_in_")
    assert fresh.get_params() == model.get_params()
    np.testing.assert_array_equal(fresh.fit(df, y).feature_names_in_, model.feature_names_in_)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.feature_names_in_, model.feature_names_in_)
    np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))
    with pytest.raises(ValueError, match="must be in the same order"):
        again.predict(df[["b", "a", "c", "d"]])
    plain = pickle.loads(pickle.dumps(LogisticRegression(alpha=0.1).fit(X, y)))
    assert not hasattr(plain, "feature_names_in_")


def test_repeated_names_counted_otherwise_than_in_fit_are_not_called_reordered():
    """sigmax keeps repeated column names (scikit-learn 1.9 refuses them); the
    same names repeated another number of times are reported as that."""
    import pandas as pd

    _, X, y = _frame_data()
    model = SoftmaxRegression().fit(pd.DataFrame(X, columns=["a", "a", "b", "c"]), y)
    with pytest.raises(ValueError, match="repeated more or fewer times") as raised:
        model.predict(pd.DataFrame(X, columns=["a", "b", "b", "c"]))
    assert "same order" not in str(raised.value)
    with pytest.raises(ValueError, match="same order"):
        model.predict(pd.DataFrame(X, columns=["b", "a", "a", "c"]))


def test_a_model_pickled_before_feature_names_were_kept_still_predicts():
    """A fitted state without the _feature_names_in entry (pickled by an
    earlier sigmax) is a model fitted without names."""
    df, X, y = _frame_data()
    model = SoftmaxRegression().fit(X, y)
    del model.__dict__["_feature_names_in"]
    old = pickle.loads(pickle.dumps(model))
    assert not hasattr(old, "feature_names_in_")
    np.testing.assert_array_equal(old.predict_proba(X), model.predict_proba(X))
    with pytest.warns(UserWarning, match="X has feature names"):
        np.testing.assert_array_equal(old.predict(df), model.predict(X))


def test_feature_names_in_set_or_deleted_by_hand():
    """feature_names_in_ behaves as an attribute: set by hand it is what
    predictions check, deleted it is gone."""
    df, X, y = _frame_data()
    model = SoftmaxRegression().fit(X, y)
    model.feature_names_in_ = np.array(["d", "c", "b", "a"], dtype=object)
    with pytest.raises(ValueError, match="must be in the same order"):
        model.predict(df)
    del model.feature_names_in_
    assert not hasattr(model, "feature_names_in_")
    with pytest.raises(AttributeError):
        del model.feature_names_in_


def test_feature_names_are_sklearns_for_any_column_names():
    """sigmax's feature_names and scikit-learn's _get_feature_names agree on
    pandas frames of every kind of column names, but repeated ones: scikit-learn
    1.9 refuses those (narwhals, which it reads frames with, does), sigmax
    keeps them and compares them in order as any others."""
    import pandas as pd
    from sklearn.utils.validation import _get_feature_names

    from sigmax._validation import feature_names

    X = np.zeros((2, 3))
    cases = [["a", "b", "c"], [0, 1, 2], [0.5, "b", "c"], [None, "b", "c"],
             [np.str_("a"), np.str_("b"), np.str_("c")], [np.str_("a"), "b", "c"],
             [True, False], [("a", 1), ("b", 2), ("c", 3)], [1, "b"],
             pd.RangeIndex(3), pd.Index(["a", "b", "c"], dtype="string")]
    for columns in cases:
        df = pd.DataFrame(X[:, :len(columns)], columns=columns)
        try:
            expected = _get_feature_names(df)
        except TypeError as err:
            assert "string" in str(err)
            with pytest.raises(TypeError, match="mix strings with other types"):
                feature_names(df)
            continue
        got = feature_names(df)
        if expected is None:
            assert got is None, columns
        else:
            assert got.dtype == object and got.tolist() == expected.tolist(), columns
    for other in (X, X.tolist(), pd.DataFrame(np.zeros((2, 0))), pd.Series([1.0, 2.0])):
        assert feature_names(other) is None and _get_feature_names(other) is None
    assert feature_names(pd.DataFrame(X, columns=["a", "a", "b"])).tolist() == ["a", "a", "b"]
    assert feature_names(pd.DataFrame(X, columns=[0, 0, 1])) is None


def test_frames_of_other_libraries_are_recognized_without_importing_them(monkeypatch):
    """As scikit-learn (through narwhals) does, a polars DataFrame's or a pyarrow
    Table's column names are feature names, once that library is imported:
    sigmax looks for its class in sys.modules, and imports nothing."""
    import types

    class Frame:
        def __init__(self, X, names):
            self.X, self.columns = X, list(names)

        def __array__(self, dtype=None, copy=None):
            return self.X

    class Table(Frame):
        def __init__(self, X, names):
            self.X, self.column_names = X, list(names)
            self.columns = [X[:, i] for i in range(X.shape[1])]  # pyarrow's: the columns' data

    df, X, y = _frame_data()
    for module, name, cls in [("polars", "DataFrame", Frame), ("pyarrow", "Table", Table)]:
        # not yet imported: an object of that library's name is no data frame to sigmax
        monkeypatch.delitem(sys.modules, module, raising=False)
        model = SoftmaxRegression().fit(cls(X, "abcd"), y)
        assert not hasattr(model, "feature_names_in_")
        monkeypatch.setitem(sys.modules, module, types.SimpleNamespace(**{name: cls}))
        model.fit(cls(X, "abcd"), y)
        assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
        np.testing.assert_array_equal(model.predict(cls(X, "abcd")), model.predict(df))
        with pytest.raises(ValueError, match="must be in the same order"):
            model.predict(cls(X[:, ::-1], "dcba"))
        monkeypatch.delitem(sys.modules, module)


@pytest.mark.parametrize("estimator", [SoftmaxRegression(), LogisticRegression(),
                                       LogisticRegression(class_weight="balanced")],
                         ids=lambda e: repr(e))
def test_sklearns_column_names_check(estimator):
    """scikit-learn's check of data frame column names (with pandas installed;
    not among check_estimator's checks in scikit-learn 1.9)."""
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sigmax.ConvergenceWarning)
        check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
