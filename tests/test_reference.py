"""sigmax's kernels against the pure-NumPy oracle in tests/reference.py.

float32 results are compared with rtol 1e-5 and float64 results with rtol 1e-12
(plus an absolute tolerance of the same relative size of the data's scale, for
entries that are sums with cancellation).  The oracle always sees exactly the
numbers sigmax computes on: for float32 X every other float input is rounded
to float32 first, as sigmax does.

Covered: every link x loss x target form; C order, Fortran order, strided and
negatively strided views, broadcast (zero-stride) arrays; non-native byte
order; read-only arrays; integer and bool X; out= buffers; inputs left
untouched; extreme logits; NaN/inf rejection; result dtypes; large n (the
blocked, optionally threaded path); and hypothesis property tests.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
import sigmax

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]

TARGET_FORMS = {
    "softmax": ["index", "onehot", "soft"],
    "sigmoid": ["index", "onehot", "soft", "multilabel", "binary"],
}
CASES = [
    (link, loss, form)
    for link in ("softmax", "sigmoid")
    for loss in ("log", "mse")
    for form in TARGET_FORMS[link]
]


# ----------------------------------------------------------------- helpers
def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def compute_dtype(X) -> np.dtype:
    """The precision sigmax promises: float32 stays float32, the rest float64."""
    dt = np.asarray(X).dtype
    return np.dtype(np.float32) if (dt.kind == "f" and dt.itemsize == 4) else np.dtype(np.float64)


def make_problem(n, m, k, link, form, *, seed=0, scale=1.0):
    """float64 X, y, W, b, sample_weight for one target form (k = 1 for 'binary')."""
    if form == "binary":
        k = 1
    rng = _rng(n, m, k, link, form, seed)
    X = scale * rng.normal(size=(n, m))
    W = 0.8 * rng.normal(size=(k, m))
    b = 0.5 * rng.normal(size=k)
    if form == "index":
        y = rng.integers(0, k, size=n)
    elif form == "binary":
        y = rng.integers(0, 2, size=n)
    elif form == "onehot":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    elif form == "soft":
        y = rng.dirichlet(np.ones(k), size=n)
    elif form == "multilabel":
        y = rng.integers(0, 2, size=(n, k)).astype(np.float64)
    else:  # pragma: no cover
        raise ValueError(form)
    sw = rng.uniform(0.1, 2.0, size=n)
    if n > 3:
        sw[2] = 0.0
    return X, y, W, b, sw


def as_sigmax_sees(a, dtype):
    """A float input of the problem as sigmax computes on it (rounded to X's precision)."""
    if a is None:
        return None
    a = np.asarray(a)
    return a if a.dtype.kind in "iub" and a.ndim == 1 else a.astype(dtype)


def layout(a, kind, fill=np.nan):
    """The same values as ``a`` in another memory layout."""
    a = np.asarray(a)
    if kind == "C":
        out = np.ascontiguousarray(a)
    elif kind == "F":
        out = np.asfortranarray(a)
    elif kind == "strided":  # a view into a bigger array whose gaps hold ``fill``
        if a.ndim == 1:
            big = np.full(3 * a.shape[0] + 1, fill, dtype=a.dtype)
            big[1::3] = a
            out = big[1::3]
        else:
            big = np.full((2 * a.shape[0], 3 * a.shape[1]), fill, dtype=a.dtype)
            big[::2, ::3] = a
            out = big[::2, ::3]
    elif kind == "reversed":  # negative strides on every axis
        flipped = np.ascontiguousarray(a[(slice(None, None, -1),) * a.ndim])
        out = flipped[(slice(None, None, -1),) * a.ndim]
    else:  # pragma: no cover
        raise ValueError(kind)
    np.testing.assert_array_equal(out, a)
    return out


def assert_close(got, expected, dtype, scale=None, rtol=None, what=""):
    dtype = np.dtype(dtype)
    rtol = RTOL[dtype] if rtol is None else rtol
    expected = np.asarray(expected, dtype=np.float64)
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected,
                               rtol=rtol, atol=rtol * scale, err_msg=what)


def check_loss_grad(X, y, W, b, *, dtype, link, loss, sample_weight=None, alpha=0.0,
                    rtol=None, scale=None, check_types=True):
    """sigmax.loss_grad and sigmax.loss against the oracle, including result dtypes."""
    dtype = np.dtype(dtype)
    kwargs = dict(link=link, loss=loss, sample_weight=sample_weight, alpha=alpha)
    value, gW, gb = sigmax.loss_grad(X, y, W, b, **kwargs)
    only = sigmax.loss(X, y, W, b, **kwargs)
    if check_types:
        assert type(value) is dtype.type and type(only) is dtype.type, (type(value), type(only), dtype)
        assert gW.dtype == dtype and gb.dtype == dtype, (gW.dtype, gb.dtype, dtype)
    assert gW.shape == np.shape(W) and gb.shape == np.shape(b)
    assert np.isfinite(value) and np.isfinite(gW).all() and np.isfinite(gb).all()
    rv, rgW, rgb = ref.loss_grad(
        as_sigmax_sees(X, dtype), as_sigmax_sees(y, dtype), as_sigmax_sees(W, dtype),
        as_sigmax_sees(b, dtype), link=link, loss=loss,
        sample_weight=as_sigmax_sees(sample_weight, dtype), alpha=alpha)
    assert_close(value, rv, dtype, rtol=rtol, scale=scale, what="loss")
    assert_close(only, rv, dtype, rtol=rtol, scale=scale, what="loss()")
    assert_close(gW, rgW, dtype, rtol=rtol, scale=scale, what="grad_W")
    assert_close(gb, rgb, dtype, rtol=rtol, scale=scale, what="grad_b")
    return value, gW, gb


