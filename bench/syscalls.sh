#!/usr/bin/env bash
# bench/syscalls.sh — memory system calls per 1,000 operations, hakmem next
# to its peers (issue 19), behind `make bench-syscalls`.
#
#   bench/syscalls.sh            every case below under glibc, hakmem,
#                                mimalloc, jemalloc, tcmalloc
#   ALLOCS="glibc hakmem" BENCH_CASES="large|realloc" bench/syscalls.sh
#
# Each case runs under `strace -f -c` (threads included) twice: at the
# QUICK arguments of bench/run.sh, and a 1-operation run of the same
# program (the "startup": ld.so, the allocator's initialisation, thread
# stacks).  Per 1,000 operations = (calls of the run - calls of the
# startup) / (operations of the run - operations of the startup) x 1000,
# operations read from the RESULT line (value x seconds, realloc_grow's
# reallocs).  Counts are not timing-sensitive: strace's slowdown changes no
# count, so the runs are niced on core 1 (taskset -c 1 nice -n 10), away
# from the lead's timing on core 0.
# Writes bench/results/<date>-syscalls.md (OUT=dir) and prints it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=build/bench
OUT=${OUT:-bench/results}
HAKMEM_SO=${HAKMEM_SO:-build/release/libhakmem.so}
command -v strace >/dev/null || { echo "bench/syscalls.sh: strace not installed (make deps)" >&2; exit 1; }
[ -x "$BIN/large" ] || { echo "bench/syscalls.sh: $BIN not built (make bench-progs)" >&2; exit 1; }

peer_so() { dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -1; }
declare -A SO=(
  [glibc]=""
  [hakmem]="$(cd "$(dirname "$HAKMEM_SO")" 2>/dev/null && pwd)/$(basename "$HAKMEM_SO")"
  [mimalloc]="$(peer_so libmimalloc2.0 'libmimalloc\.so\.2')"
  [jemalloc]="$(peer_so libjemalloc2 'libjemalloc\.so\.2')"
  [tcmalloc]="$(peer_so libtcmalloc-minimal4 'libtcmalloc_minimal\.so\.4')"
)
ALLOCS=(${ALLOCS:-glibc hakmem mimalloc jemalloc tcmalloc})
CALLS="mmap munmap madvise mremap brk"

# name | QUICK arguments (bench/run.sh) | startup run | operations of each
# (from the arguments: ITERS, or THREADS x ITERS; "-": realloc_grow's
# reallocs= of its RESULT line)
CASES_ALL=(
  "large|large 20 1|large 1 1|20 1"
  "large_mixed_1T|large_mixed 1 20000 16 1|large_mixed 1 1 16 1|20000 1"
  "large_mixed_2T|large_mixed 2 10000 16 1|large_mixed 2 1 16 1|20000 2"
  "realloc_grow_4k|realloc_grow 4k 2 1 4|realloc_grow x1.5 1 1 1|- -"
  "realloc_grow_64k|realloc_grow 64k 2 1 16|realloc_grow x1.5 1 1 1|- -"
  "realloc_grow_x1.5|realloc_grow x1.5 4 1 32|realloc_grow x1.5 1 1 1|- -"
  "mid_large_mt_2T|mid_large_mt 2 300000 256 1|mid_large_mt 2 1 256 1|600000 2"
)

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# trace ALLOC OPS ARGS... -> "OPS mmap munmap madvise mremap brk" of one run
trace() {
  local a=$1 ops=$2; shift 2
  local -a pre=()
  if [ "$a" != glibc ]; then
    [ -f "${SO[$a]}" ] || { echo "missing"; return 1; }
    pre=(-E "LD_PRELOAD=${SO[$a]}")
  fi
  # shellcheck disable=SC2086
  taskset -c 1 nice -n 10 timeout -k 5 300 strace -f -qq -c -o "$tmp/st" -e trace=${CALLS// /,} "${pre[@]}" \
    "$BIN/$1" "${@:2}" >"$tmp/out" 2>"$tmp/err" || { echo "failed"; return 1; }
  local line
  line=$(grep -m1 '^RESULT ' "$tmp/out")
  if ! grep -q " alloc=$a " <<<"$line"; then echo "wrong-allocator"; return 1; fi
  [ "$ops" = - ] && ops=$(grep -o ' reallocs=[0-9]*' <<<"$line" | cut -d= -f2)
  printf '%s' "$ops"
  for c in $CALLS; do printf ' %s' "$(awk -v c="$c" '$NF == c {print $4; found = 1} END {if (!found) print 0}' "$tmp/st")"; done
  echo
}

stamp=$(date +%Y-%m-%d)
mkdir -p "$OUT"
md=$OUT/$stamp-syscalls.md
{
  echo "# Memory system calls per 1,000 operations ($stamp)"
  echo
  echo "strace -f -c of each workload at bench/run.sh's QUICK arguments, minus a 1-operation run of the same program"
  echo "(startup: ld.so, allocator initialisation, thread stacks), divided by the operations of the run minus those of"
  echo "the startup run, x 1,000 (\`bench/syscalls.sh\`, \`make bench-syscalls\`). total = the five columns;"
  echo "startup = all five calls of the startup run; ops = operations of the QUICK run. Operations: large,"
  echo "large_mixed, mid_large_mt: allocations (each later freed; large: 1 in 4 a realloc); realloc_grow: reallocs"
  echo "(its startup run: x1.5 from 64 KiB to 1 MiB, 7 reallocs)."
  echo
  echo "- commit $(git rev-parse --short=10 HEAD 2>/dev/null) (src/ include/ $(git status --porcelain -- src include | wc -l | sed 's/^0$/clean/; s/^[1-9][0-9]*$/DIRTY/'))," \
       "hakmem: ${SO[hakmem]#$ROOT/} sha256 $(sha256sum "${SO[hakmem]}" 2>/dev/null | cut -c1-12)"
  for p in libc6 libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4; do
    printf -- '- %s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)"
  done
  echo "- $(strace -V | head -1), $(uname -sr)"
  echo
  echo "| case | allocator | ops | mmap | munmap | madvise | mremap | brk | total | startup |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$md"
status=0
for c in "${CASES_ALL[@]}"; do
  IFS='|' read -r name args base nops <<<"$c"
  read -r ops_run ops_base <<<"$nops"
  [ -n "${BENCH_CASES:-}" ] && ! [[ $name =~ $BENCH_CASES ]] && continue
  for a in "${ALLOCS[@]}"; do
    # shellcheck disable=SC2086
    if ! run=$(trace "$a" "$ops_run" $args) || ! st=$(trace "$a" "$ops_base" $base); then
      echo "| $name | $a | ${run:-} ${st:-} | | | | | | | |" >>"$md"
      echo "bench/syscalls.sh: $name under $a: ${run:-} ${st:-} ($(tail -c 200 "$tmp/err" | tr '\n' ' '))" >&2
      status=1; continue
    fi
    awk -v name="$name" -v a="$a" -v run="$run" -v st="$st" 'BEGIN {
      n = split(run, r, " "); split(st, s, " ");
      ops = r[1] - s[1]; line = "| " name " | " a " | " r[1];
      tot = 0; stot = 0;
      for (i = 2; i <= n; i++) { d = r[i] - s[i]; tot += d; stot += s[i];
                                 line = line sprintf(" | %.1f", (ops > 0 ? 1000 * d / ops : 0)) }
      printf("%s | **%.1f** | %d |\n", line, (ops > 0 ? 1000 * tot / ops : 0), stot) }' >>"$md"
  done
done
cat "$md"
echo "bench/syscalls.sh: wrote $md" >&2
exit $status
