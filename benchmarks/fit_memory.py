"""Peak memory of one SoftmaxRegression fit beyond its inputs, in a fresh process.

    python benchmarks/fit_memory.py X.npy y.npy SOLVER MAX_ITER SEED

prints one JSON object: X_nbytes, peak_bytes (tracemalloc) and rss_peak_bytes
(null where /proc/self/clear_refs is not available).  The benchmark's memory
section runs this once per case: a fresh interpreter holds only NumPy, sigmax,
X and y, so the resident-memory figure does not depend on what the sections
before it loaded and freed (the allocator's free lists and thresholds).
"""
from __future__ import annotations

import ctypes
import gc
import json
import sys
import tracemalloc
import warnings
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

import sigmax


def traced_peak(fn: Callable[[], Any]) -> int:
    """Bytes allocated at the peak of fn() beyond what was allocated before
    (tracemalloc sees NumPy's buffers)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_peak_growth(fn: Callable[[], Any]) -> Optional[int]:
    """Growth of the process's peak resident memory during fn() (Linux: VmHWM
    after resetting it through /proc/self/clear_refs), which also sees what
    the C code allocates and touches; None where that is not available.  The
    C library first returns its free memory to the system (malloc_trim), so
    that fn's allocations show instead of reusing pages it kept."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except (OSError, AttributeError):
        return None
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    return None if before is None or peak is None else max(0, peak - before) * 1024


def measure(X: np.ndarray, y: np.ndarray, solver: str, max_iter: int, seed: int
            ) -> Dict[str, Any]:
    """tracemalloc's and the resident memory's peak growth during one fit."""
    def fit() -> None:
        model = sigmax.SoftmaxRegression(solver=solver, max_iter=max_iter, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter is meant to stop lbfgs early
            model.fit(X, y)

    fit()  # warm-up: first-call allocations of the interpreter and NumPy
    return {"X_nbytes": X.nbytes, "peak_bytes": traced_peak(fit),
            "rss_peak_bytes": rss_peak_growth(fit)}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    x_path, y_path, solver, max_iter, seed = argv
    X, y = np.load(x_path), np.load(y_path)  # read into memory, not mapped
    print(json.dumps(measure(X, y, solver, int(max_iter), int(seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
