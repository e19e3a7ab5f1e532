#!/usr/bin/env bash
# fuzz/campaign.sh: the fuzz campaign (make campaign).
#
#   make campaign                      about 10 minutes on every core, AFL++
#   make campaign MINUTES=3            short run
#   make campaign HOURS=8              overnight
#   make campaign ENGINE=libfuzzer     libFuzzer -fork instead of AFL++
#   make campaign JOBS=4               cores to use (default: all)
#   make campaign RESUME=1 MINUTES=10  continue the last campaign (build/campaign/latest):
#                                      same sync directories, same triage state
#
# AFL++: fuzz/ops runs one -M instance (ASan+UBSan build) and -S secondaries
# (plain build with a CMPLOG companion, plain, ASan alternately) sharing one
# sync directory; fuzz/mt runs in its own sync directory (ASan build), and so
# does target oom: fuzz/ops (ASan build, nice 5) on corpus/ops-oom, the
# out-of-memory inputs (trims, injected OS failures: fuzz/ops_emit.h
# HFZ_OOM_KEY), kept apart because they run ~30x slower.  All
# builds are persistent mode with deferred init (fuzz/afl_driver.c).
# libFuzzer: each target with -fork=N (N split over JOBS), -ignore_crashes.
# fuzz/sched (controlled schedules, libFuzzer only) runs next to them on one
# core (nice 5), from fuzz/sched/seeds + corpus/sched.
#
# A status line every STATUS_SECONDS (default 30).  Every TRIAGE_MINUTES
# (default 30), while the fuzzers run, and once more at the end (also after
# Ctrl-C): fuzz/triage.py replays every new crash and hang (hangs under a
# watchdog, signed hang-<top core frame>; mt also under TSan, plus a TSan
# sweep of the new mt queue), retries what does not reproduce and keeps it
# with its rate, signs findings with repro/verdict.py, minimises new ones and
# stores them in repro/found/ (see fuzz/triage.py); new coverage is merged
# into corpus/<target> (libFuzzer -merge=1; oom: corpus/ops-oom, and a keyed
# input the ops instances found is moved there too).  A periodic triage round takes
# no new input after TRIAGE_MINUTES/2, the last one after TRIAGE_BUDGET
# seconds (default 900; 0 = no limit): what is left stays in the campaign
# directory, the summary says how much, and RESUME=1 triages it (a night's
# worth of load-induced mt hangs must not hold the summary for an hour).
# The summary (commit, build
# flags, exec/s, stability, line coverage of src/ by the merged corpus,
# corpus growth, every finding with its reproducer) is printed and written to
# <out>/summary.txt.  Exits 1 when a crash was found (new or already in
# repro/found), 0 otherwise.
#
# Work directory: build/campaign/<date>/ (build/campaign/latest points to it).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ENGINE=${ENGINE:-afl}
JOBS=${JOBS:-$(nproc)}
[ -n "$JOBS" ] && [ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=$(nproc)
if [ -n "${HOURS:-}" ]; then DUR=$(awk "BEGIN{print int(${HOURS} * 3600)}")
elif [ -n "${MINUTES:-}" ]; then DUR=$(awk "BEGIN{print int(${MINUTES} * 60)}")
else DUR=600; fi
[ "$DUR" -ge 10 ] || DUR=10
STATUS=${STATUS_SECONDS:-30}
TRIAGE_EVERY=$(awk "BEGIN{print int(${TRIAGE_MINUTES:-30} * 60)}")
FINAL_BUDGET=${TRIAGE_BUDGET:-900}   # seconds the last triage round may take (0: no limit)
RESUME=${RESUME:-0}
FB=build/fuzz
TARGETS=(ops oom mt sched)
# oom is fuzz/ops on corpus/ops-oom: the out-of-memory inputs (fuzz/ops_emit.h
# HFZ_OOM_KEY), one instance of its own at nice 5 and its own output
# directory, so that its slow inputs do not sync into the fast instances
corpus_of() { case $1 in oom) echo ops-oom ;; *) echo "$1" ;; esac; }
bin_of() { case $1 in oom) echo ops ;; *) echo "$1" ;; esac; }
if [ "$RESUME" = 1 ]; then
  OUT=$(readlink -f build/campaign/latest 2>/dev/null)
  [ -n "$OUT" ] && [ -d "$OUT" ] || { echo "campaign: RESUME=1 but there is no build/campaign/latest to resume" >&2; exit 2; }
  RUN=$(( $(cat "$OUT/runs" 2>/dev/null || echo 1) + 1 ))
