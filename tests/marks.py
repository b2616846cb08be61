"""Pytest marks shared by the test modules."""
import pytest

# For a test whose fit stops at a small max_iter on purpose (to stay fast): the
# ConvergenceWarning it gives is expected, and hidden so that an unexpected
# warning stands out in the test report.
STOPS_EARLY = pytest.mark.filterwarnings("ignore::sigmax.ConvergenceWarning")
