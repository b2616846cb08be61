"""The seven measurements.  Each function returns a JSON-ready dict with its
results, its ``ratios`` (rows for the summary table) and ``notes``, and
those that compare libraries computing the same thing its ``checks``: that
they do (untimed, on the same data; see check_row).

A ratio row says ``ratio = numerator time / denominator time`` and what the
two are; for comparisons with a peer it is always peer time / sigmax time,
so a ratio above 1 means sigmax is faster.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import sigmax
from sigmax import _core

from harness import (
    NO_THREAD_CONTROL,
    BlasLimit,
    Task,
    Timing,
    best_of,
    blas_settings,
    race,
    thread_control,
)
from peers import (
    NumpyLectureSGD,
    SigmaxEstimatorSGD,
    SigmaxKernelSGD,
    SklearnSGDClassifier,
    TorchManualSGD,
    TorchModuleSGD,
    import_sklearn,
    import_torch,
)

DTYPES = (np.float32, np.float64)
FIT_MEMORY = Path(__file__).resolve().parent / "fit_memory.py"


@dataclass
class Data:
    """Training and test sets in both precisions (float32 copies made once)."""

    source: str
    X64: np.ndarray
    y: np.ndarray
    X64_test: np.ndarray
    y_test: np.ndarray
    X32: np.ndarray = field(init=False)
    X32_test: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.X32 = self.X64.astype(np.float32)
        self.X32_test = self.X64_test.astype(np.float32)

    @property
    def k(self) -> int:
        return int(self.y.max()) + 1

    def train(self, dtype) -> np.ndarray:
        return self.X32 if np.dtype(dtype) == np.float32 else self.X64

    def test(self, dtype) -> np.ndarray:
        return self.X32_test if np.dtype(dtype) == np.float32 else self.X64_test

    def describe(self) -> str:
        n, m = self.X64.shape
        return f"{self.source}: {n} x {m} train, {self.X64_test.shape[0]} test, {self.k} classes"


@dataclass
class Config:
    """Sizes and repetitions of one run (full or quick)."""

    quick: bool
    repeats: int       # timed rounds of the SGD epochs
    fast_repeats: int  # timed rounds of the cheaper measurements
    seed: int = 0
    learning_rate: float = 0.1
    batch_size: int = 256
    threads: Tuple[int, ...] = (1, 2)          # thread counts tried for every contender
    scaling_threads: Tuple[int, ...] = (1, 2)  # thread counts of the loss_grad thread sweep
    scale_n: Tuple[int, ...] = (10_000, 20_000, 30_000, 40_000, 50_000, 60_000)
    scale_m: Tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    scale_k: Tuple[int, ...] = (2, 5, 10, 20, 50)
    scale_rows: int = 30_000      # rows of the synthetic M and K sweeps
    scale_k_features: int = 784   # features of the synthetic K sweep
    predict_fit_rows: int = 10_000
    binary_rows: int = 1_000_000              # rows of the binary predict_proba's synthetic X
    binary_features: Tuple[int, ...] = (4, 20)
    fit_C: float = 1.0
    fit_sklearn_tol: float = 1e-4
    fit_sklearn_max_iter: int = 500
    # sigmax's tol is searched on this grid (loosest first) for the fit that reaches
    # scikit-learn's objective; a fine grid (steps of 0.8 down to 1e-4) keeps sigmax
    # from overshooting it
    fit_tols: Tuple[float, ...] = tuple(float(f"{1e-2 * 0.8 ** i:.2g}") for i in range(21)) + (
        3e-5, 1e-5, 1e-6, 1e-7, 1e-8)
    fit_repeats: int = 1


def sklearn_missing(what: str) -> str:
    """The note of a comparison left out for want of scikit-learn."""
    return (f"scikit-learn is not installed: {what} (pip install scikit-learn to "
            "include it).")


# sigmax cuts a full pass over X (loss_grad, predict_proba, an L-BFGS
# iteration) into n // 2048 parts (at least 1, at most 16; csrc/kernels.h,
# SX_PART_MIN_ROWS) and runs at most one thread per part, so n_jobs=2 starts a
# second thread from 4096 rows on (an SGD minibatch of 256 rows is always cut
# in two parts of 128).  It sets its thread count per call (OpenMP's
# num_threads), which threadpoolctl's limit on OpenMP does not change.
PART_MIN_ROWS = 2048


def one_part_notes(what: str, rows: int, threads: Sequence[int]) -> List[str]:
    """A note when a full pass over ``rows`` rows is a single part, so that
    sigmax's n_jobs above 1 runs one thread on it (none otherwise)."""
    if max(threads) < 2 or rows >= 2 * PART_MIN_ROWS:
        return []
    return [f"{what} ({rows} rows) is one part for sigmax, whose passes over X are cut into "
            f"parts of at least {PART_MIN_ROWS} rows, one thread each: there its "
            f"n_jobs={max(threads)} runs on one thread"]


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name


def ratio_row(measurement: str, numerator: str, num: Timing, denominator: str, den: Timing,
              meaning: str = "peer / sigmax") -> Dict[str, Any]:
    return {
        "measurement": measurement,
        "numerator": numerator,
        "numerator_s": num.min,
        "denominator": denominator,
        "denominator_s": den.min,
        "ratio": num.min / den.min,
        "ratio_median": num.median / den.median,
        "meaning": meaning,
    }


# A cross-check's tolerance, in units of rounding of the dtype (its eps).  One
# SGD epoch in stored row order from zero weights: W and b within this many
# eps of the largest weight of sigmax's (NumPy and PyTorch sum in the dtype,
# sigmax in double; on MNIST they ended 2 eps apart, where a batch or a row
# left out moves the weights by 1e-4 or more).
SGD_CHECK_EPS = 100
# predict_proba of the same coefficients: the probabilities (at most 1) within
# this many eps (a row's logits are sums of M products, added up in another
# order by each library; on MNIST they ended 20 eps apart).
PROBA_CHECK_EPS = 1000


def check_row(check: str, dtype, contender: str, reference: str, diff: float,
              tolerance: float) -> Dict[str, Any]:
    """One cross-check: the largest absolute difference between what
    ``contender`` and ``reference`` computed, against its tolerance (0 for
    sigmax against itself at another n_jobs: its results do not depend on
    it).  A NaN difference fails."""
    return {"check": check, "dtype": dtype_name(dtype), "contender": contender,
            "reference": reference, "max_abs_diff": float(diff), "tolerance": float(tolerance),
            "passed": bool(diff <= tolerance)}


def timings_dict(timings: Dict[str, Timing]) -> Dict[str, Dict[str, object]]:
    return {name: t.as_dict() for name, t in timings.items()}