else
  OUT=$ROOT/build/campaign/$(date +%Y%m%d-%H%M%S)
  RUN=1
fi
mkdir -p "$OUT/logs" "$OUT/crashes" "$OUT/triage"
ln -sfn "$(basename "$OUT")" build/campaign/latest
echo $RUN >"$OUT/runs"
log() { echo "campaign: $*" | tee -a "$OUT/summary.txt" >&2; }
interrupted=0
trap 'interrupted=1' INT TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=0:symbolize=0:allocator_may_return_null=1:handle_abort=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
REPORT_ASAN=abort_on_error=1:detect_leaks=0:symbolize=1:allocator_may_return_null=1

# ---- build -------------------------------------------------------------------
if [ "$ENGINE" = afl ] && ! command -v afl-fuzz >/dev/null; then
  echo "campaign: afl-fuzz not found; run 'make deps' (Debian package afl++) or use ENGINE=libfuzzer" >&2; exit 2
fi
want=(fuzz sched)
[ "$ENGINE" = afl ] && want+=(fuzz-afl)
if ! make -s --no-print-directory -j"$JOBS" "${want[@]}" >"$OUT/logs/build.log" 2>&1; then
  echo "campaign: build failed, see $OUT/logs/build.log" >&2; tail -20 "$OUT/logs/build.log" >&2; exit 2
fi
for t in ops ops-oom mt; do
  [ -n "$(ls -A corpus/$t 2>/dev/null)" ] || make -s --no-print-directory fuzz-seeds >>"$OUT/logs/build.log" 2>&1
done
if [ $interrupted = 1 ]; then echo "campaign: interrupted during the build" >&2; exit 130; fi
mkdir -p corpus/sched
# corpus sizes before the first run of this campaign (a resumed run keeps them)
[ -f "$OUT/corpus_before" ] || for t in "${TARGETS[@]}"; do echo "$t $(ls corpus/$(corpus_of $t) | wc -l)"; done >"$OUT/corpus_before"
declare -A corpus_before
while read -r t n; do corpus_before[$t]=$n; done <"$OUT/corpus_before"

# ---- start the fuzzers ---------------------------------------------------------
pids=()
# Each fuzzer runs in its own session (setsid): Ctrl-C reaches only this
# script, which stops them in order; at the end their whole process groups
# (forkservers, CMPLOG companions, libFuzzer -fork workers) are killed.
stop_all() {
  local p i
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  for ((i = 0; i < 20; i++)); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break; sleep 1
  done
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
  wait 2>/dev/null
}

# cores: mt gets a quarter (at least one), ops the rest (at least two: -M and a CMPLOG -S)
JMT=$(( JOBS / 4 )); [ $JMT -ge 1 ] || JMT=1
JOPS=$(( JOBS - JMT )); [ $JOPS -ge 2 ] || JOPS=2
log "run $RUN$([ "$RESUME" = 1 ] && echo ' (resumed)'): engine $ENGINE, $DUR s, $JOBS cores (ops $JOPS, mt $JMT, oom 1 and sched 1 at nice 5), output $OUT"

