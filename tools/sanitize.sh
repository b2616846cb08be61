#!/usr/bin/env bash
# tools/sanitize.sh: sigmax's test suite against an ASan + UBSan build of sigmax._core.
#
# Checks the C extension (csrc/) for memory errors (heap/stack/global buffer
# overflows, use after free, double free: AddressSanitizer) and undefined
# behaviour (signed integer overflow, bad shifts, misaligned or null pointer
# accesses, out-of-bounds indexing of fixed-size arrays, invalid bool/enum
# values, ...: UndefinedBehaviorSanitizer; GCC's -fsanitize=undefined does not
# include float-cast-overflow) on every path the tests exercise.
# Blind spots: an overrun that stays inside a malloc'ed block (the up-to-63-byte
# alignment slack of sx_aligned_alloc in kernels.c) or inside the parent array
# of a strided view is invisible to ASan (and to valgrind).  The extension is built from a copy of the sources in a
# temporary directory with
#     -fsanitize=address,undefined -fno-omit-frame-pointer
#     -fno-sanitize-recover=undefined -O1 -g
# and the checkout's tests run against it: all of tests/ except the slow MNIST
# training, the notebooks and the benchmarks (test_mnist.py, test_notebooks.py,
# test_benchmarks.py, -m "not slow").
# The in-place build in python/sigmax is never touched.
#
# Usage:
#   tools/sanitize.sh                 # the whole selection (2-3 minutes)
#   tools/sanitize.sh -k loss_grad    # extra arguments go to pytest: options alone
#                                     # narrow the selection; test files or
#                                     # directories replace it
#   tools/sanitize.sh --self-test     # plants a heap overflow, then a signed
#                                     # overflow, in copies of the sources; exits 0
#                                     # only if both runs fail with the report
#   SX_SOURCE_DIR=/path/to/copy tools/sanitize.sh   # check another source tree
# Exit status: 0 = tests passed and no sanitizer report; 2 = the build is not
# instrumented or has no OpenMP threads (see sx_require_openmp in _common.sh);
# 1 otherwise (the reports, with stack traces, are printed at the end).
#
# Runtime notes:
# * CPython itself is not instrumented, so the ASan runtime must be the first
#   library loaded: LD_PRELOAD=$(gcc -print-file-name=libasan.so) (plus
#   libstdc++, see below).
# * ASAN_OPTIONS=detect_leaks=0: LeakSanitizer would report everything CPython
#   deliberately never frees at exit (interned strings, static types, module
#   state, the numpy/hypothesis caches), drowning any real leak.  Leaks are
#   checked by tools/valgrind.sh (definitely lost, attributed to sigmax) and by
#   tests/test_leaks.py (RSS / refcounts / tracemalloc over thousands of calls).
# * PYTHONMALLOC=malloc: Python objects come from malloc instead of pymalloc's
#   arenas, so ASan also sees overflows into Python-allocated memory.
# * pytest normally captures fd 2 per test, and a fatal report would die with
#   the capture.  So ASan writes its reports to files (log_path), and pytest runs
#   with --capture=sys (Python-level capture only) because GCC's UBSan runtime
#   ignores log_path when combined with ASan and always writes to fd 2; its
#   reports are found in the tee'd pytest log.  abort_on_error=1 makes Python's
#   faulthandler print the Python stack (the test that was running).
# * Every instruction set's kernels (csrc/kernels_<isa>.c) are instrumented; the
#   tests run the best one the CPU has, and tests/test_isa.py runs each of the
#   others it can against the reference too.  To run the whole suite on the
#   baseline kernels, add SIGMAX_ISA=baseline to the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g"
OPT=-O1

# --self-test: plant one bug of each kind in a copy of the sources (never in
# csrc/) and check that a run of this script on that copy fails with the
# matching report.  The copies live in a temporary directory that is removed.
if [ "${1:-}" = --self-test ]; then
    sx_selftest_dir
    tmp=$SX_SELFTEST
    status=0
    for kind in asan ubsan; do
        copy=$tmp/$kind
        sx_copy_sources "$copy"
        "$SX_PYTHON" - "$copy/csrc/module.c" "$kind" <<'PY'
