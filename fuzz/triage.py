#!/usr/bin/env python3
"""fuzz/triage.py: triage of a fuzz campaign directory (called by fuzz/campaign.sh).

    triage.py OUT [--retries N] [--hang-retries N] [--hang-seconds S] [--budget S]
                  [--tsan-sweep N] [--no-minimise]

Incremental: OUT/triage/state.json remembers every input already looked at, so
the campaign can call it every TRIAGE_MINUTES while the fuzzers run and once
more at the end; a campaign killed at hour 7 keeps what the last round found.

Inputs looked at, per target (ops, oom = fuzz/ops on corpus/ops-oom, mt, sched):
  crashes   AFL++ OUT/afl-T/*/crashes/id:*, libFuzzer OUT/crashes/T-crash-*, -leak-*, -oom-*
  hangs     AFL++ OUT/afl-T/*/hangs/id:*,   libFuzzer OUT/crashes/T-timeout-*, -slow-unit-*
  races     (mt) new inputs of the mt queue, replayed under TSan (--tsan-sweep of them per round)

Each input is replayed by the target's ASan replay binary (mt: also TSan):
  - a crash is signed with repro/verdict.py (the first finding line: model tag,
    hakmem: message, sanitizer kind + first core frame);
  - a hang is replayed under a watchdog (--hang-seconds) that sends SIGABRT,
    so ASan prints the stack of the stuck thread; it is signed
    hang-<top core frame> (the innermost src/ function, hak_*);
  - an input that does not fail on the first replay is replayed --retries more
    times (a hang --hang-retries times: each try may cost the watchdog's
    seconds) and kept with its reproduction rate (k/n), never dropped: with
    k = 0 it goes to repro/found/unreproduced/.
--budget S (TRIAGE_BUDGET): the round takes no new input after S seconds
(crashes first, then hangs, then the TSan sweep); what is left is not marked
seen, so the next round or a resumed campaign takes it, and OUT/triage/pending
holds the count for the summary.
New signatures are minimised (libFuzzer -minimize_crash, kept only when the
smaller input gives the same signature) and stored as repro/found/NAME with
NAME.sig (the signature), NAME.txt (one line: signature, rate, how found,
replay command) and NAME.report.  Signatures already in repro/found are
counted as known.  TRIAGE_FOUND=DIR stores elsewhere (the triage test).  Every finding is listed in OUT/triage/findings.tsv.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "repro"))
import verdict  # noqa: E402  (repro/verdict.py: the one definition of a signature)

FB = os.path.join(ROOT, "build", "fuzz")
SB = os.path.join(ROOT, "build", "sched")
FOUND = os.path.abspath(os.environ.get("TRIAGE_FOUND", os.path.join(ROOT, "repro", "found")))
GDB = shutil.which("gdb")
SYMBOLIZER = shutil.which("llvm-symbolizer-14") or shutil.which("llvm-symbolizer") or ""
REPORT_ASAN = ("abort_on_error=1:detect_leaks=0:symbolize=1:allocator_may_return_null=1:handle_abort=1:"
               "handle_segv=1:print_summary=1")
REPORT_TSAN = "halt_on_error=1:abort_on_error=1:report_signal_unsafe=0"

# target -> (replay binaries [(name, argv prefix, env)], libFuzzer binary for minimising, multi-run flag)
def replayers(target):
    asan_env = {"ASAN_OPTIONS": REPORT_ASAN, "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    if SYMBOLIZER:
        asan_env["ASAN_SYMBOLIZER_PATH"] = SYMBOLIZER
    if target in ("ops", "oom"):   # oom: fuzz/ops on corpus/ops-oom (its own campaign instance)
        return [("asan", [f"{FB}/ops-replay-asan"], asan_env)], f"{FB}/ops-lf"
    if target == "mt":
        tsan_env = {"TSAN_OPTIONS": REPORT_TSAN}
        return [("asan", [f"{FB}/mt-replay-asan", "-n", "20"], asan_env),
                ("tsan", [f"{FB}/mt-replay-tsan", "-n", "20"], tsan_env)], f"{FB}/mt-lf"
    if target == "sched":
        return [("asan", [f"{SB}/sched-replay-asan"], asan_env)], f"{SB}/sched-lf"
    raise ValueError(target)


def run(argv, env, seconds):
    """Run argv; returns (exit status or 'watchdog', output).  On the watchdog,
    gdb prints every thread's stack (appended to the output: the replay
    binaries catch SIGABRT themselves, so a sanitizer would print nothing),
    then the process is killed."""
    e = dict(os.environ)
    e.update(env)
    p = subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=seconds)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        stacks = ""
        if GDB:
            g = subprocess.run([GDB, "-p", str(p.pid), "-batch", "-nx", "-ex", "set pagination off",
                                "-ex", "thread apply all bt"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=60)
            stacks = "\n==== watchdog: stacks after %d s (gdb) ====\n" % seconds + g.stdout.decode(errors="replace")
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return "watchdog", out.decode(errors="replace") + stacks


# an ASan frame "#0 0x.. in FUNC .../src/x.c:N" or a gdb frame "#0  0x.. in FUNC (args) at src/x.c:N"
CORE_FRAME = re.compile(r"^\s*#\d+\s+(?:0x[0-9a-f]+ in )?([A-Za-z_][A-Za-z0-9_]*) .*(?:^|[ /])src/[a-z_]+\.[ch]:\d+")


def top_core_frame(text):
    """The innermost frame in src/ (the core) of the first stack in text."""
    for line in text.splitlines():
        m = CORE_FRAME.match(line)
        if m:
            return m.group(1)
    for line in text.splitlines():           # not symbolised with file names: any hak_ frame
        m = re.match(r"^\s*#\d+ (?:0x[0-9a-f]+ in )?(hak_[A-Za-z0-9_]*)", line)
        if m:
            return m.group(1)
    return "unknown"


def shown(path):
    """A path as the findings list it: relative to the tree when inside it."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def slug(sig):
    """A file-name-safe name for a signature, numbers and addresses dropped."""
    kind = sig.split("[", 1)[0]
    s = re.sub(r"0x[0-9a-fA-F]+|\d+", "", sig[len(kind):])
    s = re.sub(r"[^A-Za-z]+", "-", s).strip("-").lower()
    return (kind + "-" + s)[:72].rstrip("-")


