#!/usr/bin/env bash
# tools/avx512_on_avx2.sh: sigmax's tests on the AVX-512 kernels, on a CPU without AVX-512.
#
# sigmax compiles its kernels once per instruction set and runs the best one
# the CPU has, so on a machine without AVX-512 the normal test suite never runs
# the AVX-512 kernels (64-byte vectors: 16 float32 lanes, 4-row logits tiles,
# 4-vector gradient tiles, their remainders).  This script builds
# sigmax._core from a copy of the sources with -DSX_AVX512_ON_AVX2: the same
# AVX-512 kernel code is compiled for AVX2 and FMA, the compiler splitting each
# 64-byte vector operation into two 32-byte ones (see csrc/kernels_avx512.c),
# and those kernels are then the best set, used by every test.  What it checks
# is the kernels' logic (tiles, lane sums, remainders, threads), not the
# AVX-512 instructions' encoding.  The build is slow and never a release build.
#
# The tests are those of tools/sanitize.sh: all of tests/ except the MNIST
# training, the notebooks and the benchmarks (-m "not slow").  The in-place
# build in python/sigmax is never touched.
#
# Usage:
#   tools/avx512_on_avx2.sh                 # the selection (about 1-2 minutes)
#   tools/avx512_on_avx2.sh -k loss_grad    # extra arguments go to pytest: options alone
#                                           # narrow the selection; test files or
#                                           # directories replace it
#   tools/avx512_on_avx2.sh --self-test     # plants a bug that only 16-lane vectors
#                                           # see in a copy of the sources; exits 0 only
#                                           # if the run on that copy fails
#   SX_PYTHON=.venv/bin/python tools/avx512_on_avx2.sh   # the interpreter (numpy, pytest,
#                                           # hypothesis, setuptools>=77; default python3)
# Exit status: 0 = the AVX-512 kernels were in use and the tests passed; 2 = the
# build runs other kernels or has no OpenMP threads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

if [ "${1:-}" = --self-test ]; then
    sx_selftest_dir
    tmp=$SX_SELFTEST copy=$SX_SELFTEST/src
    sx_copy_sources "$copy"
    # the lane sums of 16-lane vectors (float32 in 64-byte vectors) read lane 14 for lane 15
    "$SX_PYTHON" - "$copy/csrc/kernels_impl.h" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
anchor = "        F(13, h, V), F(14, h, V), F(15, h, V)\n"
assert src.count(anchor) == 1, "self-test: the 16-lane shuffle mask was not found"
open(path, "w").write(src.replace(anchor, "        F(13, h, V), F(14, h, V), F(14, h, V) /* PLANTED BUG */\n"))
PY
    sx_log "self-test: planted in a copy: $(grep -n 'PLANTED BUG' "$copy/csrc/kernels_impl.h")"
    set +e
    SX_SOURCE_DIR=$copy "${BASH_SOURCE[0]}" "$SX_REPO/tests/test_isa.py" -x > "$tmp/run.log" 2>&1
    rc=$?
    set -e
    if [ $rc -ne 0 ] && grep -q -E '^FAILED|[0-9]+ failed' "$tmp/run.log"; then
        sx_log "self-test: OK, the run on the copy failed (exit $rc):"
        grep -m1 -E '^FAILED' "$tmp/run.log" >&2 || true
        exit 0
    fi
    sx_log "self-test: FAILED, the planted bug went unnoticed (exit $rc):"
    tail -20 "$tmp/run.log" >&2
    exit 1
fi

start=$SECONDS
unset SIGMAX_ISA  # the best set, avx512, for every test (test_isa selects the others itself)
sx_make_work avx512
sx_build -O2 "-DSX_AVX512_ON_AVX2"
in_use=$(cd "$SX_WORK/run" && PYTHONPATH="$SX_WORK/lib" "$SX_PYTHON" -c \
    "import sigmax._core as c; print(c.isa())")
if [ "$in_use" != avx512 ]; then
    sx_log "the build runs the '$in_use' kernels, not avx512 (does this CPU have AVX2 and FMA?)"
    exit 2
fi
sx_require_openmp

sx_run_kernel_tests "the avx512 kernels (compiled for AVX2)" "$start" "$@"
