#!/usr/bin/env bash
# fuzz/check.sh: the check-fuzz suite of `make check` (make check-fuzz).
#
#  1. builds the libFuzzer targets and the replay binaries (make fuzz);
#  2. replays corpus/ops, corpus/mt, every input of repro/found/ and
#     repro/props/*.ops under ASan+UBSan, and the mt inputs under TSan too;
#     corpus/ops runs twice per process in the plain build and repro/found
#     ops inputs twice under ASan (allocator reset between inputs must make
#     the second run identical); mt repro/found inputs 5 times (schedules);
#  3. fuzzes each libFuzzer target for FUZZ_SECONDS (default 60, both
#     targets in parallel, one per core) from a copy of corpus/;
#  4. proves the model catches bugs: the mutants size-class-off-by-one and
#     free-wrong-heap (repro/bugs/) must each be caught by fuzz/ops within
#     MUTANT_SECONDS (default 60), fuzzing from corpus/ops as a campaign does
#     (MUTANT_FROM_EMPTY=1: from an empty corpus, the fuzzer alone; on this
#     2-core VM that took 2 s and 27-67 s).
#
# Verdicts are named signatures (repro/verdict.py).  A fuzz run on the real
# core passes only with exit 0 and no artifact at all (a timeout-, oom- or
# slow-unit- input is a failure too).  A mutant is caught only by a crash-*
# artifact whose log signature matches the mutant's declared ERE (muts
# below) and which replays clean on the real core; a timeout or OOM is not a
# catch.  A step not run prints "SKIP: name (why)", and counts against the
# plan: FUZZ_SECONDS=0 or MUTANT_SECONDS=0 make check-fuzz fail, loudly.
# Prints "PASS: name" / "FAIL: name"; exits non-zero on any FAIL.  Crash
# artifacts and logs stay in build/fuzz/check/.
#
# repro/found/ naming: an input file has no extension (its description is
# NAME.txt, its sanitizer report NAME.report); NAME starting with "mt-" is a
# fuzz/mt input, "sched-" belongs to fuzz/sched (replayed by make repro),
# anything else is a fuzz/ops input.
#
#   FUZZ_SECONDS=N     length of each fuzz run (0 skips them)
#   MUTANT_SECONDS=N   budget per mutant (0 skips the mutant proof)
set -uo pipefail
cd "$(dirname "$0")/.."
S=${FUZZ_SECONDS:-60}
MS=${MUTANT_SECONDS:-60}
W=build/fuzz/check
FB=build/fuzz
rm -rf "$W"
mkdir -p "$W/logs" "$W/crashes" "$W/corpus-ops" "$W/corpus-mt"
rc=0
t0=$(date +%s)
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+ ($2)}"; rc=1; }
skip() { echo "SKIP: $1 ($2)"; }

# The plan (tests/check.sh), written out so that a lost step is a FAIL:
# build 1, corpus replays 4, repro/found replays 6 (2 ops inputs once, 2 mt
# inputs under ASan and TSan), props 1, work budget 3, fuzz runs 2, mutants 2.
echo "PLAN: 19"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=0:symbolize=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1}

# ---- 1. build --------------------------------------------------------------
if ! make -s --no-print-directory -j2 fuzz >"$W/logs/build.log" 2>&1; then
  fail fuzz-build "see $W/logs/build.log"; tail -20 "$W/logs/build.log"; exit 1
fi
if [ -z "$(ls -A corpus/ops 2>/dev/null)" ] || [ -z "$(ls -A corpus/mt 2>/dev/null)" ]; then
  make -s --no-print-directory fuzz-seeds >"$W/logs/seeds.log" 2>&1 || { fail fuzz-seeds; exit 1; }
fi
pass fuzz-build

# ---- 2. replays ------------------------------------------------------------
# replay NAME BINARY ARGS...: one PASS/FAIL line, the log kept on failure
replay() {
  local name=$1; shift
  # (a subshell that waits, so bash's "Aborted" notice goes to /dev/null)
  if ( "$@" >"$W/logs/$name.log" 2>&1; r=$?; exit $r ) 2>/dev/null; then pass "$name"
  else
    fail "$name" "$(grep -m1 -E 'HAKFUZZ-FAIL|ERROR: |SUMMARY: |hakmem: ' "$W/logs/$name.log")"
    echo "  log: $W/logs/$name.log"
  fi
}

