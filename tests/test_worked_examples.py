"""The numbered worked examples of the lectures (shared/lectures/README.md), reproduced
with sigmax's low-level API and asserted to the printed digits.

Conventions from the README: theta (lecture 004) has the biases in row 0 and one
column per class, so W (K x M) = theta[1:].T and b = theta[0]; labels count from 0.

How printed numbers are compared.  Most printed numbers are the exact value
rounded to the printed decimals: ``printed(got, value)`` checks
``|got - value| <= half a unit in the last printed digit``.  The lecture 004
slides *truncate* some of their numbers instead (e.g. the exact 0.309662 is
printed 0.3096, the exact -0.837745 is printed -0.837).  Those are checked with
``mode="trunc"``: ``value`` must be ``got`` cut to the printed decimals toward
zero, i.e. ``got`` lies in the one-unit window [value, value + unit) away from
zero, which is just as tight a check.  One number (+-0.539 in example 4) is the
lecture's product of an already rounded 0.385 with x = 1.4; it is checked
through that very arithmetic (see test_example_4).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import sigmax


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def printed(got, value: str, mode: str = "round") -> None:
    """Assert that ``got`` prints as the lecture's ``value`` (a decimal string)."""
    got = float(got)
    dec = _decimals(value)
    unit = 10.0 ** -dec
    v = float(value)
    assert math.isfinite(got), got
    if mode == "round":
        assert abs(got - v) <= 0.5 * unit * (1 + 1e-9), (
            f"{got!r} does not round to the printed {value} ({dec} decimals)"
        )
    elif mode == "trunc":
        sign = -1.0 if value.startswith("-") else 1.0
        away = (got - v) * sign  # distance from the printed value, away from zero
        assert -1e-12 <= away < unit, (
            f"{got!r} does not truncate to the printed {value} ({dec} decimals)"
        )
    else:  # pragma: no cover - test helper misuse
        raise ValueError(mode)


def printed_all(got, values, modes=None) -> None:
    got = np.asarray(got, dtype=np.float64).ravel()
    assert got.shape == (len(values),), (got.shape, values)
    modes = modes or ["round"] * len(values)
    for g, v, m in zip(got, values, modes):
        printed(g, v, m)


def split_theta(theta):
    theta = np.asarray(theta, dtype=np.float64)
    return np.ascontiguousarray(theta[1:].T), theta[0].copy()


def grad_theta(gW, gb):
    """The lecture's L'_theta: row 0 dL/db, rows 1.. dL/dw, one column per class."""
    return np.vstack([gb, gW.T])


# --------------------------------------------------------------------------- 1
def test_example_1_sigmoid():
    """w=2, b=1, x=1 -> z=3, a=0.9526, 1-a=0.0474."""
    z = sigmax.logits(np.array([[1.0]]), np.array([[2.0]]), np.array([1.0]))
    assert z.shape == (1, 1)
    printed(z[0, 0], "3")
    assert z[0, 0] == 3.0
    a = sigmax.sigmoid(z[0, 0])
    printed(a, "0.9526")
    printed(1.0 - a, "0.0474")
    printed(sigmax.sigmoid(-z[0, 0]), "0.0474")  # 1 - sigma(z) = sigma(-z)
    # the same probability out of the array form
    printed(sigmax.sigmoid(z)[0, 0], "0.9526")


# --------------------------------------------------------------------------- 2
def test_example_2_softmax():
    """w=[2,3,5], b=[1,1,1], x=1 -> z=[3,4,6], a=[0.0420,0.1142,0.8438], class 3."""
    W = np.array([[2.0], [3.0], [5.0]])
    b = np.array([1.0, 1.0, 1.0])
    z = sigmax.logits(np.array([[1.0]]), W, b)
    np.testing.assert_array_equal(z, [[3.0, 4.0, 6.0]])
    a = sigmax.softmax(z)
    assert a.shape == (1, 3)
    printed_all(a, ["0.0420", "0.1142", "0.8438"])
    a1 = sigmax.softmax(z[0])  # 1-D: one vector of logits
    assert a1.shape == (3,)
    printed_all(a1, ["0.0420", "0.1142", "0.8438"])
    assert int(np.argmax(a1)) == 2  # "class 3", counting from 1


# --------------------------------------------------------------------------- 3
Z3 = np.array([
    [-0.3, -0.5, -0.5],
    [-0.4, -0.1, -0.5],
    [-0.3, -0.94, -0.5],
    [-0.99, -0.88, -0.5],
])
Y3 = np.array([0, 1, 2, 2])
A3 = [
    ["0.3792", "0.3104", "0.3104"],
    ["0.3072", "0.4147", "0.2780"],
    ["0.4263", "0.2248", "0.3490"],
    ["0.2668", "0.2978", "0.4354"],
]
CE3 = ["0.9698", "0.8801", "1.0527", "0.8314"]  # exact, to 4 decimals
# the slide's own figures: -log of the softmax rounded to 4 digits first
CE3_SLIDE = [0.969692, 0.880200, 1.05268, 0.831490]


