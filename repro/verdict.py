#!/usr/bin/env python3
"""repro/verdict.py: the one definition of "caught" for every instrument.

A verdict is a named signature.  Every oracle of the project prints one
recognisable *finding line* when it fires; this tool finds the FIRST finding
line of a log and turns it into a signature string:

  model[TAG]: MESSAGE          fuzz/ops, fuzz/mt, fuzz/sched (HAKFUZZ-FAIL[TAG]: ...)
  hakmem: MESSAGE              the core's fixed misuse / corruption / assertion lines
  asan[KIND]: ACCESS in FUNC   AddressSanitizer (FUNC: first frame of the report)
  ubsan[runtime error]: FILE:LINE: MESSAGE
  tsan[KIND]: in FUNC          ThreadSanitizer (FUNC: first frame of the first access)
  msan[KIND]: in FUNC          MemorySanitizer
  memcheck[KIND]: in FUNC      Valgrind memcheck ("Invalid read of size 8" -> KIND "Invalid read")
  relacy[KIND]: DETAIL         Relacy (DATA RACE, USER ASSERT FAILED, ...)
  test[NAME]: DETAIL           a "FAIL: NAME" line of a test program (props, unit, misuse)

and the outcomes that are NEVER a catch, whatever a pattern says:

  timeout[...], oom[...], leak[...], crash[...] (a signal with no oracle line), build[...]

Commands (exit status 0 = yes, 1 = no, 2 = usage or unreadable log):

  verdict.py sig LOG...             print the signature of the first finding (or "none")
  verdict.py match ERE LOG...       the first finding's signature matches ERE (re.search),
                                    and it is a named oracle, not timeout/oom/leak/crash/build
  verdict.py check-ere ERE          ERE is acceptable as a declared signature: it must start
                                    with one of the oracle kinds above (anchored "^kind")
                                    and must not match a non-catch outcome

Several LOG files are read in order as one stream ("-" is standard input).
"""
import re
import sys

ORACLE_KINDS = ("model", "hakmem", "asan", "ubsan", "tsan", "msan", "memcheck", "relacy", "test")
NON_CATCH = ("timeout", "oom", "leak", "crash", "build", "none")

ADDR = re.compile(r"0x[0-9a-fA-F]+")

# (regex, kind) in the order they are tried on each line.
LINE_RULES = [
    (re.compile(r"HAKFUZZ-FAIL\[([A-Za-z0-9_-]+)\]: ?(.*)$"), "model"),
    (re.compile(r"^(hakmem: .*)$"), "hakmem"),
    (re.compile(r"==\d+==ERROR: AddressSanitizer: ([A-Za-z0-9_-]+)(.*)$"), "asan"),
    (re.compile(r"==\d+==ERROR: LeakSanitizer: (.*)$"), "leak"),
    (re.compile(r"^(\S+:\d+:\d+): runtime error: (.*)$"), "ubsan"),
    (re.compile(r"^WARNING: ThreadSanitizer: (.*?)(?: \(pid=\d+\))?\s*$"), "tsan"),
    (re.compile(r"==\d+==WARNING: MemorySanitizer: (\S+)"), "msan"),
    (re.compile(r"^==\d+== (Invalid (?:read|write|free)|Conditional jump or move depends on uninitialised value|"
                r"Use of uninitialised value|Mismatched free|Source and destination overlap|"
                r"Syscall param \S+ points to (?:unaddressable|uninitialised))"), "memcheck"),
    (re.compile(r"(DATA RACE|USER ASSERT FAILED|ASSERT FAILED|LIVELOCK|DEADLOCK|ACCESS TO FREED MEMORY|"
                r"ACCESS TO UNINITIALIZED|MEMORY LEAK|RELACY[A-Z ]*FAILED)\b(.*)$"), "relacy"),
    (re.compile(r"ERROR: libFuzzer: timeout|ALARM: working on the last Unit for|^timeout: |"
                r"\(crashed or timed out: exit 124\)|hung: timeout|Terminated$"), "timeout"),
    (re.compile(r"ERROR: libFuzzer: out-of-memory|==\d+==ERROR: AddressSanitizer failed to allocate|"
                r"allocator is out of memory trying to allocate|Out of memory"), "oom"),
    (re.compile(r"^FAIL: (\S+)(?: \((.*)\))?\s*$"), "test"),
    # (ASan's "AddressSanitizer:DEADLYSIGNAL" banner is not a finding: the
    # "ERROR: AddressSanitizer: SEGV ..." report that follows it names the kind)
    (re.compile(r"ERROR: libFuzzer: deadly signal|"
                r"^(?:Segmentation fault|Aborted|Bus error)(?: \(core dumped\))?$"), "crash"),
    (re.compile(r"(?:error: |Error \d+$|undefined reference to|No rule to make target)"), "build"),
]

