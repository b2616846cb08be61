"""The build without OpenMP: with SIGMAX_OPENMP=0, or with a compiler that
cannot build an OpenMP program (Clang without libomp), setup.py builds the
single-thread kernels instead of failing, and n_jobs then runs on one thread
with the same results; and flags that instrument the code (--coverage,
-fsanitize) do not make it miss OpenMP.  Each case builds a copy of the sources
(a few seconds)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")

# a compiler that refuses -fopenmp, as one without OpenMP support does
NO_OPENMP_CC = """#!/bin/sh
for arg in "$@"; do
    if [ "$arg" = -fopenmp ]; then echo "cc: no OpenMP" >&2; exit 1; fi
done
exec "${SX_REAL_CC:-cc}" "$@"
"""

CHECK = """
import numpy as np
import sigmax
from sigmax import _core
assert not _core.has_openmp()
rng = np.random.default_rng(0)
X = rng.standard_normal((3000, 50))
y = rng.integers(0, 4, size=3000)
W = 0.1 * rng.standard_normal((4, 50))
b = np.zeros(4)
one = sigmax.loss_grad(X, y, W, b, n_jobs=1)
two = sigmax.loss_grad(X, y, W, b, n_jobs=2)
assert one[0] == two[0] and (one[1] == two[1]).all() and (one[2] == two[2]).all()
model = sigmax.SoftmaxRegression(n_jobs=-1, max_iter=5).fit(X, y)
assert model.predict_proba(X).shape == (3000, 4)
print("ok")
"""


def _copy_sources(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("csrc", "python"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    return src


def _build(src: Path, env: dict, succeeds: bool = True) -> str:
    """Builds the extension in place in src; its stderr."""
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                          cwd=src, env=env, capture_output=True, text=True)
    assert (proc.returncode == 0) == succeeds, proc.stdout + proc.stderr
    return proc.stderr


@pytest.mark.skipif(not LINUX, reason="OpenMP is used by Linux builds only")
@pytest.mark.parametrize("how", ["SIGMAX_OPENMP=0", "compiler without OpenMP"])
def test_builds_and_runs_without_openmp(tmp_path, how):
    """SIGMAX_OPENMP=0 after a threaded build of the same tree rebuilds (the
    sources have not changed, so the old build looked up to date), also after
    a build of that choice that failed."""
    env = dict(os.environ)
    env.pop("SIGMAX_OPENMP", None)  # the caller's (tools/clang.sh's single-thread run sets it)
    src = _copy_sources(tmp_path)
    if how == "SIGMAX_OPENMP=0":
        _build(src, env)
        env["SIGMAX_OPENMP"] = "0"
        _build(src, dict(env, CC="false", LDSHARED="false -shared"), succeeds=False)
        _build(src, env)
    else:
        cc = tmp_path / "cc"
        cc.write_text(NO_OPENMP_CC)
        cc.chmod(0o755)
        real = (sysconfig.get_config_var("CC") or "cc").split()[0]
        env.update(SX_REAL_CC=real, CC=str(cc), LDSHARED=f"{cc} -shared")
        assert "building without threads" in _build(src, env)
    run_env = dict(os.environ, PYTHONPATH=str(src / "python"))
    proc = subprocess.run([sys.executable, "-c", CHECK], env=run_env, capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


@pytest.mark.skipif(not LINUX, reason="OpenMP is used by Linux builds only")
def test_openmp_is_found_with_instrumenting_flags(tmp_path):
    """With CFLAGS and LDFLAGS that instrument the code (--coverage here; the
    tools' -fsanitize=address likewise), whose objects need a runtime library
    at link time, the build still finds OpenMP: tools/sanitize.sh would
    otherwise check only the single-thread kernels."""
    src = _copy_sources(tmp_path)
    env = dict(os.environ, CFLAGS="--coverage", LDFLAGS="--coverage")
    env.pop("SIGMAX_OPENMP", None)
    assert "building without threads" not in _build(src, env)
    run_env = dict(os.environ, PYTHONPATH=str(src / "python"))
    proc = subprocess.run([sys.executable, "-c", "import sigmax._core as c; print(c.has_openmp())"],
                          cwd=tmp_path, env=run_env, capture_output=True, text=True)
    assert proc.stdout.strip() == "True", proc.stdout + proc.stderr


def _test_imports() -> set:
    """The top-level modules tests/*.py import from the tests directory."""
    import ast

    local = {p.stem for p in (ROOT / "tests").glob("*.py")}
    found = set()
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found & local


def test_source_distribution_holds_the_sources_license_and_tests(tmp_path):
    """pip builds from the sdist off a checkout: every C source and header the
    extension compiles, the typing files, the license, and the test suite with
    the helper modules its tests import must be in it."""
    src = _copy_sources(tmp_path)
    for name in ("LICENSE", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "tests", src / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")],
                          cwd=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (archive,) = (tmp_path / "dist").glob("sigmax-*.tar.gz")
    import tarfile

    with tarfile.open(archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    wanted = {f"csrc/{p.name}" for p in (ROOT / "csrc").iterdir()}
    wanted |= {"LICENSE", "README.md", "pyproject.toml", "setup.py",
               "python/sigmax/py.typed", "python/sigmax/_core.pyi"}
    wanted |= {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}
    wanted |= {f"tests/{module}.py" for module in _test_imports()}
    assert {"tests/marks.py", "tests/reference.py"} <= wanted  # the helpers are seen
    assert sorted(wanted - names) == []
