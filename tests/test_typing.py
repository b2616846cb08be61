"""sigmax is typed (PEP 561): the py.typed marker and _core.pyi, the stub of
the C extension, are in the package and installed with it, and the stub
declares exactly the functions sigmax._core exports, with the arguments the
extension takes (by position only, as many as it parses)."""
from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sigmax
from sigmax import _core

PACKAGE = Path(sigmax.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[1]
TYPING_FILES = ("py.typed", "_core.pyi")


def _stubs() -> dict[str, ast.FunctionDef]:
    """The functions _core.pyi declares, by name."""
    tree = ast.parse((PACKAGE / "_core.pyi").read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _exported() -> set[str]:
    """The functions the compiled extension exports."""
    return {name for name, obj in vars(_core).items()
            if not name.startswith("_") and inspect.isbuiltin(obj)}


def test_marker_and_stub_are_in_the_package():
    for name in TYPING_FILES:
        assert (PACKAGE / name).is_file(), f"{name} is missing from {PACKAGE}"


def test_stub_declares_every_extension_function_and_no_other():
    stubs, exported = set(_stubs()), _exported()
    assert exported, "sigmax._core exports no function"
    assert not exported - stubs, f"functions of sigmax._core without a stub: {exported - stubs}"
    assert not stubs - exported, f"stubs of functions sigmax._core lacks: {stubs - exported}"


@pytest.mark.parametrize("name", sorted(_stubs()))
def test_stub_arguments_match_the_extension(name):
    """Every function parses its arguments with PyArg_ParseTuple, METH_O or
    METH_NOARGS: positional only, exactly as many as the stub has, named as
    in the docstring signature of csrc/module.c where there is one.  The
    calls below fail in the argument parsing, before any work."""
    args = _stubs()[name].args
    assert not (args.args or args.kwonlyargs or args.vararg or args.kwarg or args.defaults), \
        f"{name}: the stub's arguments must all be positional-only, without defaults"
    names = [a.arg for a in args.posonlyargs]
    function = getattr(_core, name)
    with pytest.raises(TypeError, match="keyword"):
        function(**{(names or ["x"])[0]: None})
    with pytest.raises(TypeError, match="given"):
        function(*[None] * (len(names) + 1))
    if names:
        with pytest.raises(TypeError, match="given"):
            function(*[None] * (len(names) - 1))
    try:
        signature = inspect.signature(function)
    except ValueError:  # no signature in the docstring (METH_NOARGS before Python 3.13)
        return
    assert list(signature.parameters) == names


# the functions without arguments (queries, safe to call): their stub's return
# type and a check of what they return
QUERIES = {
    "isa": ("str", lambda r: isinstance(r, str)),
    "supported_isas": ("List[str]", lambda r: isinstance(r, list)
                       and all(isinstance(s, str) for s in r)),
    "has_openmp": ("bool", lambda r: isinstance(r, bool)),
    "sgd_solo_epochs": ("int", lambda r: isinstance(r, int)),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_stub_return_types_of_the_queries(name):
    returns, check = QUERIES[name]
    assert ast.unparse(_stubs()[name].returns) == returns
    assert check(getattr(_core, name)())


def test_build_installs_marker_and_stub(tmp_path):
    """setup.py's build_py (what a wheel's pure-Python part is made of, no
    compiler needed) copies py.typed and _core.pyi into the package."""
    pytest.importorskip("setuptools")
    if not (ROOT / "setup.py").is_file():
        pytest.skip("needs the source tree")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "python", src / "python",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.egg-info"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    lib = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)],
                          cwd=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in TYPING_FILES:
        assert (lib / "sigmax" / name).is_file(), f"build_py left out {name}"
