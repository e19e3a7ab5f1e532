#!/usr/bin/env bash
# sanitizers/gate.sh: the merge gate (issue 5).  Run through make, which
# passes each variant's settings (SAN_ENV_v, SAN_RUN_v, ...):
#   make gate [FULL=1] [GATE_COMBOS="asan-clang tsan-gcc"] [GATE_SUITES="unit st"]
#   make check-gate        the CI form: --mode fast --ci
#
#   gate.sh [--mode fast|normal|full] [--out DIR] [--suites "S..."] [--ci] COMBO...
#
# COMBO is variant-compiler (asan-clang, ubsan-gcc, ...).  Suites:
#   st      sanitizers/tests: the tool reports each bug_* program, and
#           nothing on clean_* (sanitizers/tests/run.sh)
#   unit    tests/unit/*.c linked with the variant's core (under memcheck for
#           valgrind)
#   props   the rapidcheck property suite (not under msan: see msan.mk)
#   replay  every input of corpus/<target>/ and every reproducer under
#           repro/ through each fuzz target's replay binary
#   fuzz    a libFuzzer run of each target (clang variants; length by mode)
#   real    valgrind: memcheck on real programs: tests/smoke_mt and the clean
#           programs linked with the release-flags core, and system programs
#           (sort, awk) with the release library under LD_PRELOAD
# --ci runs only CI_PLAN below.  Each combination is built first (only the
# binaries of the suites it runs); a build failure fails its suites.
# Output: one "PASS: gate/COMBO/SUITE/NAME" or "FAIL: ..." line per check,
# then the table variant x suite -> pass/fail and seconds, also written to
# OUT/report.md; every failing run's full report is kept in OUT/findings/.
# Exit status 1 on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=normal out=build/gate suites_arg= ci=0 combos=()
while [ $# -gt 0 ]; do
  case $1 in
    --mode) mode=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --suites) suites_arg=$2; shift 2 ;;
    --ci) ci=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "gate.sh: unknown option $1" >&2; exit 2 ;;
    *) combos+=("$1"); shift ;;
  esac
done
: "${SAN_COMBOS:?gate.sh is run through make (make gate / make check-gate)}"
# The plan of the CI form (tests/check.sh): its PASS lines, counted on a
# full run of CI_PLAN (per combination: build 1, st programs, unit 8 or 7,
# replay 2, fuzz 2, real 6).  A narrowed run declares no count and says so.
if [ $ci -eq 1 ] && [ -z "$suites_arg" ] && [ ${#combos[@]} -eq 0 ]; then echo "PLAN: 90"
elif [ $ci -eq 1 ]; then echo "PLAN: 0 (narrowed CI run: GATE_SUITES or GATE_COMBOS given, no declared count)"; fi
JOBS=${JOBS:-2}
ALL_SUITES="st unit props replay fuzz real"

# What the CI form runs: the pairs that find the most per second of a 2-core
# budget.  ASan carries most of the weight (it is the tool that sees
# hakmem's blocks); gcc-only UBSan covers the other compiler; TSan checks
# the remote-free and thread-exit paths; MSan the uninitialised-memory
# annotations; memcheck the client requests and a release-flags build.
# Not in CI: props (check-props runs the property suite already), gcc
# duplicates of asan/tsan, memcheck on the unit tests (minutes each).
CI_PLAN="asan-clang:st,unit,replay,fuzz ubsan-gcc:st,unit,replay tsan-clang:st,unit,replay
         msan-clang:st,unit valgrind-gcc:st,real"

case $mode in
  fast)   fuzz_s=10;  props_cases=25;   vg_replay_max=10 ;;
  normal) fuzz_s=30;  props_cases=100;  vg_replay_max=40 ;;
  full)   fuzz_s=300; props_cases=1000; vg_replay_max=0 ;;   # 0: every input
  *) echo "gate.sh: --mode fast|normal|full" >&2; exit 2 ;;
esac

