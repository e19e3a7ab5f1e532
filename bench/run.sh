#!/usr/bin/env bash
# bench/run.sh — the benchmark runner behind `make bench` and `make bench-smoke`.
#
#   bench/run.sh            full run (REPS=5, long arguments, syscall counts)
#   QUICK=1 bench/run.sh    quick run (REPS=5, short arguments, no strace) < 2 min
#   bench/run.sh --smoke    each workload once, briefly, under hakmem only, every
#                           block's tag checked (BENCH_CHECK=1):
#                           prints PASS: bench-<name> / FAIL: bench-<name>
#
# Knobs (environment): QUICK=1, REPS=N, ALLOCS="glibc hakmem ..." (subset; a
#   variant column is NAME@VAR=VAL[,VAR=VAL], e.g. hakmem@HAKMEM_HUGEPAGES=0),
#   BENCH_CASES="regex" (filter case names), SYSCALLS=0|1 (strace step; default on
#   unless QUICK), ONLY_SYSCALLS=1, IR=0|1 (callgrind instructions per op,
#   default on unless QUICK), HAKMEM_SO=path (default build/release/libhakmem.so),
#   OUT=dir (default bench/results), NO_BUILD=1 (skip `make bench-progs`),
#   BUDGET=seconds (QUICK: stop after >= 3 reps when the next would overrun; 95).
#
# Each run is one process; its one RESULT line carries the value, peak RSS
# (getrusage) and the allocator actually mapped (from /proc/self/maps), which
# must match the allocator we meant to preload or the run counts as failed.
# Allocators are interleaved run by run (A B C D E, B C D E A, ...) and the
# repetitions are the outer loop, so slow drift on this shared VM spreads over
# every allocator alike.  Medians only; only same-run ratios mean anything.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=build/bench
HAKMEM_SO=${HAKMEM_SO:-build/release/libhakmem.so}
OUT=${OUT:-bench/results}
QUICK=${QUICK:-0}; [ "$QUICK" = 0 ] && QUICK=
SMOKE=; [ "${1:-}" = --smoke ] && SMOKE=1

die() { echo "bench: $*" >&2; exit 1; }
ulimit -c 0    # a crashing allocator should leave a failed run, not core files

if [ -z "${NO_BUILD:-}" ]; then
  make -s --no-print-directory bench-progs || die "building the workloads failed"
fi

