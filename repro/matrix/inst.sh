# repro/matrix/inst.sh: what each instrument of the matrix is (sourced).
#
# For instrument I:
#   inst_sources I        files whose change changes I's verdicts (cache key)
#   inst_targets I        make targets of a tree that I runs (built untimed)
#   inst_search I T S B D search tree T with seed S for at most B seconds in
#                         directory D, from EMPTY inputs: no corpus, no seed
#                         files.  Leaves D/log (the instrument's output) and
#                         sets CAND (the input to replay, "" if none) and
#                         NOTE (why nothing was found).
#   inst_replay I T C D   replay candidate C on tree T: D/replay-*.log
#                         (for deterministic instruments C names the test)
# Seeded instruments (ops mt sched props) run once per seed; relacy, misuse,
# unit, gate and preload are deterministic and run once (seed 0).  preload
# (repro/preload.sh: short programs with the mutant's release .so as
# malloc) is the one instrument that sees bugs of the interposed path.
# shellcheck shell=bash

COMMON_SRCS="Makefile repro/matrix/inst.sh repro/matrix/cell.sh repro/verdict.py"
PROPS_GROUPS="p1_disjoint p2_metadata p3_classes p4_remote p5_api p6_exit"
# props cases per group in one pass (4 x those of make props); the budget
# is shared out over the groups still to run, and a pass that ends early
# starts again with the next rapidcheck seed.
declare -A PROPS_CASES=([p1_disjoint]=2000 [p2_metadata]=1200 [p3_classes]=1200 [p4_remote]=1600 [p5_api]=800 [p6_exit]=1200)
# the gate part that fits the budget: the unit tests under ASan, fast mode
# (st tests the tools, replay needs a corpus, fuzz is the ops cell, real is
# minutes under memcheck; tsan-clang unit alone took 242 s wall on the
# loaded 2-core machine, asan-clang unit ~35 s of CPU)
GATE_COMBOS="asan-clang"
# A mutant whose gate signature is a TSan report runs the TSan gate instead
# (an ASan run cannot produce one), on the unit program with threads only:
# tsan-clang over every unit program is ~4 min wall, past the budget.
GATE_TSAN_COMBOS="tsan-clang" GATE_TSAN_UNITS="threads"
# gate_setup NAME: GATE_COMBOS and GATE_UNITS (unit programs, "" = all) for
# mutant NAME's gate cell, from its declared signatures
gate_setup() {
  GATE_UNITS=
  if declared "$1" gate | grep -q '^\^tsan'; then GATE_COMBOS=$GATE_TSAN_COMBOS GATE_UNITS=$GATE_TSAN_UNITS; fi
}

inst_sources() {
  local s
  case $1 in
    ops)    s="fuzz/ops.c fuzz/replay.c fuzz/ops.dict fuzz/fuzz.mk fuzz/uninstrumented.txt $(ls fuzz/*.h)" ;;
    mt)     s="fuzz/mt.c fuzz/replay.c fuzz/mt.dict fuzz/fuzz.mk fuzz/uninstrumented.txt $(ls fuzz/*.h)" ;;
    sched)  s="$(ls fuzz/sched/*.c fuzz/sched/*.h fuzz/*.h) repro/repro.mk" ;;
    props)  s="$(ls props/*.cpp props/*.h) props/props.mk" ;;
    relacy) s="$(ls repro/relacy/*) repro/repro.mk" ;;
    misuse) s="$(ls tests/misuse/*) tests/tests.mk" ;;
    unit)   s="$(ls tests/unit/*.c) tests/t.h tests/tests.mk" ;;
    gate)   s="$(ls sanitizers/*.mk sanitizers/*.sh sanitizers/*.h tests/unit/*.c) tests/t.h" ;;
    preload) s="repro/preload.sh" ;;
  esac
  echo "$COMMON_SRCS $s"
}

inst_targets() {
  case $1 in
    ops)    echo "build/fuzz/ops-lf build/fuzz/ops-replay build/fuzz/ops-replay-asan" ;;
    mt)     echo "build/fuzz/mt-lf build/fuzz/mt-replay build/fuzz/mt-replay-asan" ;;
    sched)  echo "build/sched/sched-lf build/sched/sched-replay build/sched/sched-replay-asan" ;;
    props)  echo "build/props-core/libhakmem.a" ;;
    relacy) echo "build/relacy/remote_queue" ;;
    misuse) echo "build/release/libhakmem.a" ;;
    unit)   echo "build/check/libhakmem.a $(for f in tests/unit/*.c; do f=${f##*/}; echo "build/tests/unit/${f%.c}"; done)" ;;
    gate)   echo "release $(for c in $GATE_COMBOS; do echo "san-$c-unit"; done)${GATE_UNITS:+ SAN_UNIT_NAMES=$GATE_UNITS}" ;;
    preload) echo "build/release/libhakmem.so" ;;
  esac
}