def quiet(fn: Callable[[], Any]) -> Any:
    """Call fn with warnings silenced (ConvergenceWarning of capped fits)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# --------------------------------------------------------------------------- #
# 1. one minibatch-SGD epoch
# --------------------------------------------------------------------------- #
# sigmax's epoch, and the same epoch with its rows in stored order: the same work
# without the random access, outside every group (the peers shuffle)
SIGMAX_SGD = "sigmax SoftmaxRegression (n_jobs={})"
ROW_ORDER = "sigmax in row order, no shuffle (n_jobs={})"


def _sgd_contenders(data: Data, dtype, cfg: Config, torch: Any, sklearn: Any
                    ) -> Tuple[Dict[str, Any], Dict[str, List[str]], Dict[str, BlasLimit]]:
    """Contender objects by name, their grouping by library, BLAS limits
    (PyTorch's and scikit-learn's only when ``torch`` and ``sklearn`` are
    the modules, not None)."""
    X, y, k = data.train(dtype), data.y, data.k
    lr, bs, seed = cfg.learning_rate, cfg.batch_size, cfg.seed
    objects: Dict[str, Any] = {}
    groups: Dict[str, List[str]] = {"sigmax": [], "NumPy (lecture code)": []}
    limits: Dict[str, BlasLimit] = {}
    for t in cfg.threads:
        name = SIGMAX_SGD.format(t)
        objects[name] = SigmaxEstimatorSGD(X, y, lr=lr, batch_size=bs, seed=seed, n_jobs=t)
        groups["sigmax"].append(name)
        objects[ROW_ORDER.format(t)] = SigmaxEstimatorSGD(X, y, lr=lr, batch_size=bs, seed=seed,
                                                          n_jobs=t, shuffle=False)
    objects["sigmax kernel only (n_jobs=1)"] = SigmaxKernelSGD(X, y, k, lr=lr, batch_size=bs,
                                                               seed=seed, n_jobs=1)
    for label, t in blas_settings(cfg.threads):
        name = f"NumPy lecture loop ({label})"
        objects[name] = NumpyLectureSGD(X, y, k, lr=lr, batch_size=bs, seed=seed)
        limits[name] = BlasLimit(t)
        groups["NumPy (lecture code)"].append(name)
    if torch is not None:
        groups["PyTorch CPU"] = []
        for t in cfg.threads:
            for label, cls in (("manual", TorchManualSGD), ("nn+optim", TorchModuleSGD)):
                name = f"PyTorch {label} ({t} thr)"
                objects[name] = cls(torch, X, y, k, lr=lr, batch_size=bs, seed=seed, threads=t)
                groups["PyTorch CPU"].append(name)
    if sklearn is None:
        return objects, groups, limits
    groups["scikit-learn SGDClassifier"] = []
    # SGDClassifier computes in X's dtype: on float32 it also gets a float64
    # copy, made here, untimed; the faster of the two counts
    sk_inputs = {f"{dtype_name(dtype)} X": X}
    if X.dtype != np.float64:
        sk_inputs["float64 copy of X"] = X.astype(np.float64)
    for label, X_sk in sk_inputs.items():
        for t in cfg.threads:
            name = f"sklearn SGDClassifier, {label} (n_jobs={t})"
            objects[name] = SklearnSGDClassifier(X_sk, y, lr=lr, seed=seed, n_jobs=t)
            groups["scikit-learn SGDClassifier"].append(name)
    return objects, groups, limits


def _task(name: str, obj: Any, limit: Optional[BlasLimit]) -> Task:
    if limit is None:
        return Task(name, obj.epoch, setup=obj.reset)

    def setup() -> None:
        limit.enter()
        obj.reset()

    return Task(name, obj.epoch, setup=setup, teardown=limit.exit)


SAME_EPOCH = "one SGD epoch in stored row order from zero weights: W and b"


def same_epoch_checks(objects: Dict[str, Any], limits: Dict[str, BlasLimit], reference: str,
                      dtype) -> List[Dict[str, Any]]:
    """One epoch of each contender that can take the rows in stored order
    (all but SGDClassifier), from zero weights and with its thread settings,
    untimed; a check row for each, comparing its W and b with ``reference``'s:
    within SGD_CHECK_EPS eps of its largest weight, or exactly equal for
    sigmax itself."""
    weights = {}
    for name, obj in objects.items():
        if not hasattr(obj, "stored_order"):
            continue
        limit = limits.get(name)
        if limit is not None:
            limit.enter()
        try:
            with obj.stored_order():
                obj.reset()
                obj.epoch()
            weights[name] = tuple(np.array(w, copy=True) for w in obj.weights())
        finally:
            if limit is not None:
                limit.exit()
    W_ref, b_ref = weights.pop(reference)
    scale = max(float(np.max(np.abs(W_ref))), float(np.max(np.abs(b_ref))))
    tolerance = SGD_CHECK_EPS * float(np.finfo(dtype).eps) * scale
    return [check_row(SAME_EPOCH, dtype, name, reference,
                      max(float(np.max(np.abs(W - W_ref))), float(np.max(np.abs(b - b_ref)))),
                      0.0 if name.startswith("sigmax") else tolerance)
            for name, (W, b) in weights.items()]


def _accuracy_after_one_epoch(obj: Any, X_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy after one epoch from zero weights (a timed sample of a
    short epoch runs several, so the state the race leaves is not it)."""
    obj.reset()
    obj.epoch()
    return obj.accuracy(X_test, y_test)


