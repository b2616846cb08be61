"""Benchmarks of sigmax against its peers, side by side in one run.

    python benchmarks/run.py            # MNIST, a few minutes
    python benchmarks/run.py --quick    # small synthetic data, about 15 seconds

Prints every ratio as a table and a Markdown report (for the README) on
standard output, progress on standard error, and writes latest.json,
latest.md and scaling.png (without matplotlib: no plot) into --out
(default: benchmarks/results/).  See benchmarks/README.md.

Exits with status 1 when a cross-check fails (contenders that should compute
the same thing do not): the run stops after that section, and writes and
prints what it has, the failed checks marked.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

try:
    import sigmax  # noqa: F401  (an installed sigmax, or one on PYTHONPATH)
except ImportError:  # a source checkout with the extension built in place
    sys.path.insert(0, str(REPO / "python"))

import numpy as np

from harness import all_threads, load_average, machine_info, thread_control
from measurements import SECTIONS, Config, Data, cpu_threads, pool_reads, sections
from report import markdown, plot_scaling, text_table


def quick_config() -> Config:
    # the thread counts of a full run, on data (synthetic_data) large enough for
    # sigmax's n_jobs=2 to start its second thread in every pass over the
    # training set; on a busy machine the 2-thread contenders can take many
    # times longer (their threads wait for each other)
    return Config(quick=True, repeats=2, fast_repeats=2, threads=cpu_threads(),
                  scaling_threads=cpu_threads(), scale_n=(1000, 2000, 4000),
                  scale_m=(16, 64, 256), scale_k=(2, 10, 50), scale_rows=2000,
                  scale_k_features=64, predict_fit_rows=2000, binary_rows=20_000)


def full_config() -> Config:
    return Config(quick=False, repeats=5, fast_repeats=15, threads=cpu_threads(),
                  scaling_threads=cpu_threads())


def synthetic_data(seed: int, n: int = 5000, n_test: int = 1000, m: int = 64,
                   k: int = 10) -> Data:
    """MNIST-like data in [0, 1]: noisy copies of one random template per class.
    The default n is two parts of a pass for sigmax (at least 2048 rows each),
    so that its n_jobs=2 runs two threads on it."""
    rng = np.random.default_rng(seed)
    templates = rng.random((k, m))

    def draw(rows: int):
        y = rng.integers(0, k, size=rows)
        X = np.clip(templates[y] + 0.35 * rng.standard_normal((rows, m)), 0.0, 1.0)
        return X, y

    X, y = draw(n)
    X_test, y_test = draw(n_test)
    return Data("synthetic", X, y, X_test, y_test)


def mnist_data() -> Data:
    from sigmax.datasets import load_mnist

    default = REPO.parent / "shared" / "data" / "mnist"
    if not os.environ.get("SIGMAX_DATA") and default.is_dir():
        os.environ["SIGMAX_DATA"] = str(default)
    X, y, X_test, y_test = load_mnist(dtype=np.float64)
    return Data("MNIST", X, y, X_test, y_test)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small synthetic data, few repeats, no MNIST needed")
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="directory for latest.json, latest.md and scaling.png")
    parser.add_argument("--sections", default="",
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per measurement (default 5 for the SGD epochs "
                        "and 15 for the rest, quick 2)")
    parser.add_argument("--fit-repeats", type=int, default=None,
                        help="timed runs of each full fit (default 1; sklearn takes minutes)")
    parser.add_argument("--sklearn-max-iter", type=int, default=None,
                        help="max_iter of scikit-learn's full fit (default 500)")
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    cfg = quick_config() if args.quick else full_config()
    if args.repeats is not None:
        cfg.repeats = cfg.fast_repeats = args.repeats
    if args.fit_repeats is not None:
        cfg.fit_repeats = args.fit_repeats
    if args.sklearn_max_iter is not None:
        cfg.fit_sklearn_max_iter = args.sklearn_max_iter
    return cfg


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_lines(section: str, checks: Sequence[Dict[str, Any]]) -> List[str]:
    """Progress lines for a section's cross-checks: one for those that
    passed (naming the one closest to its tolerance), one per failure."""
    passed = [c for c in checks if c["passed"]]
    lines = []
    if passed:
        closest = max(passed, key=lambda c: c["max_abs_diff"] / c["tolerance"]
                      if c["tolerance"] > 0 else 0.0)
        lines.append(f"[{section}] cross-checks: {len(passed)} of {len(checks)} within "
                     f"tolerance (closest to it: {closest['contender']}, {closest['dtype']}, "
                     f"{closest['max_abs_diff']:.3g} <= {closest['tolerance']:.3g})")
    lines += [f"[{section}] CROSS-CHECK FAILED: {c['check']}, {c['dtype']}: {c['contender']} "
              f"differs from {c['reference']} by {c['max_abs_diff']:.3g} (tolerance "
              f"{c['tolerance']:.3g})" for c in checks if not c["passed"]]
    return lines


def to_json(value: Any) -> Any:
    """json.dump's fallback for NumPy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_outputs(results: Dict[str, Any], report: str, out: Path) -> List[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "latest.json", out / "latest.md"]
    written[0].write_text(json.dumps(results, indent=2, default=to_json) + "\n", encoding="utf-8")
    written[1].write_text(report, encoding="utf-8")
    if "scaling" in results["sections"]:
        png = plot_scaling(results["sections"]["scaling"], str(out / "scaling.png"))
        if png is None:
            log("matplotlib is not installed: no plot")
        else:
            written.append(Path(png))
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = make_config(args)
    try:
        chosen = sections([s.strip() for s in args.sections.split(",") if s.strip()])
    except ValueError as err:
        log(f"error: {err}")
        return 2
    start = time.perf_counter()
    machine = machine_info()
    data = synthetic_data(cfg.seed) if cfg.quick else mnist_data()
    log(f"data: {data.describe()}; sections: {', '.join(chosen)}")
    results: Dict[str, Any] = {
        "command": " ".join(["python benchmarks/run.py"] + list(argv if argv is not None
                                                                 else sys.argv[1:])),
        "quick": cfg.quick, "machine": machine, "data": data.describe(),
        "config": {k: v for k, v in vars(cfg).items()}, "sections": {},
    }
    # a run on one thread (one core) keeps the other libraries' thread pools,
    # BLAS and OpenMP, at one thread; sigmax sets its OpenMP thread count per
    # call (n_jobs), which this limit does not change
    if cfg.threads == (1,) and not thread_control():
        log("threadpoolctl is not installed: the other libraries' thread pools cannot be "
            "limited to one thread")
    failed: List[Dict[str, Any]] = []
    with all_threads(1) if cfg.threads == (1,) else contextlib.nullcontext():
        for name in chosen:
            t0 = time.perf_counter()
            log(f"[{name}] ...")
            results["sections"][name] = SECTIONS[name](data, cfg)
            results["sections"][name]["section_s"] = time.perf_counter() - t0
            log(f"[{name}] done in {time.perf_counter() - t0:.1f} s")
            checks = results["sections"][name].get("checks", [])
            for line in check_lines(name, checks):
                log(line)
            failed = [c for c in checks if not c["passed"]]
            if failed:
                log(f"[{name}] the contenders do not compute the same thing: the run stops here")
                break
    results["cross_checks_passed"] = not failed
    pool_reads(results)
    results["total_s"] = time.perf_counter() - start
    results["load_average_at_end"] = load_average()
    report = markdown(results)
    print(text_table(results))
    print()
    print(report)
    for path in write_outputs(results, report, args.out):
        log(f"wrote {path}")
    log(f"total {results['total_s']:.1f} s")
    if failed:
        log(f"error: {len(failed)} cross-check(s) failed (see above): these timings do not "
            "compare the same computation")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
