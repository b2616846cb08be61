"""Timing and environment helpers shared by the benchmark sections.

Timing discipline (the machines are shared and noisy):

* every contender runs once untimed first (warm-up: page faults, lazy
  imports, thread pools, caches);
* the contenders of one measurement are interleaved round by round, each
  round in a fresh random order (seeded, and recorded with the results), so
  a burst of load from elsewhere hits all of them alike instead of one, and
  no contender always runs right after the same other one;
* each timed call is preceded by an untimed set-up (resetting weights,
  setting thread counts), a garbage collection and a wait until the
  process uses no CPU (worker threads of other libraries spin for a while
  after a call); the garbage collector is off during the timed call;
* calls shorter than 20 ms are repeated within a sample (the per-call time
  is reported), so that the pause does not dominate them;
* the minimum (the least disturbed run) and the median are both reported.
"""
from __future__ import annotations

import contextlib
import datetime
import gc
import math
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

PAUSE_S = 0.01  # the unit of the wait for quiet before each timed call
MAX_WAIT_S = 0.5  # the longest such wait
MIN_SAMPLE_S = 0.02  # shorter calls are repeated within one sample


@dataclass
class Task:
    """One contender: ``run`` is timed; ``setup``/``teardown`` are not."""

    name: str
    run: Callable[[], object]
    setup: Optional[Callable[[], None]] = None
    teardown: Optional[Callable[[], None]] = None


@dataclass
class Timing:
    """The samples of one contender, in seconds per call: wall-clock time,
    and the process's CPU time (all its threads) during the same calls."""

    samples: List[float] = field(default_factory=list)
    cpu_samples: List[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.samples.append(wall)
        self.cpu_samples.append(cpu)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_per_wall(self) -> Optional[float]:
        """CPU time / wall time of the fastest sample: about the number of
        cores the process held, threads spin-waiting for work counted as busy
        (so not a measure of useful work); below 1 when descheduled."""
        if not self.cpu_samples:
            return None
        i = self.samples.index(self.min)
        return self.cpu_samples[i] / self.samples[i]

    def as_dict(self) -> Dict[str, object]:
        return {"min_s": self.min, "median_s": self.median, "samples_s": list(self.samples),
                "cpu_samples_s": list(self.cpu_samples), "cpu_per_wall": self.cpu_per_wall}


def wait_for_quiet(step: float = PAUSE_S, limit: float = MAX_WAIT_S) -> float:
    """Sleep until this process uses (almost) no CPU; returns the time waited.

    Worker threads of a previous call can go on spinning after it returns
    (OpenBLAS's for about 0.1 s), keeping a core busy that the next timed
    call would need; this waits them out, in steps of ``step`` seconds.
    """
    start = time.perf_counter()
    while True:
        cpu = time.process_time()
        time.sleep(step)
        if time.process_time() - cpu < 0.2 * step or time.perf_counter() - start > limit:
            return time.perf_counter() - start


def time_once(task: Task, number: int = 1) -> Tuple[float, float]:
    """Set up, then time ``number`` calls of ``task.run`` with the GC off;
    returns the wall-clock and CPU time per call."""
    if task.setup is not None:
        task.setup()
    gc.collect()
    wait_for_quiet()
    enabled = gc.isenabled()
    gc.disable()
    try:
        cpu_start = time.process_time()
        start = time.perf_counter()
        for _ in range(number):
            task.run()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    finally:
        if enabled:
            gc.enable()
        if task.teardown is not None:
            task.teardown()
    return elapsed / number, cpu / number


class RaceResult(dict):
    """The timings of a race by task name, and ``orders``: the task names in
    the order they ran, one list per timed round."""

    def __init__(self, timings: Dict[str, Timing], orders: List[List[str]]):
        super().__init__(timings)
        self.orders = orders


def race(tasks: Sequence[Task], repeats: int, warmup: int = 1,
         min_sample_s: float = MIN_SAMPLE_S, seed: int = 0) -> RaceResult:
    """Time every task ``repeats`` times, interleaved, after ``warmup`` rounds.

    Each timed round runs the tasks in a fresh random order (drawn from
    ``seed``), so that no contender always runs right after the same other
    one.  A task faster than ``min_sample_s`` is called several times per
    sample (the number fixed by the last warm-up call).
    """
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"task names must be unique: {names}")
    # Objects that exist now (modules, data) need no collecting: freezing them
    # keeps gc.collect() before each sample from taking 0.1 s with torch loaded.
    gc.collect()
    gc.freeze()
    number = {}
    for task in tasks:
        for _ in range(max(warmup, 1)):
            per_call = time_once(task)[0]
        number[task.name] = max(1, math.ceil(min_sample_s / max(per_call, 1e-9)))
    timings = {task.name: Timing() for task in tasks}
    rng = random.Random(seed)
    orders = []
    for _ in range(repeats):
        order = rng.sample(list(tasks), len(tasks))
        orders.append([task.name for task in order])
        for task in order:
            timings[task.name].add(*time_once(task, number[task.name]))
    return RaceResult(timings, orders)