found_ops=() found_mt=()
for f in repro/found/*; do
  [ -f "$f" ] || continue
  b=$(basename "$f")
  case "$b" in *.*|README*) continue ;; sched-*) ;; mt-*) found_mt+=("$f") ;; *) found_ops+=("$f") ;; esac
done
props=()
for f in repro/props/*.ops; do [ -f "$f" ] && props+=("$f"); done

replay replay-corpus-ops-asan   $FB/ops-replay-asan corpus/ops corpus/ops-oom
replay replay-corpus-ops-plain  $FB/ops-replay -n 2 corpus/ops corpus/ops-oom
replay replay-corpus-mt-asan    $FB/mt-replay-asan corpus/mt
replay replay-corpus-mt-tsan    $FB/mt-replay-tsan corpus/mt
for f in "${found_ops[@]}"; do replay "replay-found-$(basename "$f")-asan" $FB/ops-replay-asan -n 2 "$f"; done
for f in "${found_mt[@]}"; do
  replay "replay-found-$(basename "$f")-asan" $FB/mt-replay-asan -n 5 "$f"
  replay "replay-found-$(basename "$f")-tsan" $FB/mt-replay-tsan -n 5 "$f"
done
if [ ${#props[@]} -gt 0 ]; then replay replay-props-ops-asan $FB/ops-replay-asan -n 2 "${props[@]}"
else skip replay-props-ops-asan "no repro/props/*.ops"; fi

# The work budget (fuzz/FORMAT.md): the seeds must fit in it (else they stop
# before what they were written to reach), and an input past it must stop.
over=$(for f in corpus/ops/seed-* corpus/ops-oom/seed-*; do
  HAKFUZZ_TRACE=1 $FB/ops-replay "$f" 2>&1 | grep -q 'work budget spent' && echo "${f##*/}"; done)
if [ -z "$over" ]; then pass seeds-within-work-budget; else fail seeds-within-work-budget "$(echo $over)"; fi
# 4 x bulk_alloc(4096 x 64 B), about 4100 units each: the long budget
# (header byte 3 HFZ_LONG_KEY, 8192) runs 2 of them, the normal one (1024)
# stops inside the first
for key in 4c 00; do
  { printf '\x0f\x00\x00\x'$key; for i in 1 2 3 4; do printf '\x13\x30\x00\x07\x40\x00\x00\x00'; done; } >"$W/over-budget-$key.ops"
done
spent=$(HAKFUZZ_TRACE=1 $FB/ops-replay "$W/over-budget-4c.ops" 2>&1 | grep -c 'bulk_alloc\|work budget spent: 2 records')
spent0=$(HAKFUZZ_TRACE=1 $FB/ops-replay "$W/over-budget-00.ops" 2>&1 | grep -c 'bulk_alloc\|work budget spent: 3 records')
if [ "$spent" = 3 ] && [ "$spent0" = 2 ]; then pass work-budget-stops-input
else fail work-budget-stops-input "4 x bulk_alloc(4096): expected 2 to run with the long key, 1 without, then the budget spent ($spent, $spent0 matching lines)"; fi
# calloc(4 MiB) costs 2053 units (zeroes written and read, fills): more than the
# normal budget, so it is skipped before the call; the long budget runs it
for key in 4c 00; do
  { printf '\x00\x00\x00\x'$key; printf '\x01\x00\x00\x07\x00\x00\x40\x00'; } >"$W/over-gas-$key.ops"
done
sk=$(HAKFUZZ_TRACE=1 $FB/ops-replay "$W/over-gas-00.ops" 2>&1 | grep -c '^#0    skipped: 2053 units of work, 1023 left')
sk4c=$(HAKFUZZ_TRACE=1 $FB/ops-replay "$W/over-gas-4c.ops" 2>&1 | grep -c 'skipped')
# an overflowing calloc (aux 63, 4 MiB elements) must fail and costs nothing: never skipped
{ printf '\x00\x00\x00\x00'; printf '\x01\xfc\x00\x07\x00\x00\x40\x00'; } >"$W/over-gas-ovf.ops"
skovf=$(HAKFUZZ_TRACE=1 $FB/ops-replay "$W/over-gas-ovf.ops" 2>&1 | grep -c 'skipped')
if [ "$sk" = 1 ] && [ "$sk4c" = 0 ] && [ "$skovf" = 0 ]; then pass work-budget-skips-costly-alloc
else fail work-budget-skips-costly-alloc "calloc(4 MiB): skip lines $sk without the long key (want 1), $sk4c with it (want 0), $skovf for the overflowing calloc (want 0)"; fi

