"""benchmarks/run.py --quick runs to the end and reports every section.

It runs in a subprocess on small synthetic data (no MNIST, no torch or
matplotlib needed) and writes into a temporary directory, once as it is and
once with scikit-learn and threadpoolctl unimportable.  The cross-checks
(the contenders compute the same thing) are asserted, and shown to fail on
a defective contender; the MNIST loader of the full run is tested on
$SIGMAX_DATA.  Nothing here asserts anything about timings: the machines
are shared and noisy.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

import sigmax
import sigmax.datasets

from marks import benchmark_module

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"
TIMEOUT_S = 600

SECTIONS = ("sgd_epoch", "loss_grad_vs_read", "predict_proba", "predict_proba_binary", "memory",
            "scaling", "full_fit", "bounds")
HEADINGS = ("## Benchmarks", "### Summary", "### Cross-checks", "### One minibatch-SGD epoch",
            "### Full-batch loss_grad against one read of X", "### predict_proba throughput",
            "### predict_proba of a binary model",
            "### Peak memory of fit", "### Scaling of loss_grad", "### Full fit to tolerance",
            "### What the machine allows")


def run_benchmark(out: Path, *args: str, first_on_path: Optional[Path] = None
                  ) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # the subprocess imports the sigmax this test imported (installed or in place)
    package_parent = str(Path(sigmax.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        str(p) for p in (first_on_path, package_parent, env.get("PYTHONPATH")) if p)
    # the quick mode must not need MNIST: point SIGMAX_DATA at nothing
    env["SIGMAX_DATA"] = str(out / "no-mnist-here")
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out), *args],
                          cwd=out, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmarks")
    proc = run_benchmark(out)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc, out


def unimportable(directory: Path, *packages: str) -> Path:
    """A directory of stand-ins for ``packages`` whose import raises
    ImportError, as if they were not installed, once it is first on the
    path."""
    for name in packages:
        (directory / name).mkdir(parents=True)
        (directory / name / "__init__.py").write_text(
            f"raise ImportError('{name} is not installed here')\n")
    return directory


@pytest.fixture(scope="module")
def without_sklearn(tmp_path_factory):
    """The quick run where neither scikit-learn nor threadpoolctl (which
    comes with it) can be imported."""
    out = tmp_path_factory.mktemp("benchmarks-without-sklearn")
    blocked = unimportable(out / "blocked", "sklearn", "threadpoolctl")
    proc = run_benchmark(out, "--repeats", "1", first_on_path=blocked)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc, out


def test_json_has_every_section(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    assert results["quick"] is True
    assert set(SECTIONS) <= set(results["sections"])
    for key in ("cpu_model", "cores", "numpy", "scikit-learn", "date"):
        assert results["machine"][key]
    assert "synthetic" in results["data"]


def test_ratios_are_positive_numbers(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    rows = [row for name in SECTIONS for row in results["sections"][name]["ratios"]]
    measured = {row["measurement"].split(":")[0] for row in rows}
    assert any(m.startswith("SGD epoch float32") for m in measured)
    assert any(m.startswith("SGD epoch float64") for m in measured)
    assert any(m.startswith("predict_proba") for m in measured)
    assert any(m.startswith("predict_proba binary float32") for m in measured)
    assert any(m.startswith("predict_proba binary float64") for m in measured)
    assert any(m.startswith("full fit") for m in measured)
    assert any("loss_grad / read-X" in row["measurement"] for row in rows)
    for row in rows:
        assert math.isfinite(row["ratio"]) and row["ratio"] > 0, row


def test_sgd_contenders_and_optional_peers(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    section = results["sections"]["sgd_epoch"]
    groups = section["by_dtype"]["float32"]["best_config"]
    assert {"sigmax", "NumPy (lecture code)", "scikit-learn SGDClassifier"} <= set(groups)
    for res in section["by_dtype"].values():
        # sigmax's epoch in row order is timed beside the shuffled one, at the
        # best thread count, and is no library's best configuration
        cost = res["shuffled_over_row_order"]
        in_order = f"sigmax in row order, no shuffle (n_jobs={cost['n_jobs']})"
        assert in_order in res["timings"]
        assert res["best_config"]["sigmax"] == f"sigmax SoftmaxRegression (n_jobs={cost['n_jobs']})"
        assert in_order not in res["best_config"].values()
        assert math.isfinite(cost["min"]) and cost["min"] > -1.0
        # the order of every timed round is recorded
        assert len(res["orders"]) == results["config"]["repeats"]
        assert all(sorted(order) == sorted(res["timings"]) for order in res["orders"])
    # SGDClassifier: on float32, that X and a float64 copy of it; the faster counts
    for dtype, inputs in (("float32", {"float32 X", "float64 copy of X"}),
                          ("float64", {"float64 X"})):
        res = section["by_dtype"][dtype]
        sk = [n for n in res["timings"] if n.startswith("sklearn SGDClassifier")]
        assert {n.split(", ")[1].split(" (")[0] for n in sk} == inputs
        best = res["best_config"]["scikit-learn SGDClassifier"]
        assert res["timings"][best]["min_s"] == min(res["timings"][n]["min_s"] for n in sk)
    try:
        import torch  # noqa: F401
    except Exception:
        assert "PyTorch CPU" not in groups
        assert any("PyTorch is not installed" in note for note in section["notes"])
    else:
        assert "PyTorch CPU" in groups


def test_the_contenders_are_checked_to_compute_the_same_thing(quick):
    """One SGD epoch in stored row order, and predict_proba of one model's
    coefficients: every contender that computes what sigmax does agrees with
    it, to the rounding of the dtype (exactly, sigmax at another n_jobs)."""
    proc, out = quick
    results = json.loads((out / "latest.json").read_text())
    assert results["cross_checks_passed"] is True
    sgd = results["sections"]["sgd_epoch"]
    for dtype, res in sgd["by_dtype"].items():
        checks = [c for c in sgd["checks"] if c["dtype"] == dtype]
        reference = {c["reference"] for c in checks}
        assert reference == {"sigmax in row order, no shuffle (n_jobs=1)"}
        # every contender but SGDClassifier (another model) and the reference itself
        assert {c["contender"] for c in checks} == {
            name for name in res["timings"] if not name.startswith("sklearn")} - reference
        eps = np.finfo(dtype).eps
        for c in checks:
            assert c["passed"] and c["max_abs_diff"] <= c["tolerance"], c
            if c["contender"].startswith("sigmax"):
                assert c["tolerance"] == 0.0
            else:  # 100 eps of the largest weight, which one quick epoch keeps below 1
                assert 0.0 < c["tolerance"] < 100 * eps
        assert any(c["contender"].startswith("NumPy") for c in checks)
        if "PyTorch CPU" in res["best_config"]:
            assert any(c["contender"].startswith("PyTorch manual") for c in checks)
    pp = results["sections"]["predict_proba"]
    for dtype, res in pp["by_dtype"].items():
        for split in res:
            checks = [c for c in pp["checks"] if c["dtype"] == dtype and f"{split} (" in c["check"]]
            assert all(c["passed"] for c in checks)
            sk = [c for c in checks if c["contender"].startswith("sklearn")]
            assert len(sk) == 1 and sk[0]["tolerance"] == 1000 * np.finfo(dtype).eps
            assert {c["contender"] for c in checks if c["tolerance"] == 0.0} == {
                f"sigmax (n_jobs={t})" for t in results["config"]["threads"][1:]}
    assert "[sgd_epoch] cross-checks:" in proc.stderr and "FAILED" not in proc.stderr
    assert "[predict_proba] cross-checks:" in proc.stderr


def one_batch_short(peers):
    """The NumPy lecture loop, but leaving out the epoch's last batch."""

    class OneBatchShort(peers.NumpyLectureSGD):
        def epoch(self):
            full = self.X
            self.X = full[:len(full) - (len(full) % self.batch_size or self.batch_size)]
            try:
                super().epoch()
            finally:
                self.X = full

    return OneBatchShort


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_epoch_check_fails_for_a_loop_that_leaves_out_a_batch(dtype):
    measurements, peers = benchmark_module("measurements"), benchmark_module("peers")
    rng = np.random.default_rng(3)
    X, y = rng.random((700, 8)).astype(dtype), rng.integers(0, 3, size=700)
    kw = dict(lr=0.1, batch_size=256, seed=0)
    objects = {"sigmax": peers.SigmaxEstimatorSGD(X, y, n_jobs=1, shuffle=False, **kw),
               "sigmax, 2 threads": peers.SigmaxEstimatorSGD(X, y, n_jobs=2, **kw),
               "NumPy": peers.NumpyLectureSGD(X, y, 3, **kw),
               "NumPy, one batch short": one_batch_short(peers)(X, y, 3, **kw),
               "SGDClassifier": object()}  # no stored order: not compared
    checks = measurements.same_epoch_checks(objects, {}, "sigmax", dtype)
    verdict = {c["contender"]: c["passed"] for c in checks}
    assert verdict == {"sigmax, 2 threads": True, "NumPy": True, "NumPy, one batch short": False}
    short = next(c for c in checks if not c["passed"])
    assert short["max_abs_diff"] > 1e4 * short["tolerance"]
    # the contenders' own order is back after the check
    assert isinstance(objects["NumPy"].order.__self__, np.random.Generator)
    assert objects["sigmax, 2 threads"].model.shuffle


