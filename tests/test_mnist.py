"""The lecture's MNIST run: zero init, 25 epochs of minibatch SGD (batch 256,
lr 0.1) reaches about the lecture's accuracy: at least 92% (the lecture reports
92.16%; the shuffle's seed moves it by about 0.2 points).  The update rule
itself is checked step by step against NumPy on small data (test_estimators)."""
import errno
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import sigmax
from sigmax.datasets import load_mnist

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path:
    path = Path(os.environ.get("SIGMAX_DATA", REPO.parent / "shared" / "data" / "mnist"))
    if not path.is_dir():
        pytest.fail(f"MNIST not found in {path}: set SIGMAX_DATA to the directory of the IDX files")
    return path


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(mnist_dir())


def test_lecture_run_reaches_92_percent(mnist):
    X_train, y_train, X_test, y_test = mnist
    model = sigmax.SoftmaxRegression(solver="sgd", learning_rate=0.1, max_iter=25,
                                     batch_size=256, random_state=0)
    model.fit(X_train, y_train)
    assert model.coef_.shape == (10, 784) and model.coef_.dtype == np.float32
    assert np.array_equal(model.classes_, np.arange(10))
    assert len(model.loss_curve_) == 25
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    accuracy = model.score(X_test, y_test)
    assert accuracy >= 0.92, accuracy


def test_float32_lbfgs_stops_quietly_at_the_rounding_limit(mnist):
    """On float32 MNIST the line search stalls at the dtype's rounding limit
    (after about 140 iterations with alpha=1e-4); that stop stays quiet: the
    objective's estimated further decrease is about 1e-9, far below the
    warning's 1e-6 of it, and the fit matches float64's objective."""
    X_train, y_train, _, _ = mnist
    with warnings.catch_warnings():
        warnings.simplefilter("error", sigmax.ConvergenceWarning)
        model = sigmax.SoftmaxRegression(alpha=1e-4, n_jobs=-1).fit(X_train, y_train)
    X64 = X_train.astype(np.float64)
    exact = sigmax.SoftmaxRegression(alpha=1e-4, n_jobs=-1).fit(X64, y_train)

    def objective(m):
        return sigmax.loss(X64, y_train, m.coef_.astype(np.float64),
                           m.intercept_.astype(np.float64), alpha=1e-4)

    assert model.n_iter_ < 1000
    assert abs(objective(model) - objective(exact)) < 1e-6 * objective(exact)


def test_float32_loss_matches_float64_on_mnist_sized_sums(mnist):
    X32, y, _, _ = mnist
    rng = np.random.default_rng(0)
    W = rng.normal(scale=0.01, size=(10, 784))
    b = rng.normal(scale=0.1, size=10)
    X64 = X32.astype(np.float64)
    l32, gW32, _ = sigmax.loss_grad(X32, y, W.astype(np.float32), b.astype(np.float32), alpha=1e-3)
    l64, gW64, _ = sigmax.loss_grad(X64, y, W.astype(np.float32).astype(np.float64),
                                    b.astype(np.float32).astype(np.float64), alpha=1e-3)
    assert l32.dtype == np.float32
    assert abs(float(l32) - float(l64)) <= 1e-5 * abs(float(l64))
    np.testing.assert_allclose(gW32, gW64, rtol=1e-4, atol=1e-6)


