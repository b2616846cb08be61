"""tools/vg_report.py, which sorts valgrind's reports for tools/valgrind.sh
into sigmax's and the other libraries', sees a frame in any of csrc/'s files
as sigmax's: a report whose stack was all in a file it did not know was
summarized as another library's, and not printed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VG_REPORT = ROOT / "tools" / "vg_report.py"


@pytest.fixture(scope="module")
def vg_report():
    if not VG_REPORT.is_file():  # a source distribution holds no tools/
        pytest.skip("tools/vg_report.py is not in this tree")
    spec = importlib.util.spec_from_file_location("vg_report", VG_REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_c_source_is_a_sigmax_frame(vg_report):
    names = sorted(p.name for p in (ROOT / "csrc").iterdir() if p.suffix in (".c", ".h"))
    assert "linalg.c" in names and "kernels_avx2.c" in names
    missed = [name for name in names
              if not vg_report.SIGMAX_FRAME.search(f"   by 0x4F1A2B3: sx_f ({name}:123)")]
    assert missed == []
    for other in ("(obmalloc.c:123)", "(multiarraymodule.c:45)", "(malloc.c:7)"):
        assert not vg_report.SIGMAX_FRAME.search(f"   by 0x4F1A2B3: f {other}")


def test_a_leak_in_a_kernel_file_fails_the_report(vg_report, tmp_path, capsys):
    log = tmp_path / "valgrind.log"
    log.write_text(
        "==7== 64 bytes in 1 blocks are definitely lost in loss record 1 of 9\n"
        "==7==    at 0x48407B4: malloc (vg_replace_malloc.c:381)\n"
        "==7==    by 0x5A1B2C3: sx_aligned_alloc (kernels.c:40)\n"
        "==7==    by 0x5A1B400: sx_gemm_avx2 (kernels_avx2.c:88)\n"
        "==7== \n"
        "==7== 32 bytes in 1 blocks are definitely lost in loss record 2 of 9\n"
        "==7==    at 0x48407B4: malloc (vg_replace_malloc.c:381)\n"
        "==7==    by 0x5A1B500: sx_cholesky (linalg.c:120)\n"
        "==7== \n")
    assert vg_report.main(str(log)) == 1
    assert "definitely lost attributable to sigmax:  96 bytes in 2 loss records" in capsys.readouterr().out
