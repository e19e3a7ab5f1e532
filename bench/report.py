#!/usr/bin/env python3
"""bench/report.py STEM ALLOC... — turn a bench/run.sh run into STEM.md + STEM.svg.

Reads STEM.meta (build identity), STEM.tsv (one row per run) and, if present,
STEM.syscalls.tsv.  Prints the same tables it writes.  Only medians over the
repetitions of this run are shown, and hakmem is compared with the best peer
measured in the same run (peers: every allocator except hakmem)."""
import os
import shutil
import statistics
import subprocess
import sys

stem, allocs = sys.argv[1], sys.argv[2:]
peers = [a for a in allocs if not a.startswith("hakmem")]   # hakmem@VAR=.. variants are not peers

meta = []
with open(stem + ".meta") as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition("\t")
        meta.append((k, v))
M = {}
for k, v in meta:
    M.setdefault(k, []).append(v)


def parse_result(line):
    d = {}
    for tok in line.split()[1:]:
        k, _, v = tok.partition("=")
        d[k] = v
    return d


cases, runs = [], {}          # runs[(case, alloc)] = list of (rc, dict or errtext)
with open(stem + ".tsv") as f:
    next(f)
    for line in f:
        rep, case, alloc, rc, res = line.rstrip("\n").split("\t", 4)
        if case not in cases:
            cases.append(case)
        rc = int(rc)
        runs.setdefault((case, alloc), []).append((rc, parse_result(res) if rc == 0 else res))


def ok(case, alloc):
    return [d for rc, d in runs.get((case, alloc), []) if rc == 0]


def fails(case, alloc):
    return [(rc, e) for rc, e in runs.get((case, alloc), []) if rc != 0]


def med(case, alloc, key="value"):
    v = [float(d[key]) for d in ok(case, alloc) if key in d]
    return statistics.median(v) if v else None


def info(case):
    for a in allocs:
        for d in ok(case, a):
            return d["metric"], d["better"]
    return "?", "higher"


def perf(case, alloc):
    """throughput-like: bigger is better whatever the metric's direction"""
    v = med(case, alloc)
    if v is None or v <= 0:
        return None
    return v if info(case)[1] == "higher" else 1.0 / v


def best_of(case, alloc):
    """best single run (interference on a shared VM only ever slows a run down)"""
    v = [float(d["value"]) for d in ok(case, alloc)]
    v = [x for x in v if x > 0]
    if not v:
        return None
    return max(v) if info(case)[1] == "higher" else 1.0 / min(v)


def fmt(v):
    if v is None:
        return "—"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def cell(case, alloc, key="value", scale=1.0):
    f = fails(case, alloc)
    v = med(case, alloc, key)
    if v is None:
        if f:
            return f"FAIL rc={f[0][0]}"
        return "—"
    s = fmt(v * scale)
    if f:
        s += f" ({len(f)} failed)"
    return s


def best_peer(case, key):
    best = None
    for a in peers:
        v = key(case, a)
        if v is not None and (best is None or v[0] > best[0]):
            best = (v[0], a)
    return best


out = []
w = out.append
short = (M.get("commit", ["none"])[0] or "none")[:10]
w(f"# hakmem benchmark — {M['date'][0]} — commit {short}\n")
reps = M.get("reps_done", M["reps"])[0]
w(f"Mode **{M['mode'][0]}**, {reps} repetitions per cell, allocators interleaved run by run; "
  "cells are medians. Only ratios within this run mean anything (the VM is noisy: ±20–30% on threaded runs).\n")
w("## Build measured\n")
w("| | |\n|---|---|")
for k in ("commit", "dirty", "src_sha256", "compiler", "hakmem_cflags", "hakmem_so", "hakmem_so_sha256",
          "hakmem_so_mtime", "hakmem_so_stale", "hakmem_noharden_so", "hakmem_noharden_cflags", "hakmem_noharden_so_sha256",
          "hakmem_noharden_so_mtime", "hakmem_noharden_so_stale", "bench_cflags", "block_checks", "peer", "missing", "machine",
          "load_before", "load_after"):
    for v in M.get(k, []):
        w(f"| {k} | `{v}` |")
