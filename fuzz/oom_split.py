#!/usr/bin/env python3
"""fuzz/oom_split.py: sort fuzz/ops inputs into fast and out-of-memory ones.

An fuzz/ops input is an OUT-OF-MEMORY input when it has an osfail record or
a keyed trim record (fuzz/FORMAT.md).  Those act only when header byte 3 is
HFZ_OOM_KEY (0x4f); they make the rest of the input and the reset after it
map and fault memory afresh, so they live in corpus/ops-oom, fuzzed by their
own instance, and corpus/ops keeps the fast inputs.

  oom_split.py has FILE...          exit 0 when every FILE is an out-of-memory input
  oom_split.py key FILE...          set byte 3 of each out-of-memory FILE to the key
                                    (in place; other files are left alone)
  oom_split.py move SRC DST         move SRC's inputs that carry the key into DST
                                    (the campaign's corpus merge: an input of the fast
                                    instance that found the key belongs to corpus/ops-oom)
The record decoding mirrors fuzz/ops.c (decode_op, HFZ_OP_*, HFZ_TRIM_KEY).
"""
import os
import sys

HEADER, REC, MAX_OPS = 4, 8, 4096
OPCODE_MOD, OP_COUNT, ALIASES = 24, 21, (0, 4, 5)
OP_TRIM, OP_OSFAIL = 11, 17
TRIM_KEY, OOM_KEY = 0x54, 0x4F


def decode_op(b):
    op = b % OPCODE_MOD
    return op if op < OP_COUNT else ALIASES[op - OP_COUNT]


def is_oom(data):
    n = min(max(len(data) - HEADER, 0) // REC, MAX_OPS)
    for i in range(n):
        r = data[HEADER + i * REC:HEADER + (i + 1) * REC]
        op = decode_op(r[0])
        if op == OP_OSFAIL or (op == OP_TRIM and r[1] >> 2 == 0 and r[3] == TRIM_KEY):
            return True
    return False


def keyed(data):
    if len(data) < HEADER:
        data = data + bytes(HEADER - len(data))
    return data[:3] + bytes([OOM_KEY]) + data[4:]


def main(argv):
    if len(argv) >= 3 and argv[1] == "has":
        return 0 if all(is_oom(open(f, "rb").read()) for f in argv[2:]) else 1
    if len(argv) >= 3 and argv[1] == "key":
        for f in argv[2:]:
            d = open(f, "rb").read()
            if is_oom(d):
                open(f, "wb").write(keyed(d))
        return 0
    if len(argv) == 4 and argv[1] == "move":
        src, dst = argv[2], argv[3]
        os.makedirs(dst, exist_ok=True)
        moved = 0
        for name in sorted(os.listdir(src)):
            p = os.path.join(src, name)
            if name.startswith(".") or not os.path.isfile(p):
                continue
            d = open(p, "rb").read()
            if len(d) < HEADER or d[3] != OOM_KEY:
                continue
            os.replace(p, os.path.join(dst, name))
            moved += 1
        print(f"oom_split: {moved} keyed inputs moved from {src} to {dst}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
