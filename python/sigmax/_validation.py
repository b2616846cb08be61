"""Input checks shared by the low-level functions and the estimators.

Everything a user can hand to sigmax passes through here before it reaches the
C kernels, so the kernels can assume clean input: float32 or float64 arrays in
native byte order, aligned, with matching shapes.  Arrays that already have
that form are passed through without a copy (views and memory maps included).
"""
from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from types import FrameType
from typing import Any, List, Optional

import numpy as np
import numpy.typing as npt

LINKS = {"softmax": 0, "sigmoid": 1}
LOSSES = {"log": 0, "mse": 1}


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """float32 stays float32; every other accepted input computes in float64."""
    single = dtype.kind == "f" and dtype.itemsize == 4  # either byte order
    return np.dtype(np.float32) if single else np.dtype(np.float64)


def as_array(a: Any, name: str) -> np.ndarray:
    """np.asarray(a), with a message that names ``a`` when it cannot be one
    array (ragged nesting, say)."""
    try:
        return np.asarray(a)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} could not be read as an array: {err}") from None


def _as_real_array(a: Any, name: str) -> np.ndarray:
    """np.asarray(a), refusing what cannot be read as real numbers."""
    if hasattr(a, "tocsr") or type(a).__module__.startswith("scipy.sparse"):
        raise TypeError(f"sparse input is not supported: {name} must be a dense array "
                        "(use .toarray())")
    if a is None:
        raise ValueError(f"{name} is None: expected an array-like of real numbers")
    arr = as_array(a, name)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        try:  # an object array of numbers is converted, once
            arr = arr.astype(np.float64)
        except (TypeError, ValueError, OverflowError) as err:
            raise TypeError(f"{name} must hold real numbers; as an object array it could not "
                            f"be converted: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float), got dtype {arr.dtype}"
        )
    return arr


def as_float_array(
    a: Any, name: str, ndim: Optional[int] = None, dtype: Optional[npt.DTypeLike] = None
) -> np.ndarray:
    """An aligned native-order float32/float64 ndarray view of ``a``.

    ``dtype=None`` keeps float32 and float64 as they are and converts bool,
    integer and float16 input to float64 (one copy).  Non-native byte order and
    misaligned buffers are converted; anything else is returned as it is.
    """
    arr = _as_real_array(a, name)
    if ndim is not None and arr.ndim != ndim:
        hint = ""
        if name == "X" and ndim == 2 and arr.ndim == 1:
            hint = (". Reshape your data with X.reshape(-1, 1) for a single feature "
                    "or X.reshape(1, -1) for a single sample")
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}{hint}")
    target = compute_dtype(arr.dtype) if dtype is None else np.dtype(dtype)
    if arr.dtype != target or not arr.dtype.isnative:
        with np.errstate(over="ignore"):
            cast = arr.astype(target.newbyteorder("="))
        if arr.dtype.kind == "f" and arr.dtype.itemsize > target.itemsize \
                and (np.isinf(cast) & np.isfinite(arr)).any():
            raise ValueError(f"{name} has values beyond the range of {target}, the dtype it "
                             f"is converted to")
        arr = cast
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")


def check_link_loss(link: str, loss: str) -> tuple[int, int]:
    if not isinstance(link, str) or link not in LINKS:
        raise ValueError(f"link must be one of {sorted(LINKS)}, got {link!r}")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    return LINKS[link], LOSSES[loss]