def _cast(problem, dtype):
    X, y, W, b, sw = problem
    y = y.astype(dtype) if y.ndim == 2 else y
    return X.astype(dtype), y, W.astype(dtype), b.astype(dtype), sw.astype(dtype)


# ------------------------------------------------ every case, every layout
@pytest.mark.parametrize("kind", ["C", "F", "strided", "reversed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("link, loss, form", CASES)
def test_loss_grad_layouts(link, loss, form, dtype, kind):
    X, y, W, b, sw = _cast(make_problem(11, 5, 4, link, form), dtype)
    args = [layout(X, kind), layout(y, kind) if y.ndim == 2 else layout(y, kind, fill=-7),
            layout(W, kind), layout(b, kind)]
    if kind != "C":
        assert not args[0].flags.c_contiguous
    check_loss_grad(*args, dtype=dtype, link=link, loss=loss)
    check_loss_grad(*args, dtype=dtype, link=link, loss=loss,
                    sample_weight=layout(sw, kind), alpha=0.3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("link, loss, form", CASES)
def test_loss_grad_odd_shapes(link, loss, form, dtype):
    for n, m, k in [(1, 1, 2), (1, 7, 3), (13, 1, 6), (2, 2, 7)]:
        X, y, W, b, sw = _cast(make_problem(n, m, k, link, form, seed=1), dtype)
        check_loss_grad(X, y, W, b, dtype=dtype, link=link, loss=loss)
        check_loss_grad(X, y, W, b, dtype=dtype, link=link, loss=loss, sample_weight=sw, alpha=1.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_slices_of_a_bigger_array(dtype):
    """X[::2, ::3] of a bigger array and X[::-1]: the documented strided views."""
    rng = _rng("slices", dtype)
    big = rng.normal(size=(30, 21)).astype(dtype)
    X = big[::2, ::3]  # (15, 7)
    W = rng.normal(size=(3, 7)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    y = rng.integers(0, 3, size=15)
    for Xv in (X, X[::-1], X[::-1, ::-1], big[1::4, 2::3][:, :7], big.T[:7].T[::2]):
        yv = y[: Xv.shape[0]]
        check_loss_grad(Xv, yv, W, b, dtype=dtype, link="softmax", loss="log")
        check_loss_grad(Xv, yv, W, b, dtype=dtype, link="sigmoid", loss="mse")
        assert_close(sigmax.logits(Xv, W, b), ref.logits(Xv, W, b), dtype)
        assert_close(sigmax.softmax(Xv), ref.softmax(Xv), dtype)
        assert_close(sigmax.log_softmax(Xv), ref.log_softmax(Xv), dtype)
        assert_close(sigmax.sigmoid(Xv), ref.sigmoid(Xv), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_zero_stride_inputs(dtype):
    rng = _rng("broadcast", dtype)
    X = np.broadcast_to(rng.normal(size=(1, 4)).astype(dtype), (6, 4))
    W = np.broadcast_to(rng.normal(size=(1, 4)).astype(dtype), (3, 4))
    b = np.broadcast_to(np.asarray(0.25, dtype=dtype), (3,))
    sw = np.broadcast_to(np.asarray(2.0, dtype=dtype), (6,))
    y = np.array([0, 1, 2, 2, 1, 0])
    check_loss_grad(X, y, W, b, dtype=dtype, link="softmax", loss="log", sample_weight=sw, alpha=0.1)
    check_loss_grad(X, y, W, b, dtype=dtype, link="sigmoid", loss="log", sample_weight=sw)
    assert_close(sigmax.logits(X, W, b), ref.logits(X, W, b), dtype)


# ------------------------------------------------------- dtypes of inputs
BYTE_ORDER_CASES = [("softmax", "log", "index"), ("softmax", "mse", "soft"),
                    ("sigmoid", "log", "multilabel"), ("sigmoid", "mse", "binary")]


def _swapped_problem(link, form, base, order):
    dt = np.dtype(order + base)
    dtype = np.dtype(np.float32 if base == "f4" else np.float64)
    X, y, W, b, sw = _cast(make_problem(8, 3, 3, link, form, seed=2), dtype)
    swapped = (X.astype(dt), y.astype(dt) if y.ndim == 2 else y.astype(order + "i8"),
               W.astype(dt), b.astype(dt), sw.astype(dt))
    assert swapped[0].dtype.byteorder == ("=" if order == "<" else ">")
    return dtype, (X, y, W, b, sw), swapped


@pytest.mark.parametrize("order", [">", "<"])
@pytest.mark.parametrize("base", ["f4", "f8"])
@pytest.mark.parametrize("link, loss, form", BYTE_ORDER_CASES)
def test_byte_order_values(link, loss, form, base, order):
    """Non-native byte order ('>f8', '>f4', '>i8' labels) is read correctly."""
    dtype, (X, y, W, b, sw), (Xs, ys, Ws, bs, sws) = _swapped_problem(link, form, base, order)
    check_loss_grad(Xs, ys, Ws, bs, dtype=dtype, link=link, loss=loss, sample_weight=sws,
                    alpha=0.2, check_types=False)
    assert_close(sigmax.logits(Xs, Ws, bs), ref.logits(X, W, b), dtype)
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        assert_close(fn(Xs), getattr(ref, fn.__name__)(X), dtype, what=fn.__name__)


@pytest.mark.parametrize("order", [">", "<"])
@pytest.mark.parametrize("base", ["f4", "f8"])
@pytest.mark.parametrize("link, loss, form", BYTE_ORDER_CASES)
def test_byte_order_keeps_precision(link, loss, form, base, order):
    """'>f4' is float32 data: results come back as float32 like for '<f4' ('>f8' -> float64)."""
    dtype, _, (Xs, ys, Ws, bs, sws) = _swapped_problem(link, form, base, order)
    value, gW, gb = sigmax.loss_grad(Xs, ys, Ws, bs, link=link, loss=loss, sample_weight=sws)
    got = {"loss": np.asarray(value).dtype, "grad_W": gW.dtype, "grad_b": gb.dtype,
           "loss()": np.asarray(sigmax.loss(Xs, ys, Ws, bs, link=link, loss=loss)).dtype,
           "logits": sigmax.logits(Xs, Ws, bs).dtype}
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        got[fn.__name__] = fn(Xs).dtype
    assert got == dict.fromkeys(got, dtype), f"X dtype {Xs.dtype!r}: {got}"
    # out buffers of the native dtype of X's precision are accepted
    gW, gb = np.empty(Ws.shape, dtype), np.empty(bs.shape, dtype)
    res = sigmax.loss_grad(Xs, ys, Ws, bs, link=link, loss=loss, out=(gW, gb))
    assert res[1] is gW and res[2] is gb


@pytest.mark.parametrize("dtype", DTYPES)
def test_read_only_inputs(dtype):
    X, y, W, b, sw = _cast(make_problem(9, 4, 3, "softmax", "soft", seed=3), dtype)
    yi = np.argmax(y, axis=1)
    for a in (X, y, yi, W, b, sw):
        a.setflags(write=False)
    check_loss_grad(X, y, W, b, dtype=dtype, link="softmax", loss="log", sample_weight=sw, alpha=0.5)
    check_loss_grad(X, yi, W, b, dtype=dtype, link="sigmoid", loss="mse", sample_weight=sw)
    assert_close(sigmax.logits(X, W, b), ref.logits(X, W, b), dtype)
    assert_close(sigmax.softmax(X), ref.softmax(X), dtype)
    assert_close(sigmax.sigmoid(X), ref.sigmoid(X), dtype)


@pytest.mark.parametrize("xdtype", [np.int8, np.int32, np.int64, np.uint8, np.uint16, np.bool_])
def test_integer_and_bool_X(xdtype):
    rng = _rng("int", xdtype)
    if xdtype is np.bool_:
        X = rng.integers(0, 2, size=(10, 4)).astype(bool)
    else:
        X = rng.integers(0, 6, size=(10, 4)).astype(xdtype)
    W = rng.normal(size=(3, 4))
    b = rng.normal(size=3)
    y = rng.integers(0, 3, size=10)
    Xf = X.astype(np.float64)
    for link, loss in [("softmax", "log"), ("softmax", "mse"), ("sigmoid", "log"), ("sigmoid", "mse")]:
        value, gW, gb = check_loss_grad(X, y, W, b, dtype=np.float64, link=link, loss=loss, alpha=0.1)
        rv, rgW, rgb = ref.loss_grad(Xf, y, W, b, link=link, loss=loss, alpha=0.1)
        assert_close(value, rv, np.float64)
    Z = sigmax.logits(X, W, b)
    assert Z.dtype == np.float64
    assert_close(Z, ref.logits(Xf, W, b), np.float64)
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        out = fn(X)
        assert out.dtype == np.float64
        assert_close(out, getattr(ref, fn.__name__)(Xf), np.float64)
    # integer W and b with float X are taken at X's precision
    Wi = rng.integers(-2, 3, size=(3, 4))
    bi = rng.integers(-1, 2, size=3)
    Xr = rng.normal(size=(10, 4)).astype(np.float32)
    check_loss_grad(Xr, y, Wi, bi, dtype=np.float32, link="softmax", loss="log")


@pytest.mark.parametrize("ydtype", ["int8", "uint8", "int16", "int32", ">i4", ">i8", "float64", "float32"])
def test_class_index_dtypes(ydtype):
    X, y, W, b, sw = make_problem(12, 3, 5, "softmax", "index", seed=4)
    ys = y.astype(ydtype)
    check_loss_grad(X, ys, W, b, dtype=np.float64, link="softmax", loss="log")
    check_loss_grad(X, ys, W, b, dtype=np.float64, link="sigmoid", loss="log", sample_weight=sw)
    check_loss_grad(X, layout(ys, "strided", fill=0), W, b, dtype=np.float64, link="softmax", loss="mse")


def test_bool_labels_single_sigmoid():
    X, y, W, b, sw = make_problem(12, 3, 1, "sigmoid", "binary", seed=5)
    for ys in (y.astype(bool), y.astype(np.int8), y.tolist()):
        check_loss_grad(X, ys, W, b, dtype=np.float64, link="sigmoid", loss="log")
        check_loss_grad(X, ys, W, b, dtype=np.float64, link="sigmoid", loss="mse", sample_weight=sw)


def test_list_inputs():
    X = [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]
    W = [[0.1, -0.2], [0.3, 0.4]]
    b = [0.0, 0.5]
    y = [1, 0, 1]
    check_loss_grad(X, y, W, b, dtype=np.float64, link="softmax", loss="log", sample_weight=[1, 2, 3])


def test_target_matrices_of_other_dtypes():
    """Integer one-hot and bool multi-label matrices are targets like their float values."""
    X, y, W, b, sw = make_problem(9, 3, 4, "sigmoid", "multilabel", seed=17)
    for Y in (y.astype(np.int64), y.astype(bool), y.astype(np.uint8)):
        check_loss_grad(X, Y, W, b, dtype=np.float64, link="sigmoid", loss="log", sample_weight=sw)
        check_loss_grad(X, Y, W, b, dtype=np.float64, link="sigmoid", loss="mse")
    onehot = np.eye(4, dtype=np.int32)[np.arange(9) % 4]
    check_loss_grad(X, onehot, W, b, dtype=np.float64, link="softmax", loss="log", alpha=0.2)
    check_loss_grad(X.astype(np.float32), onehot, W, b, dtype=np.float32, link="softmax", loss="mse")


def test_invalid_labels_raise():
    X, y, W, b, sw = make_problem(5, 2, 3, "softmax", "index", seed=18)
    for bad in ([0, 1, 3, 0, 1], [0, -1, 2, 0, 1], [0, 1.5, 2, 0, 1]):
        for link in ("softmax", "sigmoid"):
            with pytest.raises(ValueError):
                sigmax.loss(X, np.array(bad), W, b, link=link)
    with pytest.raises(ValueError):  # K = 1 sigmoid: labels are 0/1
        sigmax.loss(X, np.array([0, 1, 2, 0, 1]), W[:1], b[:1], link="sigmoid")
    with pytest.raises(ValueError):  # target matrix of the wrong width
        sigmax.loss(X, np.ones((5, 2)), W, b)
    with pytest.raises(ValueError):  # sample weights: negative, all zero, wrong length
        sigmax.loss(X, y, W, b, sample_weight=[1, -1, 1, 1, 1])
    with pytest.raises(ValueError):
        sigmax.loss(X, y, W, b, sample_weight=np.zeros(5))
    with pytest.raises(ValueError):
        sigmax.loss(X, y, W, b, sample_weight=np.ones(4))
    with pytest.raises(ValueError):
        sigmax.loss(X, y, W, b, alpha=-1.0)


def test_class_indices_out_of_range_name_the_range_and_the_values():
    X, _, W, b, _ = make_problem(5, 2, 3, "softmax", "index", seed=18)
    for bad, seen in (([0, 1, 3, 0, 1], r"\[0, 3\]"), ([0, -1, 2, 0, 1], r"\[-1, 2\]")):
        with pytest.raises(ValueError, match=r"class indices in \[0, 3\), got values in " + seen):
            sigmax.loss(X, np.array(bad), W, b)
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\), got values in \[0, 2\]"):
        sigmax.loss(X, np.array([0, 1, 2, 0, 1]), W[:1], b[:1], link="sigmoid")


# ---------------------------------------------------------------- out=
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["C", "F", "strided"])
def test_out_buffers_are_filled_and_returned(dtype, kind):
    X, y, W, b, sw = _cast(make_problem(9, 4, 3, "softmax", "onehot", seed=6), dtype)
    sentinel = np.asarray(-12345.0, dtype=dtype)
    if kind == "strided":
        bigW = np.full((6, 12), sentinel, dtype=dtype)
        bigb = np.full(9, sentinel, dtype=dtype)
        gW, gb = bigW[::2, ::3], bigb[::3]
    else:
        gW = layout(np.full(W.shape, sentinel, dtype=dtype), kind)
        gb = np.full(b.shape, sentinel, dtype=dtype)
    rv, rgW, rgb = ref.loss_grad(X, y, W, b, sample_weight=sw, alpha=0.4)
    for _ in range(2):  # overwritten, not accumulated, on a second call
        res = sigmax.loss_grad(X, y, W, b, sample_weight=sw, alpha=0.4, out=(gW, gb))
        assert len(res) == 3
        assert res[1] is gW and res[2] is gb
        assert type(res[0]) is np.dtype(dtype).type
        assert_close(res[0], rv, dtype)
        assert_close(gW, rgW, dtype)
        assert_close(gb, rgb, dtype)
    if kind == "strided":  # the gaps of the bigger arrays are left alone
        mask = np.ones(bigW.shape, bool)
        mask[::2, ::3] = False
        assert (bigW[mask] == sentinel).all()
        maskb = np.ones(bigb.shape, bool)
        maskb[::3] = False
        assert (bigb[maskb] == sentinel).all()


def test_out_accepts_list_pair():
    X, y, W, b, sw = make_problem(5, 2, 3, "softmax", "index", seed=7)
    gW, gb = np.empty((3, 2)), np.empty(3)
    res = sigmax.loss_grad(X, y, W, b, out=[gW, gb])
    assert res[1] is gW and res[2] is gb
    _, rgW, rgb = ref.loss_grad(X, y, W, b)
    assert_close(gW, rgW, np.float64)
    assert_close(gb, rgb, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_wrong_dtype_raises(dtype):
    X, y, W, b, sw = _cast(make_problem(5, 2, 3, "softmax", "index", seed=8), dtype)
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=(np.empty((3, 2), other), np.empty(3, dtype)))
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=(np.empty((3, 2), dtype), np.empty(3, other)))
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=(np.empty((3, 2), np.int64), np.empty(3, np.int64)))
    with pytest.raises((TypeError, ValueError)):  # byte-swapped buffers cannot be written natively
        swapped = np.dtype(dtype).newbyteorder()
        sigmax.loss_grad(X, y, W, b, out=(np.empty((3, 2), swapped), np.empty(3, swapped)))


def test_out_wrong_shape_or_form_raises():
    X, y, W, b, sw = make_problem(5, 2, 3, "softmax", "index", seed=9)
    good_W, good_b = np.empty((3, 2)), np.empty(3)
    for out in [
        (np.empty((2, 3)), good_b),
        (np.empty((3, 3)), good_b),
        (np.empty(6), good_b),
        (good_W, np.empty(2)),
        (good_W, np.empty((3, 1))),
        (good_W, np.empty(4)),
    ]:
        with pytest.raises(ValueError):
            sigmax.loss_grad(X, y, W, b, out=out)
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=(good_W,))
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=(good_W, good_b, good_b))
    with pytest.raises((TypeError, ValueError)):
        sigmax.loss_grad(X, y, W, b, out=([[0.0, 0.0]] * 3, [0.0] * 3))
    ro_W = np.empty((3, 2))
    ro_W.setflags(write=False)
    with pytest.raises(ValueError):
        sigmax.loss_grad(X, y, W, b, out=(ro_W, good_b))


