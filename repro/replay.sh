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
# --mutants: every reproducer whose mutant column names a mutant must, on
# that mutant (built once per mutant in build/mutants/NAME by
# repro/bugs/mutant.sh), produce the named signature of its signature column:
# repro/verdict.py match ERE LOG.  A timeout, a crash without an oracle line
# or another oracle's finding is a FAIL, not "still fails".  Binaries:
#   sched    build/sched/sched-replay (plain)
#   ops      build/fuzz/ops-replay-asan, the binary repro/matrix/cell.sh finds
#            and checks ops inputs on (an input can depend on the build: with
#            the canonical caches, which segment heads the cache differs
#            between the plain and the ASan build; 24-segcache-any-kind)
#   mt       build/fuzz/mt-replay (plain; real threads, so a row is kept only
#            when its input gives the signature on every replay: the matrix's
#            mt findings are end-of-input checks after the join)
#   preload  repro/preload.sh on the mutant's build/release/libhakmem.so
# REPRO_MUTANT_KINDS (default "sched ops mt preload") limits the kinds checked.
#
# Both modes print "PLAN: N" first (tests/check.sh), computed from MANIFEST;
# MANIFEST_ROWS / MANIFEST_MUTANT_ROWS below are the committed row counts, so
# a row deleted with its file is a FAIL rather than a shorter plan.
# Prints PASS:/FAIL: lines; exit 1 on any FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
MANIFEST_ROWS=26          # reproducer lines of repro/MANIFEST
MANIFEST_MUTANT_ROWS=24   # ... of which name a mutant (the rest: regression)
mode=${1:-core}
fails=0
pass() { echo "PASS: repro/$1"; }
fail() { echo "FAIL: repro/$1"; fails=$((fails + 1)); }
mkdir -p build/repro

# run LABEL CMD...: expect exit 0
run() {
  local label=$1; shift
  local out; out=$(mktemp)
  if { "$@" >"$out" 2>&1; } 2>/dev/null; then pass "$label"
  else fail "$label (exit $?: $*; $(./repro/verdict.py sig "$out"))"; grep -m3 -E 'HAKFUZZ-FAIL|ERROR|WARNING: ThreadSanitizer|hakmem: |preload:' "$out" | sed 's/^/  /'; fi
  rm -f "$out"
}

mapfile -t lines < <(grep -v '^#' repro/MANIFEST | grep -v '^[[:space:]]*$')
listed=" "
for l in "${lines[@]}"; do listed+="$(cut -f1 <<<"$l") "; done

if [ "$mode" = --mutants ]; then
  kinds=" ${REPRO_MUTANT_KINDS:-sched ops mt preload} "
  # pass 1: the rows to check and, per mutant, every target they need
  declare -A targets=()
  rows=() nmut=0
  for l in "${lines[@]}"; do
    IFS=$'\t' read -r file kind what mutant expect sig <<<"$l"
    [ "$mutant" = regression ] && continue
    nmut=$((nmut + 1))
    [[ "$kinds" == *" $kind "* ]] || continue
    case $kind in
      sched)   tgt=build/sched/sched-replay ;;
      ops)     tgt=build/fuzz/ops-replay-asan ;;
      mt)      tgt=build/fuzz/mt-replay ;;
      preload) tgt=build/release/libhakmem.so ;;
      *)       tgt= ;;
    esac
    rows+=("$file"$'\x1f'"$kind"$'\x1f'"$mutant"$'\x1f'"$tgt"$'\x1f'"$sig")   # (an ERE may hold "|")
    [ -n "$tgt" ] && targets[$mutant]="${targets[$mutant]:-} $tgt"
  done
  echo "PLAN: ${#rows[@]}"
  if [ "$kinds" = " sched ops mt preload " ] && [ "$nmut" -lt "$MANIFEST_MUTANT_ROWS" ]; then
    fail "manifest (only $nmut mutant rows, $MANIFEST_MUTANT_ROWS planned: a reproducer was dropped)"
  fi
  # pass 2: build each mutant once
  declare -A broken=()
  for m in "${!targets[@]}"; do
    # shellcheck disable=SC2086
    if ! ./repro/bugs/mutant.sh make "$m" -s -j2 ${targets[$m]} >"build/repro/mutant-$m.log" 2>&1; then
      broken[$m]=1
    fi
  done
  # pass 3: replay, and name what fired
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allow_user_segv_handler=0"; export ASAN_OPTIONS
  for r in "${rows[@]}"; do
    IFS=$'\x1f' read -r file kind mutant tgt sig <<<"$r"
    b=$(basename "$file")
    b=${b#mutant-}; [ "$kind" = preload ] && b=preload-$mutant
    if [ -z "$tgt" ]; then fail "mutant-$b (kind $kind has no mutant replay)"; continue; fi
    if ! why=$(./repro/verdict.py check-ere "$sig"); then
      fail "mutant-$b (signature column '$sig': $why)"; continue; fi
    if [ -n "${broken[$mutant]:-}" ]; then
      fail "mutant-$b (mutant $mutant does not build: build/repro/mutant-$mutant.log)"; continue; fi
    log=build/repro/mutant-$b.log
    t0=${EPOCHREALTIME/./}
    case $kind in
      preload) { timeout -k 2 30 ./repro/preload.sh "build/mutants/$mutant/$tgt" >"$log" 2>&1; } 2>/dev/null ;;
      *)       { timeout -k 2 20 "build/mutants/$mutant/$tgt" "$file" >"$log" 2>&1; } 2>/dev/null ;;
    esac
    rc=$? ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
    [ $rc -eq 124 ] && echo "timeout: the replay ran past its limit" >>"$log"
    if got=$(./repro/verdict.py match "$sig" "$log"); then
      pass "mutant-$b (on $mutant: $got; $ms ms)"
    else
      fail "mutant-$b (on $mutant: want $sig, got ${got:-?} (exit $rc); $log)"
    fi
  done
  [ $fails -eq 0 ]; exit
fi

# core mode: the plan is one PASS per replay below
plan=0
for l in "${lines[@]}"; do
  case $(cut -f2 <<<"$l") in sched|mt) plan=$((plan + 2)) ;; *) plan=$((plan + 1)) ;; esac
done
for f in repro/found/sched-*; do
  [ -f "$f" ] || continue
  case "$f" in *.*) continue ;; esac
  plan=$((plan + 2))
done
echo "PLAN: $plan"
[ "${#lines[@]}" -lt "$MANIFEST_ROWS" ] &&
  fail "manifest (only ${#lines[@]} rows, $MANIFEST_ROWS planned: a reproducer was dropped)"

for l in "${lines[@]}"; do
  IFS=$'\t' read -r file kind what mutant expect sig <<<"$l"
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
  [[ "$f" == *.sig ]] && continue   # the signature a matrix-found reproducer gave (repro/matrix/cell.sh)
  [[ "$listed" == *" $f "* ]] || fail "$(basename "$f") (stored reproducer without a MANIFEST line)"
done
[ $fails -eq 0 ]