# plan_lines: one line per combination, "COMBO suite suite ..."
plan_lines=
if [ $ci -eq 1 ]; then
  for e in $CI_PLAN; do
    keep=
    for s in $(echo "${e#*:}" | tr , ' '); do
      [ -z "$suites_arg" ] || [[ " $suites_arg " == *" $s "* ]] && keep+=" $s"
    done
    [ -n "$keep" ] && plan_lines+="${e%%:*}$keep"$'\n'
  done
else
  [ ${#combos[@]} -gt 0 ] || read -r -a combos <<<"$SAN_COMBOS"
  for c in "${combos[@]}"; do plan_lines+="$c ${suites_arg:-$ALL_SUITES}"$'\n'; done
fi

# validate combos
while read -r c _; do
  [ -z "$c" ] && continue
  [[ " $SAN_COMBOS " == *" $c "* ]] || { echo "gate.sh: $c is not a variant-compiler combination; choose from: $SAN_COMBOS" >&2; exit 2; }
done <<<"$plan_lines"

rm -rf "$out"; mkdir -p "$out/logs" "$out/findings"
results=$out/results.tsv; : >"$results"
gate_start=$(date +%s)

# ---- helpers ---------------------------------------------------------------
# A report from any tool or from hakmem itself, in a log.
REPORT_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: MemorySanitizer|WARNING: ThreadSanitizer|runtime error:|ERROR SUMMARY: [1-9]|^==[0-9]+== (Invalid|Conditional|Use of uninit|Mismatched|Syscall param)|definitely lost: [1-9]|HAKFUZZ-FAIL|^hakmem: |deadly signal|^FAIL: '
summary_of() {   # first lines that say what went wrong
  grep -m3 -E "$REPORT_RE|^SUMMARY: |^st: |failing input|check failed" "$1" 2>/dev/null | cut -c1-200 | sed 's/^/    | /'
}
applicable() {   # applicable COMBO SUITE -> 0/1; sets why
  local v=${1%%-*} c=${1#*-} pv fv
  pv=SAN_PROPS_$v; fv=SAN_FUZZ_$v; why=
  case $2 in
    props) [ -n "${!pv:-}" ] || { why="no C++ under $v"; return 1; } ;;
    fuzz) [ -n "${!fv:-}" ] && [ "$c" = clang ] || { why="no libFuzzer for $c/$v"; return 1; } ;;
    real) [ "$v" = valgrind ] || { why="valgrind only"; return 1; } ;;
    st|unit|replay) ;;
    *) why="unknown suite"; return 1 ;;
  esac
  return 0
}
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$results"; }   # combo suite status secs note
finding() {   # finding COMBO SUITE NAME LOG WHY: FAIL line, keep the report
  local keep=$out/findings/$1-$2-$3.log
  cp "$4" "$keep" 2>/dev/null
  echo "FAIL: gate/$1/$2/$3 ($5; report: $keep)"
  summary_of "$4"
}

# run_one COMBO SUITE NAME LOG TIMEOUT CMD...: run under the variant's env
# and runner; pass = exit 0 and no report in the log.
run_one() {
  local combo=$1 suite=$2 name=$3 log=$4 to=$5; shift 5
  local v=${combo%%-*} ev rv rc
  ev=SAN_ENV_$v; rv=SAN_RUN_$v
  # shellcheck disable=SC2086
  env ${!ev:-} timeout -k 10 "$to" ${!rv:-} "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then finding "$combo" "$suite" "$name" "$log" "timeout after ${to}s"; return 1; fi
  if [ $rc -ne 0 ]; then finding "$combo" "$suite" "$name" "$log" "exit $rc"; return 1; fi
  if grep -qE "$REPORT_RE" "$log"; then finding "$combo" "$suite" "$name" "$log" "exit 0 but a report in the log"; return 1; fi
  echo "PASS: gate/$combo/$suite/$name"
}