def test_out_aliasing_raises():
    n, m, k = 6, 3, 3
    X, y, W, b, sw = make_problem(n, m, k, "softmax", "onehot", seed=10)
    Y = np.ascontiguousarray(y)
    yi = np.ascontiguousarray(np.argmax(y, axis=1).astype(np.intp))
    gW, gb = np.empty((k, m)), np.empty(k)
    cases = {
        "grad_W is W": (W, gb),
        "grad_b is b": (gW, b),
        "grad_W inside X": (X[:k], gb),
        "grad_b inside X": (gW, X[0]),
        "grad_b inside Y": (gW, Y[1]),
        "grad_W is Y": (Y[:k], gb),
        "grad_b inside sample_weight": (gW, sw[:k]),
        "grad_W and grad_b overlap": (gW, gW[0]),
    }
    for name, out in cases.items():
        with pytest.raises(ValueError):
            sigmax.loss_grad(X, Y, W, b, sample_weight=sw, out=out)
            pytest.fail(f"no error for {name}")
    # the class indices are an input too
    with pytest.raises(ValueError):
        sigmax.loss_grad(X, yi, W, b, out=(gW, yi.view(np.float64)[:k]))


# ---------------------------------------------------- inputs untouched
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("link, loss, form", CASES)
def test_inputs_not_modified(link, loss, form, dtype):
    X, y, W, b, sw = _cast(make_problem(7, 3, 4, link, form, seed=11), dtype)
    X, W = np.asfortranarray(X), layout(W, "reversed")
    inputs = [X, y, W, b, sw]
    before = [a.copy() for a in inputs]
    sigmax.loss(X, y, W, b, link=link, loss=loss, sample_weight=sw, alpha=0.3)
    sigmax.loss_grad(X, y, W, b, link=link, loss=loss, sample_weight=sw, alpha=0.3)
    sigmax.loss_grad(X, y, W, b, link=link, loss=loss, sample_weight=sw, alpha=0.3,
                     out=(np.empty(W.shape, dtype), np.empty(b.shape, dtype)))
    Z = sigmax.logits(X, W, b)
    Zc = Z.copy()
    sigmax.softmax(Z), sigmax.log_softmax(Z), sigmax.sigmoid(Z)
    sigmax.softmax(X[0]), sigmax.sigmoid(b)
    for a, a0 in zip(inputs + [Z], before + [Zc]):
        np.testing.assert_array_equal(a, a0)


