#!/usr/bin/env bash
# repro/check.sh: the make-check suite of repro/ (check-repro).
#   0. every mutant patch of the project still applies (repro/patches.sh)
#   1. every reproducer of repro/MANIFEST replays clean on the current core
#      under ASan and TSan (repro/replay.sh)
#   2. determinism: the same schedule, 100 fresh processes, identical output
#      and crash report (repro/determinism.sh)
#   3. Relacy: the real remote queue passes, the relaxed-order mutants fail
#      (repro/relacy.sh)
#   4. every stored reproducer with a mutant (sched, ops and preload rows of
#      MANIFEST) gives its named signature on that mutant (repro/replay.sh
#      --mutants; each mutant tree is built once)
# Builds first (-j2), one FAIL line if something does not build.  PASS:/FAIL:
# lines; exit 1 on any FAIL.  Budget: < 3 min on 2 cores.
# Plan (tests/check.sh): replay.sh prints its own PLAN lines; the
# scripts that do not, determinism.sh, relacy.sh and patches.sh, are
# declared here.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/repro
fails=0
t0=${EPOCHREALTIME/./}
lap() { echo "  ($(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms so far)"; }
relacy_mutants=(01-drain-nonatomic 08-racy-push 09-drain-no-acquire 10-push-no-release)
echo "PLAN: $((2 + 1 + ${#relacy_mutants[@]} + 1)) (determinism: clean + crash; relacy: the real queue + each mutant; patches)"
./repro/patches.sh || fails=$((fails + 1))   # first: a broken patch also breaks step 4, less clearly

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
./repro/relacy.sh "${RELACY_ITER:-200000}" "${relacy_mutants[@]}" || fails=$((fails + 1)); lap
./repro/replay.sh --mutants || fails=$((fails + 1)); lap
[ $fails -eq 0 ]