# the core tree's targets: the verification runs them (clean on the real
# core), and their objects seed each mutant tree (cell.sh)
inst_core_targets() {
  case $1 in
    props)  echo "props-bins" ;;
    *)      inst_targets "$1" ;;
  esac
}

# props binaries of a tree: the real tree's property objects linked with the
# tree's props-core (as props/mutants.sh does), so a mutant costs one link
props_link() {
  local t=$1 g objs
  mkdir -p "$t/build/props-m"
  for g in $PROPS_GROUPS; do
    objs="$ROOT/build/props/obj/main.o $ROOT/build/props/obj/common.o $ROOT/build/props/obj/$g.o"
    case " p1_disjoint p4_remote p6_exit " in *" $g "*) objs="$objs $ROOT/build/props/obj/heapmodel.o" ;; esac
    # shellcheck disable=SC2086
    ${PROPS_CXX:-g++} -o "$t/build/props-m/$g" $objs "$t/build/props-core/libhakmem.a" -lrapidcheck -lpthread || return 1
  done
}

# lf_search KIND BIN SEED B D EXTRA...: libFuzzer from an empty corpus until
# its first finding; minimise it (untimed, 15 s) into D/min
lf_search() {
  local kind=$1 bin=$2 seed=$3 b=$4 d=$5; shift 5
  local art rc
  mkdir -p "$d/corpus"   # empty: the search starts from nothing
  { timeout -k 5 $((b + 20)) "$bin" -seed="$seed" -max_total_time="$b" -timeout=25 -rss_limit_mb=2560 \
      -artifact_prefix="$d/" "$@" "$d/corpus" >"$d/log" 2>&1; } 2>/dev/null
  rc=$?
  ELAPSED=$(( $(now_ms) - T0 ))
  art=$(ls "$d"/crash-* "$d"/leak-* "$d"/timeout-* "$d"/oom-* "$d"/slow-unit-* 2>/dev/null | head -1)
  if [ -z "$art" ]; then
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then NOTE="timeout (the fuzzer ran past its budget, killed)"
    else NOTE="no finding in $b s (exit $rc)"; fi
    CAND=; return
  fi
  case ${art##*/} in
    timeout-*|slow-unit-*) NOTE="timeout (libFuzzer -timeout=25 artifact ${art##*/})"; CAND=; return ;;
    oom-*) NOTE="oom (libFuzzer artifact ${art##*/})"; CAND=; return ;;
  esac
  { timeout -k 5 40 "$bin" -minimize_crash=1 -max_total_time=15 -seed="$seed" "$@" \
      -exact_artifact_path="$d/min" "$art" >"$d/minimise.log" 2>&1; } 2>/dev/null
  CAND=$art
  [ -s "$d/min" ] && CAND="$d/min $art"   # the minimised one first, the original as fallback
}

inst_search() {
  local i=$1 t=$2 seed=$3 b=$4 d=$5
  CAND= NOTE=
  T0=$(now_ms)
  case $i in
    ops)   lf_search ops "$t/build/fuzz/ops-lf" "$seed" "$b" "$d" -dict="$ROOT/fuzz/ops.dict" -max_len=2048 ;;
    mt)    lf_search mt "$t/build/fuzz/mt-lf" "$seed" "$b" "$d" -dict="$ROOT/fuzz/mt.dict" -max_len=2048 ;;
    sched) lf_search sched "$t/build/sched/sched-lf" "$seed" "$b" "$d" -max_len=4096 ;;
    props) props_search "$t" "$seed" "$b" "$d" ;;
    *)     det_run "$i" "$t" "" "$d/log" "$b"; ELAPSED=$(( $(now_ms) - T0 ))
           if [ "$("$VERDICT" sig "$d/log")" = none ]; then NOTE="clean run in $(secs $ELAPSED) s"
           else CAND="run:$(det_name "$i" "$d/log")"; fi ;;
  esac
}