# Run the queued commands JOBS at a time; status 1 if any failed.
par() {   # par FUNC ARGS-LINE...  (each line is one call of FUNC)
  local fn=$1; shift
  local d; d=$(mktemp -d) i=0 st=0
  for line in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    # shellcheck disable=SC2086
    ( $fn $line >"$d/$i.out" 2>&1; echo $? >"$d/$i.rc" ) &
    i=$((i + 1))
  done
  wait
  for ((j = 0; j < i; j++)); do cat "$d/$j.out"; [ "$(cat "$d/$j.rc")" = 0 ] || st=1; done
  rm -rf "$d"
  return $st
}

# ---- suites ----------------------------------------------------------------
suite_st() {
  local combo=$1 log=$out/logs/$1-st.log st
  ./sanitizers/tests/run.sh "$combo" "$out/logs/st-$combo" >"$log" 2>&1
  st=$?
  grep -E '^(PASS|FAIL): ' "$log" | sed -E "s#^(PASS|FAIL): st/#\1: gate/$combo/st/#"
  grep -E '^    \| ' "$log"
  if [ $st -ne 0 ]; then
    for f in $(grep -oE "$out/logs/st-$combo/[^ );]+\.log" "$log"); do cp "$f" "$out/findings/"; done
    grep -q '^FAIL' "$log" || { echo "FAIL: gate/$combo/st (run.sh exit $st; $log)"; tail -5 "$log"; }
  fi
  return $st
}

unit_one() { run_one "$1" unit "$2" "$out/logs/$1-unit-$2.log" "$3" "build/san/$1/unit/$2"; }
suite_unit() {
  local combo=$1 to=300 lines=() skipv=SAN_UNIT_FAST_SKIP_${1%%-*}
  [[ $combo == valgrind-* ]] && to=900
  for n in $SAN_UNIT_NAMES; do
    if [ "$mode" = fast ] && [[ " ${!skipv:-} " == *" $n "* ]]; then
      echo "SKIP: gate/$combo/unit/$n (fast mode: sanitizers/${combo%%-*}.mk, SAN_UNIT_FAST_SKIP)"; continue
    fi
    lines+=("$combo $n $to")
  done
  par unit_one "${lines[@]}"
}

props_one() {
  local combo=$1 g=$2
  mkdir -p "$out/findings/props-$combo"
  PROPS_REPRO_DIR=$out/findings/props-$combo RC_PARAMS="max_success=$props_cases" \
    run_one "$combo" props "$g" "$out/logs/$combo-props-$g.log" 900 "build/san/$combo/props/$g"
}
suite_props() {
  local lines=()
  for g in $SAN_PROPS_GROUPS; do lines+=("$1 $g"); done
  par props_one "${lines[@]}"
}