def normal(sig):
    """Signatures compare with addresses and numbers dropped."""
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "#", sig)


def known_signatures():
    known = {}
    for f in glob.glob(os.path.join(FOUND, "*")):
        if os.path.isdir(f) or re.search(r"\.(txt|report|sig|log)$", f):
            continue
        sigf, rep = f + ".sig", f + ".report"
        if os.path.exists(sigf):
            sig = open(sigf).read().strip()
        elif os.path.exists(rep):
            sig = verdict.signature(verdict.read_lines([rep]))[1]
        else:
            continue
        known[normal(sig)] = f
    return known


def replay_once(target, path, hang, hang_seconds):
    """One replay with every replayer of the target. Returns (signature, kind, report text)."""
    reps, _ = replayers(target)
    last = ""
    for name, argv, env in reps:
        rc, out = run(argv + [path], env, hang_seconds if hang else 120)
        last = out
        if rc == "watchdog":
            return f"hang[{top_core_frame(out)}]", "hang", out
        if rc == 0:
            continue
        kind, sig = verdict.signature(out.splitlines())
        if kind in verdict.ORACLE_KINDS:
            return sig, kind, out
        # a crash with no oracle line (or a timeout of the program itself): still a finding,
        # named by kind and core frame so it is never silently merged with another
        return f"{kind}[{top_core_frame(out)}]", kind, out
    return None, None, last


def minimise(target, path, sig, hang, hang_seconds, workdir, tag):
    """libFuzzer -minimize_crash; the smaller input is kept only with the same signature."""
    _, lf = replayers(target)
    if not os.path.exists(lf):
        return path
    out = os.path.join(workdir, f"min-{tag}")
    argv = [lf, "-minimize_crash=1", "-max_total_time=60", "-runs=20000", f"-exact_artifact_path={out}"]
    if hang:
        argv.append(f"-timeout={max(1, hang_seconds // 2)}")
    if target in ("ops", "oom"):
        argv.append("-max_len=2048")
    run(argv + [path], {"ASAN_OPTIONS": "abort_on_error=0:detect_leaks=0:allocator_may_return_null=1:handle_abort=1"},
        150)
    if not os.path.exists(out) or os.path.getsize(out) == 0 or os.path.getsize(out) >= os.path.getsize(path):
        return path
    s2, _, _ = replay_once(target, out, hang, hang_seconds)
    return out if s2 is not None and normal(s2) == normal(sig) else path


