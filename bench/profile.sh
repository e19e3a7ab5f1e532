#!/usr/bin/env bash
# bench/profile.sh — evidence for where an allocator spends its time.
#
#   bench/profile.sh ir [ALLOC...]
#       Instructions per operation under callgrind (deterministic, unlike
#       time on this VM), by differencing two run lengths so start-up and
#       the live-set setup cancel out:  Ir(2N) - Ir(N) / N.
#   bench/profile.sh callgrind ALLOC WORKLOAD ARGS...
#       callgrind_annotate of one run (inclusive and self, top 30), the
#       output file is kept in build/bench/profile/.
#   bench/profile.sh perf ALLOC WORKLOAD ARGS...
#       perf record -g of one run; perf report --stdio top entries.
# ALLOC: glibc hakmem hakmem-noharden mimalloc jemalloc tcmalloc; HAKMEM_SO and
# HAKMEM_NOHARDEN_SO override the .so paths.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=build/bench
PROF=build/bench/profile
mkdir -p "$PROF"
HAKMEM_SO=${HAKMEM_SO:-$ROOT/build/release/libhakmem.so}
[ -z "${NO_BUILD:-}" ] && { make -s --no-print-directory bench-progs || exit 1; }

so_of() {
  case $1 in
    glibc) echo "" ;;
    hakmem) echo "$HAKMEM_SO" ;;
    hakmem-noharden) echo "${HAKMEM_NOHARDEN_SO:-$ROOT/build/release-noharden/libhakmem.so}" ;;
    mimalloc) dpkg -L libmimalloc2.0 | grep -E '/libmimalloc\.so\.2$' | head -1 ;;
    jemalloc) dpkg -L libjemalloc2 | grep -E '/libjemalloc\.so\.2$' | head -1 ;;
    tcmalloc) dpkg -L libtcmalloc-minimal4 | grep -E '/libtcmalloc_minimal\.so\.4$' | head -1 ;;
    *) echo "profile: unknown allocator $1" >&2; exit 1 ;;
  esac
}

# ir_total ALLOC WORKLOAD ARGS... -> total Ir of the run
ir_total() {
  local so; so=$(so_of "$1"); shift
  local out="$PROF/ir.$$.out"
  LD_PRELOAD="$so" valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN/$@" \
    >/dev/null 2>"$PROF/ir.$$.err" || { echo "ERR"; tail -3 "$PROF/ir.$$.err" >&2; return; }
  awk '/^summary:|^totals:/ {print $2; exit}' "$out"
  rm -f "$out" "$PROF/ir.$$.err"
}

case "${1:-}" in
ir)
  shift
  allocs=("${@:-glibc hakmem mimalloc jemalloc tcmalloc}")
  [ $# -eq 0 ] && allocs=(glibc hakmem mimalloc jemalloc tcmalloc)
  # name | N | args before N | args after N | ops per unit of N
  cases=(
    "pair 64 B (per malloc+free)|200000|fastpath pair|1 64|1"
    "pair mixed 16-256 B (per malloc+free)|200000|fastpath pair|1 0|1"
    "batch of 100 LIFO, 16-512 B (per malloc or free)|2000|fastpath batch|1|200"
    "random_mixed 128 (per op)|200000|random_mixed|128 1|1"
    "random_mixed 1024 (per op)|200000|random_mixed|1024 1|1"
    "random_mixed 4096 (per op)|200000|random_mixed|4096 1|1"
    "mid_large_mt 1 thread (per replacement)|20000|mid_large_mt 1|256 1|1"
    "large (per iteration, touches pages)|20|large|1|1"
  )
  printf '| Ir per op (callgrind) | %s |\n|---|' "$(IFS='|'; echo "${allocs[*]}" | sed 's/|/ | /g')"
  for _ in "${allocs[@]}"; do printf -- '---:|'; done; echo
  for c in "${cases[@]}"; do
    IFS='|' read -r name n pre post per <<<"$c"
    printf '| %s |' "$name"
    for a in "${allocs[@]}"; do
      if [[ $a == hakmem* ]] && [ ! -f "$(so_of "$a")" ]; then printf ' — |'; continue; fi
      # shellcheck disable=SC2086
      i1=$(ir_total "$a" $pre "$n" $post); i2=$(ir_total "$a" $pre $((2 * n)) $post)
      if [[ $i1 =~ ^[0-9]+$ && $i2 =~ ^[0-9]+$ ]]; then
        printf ' %s |' "$(awk -v a="$i1" -v b="$i2" -v n="$n" -v p="$per" 'BEGIN {printf "%.1f", (b - a) / (n * p)}')"
      else
        printf ' ERR |'
      fi
    done
    echo
  done
  ;;
callgrind)
  shift; a=$1; shift
  so=$(so_of "$a")
  out="$PROF/callgrind.$a.$1.out"
  LD_PRELOAD="$so" valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN/$@" 2>&1 | grep -E '^RESULT|Collected|rror' || true
  echo "== self (exclusive) cost"
  callgrind_annotate --threshold=99 "$out" 2>/dev/null | sed -n '/^ *Ir/,$p' | head -34
  echo "== inclusive cost"
  callgrind_annotate --inclusive=yes --threshold=99 "$out" 2>/dev/null | sed -n '/^ *Ir/,$p' | head -34
  echo "(full data: $out; callgrind_annotate --auto=yes $out for source lines)"
  ;;
perf)
  shift; a=$1; shift
  so=$(so_of "$a")
  out="$PROF/perf.$a.$1.data"
  LD_PRELOAD="$so" perf record -q -g -o "$out" "$BIN/$@" 2>&1 | grep -E '^RESULT|rror' || true
  perf report -i "$out" --stdio --no-children --percent-limit 1.5 2>/dev/null | grep -v '^$' | head -70
  echo "(full data: $out)"
  ;;
*)
  sed -n '2,14p' "$0"; exit 1 ;;
esac