FRAME = re.compile(r"^\s*#\d+ (?:0x[0-9a-f]+ in )?([A-Za-z_][^\s(]*)")
VG_FRAME = re.compile(r"^==\d+==\s+(?:at|by) 0x[0-9A-F]+: (\S+)")
ACCESS = re.compile(r"^(READ|WRITE) of size (\d+)")


def read_lines(paths):
    lines = []
    for p in paths:
        try:
            f = sys.stdin if p == "-" else open(p, "r", errors="replace")
        except OSError as e:
            print(f"verdict.py: {p}: {e.strerror}", file=sys.stderr)
            sys.exit(2)
        with f:
            lines.extend(l.rstrip("\n") for l in f)
    return lines


def first_frame(lines, start, pattern=FRAME, skip=("__asan", "__tsan", "__msan", "__interceptor", "__sanitizer",
                                                   "__ubsan", "abort", "raise", "__GI_", "malloc", "free",
                                                   "hak_atomic_", "<null>")):
    for l in lines[start:start + 40]:
        m = pattern.match(l)
        if m:
            fn = m.group(1)
            if any(fn.startswith(s) for s in skip):
                continue
            return fn
    return "?"


def signature(lines):
    """(kind, signature string) of the first finding line, or ("none", "none")."""
    for i, line in enumerate(lines):
        for rx, kind in LINE_RULES:
            m = rx.search(line)
            if not m:
                continue
            if kind == "model":
                return kind, f"model[{m.group(1)}]: {m.group(2).strip()}"
            if kind == "hakmem":
                return kind, m.group(1).strip()
            if kind == "asan":
                access = ""
                for l in lines[i + 1:i + 4]:
                    a = ACCESS.match(l)
                    if a:
                        access = f"{a.group(1)} of size {a.group(2)} "
                        break
                return kind, f"asan[{m.group(1)}]: {access}in {first_frame(lines, i + 1)}"
            if kind == "ubsan":
                return kind, f"ubsan[runtime error]: {m.group(1)}: {m.group(2).strip()}"
            if kind == "tsan":
                return kind, f"tsan[{m.group(1).strip()}]: in {first_frame(lines, i + 1)}"
            if kind == "msan":
                return kind, f"msan[{m.group(1)}]: in {first_frame(lines, i + 1)}"
            if kind == "memcheck":
                return kind, f"memcheck[{m.group(1)}]: in {first_frame(lines, i + 1, VG_FRAME)}"
            if kind == "relacy":
                return kind, f"relacy[{m.group(1)}]: {m.group(2).strip()}"
            if kind == "test":
                return kind, f"test[{m.group(1)}]: {(m.group(2) or '').strip()}"
            return kind, f"{kind}[{line.strip()[:160]}]"
    return "none", "none"


def check_ere(ere):
    try:
        rx = re.compile(ere)
    except re.error as e:
        return f"not a valid regular expression: {e}"
    if not any(ere.startswith("^" + k) for k in ORACLE_KINDS):
        return "must start with ^KIND where KIND is one of " + ", ".join(ORACLE_KINDS)
    for bad in ("timeout[ERROR: libFuzzer: timeout]", "oom[ERROR: libFuzzer: out-of-memory]",
                "crash[ERROR: libFuzzer: deadly signal]", "build[error: x]", "none", "leak[x]"):
        if rx.search(bad):
            return f"matches the non-catch outcome {bad!r}"
    return None


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "sig" and len(argv) >= 3:
        print(signature(read_lines(argv[2:]))[1])
        return 0
    if cmd == "match" and len(argv) >= 4:
        why = check_ere(argv[2])
        if why:
            print(f"verdict.py: declared signature {argv[2]!r} {why}", file=sys.stderr)
            return 2
        kind, sig = signature(read_lines(argv[3:]))
        print(sig)
        return 0 if kind in ORACLE_KINDS and re.search(argv[2], sig) else 1
    if cmd == "check-ere" and len(argv) == 3:
        why = check_ere(argv[2])
        if why:
            print(f"verdict.py: {why}")
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