peer_so() {   # peer_so PACKAGE SONAME-REGEX
  local f
  f=$(dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -1)
  [ -n "$f" ] && [ -e "$f" ] && echo "$f"
}
declare -A SO=(
  [glibc]=""
  [hakmem]="$ROOT/$HAKMEM_SO"
  [hakmem-noharden]="$ROOT/${HAKMEM_NOHARDEN_SO:-build/release-noharden/libhakmem.so}"
  [mimalloc]="$(peer_so libmimalloc2.0 'libmimalloc\.so\.2')"
  [jemalloc]="$(peer_so libjemalloc2 'libjemalloc\.so\.2')"
  [tcmalloc]="$(peer_so libtcmalloc-minimal4 'libtcmalloc_minimal\.so\.4')"
)
case "$HAKMEM_SO" in /*) SO[hakmem]=$HAKMEM_SO ;; esac

# run_one ALLOC TIMEOUT BINARY ARGS... -> prints the RESULT line; returns rc
# (124 timeout, 125 no RESULT line, 126 wrong allocator mapped).  stderr of the
# workload goes to $ERRFILE.
ERRFILE=$(mktemp); trap 'rm -f "$ERRFILE"' EXIT
# An allocator name may carry environment settings for a variant column:
# "hakmem@HAKMEM_HUGEPAGES=0" (several separated by ",").
base_of() { echo "${1%%@*}"; }
env_of() { [[ $1 == *@* ]] && tr ',' ' ' <<<"${1#*@}"; }
run_one() {
  local alloc=$1 to=$2; shift 2
  local out rc line base; base=$(base_of "$alloc")
  local -a envs; read -r -a envs <<<"$(env_of "$alloc")"
  if [ "$base" = glibc ]; then
    out=$(env "${envs[@]}" timeout -k 5 "$to" "$@" 2>"$ERRFILE"); rc=$?
  else
    out=$(env "${envs[@]}" LD_PRELOAD="${SO[$base]}" timeout -k 5 "$to" "$@" 2>"$ERRFILE"); rc=$?
  fi
  line=$(grep -m1 '^RESULT ' <<<"$out")
  if [ $rc -eq 0 ] && [ -z "$line" ]; then rc=125; fi
  local want=${base%%-*}           # hakmem-noharden maps a libhakmem too
  if [ $rc -eq 0 ] && ! grep -q " alloc=$want " <<<"$line"; then
    echo "expected alloc=$want, got: $line" >>"$ERRFILE"; rc=126
  fi
  echo "$line"
  return $rc
}

# ---------------------------------------------------------------- smoke ----
if [ -n "$SMOKE" ]; then
  # the plan (tests/check.sh): one PASS per workload (9 programs), written
  # out so that a workload dropped from the list below is a FAIL
  echo "PLAN: 9"
  SMOKE_CASES=(
    "larson|larson 1 8 1000 2000 20 4141 4"
    "larson|larson 0.5 8 1000 5000 100 4141 2"
    "random_mixed|random_mixed 2000000 1024 1"
    "random_mixed|random_mixed 1000000 4096 2"
    "mid_large_mt|mid_large_mt 2 100000 128 1"
    "producer_consumer|producer_consumer 1000000 256 1"
    "thread_churn|thread_churn 100 4 1000 1"
    "large|large 20 1"
    "large_mixed|large_mixed 1 2000 16 1"
    "large_mixed|large_mixed 2 1000 16 1"
    "realloc_grow|realloc_grow 4k 1 1 32"
    "realloc_grow|realloc_grow 64k 1 1 64"
    "realloc_grow|realloc_grow x1.5 2 1 256"
    "fastpath|fastpath pair 5000000 1"
    "fastpath|fastpath batch 50000 1"
  )
  declare -A bad=() order=()
  names=()
  for c in "${SMOKE_CASES[@]}"; do
    name=${c%%|*}; cmd=${c#*|}
    [ -z "${order[$name]:-}" ] && { order[$name]=1; names+=("$name"); }
    if [ ! -f "${SO[hakmem]}" ]; then bad[$name]="missing ${SO[hakmem]}"; continue; fi
    # shellcheck disable=SC2086
    line=$(BENCH_CHECK=1 run_one hakmem 30 "$BIN/"$cmd); rc=$?
    if [ $rc -ne 0 ]; then
      bad[$name]="${bad[$name]:-}[$cmd: rc=$rc $(tail -c 300 "$ERRFILE" | tr '\n' ' ')]"
    else
      echo "  $line"
    fi
  done
  for name in "${names[@]}"; do
    if [ -n "${bad[$name]:-}" ]; then echo "FAIL: bench-$name ${bad[$name]}"; else echo "PASS: bench-$name"; fi
  done
  exit 0
fi

# ---------------------------------------------------------------- cases ----
# name | quick arguments | full arguments   (binary is the first word)
CASES_ALL=(
  "larson_2T|larson 0.3 8 1000 5000 100 4141 2|larson 5 8 1000 5000 100 4141 2"
  "larson_4T|larson 0.3 8 1000 5000 100 4141 4|larson 5 8 1000 5000 100 4141 4"
  "random_mixed_128|random_mixed 3000000 128 1|random_mixed 30000000 128 1"
  "random_mixed_256|-|random_mixed 30000000 256 1"
  "random_mixed_512|-|random_mixed 30000000 512 1"
  "random_mixed_1024|random_mixed 3000000 1024 1|random_mixed 30000000 1024 1"
  "random_mixed_4096|random_mixed 3000000 4096 1|random_mixed 30000000 4096 1"
  "mid_large_mt_2T|mid_large_mt 2 300000 256 1|mid_large_mt 2 5000000 256 1"
  "producer_consumer|producer_consumer 1000000 256 1|producer_consumer 10000000 256 1"
  "thread_churn|thread_churn 80 2 2000 1|thread_churn 1500 2 2000 1"
  "large|large 20 1|large 300 1"
  "large_mixed_1T|large_mixed 1 20000 16 1|large_mixed 1 200000 16 1"
  "large_mixed_2T|large_mixed 2 10000 16 1|large_mixed 2 100000 16 1"
  # realloc_grow QUICK: a peer that copies at every step is quadratic in
  # MAX_MIB (jemalloc timed out at 60 s with 64-256 MiB), and every new
  # page faults once (x1.5 to 256 MiB: 37 s under glibc): these sizes take
  # <= 3 s under every peer (jemalloc, mimalloc slowest; measured once each)
  "realloc_grow_4k|realloc_grow 4k 2 1 4|realloc_grow 4k 4 1 256"
  "realloc_grow_64k|realloc_grow 64k 2 1 16|realloc_grow 64k 20 1 256"
  "realloc_grow_x1.5|realloc_grow x1.5 4 1 32|realloc_grow x1.5 200 1 256"
  "fastpath_pair|fastpath pair 10000000 1 64|fastpath pair 200000000 1 64"
  "fastpath_pair_mixed|fastpath pair 10000000 1 0|fastpath pair 200000000 1 0"
  "fastpath_batch|fastpath batch 100000 1|fastpath batch 2000000 1"
)
CASES_FILTER=${BENCH_CASES:-}
CASES=()
for c in "${CASES_ALL[@]}"; do
  IFS='|' read -r name qa fa <<<"$c"
  [ -n "$CASES_FILTER" ] && ! [[ $name =~ $CASES_FILTER ]] && continue
  if [ -n "$QUICK" ]; then [ "$qa" = - ] && continue; CASES+=("$name|$qa|$qa")
  else CASES+=("$name|$fa|$qa"); fi       # strace uses the quick arguments
done
[ ${#CASES[@]} -gt 0 ] || die "no case matches BENCH_CASES=$CASES_FILTER"

DEFAULT_ALLOCS="glibc hakmem mimalloc jemalloc tcmalloc"
[ -z "$QUICK" ] && [ -f "${SO[hakmem-noharden]}" ] && DEFAULT_ALLOCS="glibc hakmem hakmem-noharden mimalloc jemalloc tcmalloc"
ALLOCS=(${ALLOCS:-$DEFAULT_ALLOCS})
RUN_ALLOCS=()
declare -A MISSING=()
for a in "${ALLOCS[@]}"; do
  b=$(base_of "$a")
  [ -v "SO[$b]" ] || die "unknown allocator $a"
  if [ "$b" != glibc ] && [ ! -f "${SO[$b]}" ]; then
    MISSING[$a]="${SO[$b]:-package not installed}"
    echo "bench: WARNING: $a not available (${MISSING[$a]}); its column will be empty" >&2
  else
    RUN_ALLOCS+=("$a")
  fi
done
REPS=${REPS:-$([ -n "$QUICK" ] && echo 5 || echo 5)}
TIMEOUT=$([ -n "$QUICK" ] && echo 60 || echo 600)
SYSCALLS=${SYSCALLS:-$([ -n "$QUICK" ] && echo 0 || echo 1)}
[ -n "${ONLY_SYSCALLS:-}" ] && SYSCALLS=1

# ------------------------------------------------------ hakmem snapshot ----
# Someone may rebuild build/release while we measure (make is shared): copy the
# library once, hash the copy, and preload only the copy, so every run of this
# report measures the one binary whose sha256 it records.
declare -A SNAP_OF=() SHA_OF=() ORIG_OF=()
for b in hakmem hakmem-noharden; do
  used=; for a in "${RUN_ALLOCS[@]}"; do [ "$(base_of "$a")" = "$b" ] && used=1; done
  [ -n "$used" ] || continue
  snap=
  for try in 1 2 3 4 5; do
    tmp=$(mktemp "$BIN/.libhakmem.XXXXXX")
    cp "${SO[$b]}" "$tmp"
    sha=$(sha256sum "$tmp" | cut -c1-64)
    snap="$BIN/libhakmem-${sha:0:12}.so"
    mv -f "$tmp" "$snap"
    if LD_PRELOAD="$ROOT/$snap" "$BIN/fastpath" pair 1000 1 2>/dev/null | grep -q ' alloc=hakmem '; then break; fi
    echo "bench: copy of ${SO[$b]} does not load (being rebuilt?); retrying" >&2
    rm -f "$snap"; snap=; sleep 3
  done
  [ -n "$snap" ] || die "could not take a loadable copy of ${SO[$b]}"
  SNAP_OF[$b]=$snap; SHA_OF[$b]=$sha; ORIG_OF[$b]=${SO[$b]}
  SO[$b]="$ROOT/$snap"
done

# ------------------------------------------------------- build identity ----
commit=$(git rev-parse --verify -q HEAD 2>/dev/null || echo "none (no commit yet)")
short=$(git rev-parse --verify -q --short=10 HEAD 2>/dev/null || echo nocommit)
dirty=$(git status --porcelain -- src include Makefile 2>/dev/null | wc -l)
stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$OUT"
STEM="$OUT/$stamp-$short"
META="$STEM.meta"; RAW="$STEM.tsv"; SYSF="$STEM.syscalls.tsv"
IFS='|' read -r hak_cc hak_flags <<<"$(make -s --no-print-directory bench-print-flags)"
src_sha=$( (cd "$ROOT" && find src include -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort | xargs cat 2>/dev/null) | sha256sum | cut -c1-64)
{
  echo "date	$(date -Is)"
  echo "mode	$([ -n "$QUICK" ] && echo QUICK || echo full)"
  echo "reps	$REPS"
  echo "commit	$commit"
  echo "dirty	$([ "$dirty" -gt 0 ] && echo "yes ($dirty paths under src/ include/ Makefile differ from HEAD)" || echo no)"
  echo "src_sha256	$src_sha (sorted src/ include/ *.c *.h)"
  echo "compiler	$($hak_cc --version | head -1) ($hak_cc)"
  echo "hakmem_cflags	$hak_flags"
  echo "bench_cflags	$(make -s --no-print-directory bench-print-bench-flags)"
  echo "block_checks	1 block in ${BENCH_CHECK:-16} tagged and checked at free (BENCH_CHECK)"
  for b in hakmem hakmem-noharden; do
    k=${b//-/_}
    if [ -n "${SNAP_OF[$b]:-}" ]; then
      echo "${k}_so	${ORIG_OF[$b]} (every run preloads the copy ${SNAP_OF[$b]})"
      echo "${k}_so_sha256	${SHA_OF[$b]}"
      [ "$b" = hakmem-noharden ] && echo "hakmem_noharden_cflags	release flags + -DHAK_HARDEN=0 (Makefile: build/release-noharden)"
      echo "${k}_so_mtime	$(date -Is -r "${ORIG_OF[$b]}")"
      newer=$(find src include Makefile -newer "${ORIG_OF[$b]}" -type f 2>/dev/null | head -5 | tr '\n' ' ')
      echo "${k}_so_stale	$([ -n "$newer" ] && echo "STALE: newer sources: $newer" || echo "no (no source newer than the .so)")"
    elif [ "$b" = hakmem ]; then
      echo "hakmem_so	MISSING or not measured (${SO[hakmem]})"
    fi
  done
  for p in libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 libc6; do
    echo "peer	$p $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)"
  done
  echo "machine	$(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
  echo "load_before	$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$META"

echo "bench: $(grep -E '^(mode|commit|dirty|hakmem_so_sha256|hakmem_so_stale)	' "$META" | tr '\t' '=' | tr '\n' ' ')"
echo "bench: ${#CASES[@]} cases x ${#RUN_ALLOCS[@]} allocators x $REPS reps -> $STEM.md"

# ------------------------------------------------------------- timing ----
printf 'rep\tcase\talloc\trc\tresult\n' >"$RAW"
if [ -z "${ONLY_SYSCALLS:-}" ]; then
  t_start=$(date +%s)
  n=${#RUN_ALLOCS[@]}
  for ((rep = 0; rep < REPS; rep++)); do
    for c in "${CASES[@]}"; do
      IFS='|' read -r name args _ <<<"$c"
      for ((k = 0; k < n; k++)); do
        a=${RUN_ALLOCS[$(((k + rep) % n))]}          # rotate the order each rep
        # shellcheck disable=SC2086
        line=$(run_one "$a" "$TIMEOUT" "$BIN/"$args); rc=$?
        if [ $rc -ne 0 ]; then
          err=$(tail -c 400 "$ERRFILE" | tr '\n\t' '  ')
          echo "bench: FAILED $name under $a (rep $rep, rc=$rc): $err" >&2
          line="ERROR $err"
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$name" "$a" "$rc" "$line" >>"$RAW"
      done
    done
    el=$(( $(date +%s) - t_start ))
    echo "bench: rep $((rep + 1))/$REPS done ($el s)"
    # QUICK keeps to its time budget on a loaded VM: at least 3 reps, then
    # stop when one more would overrun BUDGET seconds.
    if [ -n "$QUICK" ] && [ $((rep + 1)) -ge 3 ] && [ $((el + el / (rep + 1))) -gt "${BUDGET:-95}" ]; then
      rep=$((rep + 1)); echo "bench: stopping after $rep reps (QUICK time budget ${BUDGET:-95} s; the VM is loaded)"
      break
    fi
  done
  echo "reps_done	$(awk -F'\t' 'NR > 1 {print $1}' "$RAW" | sort -un | wc -l)" >>"$META"
fi

# ----------------------------------------------------------- syscalls ----
if [ "$SYSCALLS" = 1 ]; then
  printf 'case\talloc\tsyscall\tcalls\n' >"$SYSF"
  st=$(mktemp)
  for c in "${CASES[@]}"; do
    IFS='|' read -r name _ qargs <<<"$c"
    for a in "${RUN_ALLOCS[@]}"; do
      pre=(); b=$(base_of "$a")
      [ "$b" != glibc ] && pre=(-E "LD_PRELOAD=${SO[$b]}")
      for e in $(env_of "$a"); do pre+=(-E "$e"); done
      # shellcheck disable=SC2086
      timeout -k 5 300 strace -f -qq -c -o "$st" -e trace=mmap,munmap,mremap,madvise,brk,mprotect \
        "${pre[@]}" "$BIN/"$qargs >/dev/null 2>&1 || echo "bench: strace run of $name under $a failed" >&2
      awk -v c="$name" -v a="$a" '$NF ~ /^(mmap|munmap|mremap|madvise|brk|mprotect)$/ {print c "\t" a "\t" $NF "\t" $4}' "$st" >>"$SYSF"
    done
  done
  rm -f "$st"
fi

# ------------------------------------------- instructions per op (Ir) ----
IR=${IR:-$([ -n "$QUICK" ] && echo 0 || echo 1)}
if [ "$IR" = 1 ] && [ -z "${ONLY_SYSCALLS:-}" ]; then
  echo "bench: callgrind instruction counts (deterministic)..."
  NO_BUILD=1 HAKMEM_SO="${SO[hakmem]}" HAKMEM_NOHARDEN_SO="${SO[hakmem-noharden]}" bench/profile.sh ir "${RUN_ALLOCS[@]}" >"$STEM.ir.md" ||
    echo "bench: callgrind step failed" >&2
fi

echo "load_after	$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"
for a in "${!MISSING[@]}"; do echo "missing	$a ${MISSING[$a]}" >>"$META"; done
python3 bench/report.py "$STEM" "${ALLOCS[@]}" || die "report generation failed"
# the report embeds these; keep only .md, .svg and the raw .tsv
rm -f "$META" "$STEM.ir.md" "$SYSF"
