#!/usr/bin/env bash
# repro/replay.sh [--mutants]: replay every reproducer of repro/MANIFEST.
#
# Default (make repro): on the CURRENT core every reproducer must give its
# "expect" column (clean), under ASan and TSan builds:
#   sched   build/sched/sched-replay-asan and -tsan
#   ops     build/fuzz/ops-replay-asan
#   mt      build/fuzz/mt-replay-asan and -tsan
#   preload repro/preload.sh on build/release/libhakmem.so
#   relacy  build/relacy/remote_queue
# plus repro/found/sched-* (found by fuzz/sched campaigns; fuzz/check.sh
# replays the other repro/found/ inputs).  A file under repro/sched/ or
# repro/ops/ without a MANIFEST line is a FAIL: every reproducer is listed.
#
# --mutants: every sched/ops reproducer whose mutant column names a mutant
# must still FAIL on that mutant (built in build/mutants/NAME, plain replay
# binary): the stored schedule still catches the bug.  REPRO_MUTANT_KINDS
# (default "sched ops") limits which kinds are checked.
# Prints PASS:/FAIL: lines; exit 1 on any FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-core}
fails=0
pass() { echo "PASS: repro/$1"; }
fail() { echo "FAIL: repro/$1"; fails=$((fails + 1)); }

# run LABEL CMD...: expect exit 0
run() {
  local label=$1; shift
  local out; out=$(mktemp)
  if { "$@" >"$out" 2>&1; } 2>/dev/null; then pass "$label"
  else fail "$label (exit $?: $*)"; grep -m3 -E 'HAKFUZZ-FAIL|ERROR|WARNING: ThreadSanitizer|hakmem: |preload:' "$out" | sed 's/^/  /'; fi
  rm -f "$out"
}

mapfile -t lines < <(grep -v '^#' repro/MANIFEST | grep -v '^[[:space:]]*$')
listed=" "
for l in "${lines[@]}"; do listed+="$(cut -f1 <<<"$l") "; done

if [ "$mode" = --mutants ]; then
  for l in "${lines[@]}"; do
    IFS=$'\t' read -r file kind what mutant expect <<<"$l"
    [ "$mutant" = regression ] && continue
    [[ " ${REPRO_MUTANT_KINDS:-sched ops} " == *" $kind "* ]] || continue
    case $kind in sched) tgt=build/sched/sched-replay ;; ops) tgt=build/fuzz/ops-replay ;; *) continue ;; esac
    b=$(basename "$file")
    if ! ./repro/bugs/mutant.sh make "$mutant" -s -j2 "$tgt" >"build/repro/mutant-$mutant.log" 2>&1; then
      fail "mutant-$b (mutant $mutant does not build: build/repro/mutant-$mutant.log)"; continue; fi
    t0=${EPOCHREALTIME/./}
    if { timeout -k 2 20 "build/mutants/$mutant/$tgt" "$file" >"build/repro/mutant-$b.log" 2>&1; } 2>/dev/null; then
      fail "mutant-$b (replays clean on mutant $mutant: no longer a reproducer)"
    else
      ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
      why=$(grep -m1 -oE 'HAKFUZZ-FAIL\[[a-z-]+\]|hakmem: [a-z ]+|ERROR: AddressSanitizer: [a-z-]+' "build/repro/mutant-$b.log")
      pass "mutant-$b (still fails on $mutant: ${why:-crash}; $ms ms)"
    fi
  done
  [ $fails -eq 0 ]; exit
fi

for l in "${lines[@]}"; do
  IFS=$'\t' read -r file kind what mutant expect <<<"$l"
  b=$(basename "$file")
  if [ ! -e "$file" ]; then fail "$b (listed in MANIFEST, missing)"; continue; fi
  if [ "$expect" != clean ]; then fail "$b (expect column '$expect': the current core must be clean)"; continue; fi
  case $kind in
    sched)   run "$b-asan" build/sched/sched-replay-asan "$file"
             run "$b-tsan" build/sched/sched-replay-tsan "$file" ;;
    ops)     run "$b-asan" build/fuzz/ops-replay-asan "$file" ;;
    mt)      run "$b-asan" build/fuzz/mt-replay-asan "$file"
             run "$b-tsan" build/fuzz/mt-replay-tsan "$file" ;;
    preload) run "$b" ./repro/preload.sh build/release/libhakmem.so ;;
    relacy)  run "$b" build/relacy/remote_queue 20000 ;;
    *)       fail "$b (unknown kind $kind)" ;;
  esac
done
for f in repro/found/sched-*; do
  [ -f "$f" ] || continue
  case "$f" in *.*) continue ;; esac
  run "found-$(basename "$f")-asan" build/sched/sched-replay-asan "$f"
  run "found-$(basename "$f")-tsan" build/sched/sched-replay-tsan "$f"
done
for f in repro/sched/* repro/ops/*; do
  [ -f "$f" ] || continue
  [[ "$listed" == *" $f "* ]] || fail "$(basename "$f") (stored reproducer without a MANIFEST line)"
done
[ $fails -eq 0 ]