def test_the_proba_check_fails_for_a_peer_that_leaves_out_the_intercept():
    measurements = benchmark_module("measurements")
    rng = np.random.default_rng(4)
    X, y = rng.random((300, 5)), rng.integers(0, 3, size=300)
    ours = sigmax.SoftmaxRegression(max_iter=20).fit(X, y)

    class Peer:
        def __init__(self, intercept):
            self.coef_, self.intercept_ = np.zeros((3, 5)), np.zeros(3)
            self.use_intercept = intercept

        def predict_proba(self, X):
            Z = X @ self.coef_.T + (self.intercept_ if self.use_intercept else 0.0)
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            return E / E.sum(axis=1, keepdims=True)

    for intercept, passed in ((True, True), (False, False)):
        checks = measurements.same_proba_checks(ours, Peer(intercept), X, (1, 2), np.float64, "p")
        assert [(c["contender"].split()[0], c["passed"]) for c in checks] == [
            ("sigmax", True), ("sklearn", passed)]


def test_a_failed_cross_check_stops_the_run_with_status_1(tmp_path, monkeypatch, capsys):
    run = benchmark_module("run")
    ran = []

    def failing(data, cfg):
        ran.append("sgd_epoch")
        return {"title": "One minibatch-SGD epoch", "by_dtype": {}, "ratios": [], "notes": [],
                "checks": [{"check": "same epoch", "dtype": "float32", "contender": "NumPy",
                            "reference": "sigmax", "max_abs_diff": 6e-3, "tolerance": 1e-6,
                            "passed": False}]}

    monkeypatch.setitem(run.SECTIONS, "sgd_epoch", failing)
    monkeypatch.setitem(run.SECTIONS, "memory", lambda data, cfg: ran.append("memory"))
    status = run.main(["--quick", "--sections", "sgd_epoch,memory", "--out", str(tmp_path)])
    assert status == 1 and ran == ["sgd_epoch"]
    err = capsys.readouterr().err
    assert "CROSS-CHECK FAILED: same epoch, float32: NumPy differs from sigmax by 0.006" in err
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["cross_checks_passed"] is False and list(results["sections"]) == ["sgd_epoch"]
    assert "**FAILED**" in (tmp_path / "latest.md").read_text()