def test_example_3_slide_cross_entropy_from_the_rounded_softmax():
    A = sigmax.softmax(Z3)
    rounded_true_class = np.round(A[np.arange(4), Y3], 4)
    np.testing.assert_allclose(-np.log(rounded_true_class), CE3_SLIDE, rtol=0, atol=1e-5)


def test_example_3_softmax_rows():
    A = sigmax.softmax(Z3)
    assert A.shape == (4, 3)
    for row, expected in zip(A, A3):
        printed_all(row, expected)


def test_example_3_cross_entropy():
    # logits(X, I, 0) = X, so the lecture's Z is fed as the design matrix
    X, W, b = Z3, np.eye(3), np.zeros(3)
    np.testing.assert_array_equal(sigmax.logits(X, W, b), Z3)
    # per-sample cross-entropy -log softmax(z_i)[y_i] ...
    logA = sigmax.log_softmax(Z3)
    printed_all(-logA[np.arange(4), Y3], CE3)
    # ... and as the objective of each single row (a one-hot sample weight)
    for i in range(4):
        sw = np.zeros(4)
        sw[i] = 1.0
        printed(sigmax.loss(X, Y3, W, b, sample_weight=sw), CE3[i])
        printed(sigmax.loss(X[i:i + 1], Y3[i:i + 1], W, b), CE3[i])
    # the mean
    printed(sigmax.loss(X, Y3, W, b), "0.9335")
    printed(sigmax.loss_grad(X, Y3, W, b)[0], "0.9335")
    # with the one-hot target matrix ("another approach")
    printed(sigmax.loss(X, np.eye(3)[Y3], W, b), "0.9335")


# --------------------------------------------------------------------------- 4
THETA_2 = [[0.1, 0.05], [0.2, -0.1]]


def test_example_4_two_classes_one_sample():
    """x=1.4, class 0 -> yhat=[0.615,0.385], dL/db=[-0.385,0.385], dL/dw=[-0.539,0.539],
    theta after a step with eta=0.1: [[0.138,0.011],[0.253,-0.153]]."""
    W, b = split_theta(THETA_2)
    X = np.array([[1.4]])
    y = np.array([0])
    yhat = sigmax.softmax(sigmax.logits(X, W, b))
    printed_all(yhat, ["0.615", "0.385"])

    for target in (y, np.array([[1.0, 0.0]])):  # class index and one-hot row
        value, gW, gb = sigmax.loss_grad(X, target, W, b)
        assert gW.shape == (2, 1) and gb.shape == (2,)
        printed_all(gb, ["-0.385", "0.385"])
        # dL/dw = x * dL/db: the lecture multiplies its rounded 0.385 by 1.4
        np.testing.assert_allclose(gW[:, 0], 1.4 * gb, rtol=1e-12)
        for g, text in zip(gb, ["-0.539", "0.539"]):
            assert round(round(float(g), 3) * 1.4, 3) == float(text)
            assert abs(float(g) * 1.4 - float(text)) < 1e-3
        new = np.asarray(THETA_2) - 0.1 * grad_theta(gW, gb)
        printed_all(new, ["0.138", "0.011", "0.253", "-0.153"],
                    ["round", "trunc", "trunc", "trunc"])
        # the loss itself is not printed; -log yhat_0 from the lecture's formula
        np.testing.assert_allclose(value, np.log1p(np.exp(-(0.38 - (-0.09)))), rtol=1e-12)


# --------------------------------------------------------------------------- 5
def test_example_5_minibatch_of_two():
    """(1.4, class 0), (4.5, class 1) -> yhat(4.5)=[0.802,0.198];
    mean gradients dL/db0=0.209, dL/dw0=1.536."""
    W, b = split_theta(THETA_2)
    X = np.array([[1.4], [4.5]])
    y = np.array([0, 1])
    yhat = sigmax.softmax(sigmax.logits(X, W, b))
    printed_all(yhat[1], ["0.802", "0.198"])
    printed_all(yhat[0], ["0.615", "0.385"])
    _, gW, gb = sigmax.loss_grad(X, y, W, b)
    printed(gb[0], "0.209")
    printed(gW[0, 0], "1.536")
    # the per-sample dL/dz_0 of the slide, [-0.385, 0.802]
    for i, text in enumerate(["-0.385", "0.802"]):
        sw = np.zeros(2)
        sw[i] = 1.0
        printed(sigmax.loss_grad(X, y, W, b, sample_weight=sw)[2][0], text)


