#!/usr/bin/env python3
"""repro/matrix/table.py: the matrix's outputs from its cell results.

  table.py catalog RESULTS BUDGET SEEDS JOBS   repro/CATALOG.md on stdout
  table.py export CELLS.TSV RESULTS PLAN       merge the results into the committed cache
  table.py uncaught RESULTS                    list the mutants no finished cell caught

RESULTS: one cell a line, TAB-separated: key mutant instrument seed verdict
seconds signature reason reproducer (verdict: caught, "–", or n/r = not run).
A cell's value: the median seconds to the signature over the seeds that
caught it, and k/n (n = seeds that ran); "–" when none did; "n/r" when no
seed has run yet.
"""
import os
import statistics
import subprocess
import sys
import time

INSTRUMENTS = ["ops", "mt", "sched", "props", "relacy", "misuse", "unit", "gate", "preload"]
SEEDED = {"ops", "mt", "sched", "props"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIELDS = ["key", "mutant", "inst", "seed", "verdict", "secs", "sig", "reason", "repro"]


def load(path):
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            parts += ["-"] * (len(FIELDS) - len(parts))
            rows.append(dict(zip(FIELDS, parts[:len(FIELDS)])))
    return rows


def by_cell(rows):
    cells = {}
    for r in rows:
        cells.setdefault((r["mutant"], r["inst"]), []).append(r)
    return cells


def value(runs):
    ran = [r for r in runs if r["verdict"] != "n/r"]
    if not ran:
        return "n/r"
    caught = [float(r["secs"]) for r in ran if r["verdict"] == "caught"]
    total = len(runs)
    suffix = f"({len(caught)}/{len(ran)}" + (f", {total - len(ran)} n/r)" if len(ran) < total else ")")
    if not caught:
        return "–" if len(ran) == total else f"– {suffix}"
    return f"{statistics.median(caught):.1f} {suffix}"


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def catalog(results, budget, seeds, jobs):
    rows = load(results)
    cells = by_cell(rows)
    mutants = sorted({r["mutant"] for r in rows})
    insts = [i for i in INSTRUMENTS if any(r["inst"] == i for r in rows)]
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "src", "fuzz", "props",
                                                  "tests", "sanitizers", "repro/relacy", "repro/matrix/inst.sh",
                                                  "repro/matrix/cell.sh") else ""
    load1 = os.getloadavg()
    ran = [r for r in rows if r["verdict"] != "n/r"]
    out = []
    out.append("# The instrument-power matrix (the known-bug catalog)\n")
    out.append(f"Written by `make bugs` (repro/matrix/) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
               f"commit {git('rev-parse', '--short', 'HEAD')}{dirty}.")
    out.append(f"Budget {budget} s per cell on one core, from EMPTY inputs (an empty corpus directory, no seed files); "
               f"seeded instruments (ops, mt, sched, props) run with seeds {seeds.replace(' ', ', ')}, the deterministic "
               f"ones (relacy, misuse, unit, gate, preload) once. {os.cpu_count()} cores, MATRIX_JOBS={jobs}, "
               f"shared with other jobs: load average {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} when the table was written.")
    out.append(f"Cells run: {len(ran)} of {len(rows)} (seed runs); `n/r` = not run yet.\n")
    out.append("A cell is caught only when the first finding's signature (`repro/verdict.py sig`) matches the mutant's "
               "declared ERE for that instrument, its minimised input replays on the mutant with that signature, and the "
               "input runs clean on the real core. Value: median seconds to the signature over the seeds that caught it, "
               "and k/n seeds; `–`: no seed caught it (the reason of every miss is in `repro/matrix/cells.tsv`: timeout, "
               "wrong signature, no finding, ...).\n")
    out.append("| mutant | " + " | ".join(insts) + " |")
    out.append("|---|" + "---|" * len(insts))
    for m in mutants:
        out.append(f"| {m} | " + " | ".join(value(cells.get((m, i), [])) for i in insts) + " |")
    out.append("\n## Fastest instrument per mutant\n")
    out.append("| mutant | fastest | seconds | signature | reproducer |")
    out.append("|---|---|---|---|---|")
    for m in mutants:
        caught = [r for r in rows if r["mutant"] == m and r["verdict"] == "caught"]
        if not caught:
            state = "not caught" if all(r["verdict"] != "n/r" for r in rows if r["mutant"] == m) else "not caught yet"
            out.append(f"| {m} | **{state}** | – | – | – |")
            continue
        best = min(caught, key=lambda r: float(r["secs"]))
        seed = f" seed {best['seed']}" if best["inst"] in SEEDED else ""
        sig = best["sig"].replace("|", "\\|")[:110]
        out.append(f"| {m} | {best['inst']}{seed} | {float(best['secs']):.1f} | `{sig}` | `{best['repro']}` |")
    misses = {}
    for r in ran:
        if r["verdict"] != "caught":
            why = r["reason"].split(":")[0].split(" (")[0]
            misses[why] = misses.get(why, 0) + 1
    if misses:
        out.append("\nMisses by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(misses.items(), key=lambda x: -x[1])) + ".")
    return "\n".join(out) + "\n"


def export(cells_tsv, results, plan):
    new = [r for r in load(results) if r["verdict"] != "n/r"]
    planned = set()
    with open(plan) as f:
        for line in f:
            planned.add(tuple(line.split()))
    keys = {r["key"] for r in new}
    kept = []
    if os.path.exists(cells_tsv):
        for r in load(cells_tsv):
            # a row of this plan under another key is stale (src/ or the instrument changed)
            if r["key"] in keys or (r["mutant"], r["inst"], r["seed"]) in planned:
                continue
            kept.append(r)
    rows = sorted(kept + new, key=lambda r: (r["mutant"], INSTRUMENTS.index(r["inst"]) if r["inst"] in INSTRUMENTS else 99, r["seed"]))
    with open(cells_tsv, "w") as f:
        f.write("# repro/matrix/cells.tsv: the matrix's cell cache (written by make bugs; imported at its start)\n")
        f.write("# " + "\t".join(FIELDS) + "\n")
        for r in rows:
            f.write("\t".join(r[k] for k in FIELDS) + "\n")


def uncaught(results):
    rows = load(results)
    bad = 0
    for m in sorted({r["mutant"] for r in rows}):
        mine = [r for r in rows if r["mutant"] == m]
        if any(r["verdict"] == "caught" for r in mine):
            continue
        left = sum(r["verdict"] == "n/r" for r in mine)
        print(f"bugs: {m} NOT CAUGHT by any finished cell" + (f" ({left} cells not run yet)" if left else ""))
        bad += 1
    print(f"bugs: {len({r['mutant'] for r in rows}) - bad} of {len({r['mutant'] for r in rows})} mutants caught")
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "catalog":
        sys.stdout.write(catalog(argv[2], argv[3], argv[4], argv[5]))
        return 0
    if len(argv) == 5 and argv[1] == "export":
        export(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 3 and argv[1] == "uncaught":
        return uncaught(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