def test_quick_run_sweeps_the_thread_counts_on_data_sigmax_splits(quick):
    """The quick run times every contender at 1 and 2 threads (on 2 cores
    or more), on a training set that sigmax cuts into two parts per pass,
    so that its n_jobs=2 runs two threads."""
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    measurements = benchmark_module("measurements")
    threads = [1, 2] if (os.cpu_count() or 1) >= 2 else [1]
    assert results["config"]["threads"] == results["config"]["scaling_threads"] == threads
    data = benchmark_module("run").synthetic_data(results["config"]["seed"])
    assert data.X64.shape[0] >= 2 * measurements.PART_MIN_ROWS
    sections = results["sections"]
    for t in threads:
        for dtype in ("float32", "float64"):
            sgd = sections["sgd_epoch"]["by_dtype"][dtype]["timings"]
            assert {f"sigmax SoftmaxRegression (n_jobs={t})", f"NumPy lecture loop (BLAS {t} thr)",
                    f"sigmax in row order, no shuffle (n_jobs={t})"} <= set(sgd)
            assert str(t) in sections["loss_grad_vs_read"]["by_dtype"][dtype]["by_threads"]
            for m in results["config"]["binary_features"]:
                binary = sections["loss_grad_vs_read"]["binary"][f"binary {dtype}, {m} features"]
                assert str(t) in binary["by_threads"] and binary["features"] == m
            assert f"n_jobs={t}" in sections["scaling"]["threads"][dtype]["timings"]
            for split in ("test", "train"):
                assert f"sigmax (n_jobs={t})" in sections["predict_proba"]["by_dtype"][dtype][
                    split]["timings"]
    if threads == [1, 2]:
        assert "speedup" in sections["scaling"]["threads"]["float32"]
        # the training set is two parts; the 1000-row test set one, and a note says so
        one_part = [n for name in ("loss_grad_vs_read", "predict_proba", "scaling")
                    for n in sections[name]["notes"] if "is one part for sigmax" in n]
        assert one_part == ["the test set (1000 rows) is one part for sigmax, whose passes over X "
                            "are cut into parts of at least 2048 rows, one thread each: there "
                            "its n_jobs=2 runs on one thread"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
@pytest.mark.skipif(not sigmax._core.has_openmp() or (os.cpu_count() or 1) < 2,
                    reason="sigmax runs one thread here")
def test_sigmax_runs_two_threads_on_the_quick_data_whatever_the_thread_pool_limits():
    """What the notes say: n_jobs=2 starts a second (OpenMP) thread on the
    quick run's training set, a pass of two parts, and none on its test set
    (one part), also inside all_threads(1), which limits the other
    libraries' OpenMP and BLAS pools (sigmax sets its count per call)."""
    script = f"""
import glob, sys
sys.path.insert(0, {str(REPO / "benchmarks")!r})
import numpy as np, sigmax, run
from harness import all_threads, thread_control
data = run.synthetic_data(0)
W, b = np.zeros((data.k, data.X32.shape[1]), np.float32), np.zeros(data.k, np.float32)
threads = lambda: len(glob.glob("/proc/self/task/*"))
with all_threads(1):
    counts = [threads()]
    for X, y in ((data.X32_test, data.y_test), (data.X32, data.y)):
        sigmax.loss_grad(X, y, W, b, n_jobs=2)
        counts.append(threads())
print(thread_control(), *counts)
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(Path(sigmax.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH"))
        if p))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    limited, before, after_test, after_train = proc.stdout.split()
    assert limited == "True"
    assert int(after_test) == int(before) and int(after_train) == int(before) + 1


def test_mnist_data_is_loaded_from_sigmax_data(monkeypatch):
    """The full run's data: MNIST from $SIGMAX_DATA, as float64 (and float32
    copies), labels 0 to 9."""
    run = benchmark_module("run")
    directory = os.environ.get("SIGMAX_DATA", str(REPO.parent / "shared" / "data" / "mnist"))
    if not Path(directory).is_dir():
        pytest.fail(f"MNIST not found in {directory}: set SIGMAX_DATA to the directory of the IDX files")
    monkeypatch.setenv("SIGMAX_DATA", directory)
    data = run.mnist_data()
    assert data.describe() == "MNIST: 60000 x 784 train, 10000 test, 10 classes"
    assert (data.X64.dtype, data.X32.dtype, data.X64_test.shape) == (np.float64, np.float32,
                                                                   (10000, 784))
    assert data.X64[:1000].min() == 0.0 and data.X64[:1000].max() == 1.0  # pixels / 255
    assert np.array_equal(np.unique(data.y), np.arange(10)) and data.y_test.shape == (10000,)


def test_mnist_data_looks_beside_the_checkout_when_sigmax_data_is_unset(monkeypatch):
    run = benchmark_module("run")
    seen = []

    def load_mnist(dtype):
        seen.append(os.environ.get("SIGMAX_DATA"))
        X, y = np.zeros((3, 4), dtype), np.arange(3)
        return X, y, X, y

    monkeypatch.setattr(sigmax.datasets, "load_mnist", load_mnist)
    # set, then removed: monkeypatch restores it (unset or not) after mnist_data sets it
    monkeypatch.setenv("SIGMAX_DATA", "")
    monkeypatch.delenv("SIGMAX_DATA")
    assert run.mnist_data().describe() == "MNIST: 3 x 4 train, 3 test, 3 classes"
    default = REPO.parent / "shared" / "data" / "mnist"
    assert seen == [str(default) if default.is_dir() else None]


def test_memory_and_full_fit_are_reported(quick):
    _, out = quick
    sections = json.loads((out / "latest.json").read_text())["sections"]
    memory = sections["memory"]["rows"]
    assert {(r["dtype"], r["solver"]) for r in memory} == {
        ("float32", "sgd"), ("float32", "lbfgs"), ("float64", "sgd"), ("float64", "lbfgs")}
    for r in memory:  # measured in a child process, reported as fractions of X
        assert r["peak_bytes"] > 0
        assert r["fraction_of_X"] == pytest.approx(r["peak_bytes"] / r["X_nbytes"])
    fit = sections["full_fit"]
    assert fit["sigmax"]["objective"] <= fit["sklearn"]["objective"] * (1 + 1e-7)
    # sigmax at its default settings beside the fit whose tol was chosen after the fact
    default = fit["sigmax_default"]
    assert default["tol"] == sigmax.SoftmaxRegression().get_params()["tol"] == 1e-8
    assert default["reaches_sklearn_objective"] == (
        default["objective"] <= fit["sklearn"]["objective"] * (1 + 1e-7))
    denominators = [row["denominator"] for row in fit["ratios"]]
    assert denominators == [f"sigmax (tol={fit['sigmax']['tol']:g}, chosen)",
                            "sigmax (default tol=1e-08)"]
    assert any(f"tol={fit['sigmax']['tol']:g} was chosen after the fact" in note
               for note in fit["notes"])
    assert fit["sklearn"]["objective"] == pytest.approx(
        fit["sklearn"]["objective_via_sklearn_log_loss"], rel=1e-6)


def test_the_memory_instruments_see_a_copy_of_x():
    fit_memory = benchmark_module("fit_memory")
    X = np.ones((1000, 1024))  # 8 MiB
    assert fit_memory.traced_peak(lambda: X.copy()) >= X.nbytes
    assert fit_memory.traced_peak(lambda: X.sum()) < X.nbytes / 100
    rss = fit_memory.rss_peak_growth(lambda: X + 1.0)
    if rss is not None:  # Linux
        assert rss >= 0.9 * X.nbytes


def test_floors_are_the_larger_bound(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    data = benchmark_module("run").synthetic_data(results["config"]["seed"])
    (n, m), k = data.X64.shape, data.k  # the quick run's synthetic training set
    for dtype, res in results["sections"]["bounds"]["by_dtype"].items():
        rate = res["gflops"] * 1e9
        # the rate is the larger of the multiply-add probe's and the BLAS product's, each the
        # operations of its fastest thread count over its minimum time
        timings = res["timings"]
        peak = max(f / timings[name]["min_s"] for name, f in res["peak_flops"].items())
        gemm = min(timings[name]["min_s"] for name in timings if name.startswith("GEMM"))
        assert res["peak_gflops"] * 1e9 == pytest.approx(peak)
        assert res["gemm_gflops"] * 1e9 == pytest.approx(2 * 256**3 / gemm)
        assert rate == pytest.approx(max(peak, 2 * 256**3 / gemm))
        assert res["rate"] == (res["peak"] if peak >= 2 * 256**3 / gemm else res["gemm"])
        sgd = res["workloads"]["SGD epoch / loss_grad"]
        assert sgd["flops"] == 4 * n * m * k  # logits and gradient: 2 FLOPs per multiply-add each
        assert res["workloads"]["predict_proba train"]["flops"] == 2 * n * m * k
        for w in res["workloads"].values():
            assert w["arithmetic_s"] == pytest.approx(w["flops"] / rate)
            assert w["floor_s"] == max(w["read_x_s"], w["arithmetic_s"])
            assert w["bound"] == ("read X" if w["read_x_s"] >= w["arithmetic_s"] else "arithmetic")


def test_shuffled_read_is_the_ratio_of_its_two_reads_and_is_reported(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    report = (out / "latest.md").read_text()
    for dtype, res in results["sections"]["bounds"]["by_dtype"].items():
        gather = res["shuffled_read"]
        shuffled, stored = res["timings"][gather["shuffled"]], res["timings"][gather["stored"]]
        assert gather["ratio"] == pytest.approx(shuffled["min_s"] / stored["min_s"])
        assert gather["ratio_median"] == pytest.approx(shuffled["median_s"] / stored["median_s"])
        assert f"{dtype} {gather['ratio']:.2f}x (median {gather['ratio_median']:.2f}x)" in report


def test_batch_reads_take_every_row_in_their_order():
    measurements = benchmark_module("measurements")
    X = np.arange(10 * 3, dtype=np.float64).reshape(10, 3)
    seen = []
    real_take = np.ndarray.take

    class Recording(np.ndarray):
        def take(self, rows, axis=None, out=None, mode="raise"):
            seen.append(np.array(rows))
            return real_take(np.asarray(self), rows, axis=axis, out=out, mode=mode)

    X_rec = X.view(Recording)
    shuffled, stored = measurements.batch_read_tasks(X_rec, batch_size=4, seed=7)
    stored.run()
    assert [len(r) for r in seen] == [4, 4, 2]
    assert np.array_equal(np.concatenate(seen), np.arange(10))
    seen.clear()
    shuffled.run()
    order = np.concatenate(seen)
    assert np.array_equal(np.sort(order), np.arange(10))
    assert np.array_equal(order, np.random.default_rng(7).permutation(10))


def test_best_configuration_reports_its_own_median():
    harness = benchmark_module("harness")
    fast_but_noisy, steady = harness.Timing(), harness.Timing()
    for wall in (1.0, 10.0, 10.0):
        fast_but_noisy.add(wall, wall)
    for wall in (2.0, 2.0, 2.0):
        steady.add(wall, wall)
    timings = {"fast_but_noisy": fast_but_noisy, "steady": steady}
    best = harness.best_of(timings, list(timings))
    assert (best.name, best.min, best.median) == ("fast_but_noisy", 1.0, 10.0)


def test_race_runs_each_round_in_a_fresh_recorded_order():
    harness = benchmark_module("harness")
    calls = []
    names = ["a", "b", "c", "d"]
    tasks = [harness.Task(name, lambda name=name: calls.append(name)) for name in names]
    result = harness.race(tasks, repeats=6, min_sample_s=0.0, seed=3)
    assert calls[:4] == names  # the warm-up, in the given order
    assert [calls[4 + 4 * r:8 + 4 * r] for r in range(6)] == result.orders
    assert all(sorted(order) == names for order in result.orders)
    # not a rotation of one list: some task follows different tasks in different rounds
    before = {name: {order[order.index(name) - 1] for order in result.orders
                     if order.index(name) > 0} for name in names}
    assert any(len(previous) > 1 for previous in before.values())
    assert all(len(result[name].samples) == 6 for name in names)
    assert harness.race(tasks, repeats=6, min_sample_s=0.0, seed=3).orders == result.orders


def test_predict_proba_timed_calls_are_predict_proba_alone():
    """Each contender's thread setting is made in the untimed set-up: the
    timed call of sigmax is its predict_proba, not set_params as well."""
    measurements = benchmark_module("measurements")
    events = []

    class Model:
        def __init__(self, who):
            self.who, self.n_jobs = who, None

        def set_params(self, n_jobs):
            events.append((self.who, "set_params", n_jobs))
            self.n_jobs = n_jobs
            return self

        def predict_proba(self, X):
            events.append((self.who, "predict_proba", self.n_jobs))
            return X

    ours, theirs = Model("sigmax"), Model("sklearn")
    tasks, our_names, sk_names = measurements.predict_proba_tasks(ours, theirs, np.ones((3, 2)),
                                                                  (1, 2))
    assert our_names == ["sigmax (n_jobs=1)", "sigmax (n_jobs=2)"]
    assert len(sk_names) == 2 and [task.name for task in tasks] == our_names + sk_names
    for task in tasks:
        if task.setup is not None:
            task.setup()
        events.clear()
        task.run()
        if task.teardown is not None:
            task.teardown()
        if task.name in our_names:
            assert events == [("sigmax", "predict_proba", int(task.name[-2]))]
        else:
            assert events == [("sklearn", "predict_proba", None)]


def test_numpy_lecture_loop_takes_the_minibatch_steps():
    peers = benchmark_module("peers")
    rng = np.random.default_rng(1)
    X, y = rng.random((100, 6)), rng.integers(0, 3, size=100)
    peer = peers.NumpyLectureSGD(X, y, 3, lr=0.5, batch_size=32, seed=7)
    peer.reset()
    peer.epoch()
    W, b = np.zeros((3, 6)), np.zeros(3)
    perm = np.random.default_rng(7).permutation(100)
    for start in range(0, 100, 32):
        rows = perm[start:start + 32]
        Z = X[rows] @ W.T + b
        A = np.exp(Z - Z.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
        A[np.arange(rows.size), y[rows]] -= 1
        W -= 0.5 * A.T @ X[rows] / rows.size
        b -= 0.5 * A.mean(axis=0)
    np.testing.assert_allclose(peer.W, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(peer.b, b, rtol=1e-12, atol=1e-14)


def test_sgdclassifier_gets_the_same_objective_and_learning_rate():
    peers = benchmark_module("peers")
    rng = np.random.default_rng(2)
    X, y = rng.random((60, 4)).astype(np.float32), rng.integers(0, 3, size=60)
    peer = peers.SklearnSGDClassifier(X, y, lr=0.25, seed=0, n_jobs=1)
    params = peer.model.get_params()
    assert (params["loss"], params["penalty"], params["learning_rate"], params["eta0"]) == (
        "log_loss", None, "constant", 0.25)
    assert (params["max_iter"], params["tol"], params["shuffle"]) == (1, None, True)
    peer.epoch()
    assert 0.0 <= peer.accuracy(X, y) <= 1.0


def test_ratios_at_the_floor_are_reported_beside_the_measured_ones():
    WHOLE_RUN_RENDERERS = benchmark_module("report").WHOLE_RUN_RENDERERS
    timing = lambda s: {"min_s": s, "median_s": s}
    workload = {"flops": 2e9, "floor_s": 0.002, "bound": "read X"}
    results = {"sections": {
        "sgd_epoch": {"by_dtype": {"float32": {
            "best_config": {"sigmax": "ours", "NumPy (lecture code)": "numpy"},
            "timings": {"ours": timing(0.010), "numpy": timing(0.030)}}}},
        "loss_grad_vs_read": {"by_dtype": {"float32": {
            "timings": {"loss_grad (n_jobs=1)": timing(0.008), "X @ v": timing(0.001)}}}},
    }}
    bounds = {"title": "What the machine allows", "notes": [], "by_dtype": {"float32": {
        "gflops": 100.0, "peak_gflops": 100.0, "peak": "multiply-add peak (avx2, 1 thr)",
        "gemm_gflops": 80.0, "gemm": "GEMM (BLAS 1 thr)",
        "workloads": {"SGD epoch / loss_grad": workload}}}}
    lines = WHOLE_RUN_RENDERERS["bounds"](bounds, results)
    assert ("float32 100 GFLOP/s, the larger of the vector units' multiply-add peak, 100 GFLOP/s "
            "(multiply-add peak (avx2, 1 thr)), and a BLAS matrix product, 80 GFLOP/s "
            "(GEMM (BLAS 1 thr))") in "\n".join(lines)
    sgd = next(line for line in lines if line.startswith("| SGD epoch vs NumPy"))
    cells = [c.strip() for c in sgd.strip("|").split("|")]
    assert cells[6] == "3.00x"        # measured: 30 ms / 10 ms
    assert cells[7] == "**15.00x**"   # at the floor: 30 ms / 2 ms
    lg = next(line for line in lines if line.startswith("| full-batch loss_grad"))
    cells = [c.strip() for c in lg.strip("|").split("|")]
    assert cells[6] == "8.00x"        # measured: 8 ms / 1 ms of read-X
    assert cells[7] == "**2.00x**"    # at the floor: 2 ms / 1 ms
    # run alone, the section still shows its floors
    workload.update(read_x_s=0.002, arithmetic_s=0.0015)
    alone = WHOLE_RUN_RENDERERS["bounds"](bounds, {"sections": {}})
    row = next(line for line in alone if line.startswith("| SGD epoch / loss_grad"))
    assert [c.strip() for c in row.strip("|").split("|")][-1] == "2 ms (read X)"
    # the read that won is named where known
    workload["read_x"] = "u @ X (BLAS 1 thr)"
    alone = WHOLE_RUN_RENDERERS["bounds"](bounds, {"sections": {}})
    row = next(line for line in alone if line.startswith("| SGD epoch / loss_grad"))
    assert [c.strip() for c in row.strip("|").split("|")][3] == "2 ms (u @ X (BLAS 1 thr))"
    lines = WHOLE_RUN_RENDERERS["bounds"](bounds, results)
    sgd = next(line for line in lines if line.startswith("| SGD epoch vs NumPy"))
    assert [c.strip() for c in sgd.strip("|").split("|")][3] == "2 ms (read X: u @ X (BLAS 1 thr))"


def test_read_x_is_the_fastest_of_four_kernels_in_the_whole_run(quick):
    _, out = quick
    results = json.loads((out / "latest.json").read_text())
    kernels = ("X @ v (BLAS", "u @ X (BLAS", "X.sum() (NumPy, 1 thr)", "X.max() (NumPy, 1 thr)")
    bounds = results["sections"]["bounds"]["by_dtype"]
    for dtype, res in results["sections"]["loss_grad_vs_read"]["by_dtype"].items():
        theirs = bounds[dtype]["timings"]
        for threads, r in res["by_threads"].items():
            candidates = r["read_x_candidates"]
            assert sorted(c.split(" (")[0] for c in candidates) == sorted(
                k.split(" (")[0] for k in kernels)
            # the BLAS reads run at the row's thread count, NumPy's on one thread
            assert all(f"BLAS {threads} thr" in c for c in candidates if "BLAS" in c)
            # timed in this race and in the bounds section's: the fastest of both
            pooled = {c: res["timings"][c]["min_s"] for c in candidates}
            pooled.update({f"train {c}": theirs[f"train {c}"]["min_s"] for c in candidates})
            fastest = min(pooled, key=pooled.get)
            assert r["read_x"] == fastest
            assert r["ratio"] == pytest.approx(res["timings"][r["loss_grad"]]["min_s"]
                                               / pooled[fastest])
        train_reads = {n: res["timings"][n]["min_s"] for r in res["by_threads"].values()
                       for n in r["read_x_candidates"]}
        train_reads.update({n: t["min_s"] for n, t in theirs.items() if n.startswith("train ")})
        test_reads = {n: t["min_s"] for n, t in theirs.items() if n.startswith("test ")}
        assert len(test_reads) == 2 + 2 * len(results["config"]["threads"])
        for split, reads in (("train", train_reads), ("test", test_reads)):
            fastest = min(reads, key=reads.get)
            w = bounds[dtype]["workloads"][f"predict_proba {split}"]
            assert (w["read_x"], w["read_x_s"]) == (fastest, reads[fastest])


def test_pooled_reads_take_the_faster_race():
    """The bounds race read X 20% faster than loss_grad's own race: loss_grad's
    cost and the training set's floor are then over that read."""
    measurements = benchmark_module("measurements")

    def timing(min_s):
        return {"min_s": min_s, "median_s": 2 * min_s}

    names = ["X.max() (NumPy, 1 thr)", "X @ v (BLAS 1 thr)"]
    row = {"loss_grad": "loss_grad (n_jobs=1)", "read_x": names[1], "read_x_candidates": names,
           "ratio": 7.0 / 3.7, "ratio_median": 7.0 / 3.7, "read_x_GBps": 50.0}
    results = {"sections": {
        "loss_grad_vs_read": {"ratios": [{
            "measurement": "loss_grad float32, 1 thr: loss_grad / read-X",
            "denominator": names[1], "denominator_s": 3.7, "ratio": 7.0 / 3.7,
            "ratio_median": 7.0 / 3.7}],
            "by_dtype": {"float32": {"X_nbytes": 185.0, "by_threads": {"1": row}, "timings": {
                "loss_grad (n_jobs=1)": timing(7.0), names[0]: timing(4.0), names[1]: timing(3.7)}}}},
        "bounds": {"by_dtype": {"float32": {
            "timings": {f"train {names[0]}": timing(5.0), f"train {names[1]}": timing(3.1)},
            "workloads": {"predict_proba train": {
                "X_nbytes": 185.0, "read_x": f"train {names[1]}", "read_x_s": 3.1,
                "arithmetic_s": 1.0, "floor_s": 3.1, "bound": "read X"}}}}}}}
    measurements.pool_reads(results)
    assert (row["read_x"], row["ratio"]) == (f"train {names[1]}", pytest.approx(7.0 / 3.1))
    ratio = results["sections"]["loss_grad_vs_read"]["ratios"][0]
    assert (ratio["denominator_s"], ratio["ratio"]) == (3.1, pytest.approx(7.0 / 3.1))
    # now the loss_grad race's read is the faster: the floor follows it
    results["sections"]["loss_grad_vs_read"]["by_dtype"]["float32"]["timings"][names[0]] = timing(2.5)
    row.update(read_x=names[1])
    measurements.pool_reads(results)
    w = results["sections"]["bounds"]["by_dtype"]["float32"]["workloads"]["predict_proba train"]
    assert (row["read_x"], w["read_x"], w["read_x_s"], w["floor_s"]) == (names[0], names[0], 2.5, 2.5)


