"""The estimators: LogisticRegression and SoftmaxRegression.

They validate input, encode labels, pick a solver from _solvers and store
the fitted parameters.  They follow scikit-learn's conventions (parameters
stored as given and validated in fit, fitted attributes ending in ``_``)
without importing scikit-learn.
"""
from __future__ import annotations

import inspect
import math
import numbers
import operator
import warnings
from typing import (TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple, TypeVar, Union,
                    cast)

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._api import _threads
from ._progress import EpochProgress
from ._solvers import LbfgsOutcome, Problem, diverged, gd, lbfgs, objective, sgd
from ._validation import (
    LINKS,
    LOSSES,
    as_array,
    as_float_array,
    as_real,
    check_alpha,
    check_feature_names,
    check_finite,
    check_sample_weight,
    feature_names,
    kernel_weights,
    unit_scaled,
    valid_sample_weight,
)
from .exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError, compatible

__all__ = ["LogisticRegression", "SoftmaxRegression"]

# gd and sgd warn when their objective ends more than this share above its
# start (sgd's per-epoch means are noisy; a real divergence rises far more)
RISING_SHARE = 0.1

_OUT_LOGITS = 0
_OUT_PROBA = 1
_OUT_LOG_PROBA = 2
_OUT_CLASS = 3
_OUT_PROBA_PAIR = 4      # one sigmoid's logit z as two classes: sigma(-z), sigma(z)
_OUT_LOG_PROBA_PAIR = 5  # and their logs
_OUT_OVR_PROBA = 6       # one-vs-rest: sigma(z_k) / sum_j sigma(z_j) = softmax(log sigma(z))_k
_OUT_OVR_LOG_PROBA = 7   # and their logs


class _FusedPass(NamedTuple):
    """predict_proba as one threaded pass of the kernels over X: the link, and
    the output codes of the probabilities and of their logs."""

    link: str
    proba: int
    log_proba: int


_SOFTMAX_PASS = _FusedPass("softmax", _OUT_PROBA, _OUT_LOG_PROBA)
_SIGMOID_PASS = _FusedPass("sigmoid", _OUT_PROBA, _OUT_LOG_PROBA)
_PAIR_PASS = _FusedPass("sigmoid", _OUT_PROBA_PAIR, _OUT_LOG_PROBA_PAIR)
_OVR_PASS = _FusedPass("sigmoid", _OUT_OVR_PROBA, _OUT_OVR_LOG_PROBA)
# predict_log_proba recomputes the rows whose probabilities underflow this many at a time
_LOG_ROWS_CHUNK = 1024
SOLVERS = ("lbfgs", "gd", "sgd")
# max_iter=None means: iterations for lbfgs, epochs for gd and sgd
DEFAULT_MAX_ITER = {"lbfgs": 1000, "gd": 100, "sgd": 100}


_Self = TypeVar("_Self", bound="_ParamsMixin")
# fit returns the estimator it is called on, typed as its own class
_Classifier = TypeVar("_Classifier", bound="_LinearClassifier")
if TYPE_CHECKING:
    # _encode_targets: (classes_, y_index or None, Y or None, K, link, mode)
    _Targets = Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], int, str, str]
# set_fit_request / set_score_request: leave a request as it is (scikit-learn's value)
UNCHANGED = "$UNCHANGED$"


