#!/usr/bin/env bash
# fuzz/speed.sh: executions per second of each target on one core, checks
# on (make fuzz-speed).  For each target:
#   libfuzzer  the ASan+UBSan libFuzzer binary fuzzing for SPEED_SECONDS
#              (default 30) from a scratch copy of corpus/<target>: libFuzzer's
#              own average (loading the corpus included) and the rate after
#              INITED (mutating: what a long campaign sees);
#   replay     the same inputs (the seeds plus what that run found) replayed
#              5 times by the plain replay binary (no sanitizer, checker on):
#              the cost of the harness and the core alone, and the median
#              time of one input (most of the mean is a tail of inputs that
#              map and touch fresh memory: ~11 us a page on this VM).
#   ops-oom    fuzz/ops from corpus/ops-oom: the out-of-memory inputs (trim,
#              injected OS failures; fuzz/ops_emit.h HFZ_OOM_KEY), which map
#              and fault their memory afresh: the campaign's slower instance.
#   sched      fuzz/sched: its ASan+UBSan libFuzzer build, SPEED_SECONDS from
#              fuzz/sched/seeds: libFuzzer's average.
#   afl        fuzz/ops only: AFL++ (the campaign's main engine) with the
#              plain persistent build (build/fuzz/ops-afl), one core, for
#              SPEED_SECONDS from corpus/ops, then from corpus/ops-oom: afl-fuzz's execs_done / run time
#              (calibration included) and its stability.  Skipped without afl-fuzz.
# Nothing is written to corpus/.  Runs one target at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${SPEED_SECONDS:-30}
FB=build/fuzz
W=build/fuzz/speed
make -s --no-print-directory -j2 $FB/ops-lf $FB/mt-lf $FB/ops-replay $FB/mt-replay >/dev/null || exit 1
[ -n "$(ls -A corpus/ops 2>/dev/null)" ] || make -s --no-print-directory fuzz-seeds >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
printf '%-8s %12s %12s %10s %12s %8s %6s\n' target 'libfuzzer/s' 'mutating/s' 'replay/s' 'median us' 'inputs' 'cov'
for t in ops ops-oom mt; do
  b=${t%-oom}    # the binary: ops-oom is fuzz/ops on the other corpus
  rm -rf "$W/$t"; mkdir -p "$W/$t"
  cp corpus/$t/* "$W/$t/"
  log=$W/$t.log
  taskset -c 0 $FB/$b-lf -max_total_time="$SECS" -dict=fuzz/$b.dict -max_len=2048 -rss_limit_mb=2560 \
    -timeout=25 -print_final_stats=1 -artifact_prefix="$W/crash-$t-" "$W/$t" >"$log" 2>&1 || echo "($t: finding, see $log)"
  lf=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
  cov=$(grep -E '(DONE|pulse|NEW|REDUCE).*cov:' "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
  # after INITED: executions and seconds since (libFuzzer's exec/s at INITED gives its time)
  mut=$(awk -v total="$SECS" '/INITED/ { for (i = 1; i <= NF; i++) if ($i == "exec/s:") r = $(i + 1); n0 = substr($1, 2) + 0 }
        /DONE/ { n1 = substr($1, 2) + 0 }
        END { if (r > 0 && n1 > n0) { t0 = n0 / r; if (total > t0) printf "%.0f", (n1 - n0) / (total - t0) } }' "$log")
  rp=$(taskset -c 0 $FB/$b-replay -t -n 5 "$W/$t" 2>&1 | tail -1 | sed -E 's/.*\(([0-9]+) exec\/s\).*/\1/')
  med=$(taskset -c 0 $FB/$b-replay -p "$W/$t" 2>&1 | awk '/ us / { print $1 }' | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.0f", a[int((NR + 1) / 2)] }')
  printf '%-8s %12s %12s %10s %12s %8s %6s\n' "$t" "${lf:-?}" "${mut:-?}" "${rp:-?}" "${med:-?}" "$(ls "$W/$t" | wc -l)" "${cov:-?}"
done
# fuzz/sched (schedule fuzzing, ASan+UBSan libFuzzer build of repro/repro.mk) from its seeds
if make -s --no-print-directory build/sched/sched-lf >/dev/null 2>&1; then
  rm -rf "$W/sched"; mkdir -p "$W/sched"; cp fuzz/sched/seeds/* "$W/sched/"
  taskset -c 0 build/sched/sched-lf -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=2560 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$W/crash-sched-" "$W/sched" >"$W/sched.log" 2>&1 || echo "(sched: finding, see $W/sched.log)"
  printf '%-6s %12s\n' sched "$(grep -m1 'stat::average_exec_per_sec' "$W/sched.log" | awk '{print $2}')"
fi
if command -v afl-fuzz >/dev/null && make -s --no-print-directory $FB/ops-afl >/dev/null 2>&1; then
  for t in ops ops-oom; do
    rm -rf "$W/afl-$t"
    env -u ASAN_OPTIONS AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_CRASHES=1 \
      AFL_FAST_CAL=1 AFL_NO_AFFINITY=1 \
      taskset -c 0 timeout $((SECS + 60)) afl-fuzz -i corpus/$t -o "$W/afl-$t" -x fuzz/ops.dict -m none -t 10000+ \
      -V "$SECS" -- $FB/ops-afl >"$W/afl-$t.log" 2>&1
    st=$(ls "$W"/afl-$t/*/fuzzer_stats 2>/dev/null | head -1)
    if [ -n "$st" ]; then
      awk -F' *: *' -v t="$t" '/^execs_done/ { e = $2 } /^run_time/ { r = $2 } /^stability/ { s = $2 } /^bitmap_cvg/ { b = $2 }
        END { printf "%-8s afl++ plain persistent: %d executions in %d s = %.0f exec/s, stability %s, bitmap %s\n", t, e, r, r ? e / r : 0, s, b }' "$st"
    else echo "$t afl++: no fuzzer_stats (see $W/afl-$t.log)"; fi
  done
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work on the machine lowers these numbers)"
