#!/usr/bin/env python3
"""repro/matrix/plan.py: the order in which the matrix runs its cells.

  plan.py MUTANTS INSTRUMENTS SEEDS     print "MUTANT INSTRUMENT SEED" lines

Every mutant x every instrument x (every seed for a seeded instrument, seed 0
once for a deterministic one): nothing is left out, only ordered.  The cells
most likely to catch come first, so a run cut by its deadline still has a
verdict for every mutant:
  phase 1  each mutant's expected instrument(s), first seed
  phase 2  the same cells, the other seeds
  phase 3  every other cell, cheap deterministic instruments first
The expected instruments of a mutant are those its patch header names in
"signature[INSTRUMENT]:" lines, then the instruments its generic
"signature:" lines suit (a model tag: ops, sched; an ASan report: ops;
hakmem: ops; tsan: gate).
"""
import os
import re
import sys

SEEDED = ("ops", "mt", "sched", "props")
# phase 3 order: deterministic ones first (one run each, mostly seconds),
# then the fuzzers
LATER = ("relacy", "preload", "misuse", "unit", "ops", "sched", "props", "mt", "gate")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def declared(name):
    insts, generic = [], []
    with open(os.path.join(ROOT, "repro", "bugs", name + ".patch"), errors="replace") as f:
        for line in f:
            if line.startswith("--- "):
                break
            m = re.match(r"signature\[([a-z]+)\]: (.*)", line)
            if m:
                insts.append(m.group(1))
            m = re.match(r"signature: (.*)", line)
            if m:
                generic.append(m.group(1))
    return insts, generic


def expected(name, instruments):
    insts, generic = declared(name)
    out = list(insts)
    for ere in generic:
        if ere.startswith("^tsan"):
            out.append("gate")
        elif ere.startswith(("^model", "^hakmem", "^asan", "^ubsan")):
            out.append("ops")
    # 2-thread mutants (remote queue, adoption) show in the scheduler
    text = open(os.path.join(ROOT, "repro", "bugs", name + ".patch"), errors="replace").read()
    if re.search(r"remote|drain|adopt|queue", text.split("\n--- ")[0], re.I):
        out.insert(0, "sched") if "relacy" not in insts else None
    seen = []
    for i in out:
        if i in instruments and i not in seen:
            seen.append(i)
    return seen


def main(argv):
    mutants, instruments, seeds = argv[1].split(), argv[2].split(), argv[3].split()
    cells, done = [], set()

    def add(m, i, s):
        if (m, i, s) not in done:
            done.add((m, i, s))
            cells.append((m, i, s))

    def seeds_of(i):
        return seeds if i in SEEDED else ["0"]

    exp = {m: expected(m, instruments) for m in mutants}
    for m in mutants:
        for i in exp[m]:
            add(m, i, seeds_of(i)[0])
    for m in mutants:
        for i in exp[m]:
            for s in seeds_of(i):
                add(m, i, s)
    for i in [x for x in LATER if x in instruments] + [x for x in instruments if x not in LATER]:
        for s in seeds_of(i):
            for m in mutants:
                add(m, i, s)
    for c in cells:
        print(*c)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