# ---------------------------------------------------------- extreme logits
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("link, loss, form", CASES)
def test_extreme_logits(link, loss, form, dtype):
    """X scaled by 1e4: |z| ~ 1e4, finite loss and gradient equal to the oracle's."""
    X, y, W, b, sw = _cast(make_problem(10, 3, 4, link, form, seed=12, scale=1e4), dtype)
    Z = ref.logits(X, W, b)
    assert np.abs(Z).max() > 5e3
    # z carries an absolute error of ~1e-16 |z| (summation order); scale tolerances by |z|
    rtol = 1e-5 if dtype == np.float32 else 1e-9
    for kwargs in ({}, {"sample_weight": sw, "alpha": 0.2}):
        value, gW, gb = check_loss_grad(X, y, W, b, dtype=dtype, link=link, loss=loss, rtol=rtol,
                                        scale=max(1.0, np.abs(Z).max(), np.abs(X).max()), **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_activations(dtype):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 3], [3e4, 3e4, -3e4],
                  [-745.0, 0.0, 745.0], [88.0, -88.0, 0.0]], dtype=dtype)
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        out = fn(Z)
        assert out.dtype == dtype and out.shape == Z.shape
        assert np.isfinite(out).all(), fn.__name__
        expected = getattr(ref, fn.__name__)(Z)
        np.testing.assert_allclose(out, expected, rtol=RTOL[np.dtype(dtype)],
                                   atol=1e-37 if dtype == np.float32 else 1e-300, err_msg=fn.__name__)
    # log_softmax is finite where softmax underflows
    ls = sigmax.log_softmax(np.array([0.0, -1e4], dtype=dtype))
    np.testing.assert_allclose(ls, [0.0, -1e4], rtol=1e-7)


