"""The kernels of every instruction set this CPU runs, against the NumPy oracle.

sigmax builds its kernels once per instruction set (AVX-512, AVX2, baseline)
and uses the best one the CPU has; the rest of the suite therefore exercises
only that one.  Here each set the CPU can run is selected in turn and checked
on shapes that leave remainders everywhere: rows not a multiple of the row
tile, columns not a multiple of the vector width, classes not a multiple of
the class tile.  Also: how the set is chosen, and that threads never change a
result (the parts a pass is cut into do not depend on n_jobs).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import reference as ref
from marks import isa  # noqa: F401 (a fixture)
import sigmax
from sigmax import _core
from sigmax._validation import LINKS
from test_reference import DTYPES, RTOL, _cast, assert_close, check_loss_grad, make_problem

ISAS = _core.supported_isas()
# (40, 21, 1): one class with whole groups of rows past the last full vector
# (whose logits are then stored as one vector); (45, 2309, 11): rows longer
# than a chunk of the logits (several chunks, each in several segments), in
# both dtypes
SHAPES = [(1, 1, 2), (131, 37, 7), (300, 784, 10), (67, 19, 3), (5, 65, 1), (40, 21, 1),
          (45, 2309, 11)]


# the set chosen at import: SIGMAX_ISA's (so that the whole suite can run on a
# lower set), else the best
CHOSEN = os.environ.get("SIGMAX_ISA") or "best"


def test_the_chosen_set_is_in_use():
    assert ISAS and ISAS[-1] == "baseline"
    assert _core.isa() == (ISAS[0] if CHOSEN == "best" else CHOSEN)


def test_unknown_or_unsupported_set_is_refused():
    before = _core.isa()
    with pytest.raises(ValueError, match="not available"):
        _core.select_isa("sse9")
    assert _core.isa() == before
    for name in ("avx512", "avx2"):
        if name not in ISAS:
            with pytest.raises(ValueError, match="not available"):
                _core.select_isa(name)


@pytest.mark.parametrize("value, expect", [("baseline", "baseline"), ("best", None)])
def test_environment_variable_selects_the_set(value, expect):
    env = dict(os.environ, SIGMAX_ISA=value)
    out = subprocess.run([sys.executable, "-c", "import sigmax._core as c; print(c.isa())"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == (expect or ISAS[0])


def test_environment_variable_with_an_unknown_set_fails_the_import():
    env = dict(os.environ, SIGMAX_ISA="sse9")
    proc = subprocess.run([sys.executable, "-c", "import sigmax"], env=env, capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "SIGMAX_ISA=sse9" in proc.stderr


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_writes_the_same_values_into_any_layout_of_out(isa, dtype):
    """The estimators pass C-contiguous outputs, which the kernels store in one
    flat loop; any other layout (Fortran order, every other column, rows
    reversed) takes the row-by-row store and receives the same values."""
    rng = np.random.default_rng(3)
    n, m = 300, 7
    X = rng.standard_normal((n, m)).astype(dtype)
    # every output but the class: logits, probabilities, logs, pairs, one-vs-rest
    for link, k, whats in (("softmax", 4, (0, 1, 2)), ("sigmoid", 1, (0, 1, 2, 4, 5)),
                           ("sigmoid", 3, (6, 7))):
        W = rng.standard_normal((k, m)).astype(dtype)
        b = rng.standard_normal(k).astype(dtype)
        for what in whats:
            width = 2 if what in (4, 5) else k
            expected = np.full((n, width), np.nan, dtype)
            _core.forward(X, W, b, LINKS[link], what, expected, 1)
            assert not np.isnan(expected).any()
            layouts = {"F": np.full((n, width), np.nan, dtype, order="F"),
                       "every other column": np.full((n, 2 * width), np.nan, dtype)[:, ::2],
                       "rows reversed": np.full((n, width), np.nan, dtype)[::-1]}
            for layout, out in layouts.items():
                _core.forward(X, W, b, LINKS[link], what, out, 1)
                np.testing.assert_array_equal(out, expected, err_msg=f"{link} {what} {layout}")


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, m, k", SHAPES)
def test_every_set_matches_the_reference(isa, dtype, n, m, k):
    for link, loss, form in [("softmax", "log", "index"), ("softmax", "mse", "soft"),
                             ("sigmoid", "log", "multilabel"), ("sigmoid", "log", "binary")]:
        if form != "binary" and k == 1:
            continue
        X, y, W, b, sw = _cast(make_problem(n, m, k, link, form, seed=n + m), dtype)
        check_loss_grad(X, y, W, b, dtype=dtype, link=link, loss=loss, sample_weight=sw,
                        alpha=0.01)
        assert_close(sigmax.logits(X, W, b), ref.logits(X, W, b), dtype, what="logits")
        # the fused forward's probabilities and their logs (absolute errors of about
        # the logits' own, scaled by |z|)
        Z = ref.logits(X, W, b)
        for what, name in ((1, link), (2, "log_" + link)):
            out = np.full(Z.shape, np.nan, dtype=dtype)
            _core.forward(X, W, b, LINKS[link], what, out, 1)
            assert_close(out, getattr(ref, name)(Z), dtype, what=name,
                         scale=max(1.0, float(np.abs(Z).max())))
        if form == "multilabel":  # one-vs-rest: the sigmoids normalized across the row
            for what, name in ((6, "softmax"), (7, "log_softmax")):
                out = np.full(Z.shape, np.nan, dtype=dtype)
                _core.forward(X, W, b, LINKS["sigmoid"], what, out, 1)
                assert_close(out, getattr(ref, name)(ref.log_sigmoid(Z)), dtype,
                             what="one-vs-rest " + name, scale=max(1.0, float(np.abs(Z).max())))
        # a strided X takes the kernels' other path
        Xs = np.repeat(X, 2, axis=1)[:, ::2]
        check_loss_grad(Xs, y, W, b, dtype=dtype, link=link, loss=loss)


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_set_gives_a_row_the_logits_it_gets_alone(isa, dtype):
    # the kernels take rows in groups (the logits tiles' rows; the columns past the
    # last full vector, a row in each lane): a row's logits, and so its predictions,
    # must not depend on the rows passed with it, bit for bit; 23 rows leave a
    # partial group, and 1 to 34 features every remainder of the vectors
    rng = np.random.default_rng(4)
    for m in range(1, 35):
        X = rng.normal(size=(23, m)).astype(dtype)
        for k in (1, 3, 7):
            W, b = rng.normal(size=(k, m)).astype(dtype), rng.normal(size=k).astype(dtype)
            alone = np.concatenate([sigmax.logits(X[i:i + 1], W, b) for i in range(len(X))])
            np.testing.assert_array_equal(sigmax.logits(X, W, b), alone, err_msg=f"m={m}, k={k}")


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_set_uses_no_value_past_a_rows_end(isa, dtype):
    # the columns past the last full vector are loaded whole vectors at a time
    # where X's buffer goes on past them: the rows of a slice of wider rows,
    # whose other columns are NaN, in stored and in reverse order, give the
    # logits and loss_grad of their contiguous copy, bit for bit
    rng = np.random.default_rng(5)
    for m in range(1, 35):
        wide = np.full((23, m + 17), np.nan, dtype)
        wide[:, :m] = rng.normal(size=(23, m))
        for order, X in (("stored", wide[:, :m]), ("reversed", wide[::-1, :m])):
            copy = np.ascontiguousarray(X)
            for k in (1, 3):
                W, b = rng.normal(size=(k, m)).astype(dtype), rng.normal(size=k).astype(dtype)
                what = f"m={m}, k={k}, rows in {order} order"
                np.testing.assert_array_equal(sigmax.logits(X, W, b), sigmax.logits(copy, W, b),
                                              err_msg=what)
                link = "sigmoid" if k == 1 else "softmax"
                y = rng.integers(0, max(k, 2), size=len(X))
                for got, expected in zip(sigmax.loss_grad(X, y, W, b, link=link),
                                         sigmax.loss_grad(copy, y, W, b, link=link)):
                    np.testing.assert_array_equal(got, expected, err_msg=what)


# per-sample steps of 0.05 raise this data's objective above its start (and say so)
def _lecture_sgd(X, y, k, learning_rate, epochs, batch, alpha):
    """The lectures' minibatch rule from zero weights, rows in stored order, in
    float64 with the NumPy reference's gradient: W (k, M) and b (k,)."""
    W, b = np.zeros((k, X.shape[1])), np.zeros(k)
    Xr = X.astype(np.float64)
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch):
            rows = slice(start, start + batch)
            _, gW, gb = ref.loss_grad(Xr[rows], y[rows], W, b, alpha=alpha)
            W, b = W - learning_rate * gW, b - learning_rate * gb
    return W, b


