# Shared helpers for the scripts of tools/ (sanitize.sh, valgrind.sh,
# avx512_on_avx2.sh, clang.sh; sourced, not run).
#
# Each script builds sigmax._core from a *copy* of the checkout into a fresh
# temporary directory and run the checkout's tests against that build; nothing
# is written into the checkout (no in-place build in python/sigmax, no build/,
# no __pycache__, .pytest_cache or .hypothesis).
#
# Layout of the work directory $SX_WORK:
#   src/   copy of csrc/, setup.py, pyproject.toml, README.md, LICENSE and python/
#          (no .so; pyproject.toml names README.md and LICENSE, and setuptools
#          warns that builds without the latter will fail)
#   lib/   the importable package: lib/sigmax/*.py + the freshly built _core*.so
#   obj/   object files;  bin/cc  the compiler wrapper;  run/  pytest's cwd
#
# Environment knobs (all optional):
#   SX_PYTHON      interpreter with numpy, pytest, hypothesis and setuptools>=77 (default
#                  python3: the active virtual environment's)
#   SX_SOURCE_DIR  tree to copy the sources from (default: this checkout); used to
#                  check that a script catches a bug planted in a copy
#   SX_KEEP_WORK=1 keep the work directory (its path is printed)
#   SX_EXTRA_CFLAGS extra compiler flags, e.g. -DSX_NO_MULTIVERSION to build only
#                  the baseline (SSE2) kernels instead of one set per instruction set

SX_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SX_PYTHON=${SX_PYTHON:-python3}
SX_SOURCE_DIR=${SX_SOURCE_DIR:-$SX_REPO}

sx_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# sx_tmp_base: the directory the work directories go in, ${TMPDIR:-/tmp}; exits 2
# if its path holds whitespace, which the build cannot carry: setuptools splits
# $CC (the wrapper $SX_WORK/bin/cc) on it, so the OpenMP probe failed, reported
# as a compiler without OpenMP, and then the build.
sx_tmp_base() {
    local base=${TMPDIR:-/tmp}
    case "$base" in
        *[[:space:]]*)
            sx_log "the temporary directory '$base' (\$TMPDIR) has whitespace in its path, which" \
                "the build's compiler command cannot hold; set TMPDIR to a directory whose" \
                "path has none (TMPDIR=/tmp, say)"
            exit 2 ;;
    esac
    printf '%s\n' "$base"
}

# sx_make_work NAME: creates $SX_WORK, removed on exit unless SX_KEEP_WORK=1.
sx_make_work() {
    local base
    base=$(sx_tmp_base) || exit 2
    SX_WORK=$(mktemp -d "$base/sigmax-$1.XXXXXX")
    mkdir -p "$SX_WORK"/{src,lib,obj,bin,run}
    if [ "${SX_KEEP_WORK:-0}" = 1 ]; then
        sx_log "work directory (kept): $SX_WORK"
    else
        trap 'rm -rf "$SX_WORK"' EXIT
    fi
}

# sx_selftest_dir: for a script's --self-test, a temporary directory $SX_SELFTEST
# (removed on exit) in which sx_copy_sources makes copies to plant bugs in.
sx_selftest_dir() {
    local base
    base=$(sx_tmp_base) || exit 2
    SX_SELFTEST=$(mktemp -d "$base/sigmax-selftest.XXXXXX")
    trap 'rm -rf "$SX_SELFTEST"' EXIT
}

# sx_copy_sources DIR: a copy of the checkout's sources (csrc/, python/, setup.py,
# pyproject.toml, README.md, LICENSE) in DIR, for SX_SOURCE_DIR.
sx_copy_sources() {
    mkdir -p "$1"
    cp -r "$SX_REPO/csrc" "$SX_REPO/python" "$SX_REPO/setup.py" "$SX_REPO/pyproject.toml" \
        "$SX_REPO/README.md" "$SX_REPO/LICENSE" "$1/"
}