def test_main_job_runs(capsys, monkeypatch):
    from sigmax.__main__ import main

    monkeypatch.setenv("SIGMAX_DATA", str(mnist_dir()))
    assert main(["--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "per epoch" in out


def _job_env() -> dict:
    """The environment for `python -m sigmax` in a child process: this sigmax,
    the MNIST files, stdout buffered as it is by default, Python's default
    warning filters."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONUNBUFFERED", "PYTHONWARNINGS")}
    package_parent = str(Path(sigmax.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    env["SIGMAX_DATA"] = str(mnist_dir())
    return env


def test_main_job_keeps_its_lines_in_order_in_one_pipe():
    """stdout and stderr into one pipe (`2>&1 | tee log`): stdout is then
    block-buffered, and the header must still come before the epochs' lines."""
    run = subprocess.run([sys.executable, "-m", "sigmax", "--epochs", "2", "--n-jobs", "1"],
                         env=_job_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == \
        ["MNIST", "SoftmaxRegression", "SoftmaxRegression", "test accuracy", "training"], lines


def test_main_job_reports_a_failed_fit_as_an_error(capsys, monkeypatch):
    """A learning rate that passes the option check and overflows the weights:
    exit status 1 and a one-line message, not a traceback."""
    from sigmax.__main__ import main

    monkeypatch.setenv("SIGMAX_DATA", str(mnist_dir()))
    with pytest.raises(SystemExit) as exited:
        main(["--epochs", "1", "--learning-rate", "1e300"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert last.startswith("python -m sigmax: error: ") and "training diverged" in last
    assert "--learning-rate=1e+300 is too large" in last  # the option, not learning_rate
    assert err.endswith(last + "\n") and "Traceback" not in err


def test_main_job_reports_warnings_in_the_options_terms():
    """A warning of the fit is one line in the job's own terms, as its errors
    are: the option (--learning-rate), not the estimator's parameter, and not
    Python's warning format with the path and source line of sigmax's call."""
    run = subprocess.run([sys.executable, "-m", "sigmax", "--epochs", "3", "--learning-rate", "30",
                          "--n-jobs", "1"], env=_job_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if not line.startswith("SoftmaxRegression: ")]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("python -m sigmax: warning: SoftmaxRegression: the objective rose")
    assert lines[0].endswith("--learning-rate=30.0 is likely too large for this data")


def test_main_job_help_goes_to_stdout_and_exits_0():
    run = subprocess.run([sys.executable, "-m", "sigmax", "--help"], env=_job_env(),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.startswith("usage: python -m sigmax [-h] [--epochs EPOCHS]")
    assert run.stdout.endswith("$SIGMAX_DATA or a cache)\n")  # the last option's help, one newline


# the job's two kinds of output to stdout: a run's lines, and --help's text
_OUTPUTS = pytest.mark.parametrize("args", [["--epochs", "1", "--n-jobs", "1"], ["--help"]],
                                   ids=["run", "help"])


@_OUTPUTS
@pytest.mark.parametrize("stderr_too", [False, True], ids=["stdout", "stdout and stderr"])
def test_main_job_stops_quietly_when_its_reader_has_gone(stderr_too, args):
    """`python -m sigmax | head -1` (or `2>&1 | head -1`): once the pipe's
    reader has gone, the job stops with status 141, as a program stopped by
    SIGPIPE does, without a traceback or a message.  The pipe's read end is
    closed before the job starts, so that its first line already meets it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = subprocess.run([sys.executable, "-m", "sigmax", *args],
                             env=_job_env(), stdout=write_end,
                             stderr=write_end if stderr_too else subprocess.PIPE, timeout=300)
    finally:
        os.close(write_end)
    assert run.returncode == 141, run.stderr
    assert run.stderr in (None, b"")


@_OUTPUTS
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_main_job_reports_output_it_cannot_write_as_an_error(args):
    """stdout on a full disk: exit status 1 and a one-line message, not a
    traceback (nor a second report from Python's flush of stdout at exit)."""
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "sigmax", *args],
                             env=_job_env(), stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=300)
    assert run.returncode == 1
    assert run.stderr == ("python -m sigmax: error: cannot write output: "
                          f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}\n")


@pytest.mark.parametrize("during", ["loading", "training"])
def test_main_job_interrupted_exits_130_without_a_traceback(during, capsys, monkeypatch):
    import sigmax.__main__

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("SIGMAX_DATA", str(mnist_dir()))
    if during == "loading":
        monkeypatch.setattr(sigmax.__main__, "load_mnist", interrupt)
    else:
        monkeypatch.setattr(sigmax._progress.EpochProgress, "__call__", interrupt)
    with pytest.raises((SystemExit, KeyboardInterrupt)) as exited:  # the latter: a failure
        sigmax.__main__.main(["--epochs", "1"])
    assert exited.type is SystemExit and exited.value.code == 130
    captured = capsys.readouterr()
    assert captured.err == "python -m sigmax: interrupted\n"
    assert captured.out.startswith("MNIST: ") == (during == "training")
    assert "accuracy" not in captured.out


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "must be a positive integer below 2**62, got 0"),
    ("--batch-size", "0", "must be a positive integer below 2**62, got 0"),
    ("--learning-rate", "nan", "must be a positive finite number, got nan"),
    ("--seed", "-1", "must be >= 0, got -1"),
    ("--n-jobs", "0", "must be a non-zero integer, got 0"),
])
def test_main_job_rejects_bad_options_before_loading_data(option, value, message, capsys,
                                                          monkeypatch, tmp_path):
    """A bad option is a usage error naming the option (exit status 2), not a
    traceback after MNIST was loaded: the data directory here is empty.  The
    message speaks of the option, not of the estimator parameter it sets."""
    from sigmax.__main__ import main

    monkeypatch.setenv("SIGMAX_DATA", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main([option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(f"error: argument {option}: {message}\n") and "Traceback" not in err
    for parameter in ("max_iter", "batch_size", "learning_rate", "random_state", "n_jobs", "None"):
        assert parameter not in err


def test_main_job_reports_missing_data_as_an_error(capsys, tmp_path):
    from sigmax.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path / "nowhere")])
    assert exited.value.code == 1
    assert "python -m sigmax: error: MNIST file(s)" in capsys.readouterr().err
