"""Turning the results into a plain-text ratio table, Markdown and a plot."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

MiB = 1024 * 1024


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:.0f}x"


def all_ratios(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [row for section in results["sections"].values() for row in section.get("ratios", [])]


# --------------------------------------------------------------------------- #
# plain text
# --------------------------------------------------------------------------- #
def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def text_table(results: Dict[str, Any]) -> str:
    """Every ratio of the run, one line each (minimum times; median ratio too)."""
    header = ["measurement", "numerator", "time", "denominator", "time", "ratio",
              "ratio (median)", "ratio is"]
    rows = [[r["measurement"], r["numerator"], fmt_time(r["numerator_s"]), r["denominator"],
             fmt_time(r["denominator_s"]), fmt_ratio(r["ratio"]), fmt_ratio(r["ratio_median"]),
             r["meaning"]] for r in all_ratios(results)]
    return _aligned(header, rows)


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #
def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _machine_line(machine: Dict[str, Any]) -> str:
    simd = ", ".join(machine.get("simd") or []) or "no AVX"
    libs = ", ".join(f"{name} {machine[name]}" for name in ("numpy", "scikit-learn", "torch")
                     if machine.get(name)) or "no libraries found"
    torch_note = "" if machine.get("torch") else " (PyTorch not installed)"
    return (f"{machine['cpu_model']}, {machine['cores']} cores ({simd}); Python "
            f"{machine['python']}, sigmax {machine['sigmax']}, {libs}{torch_note}")


def _summary(results: Dict[str, Any]) -> List[str]:
    rows = [[r["measurement"], r["numerator"], fmt_time(r["numerator_s"]), r["denominator"],
             fmt_time(r["denominator_s"]), f"**{fmt_ratio(r['ratio'])}**",
             fmt_ratio(r["ratio_median"]), r["meaning"]] for r in all_ratios(results)]
    return ["### Summary", "",
            "Ratios of minimum times (median times in the next column). For peers the ratio is "
            "peer time / sigmax time: above 1, sigmax is faster.", ""] + _md_table(
        ["measurement", "numerator", "time", "denominator", "time", "ratio", "median ratio",
         "ratio is"], rows)


def _checks(results: Dict[str, Any]) -> List[str]:
    """Every cross-check of the run, failures marked."""
    checks = [c for section in results["sections"].values() for c in section.get("checks", [])]
    if not checks:
        return []
    passed = sum(c["passed"] for c in checks)
    rows = [[c["check"], c["dtype"], c["contender"], c["reference"], f"{c['max_abs_diff']:.3g}",
             f"{c['tolerance']:.3g}", "ok" if c["passed"] else "**FAILED**"] for c in checks]
    return ["### Cross-checks", "",
            "Untimed, on the same data: the contenders that should compute the same thing do. "
            "After one SGD epoch in stored row order from zero weights (sigmax with "
            "`shuffle=False`, the NumPy and PyTorch loops taking the rows in order), W and b "
            "agree with sigmax's within 100 units of rounding of the dtype times the largest "
            "weight; `predict_proba` of the same coefficients (scikit-learn given sigmax's) "
            "within 1000 units; sigmax at another `n_jobs` exactly (its results do not depend "
            f"on it). {passed} of {len(checks)} passed.", ""] + _md_table(
        ["check", "dtype", "contender", "reference", "max abs difference", "tolerance",
         "result"], rows)


def _sgd(section: Dict[str, Any]) -> List[str]:
    lines = [f"### {section['title']}", ""]
    for dtype, res in section["by_dtype"].items():
        best = set(res["best_config"].values())
        rows = []
        for name, t in res["timings"].items():
            mark = " (best)" if name in best else ""
            rows.append([name + mark, fmt_time(t["min_s"]), fmt_time(t["median_s"]),
                         _cpu(t), f"{res['test_accuracy_after_one_epoch'][name]:.4f}"])
        overhead = res["estimator_overhead_vs_kernel"]
        lines += [f"{dtype}: the estimator's time over the bare kernel's: "
                  f"{100 * overhead['min']:+.1f}% (minimum), {100 * overhead['median']:+.1f}% "
                  "(median).", ""]
        shuffle = res.get("shuffled_over_row_order")
        if shuffle:
            lines += [f"{dtype}: sigmax's shuffled epoch over the same epoch in row order "
                      f"(n_jobs={shuffle['n_jobs']}): {100 * shuffle['min']:+.1f}% (minimum), "
                      f"{100 * shuffle['median']:+.1f}% (median): what visiting the rows in a "
                      "random order costs.", ""]
        lines += _md_table(["contender", "min", "median", "CPU/wall", "test accuracy after the "
                            "epoch"], rows)
    return lines + [f"- {note}" for note in section["notes"]] + ([""] if section["notes"] else [])


def _cpu(timing: Dict[str, Any]) -> str:
    ratio = timing.get("cpu_per_wall")
    return "-" if ratio is None else f"{ratio:.2f}"


def _loss_grad(section: Dict[str, Any]) -> List[str]:
    rows = []
    problems = list(section["by_dtype"].items()) + [
        (f"{res['dtype']}, binary, {res['features']} features ({res['rows']} rows)", res)
        for res in section.get("binary", {}).values()]
    for dtype, res in problems:
        for threads, r in res["by_threads"].items():
            t = res["timings"]
            rows.append([dtype, threads, fmt_time(t[r["loss_grad"]]["min_s"]),
                         f"{fmt_time(t[r['read_x']]['min_s'])} ({r['read_x']})",
                         f"**{r['ratio']:.2f}**", f"{r['loss_grad_GBps']:.1f} / "
                         f"{r['read_x_GBps']:.1f}"])
    return [f"### {section['title']}", ""] + _md_table(
        ["dtype", "threads", "loss_grad", "fastest read of X (kernel)", "loss_grad / read-X",
         "GB/s of X (loss_grad / read)"], rows) + [f"- {n}" for n in section["notes"]] + [""]


def _predict(section: Dict[str, Any]) -> List[str]:
    rows = []
    for dtype, res in section["by_dtype"].items():
        for split, r in res.items():
            rates = r["rows_per_s"]
            ours = max((name for name in rates if name.startswith("sigmax")), key=rates.get)
            theirs = [name for name in rates if not name.startswith("sigmax")]
            row = [dtype, f"{split} ({r['rows']})",
                   f"{rates[ours]:.3g} ({ours.split('(')[-1].rstrip(')')})", "-", "-"]
            if theirs:  # scikit-learn was there
                sk = max(theirs, key=rates.get)
                row[3:] = [f"{rates[sk]:.3g} ({sk.split('(')[-1].rstrip(')')})",
                           f"**{rates[ours] / rates[sk]:.2f}**"]
            rows.append(row)
    return [f"### {section['title']}", ""] + _md_table(
        ["dtype", section.get("row_label", "rows"), "sigmax rows/s", "sklearn rows/s",
         "sigmax / sklearn throughput"],
        rows) + [f"- {n}" for n in section["notes"]] + [""]


def _memory(section: Dict[str, Any]) -> List[str]:
    def rss(r):
        if r.get("rss_peak_bytes") is None:
            return "n/a"
        return f"{r['rss_peak_bytes'] / MiB:.2f} MiB (**{100 * r['rss_fraction_of_X']:.2f}%**)"

    rows = [[r["dtype"], f"{r['solver']}, max_iter={r['max_iter']}",
             f"{r['X_nbytes'] / MiB:.1f} MiB", f"{r['peak_bytes'] / MiB:.3f} MiB",
             f"**{100 * r['fraction_of_X']:.2f}%**", rss(r)] for r in section["rows"]]
    return [f"### {section['title']}", ""] + _md_table(
        ["dtype", "fit", "X.nbytes", "tracemalloc peak", "fraction of X",
         "peak RSS growth (fraction of X)"], rows) + [f"- {n}" for n in section["notes"]] + [""]


def _scaling(section: Dict[str, Any]) -> List[str]:
    rows = []
    for sweep in ("n", "M", "K"):
        for p in section[sweep]["points"]:
            rows.append([sweep, p["n"], p["M"], p["K"], fmt_time(p["min_s"]),
                         f"{p['ns_per_nMK']:.3f}"])
    spread = ", ".join(f"{s}: {section[s]['per_unit_spread']:.2f}" for s in ("n", "M", "K"))
    lines = [f"### {section['title']}", ""] + _md_table(
        ["sweep", "n", "M", "K", "time (min)", "ns per n*M*K"], rows)
    lines += [f"Spread of ns per n*M*K (max/min) per sweep: {spread}.", ""]
    trows = []
    for dtype, res in section["threads"].items():
        cells = [f"{name}: {fmt_time(t['min_s'])} (CPU/wall {_cpu(t)})"
                 for name, t in res["timings"].items()]
        speedup = f"{res['speedup']:.2f}x" if "speedup" in res else "-"
        trows.append([dtype, ", ".join(cells), speedup])
    lines += _md_table(["dtype (full training set)", "time", "speed-up"], trows)
    return lines + [f"- {n}" for n in section["notes"]] + [""]


def _full_fit(section: Dict[str, Any]) -> List[str]:
    sk, sg = section.get("sklearn"), section.get("sigmax")
    def row(label: str, res: Dict[str, Any]) -> List[Any]:
        t = res["timing"]
        return [label, fmt_time(t["min_s"]), _cpu(t), res["n_iter"],
                fmt_time(t["min_s"] / max(res["n_iter"], 1)), f"{res['objective']:.10f}",
                f"{res['test_accuracy']:.4f}"]

    rows = []
    if sk is not None:  # scikit-learn was there
        rows.append(row(f"scikit-learn LogisticRegression (tol={sk['tol']:g}, "
                        f"max_iter={sk['max_iter']})", sk))
    if sg is not None:
        rows.append(row(f"sigmax SoftmaxRegression (tol={sg['tol']:g}, chosen after the fact "
                        "to reach scikit-learn's objective)", sg))
    default = section.get("sigmax_default")
    if default is not None:
        rows.append(row(f"sigmax SoftmaxRegression at its defaults (tol={default['tol']:g})",
                        default))
    lines = [f"### {section['title']}", ""] + _md_table(
        ["model", "time", "CPU/wall", "iterations", "time per iteration", "objective",
         "test accuracy"], rows)
    stopped = "" if sk is None or sk["converged"] else " (scikit-learn stopped at max_iter)"
    for r in section["ratios"]:
        lines += [f"sklearn time / {r['denominator']} time: **{fmt_ratio(r['ratio'])}**"
                  f"{stopped}.", ""]
    if "sigmax_attempts" in section:
        tried = ", ".join(f"{a['tol']:g}: {a['objective']:.10f} in {fmt_time(a['time_s'])}"
                          for a in section["sigmax_attempts"])
        lines += [f"- sigmax tolerances tried (objective, time): {tried}"]
    return lines + [f"- {n}" for n in section["notes"]] + [""]


def _fastest(timings: Dict[str, Any], names: Sequence[str]) -> Optional[Tuple[str, float]]:
    """(name, minimum time) of the fastest of `names` in `timings`, or None."""
    present = [name for name in names if name in timings]
    if not present:
        return None
    name = min(present, key=lambda n: timings[n]["min_s"])
    return name, timings[name]["min_s"]


def _bound_cases(dtype: str, results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The comparisons of this run that sigmax's speed targets name, each with
    sigmax's and the reference's (name, minimum time) and how the ratio is
    taken: "peer" (reference / sigmax, a speed-up) or "read" (sigmax /
    read-X, a cost)."""
    sections = results["sections"]
    cases = []
    sgd = sections.get("sgd_epoch", {}).get("by_dtype", {}).get(dtype)
    if sgd:
        best = sgd["best_config"]
        for group in ("NumPy (lecture code)", "PyTorch CPU"):
            if group in best:
                cases.append({"label": f"SGD epoch vs {group}",
                              "workload": "SGD epoch / loss_grad",
                              "ours": _fastest(sgd["timings"], [best["sigmax"]]),
                              "ref": _fastest(sgd["timings"], [best[group]]),
                              "kind": "peer", "target": ">= 10x"})
    lg = sections.get("loss_grad_vs_read", {}).get("by_dtype", {}).get(dtype)
    if lg:
        names = list(lg["timings"])
        ours = [n for n in names if n.startswith("loss_grad")]
        cases.append({"label": "full-batch loss_grad / read-X",
                      "workload": "SGD epoch / loss_grad",
                      "ours": _fastest(lg["timings"], ours),
                      "ref": _fastest(lg["timings"], [n for n in names if n not in ours]),
                      "kind": "read", "target": "<= 3x"})
    pp = sections.get("predict_proba", {}).get("by_dtype", {}).get(dtype, {})
    for split, res in pp.items():
        names = list(res["timings"])
        ours = [n for n in names if n.startswith("sigmax")]
        cases.append({"label": f"predict_proba {split} vs scikit-learn",
                      "workload": f"predict_proba {split}",
                      "ours": _fastest(res["timings"], ours),
                      "ref": _fastest(res["timings"], [n for n in names if n not in ours]),
                      "kind": "peer", "target": ">= 10x"})
    return cases