if [ "$ENGINE" = afl ]; then
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
         AFL_SKIP_CRASHES=1 AFL_IGNORE_SEED_PROBLEMS=1 AFL_TESTCACHE_SIZE=64 AFL_FAST_CAL=1
  # afl_start TARGET NAME ROLE BINARY [extra afl-fuzz args]
  afl_start() {
    local t=$1 name=$2 role=$3 bin=$4 in=corpus/$(corpus_of $1); shift 4
    [ -d "$OUT/afl-$t/$name/queue" ] && in=-      # resume: continue this instance's queue
    setsid nice -n "${NICE:-0}" afl-fuzz "$role" "$name" -i "$in" -o "$OUT/afl-$t" -x fuzz/$(bin_of $t).dict -m none -t 10000+ \
      -V "$DUR" "$@" -- "$bin" >"$OUT/logs/afl-$t-$name.log" 2>&1 </dev/null &
    pids+=($!)
  }
  afl_start ops main -M $FB/ops-afl-asan
  for ((i = 1; i < JOPS; i++)); do
    case $((i % 3)) in
      1) afl_start ops s$i -S $FB/ops-afl -c $ROOT/$FB/ops-afl-cmplog ;;
      2) afl_start ops s$i -S $FB/ops-afl ;;
      0) afl_start ops s$i -S $FB/ops-afl-asan ;;
    esac
  done
  NICE=5 afl_start oom main -M $FB/ops-afl-asan
  afl_start mt main -M $FB/mt-afl-asan
  for ((i = 1; i < JMT; i++)); do afl_start mt s$i -S $FB/mt-afl-asan; done
else
  for t in ops oom mt; do
    j=$JOPS n=0; [ $t = mt ] && j=$JMT; [ $t = oom ] && j=1 n=5
    mkdir -p "$OUT/lf-$t"
    setsid nice -n $n $FB/$(bin_of $t)-lf -fork=$j -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$DUR" \
      -dict=fuzz/$(bin_of $t).dict -max_len=2048 -rss_limit_mb=2560 -timeout=25 -print_final_stats=1 \
      -artifact_prefix="$OUT/crashes/$t-" "$OUT/lf-$t" corpus/$(corpus_of $t) >>"$OUT/logs/lf-$t.log" 2>&1 </dev/null &
    pids+=($!)
  done
fi
# fuzz/sched: libFuzzer (its only engine), one process, below the others
mkdir -p "$OUT/lf-sched"
setsid nice -n 5 build/sched/sched-lf -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -fork=1 \
  -max_total_time="$DUR" -max_len=4096 -rss_limit_mb=2560 -timeout=25 -print_final_stats=1 \
  -artifact_prefix="$OUT/crashes/sched-" "$OUT/lf-sched" corpus/sched fuzz/sched/seeds \
  >>"$OUT/logs/lf-sched.log" 2>&1 </dev/null &
pids+=($!)