def sgd_epoch(data: Data, cfg: Config) -> Dict[str, Any]:
    torch, sklearn = import_torch(), import_sklearn()
    notes = []
    if torch is None:
        notes.append("PyTorch is not installed: its column is skipped "
                     "(pip install torch==2.13.0 to include it).")
    else:
        torch.manual_seed(cfg.seed)
    if sklearn is None:
        notes.append(sklearn_missing("its SGDClassifier column is skipped"))
    if not thread_control():
        notes.append(NO_THREAD_CONTROL)
    n, m = data.X64.shape
    out: Dict[str, Any] = {"title": f"One minibatch-SGD epoch ({n} x {m}, batch "
                                    f"{cfg.batch_size}, lr {cfg.learning_rate})",
                           "by_dtype": {}, "ratios": [], "notes": notes, "checks": []}
    saved_torch_threads = torch.get_num_threads() if torch is not None else None
    for dtype in DTYPES:
        objects, groups, limits = _sgd_contenders(data, dtype, cfg, torch, sklearn)
        out["checks"] += same_epoch_checks(objects, limits, ROW_ORDER.format(cfg.threads[0]),
                                           dtype)
        tasks = [_task(name, obj, limits.get(name)) for name, obj in objects.items()]
        timings = race(tasks, cfg.repeats, seed=cfg.seed)
        best = {group: best_of(timings, names) for group, names in groups.items()}
        kernel, estimator = "sigmax kernel only (n_jobs=1)", SIGMAX_SGD.format(1)
        overhead = {"min": timings[estimator].min / timings[kernel].min - 1.0,
                    "median": timings[estimator].median / timings[kernel].median - 1.0}
        sig = best["sigmax"]
        t = next(t for t in cfg.threads if SIGMAX_SGD.format(t) == sig.name)
        shuffled, in_order = timings[sig.name], timings[ROW_ORDER.format(t)]
        shuffle_cost = {"n_jobs": t, "min": shuffled.min / in_order.min - 1.0,
                        "median": shuffled.median / in_order.median - 1.0}
        accuracy = {name: _accuracy_after_one_epoch(obj, data.test(dtype), data.y_test)
                    for name, obj in objects.items()}
        dn = dtype_name(dtype)
        out["by_dtype"][dn] = {
            "timings": timings_dict(timings),
            "orders": timings.orders,
            "best_config": {group: b.name for group, b in best.items()},
            "estimator_overhead_vs_kernel": overhead,
            "shuffled_over_row_order": shuffle_cost,
            "test_accuracy_after_one_epoch": accuracy,
        }
        for group, peer in best.items():
            if group != "sigmax":
                out["ratios"].append(ratio_row(f"SGD epoch {dn}: {group}", peer.name, peer,
                                               sig.name, sig))
    if torch is not None:
        torch.set_num_threads(saved_torch_threads)
    return out


# --------------------------------------------------------------------------- #
# 2. full-batch loss_grad against reading X once
# --------------------------------------------------------------------------- #
READ_X_NOTE = ("read-X is the fastest measured read of X, the table naming the kernel that "
               "won: X @ v and u @ X (BLAS matrix-vector products with vectors of ones, at the "
               "row's thread count) and X.sum() and X.max() (NumPy reductions, which run on "
               "one thread; they count in every row), timed in this race and, when that "
               "section ran, in the bounds section's (names starting \"train\"): the faster "
               "of the two")


def read_x_tasks(X: np.ndarray, threads: Sequence[int], prefix: str = ""
                 ) -> Tuple[List[Task], Dict[int, List[str]]]:
    """Tasks that each read all of X once, and for each thread count the names
    of those that count at it: the BLAS products X @ v and u @ X limited to
    that many threads, and NumPy's single-threaded X.sum() and X.max() (in
    every count's list).  Without threadpoolctl the BLAS products run once,
    at the BLAS's default threads, and are in every count's list.
    ``prefix`` starts every name."""
    v = np.ones(X.shape[1], dtype=X.dtype)
    u = np.ones(X.shape[0], dtype=X.dtype)
    tasks = [Task(f"{prefix}X.sum() (NumPy, 1 thr)", X.sum),
             Task(f"{prefix}X.max() (NumPy, 1 thr)", X.max)]
    names = {t: [task.name for task in tasks] for t in threads}
    for setting, t in blas_settings(threads):
        limit = BlasLimit(t)
        for label, fn in (("X @ v", lambda: X @ v), ("u @ X", lambda: u @ X)):
            name = f"{prefix}{label} ({setting})"
            tasks.append(Task(name, fn, setup=limit.enter, teardown=limit.exit))
            for count in (threads if t is None else (t,)):
                names[count].append(name)
    return tasks, names


def _loss_grad_race(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, link: str,
                    label: str, cfg: Config) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """sigmax.loss_grad at each of cfg.threads raced against the reads of X:
    the timings and, per thread count, the ratio to the fastest read, and the
    summary's ratio rows ("loss_grad {label}, {t} thr")."""
    tasks, read_names = read_x_tasks(X, cfg.threads)
    for t in cfg.threads:
        tasks.append(Task(f"loss_grad (n_jobs={t})",
                          lambda t=t: sigmax.loss_grad(X, y, W, b, link=link, n_jobs=t)))
    timings = race(tasks, cfg.fast_repeats, seed=cfg.seed)
    per_threads, ratios = {}, []
    for t in cfg.threads:
        lg = f"loss_grad (n_jobs={t})"
        read = best_of(timings, read_names[t])
        row = ratio_row(f"loss_grad {label}, {t} thr: loss_grad / read-X", lg, timings[lg],
                        read.name, read, meaning="sigmax / read-X")
        ratios.append(row)
        per_threads[str(t)] = {"loss_grad": lg, "read_x": read.name,
                               "read_x_candidates": read_names[t], "ratio": row["ratio"],
                               "ratio_median": row["ratio_median"],
                               "loss_grad_GBps": X.nbytes / timings[lg].min / 1e9,
                               "read_x_GBps": X.nbytes / read.min / 1e9}
    return {"X_nbytes": X.nbytes, "timings": timings_dict(timings), "orders": timings.orders,
            "by_threads": per_threads}, ratios


