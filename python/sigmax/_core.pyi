# The C extension sigmax._core (csrc/module.c), private: use the functions in
# the sigmax package.  Every function takes its arguments by position only
# (PyArg_ParseTuple, METH_O or METH_NOARGS).  The arrays must be numpy.ndarray
# (not array-likes), aligned and in native byte order; the float ones all of
# X's dtype, float32 or float64; class indices intp.
# Outputs must not overlap the inputs (activate's out may be Z itself): the
# sigmax functions check that exactly (numpy.shares_memory); _core does not.
from typing import Callable, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

_FloatArray = Union[NDArray[np.float32], NDArray[np.float64]]

def isa() -> str: ...
def fma_probe(double: bool, rounds: int, n_threads: int, /) -> float: ...
def select_isa(name: str, /) -> None: ...
def supported_isas() -> List[str]: ...
def loss_grad(
    X: _FloatArray,
    y: Optional[NDArray[np.intp]],
    Y: Optional[_FloatArray],
    sample_weight: Optional[_FloatArray],
    W: _FloatArray,
    b: _FloatArray,
    link: int,
    loss: int,
    alpha: float,
    grad_W: Optional[_FloatArray],
    grad_b: Optional[_FloatArray],
    n_threads: int,
    /,
) -> float: ...
def forward(
    X: _FloatArray,
    W: _FloatArray,
    b: _FloatArray,
    link: int,
    what: int,
    out: Union[_FloatArray, NDArray[np.intp]],
    n_threads: int,
    /,
) -> None: ...
def activate(Z: _FloatArray, link: int, log: bool, out: _FloatArray, /) -> None: ...
def sgd_epoch(
    X: _FloatArray,
    y: Optional[NDArray[np.intp]],
    Y: Optional[_FloatArray],
    sample_weight: Optional[_FloatArray],
    W: _FloatArray,
    b: _FloatArray,
    link: int,
    loss: int,
    learning_rate: float,
    alpha: float,
    mean_weight: float,
    batch_size: int,
    shuffle: bool,
    fit_intercept: bool,
    n_threads: int,
    seed: int,
    /,
) -> float: ...
def lbfgs(
    X: _FloatArray,
    y: Optional[NDArray[np.intp]],
    Y: Optional[_FloatArray],
    sample_weight: Optional[_FloatArray],
    W: _FloatArray,
    b: _FloatArray,
    link: int,
    loss: int,
    alpha: float,
    fit_intercept: bool,
    tol: float,
    max_iter: int,
    memory: int,
    n_threads: int,
    callback: Optional[Callable[[int, float, float], object]],
    h0: Optional[ArrayLike],
    /,
) -> Tuple[int, int, float, float, float, int]: ...
def spd_inverse(A: NDArray[np.float64], /) -> None: ...
def has_openmp() -> bool: ...
def sgd_solo_ratio(ratio: float, /) -> float: ...
def sgd_solo_epochs() -> int: ...
