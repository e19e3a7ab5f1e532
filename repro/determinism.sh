#!/usr/bin/env bash
# repro/determinism.sh [N]: a schedule replays identically.
# Each case runs N times, each in a fresh process, with -v (every operation
# and every thread switch printed); the exit status and the whole output
# (stdout + stderr; sanitizer pids "==1234==" blanked) must be byte-for-byte
# the same every time:
#   clean    a seed with 3 threads on the real core (no crash)
#   crash    the stored racy-push schedule on its mutant: the same lost
#            update, the same checker report, the same abort, every time.
# Prints PASS:/FAIL: lines; exit 1 on any FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
W=build/repro/determinism
mkdir -p "$W"
fails=0

one() {   # one NAME EXPECT(clean|crash) BIN FILE
  local name=$1 expect=$2 bin=$3 file=$4 ref="" k rc out t0 ms
  [ -x "$bin" ] || { echo "FAIL: repro/determinism-$name (no $bin)"; fails=$((fails + 1)); return; }
  t0=${EPOCHREALTIME/./}
  for ((k = 0; k < n; k++)); do
    { "$bin" -v "$file" >"$W/$name.out" 2>&1; } 2>/dev/null
    rc=$?
    sed -E 's/==[0-9]+==/==PID==/g' "$W/$name.out" >"$W/$name.norm"
    out="$rc $(md5sum <"$W/$name.norm" | cut -c1-32)"
    if [ -z "$ref" ]; then
      ref=$out; cp "$W/$name.norm" "$W/$name.ref"
      if [ "$expect" = clean ] && [ $rc -ne 0 ]; then echo "FAIL: repro/determinism-$name (exit $rc, expected clean)"; fails=$((fails + 1)); return; fi
      if [ "$expect" = crash ] && [ $rc -eq 0 ]; then echo "FAIL: repro/determinism-$name (ran clean, expected a crash)"; fails=$((fails + 1)); return; fi
    elif [ "$out" != "$ref" ]; then
      echo "FAIL: repro/determinism-$name (run $k differs from run 0: exit/md5 '$out' vs '$ref'; diff:)"
      diff "$W/$name.ref" "$W/$name.norm" | head -10 | sed 's/^/  /'
      fails=$((fails + 1)); return
    fi
  done
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  local lines switches report
  lines=$(wc -l <"$W/$name.ref")
  switches=$(grep -c -- '-> T' "$W/$name.ref")
  report=$(grep -m1 'HAKFUZZ-FAIL' "$W/$name.ref" | cut -c1-110)
  echo "PASS: repro/determinism-$name ($n replays identical: exit ${ref%% *}, $lines lines, $switches switches${report:+, \"$report\"}; $ms ms)"
}

one clean clean build/sched/sched-replay fuzz/sched/seeds/seed-four-mixed
one racy-push-crash crash build/mutants/08-racy-push/build/sched/sched-replay repro/sched/08-racy-push.sched
[ $fails -eq 0 ]