w("")

if any(runs.values()):
    w("## Throughput (median)\n")
    w("`hakmem ÷ best peer` is hakmem's performance over the best peer's in this run, "
      "direction-corrected (for ns and seconds it is peer ÷ hakmem): ≥ 1.00 means hakmem is at "
      "least as good. Target ≥ 1.00 everywhere. `best-of-N` compares each allocator's best single "
      "run instead of its median (interference only ever slows a run, so this is the less noisy "
      "estimate when the two disagree).\n")
    w("| workload | metric | " + " | ".join(allocs) + " | hakmem ÷ best peer | same, best-of-N | best peer |")
    w("|---|---|" + "---:|" * len(allocs) + "---:|---:|---|")
    for c in cases:
        metric, better = info(c)
        row = [c, f"{metric} ({'↑' if better == 'higher' else '↓'})"] + [cell(c, a) for a in allocs]
        bp = best_peer(c, lambda cc, a: (perf(cc, a),) if perf(cc, a) is not None else None)
        hp = perf(c, "hakmem") if "hakmem" in allocs else None
        bb = best_peer(c, lambda cc, a: (best_of(cc, a),) if best_of(cc, a) is not None else None)
        hb = best_of(c, "hakmem") if "hakmem" in allocs else None
        if bp and hp is not None:
            r = hp / bp[0]
            row += [f"**{r:.2f}** {'✓' if r >= 1.0 else '✗'}", f"{hb / bb[0]:.2f}" if bb and hb else "—", bp[1]]
        else:
            row += ["—", "—", bp[1] if bp else "—"]
        w("| " + " | ".join(row) + " |")
    w("")
    w("## Peak RSS (median of getrusage ru_maxrss, MiB)\n")
    w("Target: hakmem ≤ 1.10 × the smallest peer.\n")
    w("| workload | " + " | ".join(allocs) + " | hakmem ÷ best peer | best peer |")
    w("|---|" + "---:|" * len(allocs) + "---:|---|")
    for c in cases:
        row = [c] + [cell(c, a, "maxrss_kb", 1 / 1024) for a in allocs]
        bp = best_peer(c, lambda cc, a: (-med(cc, a, "maxrss_kb"),) if med(cc, a, "maxrss_kb") else None)
        h = med(c, "hakmem", "maxrss_kb") if "hakmem" in allocs else None
        if bp and h:
            r = h / -bp[0]
            row += [f"**{r:.2f}** {'✓' if r <= 1.10 else '✗'}", bp[1]]
        else:
            row += ["—", bp[1] if bp else "—"]
        w("| " + " | ".join(row) + " |")
    w("")
    extras = [("thread_churn", "rss_growth_kb", "thread_churn RSS growth, first quarter → end (KiB)"),
              ("fastpath_batch", "ns_per_op", "fastpath_batch ns per malloc or free")]
    rows = [(c, k, t) for c, k, t in extras if c in cases]
    if rows:
        w("## Secondary figures (median)\n")
        w("| figure | " + " | ".join(allocs) + " |")
        w("|---|" + "---:|" * len(allocs))
        for c, k, t in rows:
            w(f"| {t} | " + " | ".join(cell(c, a, k) for a in allocs) + " |")
        w("")
    w("## Spread ((max − min) ÷ median over the repetitions)\n")
    w("| workload | " + " | ".join(allocs) + " |")
    w("|---|" + "---:|" * len(allocs))
    for c in cases:
        cells = []
        for a in allocs:
            v = [float(d["value"]) for d in ok(c, a)]
            cells.append(f"{(max(v) - min(v)) / statistics.median(v) * 100:.0f}%" if len(v) > 1 and statistics.median(v) else "—")
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")
    fl = [(c, a, rc, e) for c in cases for a in allocs for rc, e in fails(c, a)]
    if fl:
        w("## Failed runs\n")
        w("rc 124 = timeout, 125 = no RESULT line, 126 = wrong allocator mapped, 2 = corruption detected, "
          "134/139 = abort/SIGSEGV.\n")
        for c, a, rc, e in fl:
            w(f"- {c} under {a}: rc={rc} `{e[:300]}`")
        w("")