@pytest.mark.filterwarnings("ignore:.*the objective rose:sigmax.ConvergenceWarning")
@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 100, 256, 700])
def test_every_set_runs_the_lecture_sgd_rule(isa, dtype, batch):
    X, y, _, _, _ = make_problem(1500, 23, 6, "softmax", "index", seed=batch)
    X = X.astype(dtype)
    model = sigmax.SoftmaxRegression(solver="sgd", learning_rate=0.05, max_iter=2,
                                     batch_size=batch, shuffle=False, alpha=0.01).fit(X, y)
    W, b = _lecture_sgd(X, y, 6, learning_rate=0.05, epochs=2, batch=batch, alpha=0.01)
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    assert_close(model.coef_, W, dtype, rtol=rtol, what="W")
    assert_close(model.intercept_, b, dtype, rtol=rtol, what="b")


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_set_steps_full_batches_of_parts_longer_than_a_piece(isa, dtype, shuffle):
    # a batch of all 70000 rows is cut into 16 parts of 4375 rows, each taken in
    # pieces (a shuffled order's row indices are found a piece at a time); in any
    # order, each epoch is one step of full-batch gradient descent
    X, y, _, _, _ = make_problem(70000, 3, 3, "softmax", "index", seed=3)
    X = X.astype(dtype)
    model = sigmax.SoftmaxRegression(solver="sgd", learning_rate=0.5, max_iter=2,
                                     batch_size=X.shape[0], shuffle=shuffle, alpha=0.01,
                                     random_state=0).fit(X, y)
    W, b = _lecture_sgd(X, y, 3, learning_rate=0.5, epochs=2, batch=X.shape[0], alpha=0.01)
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    assert_close(model.coef_, W, dtype, rtol=rtol, what="W")
    assert_close(model.intercept_, b, dtype, rtol=rtol, what="b")


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_full_batch_sgd_step_is_minus_the_full_gradient_bit_for_bit(isa, dtype):
    # one epoch of one batch of all 70000 rows, unshuffled, from zero with step 1 and
    # no penalty: W = -(the gradient sums / n), which is loss_grad's gradient at zero.
    # Both cut the rows into the same 16 parts of 4375 rows with the same blocks; the
    # epoch takes each part in pieces (a whole number of blocks each), whose sums must
    # add up to the part's, bit for bit.  90 classes make blocks of rows that do not
    # divide 4096 on any set.
    X, y, _, _, _ = make_problem(70000, 3, 90, "softmax", "index", seed=5)
    X = X.astype(dtype)
    model = sigmax.SoftmaxRegression(solver="sgd", learning_rate=1.0, max_iter=1,
                                     batch_size=X.shape[0], shuffle=False, alpha=0.0).fit(X, y)
    _, gW, gb = sigmax.loss_grad(X, y, np.zeros((90, 3), dtype), np.zeros(90, dtype))
    np.testing.assert_array_equal(model.coef_, -gW)
    np.testing.assert_array_equal(model.intercept_, -gb)