def _bound(workload: Dict[str, Any]) -> str:
    """What bounds a workload, naming the read of X that won where that is it."""
    if workload["bound"] == "read X" and workload.get("read_x"):
        return f"read X: {workload['read_x']}"
    return workload["bound"]


def _read(workload: Dict[str, Any]) -> str:
    """The fastest read of a workload's X, and its kernel where known."""
    name = workload.get("read_x")
    return fmt_time(workload["read_x_s"]) + (f" ({name})" if name else "")


def _rate(dtype: str, res: Dict[str, Any]) -> str:
    """The arithmetic rate of the floors, and both candidates."""
    return (f"{dtype} {res['gflops']:.0f} GFLOP/s, the larger of the vector units' "
            f"multiply-add peak, {res['peak_gflops']:.0f} GFLOP/s ({res['peak']}), and a BLAS "
            f"matrix product, {res['gemm_gflops']:.0f} GFLOP/s ({res['gemm']})")


def _bounds(section: Dict[str, Any], results: Dict[str, Any]) -> List[str]:
    rates = ", ".join(_rate(dtype, res) for dtype, res in section["by_dtype"].items())
    rows = []
    for dtype, res in section["by_dtype"].items():
        for case in _bound_cases(dtype, results):
            w = res["workloads"][case["workload"]]
            floor, ours, ref = w["floor_s"], case["ours"], case["ref"]
            if ours is None or ref is None:
                continue
            peer = case["kind"] == "peer"
            measured = ref[1] / ours[1] if peer else ours[1] / ref[1]
            best = ref[1] / floor if peer else floor / ref[1]
            rows.append([case["label"], dtype, f"{w['flops'] / 1e9:.2f}",
                         f"{fmt_time(floor)} ({_bound(w)})",
                         f"{fmt_time(ours[1])} ({ours[1] / floor:.1f}x)",
                         f"{ref[0]}: {fmt_time(ref[1])}", fmt_ratio(measured),
                         f"**{fmt_ratio(best)}**", case["target"]])
    lines = [f"### {section['title']}", "",
             f"Arithmetic rate: {rates}.  A workload's floor is the larger of the fastest "
             "measured read of its X and its arithmetic at that rate: code keeping every "
             "multiply-add unit busy could not run it faster.  \"at the floor\" is the "
             "ratio such code would show: peer time / floor for a speed-up over a peer, "
             "floor / read-X for loss_grad's cost.", ""]
    if rows:
        lines += _md_table(["comparison", "dtype", "GFLOP", "floor (bound)", "sigmax (x floor)",
                            "reference", "ratio", "at the floor", "target"], rows)
    else:  # no section with timings to compare ran: the floors alone
        floors = [[label, dtype, f"{w['flops'] / 1e9:.2f}", _read(w),
                   fmt_time(w["arithmetic_s"]), f"{fmt_time(w['floor_s'])} ({w['bound']})"]
                  for dtype, res in section["by_dtype"].items()
                  for label, w in res["workloads"].items()]
        lines += _md_table(["workload", "dtype", "GFLOP", "read X", "arithmetic", "floor"],
                           floors)
    gathers = [(dtype, res["shuffled_read"]) for dtype, res in section["by_dtype"].items()
               if "shuffled_read" in res]
    if gathers:
        each = ", ".join(f"{dtype} {fmt_ratio(g['ratio'])} (median {fmt_ratio(g['ratio_median'])})"
                         for dtype, g in gathers)
        lines += [f"Reading the training rows {gathers[0][1]['batch_size']} at a time into one "
                  "buffer (NumPy's take, one thread), in a shuffled epoch's order against stored "
                  f"order: {each}.  A shuffled SGD epoch reads X in such an order; the floors "
                  "above count a read in stored order.", ""]
    return lines + [f"- {n}" for n in section["notes"]] + [""]


