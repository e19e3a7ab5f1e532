#!/usr/bin/env bash
# tests/faults/mutants.sh [PATCH...]: the realloc-in-place fault tests must
# catch each broken core of tests/faults/mutants/.
#
# Each patch (repro/bugs/mutant.sh format, applied to a copy of src/ in
# build/mutants/NAME) declares in its header
#   program: remap|ulimit  which test (default remap: the fault sweep,
#                    remap.c; ulimit: ulimit.c under the soft limit
#                    FAULTS_ULIMIT_KB, as check-faults runs it)
#   signature: ERE   the verdict (repro/verdict.py match) of the run's log
#   message: ERE     the exact line of the test that must appear in it
# The mutant's build/tests/faults/PROGRAM must exit 1 (a FAIL line, not a
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
  prog=$(sed -n 's/^program: //p' "$p" | head -1); prog=${prog:-remap}
  if [ -z "$sig" ] || [ -z "$msg" ] || ! repro/verdict.py check-ere "$sig" >/dev/null; then
    echo "FAIL: faults/mutant-$name (patch header lacks a valid signature: / message: line)"; status=1; continue
  fi
  if ! repro/bugs/mutant.sh make "$p" -s "build/tests/faults/$prog" >"$log.build" 2>&1; then
    tail -5 "$log.build" | sed 's/^/    /'
    echo "FAIL: faults/mutant-$name (mutant does not build)"; status=1; continue
  fi
  if [ "$prog" = ulimit ]; then
    ( ulimit -S -v "${FAULTS_ULIMIT_KB:-262144}" && exec timeout -k 5 60 "build/mutants/$name/build/tests/faults/$prog" ) \
      >"$log" 2>&1
  else
    timeout -k 5 180 "build/mutants/$name/build/tests/faults/$prog" >"$log" 2>&1
  fi
  rc=$?
  got=$(repro/verdict.py sig "$log")
  if [ $rc -ne 1 ]; then
    echo "  $name: exit $rc, want 1 (a FAIL line); verdict $got"; echo "FAIL: faults/mutant-$name"; status=1
  elif ! repro/verdict.py match "$sig" "$log" >/dev/null; then
    echo "  $name: verdict $got, want $sig"; echo "FAIL: faults/mutant-$name"; status=1
  elif ! line=$(grep -m1 -E "$msg" "$log"); then
    echo "  $name: no line matching /$msg/ in $log"; echo "FAIL: faults/mutant-$name"; status=1
  else
    echo "  $name ($prog): $got;$(echo "$line" | sed 's/^ *//; s/^ERR / /')"
    echo "PASS: faults/mutant-$name"
  fi
done
exit $status