# sx_build OPT "FLAGS": copy the sources and build the extension into $SX_WORK/lib
# with CFLAGS=LDFLAGS="OPT FLAGS".
#
# setup.py passes its own -O3 in extra_compile_args, which gcc sees *after*
# $CFLAGS (and the last -O wins), so CC is a wrapper that re-appends OPT at the
# very end of every compile/link command.  The flags really used are printed
# from the DWARF producer string of the built module.
sx_build() {
    local opt=$1 flags="$2 ${SX_EXTRA_CFLAGS:-}"
    local src=$SX_WORK/src
    cp -r "$SX_SOURCE_DIR/csrc" "$SX_SOURCE_DIR/setup.py" "$SX_SOURCE_DIR/pyproject.toml" "$src/"
    local name
    for name in README.md LICENSE; do  # pyproject.toml's readme and license-files
        if [ -f "$SX_SOURCE_DIR/$name" ]; then cp "$SX_SOURCE_DIR/$name" "$src/"; fi
    done
    mkdir -p "$src/python"
    # the package's Python files, without any in-place built extension or bytecode
    (cd "$SX_SOURCE_DIR/python" && find sigmax -type f ! -name '*.so' ! -name '*.pyd' \
        ! -path '*/__pycache__/*' -exec cp --parents {} "$src/python/" \;)
    cp -r "$src/python/sigmax" "$SX_WORK/lib/"

    cat > "$SX_WORK/bin/cc" <<WRAP
#!/bin/sh
exec ${SX_CC:-gcc} "\$@" $opt
WRAP
    chmod +x "$SX_WORK/bin/cc"

    sx_log "building sigmax._core with: $opt $flags"
    (cd "$src" && CC="$SX_WORK/bin/cc" CFLAGS="$opt $flags" LDFLAGS="$opt $flags" \
        "$SX_PYTHON" setup.py -q build_ext --build-lib "$SX_WORK/lib" \
        --build-temp "$SX_WORK/obj") > "$SX_WORK/build.log" 2>&1 || {
        cat "$SX_WORK/build.log" >&2
        sx_log "build FAILED"
        return 1
    }
    grep -E ': (warning|error):' "$SX_WORK/build.log" >&2 || true   # compiler diagnostics only
    SX_CORE=$(ls "$SX_WORK"/lib/sigmax/_core*.so)
    sx_log "built $SX_CORE"
    readelf --debug-dump=info "$SX_CORE" 2>/dev/null | grep -m1 -o 'DW_AT_producer.*' \
        | sed 's/^/    compiled as: /' >&2 || true

    # pytest plugin: refuse to run unless sigmax._core is the build above
    cat > "$SX_WORK/lib/sx_build_guard.py" <<'PY'
import os

import pytest


def pytest_report_header(config):
    import sigmax._core
    return f"sigmax._core under test: {sigmax._core.__file__}"


def pytest_sessionstart(session):
    import sigmax._core
    expected = os.path.realpath(os.environ["SX_EXPECT_LIB"])
    got = os.path.realpath(sigmax._core.__file__)
    if not got.startswith(expected + os.sep):
        raise pytest.UsageError(f"sigmax._core comes from {got}, not from the build in {expected}")
PY
}

# sx_require_openmp [NAME=VALUE...]: exit 2 unless the build in $SX_WORK/lib has
# OpenMP threads (sigmax._core.has_openmp()).  setup.py falls back to a
# single-thread build, with only a line in the build log, when the probe for
# OpenMP fails; the threaded code would then go unchecked while the run reports
# OK.  NAME=VALUE are set for the import (an ASan build needs its runtime
# preloaded).  SIGMAX_OPENMP=0 in the environment asks for the single-thread
# build: the check is skipped.
sx_require_openmp() {
    if [ "${SIGMAX_OPENMP:-}" = 0 ]; then
        sx_log "SIGMAX_OPENMP=0: checking the single-thread build"
        return 0
    fi
    local has
    has=$(cd "$SX_WORK/run" && env "$@" PYTHONPATH="$SX_WORK/lib" PYTHONDONTWRITEBYTECODE=1 \
        "$SX_PYTHON" -c "import sigmax._core as c; print(c.has_openmp())") || {
        sx_log "the build cannot be imported"
        exit 2
    }
    if [ "$has" != True ]; then
        sx_log "the build has no OpenMP threads (has_openmp() is $has): the threaded code would go" \
            "unchecked; the build log says:"
        grep -E 'OpenMP|openmp_check' "$SX_WORK/build.log" >&2 || true
        exit 2
    fi
    sx_log "the build has OpenMP threads"
}