sysf = stem + ".syscalls.tsv"
if os.path.exists(sysf):
    sc = {}
    with open(sysf) as f:
        next(f)
        for line in f:
            c, a, name, n = line.rstrip("\n").split("\t")
            sc.setdefault((c, a), {})[name] = int(n)
    scases = []
    for c, _ in sc:
        if c not in scases:
            scases.append(c)
    w("## Syscalls (`strace -f -c`, one run with the QUICK arguments)\n")
    w("Cell: mmap / munmap / madvise, then (+ brk + mremap + mprotect). Includes the loader's own "
      "mappings (≈ 20–40 mmap/mprotect per process).\n")
    w("| workload | " + " | ".join(allocs) + " |")
    w("|---|" + "---:|" * len(allocs))
    for c in scases:
        cells = []
        for a in allocs:
            d = sc.get((c, a))
            if d is None:
                cells.append("—")
                continue
            other = d.get("brk", 0) + d.get("mremap", 0) + d.get("mprotect", 0)
            cells.append(f"{d.get('mmap', 0)} / {d.get('munmap', 0)} / {d.get('madvise', 0)} (+{other})")
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")

irf = stem + ".ir.md"
if os.path.exists(irf):
    w("## Instructions per operation (callgrind, deterministic)\n")
    w("Ir(2N) − Ir(N) over N: set-up cancels out; includes the workload's own loop, RNG and tag "
      "writes, which are the same for every allocator. Unlike time, these do not move with VM load.\n")
    with open(irf) as f:
        w(f.read())

# ------------------------------------------------------------------ SVG ----
svg = None
if any(runs.values()) and shutil.which("gnuplot"):
    dat = stem + ".plot.dat"
    ymax = 1.0
    colors = {"glibc": "#8c8c8c", "hakmem": "#d62728", "hakmem-noharden": "#f4a3a3", "mimalloc": "#1f77b4",
              "jemalloc": "#ff7f0e", "tcmalloc": "#2ca02c"}
    lt = "\n".join(f"set linetype {i + 1} lc rgb '{colors.get(a, '#9467bd')}'" for i, a in enumerate(allocs))
    with open(dat, "w") as f:
        f.write("case " + " ".join(allocs) + "\n")
        for c in cases:
            bp = best_peer(c, lambda cc, a: (perf(cc, a),) if perf(cc, a) is not None else None)
            vals = []
            for a in allocs:
                if perf(c, a) is not None and bp:
                    ymax = max(ymax, perf(c, a) / bp[0])
                p = perf(c, a)
                vals.append(f"{p / bp[0]:.4f}" if p is not None and bp else "NaN")
            f.write(c + " " + " ".join(vals) + "\n")
    svg = stem + ".svg"
    gp = f"""set terminal svg size 1200,520 dynamic font 'sans,11'
set output '{svg}'
set title "hakmem vs peers, performance relative to the best peer (higher is better) — commit {short}, {M['mode'][0]}"
set datafile missing 'NaN'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set termoption noenhanced
{lt}
set key outside right top
set yrange [0:{ymax * 1.08:.3f}]
set bmargin 6
set ylabel 'performance / best peer'
set xtics rotate by 30 right nomirror
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:{len(allocs) + 1}] '{dat}' using i:xtic(1) title columnheader
"""
    if os.environ.get("BENCH_PNG"):      # a raster copy, for viewers without SVG
        subprocess.run(["gnuplot"], text=True, capture_output=True,
                       input=gp.replace("set terminal svg", "set terminal pngcairo")
                       .replace(f"set output '{svg}'", f"set output '{stem}.png'"))
    r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write("report: gnuplot failed: " + r.stderr)
        svg = None
    else:
        os.remove(dat)
if svg:
    w(f"![relative performance]({os.path.basename(svg)})\n")
if any(runs.values()):
    w(f"Raw runs: `{os.path.basename(stem)}.tsv`.\n")

text = "\n".join(out)
with open(stem + ".md", "w") as f:
    f.write(text)
# print the tables (skip the build table's long rows for the terminal)
print(text)
print(f"report: {stem}.md" + (f", {svg}" if svg else ""))