RENDERERS = {"sgd_epoch": _sgd, "loss_grad_vs_read": _loss_grad, "predict_proba": _predict,
             "predict_proba_binary": _predict, "memory": _memory, "scaling": _scaling,
             "full_fit": _full_fit}
# renderers that also read the other sections of the run
WHOLE_RUN_RENDERERS = {"bounds": _bounds}


def markdown(results: Dict[str, Any]) -> str:
    machine = results["machine"]
    lines = ["## Benchmarks", "", f"Machine: {_machine_line(machine)}.", "",
             f"Run: {machine['date']}, `{results['command']}`, {results['total_s']:.0f} s; "
             f"load average (1, 5, 15 min) at the start {machine.get('load_average_at_start')}, "
             f"at the end {results.get('load_average_at_end')}. Data: {results['data']}.", ""]
    lines += _summary(results)
    lines += _checks(results)
    for name, section in results["sections"].items():
        if name in WHOLE_RUN_RENDERERS:
            lines += WHOLE_RUN_RENDERERS[name](section, results)
        else:
            lines += RENDERERS[name](section)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- #
# plot
# --------------------------------------------------------------------------- #
def plot_scaling(section: Dict[str, Any], path: str) -> Optional[str]:
    """A 2x2 figure of the scaling sweeps; returns None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, NullLocator
    except ImportError:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    for ax, sweep in zip(axes.flat, ("n", "M", "K")):
        points = section[sweep]["points"]
        x = [p[sweep] for p in points]
        t = [p["min_s"] * 1e3 for p in points]
        ax.plot(x, t, "o-", label="loss_grad")
        # the straight line through the largest point: what linear scaling would give
        ax.plot(x, [t[-1] * xi / x[-1] for xi in x], "--", color="grey", label="linear")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{v // 1000}k" if v >= 10_000 and v % 1000 == 0 else str(v)
                          for v in x])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(sweep)
        ax.set_ylabel("time (ms)")
        fixed = {"n": "M, K", "M": "n, K", "K": "n, M"}[sweep]
        ax.set_title(f"loss_grad vs {sweep} ({fixed} fixed)")
        ax.legend()
    ax = axes.flat[3]
    labels, values = [], []
    for dtype, res in section["threads"].items():
        for name, t in res["timings"].items():
            labels.append(f"{dtype}\n{name}")
            values.append(t["min_s"] * 1e3)
    ax.bar(range(len(values)), values)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("time (ms)")
    ax.set_title("loss_grad on the full training set vs threads")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