# ---- status ------------------------------------------------------------------
# engine_of TARGET: sched is always libFuzzer
engine_of() { if [ "$1" = sched ]; then echo libfuzzer; else echo "$ENGINE"; fi; }
# stats TARGET -> "execs exec/s corpus coverage crashes stability"
# (AFL++: summed over the instances, stability the lowest instance's; libFuzzer: the last status line)
stats() {
  local t=$1
  if [ "$(engine_of $t)" = afl ]; then
    awk -F' *: *' '
      $1=="run_time"{rt=$2} $1=="execs_done"{e+=$2; if(rt>0)s+=$2/rt}   # run_time comes first
      $1=="corpus_count"{if($2>c)c=$2} $1=="bitmap_cvg"{sub("%","",$2); if($2+0>b)b=$2+0}
      $1=="saved_crashes"||$1=="unique_crashes"{k+=$2}
      $1=="stability"{sub("%","",$2); if(st==""||$2+0<st)st=$2+0}
      END{printf "%d %d %d %.2f%% %d %s\n", e, s, c, b, k, (st==""?"?":sprintf("%.2f%%",st))}' "$OUT"/afl-$t/*/fuzzer_stats 2>/dev/null
  else
    local line k
    line=$(grep -aE '^#[0-9]+.*(cov|corp):' "$OUT/logs/lf-$t.log" 2>/dev/null | tail -1)
    k=$(ls "$OUT/crashes" 2>/dev/null | grep -c "^$t-")
    echo "$line" | awk -v k="$k" '{e=$1; sub("#","",e); sub(":","",e); c="?"; v="?"; s=0
      for(i=1;i<=NF;i++){ if($i=="corp:"){split($(i+1),a,"/"); c=a[1]} if($i=="cov:")v=$(i+1); if($i=="exec/s:"||$i=="exec/s")s=$(i+1)}
      printf "%d %d %s %s %d n/a\n", e, s, c, v, k}'
  fi
}
status_line() {
  local el=$1 s
  printf 'campaign: %5ds/%ds' "$el" "$DUR"
  for t in "${TARGETS[@]}"; do
    s=($(stats $t)); [ ${#s[@]} -ge 6 ] || s=(0 0 0 ? 0 ?)
    printf ' | %s: %s execs, %s/s, corpus %s, cov %s, crashes %s' $t "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "${s[4]}"
    [ "${s[5]}" = n/a ] || printf ', stability %s' "${s[5]}"
  done
  echo
}

# ---- triage and corpus merge (every TRIAGE_MINUTES, and at the end) ----------------
triage() {    # fuzz/triage.py: incremental (OUT/triage/state.json); $1: its time budget, s
  python3 fuzz/triage.py "$OUT" --budget "$1" --how "found by make campaign, ENGINE=$ENGINE, run $RUN" \
    >>"$OUT/logs/triage.log" 2>&1 || log "triage failed (see $OUT/logs/triage.log)"
  tail -1 "$OUT/logs/triage.log" | sed 's/^/campaign: /' >&2
}
merge_corpus() {   # only inputs that add coverage go into corpus/<target>
  local t dirs q bin len
  for t in "${TARGETS[@]}"; do
    dirs=()
    if [ "$(engine_of $t)" = afl ]; then for q in "$OUT"/afl-$t/*/queue; do [ -d "$q" ] && dirs+=("$q"); done
    else [ -d "$OUT/lf-$t" ] && dirs+=("$OUT/lf-$t"); fi
    [ ${#dirs[@]} -gt 0 ] || continue
    bin=$FB/$(bin_of $t)-lf; len=2048
    [ $t = sched ] && { bin=build/sched/sched-lf; len=4096; }
    timeout 900 nice -n 5 $bin -merge=1 -max_len=$len -rss_limit_mb=2560 -timeout=25 corpus/$(corpus_of $t) "${dirs[@]}" \
      >>"$OUT/logs/merge-$t.log" 2>&1 || log "merge of $t failed (see $OUT/logs/merge-$t.log); corpus/$(corpus_of $t) unchanged by it"
  done
  # an input of the fast instances that found the key belongs with the others
  python3 fuzz/oom_split.py move corpus/ops corpus/ops-oom >>"$OUT/logs/merge-ops.log" 2>&1
}
periodic() {   # in the background, so the status lines keep coming
  triage $((TRIAGE_EVERY / 2)); merge_corpus
  log "periodic triage and corpus merge done at $(( $(date +%s) - t0 ))s: corpus ops $(ls corpus/ops | wc -l), ops-oom $(ls corpus/ops-oom | wc -l), mt $(ls corpus/mt | wc -l), sched $(ls corpus/sched | wc -l)"
}

t0=$(date +%s)
next=$STATUS
next_triage=$TRIAGE_EVERY
periodic_pid=""
while :; do
  sleep 1
  el=$(( $(date +%s) - t0 ))
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  if [ $interrupted = 1 ]; then log "interrupted after ${el}s: stopping the fuzzers, keeping what was found"; break; fi
  [ $alive = 1 ] || break
  if [ $el -ge $((DUR + 60)) ]; then log "fuzzers still running ${el}s after start: stopping them"; break; fi
  if [ $el -ge $next ]; then status_line $el | tee -a "$OUT/status.log" >&2; next=$((next + STATUS)); fi
  if [ $el -ge $next_triage ] && [ $el -lt $((DUR - 60)) ]; then
    if [ -z "$periodic_pid" ] || ! kill -0 "$periodic_pid" 2>/dev/null; then periodic & periodic_pid=$!; fi
    next_triage=$((next_triage + TRIAGE_EVERY))
  fi
done
stop_all
[ -z "$periodic_pid" ] || wait "$periodic_pid" 2>/dev/null
trap - INT TERM
elapsed=$(( $(date +%s) - t0 ))
status_line $elapsed | tee -a "$OUT/status.log" >&2
final=()   # after the stop: AFL writes its last statistics on exit
for t in "${TARGETS[@]}"; do s=($(stats $t)); [ ${#s[@]} -ge 6 ] || s=(0 0 0 ? 0 ?); final+=("$t ${s[*]}"); done
[ "$ENGINE" = afl ] && grep -h -m3 -iE 'PROGRAM ABORT|Fork server|error' "$OUT"/logs/afl-*.log 2>/dev/null | head -5 >&2
triage "$FINAL_BUDGET"
merge_corpus

# line coverage of src/ reached by the merged corpus (fuzz/coverage.sh: llvm-cov)
cov=$(./fuzz/coverage.sh 2>&1 | tee "$OUT/logs/coverage.log" | awk '$1=="TOTAL"{print $6; exit}')
[ -n "$cov" ] || cov="? (see $OUT/logs/coverage.log)"

# ---- summary ------------------------------------------------------------------------
echo "$elapsed" >>"$OUT/elapsed"
new=0 known=0 unrep=0
# a triage round that did not finish (killed, crashed) wrote no findings list:
# the summary must say so rather than count zero findings
[ -f "$OUT/triage/findings.tsv" ] || { : >"$OUT/triage/findings.tsv"; echo "?" >"$OUT/triage/pending"; }
while IFS=$'\t' read -r st _ _ _ _; do
  case $st in new) new=$((new + 1)) ;; known) known=$((known + 1)) ;; unreproduced) unrep=$((unrep + 1)) ;; esac
done <"$OUT/triage/findings.tsv"
flags() { make -s --no-print-directory print-"$1" 2>/dev/null; }
{
  echo "==== hakmem fuzz campaign summary ===="
  echo "commit:    $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git status --porcelain -- src fuzz 2>/dev/null)" ] && echo ' (+ uncommitted changes in src/ or fuzz/)')"
  echo "builds:    core $(flags FUZZ_BASE); ASan $(flags FUZZ_SAN); AFL++ plain -O2 -g $(flags FUZZ_DEFS); sched $(flags SCHED_BASE)"
  echo "engine:    $ENGINE ($JOBS cores: ops $JOPS, mt $JMT, sched 1 at nice 5); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "run:       $RUN$([ "$RESUME" = 1 ] && echo ' (resumed: same sync directories and triage state)'); this run ${elapsed}s of ${DUR}s requested$([ $interrupted = 1 ] && echo ' (interrupted)'); all runs $(awk '{s+=$1} END{print s}' "$OUT/elapsed")s"
  for f in "${final[@]}"; do
    set -- $f
    echo "target $1:  $(engine_of $1), $2 executions, $3 exec/s, stability $7, fuzzer corpus $4, coverage $5, crash files $6; corpus/$(corpus_of $1): ${corpus_before[$1]:-0} -> $(ls corpus/$(corpus_of $1) | wc -l) files"
  done
  echo "coverage:  $cov of the lines of src/ reached by corpus/ops + corpus/ops-oom + corpus/mt after the merge (fuzz/coverage.sh)"
  pending=$(cat "$OUT/triage/pending" 2>/dev/null || echo 0)
  [ "$pending" = "?" ] && echo "triage:    DID NOT FINISH (see $OUT/logs/triage.log): the findings below are incomplete; python3 fuzz/triage.py $OUT (or RESUME=1) triages what is left"
  [ "$pending" = 0 ] || [ "$pending" = "?" ] || echo "triage:    $pending inputs not triaged within TRIAGE_BUDGET=${FINAL_BUDGET}s; kept in $OUT for the next round (make campaign RESUME=1, or python3 fuzz/triage.py $OUT)"
  echo "findings:  $((new + known)) signatures ($new new, $known already in repro/found), $unrep inputs not reproduced (kept in repro/found/unreproduced with their rate)"
  while IFS=$'\t' read -r st t rate path sig; do
    printf '  %-12s %-5s rate %-6s %s  %s\n' "$st" "$t" "$rate" "$path" "$sig"
  done <"$OUT/triage/findings.tsv"
  echo "output:    $OUT"
} | tee -a "$OUT/summary.txt"
[ $((new + known)) -eq 0 ]