# --------------------------------------------------------------------------- 6
THETA_3 = [[0.1, 0.05, -0.1], [0.1, -0.1, 0.1], [0.2, 0.2, -0.1]]


def test_example_6_three_classes_one_sample():
    """x=[1.4,0.2], class 0 -> z=[0.28,-0.05,0.02], yhat=[0.4016,0.2887,0.3096],
    loss 0.9122, dL/dtheta_1=[-0.598,-0.837,-0.119], dL/dtheta_2=[0.288,0.404,0.057]."""
    W, b = split_theta(THETA_3)
    X = np.array([[1.4, 0.2]])
    y = np.array([0])
    z = sigmax.logits(X, W, b)
    printed_all(z, ["0.28", "-0.05", "0.02"])
    printed_all(sigmax.softmax(z), ["0.4016", "0.2887", "0.3096"], ["round", "round", "trunc"])
    printed(sigmax.loss(X, y, W, b), "0.9122", "trunc")
    value, gW, gb = sigmax.loss_grad(X, y, W, b)
    printed(value, "0.9122", "trunc")
    G = grad_theta(gW, gb)  # column c is dL/dtheta_{c+1}
    printed_all(G[:, 0], ["-0.598", "-0.837", "-0.119"], ["round", "trunc", "trunc"])
    printed_all(G[:, 1], ["0.288", "0.404", "0.057"], ["trunc", "round", "trunc"])


# --------------------------------------------------------------------------- 7
def test_example_7_minibatch_of_three():
    """x=[1.5,0.2],[4.7,1.6],[5.6,2.2], y=[0,1,2] -> loss 1.31, gradients, one step."""
    W, b = split_theta(THETA_3)
    X = np.array([[1.5, 0.2], [4.7, 1.6], [5.6, 2.2]])
    y = np.array([0, 1, 2])
    # the slide's z and yhat (class x sample)
    z = sigmax.logits(X, W, b).T
    printed_all(z, ["0.29", "0.89", "1.1", "-0.06", "-0.1", "-0.07", "0.03", "0.21", "0.24"])
    yhat = sigmax.softmax(sigmax.logits(X, W, b)).T
    printed_all(
        yhat,
        ["0.4039", "0.5324", "0.5768", "0.2846", "0.1978", "0.1790", "0.3114", "0.2697", "0.2441"],
        ["round", "round", "trunc"] + ["round"] * 6,
    )
    printed(sigmax.loss(X, y, W, b), "1.31")
    value, gW, gb = sigmax.loss_grad(X, y, W, b)
    printed(value, "1.31")
    G = grad_theta(gW, gb)
    printed_all(G[:, 0], ["0.171", "1.612", "0.667"], ["round", "trunc", "round"])
    printed_all(G[:, 1], ["-0.112", "-0.780", "-0.277"], ["trunc", "round", "trunc"])
    printed_all(G[:, 2], ["-0.058", "-0.832", "-0.389"], ["round", "trunc", "trunc"])
    new = np.asarray(THETA_3) - 0.1 * G
    printed_all(new, ["0.083", "0.061", "-0.094",
                      "-0.061", "-0.022", "0.183",
                      "0.133", "0.228", "-0.061"])
    # the same with the one-hot target matrix
    value2, gW2, gb2 = sigmax.loss_grad(X, np.eye(3)[y], W, b)
    printed(value2, "1.31")
    printed_all(grad_theta(gW2, gb2)[:, 0], ["0.171", "1.612", "0.667"], ["round", "trunc", "round"])