def softmax_rows(k: int) -> np.ndarray:
    """Rows of k logits that test each step of a row's softmax: random rows; a
    tie at the maximum, at the first, second and last places; a class within
    1e-20 of the maximum, whose e^{z - max z} rounds to 1; a class 40 above the
    others, whose log-probability -log1p((k - 1) e^-40) needs log1p; all equal."""
    rng = np.random.default_rng(k)
    rows = [rng.normal(scale=3.0, size=k) for _ in range(4)]
    for places in ([0, 1], [1, k - 1], [0, k - 1]):
        z = rng.normal(size=k) - 10.0
        z[np.array(places) % k] = 2.5
        rows.append(z)
    for place in (0, k // 2, k - 1):
        z = rng.normal(size=k) - 5.0
        z[place], z[(place + 1) % k] = 0.0, -1e-20
        rows.append(z)
        z = np.zeros(k)
        z[place] = 40.0
        rows.append(z)
    rows.append(np.full(k, 0.75))
    return np.array(rows)


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", range(1, 20))
def test_every_set_gives_each_rows_softmax(isa, dtype, k):
    # W = I and b = 0 make the logits the rows themselves, exactly
    Z = softmax_rows(k).astype(dtype)
    Zl = Z.astype(np.longdouble)
    shifted = Zl - Zl.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    first_max = np.argmax(Zl, axis=1)
    others = np.array([np.delete(E[r], first_max[r]).sum() for r in range(len(E))])
    expected = {1: E / E.sum(axis=1, keepdims=True), 2: shifted - np.log1p(others)[:, None]}
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for what, want in expected.items():
        out = np.full(Z.shape, np.nan, dtype=dtype)
        _core.forward(Z, np.eye(k, dtype=dtype), np.zeros(k, dtype=dtype),
                      LINKS["softmax"], what, out, 1)
        np.testing.assert_allclose(out, want.astype(np.float64), rtol=rtol, atol=1e-300,
                                   err_msg=f"what={what}")


def _ulps(got: np.ndarray, want: np.ndarray) -> float:
    """The largest error of got against the long-double want, in units of the
    last place of want rounded to float64."""
    spacing = np.spacing(np.abs(want.astype(np.float64)))
    return float(np.max(np.abs((got.astype(np.longdouble) - want) / spacing)))


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("k", [11, 12, 16, 100, 1000])
def test_every_set_takes_log_softmax_within_a_few_ulps(isa, k):
    # log softmax of rows (0, -d, ..., -d): the vector exp and log1p (log1p(t) for
    # t from 1e-300 to k - 1), against long double, where the exps are normal
    # numbers (below e^-708 each is a subnormal of few bits).  Rows of up to 11 sum
    # their exps plainly; longer ones keep the rounding errors, whose sum plainly
    # grew with the row (1000: 29 to 119 units)
    assert _log_softmax_ulps(k) <= 4.0


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("k", range(12, 26))
def test_every_set_keeps_log_softmax_of_12_or_more_classes_within_2_5_ulps(isa, k):
    # rows of 12 classes or more add their exps' rounding errors back: about 2 units
    # (1.2 to 1.9 on these rows), where plain sums reach 3.3 to 4.1 by 23 classes
    assert _log_softmax_ulps(k) <= 2.5


def _log_softmax_ulps(k: int) -> float:
    """The largest error, in units of the last place, of the log softmax of rows
    (0, -d, ..., -d) of k classes, against long double."""
    d = np.concatenate([np.geomspace(1e-12, 700.0, 2000), np.linspace(0.0, 3.0, 301)])
    Z = np.zeros((d.size, k))
    Z[:, 1:] = -d[:, None]
    out = np.empty_like(Z)
    if k <= 16:  # the fused pass (W = I: the logits are the rows)
        _core.forward(Z, np.eye(k), np.zeros(k), LINKS["softmax"], 2, out, 1)
    else:
        _core.activate(Z, LINKS["softmax"], True, out)
    t = (k - 1) * np.exp(-d.astype(np.longdouble))
    return _ulps(out, Z.astype(np.longdouble) - np.log1p(t)[:, None])


@pytest.mark.parametrize("isa", ISAS, indirect=True)
def test_every_set_takes_log_sigmoid_within_a_few_ulps(isa):
    z = np.concatenate([np.geomspace(1e-12, 700.0, 2000), np.linspace(0.0, 3.0, 301)])
    z = np.concatenate([-z, z])[None, :]
    out = np.empty_like(z)
    _core.activate(z, LINKS["sigmoid"], True, out)
    zl = z.astype(np.longdouble)
    assert _ulps(out, np.where(zl > 0, -np.log1p(np.exp(-zl)), zl - np.log1p(np.exp(zl)))) <= 4.0


# the multiply-add probe's chains x lanes of float64 per round: all but a few of
# the set's vector registers (32 with AVX-512, 16 otherwise), times their lanes
PROBE_LANES_F64 = {"avx512": 24 * 8, "avx2": 12 * 4, "baseline": 12 * 2}


@pytest.mark.parametrize("isa", ISAS, indirect=True)
def test_every_sets_multiply_add_probe_counts_what_it_ran(isa):
    rounds = 1000
    f64 = _core.fma_probe(True, rounds, 1)
    assert f64 == 2 * rounds * PROBE_LANES_F64[isa]
    assert _core.fma_probe(False, rounds, 1) == 2 * f64  # twice the lanes
    assert _core.fma_probe(True, 3 * rounds, 1) == 3 * f64
    threads = 2 if _core.has_openmp() else 1
    assert _core.fma_probe(True, rounds, 2) == threads * f64
    assert _core.fma_probe(True, 0, 1) == 0.0
    for bad in ((True, -1, 1), (True, 10, 0)):
        with pytest.raises(ValueError, match="rounds must be >= 0 and n_threads >= 1"):
            _core.fma_probe(*bad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [256, 700])
def test_threads_never_change_sgd_or_predictions(dtype, batch):
    # batches of 256 rows make 2 parts, of 700 rows 5 (the last batch, 600 rows, 4):
    # 3 threads leave one idle or take the parts unevenly
    X, y, _, _, _ = make_problem(9000, 31, 4, "softmax", "index", seed=3)
    X = X.astype(dtype)
    fits = [sigmax.SoftmaxRegression(solver="sgd", batch_size=batch, max_iter=2, random_state=0,
                                     n_jobs=j).fit(X, y) for j in (1, 2, 3)]
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.coef_, fits[0].coef_)
        np.testing.assert_array_equal(fit.intercept_, fits[0].intercept_)
    P = [fits[0].set_params(n_jobs=j).predict_proba(X) for j in (1, 2)]
    np.testing.assert_array_equal(P[0], P[1])
    Z = [sigmax.logits(X, fits[0].coef_, fits[0].intercept_, n_jobs=j) for j in (None, 2, -1)]
    np.testing.assert_array_equal(Z[0], Z[1])
    np.testing.assert_array_equal(Z[0], Z[2])
    assert_close(P[0], ref.softmax(ref.logits(X, fits[0].coef_, fits[0].intercept_)), dtype)


