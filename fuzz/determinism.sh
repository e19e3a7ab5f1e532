#!/usr/bin/env bash
# fuzz/determinism.sh: the check-determinism suite.  Replays every input of
# corpus/ops twice in one process (build/fuzz/ops-replay -d) and compares
# the trace hash of the two runs (fuzz/ops.c hfz_trace_hash: offsets of the
# returned addresses within their granule, usable sizes, classes, budget
# left).  A persistent-mode fuzzer runs inputs one after another in one
# process; an input whose second run differs is what AFL++ reports as
# unstable, and a finding that does not replay.
# PASS needs the replay's own summary line naming every input and 0
# differences: a crash, a build error or a short run is a FAIL.
# corpus/mt is not included: its threads interleave differently each run.
set -uo pipefail
cd "$(dirname "$0")/.."
echo "PLAN: 1"
echo "(corpus/mt not replayed: fuzz/mt runs threads, its trace is not reproducible by design)"
FB=build/fuzz
log=build/logs/determinism-ops.out
mkdir -p build/logs
if ! make -s --no-print-directory $FB/ops-replay >"$log" 2>&1; then
  echo "FAIL: determinism-ops (build failed, see $log)"; exit 0
fi
n=$(find corpus/ops corpus/ops-oom -type f ! -name '.*' ! -name '*README*' | wc -l)
$FB/ops-replay -d corpus/ops corpus/ops-oom >"$log" 2>&1
rc=$?
grep -m5 '^HAKFUZZ-NONDET' "$log"
if [ "$rc" -eq 0 ] && grep -qx "replay -d: 0 of $n inputs gave a different trace on their second run" "$log"; then
  echo "PASS: determinism-ops ($n inputs, each replayed twice, same trace)"
else
  echo "FAIL: determinism-ops ($(grep -m1 '^replay -d:' "$log" || echo "no summary line, exit $rc"); see $log)"
fi
