#!/usr/bin/env bash
# fuzz/campaign.sh: the fuzz campaign (make campaign).
#
#   make campaign                      about 10 minutes on every core, AFL++
#   make campaign MINUTES=3            short run
#   make campaign HOURS=8              overnight
#   make campaign ENGINE=libfuzzer     libFuzzer -fork instead of AFL++
#   make campaign JOBS=4               cores to use (default: all)
#
# AFL++: fuzz/ops runs one -M instance (ASan+UBSan build) and -S secondaries
# (plain build with a CMPLOG companion, plain, ASan alternately) sharing one
# sync directory; fuzz/mt runs in its own sync directory (ASan build).  All
# builds are persistent mode with deferred init (fuzz/afl_driver.c).
# libFuzzer: each target with -fork=N (N split over JOBS), -ignore_crashes.
#
# A status line every STATUS_SECONDS (default 30).  At the end (also after
# Ctrl-C): every crash is replayed with the ASan replay binary, given a
# signature (HAKFUZZ-FAIL tag, sanitizer bug type + first core frame, or
# hakmem misuse message), deduplicated, minimised (libFuzzer
# -minimize_crash), and each new signature is written to
# repro/found/<name> with <name>.txt (one line) and <name>.report (the
# replay's report); new coverage is merged into corpus/<target>
# (libFuzzer -merge=1: only inputs that add coverage are added); a summary
# is printed and written to <out>/summary.txt.  Exits 1 when a crash was
# found (new or already in repro/found), 0 otherwise.
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
FB=build/fuzz
OUT=build/campaign/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs" "$OUT/crashes" "$OUT/triage"
ln -sfn "$(basename "$OUT")" build/campaign/latest
OUT=$ROOT/$OUT
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
want=(fuzz)
[ "$ENGINE" = afl ] && want+=(fuzz-afl)
if ! make -s --no-print-directory -j"$JOBS" "${want[@]}" >"$OUT/logs/build.log" 2>&1; then
  echo "campaign: build failed, see $OUT/logs/build.log" >&2; tail -20 "$OUT/logs/build.log" >&2; exit 2
fi
for t in ops mt; do
  [ -n "$(ls -A corpus/$t 2>/dev/null)" ] || make -s --no-print-directory fuzz-seeds >>"$OUT/logs/build.log" 2>&1
done
if [ $interrupted = 1 ]; then echo "campaign: interrupted during the build" >&2; exit 130; fi
declare -A corpus_before
for t in ops mt; do corpus_before[$t]=$(ls corpus/$t | wc -l); done

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
log "engine $ENGINE, $DUR s, $JOBS cores (ops $JOPS, mt $JMT), output $OUT"