# props_search T SEED B D: every group with rapidcheck seed SEED (then
# SEED+1000, ...) until a property fails or the budget is spent
props_search() {
  local t=$1 seed=$2 b=$3 d=$4 g left n pass=0 rc
  mkdir -p "$d/props"; : >"$d/log"
  while :; do
    n=6
    for g in $PROPS_GROUPS; do
      left=$(( b * 1000 - ($(now_ms) - T0) ))
      [ $left -gt 500 ] || break 2
      { PROPS_REPRO_DIR=$d/props RC_PARAMS="seed=$((seed + 1000 * pass)) max_success=${PROPS_CASES[$g]}" \
          timeout -k 2 $(( (left / n + 999) / 1000 )) "$t/build/props-m/$g" >"$d/out.$g" 2>"$d/err.$g"; } 2>/dev/null
      rc=$?; n=$((n - 1))
      cat "$d/out.$g" >>"$d/log"
      if grep -q '^FAIL' "$d/out.$g"; then
        ELAPSED=$(( $(now_ms) - T0 ))
        # the candidate: group, property and rapidcheck's reproduce string
        CAND="$g $(sed -n 's#^FAIL: props/\([^ ]*\).*#\1#p' "$d/out.$g" | head -1) $(grep -m1 -o 'reproduce=[^"]*' "$d/err.$g")"
        return
      fi
      [ $rc -eq 124 ] && echo "props/$g: cut at its share of the budget" >>"$d/log"
    done
    pass=$((pass + 1))
  done
  ELAPSED=$(( $(now_ms) - T0 ))
  NOTE="no property failed in $b s ($pass full passes)"
}

# det_run I T NARROW LOG SECONDS: one run of a deterministic instrument on
# tree T (NARROW: one case/program/combination, or "" for all)
det_run() {
  local i=$1 t=$2 nw=$3 log=$4 s=$5 rc f
  case $i in
    relacy) { timeout -k 5 "$s" "$t/build/relacy/remote_queue" 200000 >"$log" 2>&1; } 2>/dev/null; rc=$? ;;
    misuse) { (cd "$t" && MISUSE_LIB=build/release/libhakmem.a timeout -k 5 "$s" ./tests/misuse/run.sh $nw) >"$log" 2>&1; } 2>/dev/null; rc=$? ;;
    preload) { timeout -k 5 "$s" "$ROOT/repro/preload.sh" "$t/build/release/libhakmem.so" >"$log" 2>&1; } 2>/dev/null; rc=$? ;;
    unit)   { timeout -k 5 "$s" make -C "$t" -s --no-print-directory check-unit ${nw:+UNIT=$nw} >"$log" 2>&1; } 2>/dev/null; rc=$? ;;
    gate)   rm -rf "$t/build/gate-check"
            { timeout -k 5 "$s" make -C "$t" -s --no-print-directory check-gate GATE_COMBOS="${nw:-$GATE_COMBOS}" GATE_SUITES=unit \
                ${GATE_UNITS:+SAN_UNIT_NAMES="$GATE_UNITS"} >"$log" 2>&1; } 2>/dev/null; rc=$?
            # the finding is the first kept report (the tool's own words), then the summary
            f=$(ls "$t"/build/gate-check/findings/*.log 2>/dev/null | head -1)
            if [ -n "$f" ]; then { cat "$f"; echo "-- gate summary:"; cat "$log"; } >"$log.f"; mv "$log.f" "$log"; fi ;;
  esac
  # a run cut at its time limit is a timeout, whatever it printed before
  [ "$rc" -eq 124 ] && echo "timeout: the run passed its $s s" >>"$log"
  return 0
}

# det_name I LOG: what a deterministic run's finding names (the narrowing
# of its replay): misuse case, unit program, gate combination, or "" (all)
det_name() {
  local sig; sig=$("$VERDICT" sig "$2")
  case $1 in
    misuse) [[ $sig =~ ^test\[misuse/([A-Za-z0-9_-]+)\] ]] && { echo "${BASH_REMATCH[1]}"; return; } ;;
    unit)   [[ $sig =~ ^test\[([A-Za-z0-9_-]+)/ ]] && [ -f "$ROOT/tests/unit/${BASH_REMATCH[1]}.c" ] && { echo "${BASH_REMATCH[1]}"; return; } ;;
    gate)   grep -m1 -oE '^FAIL: gate/[a-z]+-[a-z]+' "$2" | sed 's#^FAIL: gate/##'; return ;;
  esac
  echo ""
}