# Reproducers: every file under repro/ that is an input (not a note, patch,
# script, tool report or manifest); any input is valid for every target.
repro_inputs() {
  find repro -type f ! -path 'repro/bugs/*' ! -name '*.txt' ! -name '*.md' ! -name '*.patch' \
       ! -name '*.sh' ! -name '*.mk' ! -name '*.report' ! -name 'MANIFEST*' ! -name '.*' 2>/dev/null | sort
}
replay_one() {
  local combo=$1 t=$2 inputs=() n=0
  while IFS= read -r f; do [ -n "$f" ] && inputs+=("$f"); done < <(repro_inputs)
  if [ -d "corpus/$t" ]; then
    while IFS= read -r f; do
      [ "$vg_replay_max" -gt 0 ] && [[ $combo == valgrind-* ]] && [ $n -ge "$vg_replay_max" ] && break
      inputs+=("$f"); n=$((n + 1))
    done < <(find "corpus/$t" -type f ! -name '.*' | sort)
  fi
  echo "$combo replay $t: ${#inputs[@]} inputs" >"$out/logs/$combo-replay-$t.count"
  [ ${#inputs[@]} -gt 0 ] || { echo "PASS: gate/$combo/replay/$t (no inputs)"; return 0; }
  run_one "$combo" replay "$t" "$out/logs/$combo-replay-$t.log" 1200 "build/san/$combo/fuzz/$t-replay" "${inputs[@]}"
}
suite_replay() {
  local lines=()
  for t in $SAN_FUZZ_TARGETS; do lines+=("$1 $t"); done
  par replay_one "${lines[@]}"
}

fuzz_one() {
  local combo=$1 t=$2 tmp maxlen opts=()
  tmp=$(mktemp -d)
  maxlen=$(sed -nE 's/^max_len *= *([0-9]+).*/\1/p' "fuzz/$t.options" 2>/dev/null)
  [ -n "$maxlen" ] && opts+=("-max_len=$maxlen")
  [ -f "fuzz/$t.dict" ] && opts+=("-dict=fuzz/$t.dict")
  mkdir -p "$out/findings/fuzz-$combo-$t"
  run_one "$combo" fuzz "$t" "$out/logs/$combo-fuzz-$t.log" $((fuzz_s + 120)) \
    "build/san/$combo/fuzz/$t-lf" -max_total_time="$fuzz_s" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
    "-artifact_prefix=$out/findings/fuzz-$combo-$t/" "${opts[@]}" "$tmp" $( [ -d "corpus/$t" ] && echo "corpus/$t")
  local st=$?
  grep -m1 -E '^stat::number_of_executed_units' "$out/logs/$combo-fuzz-$t.log" | sed "s#^#  $combo $t: #"
  rm -rf "$tmp"
  rmdir "$out/findings/fuzz-$combo-$t" 2>/dev/null
  return $st
}
suite_fuzz() {
  # one target at a time, each on its own core when JOBS >= 2
  # TSan + libFuzzer on a multi-threaded target reports the fuzzer's own
  # coverage counters (plain byte increments from every thread) as races;
  # under TSan the mt target runs as corpus replay instead (suite replay).
  local lines=()
  for t in $SAN_FUZZ_TARGETS; do
    if [ "${1%%-*}" = tsan ] && [ "$t" = mt ]; then
      echo "SKIP: gate/$1/fuzz/mt (libFuzzer's coverage counters race under TSan; mt is replayed instead)"
      continue
    fi
    lines+=("$1 $t")
  done
  par fuzz_one "${lines[@]}"
}

# valgrind: real programs.  The static ones carry the client requests; the
# system programs run with hakmem preloaded (the release-flags library with
# client requests, then the plain release library) and must print what
# they print under glibc.
real_sys() {
  local combo=$1 lib=$2 name=$3 c=${1#*-} ref log
  local in=$out/logs/real-input.txt
  ref=$out/logs/real-$name.ref; log=$out/logs/$combo-real-$name.log
  case $name in
    sort-*) sort -n "$in" >"$ref"
            run_one "$combo" real "$name" "$log" 600 env LD_PRELOAD="$root/$lib" sort -n "$in" -o "$log.out" || return 1 ;;
    awk-*)  awk '{ n[$2 % 97]++ } END { for (k in n) s += n[k] * k; print s }' "$in" >"$ref"
            run_one "$combo" real "$name" "$log" 600 env LD_PRELOAD="$root/$lib" awk '{ n[$2 % 97]++ } END { for (k in n) s += n[k] * k; print s }' "$in" || return 1
            grep -v '^==' "$log" | grep -v '^$' >"$log.out" ;;
  esac
  if ! cmp -s "$ref" "$log.out"; then
    echo "FAIL: gate/$combo/real/$name (output differs from glibc's; $log.out vs $ref)"; return 1
  fi
}
suite_real() {
  local combo=$1 c=${1#*-} st=0
  seq 1 20000 | awk '{ srand($1); print int(rand() * 1e6), $1, "line-" $1 }' >"$out/logs/real-input.txt"
  for p in $SAN_REAL_PROGS; do
    run_one "$combo" real "$p" "$out/logs/$combo-real-$p.log" 600 "build/san/valgrind-$c-rel/real/$p" || st=1
  done
  real_sys "$combo" "build/san/valgrind-$c-rel/libhakmem.so" sort-vgrel || st=1
  real_sys "$combo" build/release/libhakmem.so sort-release || st=1
  real_sys "$combo" "build/san/valgrind-$c-rel/libhakmem.so" awk-vgrel || st=1
  return $st
}
SAN_REAL_PROGS="smoke_mt clean_api clean_threads"

# ---- main loop ---------------------------------------------------------------
echo "gate: mode $mode, output $out, $JOBS jobs"
while read -r combo ss; do
  [ -z "$combo" ] && continue
  run=() groups=()
  for s in $ss; do
    if applicable "$combo" "$s"; then run+=("$s"); groups+=("san-$combo-$s")
    else record "$combo" "$s" skip 0 "$why"; fi
  done
  [ ${#run[@]} -gt 0 ] || continue
  t0=$(date +%s)
  blog=$out/logs/$combo-build.log
  echo "gate: building $combo (${run[*]})"
  make -k -j"$JOBS" --no-print-directory "${groups[@]}" >"$blog" 2>&1
  brc=$?
  secs=$(( $(date +%s) - t0 ))
  if [ $brc -ne 0 ]; then
    cp "$blog" "$out/findings/$combo-build.log"
    echo "FAIL: gate/$combo/build (make exit $brc; report: $out/findings/$combo-build.log)"
    grep -m5 -E 'error|Error' "$blog" | sed 's/^/    | /'
    record "$combo" build FAIL "$secs" ""
  else
    echo "PASS: gate/$combo/build"
    record "$combo" build pass "$secs" ""
  fi
  for s in "${run[@]}"; do
    t0=$(date +%s)
    if [ $brc -ne 0 ]; then
      echo "FAIL: gate/$combo/$s (not built)"; record "$combo" "$s" FAIL 0 "not built"; continue
    fi
    if "suite_$s" "$combo"; then record "$combo" "$s" pass $(( $(date +%s) - t0 )) ""
    else record "$combo" "$s" FAIL $(( $(date +%s) - t0 )) ""; fi
  done
done <<<"$plan_lines"

# ---- the table -----------------------------------------------------------------
total=$(( $(date +%s) - gate_start ))
nfail=$(awk -F'\t' '$3 == "FAIL"' "$results" | wc -l)
{
  echo "# hakmem merge gate"
  echo
  echo "mode $mode, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, JOBS=$JOBS, total ${total}s"
  echo
  cols="build $ALL_SUITES"
  printf '| variant |'; for s in $cols; do printf ' %s |' "$s"; done; echo
  printf '|---|'; for s in $cols; do printf -- '---|'; done; echo
  awk -F'\t' '!seen[$1]++ { print $1 }' "$results" | while read -r c; do
    printf '| %s |' "$c"
    for s in $cols; do
      cell=$(awk -F'\t' -v c="$c" -v s="$s" '$1 == c && $2 == s {
               if ($3 == "skip") print "n/a"; else print $3 " " $4 "s" }' "$results")
      printf ' %s |' "${cell:--}"
    done
    echo
  done
  echo
  na=$(awk -F'\t' '$3 == "skip" { print $1 "/" $2 ": " $5 }' "$results" | sort -u | paste -sd';' | sed 's/;/; /g')
  [ -z "$na" ] || echo "n/a: $na."
  echo "-: not run in this mode."
  echo
  if [ "$nfail" -eq 0 ]; then echo "**GREEN**: no finding."
  else
    echo "**RED**: $nfail suite(s) failed.  Reports:"
    echo
    for f in "$out"/findings/*; do [ -e "$f" ] && echo "- $f"; done
  fi
} >"$out/report.md"
echo
cat "$out/report.md"
[ "$nfail" -eq 0 ]
