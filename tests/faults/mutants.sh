#!/usr/bin/env bash
# tests/faults/mutants.sh [PATCH...]: the realloc-in-place fault sweep
# (tests/faults/remap.c) must catch each broken core of tests/faults/mutants/.
#
# Each patch (repro/bugs/mutant.sh format, applied to a copy of src/ in
# build/mutants/NAME) declares in its header
#   signature: ERE   the verdict (repro/verdict.py match) of the run's log
#   message: ERE     the exact line of remap.c that must appear in it
# The mutant's build/tests/faults/remap must exit 1 (a FAIL line, not a
# crash or timeout), its first finding must match the signature, and the
# message must be in the log:               PASS: faults/mutant-NAME
# The real core's run of the same program is check-faults' own.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || set -- tests/faults/mutants/*.patch
echo "PLAN: $#"
mkdir -p build/tests/faults
status=0
for p in "$@"; do
  name=$(basename "$p" .patch)
  log=build/tests/faults/mutant-$name.log
  sig=$(sed -n 's/^signature: //p' "$p" | head -1)
  msg=$(sed -n 's/^message: //p' "$p" | head -1)
  if [ -z "$sig" ] || [ -z "$msg" ] || ! repro/verdict.py check-ere "$sig" >/dev/null; then
    echo "FAIL: faults/mutant-$name (patch header lacks a valid signature: / message: line)"; status=1; continue
  fi
  if ! repro/bugs/mutant.sh make "$p" -s build/tests/faults/remap >"$log.build" 2>&1; then
    tail -5 "$log.build" | sed 's/^/    /'
    echo "FAIL: faults/mutant-$name (mutant does not build)"; status=1; continue
  fi
  timeout -k 5 180 "build/mutants/$name/build/tests/faults/remap" >"$log" 2>&1
  rc=$?
  got=$(repro/verdict.py sig "$log")
  if [ $rc -ne 1 ]; then
    echo "  $name: exit $rc, want 1 (a FAIL line); verdict $got"; echo "FAIL: faults/mutant-$name"; status=1
  elif ! repro/verdict.py match "$sig" "$log" >/dev/null; then
    echo "  $name: verdict $got, want $sig"; echo "FAIL: faults/mutant-$name"; status=1
  elif ! line=$(grep -m1 -E "$msg" "$log"); then
    echo "  $name: no line matching /$msg/ in $log"; echo "FAIL: faults/mutant-$name"; status=1
  else
    echo "  $name: $got;$(echo "$line" | sed 's/^ *//; s/^ERR / /')"
    echo "PASS: faults/mutant-$name"
  fi
done
exit $status
