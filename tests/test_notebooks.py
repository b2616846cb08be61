"""The notebooks in notebooks/ are part of the test suite.

Each notebook asserts the lectures' numbers in its own cells; here every one is
executed top to bottom in a fresh Jupyter kernel, so a notebook that breaks
fails the suite.  The kernel runs *this* interpreter (``sys.executable``), so
the notebooks use the same sigmax as the rest of the tests; a last, appended
cell checks that.  The committed files are never written: each notebook is
read into memory and executed with notebooks/ as its working directory, and
the executed copy goes to pytest's temporary directory for inspection.

The notebooks are committed with their outputs (so that they render with their
figures on a code-hosting site); the cheap tests at the end check that the
committed files were executed in one clean run (``python notebooks/execute.py``)
and stay small.

MNIST is read from ``$SIGMAX_DATA``, by default ``../shared/data/mnist`` beside
the repository; the lectures' toy file from ``$SIGMAX_LECTURE_DATA``, by default
``../shared/data/lectures`` when it exists.  Relative paths are taken from the
directory pytest runs in.
"""
import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import sigmax

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SHARED = REPO.parent / "shared" / "data"


def _load_execute():
    """notebooks/execute.py, the script that stores the notebooks, as a module."""
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOKS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = _load_execute()

EXPECTED = [
    "01_logistic_regression.ipynb",
    "02_softmax_regression.ipynb",
    "03_mnist.ipynb",
    "04_multiclass_strategies.ipynb",
]
NEEDS_MNIST = {"03_mnist.ipynb", "04_multiclass_strategies.ipynb"}
CELL_TIMEOUT = 600  # seconds, per cell
MAX_BYTES = 1_000_000

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
PARAMS = [pytest.param(path, id=path.stem,
                       marks=[pytest.mark.slow] if path.name in NEEDS_MNIST else [])
          for path in PATHS]

REPORT_CELL = "import sys, sigmax\nprint(sys.executable)\nprint(sigmax.__file__)"


def mnist_dir() -> Path:
    return Path(os.environ.get("SIGMAX_DATA") or SHARED / "mnist")


@pytest.fixture
def kernel_environment(monkeypatch):
    """The kernel inherits this process's environment: the data directories
    and PYTHONPATH, as absolute paths, as ``notebooks/execute.py`` gives them."""
    for var, value in {**execute.data_environment(), **execute.absolute_pythonpath()}.items():
        monkeypatch.setenv(var, value)


def test_all_notebooks_are_tested():
    assert [path.name for path in PATHS] == EXPECTED


@pytest.mark.parametrize("path", PARAMS)
def test_notebook_runs(path, kernel_environment, tmp_path):
    if path.name in NEEDS_MNIST and not mnist_dir().is_dir():
        pytest.fail(f"MNIST not found in {mnist_dir()}: set SIGMAX_DATA to the directory of the IDX files")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    client = NotebookClient(nb, km=execute.kernel_manager(), timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        # raises CellExecutionError (naming the failing cell) if a cell fails; cleanup_kc
        # shuts the kernel down, which nbclient does not do for a kernel manager it was given
        client.execute(cleanup_kc=True)
    finally:
        nbformat.write(nb, tmp_path / path.name)

    # one line each: a path may hold spaces
    report = "".join(out.get("text", "") for out in nb.cells[-1].outputs).splitlines()
    assert report[0] == sys.executable
    assert Path(report[1]).resolve() == Path(sigmax.__file__).resolve()


@pytest.mark.parametrize("path", PARAMS)
def test_notebook_is_committed_executed(path):
    """Stored with the outputs of one clean top-to-bottom run, no errors, figures kept."""
    assert path.stat().st_size < MAX_BYTES
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        f"{path.name} is not stored as one clean run: run python notebooks/execute.py {path.name}"
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "version" not in nb.metadata.get("language_info", {})
    assert not any("execution" in cell.metadata for cell in nb.cells)


def test_data_environment_makes_paths_absolute(tmp_path, monkeypatch):
    """The kernels run in notebooks/: a relative path must reach them as the
    directory it names where it was given."""
    monkeypatch.chdir(tmp_path)
    env = execute.data_environment({"SIGMAX_DATA": "data/mnist", "SIGMAX_LECTURE_DATA": "lect"})
    assert env == {"SIGMAX_DATA": str(tmp_path / "data" / "mnist"),
                   "SIGMAX_LECTURE_DATA": str(tmp_path / "lect")}


def test_pythonpath_reaches_the_kernels_absolute(tmp_path, monkeypatch):
    """PYTHONPATH=python at the repository's root must name the same directory
    for the kernels, which run in notebooks/."""
    monkeypatch.chdir(tmp_path)
    given = os.pathsep.join(["python", str(tmp_path / "other")])
    assert execute.absolute_pythonpath({"PYTHONPATH": given}) == {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "python"), str(tmp_path / "other")])}
    assert execute.absolute_pythonpath({}) == {}


def test_data_environment_defaults_only_to_existing_directories(tmp_path, monkeypatch):
    """Without the shared data beside the repository, nothing is forced: an unset
    SIGMAX_DATA lets load_mnist use its cache (and download into it)."""
    repo = tmp_path / "repo"
    monkeypatch.setattr(execute, "REPO", repo)
    assert execute.data_environment({"SIGMAX_DATA": ""}) == {}
    (tmp_path / "shared" / "data" / "mnist").mkdir(parents=True)
    assert execute.data_environment({}) == {"SIGMAX_DATA": str(tmp_path / "shared" / "data" / "mnist")}
