#!/usr/bin/env bash
# sanitizers/selftest.sh (make gate-selftest): the gate must be able to go
# red.  Each case builds a deliberately broken core with the project's
# mutant mechanism (repro/bugs/mutant.sh: a patch applied to a copy of src/
# in build/mutants/NAME/) and runs the gate's CI form there, narrowed to the
# variant that must catch it.  A case passes when that gate
#   - exits non-zero,
#   - says RED in its report.md, with FAIL in the table,
#   - and keeps, in its findings/, a report of the expected kind that points
#     into the mutated function.
# Cases: gate-remote-free-race (TSan: a data race added to a remote free)
#        gate-heap-overflow    (ASan: calloc writes one byte past the block)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
JOBS=${JOBS:-2}
out=build/gate-selftest
rm -rf "$out"; mkdir -p "$out"

# name ; combo ; suites ; report pattern ; function the report must name
CASES="gate-remote-free-race;tsan-clang;st unit replay;WARNING: ThreadSanitizer: data race;hak__remote_push
gate-heap-overflow;asan-clang;st unit replay;ERROR: AddressSanitizer: (heap-buffer-overflow|use-after-poison);hak__calloc"

fails=0
while IFS=";" read -r name combo suites pat fn; do
  t0=$(date +%s)
  log=$root/$out/$name.log
  tree=$root/build/mutants/$name
  # the mutant's gate writes its report inside the mutant tree
  repro/bugs/mutant.sh make "$name" check-gate JOBS="$JOBS" GATE_COMBOS="$combo" GATE_SUITES="$suites" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  rep=$tree/build/gate-check/report.md
  why=
  if grep -q 'MUTANT BROKEN' "$log"; then why="the mutant does not apply: $(grep -m1 'MUTANT BROKEN' "$log")"
  elif [ $rc -eq 0 ]; then why="the gate stayed green (exit 0)"
  elif [ ! -f "$rep" ]; then why="no report.md (exit $rc)"
  elif ! grep -q '^\*\*RED\*\*' "$rep" || ! grep -q 'FAIL' "$rep"; then why="report.md does not say RED with a FAIL cell"
  else
    hit=$(grep -lE "$pat" "$tree"/build/gate-check/findings/* 2>/dev/null | xargs -r grep -l "$fn" | head -1)
    [ -n "$hit" ] || why="no kept report matches /$pat/ naming $fn"
  fi
  if [ -z "$why" ]; then
    echo "PASS: gate-selftest/$name (gate red in ${secs}s; report $rep)"
    echo "  first finding: ${hit#$root/}"
    grep -m1 -E "$pat" "$hit" | sed 's/^/    | /'
    grep -m1 -E "#[0-9]+ .*$fn" "$hit" | sed 's/^/    | /'
    sed -n '/^| variant/,/^$/p' "$rep" | sed 's/^/    /'
  else
    echo "FAIL: gate-selftest/$name ($why; log $log)"
    fails=$((fails + 1))
  fi
done <<<"$CASES"
[ $fails -eq 0 ]
