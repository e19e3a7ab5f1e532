#!/usr/bin/env bash
# The soak (make soak MINUTES=N): long runs of bench/larson and
# bench/thread_churn under LD_PRELOAD of the RELEASE library, with 2 to 64
# threads, RSS sampled from /proc/PID/status (VmRSS) twice a second.
#
# Runs (each MINUTES*60/4 seconds):
#   larson-2    larson, 2 threads   (remote frees, worker threads replaced)
#   larson-64   larson, 64 threads
#   churn-8     thread_churn, 8 threads per round (threads born and dying)
#   churn-64    thread_churn, 64 threads per round
#
# Plateau check, per run: the mean RSS of the last third of the run must be
# within PLATEAU_PCT (default 10%) + 4 MiB of the mean of the middle third.
# Why those numbers: the first third is warm-up (caches and heaps growing to
# the working set), so it is left out.  Every workload keeps a bounded live
# set, so in steady state the two means differ only by noise (thread stacks
# and caches of threads alive at the sample instant: a few %); a leak or
# unbounded growth of abandoned heaps adds the same amount to every third,
# which over a 45-second third of larson (~10^7 frees) or ~10^4 dead
# threads is far above 10%.  The 4 MiB absolute slack keeps small runs
# (larson-2 sits at a few MiB) from failing on one segment (2 MiB) of jitter.
# Each program must also exit 0 (they check block tags on every free).
#
# Output: build/soak/<run>.tsv (seconds, RSS KiB), build/soak/rss.svg
# (gnuplot), build/soak/report.md; both copied to tests/soak/results/.
# Prints PASS: soak/<run> / FAIL: soak/<run> lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${MINUTES:-3}
PLATEAU_PCT=${PLATEAU_PCT:-10}
LIB=$PWD/build/release/libhakmem.so
OUT=build/soak
RES=tests/soak/results
mkdir -p "$OUT" "$RES"
[ -f "$LIB" ] || { echo "FAIL: soak/library ($LIB missing)"; exit 1; }
secs=$(awk -v m="$MINUTES" 'BEGIN { s = m * 60 / 4; if (s < 8) s = 8; printf "%d", s }')

# Sample VmRSS of $1 until it exits; writes "t rss_kib" lines to $2.
sample() {
  local pid=$1 out=$2 t0 now rss
  t0=$(date +%s.%N)
  : >"$out"
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    now=$(date +%s.%N)
    [ -n "$rss" ] && awk -v a="$now" -v b="$t0" -v r="$rss" 'BEGIN { printf "%.2f\t%d\n", a - b, r }' >>"$out"
    sleep 0.5
  done
}

# thread_churn takes rounds, not seconds: calibrate ROUNDS for ~secs.
churn_rounds() {
  local nt=$1 t0 t1
  t0=$(date +%s.%N)
  LD_PRELOAD=$LIB build/bench/thread_churn 20 "$nt" 2000 7 >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v s="$secs" 'BEGIN { d = (b - a) / 20; if (d <= 0) d = 0.01; r = int(s / d); if (r < 50) r = 50; print r }'
}