class _ParamsMixin:
    """get_params / set_params / repr from the constructor's signature."""

    @classmethod
    def _param_names(cls) -> List[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters as {name: value} (deep is accepted for
        scikit-learn and changes nothing: no parameter is an estimator)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _Self, **params: Any) -> _Self:
        """Set constructor parameters by name (validated at the next fit); returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            setattr(self, name, value)
        return self

    # scikit-learn's metadata routing (with set_config(enable_metadata_routing=True),
    # Pipeline, GridSearchCV, cross_validate ... pass sample_weight on to the
    # methods that request it): the metadata each method takes.  scikit-learn is
    # imported only here, by a caller that routes metadata.
    _METADATA = {"fit": ("sample_weight",), "score": ("sample_weight",)}

    def get_metadata_routing(self) -> Any:
        """This estimator's metadata requests (a scikit-learn ``MetadataRequest``):
        ``sample_weight`` for fit and score, none until requested with
        ``set_fit_request`` / ``set_score_request``."""
        from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

        if "_metadata_request" in self.__dict__:  # copied, as scikit-learn's own do
            return get_routing_for_object(self._metadata_request)
        request = MetadataRequest(owner=type(self).__name__)
        for method, params in self._METADATA.items():
            for param in params:
                getattr(request, method).add_request(param=param, alias=None)
        return request

    def _set_request(self: _Self, method: str, **aliases: Any) -> _Self:
        import sklearn

        if not sklearn.get_config().get("enable_metadata_routing", False):
            # as scikit-learn's own estimators: a request would do nothing
            raise RuntimeError(f"set_{method}_request is only available when metadata routing "
                               "is enabled: sklearn.set_config(enable_metadata_routing=True)")
        request = self.get_metadata_routing()
        for param, alias in aliases.items():
            if alias != UNCHANGED:
                getattr(request, method).add_request(param=param, alias=alias)
        self._metadata_request = request  # kept by sklearn.base.clone
        return self

    def set_fit_request(self: _Self, *, sample_weight: Union[bool, None, str] = UNCHANGED) -> _Self:
        """Whether fit takes ``sample_weight`` when metadata routing passes it
        (True, False, None: an error if passed, or the name it is passed
        under); returns self."""
        return self._set_request("fit", sample_weight=sample_weight)

    def set_score_request(self: _Self, *,
                          sample_weight: Union[bool, None, str] = UNCHANGED) -> _Self:
        """Whether score takes ``sample_weight`` when metadata routing passes it
        (as in set_fit_request); returns self."""
        return self._set_request("score", sample_weight=sample_weight)

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, type(defaults.get(k))) and v == defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"


def _check_positive(value: Any, name: str, kind: type = numbers.Real, zero: bool = False) -> Any:
    """value, if it is a positive finite number (a positive integer < 2**62
    for Integral); zero=True admits 0 too (Real only)."""
    if kind is numbers.Integral:
        # typeshed's numbers.Integral declares no __gt__, which 0 < value falls back
        # to: ints and NumPy integers have it
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) \
            and 0 < value < 2**62  # type: ignore[operator]
        what = "a positive integer below 2**62"
    else:  # any real number as_real takes (alpha's and class_weight's rule)
        try:
            number = as_real(value, name)
            ok = (0 <= number if zero else 0 < number) and number < float("inf")
        except TypeError:
            ok = False
        what = "a finite number >= 0" if zero else "a positive finite number"
    if not ok:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


# L-BFGS stopping where the line search finds no decrease, with a small
# gradient, is quiet only when the objective's estimated further decrease is
# below this share of it (float32 MNIST's stops: about 4e-9; a column of scale
# 1e-3 beside one of 1e6 left unfitted: 0.09).
LBFGS_QUIET_REMAINING = 1e-6


def _random_generator(random_state: Any) -> np.random.Generator:
    """The generator random_state stands for (None, an int, a SeedSequence or a
    numpy Generator), else a ValueError."""
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as err:
        raise ValueError(f"random_state must be None, an int, a numpy SeedSequence or Generator, "
                         f"got {random_state!r}: {err}") from None


def _shown(labels: Any, most: int = 10) -> str:
    """labels as a list for a message, the first `most` of them."""
    listed = np.asarray(labels).tolist()
    return repr(listed) if len(listed) <= most else repr(listed[:most])[:-1] + ", ...]"


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class _LinearClassifier(_ParamsMixin):
    """Shared fit/predict machinery: a linear model W (K, M), b (K,) behind a link."""

    _link = "softmax"

    # the fitted attributes, set by fit (see SoftmaxRegression's Attributes);
    # declared for type checkers only: before fit they do not exist
    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray
    n_features_in_: int
    n_iter_: int
    loss_curve_: List[float]

    @property
    def feature_names_in_(self) -> np.ndarray:
        """The names of the features seen in fit (an object array of str),
        when X was a data frame whose column names are all strings; absent
        otherwise.  Kept with the rest of the fitted model (as
        ``_feature_names_in``, None when absent), so that a refit replaces
        or removes it in the same step as ``coef_``."""
        names = self.__dict__.get("_feature_names_in")
        if names is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute "
                                 "'feature_names_in_'")
        return names

    @feature_names_in_.setter
    def feature_names_in_(self, names: np.ndarray) -> None:
        self.__dict__["_feature_names_in"] = names

    @feature_names_in_.deleter
    def feature_names_in_(self) -> None:
        if self.__dict__.pop("_feature_names_in", None) is None:
            raise AttributeError("feature_names_in_")

    def __init__(self, *, solver: str = "lbfgs", alpha: float = 0.0, tol: float = 1e-8,
                 max_iter: Optional[int] = None, learning_rate: float = 0.1,
                 batch_size: int = 256, loss: str = "log", fit_intercept: bool = True,
                 class_weight: Union[None, str, Dict[Any, float]] = None, shuffle: bool = True,
                 random_state: Union[None, int, np.random.SeedSequence,
                                     np.random.Generator] = None,
                 warm_start: bool = False,
                 n_jobs: Optional[int] = None, verbose: int = 0):
        self.solver = solver
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- hooks for the subclasses ------------------------------------------
    def _encode_targets(self, y: ArrayLike, n: int, dtype: np.dtype) -> _Targets:
        """Return (classes_, y_index or None, Y or None, K, link, mode)."""
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        if not (isinstance(self.solver, str) and self.solver in SOLVERS):
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if not (isinstance(self.loss, str) and self.loss in LOSSES):
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        _check_positive(self.learning_rate, "learning_rate")
        if self.max_iter is not None:
            _check_positive(self.max_iter, "max_iter", numbers.Integral)
        _check_positive(self.batch_size, "batch_size", numbers.Integral)
        _check_positive(self.tol, "tol", zero=True)
        alpha = check_alpha(self.alpha)
        if self.solver in ("gd", "sgd") and float(self.learning_rate) * alpha > 2:
            # W <- (1 - learning_rate * alpha) W - learning_rate * (bounded data gradient)
            raise ValueError(
                f"learning_rate * alpha must be at most 2 with solver={self.solver!r}, got "
                f"learning_rate={self.learning_rate!r} and alpha={self.alpha!r}: the "
                f"penalty's part of each step multiplies W by 1 - learning_rate * alpha, "
                f"{1 - float(self.learning_rate) * alpha:.3g}, and would grow it without bound")
        for flag in ("fit_intercept", "shuffle", "warm_start"):
            _check_bool(getattr(self, flag), flag)
        if not (isinstance(self.verbose, (numbers.Integral, np.bool_)) and self.verbose >= 0):
            raise ValueError(f"verbose must be a non-negative integer or a bool, "
                             f"got {self.verbose!r}")
        if not (self.class_weight is None or isinstance(self.class_weight, dict)
                or (isinstance(self.class_weight, str) and self.class_weight == "balanced")):
            raise ValueError("class_weight must be None, 'balanced' or a dict {label: weight}, "
                             f"got {self.class_weight!r}")
        _threads(self.n_jobs)
        _random_generator(self.random_state)

    def _starting_weights(self, classes: np.ndarray, k: int, m: int,
                          dtype: np.dtype) -> Tuple[np.ndarray, np.ndarray]:
        """W (k, m) and b (k,) to train from: zeros, or with warm_start the
        coefficients the estimator holds (from its last fit, or set by hand),
        which must be those of this fit's classes and features."""
        W = np.zeros((k, m), dtype=dtype)
        b = np.zeros(k, dtype=dtype)
        coef = getattr(self, "coef_", None)
        if not self.warm_start or coef is None:
            return W, b
        name = type(self).__name__
        if np.shape(coef) != W.shape:
            raise ValueError(
                f"warm_start=True: coef_ has shape {np.shape(coef)}, but this fit of {name} "
                f"needs {W.shape}, from y's {len(classes)} classes and X's {m} features; set "
                "warm_start=False to start from zero")
        previous = getattr(self, "classes_", None)
        if previous is not None and not (
                len(previous) == len(classes)
                and all(bool(p == c) for p, c in zip(np.asarray(previous).tolist(),
                                                     classes.tolist()))):
            raise ValueError(
                f"warm_start=True: coef_ belongs to the classes {_shown(previous)}, but y's "
                f"are {_shown(classes)}; set warm_start=False to start from zero")
        W[...] = coef
        if self.fit_intercept:  # else b stays 0, as in a cold fit
            intercept = getattr(self, "intercept_", None)
            if intercept is None:
                raise ValueError("warm_start=True: coef_ is set but intercept_ is not; set "
                                 "intercept_ too (zeros to start it from 0), or "
                                 "fit_intercept=False")
            if np.shape(intercept) != b.shape:
                raise ValueError(f"warm_start=True: intercept_ has shape {np.shape(intercept)}, "
                                 f"but this fit of {name} needs {b.shape}")
            b[...] = intercept
        return W, b

    def fit(self: _Classifier, X: ArrayLike, y: ArrayLike,
            sample_weight: Optional[ArrayLike] = None) -> _Classifier:
        """Fit the model to X and y; returns self.

        Parameters
        ----------
        X : array_like (n, M)
            float32 (trained in float32) or float64 rows, read without a copy;
            other numeric types are converted to float64 once.  A data frame
            whose column names are all strings sets ``feature_names_in_``,
            which predictions then check X's columns against (other X
            removes it).
        y : array_like (n,) of labels; LogisticRegression also (n, K) 0/1 indicators
            Labels (ints, strings, bools, integral floats).
            ``SoftmaxRegression`` takes labels only: for a one-hot Y, pass
            ``Y.argmax(axis=1)``.  ``LogisticRegression`` reads a 0/1 y of
            two or more columns, a one-hot Y included, as multi-label: K
            independent sigmoids, and predict returns an indicator matrix.
        sample_weight : array_like (n,), optional
            Non-negative weight of each row (not all zero); the objective is
            the weighted mean of the rows' losses.

        The fitted attributes are replaced only when training succeeds: an
        exception (bad input, non-finite values, KeyboardInterrupt between
        epochs) leaves a previously fitted model as it was.
        """
        self._check_hyperparameters()
        names = feature_names(X)
        X = as_float_array(X, "X", ndim=2)
        n, m = X.shape
        if n < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                             "of 1 is required: X must have at least one row")
        if m < 1:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                             "of 1 is required: X must have at least one feature")
        classes, y_index, Y, k, link, mode = self._encode_targets(y, n, X.dtype)
        sw = valid_sample_weight(sample_weight, n)
        sw = kernel_weights(self._row_weights(classes, y_index, sw), X.dtype)
        alpha = check_alpha(self.alpha)
        problem = Problem(X, y_index, Y, sw, LINKS[link], LOSSES[self.loss], alpha,
                          _threads(self.n_jobs))

        W, b = self._starting_weights(classes, k, m, X.dtype)
        max_iter = int(self.max_iter if self.max_iter is not None else DEFAULT_MAX_ITER[self.solver])
        on_epoch = self._progress(max_iter)
        try:
            n_iter, curve = self._run_solver(problem, W, b, max_iter, on_epoch, alpha, sw)
        finally:
            on_epoch.close()
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise diverged(float(self.learning_rate), "the weights overflowed")
        fitted = {"classes_": classes, "coef_": W, "intercept_": b, "_fitted_link": link,
                  "_mode": mode, "n_features_in_": m, "n_iter_": n_iter,
                  "loss_curve_": list(curve), "_feature_names_in": names}
        # in one step: a signal handler, or another thread predicting meanwhile,
        # sees the previous fit or this one, never parts of both (feature names
        # included: a fit without them stores None, which a deletion of
        # feature_names_in_ after the update could not do at once)
        self.__dict__.update(fitted)
        return self

    def _run_solver(self, problem: Problem, W: np.ndarray, b: np.ndarray, max_iter: int,
                    on_epoch: EpochProgress, alpha: float,
                    sw: Optional[np.ndarray]) -> Tuple[int, List[float]]:
        """Train W and b in place with self.solver; (n_iter, loss curve).  The
        solver's warnings come after the progress line is ended."""
        fit_intercept = bool(self.fit_intercept)
        outcome = start = None
        if self.solver == "lbfgs":
            n_iter, curve, outcome = lbfgs(problem, W, b, tol=float(self.tol), max_iter=max_iter,
                                           fit_intercept=fit_intercept, on_epoch=on_epoch)
        elif self.solver == "gd":
            n_iter, curve = gd(problem, W, b, learning_rate=float(self.learning_rate),
                               max_iter=max_iter, fit_intercept=fit_intercept, on_epoch=on_epoch)
            start = curve[0] if curve else None  # gd's curve begins at the starting point
        else:
            start = objective(problem, W, b)
            rng = _random_generator(self.random_state)
            n_iter, curve = sgd(problem, W, b, learning_rate=float(self.learning_rate),
                                max_iter=max_iter,
                                batch_size=min(int(self.batch_size), problem.X.shape[0]),
                                shuffle=bool(self.shuffle), rng=rng,
                                fit_intercept=fit_intercept, on_epoch=on_epoch)
        on_epoch.close()
        if outcome is not None:
            self._warn_lbfgs(outcome, alpha, sw, problem.X.shape[0])
        else:
            self._warn_rising(start, curve)
        return n_iter, curve

    def _warn_rising(self, start: Optional[float], curve: List[float]) -> None:
        """Warn when gd's or sgd's objective ended well above the objective at
        the starting weights: the steps went the wrong way (too large a
        learning rate) without overflowing, which would have raised.  (sgd's
        curve holds epoch means, which a blow-up within the first epoch
        already raises: it is compared with the objective at the start.)"""
        if start is not None and curve and curve[-1] > (1 + RISING_SHARE) * start:
            warnings.warn(f"{type(self).__name__}: the objective rose from {start:.4g} to "
                          f"{curve[-1]:.4g} over {len(curve)} epochs: learning_rate="
                          f"{self.learning_rate!r} is likely too large for this data",
                          compatible(ConvergenceWarning), stacklevel=4)

    def _row_weights(self, classes: np.ndarray, y_index: Optional[np.ndarray],
                     sample_weight: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """Each row's weight (float64): its sample weight times its class's
        weight, up to a common factor (the objective, a weighted mean, does
        not see it); None when all rows weigh the same.

        "balanced" is scikit-learn's rule: class c's weight is s / (K * s_c),
        s_c the sum of its rows' sample weights and s that of all rows
        (n / (K * count_c) without sample_weight), so a row of weight 2 counts
        as that row twice.  The rows get s_i / s_c (the common s / K left
        out), which neither overflows nor depends on the weights' scale; a
        class whose rows all weigh 0 stays at 0.
        """
        if self.class_weight is None:
            return sample_weight
        if y_index is None:
            raise ValueError("class_weight is not supported for multi-label targets")
        k = classes.shape[0]
        base = np.ones(y_index.shape[0]) if sample_weight is None else sample_weight
        if self.class_weight == "balanced":
            # s_i / s_c from the weights relative to their class's largest: in (0, 1]
            # and summing to >= 1 per class, so no overflow and no subnormal sums
            largest = np.zeros(k)
            np.maximum.at(largest, y_index, base)
            rel = np.divide(base, largest[y_index], out=np.zeros_like(base),
                            where=largest[y_index] > 0)
            s_c = np.bincount(y_index, weights=rel, minlength=k)
            return np.divide(rel, s_c[y_index], out=np.zeros_like(base), where=rel > 0)
        per_class = np.ones(k)
        # a dict: _check_hyperparameters refused every other str than "balanced"
        for label, weight in cast(Dict[Any, float], self.class_weight).items():
            # compared one by one: a tuple label would broadcast against the array
            matches = [i for i, c in enumerate(classes.tolist()) if c == label]
            if len(matches) != 1:
                raise ValueError(f"class_weight names the label {label!r}, which is not in y")
            value = as_real(weight, f"class_weight[{label!r}]")
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"class_weight values must be finite non-negative numbers, "
                                 f"got {weight!r} for label {label!r}")
            per_class[matches[0]] = value
        # each scaled first: no overflow in the product
        return unit_scaled(base) * unit_scaled(per_class)[y_index]

    def _warn_lbfgs(self, outcome: LbfgsOutcome, alpha: float, sw: Optional[np.ndarray],
                    n: int) -> None:
        name = type(self).__name__
        if outcome.stop == "max_iter":
            warnings.warn(f"{name}: L-BFGS reached max_iter before the gradient norm fell to "
                          f"tol * max(1, initial norm) (now {outcome.grad_norm:.3g}); raise "
                          "max_iter or tol, or scale the features", compatible(ConvergenceWarning), stacklevel=4)
        elif outcome.stop == "no_progress" and \
                outcome.grad_norm > 1e-3 * max(1.0, outcome.initial_grad_norm):
            warnings.warn(f"{name}: L-BFGS stopped: the line search found no decrease at gradient "
                          f"norm {outcome.grad_norm:.3g}", compatible(ConvergenceWarning), stacklevel=4)
        elif outcome.stop == "no_progress" and outcome.remaining is not None and \
                outcome.remaining > LBFGS_QUIET_REMAINING * max(1.0, abs(outcome.objective)):
            warnings.warn(f"{name}: L-BFGS stopped: the line search found no decrease at gradient "
                          f"norm {outcome.grad_norm:.3g}, but the objective "
                          f"({outcome.objective:.6g}) could still fall by about "
                          f"{outcome.remaining:.2g}: features of very unequal scale? Scale them",
                          compatible(ConvergenceWarning), stacklevel=4)
        if alpha == 0 and self.loss == "log":
            # Every row whose true class (or, multi-label, one of whose 0/1 labels) has
            # probability <= 1/2 costs >= log 2, so an objective below
            # log 2 * min_i s_i / sum_i s_i means every row is classified right: the data
            # are separable and the unpenalized optimum lies at infinity.
            share = 1.0 / n if sw is None else float(sw[sw > 0].min() / sw.sum(dtype=np.float64))
            if outcome.objective < np.log(2) * share:
                warnings.warn(f"{name}: the classes are linearly separable and alpha=0, so the "
                              "log loss has no minimizer (the weights grow without bound); the "
                              "fit stopped at a finite point. Set alpha > 0 for a unique "
                              "solution", compatible(ConvergenceWarning), stacklevel=4)

    def _progress(self, total: int) -> EpochProgress:
        unit = "iterations" if self.solver == "lbfgs" else "epochs"
        return EpochProgress(total, type(self).__name__, unit, enabled=bool(self.verbose))

    # -- scikit-learn protocol (scikit-learn is imported only by scikit-learn's callers) --
    _estimator_type = "classifier"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            # multi-label targets are refused with class_weight (fit says so)
            classifier_tags=ClassifierTags(multi_class=True,
                                           multi_label=self._multi_label and self.class_weight is None),
            input_tags=InputTags(two_d_array=True),
        )

    _multi_label = False

    # -- prediction --------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return _Fitted.of(self.__dict__) is not None

    def _fitted(self) -> "_Fitted":
        """The fitted model, taken from one copy of the attributes: a prediction
        reads it once, and never mixes two fits (another thread may refit)."""
        fitted = _Fitted.of(self.__dict__.copy())
        if fitted is None:
            raise compatible(NotFittedError)(f"This {type(self).__name__} instance is not fitted "
                                             "yet; call 'fit' first.")
        return fitted

    def _check_fitted_X(self, X: ArrayLike,
                        fitted: "_Fitted") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """X as the kernels' array, checked against the fitted model (its
        feature names, then its number of features), and coef_ and intercept_
        in X's dtype."""
        if fitted.feature_names is not None or not isinstance(X, np.ndarray):
            check_feature_names(X, fitted.feature_names, type(self).__name__)
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != fitted.n_features:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                             f"is expecting {fitted.n_features} features as input")
        # in X's dtype and C order (a copy only when they differ: K x M, never X's size),
        # so that coef_ and intercept_ set by hand as lists or Fortran arrays work too
        W = np.ascontiguousarray(fitted.coef, dtype=X.dtype)
        b = np.ascontiguousarray(fitted.intercept, dtype=X.dtype)
        k = 1 if fitted.mode == "binary" else len(fitted.classes)
        for name, value, shape in (("coef_", W, (k, fitted.n_features)), ("intercept_", b, (k,))):
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, but this {type(self).__name__} "
                                 f"needs {shape} ({len(fitted.classes)} classes, "
                                 f"{fitted.n_features} features)")
        return X, W, b

    def _forward(self, X: ArrayLike, fitted: "_Fitted", what: int,
                 link: Optional[str] = None) -> np.ndarray:
        """The kernels' forward pass over X, checked against the fitted model:
        (n, K) values of X's dtype, or for _OUT_CLASS each row's class index (n,)."""
        return self._forward_checked(*self._check_fitted_X(X, fitted), what, link or fitted.link)

    def _forward_checked(self, X: np.ndarray, W: np.ndarray, b: np.ndarray, what: int,
                         link: str) -> np.ndarray:
        """_forward on inputs _check_fitted_X has already checked and converted."""
        width = 2 if what in (_OUT_PROBA_PAIR, _OUT_LOG_PROBA_PAIR) else W.shape[0]
        out = (np.empty(X.shape[0], dtype=np.intp) if what == _OUT_CLASS
               else np.empty((X.shape[0], width), dtype=X.dtype))
        if X.shape[0]:
            _core.forward(X, W, b, LINKS[link], what, out, _threads(self.n_jobs))
        return out

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Logits X W^T + b, shape (n, K); for two classes the (n,) score of
        classes_[1], positive where it is predicted (z_1 - z_0 for softmax).
        They are in X's float type: a logit beyond its range (float32 X
        near 1e38) raises ValueError, as it does in a multi-label
        ``LogisticRegression``'s predict, which takes these logits; the other
        predictions take the logits before they are rounded to X's float
        type."""
        fitted = self._fitted()
        Z = self._forward(X, fitted, _OUT_LOGITS)
        if Z.shape[1] == 1:
            return Z[:, 0]
        if fitted.mode == "softmax" and Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each row of X (n, M): shape (n,), labels
        from classes_.  The class of the largest logit, taken from the logits
        predict_proba's probabilities come from: the kernel's logits before
        they are rounded to X's dtype, so that with float32 X it can
        break a tie of decision_function's logits, rounded to float32.  A
        multi-label ``LogisticRegression`` predicts the labels whose logit
        in X's dtype is positive."""
        fitted = self._fitted()
        if fitted.mode == "multilabel":  # each label on its own: those of probability > 1/2
            return (self._forward(X, fitted, _OUT_LOGITS) > 0).astype(np.int64)
        return fitted.classes[self._forward(X, fitted, _OUT_CLASS)]  # predict_proba's logits

    def _fused_pass(self, fitted: "_Fitted") -> _FusedPass:
        """How the kernels compute the probabilities in one threaded pass over
        X, from double logits."""
        return _SOFTMAX_PASS

    def _probabilities(self, X: ArrayLike, log: bool) -> np.ndarray:
        fitted = self._fitted()
        fused = self._fused_pass(fitted)
        X, W, b = self._check_fitted_X(X, fitted)  # once: the passes below reuse them
        P = self._forward_checked(X, W, b, fused.proba, fused.link)  # one pass
        if not log:
            return P
        # Wherever P is a normal number, log(P) is as exact as P itself (to
        # about an ulp of the log), and predict_log_proba is then log(predict_proba)
        # to the last bit.  Where P underflows (or is subnormal), the log comes
        # from the logits, finite there: those rows are recomputed, a chunk of
        # rows at a time.
        with np.errstate(divide="ignore"):
            L = np.log(P)
        small = P < np.finfo(P.dtype).tiny
        # the rows holding one: from the flat indices (rising, so each row's run
        # is contiguous), not small.any(axis=1), a slow reduction over short rows
        hit_rows = np.flatnonzero(small) // P.shape[1]
        rows = hit_rows[np.flatnonzero(np.diff(hit_rows, prepend=-1))]
        for start in range(0, rows.shape[0], _LOG_ROWS_CHUNK):
            r = rows[start:start + _LOG_ROWS_CHUNK]
            from_logits = self._forward_checked(X[r], W, b, fused.log_proba, fused.link)
            L[r] = np.where(small[r], from_logits, L[r])
        return L

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """The logarithm of predict_proba(X): ``np.log(predict_proba(X))`` to the
        last bit wherever that probability is a normal float, and finite where
        it underflows (those rows' logs come from their logits), unless that
        log is beyond the dtype's range (float32 logits 1e38 apart): -inf."""
        return self._probabilities(X, log=True)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities of the rows of X (n, M): shape (n, len(classes_)), in
        X's float type.  Each row sums to 1, except for a multi-label
        ``LogisticRegression``, whose column k is label k's own probability."""
        return self._probabilities(X, log=False)

    def score(self, X: ArrayLike, y: ArrayLike,
              sample_weight: Optional[ArrayLike] = None) -> float:
        """Mean accuracy of predict(X) against y (weighted with sample_weight);
        for multi-label y, the share of rows with every label right."""
        y = _targets(y)
        pred = self.predict(X)
        if pred.shape[0] == 0:
            raise ValueError("score needs at least one row: X has 0 rows")
        if pred.ndim == 1:
            y = _column_to_1d(y, stacklevel=3)
        if y.shape != pred.shape:
            raise ValueError(f"y must have shape {pred.shape}, got {y.shape}")
        y_kind, class_kind = _label_kind(y), _label_kind(pred)
        if y_kind and class_kind and y_kind != class_kind:  # no label could ever match
            raise ValueError(f"y holds {y_kind}, but the model's classes_ are {class_kind} "
                             f"({self.classes_[:5]!r}): the labels must be of the same type")
        hits = (pred == y) if pred.ndim == 1 else (pred == y).all(axis=1)
        weights = check_sample_weight(sample_weight, len(hits), np.float64)
        return float(np.average(hits, weights=weights))