@pytest.fixture
def solo_ratio():
    """Sets the ratio past which a threaded SGD epoch goes on in one thread; restores it."""
    previous = _core.sgd_solo_ratio(float("inf"))
    yield _core.sgd_solo_ratio
    _core.sgd_solo_ratio(previous)


def usable_cpus() -> int:
    """The CPUs this process may run on (n_jobs is capped at their number)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@pytest.mark.skipif(not _core.has_openmp(), reason="built without OpenMP: no threads")
@pytest.mark.skipif(usable_cpus() < 2, reason="one usable CPU: n_jobs > 1 still runs one thread")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch, n_jobs", [(256, 2), (700, 3)])  # 3: a team of 2 on 2 CPUs
def test_an_epoch_finished_alone_gives_the_team_results(dtype, batch, n_jobs, solo_ratio):
    # ratio 0: every threaded epoch goes on in one thread after its first 8 batches (of 36
    # or 13), as it does on a machine too busy to run the team together
    X, y, _, _, _ = make_problem(9000, 31, 4, "softmax", "index", seed=4)
    X = X.astype(dtype)
    def fit(j):
        return sigmax.SoftmaxRegression(solver="sgd", batch_size=batch, max_iter=2, alpha=1e-3,
                                        random_state=0, n_jobs=j).fit(X, y)
    alone = fit(1)
    solo_ratio(float("inf"))
    before = _core.sgd_solo_epochs()
    team = fit(n_jobs)
    assert _core.sgd_solo_epochs() == before
    solo_ratio(0.0)
    switched = fit(n_jobs)
    assert _core.sgd_solo_epochs() == before + 2
    for model in (team, switched):
        np.testing.assert_array_equal(model.coef_, alone.coef_)
        np.testing.assert_array_equal(model.intercept_, alone.intercept_)
        assert model.loss_curve_ == alone.loss_curve_
    with pytest.raises(ValueError, match=">= 0"):
        solo_ratio(float("nan"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_never_change_loss_grad(dtype):
    # 40000 rows make 16 parts, which the threads take in whatever order they
    # finish: the sums must still come out the same, bit for bit, every time
    X, y, W, b, _ = make_problem(40000, 24, 5, "softmax", "index", seed=4)
    X, W, b = X.astype(dtype), W.astype(dtype), b.astype(dtype)
    first = sigmax.loss_grad(X, y, W, b, n_jobs=1)
    for n_jobs in (2, 2, 2, 3, 1):
        value, gW, gb = sigmax.loss_grad(X, y, W, b, n_jobs=n_jobs)
        assert value == first[0]
        np.testing.assert_array_equal(gW, first[1])
        np.testing.assert_array_equal(gb, first[2])


def test_float32_gradient_sums_are_flushed_into_double():
    """4 million same-sign terms (no cancellation to hide a float sum's
    rounding): float sums over all of them would be off by about 4e-5."""
    n = 4_000_000
    rng = np.random.default_rng(0)
    X = (0.1 + rng.uniform(0, 0.01, (n, 1))).astype(np.float32)
    y = np.zeros(n, np.intp)
    W, b = np.zeros((2, 1), np.float32), np.zeros(2, np.float32)
    _, gW, _ = sigmax.loss_grad(X, y, W, b)
    _, rgW, _ = ref.loss_grad(X.astype(np.float64), y, W.astype(np.float64),
                              b.astype(np.float64))
    np.testing.assert_allclose(gW, rgW, rtol=1e-6)


def test_float32_loss_stays_within_float32_rounding_on_long_sums():
    """float32 gradient sums are flushed into double every few hundred rows."""
    X, y, W, b, _ = make_problem(50000, 16, 5, "softmax", "index", seed=5)
    value, gW, gb = sigmax.loss_grad(X.astype(np.float32), y, W.astype(np.float32),
                                     b.astype(np.float32))
    rv, rgW, rgb = ref.loss_grad(X.astype(np.float32).astype(np.float64), y,
                                 W.astype(np.float32).astype(np.float64),
                                 b.astype(np.float32).astype(np.float64))
    assert abs(value - rv) <= RTOL[np.dtype(np.float32)] * abs(rv)
    np.testing.assert_allclose(gW, rgW, rtol=RTOL[np.dtype(np.float32)], atol=1e-6)