if [ "$ENGINE" = afl ]; then
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
         AFL_SKIP_CRASHES=1 AFL_IGNORE_SEED_PROBLEMS=1 AFL_TESTCACHE_SIZE=64 AFL_FAST_CAL=1
  # afl_start TARGET NAME ROLE BINARY [extra afl-fuzz args]
  afl_start() {
    local t=$1 name=$2 role=$3 bin=$4; shift 4
    setsid afl-fuzz "$role" "$name" -i corpus/$t -o "$OUT/afl-$t" -x fuzz/$t.dict -m none -t 10000+ \
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
  afl_start mt main -M $FB/mt-afl-asan
  for ((i = 1; i < JMT; i++)); do afl_start mt s$i -S $FB/mt-afl-asan; done
else
  for t in ops mt; do
    j=$JOPS; [ $t = mt ] && j=$JMT
    mkdir -p "$OUT/lf-$t"
    setsid $FB/$t-lf -fork=$j -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$DUR" \
      -dict=fuzz/$t.dict -max_len=2048 -rss_limit_mb=2560 -timeout=25 -print_final_stats=1 \
      -artifact_prefix="$OUT/crashes/$t-" "$OUT/lf-$t" corpus/$t >"$OUT/logs/lf-$t.log" 2>&1 </dev/null &
    pids+=($!)
  done
fi

# ---- status ------------------------------------------------------------------
# stats TARGET -> "execs exec/s corpus coverage crashes"
stats() {
  local t=$1
  if [ "$ENGINE" = afl ]; then
    awk -F' *: *' '
      $1=="run_time"{rt=$2} $1=="execs_done"{e+=$2; if(rt>0)s+=$2/rt}   # run_time comes first
      $1=="corpus_count"{if($2>c)c=$2} $1=="bitmap_cvg"{sub("%","",$2); if($2+0>b)b=$2+0}
      $1=="saved_crashes"||$1=="unique_crashes"{k+=$2}
      END{printf "%d %d %d %.2f%% %d\n", e, s, c, b, k}' "$OUT"/afl-$t/*/fuzzer_stats 2>/dev/null
  else
    local line k
    line=$(grep -aE '^#[0-9]+.*(cov|corp):' "$OUT/logs/lf-$t.log" | tail -1)
    k=$(ls "$OUT/crashes" 2>/dev/null | grep -c "^$t-")
    echo "$line" | awk -v k="$k" '{e=$1; sub("#","",e); c="?"; v="?"; s=0
      for(i=1;i<=NF;i++){ if($i=="corp:"){split($(i+1),a,"/"); c=a[1]} if($i=="cov:")v=$(i+1); if($i=="exec/s:"||$i=="exec/s")s=$(i+1)}
      printf "%d %d %s %s %d\n", e, s, c, v, k}'
  fi
}
status_line() {
  local el=$1 s
  printf 'campaign: %5ds/%ds' "$el" "$DUR"
  for t in ops mt; do
    s=($(stats $t)); [ ${#s[@]} -ge 5 ] || s=(0 0 0 ? 0)
    printf ' | %s: %s execs, %s/s, corpus %s, cov %s, crashes %s' $t "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "${s[4]}"
  done
  echo
}
t0=$(date +%s)
next=$STATUS
while :; do
  sleep 1
  el=$(( $(date +%s) - t0 ))
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  if [ $interrupted = 1 ]; then log "interrupted after ${el}s: stopping the fuzzers, keeping what was found"; break; fi
  [ $alive = 1 ] || break
  if [ $el -ge $((DUR + 60)) ]; then log "fuzzers still running ${el}s after start: stopping them"; break; fi
  if [ $el -ge $next ]; then status_line $el | tee -a "$OUT/status.log" >&2; next=$((next + STATUS)); fi
done
stop_all
trap - INT TERM
elapsed=$(( $(date +%s) - t0 ))
status_line $elapsed | tee -a "$OUT/status.log" >&2
final=()   # after the stop: AFL writes its last statistics on exit
for t in ops mt; do s=($(stats $t)); [ ${#s[@]} -ge 5 ] || s=(0 0 0 ? 0); final+=("$t ${s[*]}"); done
[ "$ENGINE" = afl ] && grep -h -m3 -iE 'PROGRAM ABORT|Fork server|error' "$OUT"/logs/afl-*.log 2>/dev/null | head -5 >&2

# ---- triage ----------------------------------------------------------------------
# signature REPORT-FILE -> a file-name-safe signature
signature() {
  local r=$1 tag kind frame msg
  tag=$(grep -m1 -o 'HAKFUZZ-FAIL\[[^]]*\]' "$r" | sed -E 's/HAKFUZZ-FAIL\[(.*)\]/\1/')
  frame=$(grep -E '^ +#[0-9]+ ' "$r" | grep -vE 'hfz_fail|abort|raise|pthread_kill|__sanitizer|libc\.so|fuzzer::|LLVMFuzzer|hak__fatal|fatal\.c|run_file|run_path|replay\.c|main ' \
          | grep -m1 -oE ' in [A-Za-z_][A-Za-z0-9_]*' | awk '{print $2}')
  if [ -n "$tag" ]; then
    # the innermost part of the message (after the last ": "), numbers dropped
    msg=$(grep -m1 'HAKFUZZ-FAIL' "$r" | sed -E 's/.*: //; s/0x[0-9a-f]+//g; s/[0-9]+//g' | tr -c 'a-zA-Z\n' '-' \
          | tr -s '-' | cut -c1-40 | sed -E 's/^-//; s/-$//')
    echo "model-$tag-$msg"
  elif kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer): [a-z-]+' "$r"); then
    echo "asan-${kind##* }-${frame:-unknown}"
  elif kind=$(grep -m1 -oE 'runtime error: [a-z ]+' "$r"); then
    echo "ubsan-$(echo "${kind#runtime error: }" | tr ' ' '-' | cut -c1-30)-${frame:-unknown}"
  elif kind=$(grep -m1 -oE 'ThreadSanitizer: [a-z -]+' "$r"); then
    echo "tsan-$(echo "${kind#ThreadSanitizer: }" | tr ' ' '-')-${frame:-unknown}"
  elif msg=$(grep -m1 -E '^hakmem: ' "$r"); then
    echo "hakmem-$(echo "$msg" | sed -E 's/^hakmem: //; s/ of 0x.*//; s/0x[0-9a-f]+//g' | tr -c 'a-zA-Z0-9\n' '-' | tr -s '-' | cut -c1-40)"
  else
    echo "crash-$(sha1sum "$r" | cut -c1-8)"
  fi
}

# replay_report TARGET INPUT REPORT [replay args]: the symbolised ASan replay
replay_report() {
  local t=$1 in=$2 out=$3; shift 3
  ( ASAN_OPTIONS=$REPORT_ASAN timeout 120 $FB/$t-replay-asan "$@" "$in" >"$out" 2>&1; r=$?; exit $r ) 2>/dev/null
}

crash_files() {   # TARGET -> crash inputs, one per line
  local t=$1
  ls "$OUT"/afl-$t/*/crashes/id:* 2>/dev/null
  ls "$OUT"/crashes/$t-crash-* "$OUT"/crashes/$t-leak-* "$OUT"/crashes/$t-oom-* 2>/dev/null
}

declare -A seen
new=0 known=0 raw=0 flaky=0
findings=()
for t in ops mt; do
  prefix=""; [ $t = mt ] && prefix="mt-"
  while IFS= read -r c; do
    [ -n "$c" ] || continue
    raw=$((raw + 1))
    rep=$OUT/triage/report-$raw.txt
    replay_report $t "$c" "$rep"; rc=$?
    if [ $rc -eq 0 ] && [ $t = mt ]; then    # threads: give the schedule a few more tries
      replay_report $t "$c" "$rep" -n 20; rc=$?
    fi
    if [ $rc -eq 0 ]; then
      flaky=$((flaky + 1)); cp "$c" "$OUT/triage/flaky-$raw"
      echo "campaign: $c does not reproduce under the replay binary (kept as $OUT/triage/flaky-$raw)" >&2
      continue
    fi
    sig=$prefix$(signature "$rep")
    [ -z "${seen[$sig]:-}" ] || continue
    seen[$sig]=1
    dest=repro/found/$sig
    if [ -e "$dest" ]; then known=$((known + 1)); findings+=("known  $dest"); continue; fi
    # minimise: libFuzzer keeps the smallest input that still crashes
    min=$OUT/triage/min-$raw
    ( timeout 150 $FB/$t-lf -minimize_crash=1 -max_total_time=60 -runs=100000 \
      -exact_artifact_path="$min" "$c" >"$OUT/triage/minimize-$raw.log" 2>&1; exit 0 ) 2>/dev/null
    src=$c
    if [ -s "$min" ]; then
      replay_report $t "$min" "$rep.min"
      if [ $? -ne 0 ] && [ "$prefix$(signature "$rep.min")" = "$sig" ]; then src=$min; mv "$rep.min" "$rep"; fi
    fi
    cp "$src" "$dest"
    cp "$rep" "$dest.report"
    line=$(grep -m1 -E 'HAKFUZZ-FAIL|ERROR: [A-Za-z]+Sanitizer|runtime error|ThreadSanitizer: |^hakmem: ' "$rep")
    echo "$line (found by make campaign, ENGINE=$ENGINE, $(date +%F); input $(wc -c <"$src") bytes; replay: build/fuzz/$t-replay-asan $dest)" >"$dest.txt"
    new=$((new + 1)); findings+=("NEW    $dest  $line")
  done < <(crash_files $t)
done

# ---- merge new coverage into corpus/ --------------------------------------------------
for t in ops mt; do
  dirs=()
  if [ "$ENGINE" = afl ]; then for q in "$OUT"/afl-$t/*/queue; do [ -d "$q" ] && dirs+=("$q"); done
  else [ -d "$OUT/lf-$t" ] && dirs+=("$OUT/lf-$t"); fi
  [ ${#dirs[@]} -gt 0 ] || continue
  timeout 900 $FB/$t-lf -merge=1 -max_len=2048 -rss_limit_mb=2560 -timeout=25 corpus/$t "${dirs[@]}" \
    >"$OUT/logs/merge-$t.log" 2>&1 || log "merge of $t failed (see $OUT/logs/merge-$t.log); corpus/$t unchanged by it"
done

# ---- summary ------------------------------------------------------------------------
{
  echo "==== hakmem fuzz campaign summary ===="
  echo "engine:    $ENGINE ($JOBS cores: ops $JOPS, mt $JMT)"
  echo "duration:  ${elapsed}s of ${DUR}s requested$([ $interrupted = 1 ] && echo ' (interrupted)')"
  for f in "${final[@]}"; do
    set -- $f
    echo "target $1:  $2 executions, $3 exec/s (last), fuzzer corpus $4, coverage $5, crash files $6; corpus/$1: ${corpus_before[$1]} -> $(ls corpus/$1 | wc -l) files"
  done
  echo "crashes:   $raw crash inputs, $flaky not reproducible, $((new + known)) unique signatures ($new new, $known already in repro/found)"
  for f in "${findings[@]}"; do echo "  $f"; done
  echo "output:    $OUT"
} | tee -a "$OUT/summary.txt"
[ $((new + known)) -eq 0 ]