def _column_to_1d(y: np.ndarray, stacklevel: int) -> np.ndarray:
    """y of shape (n, 1) as (n,), with scikit-learn's DataConversionWarning."""
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected: "
                      "y of shape (n, 1) is read as (n,); pass y.ravel()",
                      compatible(DataConversionWarning), stacklevel=stacklevel)
        y = y[:, 0]
    return y


def _targets(y: Any) -> np.ndarray:
    """y as an array; None (no targets passed) is an error."""
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    return as_array(y, "y")


def _label_kind(a: np.ndarray) -> Optional[str]:
    """"numbers" or "strings" for arrays of either; None for object arrays
    (which may mix them) and others."""
    return {"b": "numbers", "i": "numbers", "u": "numbers", "f": "numbers",
            "U": "strings", "S": "strings"}.get(a.dtype.kind)


def _encode_labels(y: ArrayLike, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """classes_ (sorted unique labels) and the class index of each row."""
    # the arrays under names of their own: y is typed as any array-like, and type
    # checkers may keep that type for it after an assignment
    column = _column_to_1d(_targets(y), stacklevel=5)
    if column.ndim != 1:
        raise ValueError(f"y must be 1-dimensional (n,), got shape {column.shape}")
    if column.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {column.shape[0]}")
    # a private copy (n labels, small beside X): another thread writing into the
    # caller's y could otherwise change labels between NumPy's index checks and
    # its writes (np.bincount, table[y]), which corrupted memory
    labels = column.copy()
    if labels.dtype.kind == "c":
        raise TypeError("y must not be complex")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError("y contains NaN or infinity")
        if (labels != np.round(labels)).any():
            raise ValueError(_CONTINUOUS_LABELS)
    if labels.dtype.kind == "O":
        if any(_missing_label(v) for v in labels):
            raise ValueError("y contains None, NaN or infinite labels")
        if any(_fractional(v) for v in labels):  # as for a float array of the same values
            raise ValueError(_CONTINUOUS_LABELS)
    classes, y_index = _unique_inverse(labels)
    if classes.shape[0] < 2:
        raise ValueError(f"y needs at least 2 classes, got {classes.shape[0]} class "
                         f"({classes!r})")
    return classes, y_index


_CONTINUOUS_LABELS = ("Unknown label type: continuous. Classifiers need discrete labels "
                      "(integers, strings, bools, or floats with integral values)")


def _fractional(v: Any) -> Union[bool, np.bool_]:
    """Whether v is a finite real number (Python, NumPy, Decimal, Fraction) that
    is not an integer."""
    if isinstance(v, numbers.Number) and not isinstance(v, numbers.Integral):
        try:
            # a Number need not take int(): a complex raises TypeError, caught below
            return v != int(v)  # type: ignore[call-overload]
        except (TypeError, ValueError, ArithmeticError):  # complex, say: not a real number
            return False
    return False


def _missing_label(v: Any) -> bool:
    """Whether v is None or a non-integral number that is NaN or infinite
    (Python, NumPy or Decimal)."""
    if v is None:
        return True
    if isinstance(v, numbers.Number) and not isinstance(v, numbers.Integral):
        try:  # in the number's own type: Decimal("1e400") is finite
            # a Number need not take abs(): the TypeError is caught below
            return bool(v != v) or abs(v) == math.inf  # type: ignore[arg-type]
        except (TypeError, ValueError, ArithmeticError):  # a signaling Decimal NaN, say
            return True
    return False


# Integer labels up to this value are encoded with a lookup table instead of a sort.
_MAX_TABLE_LABEL = 1 << 20


def _unique_inverse(y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """np.unique(y, return_inverse=True), with the inverse as intp.

    Non-negative integer labels (the usual case) take a path that needs at most
    one n-sized temporary, and none when y is already intp holding 0..K-1:
    training then allocates far less than X.
    """
    if y.dtype.kind in "biu" and y.shape[0] and y.min() >= 0 and y.max() < _MAX_TABLE_LABEL:
        # y itself when it is intp (fit's own copy)
        labels: np.ndarray = y.astype(np.intp, copy=False)
        counts = np.bincount(labels)
        classes = np.flatnonzero(counts)
        if classes.shape[0] == counts.shape[0]:  # labels are exactly 0..K-1
            return classes.astype(y.dtype), labels
        table = np.zeros(counts.shape[0], dtype=np.intp)
        table[classes] = np.arange(classes.shape[0])
        return classes.astype(y.dtype), table[labels]
    try:
        uniques, inverse = np.unique(y, return_inverse=True)
    except TypeError as err:
        raise TypeError(f"the labels in y cannot be compared with each other (mixed types?): "
                        f"{err}") from None
    return uniques, inverse.reshape(-1).astype(np.intp, copy=False)


class SoftmaxRegression(_LinearClassifier):
    """Softmax regression (multinomial logistic regression), K >= 2 classes.

    Model: ``P(y = k | x) = softmax(W x + b)_k`` with W (K, M), b (K,), trained
    on the mean over the rows (weighted by ``sample_weight`` and
    ``class_weight``) of the cross-entropy ``-log P(y_i | x_i)``
    (``loss="log"``) or of the squared error between probabilities and
    one-hot targets (``loss="mse"``), plus ``(alpha / 2) ||W||^2``, from zero
    initial weights as in the lectures.  The gradient is that of the mean,
    ``(1/n) X^T (A - Y)``, as in the lectures' Iris and MNIST code, whose
    learning rates carry over unchanged.  Where a lecture steps on the loss
    summed over the rows, its step eta is ``learning_rate = n * eta`` here
    (``batch_size * eta`` for minibatches).

    Parameters
    ----------
    solver : {"lbfgs", "gd", "sgd"}
        "lbfgs" (default): L-BFGS with a Wolfe line search, to the exact
        regularized optimum (within ``tol``).
        "gd": the lectures' full-batch gradient descent, one step per epoch.
        "sgd": the lectures' minibatch stochastic gradient descent
        (``batch_size=1`` is the per-sample learning rule); with weights,
        a batch steps along its weighted gradient sum over its row count
        times the mean weight of all rows (an unbiased estimate of the
        weighted mean's gradient, so weights count at any batch size).
    alpha : float, default 0
        L2 penalty (bias not penalized).  scikit-learn's ``C`` corresponds to
        ``alpha = 1 / (C * s)``, s the sum of the rows' weights
        (``sample_weight`` times the class weights); on two classes to
        ``alpha = 2 / (C * s)``: scikit-learn's binary model has one weight
        vector w, where the two rows here are -w/2 and w/2 at the optimum,
        with half w's penalty.
    tol : float, default 1e-8
        "lbfgs" stops when ||gradient||_2 <= tol * max(1, initial norm)
        (``tol=0``: when its line search finds no decrease; "gd" and "sgd"
        run their ``max_iter`` epochs whatever ``tol``).
        The default, 1e-8, is tight on purpose: the objective's excess over
        the optimum grows like ||gradient||^2 / alpha, so a weak penalty
        (alpha ~ 1e-5, scikit-learn's C = 100 on small data) needs a small
        gradient to be within 1e-7 of the optimum.  Weaker penalties still
        need a smaller ``tol``.  The solver also stops when its line search
        finds no decrease, with a ConvergenceWarning if the gradient norm
        is still above 1e-3 of its initial size (at least 1) or the
        objective could still fall by more than 1e-6 of itself (at least 1;
        estimated from the
        Hessian's diagonal at zero), else quietly: in float32 the
        gradient's rounding often stops it so, short of ``tol``.
    max_iter : int or None
        Iterations ("lbfgs", default 1000) or epochs ("gd", "sgd", default 100).
        Reaching it before ``tol`` gives a ConvergenceWarning ("lbfgs").
    learning_rate : float, default 0.1
        Step size eta ("gd", "sgd").  Too large a step makes the objective
        rise: ``fit`` warns (ConvergenceWarning) when ``loss_curve_`` ends
        more than 10% above the objective at the starting weights
        (``loss_curve_[0]`` for "gd"), and raises ValueError ("training
        diverged ...") when the weights or the objective overflow, leaving a
        fitted model as it was.  With a penalty,
        ``learning_rate * alpha`` must be at most 2: above, the penalty's
        part of each step grows the weights geometrically, and ``fit``
        refuses it before training.
    batch_size : int, default 256
        Minibatch size ("sgd"); a batch larger than the data is the whole data.
    loss : {"log", "mse"}, default "log"
        The loss per row: "log", the cross-entropy (negative log-likelihood),
        or "mse", the squared error between the probabilities and the
        one-hot targets.
    fit_intercept : bool, default True
        Learn b (else b stays 0).
    class_weight : dict, "balanced" or None, default None
        Multiplies each row's weight by its class's weight; "balanced" uses
        s / (K * s_c), s_c the sum of the class's sample weights and s that
        of all rows (n / (K * count of the class) without ``sample_weight``),
        as scikit-learn does from version 1.7 on (before, it counted rows
        whatever the sample weights).
    shuffle : bool, default True
        Visit rows in a new random order each epoch ("sgd").
    random_state : int, numpy SeedSequence or Generator, or None, default None
        Seed of the shuffling ("sgd" with ``shuffle=True``; other solvers
        draw nothing).  A Generator is drawn from, so a second fit with the
        same one shuffles differently; an int or a SeedSequence repeats.
    warm_start : bool, default False
        Start from the previous fit's coefficients (or ``coef_`` and
        ``intercept_`` set by hand), which must be of this fit's shape and,
        after a fit, of its classes: else ValueError.  (A warm-started "sgd"
        fit reads X once more, for the objective at its starting weights that
        the rising-objective warning compares with: a fresh fit gets it
        without reading X.)
    n_jobs : int or None, default None
        Threads for the passes over X (full batches, SGD minibatches of 256
        rows or more, predictions; None: 1, -1: all the cores this process
        may use); the result does not depend on it.  An SGD epoch whose
        threads keep waiting for each other (a machine busy with other work)
        goes on in one thread.
    verbose : int, default 0
        Show progress: a bar on a terminal, a line per epoch otherwise
        (on standard error).

    Attributes
    ----------
    coef_ : ndarray (K, M)
        The weights W, in X's float type (float32 X: float32), one row per
        class, two rows on two classes.  (The lectures' stacked
        ``theta`` of shape (M + 1, K) is ``[intercept_; coef_.T]``.)
    intercept_ : ndarray (K,)
        The bias b, in X's float type (zeros when ``fit_intercept=False``).
    classes_ : ndarray (K,)
        The sorted distinct labels of y, in y's dtype; column k of
        predict_proba is the probability of ``classes_[k]``.
    n_features_in_ : int
    feature_names_in_ : ndarray (M,) of str objects
        The column names of a data frame X passed to fit, when they are all
        strings (as in scikit-learn); only then is it set.  Predictions on a
        data frame whose columns differ (other names, missing or extra ones,
        another order) raise ValueError; a data frame with string column
        names given to a model fitted without names, or other X given to
        one fitted with them, gives a UserWarning.
    n_iter_ : int
        Iterations ("lbfgs") or epochs ("gd" and "sgd", always ``max_iter``)
        run; ``len(loss_curve_) == n_iter_``.
    loss_curve_ : list of float
        The objective (mean loss plus penalty) per iteration: for "gd" at the
        weights before each step (``loss_curve_[0]`` is that of the initial
        weights), for "sgd" the mean over the epoch's
        minibatches of their objective before each step (with weights, of
        each batch's estimate of the weighted objective: its weighted loss
        sum over its row count times the mean weight), for "lbfgs" at the
        weights after each iteration.
    """

    def _encode_targets(self, y: ArrayLike, n: int, dtype: np.dtype) -> _Targets:
        classes, y_index = _encode_labels(y, n)
        return classes, y_index, None, classes.shape[0], "softmax", "softmax"


class LogisticRegression(_LinearClassifier):
    """Logistic regression: sigmoid outputs trained on the log loss.

    * two classes: one sigmoid unit, ``P(y = classes_[1] | x) = sigma(w.x + b)``,
      coef_ of shape (1, M);
    * more than two classes in a 1-D y: one-vs-rest ("one-vs-all"), K
      independent sigmoids, probabilities normalized over the classes;
    * a 2-D 0/1 indicator y (n, K): multi-label, K independent sigmoids;
      predict returns an indicator matrix and predict_proba each label's
      probability.

    Each sigmoid is its own binary problem: the objective is the mean over
    the rows of the binary cross-entropies summed over the K sigmoids (K = 1
    on two classes; class c's target is 1 for sigmoid c, 0 for the others),
    plus ``(alpha / 2) ||W||^2``: ``K log 2`` at zero weights.
    ``loss="mse"`` trains sigma(z) on the squared error instead,
    ``sum_k (sigma(z_k) - y_k)^2`` per row (the lectures' attenuated-gradient
    comparison).  Parameters and attributes are those of
    :class:`SoftmaxRegression`, except:

    * ``alpha``: scikit-learn's ``C`` corresponds to ``alpha = 1 / (C * s)``
      on any number of classes (two: scikit-learn's binary
      ``LogisticRegression``; more: ``OneVsRestClassifier`` of it):
      ``SoftmaxRegression``'s two-class rule does not apply, the one
      sigmoid carrying the whole w;
    * ``class_weight`` is refused (ValueError) for a multi-label y;
    * ``coef_`` is (1, M) on two classes, and a multi-label fit's
      ``classes_`` is ``arange(K)``.

    Attributes
    ----------
    coef_, intercept_, classes_, n_features_in_, n_iter_, loss_curve_
        As in :class:`SoftmaxRegression`.
    feature_names_in_ : ndarray (M,) of str objects
        The column names of a data frame X passed to fit, when they are all
        strings; only then is it set.  Predictions check X's columns against
        it, as :class:`SoftmaxRegression`'s do.
    """

    _link = "sigmoid"
    _multi_label = True

    def _encode_targets(self, y: ArrayLike, n: int, dtype: np.dtype) -> _Targets:
        y_arr = _targets(y)
        if y_arr.ndim == 2 and y_arr.shape[1] > 1:
            if y_arr.shape[0] != n:
                raise ValueError(f"X has {n} rows but y has {y_arr.shape[0]}")
            Y = as_float_array(y_arr, "y", dtype=dtype)
            check_finite(Y, "y")
            if not np.isin(Y, (0, 1)).all():
                raise ValueError("a 2-D y must be a 0/1 indicator matrix (multi-label)")
            k = Y.shape[1]
            return np.arange(k), None, Y, k, "sigmoid", "multilabel"
        classes, y_index = _encode_labels(y_arr, n)
        if classes.shape[0] == 2:
            return classes, y_index, None, 1, "sigmoid", "binary"
        return classes, y_index, None, classes.shape[0], "sigmoid", "ovr"

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each row of X (n, M), labels from
        classes_: shape (n,); for a multi-label fit, the (n, K) 0/1 indicator
        matrix of the labels whose probability exceeds 1/2."""
        return super().predict(X)

    def _fused_pass(self, fitted: "_Fitted") -> _FusedPass:
        # binary: [sigma(-z), sigma(z)], each exact (1 - sigma(z) would not be);
        # one-vs-rest: the sigmoids normalized across the classes
        return {"multilabel": _SIGMOID_PASS, "binary": _PAIR_PASS, "ovr": _OVR_PASS}[fitted.mode]


# the attributes of a fitted estimator that _Fitted's fields come from, in field order
# (and last _feature_names_in, the feature names or None, absent from a model
# pickled before sigmax kept them: None then)
_FITTED_ATTRIBUTES = ("coef_", "intercept_", "classes_", "_mode", "_fitted_link", "n_features_in_")
# their values in a tuple, in one call (a prediction takes them every time)
_fitted_values = operator.itemgetter(*_FITTED_ATTRIBUTES)


class _Fitted(NamedTuple):
    """What a prediction reads of a fitted model, read at once (``_fitted``)."""

    coef: Any
    intercept: Any
    classes: np.ndarray
    mode: str        # "softmax", "binary", "ovr" or "multilabel"
    link: str        # the link fit trained
    n_features: int
    feature_names: Optional[np.ndarray]  # feature_names_in_, None without

    @classmethod
    def of(cls, state: Dict[str, Any]) -> Optional["_Fitted"]:
        """The fitted model in an estimator's attributes ``state``, or None when
        it is not fitted.  fit sets the link and the label layout along with
        coef_: coefficients set by hand on a model never fitted leave it
        unfitted."""
        try:
            values = _fitted_values(state)
        except KeyError:
            return None
        if state["coef_"] is None:
            return None
        return cls(*(values + (state.get("_feature_names_in"),)))