def inputs(out, target):
    """(path, hang?) of every crash/hang input of the target in the campaign directory."""
    found = []
    for d in ("crashes", "hangs"):
        for p in sorted(glob.glob(os.path.join(out, f"afl-{target}", "*", d, "id:*"))):
            found.append((p, d == "hangs"))
    for pat, hang in (("crash-*", False), ("leak-*", False), ("oom-*", False),
                      ("timeout-*", True), ("slow-unit-*", True)):
        for p in sorted(glob.glob(os.path.join(out, "crashes", f"{target}-{pat}"))):
            found.append((p, hang))
    return found


def queue_inputs(out, target):
    qs = sorted(glob.glob(os.path.join(out, f"afl-{target}", "*", "queue", "id:*")))
    qs += sorted(glob.glob(os.path.join(out, f"lf-{target}", "*")))
    return [q for q in qs if os.path.isfile(q)]


def store(target, path, sig, kind, report, rate, how, hang):
    name = ("mt-" if target == "mt" else "sched-" if target == "sched" else "") + slug(sig)
    if hang:
        name = ("mt-" if target == "mt" else "sched-" if target == "sched" else "") + "hang-" + \
               sig[len("hang["):-1]
    dest = os.path.join(FOUND, name)
    n = 2
    while os.path.exists(dest):          # a different signature with the same slug
        dest = os.path.join(FOUND, f"{name}-{n}")
        n += 1
    shutil.copyfile(path, dest)
    with open(dest + ".report", "w") as f:
        f.write(report)
    with open(dest + ".sig", "w") as f:
        f.write(sig + "\n")
    rel = shown(dest)
    reps, _ = replayers(target)
    cmd = " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in reps[0][1])
    with open(dest + ".txt", "w") as f:
        f.write(f"{sig} (reproduced {rate}; {how}; input {os.path.getsize(dest)} bytes; replay: {cmd} {rel})\n")
    return rel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--retries", type=int, default=int(os.environ.get("TRIAGE_RETRIES", "10")))
    ap.add_argument("--hang-retries", type=int, default=int(os.environ.get("TRIAGE_HANG_RETRIES", "3")))
    ap.add_argument("--hang-seconds", type=int, default=int(os.environ.get("HANG_SECONDS", "20")))
    ap.add_argument("--budget", type=float, default=float(os.environ.get("TRIAGE_BUDGET", "0")))
    ap.add_argument("--tsan-sweep", type=int, default=int(os.environ.get("TSAN_SWEEP", "200")))
    ap.add_argument("--no-minimise", action="store_true")
    ap.add_argument("--how", default=os.environ.get("TRIAGE_HOW", "found by make campaign"))
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    tdir = os.path.join(out, "triage")
    os.makedirs(tdir, exist_ok=True)
    os.makedirs(os.path.join(FOUND, "unreproduced"), exist_ok=True)
    state_f = os.path.join(tdir, "state.json")
    state = json.load(open(state_f)) if os.path.exists(state_f) else {"seen": {}, "sigs": {}, "swept": []}
    known = known_signatures()
    swept = set(state["swept"])
    todo = []
    for t in ("ops", "oom", "mt", "sched"):
        todo += [(t, p, h, "crash") for p, h in inputs(out, t) if p not in state["seen"]]
    # crashes before hangs before the TSan sweep: a round cut short by the
    # budget leaves the least telling inputs for the next one
    todo.sort(key=lambda e: e[2])
    if os.path.exists(f"{FB}/mt-replay-tsan"):
        fresh = [q for q in queue_inputs(out, "mt") if q not in swept][:a.tsan_sweep]
        todo += [("mt", q, False, "sweep") for q in fresh]
    today = time.strftime("%Y-%m-%d")
    # --budget: a round stops taking new inputs after that many seconds (it
    # always takes one, so every round makes progress); the rest are not
    # marked seen, so the next round (or a resumed campaign) takes them.
    t_start, looked = time.monotonic(), 0
    for t, p, hang, why in todo:
        if a.budget > 0 and looked > 0 and time.monotonic() - t_start >= a.budget:
            break
        looked += 1
        if why == "sweep":
            swept.add(p)
            rc, rep = run([f"{FB}/mt-replay-tsan", "-n", "5", p], {"TSAN_OPTIONS": REPORT_TSAN}, 120)
            kind, sig = verdict.signature(rep.splitlines())
            if rc == 0 or kind != "tsan":
                continue
            rate, hang = "1/1", False
        else:
            sig, kind, rep = replay_once(t, p, hang, a.hang_seconds)
            attempts, hits = 1, int(sig is not None)
            # retried, never dropped; mt (real threads) always gets every retry, for an honest
            # rate; a hang (each try may cost the watchdog's seconds) gets --hang-retries
            if sig is None or t == "mt":
                for _ in range(a.hang_retries if hang else a.retries):
                    s2, k2, r2 = replay_once(t, p, hang, a.hang_seconds)
                    attempts += 1
                    if s2:
                        hits += 1
                        if sig is None:
                            sig, kind, rep = s2, k2, r2
            rate = f"{hits}/{attempts}"
            if sig is None:
                h = hashlib.sha1(open(p, "rb").read()).hexdigest()[:10]
                dest = os.path.join(FOUND, "unreproduced", f"{t}-{'hang' if hang else 'crash'}-{h}")
                shutil.copyfile(p, dest)
                with open(dest + ".txt", "w") as f:
                    f.write(f"{'hang' if hang else 'crash'} of fuzz/{t} reported by the fuzzer, reproduced 0/{attempts} "
                            f"by the replay binaries ({a.how}, {today}; fuzzer file {p})\n")
                state["seen"][p] = {"target": t, "sig": None, "rate": rate,
                                    "path": shown(dest),
                                    "status": "unreproduced"}
                continue
            hang = kind == "hang"
        key = normal(sig)
        entry = {"target": t, "sig": sig, "rate": rate, "kind": kind}
        if key in state["sigs"]:
            entry.update(status="duplicate", path=state["sigs"][key])
        elif key in known and not known[key].startswith(os.path.join(FOUND, "unreproduced")):
            entry.update(status="known", path=shown(known[key]))
            state["sigs"][key] = entry["path"]
        else:
            src = p if a.no_minimise else minimise(t, p, sig, hang, a.hang_seconds, tdir, str(len(state["seen"])))
            if src != p:
                s2, _, r2 = replay_once(t, src, hang, a.hang_seconds)
                rep = r2 if s2 else rep
            how = f"{a.how} ({'TSan sweep of the mt queue' if why == 'sweep' else 'fuzz/' + t}), {today}"
            entry.update(status="new", path=store(t, src, sig, kind, rep, rate, how, hang))
            state["sigs"][key] = entry["path"]
            known[key] = os.path.join(ROOT, entry["path"])
        state["seen"][p] = entry
    state["swept"] = sorted(swept)
    with open(state_f + ".tmp", "w") as f:
        json.dump(state, f, indent=1)
    os.replace(state_f + ".tmp", state_f)
    # findings.tsv: one line per signature (and per unreproduced input), rates of duplicates folded in
    rows = {}
    for p, e in state["seen"].items():
        k = e.get("path")
        if e.get("status") == "duplicate":
            continue
        rows[k] = (e.get("status", "?"), e["target"], e.get("rate", "?"), k, e.get("sig") or "(not reproduced)")
    with open(os.path.join(tdir, "findings.tsv"), "w") as f:
        for r in sorted(rows.values(), key=lambda r: (r[0] != "new", r[3])):
            f.write("\t".join(r) + "\n")
    new = sum(1 for r in rows.values() if r[0] == "new")
    pending = len(todo) - looked
    with open(os.path.join(tdir, "pending"), "w") as f:
        f.write(f"{pending}\n")
    left = f"; {pending} inputs left for the next round (budget {a.budget:g} s)" if pending else ""
    print(f"triage: {looked} inputs looked at this round, {len(rows)} findings in all ({new} new){left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