def test_markdown_on_stdout_and_in_file(quick):
    proc, out = quick
    markdown = (out / "latest.md").read_text()
    for heading in HEADINGS:
        assert heading in markdown, heading
        assert heading in proc.stdout, heading
    assert "| measurement |" in markdown
    assert "Machine:" in markdown
    first_line = proc.stdout.splitlines()[0]
    assert first_line.split()[:1] == ["measurement"] and "ratio" in first_line


def test_plot_written_when_matplotlib_is_there(quick):
    _, out = quick
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not (out / "scaling.png").exists()
    else:
        assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sections_option_runs_a_subset(tmp_path):
    proc = run_benchmark(tmp_path, "--sections", "memory,full_fit")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    assert list(results["sections"]) == ["memory", "full_fit"]
    assert not (tmp_path / "scaling.png").exists()


def test_unknown_section_is_an_error(tmp_path):
    proc = run_benchmark(tmp_path, "--sections", "nonsense")
    assert proc.returncode == 2
    assert "nonsense" in proc.stderr


def test_accuracy_is_after_one_epoch_whatever_the_race_ran():
    """A timed sample of a short epoch runs several: accuracy is taken after a
    reset and exactly one."""
    measurements = benchmark_module("measurements")

    class Epochs:
        def __init__(self):
            self.done = 0

        def reset(self):
            self.done = 0

        def epoch(self):
            self.done += 1

        def accuracy(self, X, y):
            return self.done

    contender = Epochs()
    for _ in range(3):
        contender.epoch()
    assert measurements._accuracy_after_one_epoch(contender, None, None) == 1


