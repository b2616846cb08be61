"""Exceptions and warnings raised by sigmax estimators.

sigmax never imports scikit-learn.  When the caller has imported it, errors
and warnings are raised as subclasses of both sigmax's class and
scikit-learn's class of the same name, so code (and scikit-learn's own
checks) catching either one works.
"""
import sys
from typing import Any, Dict, Optional, Tuple, Type, TypeVar


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (scikit-learn's convention: a
    ValueError and an AttributeError at once)."""


class ConvergenceWarning(UserWarning):
    """A fit may not have reached what was asked: L-BFGS stopped short of its
    tolerance (at max_iter, or where its line search found no decrease), the
    "gd" or "sgd" objective ended more than 10% above its start (too large a
    learning rate), or the problem has no finite minimizer (separable classes
    without a penalty)."""


class DataConversionWarning(UserWarning):
    """Input was converted to another shape than given (a column-vector y)."""


_combined: Dict[Tuple[type, type], type] = {}

_E = TypeVar("_E", bound=BaseException)


def compatible(cls: Type[_E]) -> Type[_E]:
    """cls, or a subclass of cls and of scikit-learn's namesake when loaded."""
    sk = sys.modules.get("sklearn.exceptions")
    base = getattr(sk, cls.__name__, None) if sk is not None else None
    if base is None or issubclass(cls, base):
        return cls
    key = (cls, base)
    if key not in _combined:
        # the class is no module attribute: pickle the sigmax one's name
        def __reduce__(self: BaseException) -> Tuple[Any, ...]:
            return _rebuild, (cls, self.args, self.__dict__ or None)

        _combined[key] = type(cls.__name__, (cls, base), {"__module__": cls.__module__,
                                                          "__doc__": cls.__doc__,
                                                          "__reduce__": __reduce__})
    return _combined[key]


def _rebuild(cls: Type, args: tuple, state: Optional[dict]) -> BaseException:
    """An unpickled error or warning: compatible(cls) of the receiving process."""
    obj = compatible(cls)(*args)
    if state:
        obj.__dict__.update(state)
    return obj


__all__ = ["NotFittedError", "ConvergenceWarning", "DataConversionWarning"]