def loss_grad_vs_read(data: Data, cfg: Config) -> Dict[str, Any]:
    """A full-batch loss_grad against the fastest read of its X: on the training
    set (softmax, its classes), and on the binary predict_proba section's
    synthetic X (a binary model: one sigmoid, a few features per row)."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.binary_rows
    out: Dict[str, Any] = {"title": "Full-batch loss_grad against one read of X",
                           "by_dtype": {}, "binary": {}, "ratios": [], "notes": [READ_X_NOTE]}
    out["notes"] += one_part_notes("the training set", data.X64.shape[0], cfg.threads)
    out["notes"].append(f"binary: LogisticRegression's loss_grad (one sigmoid, the log "
                        f"loss) on {n} rows of the binary predict_proba section's synthetic X; "
                        "each row's few multiply-adds come with an exp and a log, which the "
                        "training set's 7840 multiply-adds per row hide")
    if not thread_control():
        out["notes"].append(NO_THREAD_CONTROL)
    for dtype in DTYPES:
        X, y = data.train(dtype), data.y
        W = (0.01 * rng.standard_normal((data.k, X.shape[1]))).astype(dtype)
        b = np.zeros(data.k, dtype=dtype)
        dn = dtype_name(dtype)
        out["by_dtype"][dn], ratios = _loss_grad_race(X, y, W, b, "softmax", dn, cfg)
        out["ratios"] += ratios
    for dtype in DTYPES:
        dn = dtype_name(dtype)
        for m in cfg.binary_features:
            X, y = binary_data(n, m, dtype, cfg.seed + m)
            W = (0.1 * rng.standard_normal((1, m))).astype(dtype)
            b = np.zeros(1, dtype=dtype)
            label = f"binary {dn}, {m} features"
            res, ratios = _loss_grad_race(X, y, W, b, "sigmoid", label, cfg)
            out["binary"][label] = dict(res, dtype=dn, features=m, rows=n)
            out["ratios"] += ratios
            del X, y
    return out


# --------------------------------------------------------------------------- #
# 3. predict_proba throughput
# --------------------------------------------------------------------------- #
def _fit_for_prediction(X: np.ndarray, y: np.ndarray, sklearn: Any):
    """sigmax's model and scikit-learn's (None without scikit-learn)."""
    alpha = 1.0 / X.shape[0]
    ours = quiet(lambda: sigmax.SoftmaxRegression(alpha=alpha, max_iter=30).fit(X, y))
    if sklearn is None:
        return ours, None
    LogisticRegression = sklearn.linear_model.LogisticRegression
    theirs = quiet(lambda: LogisticRegression(C=1.0, max_iter=30).fit(X, y))
    return ours, theirs


def predict_proba_tasks(ours, theirs, X: np.ndarray, threads: Sequence[int]
                        ) -> Tuple[List[Task], List[str], List[str]]:
    """The predict_proba contenders on X: sigmax at each n_jobs and
    scikit-learn at each BLAS thread count (none when ``theirs`` is None),
    with the thread setting of both made in the untimed set-up, so that each
    timed call is predict_proba alone.  Returns the tasks and the names of
    sigmax's and scikit-learn's."""
    tasks, our_names, sk_names = [], [], []
    for t in threads:
        name = f"sigmax (n_jobs={t})"
        tasks.append(Task(name, lambda X=X: ours.predict_proba(X),
                          setup=lambda t=t: ours.set_params(n_jobs=t)))
        our_names.append(name)
    for label, t in blas_settings(threads) if theirs is not None else ():
        limit = BlasLimit(t)
        name = f"sklearn LogisticRegression ({label})"
        tasks.append(Task(name, lambda X=X: theirs.predict_proba(X),
                          setup=limit.enter, teardown=limit.exit))
        sk_names.append(name)
    return tasks, our_names, sk_names


def same_proba_checks(ours, theirs, X: np.ndarray, threads: Sequence[int], dtype,
                      check: str) -> List[Dict[str, Any]]:
    """Check rows (untimed) comparing with sigmax's predict_proba on X at its
    first n_jobs: at its other n_jobs (exactly equal), and scikit-learn's
    given sigmax's coefficients (when ``theirs`` is there; within
    PROBA_CHECK_EPS eps).  The two libraries' own fits stop at different
    points, so their probabilities are not compared here."""
    probs = {f"sigmax (n_jobs={t})": ours.set_params(n_jobs=t).predict_proba(X) for t in threads}
    reference, ref = next(iter(probs.items()))
    checks = [check_row(check, dtype, name, reference, float(np.max(np.abs(p - ref))), 0.0)
              for name, p in probs.items() if name != reference]
    if theirs is not None:
        twin = copy.deepcopy(theirs)
        twin.coef_ = ours.coef_.astype(theirs.coef_.dtype)
        twin.intercept_ = ours.intercept_.astype(theirs.intercept_.dtype)
        checks.append(check_row(check, dtype, "sklearn LogisticRegression given sigmax's coef_ "
                                "and intercept_", reference,
                                float(np.max(np.abs(twin.predict_proba(X) - ref))),
                                PROBA_CHECK_EPS * float(np.finfo(dtype).eps)))
    return checks


def time_predict_proba(ours, theirs, X: np.ndarray, dtype, cfg: Config, out: Dict[str, Any],
                       check: str, measurement: str) -> Dict[str, Any]:
    """One data set of a predict_proba section: races the contenders on X
    (predict_proba_tasks), adds the cross-checks named ``check`` to out and,
    with scikit-learn, the ratio row named ``measurement``; returns the data
    set's rows, timings and rows per second."""
    tasks, our_names, sk_names = predict_proba_tasks(ours, theirs, X, cfg.threads)
    timings = race(tasks, cfg.fast_repeats, seed=cfg.seed)
    out["checks"] += same_proba_checks(ours, theirs, X, cfg.threads, dtype, check)
    if theirs is not None:
        best_sk, best_ours = best_of(timings, sk_names), best_of(timings, our_names)
        out["ratios"].append(ratio_row(measurement, best_sk.name, best_sk, best_ours.name,
                                       best_ours))
    return {"rows": X.shape[0], "timings": timings_dict(timings), "orders": timings.orders,
            "rows_per_s": {name: X.shape[0] / t.min for name, t in timings.items()}}


def predict_proba(data: Data, cfg: Config) -> Dict[str, Any]:
    sklearn = import_sklearn()
    rows = min(cfg.predict_fit_rows, data.X64.shape[0])
    out: Dict[str, Any] = {"title": "predict_proba throughput", "by_dtype": {}, "ratios": [],
                           "checks": [],
                           "notes": [f"both models fitted briefly (30 L-BFGS iterations) on the "
                                     f"first {rows} training rows in the same dtype; each "
                                     "library at its best thread count (sigmax's n_jobs, "
                                     "scikit-learn's BLAS threads)",
                                     "the two fits stop at different points, so their "
                                     "probabilities differ (max_abs_diff_of_probabilities in "
                                     "the JSON, first 1000 rows); the cross-check gives "
                                     "scikit-learn sigmax's coefficients"]}
    if sklearn is None:
        out["notes"] = [f"sigmax's model fitted briefly (30 L-BFGS iterations) on the first "
                        f"{rows} training rows in the same dtype",
                        sklearn_missing("the comparison with its LogisticRegression is "
                                        "skipped; sigmax's throughput alone is measured")]
    elif not thread_control():
        out["notes"].append(NO_THREAD_CONTROL)
    for split, X in (("test", data.X64_test), ("train", data.X64)):
        out["notes"] += one_part_notes(f"the {split} set", X.shape[0], cfg.threads)
    for dtype in DTYPES:
        dn = dtype_name(dtype)
        ours, theirs = _fit_for_prediction(data.train(dtype)[:rows], data.y[:rows], sklearn)
        result: Dict[str, Any] = {}
        for split, X in (("test", data.test(dtype)), ("train", data.train(dtype))):
            result[split] = time_predict_proba(
                ours, theirs, X, dtype, cfg, out,
                f"predict_proba of the same coefficients, {split} ({X.shape[0]} rows)",
                f"predict_proba {dn}, {split} ({X.shape[0]} rows)")
            if theirs is not None:
                result[split]["max_abs_diff_of_probabilities"] = float(np.max(np.abs(
                    ours.predict_proba(X[:1000]) - theirs.predict_proba(X[:1000]))))
        out["by_dtype"][dn] = result
    return out


