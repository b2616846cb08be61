#!/usr/bin/env bash
# tools/clang.sh: sigmax's tests on a build of sigmax._core made by Clang.
#
# The build on Linux uses the compiler Python was built with, usually GCC;
# CC=clang selects Clang, and macOS builds with it (without OpenMP: setup.py
# asks for OpenMP on Linux only).  Clang handles the kernels' instruction-set
# regions differently: GCC compiles each kernels_<set>.c under
# `#pragma GCC target`, Clang under `#pragma clang attribute push`, which does
# not reach the functions Clang makes of OpenMP parallel regions, and it reads
# the loop pragmas its own way.  This script builds sigmax._core with Clang and
# OpenMP (Debian: clang and libomp-dev), fails on any compiler warning, and
# runs the tests of tools/sanitize.sh on that build: all of tests/ except the
# MNIST training, the notebooks and the benchmarks (-m "not slow").  With
# SIGMAX_OPENMP=0 it checks the single-thread build (macOS's) instead.  The
# in-place build in python/sigmax is never touched.
#
# Usage:
#   tools/clang.sh                  # the selection (about 2 minutes)
#   tools/clang.sh -k loss_grad     # extra arguments go to pytest, as in tools/sanitize.sh
#   SIGMAX_OPENMP=0 tools/clang.sh  # the single-thread build
#   SX_CLANG=clang-14 tools/clang.sh   # the compiler (default clang)
#   SX_PYTHON=.venv/bin/python tools/clang.sh   # the interpreter (numpy, pytest,
#                                   # hypothesis, setuptools>=77; default python3)
# Exit status: 0 = the Clang build had no warnings and the tests passed (with
# OpenMP threads unless SIGMAX_OPENMP=0); 1 = the build failed or warned;
# 2 = no Clang, or a build without OpenMP threads or that cannot be imported;
# otherwise pytest's own status (1 = failed tests, 5 = none selected, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

SX_CC=${SX_CLANG:-clang}
if ! command -v "$SX_CC" > /dev/null; then
    sx_log "no '$SX_CC' on PATH (Debian: apt-get install clang libomp-dev)"
    exit 2
fi
start=$SECONDS
sx_make_work clang
sx_build -O3 ""
sx_require_openmp
if grep -q -E ': warning:' "$SX_WORK/build.log"; then
    sx_log "$SX_CC warned (above): fix the warnings"
    exit 1
fi
sx_log "$("$SX_CC" --version | head -1): no warnings"

sx_run_kernel_tests "the Clang build" "$start" "$@"
