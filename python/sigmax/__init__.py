"""sigmax: logistic and softmax regression on fused C kernels.

Low level (the lectures' formulas): :func:`sigmoid`, :func:`softmax`,
:func:`log_softmax`, :func:`logits`, :func:`loss`, :func:`loss_grad`.
Estimators: :class:`LogisticRegression`, :class:`SoftmaxRegression`.
Data: :mod:`sigmax.datasets`.
"""
from . import datasets
from ._api import log_softmax, logits, loss, loss_grad, sigmoid, softmax
from ._estimators import LogisticRegression, SoftmaxRegression
from .exceptions import ConvergenceWarning, NotFittedError

__version__ = "0.1.0"

__all__ = [
    "sigmoid",
    "softmax",
    "log_softmax",
    "logits",
    "loss",
    "loss_grad",
    "LogisticRegression",
    "SoftmaxRegression",
    "NotFittedError",
    "ConvergenceWarning",
    "datasets",
]