def as_real(value: Any, name: str) -> float:
    """value as a float, if it is a real number: a Python, NumPy (0-d arrays
    included), Decimal or Fraction number, but not a bool or a string."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be a real number within float64's range, "
                        f"got {value!r}") from None


def check_alpha(alpha: Any) -> float:
    value = as_real(alpha, "alpha")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}")
    return value


def check_sample_weight(sample_weight: Any, n: int,
                        dtype: npt.DTypeLike) -> Optional[np.ndarray]:
    """The (n,) row weights in ``dtype`` for the kernels, or None for equal
    weights: :func:`valid_sample_weight`, then :func:`kernel_weights`."""
    return kernel_weights(valid_sample_weight(sample_weight, n), dtype)


def valid_sample_weight(sample_weight: Any, n: int) -> Optional[np.ndarray]:
    """sample_weight as (n,) float64 weights, finite, non-negative and not all
    zero (a scalar is every row's weight), or None when it is None."""
    if sample_weight is None:
        return None
    sw = as_float_array(sample_weight, "sample_weight", dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, sw, dtype=np.float64)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
    check_finite(sw, "sample_weight")
    if (sw < 0).any():
        raise ValueError("sample_weight must be non-negative")
    if not sw.any():
        raise ValueError("sample_weight must not be all zero")
    return sw


def kernel_weights(w: Optional[np.ndarray], dtype: npt.DTypeLike) -> Optional[np.ndarray]:
    """Row weights ``w`` (float64, finite, >= 0; None for equal weights) in
    ``dtype`` for the kernels.

    They must not all be zero.  They are scaled by a power of two that brings
    the largest into [0.5, 1): the objective, a weighted mean, is bit for bit
    the same, and neither the sums (in float64) nor float32 weights can
    overflow or vanish, whatever the weights' scale.
    """
    if w is None:
        return None
    if not w.any():
        raise ValueError("the sample weights times the class weights are all zero (or "
                         "below float64's range)")
    return unit_scaled(w).astype(dtype)


def unit_scaled(v: np.ndarray) -> np.ndarray:
    """v (finite, >= 0, not all zero) times the power of two that brings its
    largest value into [0.5, 1): exact, unless a value underflows."""
    return np.ldexp(v, -int(np.frexp(v.max())[1]))


def class_indices(y: Any, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Validate integer class indices in [0, n_classes) and return them as intp."""
    arr = _as_real_array(y, name)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
        if (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold integer class indices, got non-integral values")
    elif arr.dtype.kind not in "biu":
        raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if n and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must hold class indices in [0, {n_classes}), "
            f"got values in [{arr.min()}, {arr.max()}]"
        )
    if arr.dtype != np.intp or not arr.dtype.isnative or not arr.flags.aligned:
        arr = arr.astype(np.intp)
    return arr


# The data frames whose column names are feature names, as scikit-learn (through
# narwhals) recognizes them: (module, class, attribute listing the names).  An X
# can only be one of them when its library is imported, so they are looked up in
# sys.modules: sigmax imports none of them.
_DATA_FRAMES = (
    ("pandas", "DataFrame", "columns"),
    ("fireducks.pandas", "DataFrame", "columns"),
    ("modin.pandas", "DataFrame", "columns"),
    ("cudf", "DataFrame", "columns"),
    ("polars", "DataFrame", "columns"),
    ("pyarrow", "Table", "column_names"),
    ("narwhals.dataframe", "DataFrame", "columns"),
)


def _column_names(X: Any) -> Optional[List[Any]]:
    """The column names of X when it is one of _DATA_FRAMES, else None."""
    for module_name, class_name, attribute in _DATA_FRAMES:
        frame = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(frame, type) and isinstance(X, frame):
            return list(getattr(X, attribute))
    return None


def feature_names(X: Any) -> Optional[np.ndarray]:
    """X's feature names, scikit-learn's rule: a data frame's column names as
    an object array when they are all strings; None when X is no data frame,
    has no columns or none of its names is a string.  Names of which some
    are strings and some not raise TypeError."""
    if isinstance(X, np.ndarray):  # the usual case, at no cost
        return None
    columns = _column_names(X)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(v) for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            f"X's column names mix strings with other types ({', '.join(types)}): feature "
            "names are kept only when every column name is a string.  Make them all "
            "strings (X.columns = X.columns.astype(str), for a pandas DataFrame) to have "
            "them stored and checked, or none of them strings to go without")
    return names if types == ["str"] else None


def check_feature_names(X: Any, fitted: Optional[np.ndarray], estimator: str) -> None:
    """Check X's feature names against ``fitted``, those of the fit (None: it
    had none), as scikit-learn does: a ValueError when they differ (names
    unseen in fit, missing ones, another order), a UserWarning when only one
    of the two has names.  ``estimator`` is the estimator's class name."""
    names = feature_names(X)
    if names is None and fitted is None:
        return
    if fitted is None:
        warn_caller(f"X has feature names, but {estimator} was fitted on data without any: "
                    "its columns are taken by position, unchecked")
        return
    if names is None:
        warn_caller(f"X does not have valid feature names, but {estimator} was fitted "
                    "with them (feature_names_in_): its columns are taken by position, "
                    "unchecked")
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    message = "The feature names should match those that were passed during fit.\n"
    unseen = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    if unseen:
        message += "Feature names unseen at fit time:\n" + _listed(unseen)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
    if not unseen and not missing and Counter(names.tolist()) != Counter(fitted.tolist()):
        message += "Some feature names are repeated more or fewer times than in fit.\n"
    elif not unseen and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _listed(names: List[str], most: int = 5) -> str:
    """The first ``most`` names, one per line, then "- ..." if there are more."""
    lines = [f"- {name}\n" for name in names[:most]]
    return "".join(lines) + ("- ...\n" if len(names) > most else "")


# the frames of sigmax's own code are those of the files in this directory
_PACKAGE_DIR = os.path.dirname(__file__) + os.sep


def warn_caller(message: str) -> None:
    """A UserWarning, attributed to the code that called into sigmax (the
    first frame outside the package), however deep in sigmax the call that
    warns: as for sigmax's other warnings, the caller's line is shown."""
    frame: Optional[FrameType] = sys._getframe(1)
    level = 2  # warnings.warn's stacklevel of frame
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)
