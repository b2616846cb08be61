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
beside the repository; the lectures' toy file from ``$SIGMAX_LECTURE_DATA``,
by default ``../shared/data/lectures``.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KERNEL = "python3"
CELL_TIMEOUT = 900  # seconds, per cell


def default_environment() -> None:
    """Point the kernels at the shared data beside the repository unless told otherwise."""
    shared = REPO.parent / "shared" / "data"
    os.environ.setdefault("SIGMAX_DATA", str(shared / "mnist"))
    if (shared / "lectures").is_dir():
        os.environ.setdefault("SIGMAX_LECTURE_DATA", str(shared / "lectures"))


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
    default_environment()
    paths = [HERE / name for name in argv] if argv else sorted(HERE.glob("*.ipynb"))
    for path in paths:
        elapsed = execute(path.resolve())
        size = path.stat().st_size / 1024
        print(f"{path.name}: executed in {elapsed:.1f} s, {size:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