def test_sigmoid_limits_and_shapes():
    out = sigmax.sigmoid(np.array([np.inf, -np.inf, 0.0, 800.0, -800.0]))
    np.testing.assert_array_equal(out[:3], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(out[3:], [1.0, 0.0], atol=1e-300)
    s = sigmax.sigmoid(0.0)
    assert isinstance(s, (float, np.floating)) and np.ndim(s) == 0 and s == 0.5
    z = np.linspace(-5, 5, 24).reshape(2, 3, 4)
    out = sigmax.sigmoid(z)
    assert out.shape == (2, 3, 4)
    np.testing.assert_allclose(out, ref.sigmoid(z), rtol=1e-12)
    z32 = z.astype(np.float32)
    assert sigmax.sigmoid(z32).dtype == np.float32
    np.testing.assert_allclose(sigmax.sigmoid(z32), ref.sigmoid(z32), rtol=1e-5)
    assert sigmax.sigmoid(np.float32(1.0)).dtype == np.float32


def test_softmax_one_dimensional_is_one_row():
    z = np.array([0.5, -1.0, 2.0, 0.0])
    for fn in (sigmax.softmax, sigmax.log_softmax):
        out = fn(z)
        assert out.shape == (4,)
        np.testing.assert_allclose(out, getattr(ref, fn.__name__)(z[None, :])[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sigmax.softmax(z).sum(), 1.0, rtol=1e-15)


# ---------------------------------------------------------- NaN and inf
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", [(0, 0), (5, 2), (8, 1)])
def test_nonfinite_X_raises(bad, dtype, where):
    X, y, W, b, sw = _cast(make_problem(9, 3, 3, "softmax", "index", seed=13), dtype)
    X[where] = bad
    sw[where[0]] = 0.0  # even a row that carries no weight
    W[:, where[1]] = 0.0  # and even when its column meets a zero weight
    for link, loss in [("softmax", "log"), ("sigmoid", "mse")]:
        with pytest.raises(ValueError):
            sigmax.loss(X, y, W, b, link=link, loss=loss)
        with pytest.raises(ValueError):
            sigmax.loss_grad(X, y, W, b, link=link, loss=loss)
        with pytest.raises(ValueError):
            sigmax.loss_grad(X, y, W, b, link=link, loss=loss, sample_weight=sw)
        with pytest.raises(ValueError):
            sigmax.loss_grad(X, y, W, b, link=link, loss=loss,
                             out=(np.empty(W.shape, dtype), np.empty(b.shape, dtype)))
    with pytest.raises(ValueError):
        sigmax.logits(X, W, b)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_parameters_targets_weights_raise(bad, dtype):
    X, y, W, b, sw = _cast(make_problem(6, 3, 3, "softmax", "soft", seed=14), dtype)
    yi = np.argmax(y, axis=1)
    for name in ("W", "b", "Y", "sample_weight"):
        W2, b2, Y2, sw2 = W.copy(), b.copy(), y.copy(), sw.copy()
        {"W": W2, "b": b2, "Y": Y2, "sample_weight": sw2}[name].flat[1] = bad
        for link in ("softmax", "sigmoid"):
            with pytest.raises(ValueError):
                sigmax.loss(X, Y2, W2, b2, link=link, sample_weight=sw2)
            with pytest.raises(ValueError):
                sigmax.loss_grad(X, Y2, W2, b2, link=link, loss="mse", sample_weight=sw2)
        if name in ("W", "b"):
            with pytest.raises(ValueError):
                sigmax.logits(X, W2, b2)
            with pytest.raises(ValueError):
                sigmax.loss_grad(X, yi, W2, b2)
    yf = yi.astype(np.float64)
    yf[2] = bad
    with pytest.raises(ValueError):
        sigmax.loss(X, yf, W, b)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("loss", ["log", "mse"])
def test_a_sigmoid_objective_that_overflows_raises(k, loss):
    """Finite targets can make the sigmoid's loss overflow (t z beyond the
    float64 range): an error, for one label and for several, not inf."""
    X, W, b = np.ones((40, 2)), np.full((k, 2), 5.0), np.zeros(k)
    Y = np.zeros((40, k))
    Y[33, k - 1] = 1e308
    for fn in (sigmax.loss, sigmax.loss_grad):
        with pytest.raises(ValueError, match="overflowed"):
            fn(X, Y, W, b, link="sigmoid", loss=loss)


@pytest.mark.parametrize("fn", [sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_in_activation_raises(fn, dtype):
    Z = np.zeros((3, 4), dtype=dtype)
    Z[1, 2] = np.nan
    with pytest.raises(ValueError):
        fn(Z)


@pytest.mark.parametrize("kind", ["C", "F", "strided"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_of_arrays_larger_than_a_block(dtype, kind):
    # the kernel activates blocks of about a thousand values: many short rows
    # (blocks of whole rows and a shorter last one), softmax rows longer than a
    # block, and sigmoid rows cut into pieces of a block
    rng = _rng("blocks", dtype)
    rtol = RTOL[np.dtype(dtype)]
    tiny = 1e-37 if dtype == np.float32 else 1e-300
    for shape in [(700, 3), (2, 3000), (3, 2500), (1, 1025)]:
        Z = (rng.normal(size=shape) * 4.0).astype(dtype)
        Zl = _arrange(Z, kind)
        for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
            np.testing.assert_allclose(fn(Zl), getattr(ref, fn.__name__)(Z), rtol=rtol,
                                       atol=tiny, err_msg=f"{fn.__name__} {shape}")
        # NaN in the last value of the last block is reported; -inf has its limit
        Zn = Z.copy()
        Zn[-1, -1] = np.nan
        for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
            with pytest.raises(ValueError):
                fn(_arrange(Zn, kind))
        Zn[-1, -1] = -np.inf
        assert sigmax.softmax(_arrange(Zn, kind))[-1, -1] == 0.0
        assert sigmax.log_softmax(_arrange(Zn, kind))[-1, -1] == -np.inf
        assert sigmax.sigmoid(_arrange(Zn, kind))[-1, -1] == 0.0
        np.testing.assert_allclose(sigmax.softmax(_arrange(Zn, kind))[:, :-1],
                                   ref.softmax(Zn)[:, :-1], rtol=rtol, atol=tiny)


# ------------------------------------------------------------ result dtypes
def test_float32_stays_float32():
    X, y, W, b, sw = _cast(make_problem(6, 3, 3, "softmax", "index", seed=15), np.float32)
    assert type(sigmax.loss(X, y, W, b)) is np.float32
    value, gW, gb = sigmax.loss_grad(X, y, W, b, sample_weight=sw, alpha=0.1)
    assert type(value) is np.float32 and gW.dtype == np.float32 and gb.dtype == np.float32
    # float64 parameters do not promote a float32 problem
    value, gW, gb = sigmax.loss_grad(X, y, W.astype(np.float64), b.astype(np.float64),
                                     sample_weight=sw.astype(np.float64))
    assert type(value) is np.float32 and gW.dtype == np.float32 and gb.dtype == np.float32
    assert sigmax.logits(X, W.astype(np.float64), b).dtype == np.float32
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        assert fn(X).dtype == np.float32
    # and float64 stays float64 even with float32 parameters
    X64 = X.astype(np.float64)
    value, gW, gb = sigmax.loss_grad(X64, y, W, b)
    assert type(value) is np.float64 and gW.dtype == np.float64 and gb.dtype == np.float64


# ---------------------------------------------------------------- large n
@pytest.mark.parametrize("dtype", DTYPES)
def test_large_n_matches_reference(dtype):
    """n above the kernel's block size (several row blocks, optionally threads)."""
    X, y, W, b, sw = _cast(make_problem(20011, 4, 3, "softmax", "index", seed=16), dtype)
    res = check_loss_grad(X, y, W, b, dtype=dtype, link="softmax", loss="log", sample_weight=sw, alpha=0.01)
    check_loss_grad(X, y, W, b, dtype=dtype, link="sigmoid", loss="log")
    threaded = sigmax.loss_grad(X, y, W, b, link="softmax", loss="log", sample_weight=sw,
                                alpha=0.01, n_jobs=2)
    assert threaded[0] == res[0]
    np.testing.assert_array_equal(threaded[1], res[1])
    np.testing.assert_array_equal(threaded[2], res[2])


# ------------------------------------------------------- hypothesis
SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _floats(dtype, lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                     width=32 if dtype == np.float32 else 64)


def _arrange(a, kind):
    return layout(a, kind, fill=np.nan if a.dtype.kind == "f" else 0)


@st.composite
def problems(draw):
    link = draw(st.sampled_from(["softmax", "sigmoid"]))
    loss = draw(st.sampled_from(["log", "mse"]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    kind = draw(st.sampled_from(["C", "F", "strided"]))
    n = draw(st.integers(1, 20))
    m = draw(st.integers(1, 8))
    k = draw(st.integers(2 if link == "softmax" else 1, 6))
    X = draw(hnp.arrays(dtype, (n, m), elements=_floats(dtype, -5, 5)))
    W = draw(hnp.arrays(dtype, (k, m), elements=_floats(dtype, -2, 2)))
    b = draw(hnp.arrays(dtype, (k,), elements=_floats(dtype, -2, 2)))
    forms = ["index", "matrix01"] + (["soft"] if k > 1 or link == "sigmoid" else [])
    form = draw(st.sampled_from(forms))
    if form == "index":
        y = draw(hnp.arrays(np.intp, (n,), elements=st.integers(0, (2 if k == 1 else k) - 1)))
    elif form == "matrix01":
        if link == "softmax":  # one-hot rows
            y = np.eye(k, dtype=dtype)[draw(hnp.arrays(np.intp, (n,), elements=st.integers(0, k - 1)))]
        else:  # multi-label indicators
            y = draw(hnp.arrays(dtype, (n, k), elements=st.sampled_from([0.0, 1.0])))
    else:
        raw = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0.01, 1.0)))
        y = (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)
    sw = None
    if draw(st.booleans()):
        sw = draw(hnp.arrays(dtype, (n,), elements=_floats(dtype, 0.0, 3.0)))
        if not (sw.astype(np.float64).sum() > 1e-3):
            sw[0] = 1.0
    alpha = draw(st.sampled_from([0.0, 0.5]) | st.floats(0.0, 2.0))
    return dict(link=link, loss=loss, dtype=dtype, kind=kind, X=X, W=W, b=b, y=y, sw=sw, alpha=alpha)


@SETTINGS
@given(problems())
def test_property_loss_grad_matches_reference(p):
    kind, dtype = p["kind"], p["dtype"]
    X, W, b, y, sw = p["X"], p["W"], p["b"], p["y"], p["sw"]
    # tolerance scale: |z| bounds the per-row loss, |x| the gradient terms
    scale = max(1.0, float(np.abs(ref.logits(X, W, b)).max()) * W.shape[0], float(np.abs(X).max()) * 2,
                p["alpha"] * float(np.abs(W).max()))
    check_loss_grad(_arrange(X, kind), _arrange(y, kind), _arrange(W, kind), _arrange(b, kind),
                    dtype=dtype, link=p["link"], loss=p["loss"],
                    sample_weight=None if sw is None else _arrange(sw, kind),
                    alpha=p["alpha"], scale=scale)


@SETTINGS
@given(data=st.data())
def test_property_activations_match_reference(data):
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    kind = data.draw(st.sampled_from(["C", "F", "strided"]))
    n = data.draw(st.integers(1, 20))
    k = data.draw(st.integers(1, 6))
    big = data.draw(st.sampled_from([5.0, 50.0, 1e4]))
    Z = data.draw(hnp.arrays(dtype, (n, k), elements=_floats(dtype, -big, big)))
    Zl = _arrange(Z, kind)
    tiny = 1e-37 if dtype == np.float32 else 1e-300  # below float32's normal range
    rtol = RTOL[dtype]
    for fn in (sigmax.softmax, sigmax.log_softmax, sigmax.sigmoid):
        out = fn(Zl)
        assert out.dtype == dtype and out.shape == Z.shape
        expected = getattr(ref, fn.__name__)(Z)
        # log-probabilities near 0 are differences of numbers of size |z|
        atol = rtol * max(1.0, float(np.abs(Z).max())) if fn is sigmax.log_softmax else tiny
        np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol, err_msg=fn.__name__)
    # a single row as a 1-D vector
    np.testing.assert_allclose(sigmax.softmax(Z[0]), ref.softmax(Z[0]), rtol=rtol, atol=tiny)


@SETTINGS
@given(data=st.data())
def test_property_logits_match_reference(data):
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    kind = data.draw(st.sampled_from(["C", "F", "strided"]))
    n, m, k = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 8)), data.draw(st.integers(1, 6))
    X = data.draw(hnp.arrays(dtype, (n, m), elements=_floats(dtype, -100, 100)))
    W = data.draw(hnp.arrays(dtype, (k, m), elements=_floats(dtype, -10, 10)))
    b = data.draw(hnp.arrays(dtype, (k,), elements=_floats(dtype, -10, 10)))
    Z = sigmax.logits(_arrange(X, kind), _arrange(W, kind), _arrange(b, kind))
    assert Z.dtype == dtype and Z.shape == (n, k)
    # the sum's rounding error is relative to sum |w x| + |b|, not to z
    scale = float((np.abs(X.astype(np.float64)) @ np.abs(W.astype(np.float64)).T + np.abs(b)).max())
    assert_close(Z, ref.logits(X, W, b), dtype, scale=max(1.0, scale))


@SETTINGS
@given(data=st.data())
def test_property_sigmoid_any_shape(data):
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6))
    elements = st.floats(allow_nan=False, allow_infinity=True, allow_subnormal=False,
                         width=32 if dtype == np.float32 else 64)
    z = data.draw(hnp.arrays(dtype, shape, elements=elements))
    out = sigmax.sigmoid(z)
    expected = ref.sigmoid(z)
    assert np.shape(out) == z.shape
    if z.ndim:
        assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, dtype=np.float64), expected, rtol=RTOL[dtype],
                               atol=1e-37 if dtype == np.float32 else 1e-300)