def binary_data(n: int, m: int, dtype, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """n rows of m standard normal features in dtype, and 0/1 labels drawn from
    a logistic model of them (the lectures' binary model)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m)).astype(dtype)
    y = (X @ rng.standard_normal(m).astype(dtype) + rng.logistic(size=n) > 0).astype(np.intp)
    return X, y


def predict_proba_binary(data: Data, cfg: Config) -> Dict[str, Any]:
    """predict_proba of a binary LogisticRegression (sigmax's and scikit-learn's)
    on synthetic X of a few features: per row a handful of multiply-adds and one
    sigmoid, where MNIST's 10 classes have 7840 multiply-adds and a softmax."""
    sklearn = import_sklearn()
    n, rows = cfg.binary_rows, min(cfg.predict_fit_rows, cfg.binary_rows)
    out: Dict[str, Any] = {
        "title": f"predict_proba of a binary model ({n} rows of synthetic data)",
        "row_label": "features (rows)", "by_dtype": {}, "ratios": [], "checks": [],
        "notes": [f"X standard normal, y from a logistic model of it; sigmax's "
                  f"LogisticRegression and scikit-learn's fitted briefly (30 L-BFGS "
                  f"iterations) on the first {rows} rows; each library at its best thread "
                  "count; the cross-check gives scikit-learn sigmax's coefficients"]}
    if sklearn is None:
        out["notes"].append(sklearn_missing("the comparison with its LogisticRegression is "
                                            "skipped; sigmax's throughput alone is measured"))
    elif not thread_control():
        out["notes"].append(NO_THREAD_CONTROL)
    out["notes"] += one_part_notes("X", n, cfg.threads)
    for dtype in DTYPES:
        dn = dtype_name(dtype)
        result: Dict[str, Any] = {}
        for m in cfg.binary_features:
            X, y = binary_data(n, m, dtype, cfg.seed + m)
            ours = quiet(lambda: sigmax.LogisticRegression(alpha=1.0 / rows, max_iter=30)
                         .fit(X[:rows], y[:rows]))
            theirs = None if sklearn is None else quiet(
                lambda: sklearn.linear_model.LogisticRegression(C=1.0, max_iter=30)
                .fit(X[:rows], y[:rows]))
            result[str(m)] = time_predict_proba(
                ours, theirs, X, dtype, cfg, out,
                f"binary predict_proba of the same coefficients, {m} features",
                f"predict_proba binary {dn}, {m} features ({n} rows)")
            del X, y
        out["by_dtype"][dn] = result
    return out


# --------------------------------------------------------------------------- #
# 4. peak memory of fit
# --------------------------------------------------------------------------- #
def _fit_memory_in_children(X: np.ndarray, y: np.ndarray, cases: Sequence[Tuple[str, int]],
                            seed: int) -> List[Dict[str, Any]]:
    """fit_memory.py's measurement of each (solver, max_iter) fit, each in a
    fresh interpreter reading X and y from temporary .npy files (saved once)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="sigmax-memory-") as tmp:
        x_path, y_path = os.path.join(tmp, "X.npy"), os.path.join(tmp, "y.npy")
        np.save(x_path, X)
        np.save(y_path, y)
        for solver, max_iter in cases:
            proc = subprocess.run([sys.executable, str(FIT_MEMORY), x_path, y_path, solver,
                                   str(max_iter), str(seed)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{FIT_MEMORY.name} failed ({proc.returncode}): "
                                   f"{proc.stderr}")
            results.append(json.loads(proc.stdout))
    return results


def memory(data: Data, cfg: Config) -> Dict[str, Any]:
    out: Dict[str, Any] = {"title": "Peak memory of fit beyond the inputs",
                           "rows": [], "ratios": [],
                           "notes": ["tracemalloc: what Python and NumPy allocate (a copy of X "
                                     "would show as 100%); peak RSS: everything the process "
                                     "touches, the C kernels' scratch and L-BFGS's state "
                                     "included (its preconditioner block and history, together "
                                     "capped at 3% of X.nbytes, at least 10 past steps; the "
                                     "history fills up over the first iterations); each fit "
                                     "measured in a fresh process holding only NumPy, sigmax, X "
                                     "and y (benchmarks/fit_memory.py)"]}
    cases = (("sgd", 1), ("lbfgs", 30))
    for dtype in DTYPES:
        X = data.train(dtype)
        for (solver, max_iter), got in zip(cases, _fit_memory_in_children(X, data.y, cases,
                                                                          cfg.seed)):
            peak, rss = got["peak_bytes"], got["rss_peak_bytes"]
            out["rows"].append({"dtype": dtype_name(dtype), "solver": solver,
                                "max_iter": max_iter, "X_nbytes": X.nbytes, "peak_bytes": peak,
                                "fraction_of_X": peak / X.nbytes, "rss_peak_bytes": rss,
                                "rss_fraction_of_X": None if rss is None else rss / X.nbytes})
    return out


# --------------------------------------------------------------------------- #
# 5. scaling of loss_grad in n, M, K and threads
# --------------------------------------------------------------------------- #
def _synthetic(rng: np.random.Generator, n: int, m: int, k: int, dtype=np.float32):
    X = rng.random((n, m), dtype=dtype)
    y = rng.integers(0, k, size=n)
    W = (0.01 * rng.standard_normal((k, m))).astype(dtype)
    return X, y, W, np.zeros(k, dtype=dtype)


def _sweep(label: str, problems: Dict[int, Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
           repeats: int, seed: int) -> Dict[str, Any]:
    """Time loss_grad (n_jobs=1) on each problem, interleaved; per-unit cost."""
    tasks = [Task(f"{label}={value}", lambda p=p: sigmax.loss_grad(*p, n_jobs=1))
             for value, p in problems.items()]
    timings = race(tasks, repeats, seed=seed)
    points = []
    for value, (X, _, W, _) in problems.items():
        t = timings[f"{label}={value}"]
        units = X.shape[0] * X.shape[1] * W.shape[0]
        points.append({label: value, "n": X.shape[0], "M": X.shape[1], "K": W.shape[0],
                       "min_s": t.min, "median_s": t.median, "ns_per_nMK": t.min / units * 1e9})
    per_unit = [p["ns_per_nMK"] for p in points]
    return {"points": points, "per_unit_spread": max(per_unit) / min(per_unit),
            "orders": timings.orders}


def scaling(data: Data, cfg: Config) -> Dict[str, Any]:
    rng = np.random.default_rng(cfg.seed)
    repeats = cfg.fast_repeats
    X32, y = data.X32, data.y
    W = (0.01 * rng.standard_normal((data.k, X32.shape[1]))).astype(np.float32)
    b = np.zeros(data.k, dtype=np.float32)
    n_values = [n for n in cfg.scale_n if n <= X32.shape[0]]
    out: Dict[str, Any] = {"title": "Scaling of loss_grad (float32, n_jobs=1 unless stated)",
                           "ratios": [], "notes": [
                               "ns_per_nMK is the time per row x feature x class; a constant "
                               "value means linear scaling, the spread is max/min over a sweep",
                               f"the n sweep uses the first n rows of {data.source}; the M and K "
                               f"sweeps use uniform random data with {cfg.scale_rows} rows"]}
    out["notes"] += one_part_notes("the full training set", X32.shape[0], cfg.scaling_threads)
    if cfg.threads == (1,) and len(cfg.scaling_threads) > 1 and thread_control():
        out["notes"].append("the other libraries' thread pools are limited to one thread in "
                            "this run (threadpoolctl); sigmax sets its thread count per call, "
                            "which that limit does not change, so its n_jobs=2 runs two "
                            "threads wherever a pass has two parts")
    out["n"] = _sweep("n", {n: (X32[:n], y[:n], W, b) for n in n_values}, repeats, cfg.seed)
    out["n"]["data"] = data.source
    out["M"] = _sweep("M", {m: _synthetic(rng, cfg.scale_rows, m, 10) for m in cfg.scale_m},
                      repeats, cfg.seed)
    out["K"] = _sweep("K", {k: _synthetic(rng, cfg.scale_rows, cfg.scale_k_features, k)
                            for k in cfg.scale_k}, repeats, cfg.seed)
    out["threads"] = {}
    for dtype in DTYPES:
        X = data.train(dtype)
        Wd, bd = W.astype(dtype), b.astype(dtype)
        tasks = [Task(f"n_jobs={t}", lambda t=t: sigmax.loss_grad(X, y, Wd, bd, n_jobs=t))
                 for t in cfg.scaling_threads]
        timings = race(tasks, repeats, seed=cfg.seed)
        dn = dtype_name(dtype)
        out["threads"][dn] = {"timings": timings_dict(timings), "orders": timings.orders}
        if len(cfg.scaling_threads) > 1:
            one, many = f"n_jobs={cfg.scaling_threads[0]}", f"n_jobs={cfg.scaling_threads[-1]}"
            out["threads"][dn]["speedup"] = timings[one].min / timings[many].min
            out["ratios"].append(ratio_row(f"loss_grad {dn} threads: {one} / {many}", one,
                                           timings[one], many, timings[many],
                                           meaning="speed-up"))
    return out


# --------------------------------------------------------------------------- #
# 6. the full fit to tolerance against scikit-learn
# --------------------------------------------------------------------------- #
def _timed(fn: Callable[[], Any]) -> Tuple[float, float, Any]:
    """Wall-clock and CPU time of one call of fn, and its result."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    result = quiet(fn)
    return time.perf_counter() - start, time.process_time() - cpu_start, result


def _objective(X, y, coef, intercept, alpha) -> float:
    return float(sigmax.loss(X, y, np.asarray(coef, np.float64), np.asarray(intercept, np.float64),
                             alpha=alpha))


def full_fit(data: Data, cfg: Config) -> Dict[str, Any]:
    """scikit-learn's LogisticRegression fitted once at its default tol,
    against sigmax twice: at the loosest tol of a grid whose fit reaches
    scikit-learn's objective (chosen after the fact, by a search whose time is
    not counted), and at its own default settings.  Without scikit-learn,
    sigmax at its default settings alone."""
    sklearn = import_sklearn()
    X, y = data.X64, data.y
    n = X.shape[0]
    alpha = 1.0 / (cfg.fit_C * n)
    default_tol = sigmax.SoftmaxRegression().get_params()["tol"]

    def fit_sigmax(tol: float):
        return sigmax.SoftmaxRegression(alpha=alpha, tol=tol, max_iter=100_000,
                                        n_jobs=-1).fit(X, y)

    def fit_sigmax_default():  # default tol and max_iter; all cores, like the fit above
        return sigmax.SoftmaxRegression(alpha=alpha, n_jobs=-1).fit(X, y)

    if cfg.threads == (1,) and thread_control():
        threads_note = ("scikit-learn's thread pools (BLAS and OpenMP) are limited to one "
                        "thread, as every library's in this run; sigmax uses n_jobs=-1, which "
                        "sets its own thread count per call (one per core)")
    elif sklearn is None:
        threads_note = "sigmax uses n_jobs=-1"
    else:
        threads_note = ("scikit-learn uses its default threads (BLAS and OpenMP); sigmax uses "
                        "n_jobs=-1")
    if sklearn is None:
        default_timing = Timing()
        for _ in range(cfg.fit_repeats):
            wall, cpu, default_model = _timed(fit_sigmax_default)
            default_timing.add(wall, cpu)
        return {
            "title": f"Full fit to tolerance on {data.source}, float64, C = {cfg.fit_C}",
            "C": cfg.fit_C, "alpha": alpha, "ratios": [],
            "sigmax_default": {
                "tol": default_tol, "n_iter": default_model.n_iter_,
                "objective": _objective(X, y, default_model.coef_, default_model.intercept_,
                                        alpha),
                "test_accuracy": float(default_model.score(data.X64_test, data.y_test)),
                "timing": default_timing.as_dict()},
            "notes": [sklearn_missing("the comparison with its LogisticRegression is skipped; "
                                      f"sigmax at its default settings (tol={default_tol:g}, "
                                      "default max_iter) is timed alone"),
                      f"objective = mean cross-entropy + alpha/2 ||W||^2 with alpha = 1/(C n) "
                      f"= {alpha:.3g}, computed with sigmax.loss (float64)",
                      threads_note],
        }
    LogisticRegression = sklearn.linear_model.LogisticRegression
    log_loss = sklearn.metrics.log_loss

    def fit_sklearn():
        return LogisticRegression(C=cfg.fit_C, tol=cfg.fit_sklearn_tol,
                                  max_iter=cfg.fit_sklearn_max_iter).fit(X, y)

    sk_timing, sig_timing, default_timing = Timing(), Timing(), Timing()
    wall, cpu, sk = _timed(fit_sklearn)
    sk_timing.add(wall, cpu)
    f_sk = _objective(X, y, sk.coef_, sk.intercept_, alpha)
    # the same objective through scikit-learn's own log_loss, as a cross-check
    f_sk_check = float(log_loss(y, sk.predict_proba(X)) + 0.5 * alpha * np.sum(sk.coef_ ** 2))
    target = f_sk * (1 + 1e-7)

    attempts = []
    chosen = None
    for tol in cfg.fit_tols:
        wall, cpu, model = _timed(lambda: fit_sigmax(tol))
        f = _objective(X, y, model.coef_, model.intercept_, alpha)
        attempts.append({"tol": tol, "time_s": wall, "cpu_s": cpu, "n_iter": model.n_iter_,
                         "objective": f})
        if f <= target:
            chosen = (tol, model)
            break
    notes = [f"objective = mean cross-entropy + alpha/2 ||W||^2 with alpha = 1/(C n) = "
             f"{alpha:.3g}, computed with sigmax.loss for both models (float64)"]
    result: Dict[str, Any] = {
        "title": f"Full fit to tolerance on {data.source}, float64, C = {cfg.fit_C}",
        "C": cfg.fit_C, "alpha": alpha,
        "sklearn": {"tol": cfg.fit_sklearn_tol, "max_iter": cfg.fit_sklearn_max_iter,
                    "n_iter": int(np.max(sk.n_iter_)),
                    "converged": bool(np.max(sk.n_iter_) < cfg.fit_sklearn_max_iter),
                    "objective": f_sk, "objective_via_sklearn_log_loss": f_sk_check,
                    "test_accuracy": float(sk.score(data.X64_test, data.y_test))},
        "sigmax_attempts": attempts, "ratios": [], "notes": notes,
    }
    if chosen is None:
        notes.append("no tried tol reached scikit-learn's objective; the tightest is reported")
        chosen = (attempts[-1]["tol"], model)
    tol, model = chosen
    sig_timing.add(attempts[-1]["time_s"], attempts[-1]["cpu_s"])
    wall, cpu, default_model = _timed(fit_sigmax_default)
    default_timing.add(wall, cpu)
    for _ in range(cfg.fit_repeats - 1):  # interleaved extra samples, if asked
        sk_timing.add(*_timed(fit_sklearn)[:2])
        sig_timing.add(*_timed(lambda: fit_sigmax(tol))[:2])
        default_timing.add(*_timed(fit_sigmax_default)[:2])
    f_default = _objective(X, y, default_model.coef_, default_model.intercept_, alpha)
    notes += [
        f"sigmax's tol={tol:g} was chosen after the fact: the loosest value of a grid "
        f"({cfg.fit_tols[0]:g} down to {cfg.fit_tols[-1]:g}) whose fit reaches the objective "
        "of scikit-learn's one run at its default tol (within 1e-7 relative); the time is "
        "that fit's alone, not the search's (a search that needs scikit-learn's result to "
        "aim at)",
        f"sigmax at its default settings (tol={default_tol:g}, default max_iter) is timed "
        f"too: it {'reaches' if f_default <= target else 'does not reach'} scikit-learn's "
        "objective, with no choice made after the fact",
        threads_note,
    ]
    result["sklearn"]["timing"] = sk_timing.as_dict()
    result["sigmax"] = {"tol": tol, "n_iter": model.n_iter_,
                        "objective": _objective(X, y, model.coef_, model.intercept_, alpha),
                        "test_accuracy": float(model.score(data.X64_test, data.y_test)),
                        "timing": sig_timing.as_dict()}
    result["sigmax_default"] = {"tol": default_tol, "n_iter": default_model.n_iter_,
                                "objective": f_default,
                                "reaches_sklearn_objective": bool(f_default <= target),
                                "test_accuracy": float(default_model.score(data.X64_test,
                                                                           data.y_test)),
                                "timing": default_timing.as_dict()}
    result["ratios"].append(ratio_row(
        f"full fit to sklearn's objective ({data.source} float64), sigmax's tol chosen "
        "after the fact", "sklearn LogisticRegression", sk_timing,
        f"sigmax (tol={tol:g}, chosen)", sig_timing))
    result["ratios"].append(ratio_row(
        f"full fit ({data.source} float64), sigmax at its default tol",
        "sklearn LogisticRegression", sk_timing, f"sigmax (default tol={default_tol:g})",
        default_timing))
    return result


# --------------------------------------------------------------------------- #
# 7. what the machine allows: the time no code could beat on each workload
# --------------------------------------------------------------------------- #
def workload_flops(rows: int, m: int, k: int, passes: int) -> float:
    """Floating-point operations of `passes` products of rows x m by m x k
    (2 per multiply-add): 1 pass for the logits (predict_proba), 2 for an
    SGD epoch or a full loss_grad (the logits and the gradient)."""
    return 2.0 * passes * rows * m * k


def batch_read_tasks(X: np.ndarray, batch_size: int, seed: int) -> Tuple[Task, Task]:
    """Two reads of all of X's rows, a batch at a time into one batch-sized
    buffer (NumPy's take, one thread): in the row order of a shuffled epoch,
    and in stored order.  A shuffled SGD epoch must read its rows the first
    way; the ratio of the two is what that order costs in memory alone."""
    n = X.shape[0]
    shuffled = np.random.default_rng(seed).permutation(n)
    stored = np.arange(n)
    buf = np.empty((min(batch_size, n), X.shape[1]), dtype=X.dtype)

    def read(order: np.ndarray) -> None:
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            X.take(rows, axis=0, out=buf[:len(rows)], mode="clip")

    return (Task("X's rows, shuffled order (NumPy take, 1 thr)", lambda: read(shuffled)),
            Task("X's rows, stored order (NumPy take, 1 thr)", lambda: read(stored)))


def peak_tasks(double: bool, threads: Sequence[int], rounds: int
               ) -> Tuple[List[Task], Dict[str, float]]:
    """Tasks that run sigmax's multiply-add probe (``_core.fma_probe``: only
    independent vector multiply-adds, in the instruction set sigmax uses) on
    each thread count, and the floating-point operations of each: timed, they
    give the vector units' peak rate.  The operations scale with the rounds,
    so a one-round call counts them without running the probe untimed."""
    tasks, flops = [], {}
    for t in threads:
        name = f"multiply-add peak ({_core.isa()}, {t} thr)"
        tasks.append(Task(name, lambda t=t: _core.fma_probe(double, rounds, t)))
        flops[name] = _core.fma_probe(double, 1, t) * rounds
    return tasks, flops


def bounds(data: Data, cfg: Config) -> Dict[str, Any]:
    """For each workload of the other sections: its floor, the larger of one
    read of its X and its arithmetic at the machine's peak arithmetic rate,
    both measured here at each thread count, the best kept.  The rate is the
    larger of the vector units' multiply-add peak (sigmax's probe) and a BLAS
    product of square matrices (which may use other, wider vectors).  No code
    could run a workload faster than its floor, so peer time / floor is about
    the largest ratio to that peer any code could show here (the report sets
    it beside the measured ratios)."""
    n_gemm = 256 if cfg.quick else 1024
    probe_rounds = 20_000 if cfg.quick else 1_000_000
    rng = np.random.default_rng(cfg.seed)
    out: Dict[str, Any] = {"title": "What the machine allows", "by_dtype": {}, "ratios": [],
                           "notes": [
                               "rate: the larger of the vector units' multiply-add peak "
                               "(independent multiply-adds only, sigmax's probe in the "
                               f"instruction set it uses) and a {n_gemm} x {n_gemm} matrix "
                               "product (BLAS), each the best of the thread counts; read-X: "
                               "the fastest measured read of X over X @ v and u @ X (BLAS, each "
                               "thread count) and X.sum() and X.max() (NumPy, one thread), the "
                               "table naming the one that won; floor = max(read-X, FLOPs / rate)"
                           ] + ([] if thread_control() else [NO_THREAD_CONTROL])}
    _, m = data.X64.shape
    k = data.k
    for dtype in DTYPES:
        dn = dtype_name(dtype)
        A = rng.standard_normal((n_gemm, n_gemm)).astype(dtype)
        B = rng.standard_normal((n_gemm, n_gemm)).astype(dtype)
        sets = {"train": data.train(dtype), "test": data.test(dtype)}
        tasks, gemm_names = [], []
        read_names: Dict[str, List[str]] = {}
        for split, X in sets.items():
            read_tasks, _ = read_x_tasks(X, cfg.threads, prefix=f"{split} ")
            tasks += read_tasks
            read_names[split] = [task.name for task in read_tasks]
        gathered = batch_read_tasks(sets["train"], cfg.batch_size, cfg.seed)
        tasks += gathered
        for label, t in blas_settings(cfg.threads):
            limit = BlasLimit(t)
            name = f"GEMM ({label})"
            tasks.append(Task(name, lambda: A @ B, setup=limit.enter, teardown=limit.exit))
            gemm_names.append(name)
        probes, probe_flops = peak_tasks(dtype == np.float64, cfg.threads, probe_rounds)
        tasks += probes
        timings = race(tasks, cfg.fast_repeats, seed=cfg.seed)
        gemm = best_of(timings, gemm_names)
        gemm_rate = workload_flops(n_gemm, n_gemm, n_gemm, 1) / gemm.min
        peak_name, peak_rate = max(((name, f / timings[name].min)
                                    for name, f in probe_flops.items()), key=lambda nr: nr[1])
        rate = max(gemm_rate, peak_rate)
        read = {split: best_of(timings, names) for split, names in read_names.items()}
        workloads = {}
        for label, split, passes in (("SGD epoch / loss_grad", "train", 2),
                                     ("predict_proba train", "train", 1),
                                     ("predict_proba test", "test", 1)):
            X = sets[split]
            flops = workload_flops(X.shape[0], m, k, passes)
            floor = max(read[split].min, flops / rate)
            workloads[label] = {"flops": flops, "X_nbytes": X.nbytes,
                                "read_x_s": read[split].min, "read_x": read[split].name,
                                "arithmetic_s": flops / rate, "floor_s": floor,
                                "bound": "read X" if read[split].min >= flops / rate
                                         else "arithmetic"}
        shuffled, stored = (timings[task.name] for task in gathered)
        out["by_dtype"][dn] = {"gflops": rate / 1e9,
                               "rate": peak_name if peak_rate >= gemm_rate else gemm.name,
                               "gemm": gemm.name, "gemm_gflops": gemm_rate / 1e9,
                               "peak": peak_name, "peak_gflops": peak_rate / 1e9,
                               "peak_flops": probe_flops,
                               "timings": timings_dict(timings), "orders": timings.orders,
                               "workloads": workloads,
                               "shuffled_read": {
                                   "shuffled": gathered[0].name, "stored": gathered[1].name,
                                   "batch_size": cfg.batch_size,
                                   "ratio": shuffled.min / stored.min,
                                   "ratio_median": shuffled.median / stored.median}}
    return out


def pool_reads(results: Dict[str, Any]) -> None:
    """Make each read-X of the training set the fastest measured in the whole run.

    loss_grad_vs_read and bounds time the same reads of the training X, each in
    its own race, minutes apart; on a shared machine the two have differed by
    20%.  A cost over read-X, or a floor, bounds anything only with the fastest
    read measured: loss_grad's rows take the faster of the two races' reads at
    their thread count, and the training-set floors the faster of all.  Updates
    ``results`` in place (a no-op unless both sections ran).
    """
    sections = results["sections"]
    lg, bd = sections.get("loss_grad_vs_read"), sections.get("bounds")
    if not (lg and bd):
        return
    for dn, res in lg["by_dtype"].items():
        b = bd["by_dtype"].get(dn)
        if b is None:
            continue
        theirs = {name: t for name, t in b["timings"].items() if name.startswith("train ")}
        for threads, row in res["by_threads"].items():
            candidates = [n for n in row["read_x_candidates"] if n in res["timings"]]
            candidates += [f"train {n}" for n in row["read_x_candidates"]
                           if f"train {n}" in theirs]
            timing = {**res["timings"], **theirs}
            best = min(candidates, key=lambda n: timing[n]["min_s"])
            res["timings"].setdefault(best, timing[best])
            lg_t, read_t = timing[row["loss_grad"]], timing[best]
            row.update(read_x=best, ratio=lg_t["min_s"] / read_t["min_s"],
                       ratio_median=lg_t["median_s"] / read_t["median_s"],
                       read_x_GBps=res["X_nbytes"] / read_t["min_s"] / 1e9)
            for ratio in lg["ratios"]:
                if ratio["measurement"] == f"loss_grad {dn}, {threads} thr: loss_grad / read-X":
                    ratio.update(denominator=best, denominator_s=read_t["min_s"],
                                 ratio=row["ratio"], ratio_median=row["ratio_median"])
        fastest = min((row["read_x"] for row in res["by_threads"].values()),
                      key=lambda n: res["timings"][n]["min_s"])
        read_s = res["timings"][fastest]["min_s"]
        for w in b["workloads"].values():
            if w["X_nbytes"] == res["X_nbytes"] and read_s < w["read_x_s"]:
                w.update(read_x=fastest, read_x_s=read_s, floor_s=max(read_s, w["arithmetic_s"]),
                         bound="read X" if read_s >= w["arithmetic_s"] else "arithmetic")


SECTIONS: Dict[str, Callable[[Data, Config], Dict[str, Any]]] = {
    "sgd_epoch": sgd_epoch,
    "loss_grad_vs_read": loss_grad_vs_read,
    "predict_proba": predict_proba,
    "predict_proba_binary": predict_proba_binary,
    "memory": memory,
    "scaling": scaling,
    "full_fit": full_fit,
    "bounds": bounds,
}


def cpu_threads() -> Tuple[int, ...]:
    """1 and 2 threads (just 1 on a single core)."""
    return (1, 2) if (os.cpu_count() or 1) >= 2 else (1,)


def sections(names: Optional[Sequence[str]] = None) -> List[str]:
    names = list(SECTIONS) if not names else list(names)
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    return names
