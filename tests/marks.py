"""Pytest marks, environment checks and helpers shared by the test modules."""
import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

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


def benchmark_module(name: str):
    """A module of benchmarks/ (which imports its siblings by name)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture
def isa(request):
    """Selects an instruction set (request.param) for one test, then restores
    the one in use before it; test modules import it to parametrize over sets."""
    from sigmax import _core

    before = _core.isa()
    _core.select_isa(request.param)
    try:
        yield request.param
    finally:
        _core.select_isa(before)
