#!/usr/bin/env bash
# tools/valgrind.sh: the kernels' tests under valgrind memcheck.
#
# Checks sigmax._core (csrc/) for invalid reads/writes, use of uninitialised
# memory, bad frees and *definitely lost* memory (leaks), with an ordinary
# uninstrumented build (-O1 -g; every instruction set's kernels are built, and
# valgrind hides AVX-512 from the program, so the AVX2 ones run).  The extension is built from
# a copy of the sources in a temporary directory and the checkout's tests run
# against it under
#     PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=1
#         --errors-for-leak-kinds=definite --leak-check=full
#         --suppressions=tools/valgrind-python.supp
# PYTHONMALLOC=malloc sends every Python object through malloc, so memcheck
# sees them; the suppressions silence CPython's / numpy's / glibc's own noise
# (see the file).  The selection (about 900 tests, ~4 minutes) is:
#   tests/test_worked_examples.py        all
#   tests/test_reference.py              all but the hypothesis property tests
#   tests/test_gradients.py              the sample_weight+alpha variants
#   tests/test_estimators.py             all (sgd_epoch, lbfgs, forward, activate)
# The python-side (hypothesis) tests are left out: thousands of examples would
# take hours under valgrind and add no new C paths.
#
# Usage:
#   tools/valgrind.sh                    # the selection above
#   tools/valgrind.sh TESTS... [ARGS]    # test files or directories instead of it
#   tools/valgrind.sh -k NAME            # options alone go with the selection
#   tools/valgrind.sh --self-test        # plants a leak and an out-of-bounds read
#                                        # in a copy of the sources; exits 0 only
#                                        # if both are reported
# Extra valgrind options: VALGRIND_OPTS="--track-origins=yes" tools/valgrind.sh
# Exit status: 0 = tests passed, no unsuppressed memcheck error, no definite leak;
# 2 = the build has no OpenMP threads (see sx_require_openmp in _common.sh);
# 1 otherwise.  The summary reports "definitely lost" bytes attributable to
# sigmax (a frame in csrc/ or _core*.so in the allocation stack) separately.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
SUPP=$SX_REPO/tools/valgrind-python.supp
TOOLS=$SX_REPO/tools

if [ "${1:-}" = --self-test ]; then
    sx_selftest_dir
    tmp=$SX_SELFTEST copy=$SX_SELFTEST/src
    sx_copy_sources "$copy"
    "$SX_PYTHON" - "$copy/csrc/module.c" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
# 1. a leak: core_activate mallocs 1000 bytes per call and drops the pointer
#    (the volatile store keeps the compiler from removing the malloc)
anchor = "    const sx_view zv = view_of(Z);\n"
assert src.count(anchor) == 1, "self-test: activate anchor not found"
src = src.replace(anchor, "    { static void *volatile sx_sink; sx_sink = malloc(1000); sx_sink = NULL; }"
                  "  /* PLANTED BUG: leak */\n" + anchor)
# 2. an out-of-bounds read: core_loss_grad reads one double past its gradient buffer
anchor = "    sx_accum acc = {0.0, 0.0, grad, grad ? grad + k * m : NULL};\n"
assert src.count(anchor) == 1, "self-test: loss_grad anchor not found"
src = src.replace(anchor, "    volatile double sx_planted = grad ? grad[k * m + k] : 0.0;"
                  "  /* PLANTED BUG: read past the end */\n    (void)sx_planted;\n" + anchor)
open(path, "w").write(src)
PY
    sx_log "self-test: planted in a copy of module.c:"
    grep -n 'PLANTED BUG' "$copy/csrc/module.c" >&2
    set +e
    # TMPDIR=$tmp: the failing run's kept log goes into $tmp too, and is removed
    SX_SOURCE_DIR=$copy TMPDIR=$tmp "${BASH_SOURCE[0]}" "$SX_REPO/tests/test_worked_examples.py" \
        > "$tmp/run.log" 2>&1
    rc=$?
    set -e
    sed -n '/== valgrind.sh summary ==/,$p' "$tmp/run.log" >&2
    if [ $rc -ne 0 ] && grep -q 'Invalid read of size 8' "$tmp/run.log" \
        && grep -Eq 'definitely lost attributable to sigmax: +[1-9]' "$tmp/run.log"; then
        sx_log "self-test OK: the script failed (exit $rc) and reported the planted leak and read"
        exit 0
    fi
    sx_log "self-test FAILED (exit $rc): the planted bugs were not both reported"
    tail -40 "$tmp/run.log" >&2
    exit 1
fi

start=$SECONDS
sx_make_work valgrind
sx_build -O1 "-g"
sx_require_openmp

sx_test_selection "$SX_REPO/tests/test_worked_examples.py" "$SX_REPO/tests/test_reference.py" \
    "$SX_REPO/tests/test_gradients.py" "$SX_REPO/tests/test_estimators.py" \
    -k "not property and not (finite_differences and not sample_weight+alpha) \
and not (single_sigmoid and not sample_weight+alpha)" -- "$@"
set -- "${SX_ARGS[@]}"

log=$SX_WORK/valgrind.log
sx_log "running pytest under valgrind (log: $log): $*"
set +e
PYTHONMALLOC=malloc sx_pytest \
    valgrind --tool=memcheck --error-exitcode=1 --errors-for-leak-kinds=definite \
        --leak-check=full --show-leak-kinds=definite --num-callers=24 \
        --suppressions="$SUPP" --log-file="$log" ${VALGRIND_OPTS:-} \
    -- -q "$@" 2>&1 | tee "$SX_WORK/pytest.log"
rc=${PIPESTATUS[0]}
set -e

echo
echo "== valgrind.sh summary =="
summary=$(grep -E ' in [0-9.]+s' "$SX_WORK/pytest.log" | tail -1 | tr -d '=' || true)
echo "pytest under valgrind: ${summary:-no summary (the process died)}"
echo "exit status (pytest, or 1 = valgrind errors): $rc"
set +e
"$SX_PYTHON" "$TOOLS/vg_report.py" "$log"
report_rc=$?
set -e
echo "runtime: $((SECONDS - start)) s"

if [ "$rc" -ne 0 ] || [ "$report_rc" -ne 0 ]; then
    kept=${TMPDIR:-/tmp}/sigmax-valgrind-$(date +%Y%m%d-%H%M%S).log
    cp "$log" "$kept"
    echo "FAILED: test failures, memcheck errors or definite leaks; full valgrind log: $kept"
    exit 1
fi
echo "OK: no memcheck errors, no definite leaks"