# sx_test_selection DEFAULT... -- ARG...: sets SX_ARGS, the pytest arguments a
# script was given (ARG), for sx_pytest, which runs pytest in $SX_WORK/run.
# Each ARG naming an existing path from the caller's directory (a file, a
# directory, a test id file::name, or the value of an option such as --ignore)
# is made absolute, except --deselect's test ids, which pytest reads from the
# repository's root; --option=VALUE and -kEXPR are read as two arguments.  When no ARG names tests (a path that is not an option's
# value), the script's default selection DEFAULT comes first and the options
# narrow it: a -k expression is joined to the default's with "and", while a
# -m, coming last, replaces the default's (pytest keeps the last of each).
sx_test_selection() {
    local defaults=() given=() has_tests=0 arg previous="" option default_k="" given_k=""
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ "$1" = -k ]; then default_k=$2; shift 2; continue; fi
        defaults+=("$1"); shift
    done
    shift
    local split=()  # --option=VALUE and -kEXPR as two arguments each
    for arg in "$@"; do
        case "$arg" in
            --*=*) split+=("${arg%%=*}" "${arg#*=}") ;;
            -k?*) split+=(-k "${arg#-k}") ;;
            *) split+=("$arg") ;;
        esac
    done
    for arg in "${split[@]}"; do
        option=$previous
        previous=""
        if [ "$option" = -k ]; then given_k=$arg; continue; fi
        if [ "$option" = --deselect ]; then  # a test id from the repository's root, as given
            given+=("$arg")
            continue
        fi
        case "$arg" in
            -k) previous=$arg; continue ;;
            -m|-p|-o|-c|-W|-n|-r|--deselect|--ignore|--ignore-glob|--basetemp|--rootdir| \
            --confcutdir|--junitxml|--maxfail|--tb|--durations) previous=$arg ;;
        esac
        if [ "${arg#-}" = "$arg" ] && [ -e "${arg%%::*}" ]; then
            case "$arg" in /*) ;; *) arg="$PWD/$arg" ;; esac
            [ -n "$option" ] || has_tests=1
        fi
        given+=("$arg")
    done
    if [ $has_tests -eq 1 ]; then
        SX_ARGS=("${given[@]}")
        default_k=""
    else
        SX_ARGS=("${defaults[@]}" "${given[@]}")
    fi
    if [ -n "$default_k" ] && [ -n "$given_k" ]; then
        SX_ARGS+=(-k "($default_k) and ($given_k)")
    elif [ -n "$default_k$given_k" ]; then
        SX_ARGS+=(-k "$default_k$given_k")
    fi
}

# sx_kernel_selection ARG...: sx_test_selection with the default selection of
# sanitize.sh, avx512_on_avx2.sh and clang.sh: all of tests/ except the MNIST
# training, the notebooks and the benchmarks (-m "not slow").
sx_kernel_selection() {
    sx_test_selection "$SX_REPO/tests" \
        --ignore "$SX_REPO/tests/test_mnist.py" --ignore "$SX_REPO/tests/test_notebooks.py" \
        --ignore "$SX_REPO/tests/test_benchmarks.py" -m "not slow" -- "$@"
}

# sx_run_kernel_tests WHAT START ARG...: pytest on the build, on sx_kernel_selection's
# selection narrowed or replaced by ARG (the script's own arguments), logged as run on
# WHAT with the time since START (a $SECONDS); exits with pytest's status.
sx_run_kernel_tests() {
    local what=$1 start=$2 rc=0
    shift 2
    sx_kernel_selection "$@"
    set -- "${SX_ARGS[@]}"
    sx_log "running pytest on $what: $*"
    sx_pytest -- -q "$@" || rc=$?
    sx_log "pytest status $rc, $((SECONDS - start)) s"
    exit $rc
}

# sx_pytest [PREFIX...] -- [PYTEST ARGS...]: run pytest on the checkout's tests
# against $SX_WORK/lib.  PREFIX is a command to run python under (e.g. valgrind).
# Runs in $SX_WORK/run so hypothesis' database and tmp files stay out of the
# checkout; --import-mode=importlib + PYTHONPATH keep python/ off sys.path (tests/
# is on it for `import reference`).
sx_pytest() {
    local prefix=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
    shift
    (cd "$SX_WORK/run" && \
        PYTHONPATH="$SX_WORK/lib:$SX_REPO/tests" PYTHONDONTWRITEBYTECODE=1 \
        SX_EXPECT_LIB="$SX_WORK/lib" \
        "${prefix[@]}" "$SX_PYTHON" -m pytest -p no:cacheprovider -p sx_build_guard \
            --rootdir "$SX_REPO" -c "$SX_REPO/pyproject.toml" --import-mode=importlib "$@")
}
