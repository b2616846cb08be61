"""``python -m sigmax``: the lectures' MNIST softmax regression.

Zero initialisation, 25 epochs of minibatch SGD with batch size 256 and
learning rate 0.1, as in the lecture (which reports 92.16% test accuracy).
MNIST is read from $SIGMAX_DATA, or downloaded and verified into a cache.
Warnings of the fit (a learning rate likely too large, say) are printed as
one line each, in the options' terms.
Exit status: 0, 2 for a bad option, 1 when the data cannot be read, the
training fails or the output cannot be written (a full disk), 130 when
interrupted (Ctrl-C), 141 when the output's reader has gone (a closed pipe, as
after `| head -1`; the status of a program stopped by SIGPIPE), which is not
reported.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any, Optional, Sequence, TextIO, Type, Union

import numpy as np

from . import SoftmaxRegression
from .datasets import load_mnist


_PROG = "python -m sigmax"

# the options that are estimator parameters, checked by the estimator's own rules
_PARAMETERS = {"epochs": ("--epochs", "max_iter"), "batch_size": ("--batch-size", "batch_size"),
               "learning_rate": ("--learning-rate", "learning_rate"),
               "seed": ("--seed", "random_state"), "n_jobs": ("--n-jobs", "n_jobs")}
# the estimator's rule for the ints these options take, without the other
# Python values the estimator also accepts (None, a numpy Generator)
_INT_RULES = {"seed": "must be >= 0", "n_jobs": "must be a non-zero integer"}


def _in_flags(message: str) -> str:
    """An estimator's message in the options' terms, on one line."""
    for flag, parameter in _PARAMETERS.values():
        message = message.replace(parameter, flag)
    return " ".join(message.splitlines())


class _OutputError(Exception):
    """stdout refused a line (a full disk, a closed file): the OSError is the cause."""


def _print(line: str) -> None:
    """A line on stdout, flushed: it comes before the fit's lines on stderr,
    and a refused write is seen here (a broken pipe as itself, any other
    OSError as _OutputError), not in the flush at exit."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        raise
    except OSError as err:
        raise _OutputError from err


def _show_warning(message: Union[Warning, str], category: Type[Warning], filename: str,
                  lineno: int, file: Optional[TextIO] = None,
                  line: Optional[str] = None) -> None:
    """warnings.showwarning for the run: a warning on one line of stderr in
    the options' terms, as the errors are, without the source line of the
    call that warned (which is in sigmax, not in anything the user wrote)."""
    stream = sys.stderr if file is None else file
    if stream is None:  # no stderr (pythonw)
        return
    try:
        stream.write(f"{_PROG}: warning: {_in_flags(str(message))}\n")
        stream.flush()
    except OSError:  # stderr refuses it: warnings.showwarning ignores that too
        pass


def _to_devnull(*streams: TextIO) -> None:
    """Points the streams' file descriptors at os.devnull.  What a refused
    write left in a stream's buffer is written again when Python flushes the
    stream at exit, and fails again: an "Exception ignored" message and exit
    status 120 instead of the one chosen."""
    for stream in streams:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (replaced, closed)
            continue
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


class _Parser(argparse.ArgumentParser):
    """The job's argument parser: --help's text goes to stdout through _print,
    so that a refused write ends the job as the job's own lines do (status 1
    and a message, or 141 for a closed pipe).  argparse itself ignores an
    OSError there and exits 0."""

    def print_help(self, file: Any = None) -> None:  # typeshed's type varies between versions
        if file is not None:
            super().print_help(file)
            return
        _print(self.format_help().removesuffix("\n"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _Parser(
        prog=_PROG,
        description="The lectures' MNIST softmax regression: minibatch SGD from zero weights, "
                    "then the test accuracy (the lecture reports 92.16%).")
    parser.add_argument("--epochs", type=int, default=25, help="passes over the training set "
                        "(default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="rows per minibatch (default %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=0.1,
                        help="SGD step size (default %(default)s)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="the images' float type, trained in (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the minibatches' shuffling seed, >= 0 (default %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="threads for the kernels (default -1: all the cores it may use; "
                             "the result is the same for any count)")
    parser.add_argument("--data-dir", default=None,
                        help="directory with the four MNIST IDX files (default: $SIGMAX_DATA or a cache)")
    try:
        args = parser.parse_args(argv)  # --help writes through _print
        with warnings.catch_warnings():  # restores showwarning on the way out
            warnings.showwarning = _show_warning
            return _run(parser, args)
    except KeyboardInterrupt:  # Ctrl-C while the data load or the model trains
        parser.exit(130, f"{parser.prog}: interrupted\n")
    except BrokenPipeError:  # the reader has gone (`| head -1`): nobody to tell
        _to_devnull(sys.stdout, sys.stderr)  # stderr may be the same pipe (`2>&1 |`)
        return 141
    except _OutputError as err:
        _to_devnull(sys.stdout)
        parser.exit(1, f"{parser.prog}: error: cannot write output: {err.__cause__}\n")


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    for option, (flag, parameter) in _PARAMETERS.items():
        try:  # before the data are loaded (or downloaded)
            SoftmaxRegression(solver="sgd", **{parameter: getattr(args, option)}) \
                ._check_hyperparameters()
        except ValueError as err:
            if option in _INT_RULES:
                message = f"{_INT_RULES[option]}, got {getattr(args, option)}"
            else:  # the estimator's "max_iter must be ...", without "max_iter"
                message = _in_flags(str(err)).removeprefix(f"{flag} ")
            parser.error(f"argument {flag}: {message}")

    try:
        X_train, y_train, X_test, y_test = load_mnist(args.data_dir, dtype=np.dtype(args.dtype))
    except (OSError, ValueError) as err:  # missing, corrupt or undownloadable files
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    _print(f"MNIST: {X_train.shape[0]} training and {X_test.shape[0]} test images, "
           f"{X_train.shape[1]} features, {args.dtype}")
    model = SoftmaxRegression(solver="sgd", learning_rate=args.learning_rate,
                              max_iter=args.epochs, batch_size=args.batch_size,
                              random_state=args.seed, n_jobs=args.n_jobs, verbose=1)
    try:
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
    except ValueError as err:  # e.g. weights that overflow at too large a learning rate
        parser.exit(1, f"{parser.prog}: error: {_in_flags(str(err))}\n")
    _print(f"test accuracy: {100 * accuracy:.2f}%  (the lecture reports 92.16%)")
    _print(f"training: {elapsed:.2f} s, {1000 * elapsed / args.epochs:.1f} ms per epoch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
