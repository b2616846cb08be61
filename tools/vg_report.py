"""Summarize a valgrind memcheck log for tools/valgrind.sh.

    python tools/vg_report.py VALGRIND_LOG

Prints the errors and the "definitely lost" leak records that involve sigmax
(a stack frame in csrc/ or in sigmax/_core*.so), in full, and counts the rest.
Exit status: 1 if any unsuppressed error or definite leak involves sigmax,
else 0.  (valgrind's own --error-exitcode covers every unsuppressed error.)
"""
from __future__ import annotations

import re
import sys

# a frame of sigmax: one of csrc/'s files (valgrind prints base names: module.c,
# lbfgs.[ch], linalg.[ch], kernels.[ch], kernels_<isa>.c, kernels_impl.h, ...) or
# the module; tests/test_tools.py checks that every file in csrc/ is matched
SIGMAX_FRAME = re.compile(
    r"\((?:module|lbfgs|linalg|kernels(?:_\w+)?)\.[ch]:\d+\)"
    r"|/sigmax/_core[^ )]*\.so"
)
ERROR_HEAD = re.compile(
    r"^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param"
    r"|Mismatched free|Source and destination overlap|Argument .* of function"
    r"|Jump to the invalid address|Process terminating|Invalid .* alignment)"
)
LEAK_HEAD = re.compile(r"^([\d,]+)(?: \(([\d,]+) direct, ([\d,]+) indirect\))? bytes in ([\d,]+) "
                       r"blocks are (definitely|indirectly|possibly) lost")


def blocks(path):
    """The log's blank-line separated blocks, without the ==pid== prefixes."""
    cur = []
    with open(path, errors="replace") as fh:
        for line in fh:
            m = re.match(r"^==\d+== ?(.*)$", line.rstrip("\n"))
            if not m:
                continue  # generated suppressions and client output
            text = m.group(1)
            if text.strip():
                cur.append(text)
            elif cur:
                yield cur
                cur = []
    if cur:
        yield cur


def main(path):
    sig_errors, sig_leaks = [], []
    other_errors = other_leaks = 0
    other_definite = sig_definite = 0
    summary = {}
    for blk in blocks(path):
        head = blk[0]
        ours = any(SIGMAX_FRAME.search(line) for line in blk)
        leak = LEAK_HEAD.match(head)
        if leak:
            if leak.group(5) != "definitely":
                continue
            direct = int((leak.group(2) or leak.group(1)).replace(",", ""))
            if ours:
                sig_leaks.append(blk)
                sig_definite += direct
            else:
                other_leaks += 1
                other_definite += direct
        elif ERROR_HEAD.match(head):
            if ours:
                sig_errors.append(blk)
            else:
                other_errors += 1
        for line in blk:
            m = re.match(r"^\s*(definitely lost|indirectly lost|possibly lost|still reachable"
                         r"|suppressed): ([\d,]+) bytes", line)
            if m:
                summary[m.group(1)] = int(m.group(2).replace(",", ""))
            m = re.match(r"^ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts"
                         r" \(suppressed: ([\d,]+)", line)
            if m:
                summary["errors"] = int(m.group(1).replace(",", ""))
                summary["contexts"] = int(m.group(2).replace(",", ""))
                summary["suppressed errors"] = int(m.group(3).replace(",", ""))

    for blk in sig_errors + sig_leaks:
        print("----- involves sigmax -----")
        print("\n".join(blk))
    print(f"valgrind ERROR SUMMARY: {summary.get('errors', '?')} errors from "
          f"{summary.get('contexts', '?')} contexts (suppressed: "
          f"{summary.get('suppressed errors', '?')})")
    print(f"leak summary: definitely lost {summary.get('definitely lost', 0)} bytes, "
          f"indirectly lost {summary.get('indirectly lost', 0)}, possibly lost "
          f"{summary.get('possibly lost', 0)}, suppressed {summary.get('suppressed', 0)}")
    print(f"errors involving sigmax:                 {len(sig_errors)} contexts")
    print(f"errors elsewhere (CPython, libc, numpy): {other_errors} contexts")
    print(f"definitely lost attributable to sigmax:  {sig_definite} bytes "
          f"in {len(sig_leaks)} loss records")
    print(f"definitely lost elsewhere (unsuppressed): {other_definite} bytes "
          f"in {other_leaks} loss records")
    return 1 if (sig_errors or sig_leaks) else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