import sys
path, kind = sys.argv[1:]
src = open(path).read()
if kind == "asan":   # core_loss_grad writes one double past its calloc'ed gradient buffer
    anchor = "    sx_accum acc = {0.0, 0.0, grad, grad ? grad + k * m : NULL};\n"
    bug = "    if (grad) { grad[k * m + k] = 0.0; }  /* PLANTED BUG: one past the end */\n"
else:                # core_activate overflows a signed int
    anchor = "    const sx_view zv = view_of(Z);\n"
    bug = ("    { volatile int big = 2147483647; big = big + (int)PyArray_DIM(Z, 1); (void)big; }"
           "  /* PLANTED BUG: signed overflow */\n")
assert src.count(anchor) == 1, f"self-test: anchor for {kind} not found in module.c"
open(path, "w").write(src.replace(anchor, bug + anchor))
PY
        sx_log "self-test ($kind): planted in a copy: $(grep -n 'PLANTED BUG' "$copy/csrc/module.c")"
        set +e
        SX_SOURCE_DIR=$copy "${BASH_SOURCE[0]}" "$SX_REPO/tests/test_worked_examples.py" > "$tmp/$kind.log" 2>&1
        rc=$?
        set -e
        pattern=$([ $kind = asan ] && echo 'ERROR: AddressSanitizer: heap-buffer-overflow' \
                  || echo 'runtime error: signed integer overflow')
        if [ $rc -ne 0 ] && grep -q "$pattern" "$tmp/$kind.log"; then
            sx_log "self-test ($kind): OK, the script failed (exit $rc) with:"
            grep -m1 -E 'SUMMARY: AddressSanitizer|runtime error:' "$tmp/$kind.log" >&2
        else
            sx_log "self-test ($kind): FAILED, the planted bug went unnoticed (exit $rc):"
            tail -20 "$tmp/$kind.log" >&2
            status=1
        fi
    done
    exit $status
fi

start=$SECONDS
sx_make_work asan

# libstdc++ is preloaded too: ASan intercepts __cxa_throw and must find the real
# one at start-up, or the first C++ exception in a C++ extension loaded later
# (matplotlib's ft2font, for one) aborts with "CHECK failed ... real___cxa_throw".
ASAN_RT="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"

sx_build "$OPT" "$SAN_FLAGS"
# (grep -q would close the pipe early: under pipefail, nm's SIGPIPE then failed the check)
grep -q __asan_report <<<"$(nm -D "$SX_CORE")" || { sx_log "the build is not instrumented"; exit 2; }
sx_require_openmp LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS=detect_leaks=0

sx_kernel_selection "$@"
set -- "${SX_ARGS[@]}"

reports=$SX_WORK/reports
mkdir -p "$reports"
sx_log "running pytest under ASan/UBSan: $*"
set +e
LD_PRELOAD=$ASAN_RT \
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$reports/asan:print_summary=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1" \
PYTHONMALLOC=malloc \
    sx_pytest -- -q --capture=sys "$@" 2>&1 | tee "$SX_WORK/pytest.log"
rc=${PIPESTATUS[0]}
set -e

n_reports=0
for f in "$reports"/*; do
    [ -e "$f" ] || continue
    n_reports=$((n_reports + 1))
    echo "===== sanitizer report: $(basename "$f") ====="
    cat "$f"
done
n_asan=$(cat "$reports"/* 2>/dev/null | grep -c 'ERROR: AddressSanitizer' || true)
n_ubsan=$(grep -c 'runtime error:' "$SX_WORK/pytest.log" || true)
if [ "$n_ubsan" -ne 0 ]; then
    echo "===== UBSan reports (from the pytest log) ====="
    grep -A12 'runtime error:' "$SX_WORK/pytest.log"
fi

echo
echo "== sanitize.sh summary =="
summary=$(grep -E ' in [0-9.]+s' "$SX_WORK/pytest.log" | tail -1 | tr -d '=' || true)
echo "pytest:        ${summary:-no summary (the process died)}"
echo "pytest status: $rc"
echo "ASan errors:   $n_asan"
echo "UBSan errors:  $n_ubsan"
echo "ASan report files: $n_reports"
echo "runtime:       $((SECONDS - start)) s"

if [ "$rc" -ne 0 ] || [ "$n_reports" -ne 0 ] || [ "$n_ubsan" -ne 0 ]; then
    echo "FAILED: test failures or sanitizer reports (see above)"
    exit 1
fi
echo "OK: no sanitizer reports"
