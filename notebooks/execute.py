"""Execute the notebooks and store them with their outputs.

    python notebooks/execute.py                 # all notebooks in this directory
    python notebooks/execute.py 03_mnist.ipynb  # some of them

The notebooks are committed *with* outputs, so that they render with their
figures on a code-hosting site.  Run this after editing a notebook (it needs
the `notebooks` extra: ``pip install ".[notebooks]"``).  Each notebook runs top
to bottom in a fresh ``python3`` kernel of this interpreter, with this
directory as the working directory, exactly as ``tests/test_notebooks.py``
runs it.  Volatile metadata (execution timestamps, the interpreter's version)
is dropped, so re-running an unchanged notebook changes only what its cells
print (timings) and draw.

MNIST is read from ``$SIGMAX_DATA``, by default ``../shared/data/mnist``
beside the repository when it exists (else from ``load_mnist``'s cache); the
lectures' toy file from ``$SIGMAX_LECTURE_DATA``, by default
``../shared/data/lectures`` when it exists.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Mapping

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KERNEL = "python3"
CELL_TIMEOUT = 900  # seconds, per cell


def data_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``SIGMAX_DATA`` and ``SIGMAX_LECTURE_DATA`` for the kernels.

    A variable that is set is made absolute: the kernels run in this directory,
    so a path relative to the caller's directory would be looked up here.  One
    that is unset (or empty) points at the shared data beside the repository
    when that directory exists; otherwise it stays unset, and ``load_mnist``
    uses (and fills) its cache.
    """
    shared = REPO.parent / "shared" / "data"
    env = {}
    for var, default in (("SIGMAX_DATA", shared / "mnist"),
                         ("SIGMAX_LECTURE_DATA", shared / "lectures")):
        if environ.get(var):
            env[var] = str(Path(environ[var]).expanduser().resolve())
        elif default.is_dir():
            env[var] = str(default)
    return env


def absolute_pythonpath(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``PYTHONPATH`` for the kernels, each entry made absolute: they run in
    this directory, so ``PYTHONPATH=python`` given at the repository's root
    would name a directory that does not exist here, and the kernels would
    import an installed sigmax instead of the checkout's.  Empty when unset."""
    value = environ.get("PYTHONPATH")
    if not value:
        return {}
    entries = (str(Path(entry).expanduser().resolve()) if entry else entry
               for entry in value.split(os.pathsep))
    return {"PYTHONPATH": os.pathsep.join(entries)}


def normalize(nb: nbformat.NotebookNode) -> None:
    """Drop metadata that changes from run to run or machine to machine."""
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": KERNEL}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)


def kernel_manager() -> AsyncKernelManager:
    """The ``python3`` kernel, launched with this interpreter whatever kernel spec is installed."""
    km = AsyncKernelManager(kernel_name=KERNEL)
    km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return km


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, km=kernel_manager(), timeout=CELL_TIMEOUT, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(cleanup_kc=True)
    elapsed = time.perf_counter() - start
    normalize(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    os.environ.update(data_environment())
    os.environ.update(absolute_pythonpath())
    paths = [HERE / name for name in argv] if argv else sorted(HERE.glob("*.ipynb"))
    for path in paths:
        elapsed = execute(path.resolve())
        size = path.stat().st_size / 1024
        print(f"{path.name}: executed in {elapsed:.1f} s, {size:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