# --------------------------------------------------------------------------- 8
def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.mark.parametrize(
    "x, w, bias, label",
    [
        (1.0, 10.0, 0.0, 0),   # a ~ 1 but y = 0: the wrong end
        (2.0, -4.0, -1.0, 1),  # a ~ 0 but y = 1
        (-1.5, 6.0, 0.5, 1),   # z = -8.5
        (0.7, 0.3, -0.2, 1),   # an unremarkable point, for the formula alone
        (0.7, 0.3, -0.2, 0),
    ],
)
def test_example_8_attenuated_gradient(x, w, bias, label):
    X = np.array([[x]])
    W = np.array([[w]])
    b = np.array([bias])
    y = np.array([label])
    z = w * x + bias
    a = _sig(z)

    mse, gW_mse, gb_mse = sigmax.loss_grad(X, y, W, b, link="sigmoid", loss="mse")
    # squared error without the 1/2: l = (a - y)^2, dl/dw = 2 (a - y) a (1 - a) x
    assert math.isclose(mse, (a - label) ** 2, rel_tol=1e-12, abs_tol=1e-300)
    expected = 2.0 * (a - label) * a * (1.0 - a) * x
    assert math.isclose(gW_mse[0, 0], expected, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(gb_mse[0], 2.0 * (a - label) * a * (1.0 - a), rel_tol=1e-9, abs_tol=1e-15)

    ll, gW_log, gb_log = sigmax.loss_grad(X, y, W, b, link="sigmoid", loss="log")
    # log loss: -y log a - (1 - y) log(1 - a), gradient (a - y) x
    assert math.isclose(ll, -label * math.log(a) - (1 - label) * math.log(1.0 - a), rel_tol=1e-9)
    assert math.isclose(gW_log[0, 0], (a - label) * x, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(gb_log[0], a - label, rel_tol=1e-12, abs_tol=1e-15)

    wrong_end = abs(a - label) > 0.99
    if wrong_end:
        # the attenuation: the MSE gradient all but vanishes, the log-loss one does not
        assert abs(gW_mse[0, 0]) < 1e-3 * abs(x)
        assert abs(gW_log[0, 0]) > 0.99 * abs(x)
        assert abs(gW_mse[0, 0]) < 1e-2 * abs(gW_log[0, 0])


def test_example_8_vectorized():
    """The vectorized sigmoid + MSE gradient (002): (2/n) sum_i (a_i - y_i) a_i (1 - a_i) x_i."""
    X = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
    y = np.array([1, 0, 1])
    W = np.array([[0.8, -0.4]])
    b = np.array([0.1])
    z = X @ W[0] + b[0]
    a = 1.0 / (1.0 + np.exp(-z))
    d = 2.0 * (a - y) * a * (1.0 - a)
    value, gW, gb = sigmax.loss_grad(X, y, W, b, link="sigmoid", loss="mse")
    np.testing.assert_allclose(value, np.mean((a - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(gW[0], X.T @ d / 3, rtol=1e-12)
    np.testing.assert_allclose(gb[0], d.mean(), rtol=1e-12)
    _, gWl, gbl = sigmax.loss_grad(X, y, W, b, link="sigmoid", loss="log")
    np.testing.assert_allclose(gWl[0], X.T @ (a - y) / 3, rtol=1e-12)
    np.testing.assert_allclose(gbl[0], np.mean(a - y), rtol=1e-12)


# --------------------------------------------------------------------------- 9
Z_PAIRS = [(3.0, 1.0), (-2.0, 0.5), (0.0, 0.0), (4.0, 4.0), (30.0, -30.0),
           (-30.0, 30.0), (1e-8, 0.0), (700.0, 0.0), (-745.0, 0.0), (1e4, -1e4)]


@pytest.mark.parametrize("z1, z2", Z_PAIRS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_example_9_sigmoid_is_two_class_softmax(z1, z2, dtype):
    Z = np.array([z1, z2], dtype=dtype)
    s = sigmax.softmax(Z)
    sg = sigmax.sigmoid(np.array([z1 - z2], dtype=dtype))
    assert s.dtype == dtype and sg.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(s[0], sg[0], rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(s[1], 1.0 - sg[0], rtol=rtol, atol=1e-7 if dtype == np.float32 else 1e-16)
    # against the lecture's 1 / (1 + e^{-(z1 - z2)}) itself
    d = float(z1) - float(z2)
    expected = 0.0 if -d > 709 else 1.0 / (1.0 + math.exp(-d))
    np.testing.assert_allclose(s[0], expected, rtol=rtol, atol=1e-300)


def test_example_9_two_class_softmax_regression_is_logistic_regression():
    """softmax with rows (w1, b1), (w2, b2) == sigmoid with w1 - w2, b1 - b2 (003)."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(7, 3))
    y = rng.integers(0, 2, size=7)
    W = rng.normal(size=(2, 3))
    b = rng.normal(size=2)
    # class index 0 is the sigmoid's positive class
    ypos = (y == 0).astype(int)
    z = X @ (W[0] - W[1]) + (b[0] - b[1])
    a = 1.0 / (1.0 + np.exp(-z))
    bce = -np.mean(ypos * np.log(a) + (1 - ypos) * np.log(1 - a))
    gw = X.T @ (a - ypos) / 7

    v_soft, gW_soft, gb_soft = sigmax.loss_grad(X, y, W, b)
    v_sig, gW_sig, gb_sig = sigmax.loss_grad(X, ypos, (W[0] - W[1])[None, :],
                                             np.array([b[0] - b[1]]), link="sigmoid")
    np.testing.assert_allclose([v_soft, v_sig], [bce, bce], rtol=1e-12)
    np.testing.assert_allclose(gW_soft[0], gw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gW_soft[1], -gw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gW_sig[0], gw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gb_soft, [np.mean(a - ypos), -np.mean(a - ypos)], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gb_sig, [np.mean(a - ypos)], rtol=1e-10, atol=1e-14)
