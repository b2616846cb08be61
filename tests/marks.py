"""Pytest marks and environment checks shared by the test modules."""
import pytest

# For a test whose fit stops at a small max_iter on purpose (to stay fast): the
# ConvergenceWarning it gives is expected, and hidden so that an unexpected
# warning stands out in the test report.
STOPS_EARLY = pytest.mark.filterwarnings("ignore::sigmax.ConvergenceWarning")


def under_memory_tool() -> bool:
    """Whether this process runs under ASan or valgrind, whose quarantine keeps
    freed memory resident: RSS means nothing there."""
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return False
    return "libasan" in maps or "vgpreload" in maps