def test_without_sklearn_its_comparisons_are_skipped_and_the_rest_runs(without_sklearn):
    proc, out = without_sklearn
    results = json.loads((out / "latest.json").read_text())
    assert results["machine"]["scikit-learn"] is None  # the stand-in did block it
    assert set(SECTIONS) <= set(results["sections"])
    sections = results["sections"]
    missing = "scikit-learn is not installed"
    sgd = sections["sgd_epoch"]
    assert any(missing in note and "SGDClassifier" in note for note in sgd["notes"])
    for res in sgd["by_dtype"].values():
        assert "scikit-learn SGDClassifier" not in res["best_config"]
        assert not [name for name in res["timings"] if name.startswith("sklearn")]
        assert {"sigmax", "NumPy (lecture code)"} <= set(res["best_config"])
    assert [row for row in sgd["ratios"] if row["measurement"].startswith("SGD epoch")]
    pp = sections["predict_proba"]
    assert pp["ratios"] == [] and any(missing in note for note in pp["notes"])
    for res in pp["by_dtype"].values():  # sigmax's throughput alone
        for split in res.values():
            assert split["timings"] and all(n.startswith("sigmax") for n in split["timings"])
    binary = sections["predict_proba_binary"]
    assert binary["ratios"] == [] and any(missing in note for note in binary["notes"])
    for res in binary["by_dtype"].values():
        for shape in res.values():
            assert shape["timings"] and all(n.startswith("sigmax") for n in shape["timings"])
    fit = sections["full_fit"]
    assert fit["ratios"] == [] and "sklearn" not in fit and any(missing in n for n in fit["notes"])
    assert fit["sigmax_default"]["n_iter"] > 0
    # every output is written, and the notes are in the report
    report = (out / "latest.md").read_text()
    for heading in HEADINGS:
        assert heading in report, heading
    assert report.count(missing) == 4 and missing in proc.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def timed_names(node) -> list:
    """The names of every timed contender in (a part of) the results: the
    keys of each "timings" dict."""
    if isinstance(node, dict):
        own = list(node["timings"]) if isinstance(node.get("timings"), dict) else []
        return own + [name for key, value in node.items() if key != "timings"
                      for name in timed_names(value)]
    if isinstance(node, list):
        return [name for value in node for name in timed_names(value)]
    return []


def test_without_threadpoolctl_no_contender_claims_a_blas_thread_count(without_sklearn):
    _, out = without_sklearn
    results = json.loads((out / "latest.json").read_text())
    assert results["machine"]["threadpoolctl"] is None
    blas = [name for name in timed_names(results["sections"]) if "BLAS" in name]
    assert blas and all(name.endswith("(BLAS default threads)") for name in blas), blas
    for name in ("sgd_epoch", "loss_grad_vs_read", "bounds"):
        notes = results["sections"][name]["notes"]
        assert any("threadpoolctl is not installed" in note for note in notes)
