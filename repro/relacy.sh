#!/usr/bin/env bash
# repro/relacy.sh ITER MUTANT...: the remote queue under Relacy.
# The real core's queue must survive ITER random weak-memory executions;
# each mutant (repro/bugs/NAME.patch, built in its mutant tree) must fail.
# Logs: build/relacy/*.log.  Prints PASS:/FAIL: lines; exit 1 on any FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
iter=${1:-200000}; shift || true
fails=0
log=build/relacy
mkdir -p "$log"

t0=${EPOCHREALTIME/./}
if build/relacy/remote_queue "$iter" >"$log/core.log" 2>&1; then
  echo "PASS: relacy/remote-queue ($(tail -1 "$log/core.log"); $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms)"
else
  echo "FAIL: relacy/remote-queue (the real queue fails: $log/core.log)"
  grep -m3 -E 'DATA RACE|ASSERT|FAILED|iteration:' "$log/core.log" | sed 's/^/  /'
  fails=$((fails + 1))
fi

for m in "$@"; do
  if ! ./repro/bugs/mutant.sh make "$m" -s build/relacy/remote_queue >"$log/$m.build.log" 2>&1; then
    echo "FAIL: relacy/mutant-$m (does not build: $log/$m.build.log)"; fails=$((fails + 1)); continue
  fi
  t0=${EPOCHREALTIME/./}
  build/mutants/$m/build/relacy/remote_queue "$iter" >"$log/$m.log" 2>&1
  rc=$?
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  what=$(grep -m1 -E 'DATA RACE|USER ASSERT|ASSERT FAILED|LIVELOCK|DEADLOCK|ACCESS TO' "$log/$m.log")
  it=$(grep -m1 '^iteration:' "$log/$m.log")
  if [ $rc -ne 0 ] && [ -n "$what" ]; then
    echo "PASS: relacy/mutant-$m (caught: $what, $it, $ms ms)"
  else
    echo "FAIL: relacy/mutant-$m (not caught in $iter iterations, exit $rc: $log/$m.log)"; fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ]