@dataclass
class Best:
    """The best configuration of one contender: the configuration with the
    smallest minimum, its ``name``, ``min`` and ``median`` (the median of that
    same configuration, not the smallest median of all of them)."""

    name: str
    min: float
    median: float


def best_of(timings: Dict[str, Timing], names: Sequence[str]) -> Best:
    name = min(names, key=lambda n: timings[n].min)
    return Best(name, timings[name].min, timings[name].median)


# -- thread control for NumPy's BLAS (threadpoolctl ships with scikit-learn) ----
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


_CONTROLLER = None


def thread_control() -> bool:
    """Whether threadpoolctl is there to set the thread counts of the BLAS and
    OpenMP thread pools (without it, blas_threads and all_threads do nothing)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = _controller() or False
    return bool(_CONTROLLER)


NO_THREAD_CONTROL = ("threadpoolctl is not installed, so the BLAS's thread count cannot be "
                     "set: each BLAS contender runs once, at the BLAS's default thread count "
                     "(named \"BLAS default threads\"), instead of once per thread count "
                     "(pip install threadpoolctl to include them)")


def blas_settings(threads: Sequence[int]) -> List[Tuple[str, Optional[int]]]:
    """The BLAS thread settings to time, as (label, thread count): one per
    count in ``threads``, labelled "BLAS t thr"; without threadpoolctl, which
    alone can set them, the one setting there is, ("BLAS default threads",
    None), since a label naming a count would not be true."""
    if thread_control():
        return [(f"BLAS {t} thr", t) for t in threads]
    return [("BLAS default threads", None)]


@contextlib.contextmanager
def blas_threads(n: Optional[int]) -> Iterator[None]:
    """Limit the BLAS libraries to ``n`` threads inside the block (no-op for
    None or without threadpoolctl: see thread_control)."""
    if n is None or not thread_control():
        yield
        return
    with _CONTROLLER.limit(limits=n, user_api="blas"):
        yield


@contextlib.contextmanager
def all_threads(n: int) -> Iterator[None]:
    """Limit BLAS and OpenMP thread pools (NumPy's, scikit-learn's, torch's)
    to ``n`` threads inside the block (no-op without threadpoolctl)."""
    controller = _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=n):
        yield


class BlasLimit:
    """``blas_threads(n)`` split into enter/exit callables, usable as a
    Task's untimed setup and teardown."""

    def __init__(self, n: Optional[int]):
        self.n = n
        self._ctx: Optional[contextlib.AbstractContextManager] = None

    def enter(self) -> None:
        self._ctx = blas_threads(self.n)
        self._ctx.__enter__()

    def exit(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None


# -- the machine -------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def simd_flags() -> List[str]:
    """The vector extensions the CPU reports (avx, avx2, avx512f, fma)."""
    wanted = ("avx", "avx2", "fma", "avx512f")
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [flag for flag in wanted if flag in flags]
    except OSError:
        pass
    return []


def _version(module: str) -> Optional[str]:
    try:
        mod = __import__(module)
    except Exception:  # not installed, or broken (e.g. a torch without its libraries)
        return None
    return getattr(mod, "__version__", "unknown")


def blas_info() -> List[str]:
    controller = _controller()
    if controller is None:
        return []
    return [f"{info.get('internal_api')} {info.get('version')} ({info.get('num_threads')} threads)"
            for info in controller.info() if info.get("user_api") == "blas"]


def load_average() -> Optional[List[float]]:
    """The 1, 5 and 15-minute load averages (None where unavailable)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> Dict[str, object]:
    """What the results depend on: hardware, load, library versions, date."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "simd": simd_flags(),
        "load_average_at_start": load_average(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sigmax": _version("sigmax"),
        "numpy": _version("numpy"),
        "scikit-learn": _version("sklearn"),
        "scipy": _version("scipy"),
        "torch": _version("torch"),
        "threadpoolctl": _version("threadpoolctl"),
        "blas": blas_info(),
    }
