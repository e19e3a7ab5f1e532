#!/usr/bin/env bash
# repro/check.sh: the make-check suite of repro/ (check-repro).
#   1. every reproducer of repro/MANIFEST replays clean on the current core
#      under ASan and TSan (repro/replay.sh)
#   2. determinism: the same schedule, 100 fresh processes, identical output
#      and crash report (repro/determinism.sh)
#   3. Relacy: the real remote queue passes, the relaxed-order mutants fail
#      (repro/relacy.sh)
#   4. the stored schedules still catch their mutants (repro/replay.sh --mutants)
# Builds first (-j2), one FAIL line if something does not build.  PASS:/FAIL:
# lines; exit 1 on any FAIL.  Budget: < 3 min on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/repro
fails=0
t0=${EPOCHREALTIME/./}
lap() { echo "  ($(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms so far)"; }

if ! make -s -j2 --no-print-directory sched build/fuzz/ops-replay-asan build/fuzz/mt-replay-asan \
       build/fuzz/mt-replay-tsan build/relacy/remote_queue build/release/libhakmem.so >build/repro/build.log 2>&1; then
  echo "FAIL: repro/build (see build/repro/build.log)"; tail -5 build/repro/build.log | sed 's/^/  /'
  exit 1
fi
# the racy-push mutant's replay binary, for the determinism crash case
./repro/bugs/mutant.sh make 08-racy-push -s -j2 build/sched/sched-replay >build/repro/mutant-08-racy-push.log 2>&1 ||
  { echo "FAIL: repro/build (mutant 08-racy-push: build/repro/mutant-08-racy-push.log)"; fails=$((fails + 1)); }
lap
./repro/replay.sh || fails=$((fails + 1)); lap
./repro/determinism.sh "${REPRO_DET_RUNS:-100}" || fails=$((fails + 1)); lap
./repro/relacy.sh "${RELACY_ITER:-200000}" 09-drain-no-acquire 10-push-no-release || fails=$((fails + 1)); lap
REPRO_MUTANT_KINDS=sched ./repro/replay.sh --mutants || fails=$((fails + 1)); lap
[ $fails -eq 0 ]
