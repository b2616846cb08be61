"""Exceptions and warnings raised by sigmax estimators."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (scikit-learn's convention: a
    ValueError and an AttributeError at once)."""


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` before reaching its tolerance."""


__all__ = ["NotFittedError", "ConvergenceWarning"]