# ---- 3. short fuzz runs ----------------------------------------------------
# lf_run TARGET BINARY SECONDS CORPUS-DIR ARTIFACT-PREFIX LOG [SEED-DIRS...]
lf_run() {
  local t=$1 bin=$2 secs=$3 dir=$4 art=$5 log=$6; shift 6
  "$bin" -max_total_time="$secs" -dict="fuzz/$t.dict" -max_len=2048 -rss_limit_mb=2560 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$art" "$dir" "$@" >"$log" 2>&1
}
if [ "$S" -gt 0 ]; then
  cp corpus/ops/* "$W/corpus-ops/" 2>/dev/null; cp corpus/mt/* "$W/corpus-mt/" 2>/dev/null
  pids=()
  for t in ops mt; do
    lf_run $t $FB/$t-lf "$S" "$W/corpus-$t" "$W/crashes/$t-" "$W/logs/fuzz-$t.log" & pids+=($!)
  done
  i=0
  for t in ops mt; do
    wait "${pids[$i]}"; r=$?; i=$((i + 1))
    execs=$(grep -m1 'stat::number_of_executed_units' "$W/logs/fuzz-$t.log" | awk '{print $2}')
    arts=$(ls "$W/crashes/$t-"* 2>/dev/null | tr '\n' ' ')
    if [ $r -eq 0 ] && [ -z "$arts" ]; then pass "fuzz-$t-${S}s"; echo "  fuzz-$t: ${execs:-?} executions in ${S}s"
    else
      fail "fuzz-$t-${S}s" "exit $r: $(./repro/verdict.py sig "$W/logs/fuzz-$t.log")"
      echo "  log: $W/logs/fuzz-$t.log; artifacts: ${arts:-none}"
    fi
  done
else
  for t in ops mt; do skip "fuzz-$t" "FUZZ_SECONDS=0: no fuzz run"; done
fi

# ---- 4. the model catches the mutants ---------------------------------------
# Each mutant tree is built by repro/bugs/mutant.sh (a patched copy of src/).
# A mutant that no longer applies is a failure too.
# The named signature each mutant must produce (repro/verdict.py ERE).
declare -A mut_sig=(
  [size-class-off-by-one]='^model\[usable\]: .*usable size [0-9]+ < request'
  [free-wrong-heap]='^model\[checker\]: .*on the thread cache is not in a segment of this heap|^model\[state\]: .*block still LIVE after free'
)
muts=(size-class-off-by-one free-wrong-heap)
if [ "$MS" -gt 0 ]; then
  pids=()
  for m in "${muts[@]}"; do
    ( tree=$(repro/bugs/mutant.sh tree "$m") || exit 3
      make -s --no-print-directory -C "$tree" build/fuzz/ops-lf >"$W/logs/mutant-$m-build.log" 2>&1 || exit 4
      mkdir -p "$W/mutant-$m"
      seeds=(corpus/ops); [ "${MUTANT_FROM_EMPTY:-0}" = 1 ] && seeds=()
      start=$(date +%s)
      lf_run ops "$tree/build/fuzz/ops-lf" "$MS" "$W/mutant-$m" "$W/crashes/mutant-$m-" "$W/logs/mutant-$m.log" "${seeds[@]}"
      r=$?
      echo "$r $(( $(date +%s) - start ))" >"$W/mutant-$m.rc"
    ) >"$W/logs/mutant-$m-tree.log" 2>&1 & pids+=($!)
  done
  i=0
  for m in "${muts[@]}"; do
    wait "${pids[$i]}"; r=$?; i=$((i + 1))
    if [ $r -ne 0 ] || [ ! -f "$W/mutant-$m.rc" ]; then
      fail "mutant-$m-caught" "mutant tree/build failed ($r): $(grep -m1 -E 'MUTANT BROKEN|error' "$W/logs/mutant-$m-tree.log" "$W/logs/mutant-$m-build.log" 2>/dev/null)"
      continue
    fi
    read -r fr secs <"$W/mutant-$m.rc"
    crash=$(ls "$W/crashes/mutant-$m-crash-"* 2>/dev/null | head -1)
    other=$(ls "$W/crashes/mutant-$m-"* 2>/dev/null | grep -v -- "-crash-" | tr '\n' ' ')
    got=$(./repro/verdict.py match "${mut_sig[$m]}" "$W/logs/mutant-$m.log"); matched=$?
    if [ "$fr" -eq 0 ] || [ -z "$crash" ]; then
      fail "mutant-$m-caught" "fuzz/ops ran ${secs}s without a crash artifact (exit $fr; ${other:+not catches: $other}log: $got)"
    elif [ $matched -ne 0 ]; then
      fail "mutant-$m-caught" "want ${mut_sig[$m]}, got $got"
    elif ! ( $FB/ops-replay-asan "$crash" >"$W/logs/mutant-$m-on-core.log" 2>&1 ) 2>/dev/null; then
      fail "mutant-$m-caught" "the input also fails on the real core: $(./repro/verdict.py sig "$W/logs/mutant-$m-on-core.log")"
    else
      pass "mutant-$m-caught"
      echo "  mutant $m caught in ${secs}s: $got (clean on the real core)"
    fi
  done
else
  for m in "${muts[@]}"; do skip "mutant-$m-caught" "MUTANT_SECONDS=0: no mutant run"; done
fi

echo "check-fuzz: $(( $(date +%s) - t0 ))s (FUZZ_SECONDS=$S MUTANT_SECONDS=$MS)"
exit $rc
