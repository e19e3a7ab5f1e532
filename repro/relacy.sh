#!/usr/bin/env bash
# repro/relacy.sh ITER MUTANT...: the remote queue under Relacy.
# The real core's queue must survive ITER random weak-memory executions;
# each mutant (repro/bugs/NAME.patch, built in its mutant tree) must fail
# with the Relacy report its patch header declares ("signature[relacy]: ERE",
# repro/verdict.py match): a crash or another report is not a catch.
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
  it=$(grep -m1 '^iteration:' "$log/$m.log")
  ere=$(sed -n '/^--- /q; s/^signature\[relacy\]: //p' "repro/bugs/$m.patch" | head -1)
  if [ -z "$ere" ]; then
    echo "FAIL: relacy/mutant-$m (repro/bugs/$m.patch declares no signature[relacy])"; fails=$((fails + 1))
  elif [ $rc -ne 0 ] && what=$(./repro/verdict.py match "$ere" "$log/$m.log"); then
    echo "PASS: relacy/mutant-$m (caught: $what, $it, $ms ms)"
  else
    echo "FAIL: relacy/mutant-$m (want $ere, got $(./repro/verdict.py sig "$log/$m.log") in $iter iterations, exit $rc: $log/$m.log)"; fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ]