fails=0
runs=(larson-2 larson-64 churn-8 churn-64)
declare -A verdict figures
for run in "${runs[@]}"; do
  nt=${run#*-}
  case $run in
    larson-*) cmd=(build/bench/larson "$secs" 8 1000 5000 100 4141 "$nt") ;;
    churn-*)  cmd=(build/bench/thread_churn "$(churn_rounds "$nt")" "$nt" 2000 42) ;;
  esac
  # Started directly (no `timeout` in between): $! must be the program
  # itself, whose RSS is sampled.  A watchdog kills it if it hangs.
  LD_PRELOAD=$LIB "${cmd[@]}" >"$OUT/$run.out" 2>"$OUT/$run.err" &
  pid=$!
  ( sleep $((secs * 4 + 60)); kill -9 "$pid" 2>/dev/null ) &
  dog=$!
  sample "$pid" "$OUT/$run.tsv"
  wait "$pid"; rc=$?
  pkill -P "$dog" sleep 2>/dev/null; kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
  # Thirds of the samples by time: mean RSS of the middle and last third.
  read -r n mid last peak dur < <(awk '{ t[NR] = $1; r[NR] = $2 } END {
      if (NR < 6) { print NR, 0, 0, 0, 0; exit }
      d = t[NR]; m = 0; mn = 0; l = 0; ln = 0; p = 0
      for (i = 1; i <= NR; i++) {
        if (r[i] > p) p = r[i]
        if (t[i] >= d / 3 && t[i] < 2 * d / 3) { m += r[i]; mn++ }
        else if (t[i] >= 2 * d / 3) { l += r[i]; ln++ }
      }
      printf "%d %d %d %d %.0f\n", NR, mn ? m / mn : 0, ln ? l / ln : 0, p, d }' "$OUT/$run.tsv")
  growth=$(awk -v m="$mid" -v l="$last" 'BEGIN { printf "%+.1f", m ? 100 * (l - m) / m : 0 }')
  figures[$run]="$dur s, $n samples, RSS middle third $((mid / 1024)) MiB, last third $((last / 1024)) MiB ($growth%), peak $((peak / 1024)) MiB"
  why=
  if [ "$rc" -ne 0 ]; then why="exit $rc: $(head -c 300 "$OUT/$run.err")"
  elif [ "$n" -lt 6 ]; then why="only $n RSS samples"
  elif ! awk -v m="$mid" -v l="$last" -v p="$PLATEAU_PCT" 'BEGIN { exit !(l <= m * (1 + p / 100) + 4096) }'; then
    why="no plateau: last third $((last / 1024)) MiB > middle third $((mid / 1024)) MiB + ${PLATEAU_PCT}% + 4 MiB"
  fi
  if [ -z "$why" ]; then echo "PASS: soak/$run (${figures[$run]})"; verdict[$run]=PASS
  else echo "FAIL: soak/$run ($why)"; verdict[$run]="FAIL: $why"; fails=$((fails + 1)); fi
done

# The curve: RSS over time, one line per run.
plot="set terminal svg size 900,500 dynamic background rgb 'white'; set output '$OUT/rss.svg';"
plot+=" set title 'hakmem soak: RSS over time (MINUTES=$MINUTES, release, LD_PRELOAD)'; set xlabel 'seconds';"
plot+=" set ylabel 'RSS (MiB)'; set key top left; set grid; plot"
sep=
for run in "${runs[@]}"; do
  plot+="$sep '$OUT/$run.tsv' using 1:(\$2/1024) with lines lw 2 title '$run'"; sep=,
done
if command -v gnuplot >/dev/null && gnuplot -e "$plot" 2>"$OUT/gnuplot.err"; then :; else
  echo "  (gnuplot failed: $(head -c 200 "$OUT/gnuplot.err" 2>/dev/null))"; fi

{
  echo "# hakmem soak"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- src include 2>/dev/null || echo ' (src/ modified)'), MINUTES=$MINUTES, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Release library under LD_PRELOAD; RSS = VmRSS sampled every 0.5 s."
  echo "Plateau: mean RSS of the last third <= mean of the middle third + ${PLATEAU_PCT}% + 4 MiB."
  echo
  echo "| run | command | figures | result |"
  echo "|---|---|---|---|"
  for run in "${runs[@]}"; do
    c=$(grep -o 'RESULT .*' "$OUT/$run.out" | head -1 | cut -c1-160)
    echo "| $run | \`${c:-?}\` | ${figures[$run]} | ${verdict[$run]} |"
  done
  echo
  echo "![RSS over time](rss.svg)"
} >"$OUT/report.md"
cp "$OUT/report.md" "$OUT"/*.tsv "$RES/" 2>/dev/null
[ -f "$OUT/rss.svg" ] && cp "$OUT/rss.svg" "$RES/"
echo "soak report: $OUT/report.md (copied to $RES/)"
[ $fails -eq 0 ]
