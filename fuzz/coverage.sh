#!/usr/bin/env bash
# fuzz/coverage.sh: line coverage of src/ reached by the corpus (make coverage).
# Replays corpus/ops and corpus/ops-oom (+ repro/props/*.ops) with build/fuzz/ops-cov and
# corpus/mt with build/fuzz/mt-cov (clang source-based coverage), merges the
# profiles and writes build/coverage/index.html (HTML per file) and
# build/coverage/summary.txt; prints the per-file table and the TOTAL line.
#   COV_DIRS="dir..."   extra ops-format input directories to include (e.g. a
#                       campaign's queue) - replayed by ops-cov
set -uo pipefail
cd "$(dirname "$0")/.."
FB=build/fuzz
C=build/coverage
PROFDATA=${LLVM_PROFDATA:-llvm-profdata-14}
LLVMCOV=${LLVM_COV:-llvm-cov-14}
mkdir -p build
make -s --no-print-directory -j2 $FB/ops-cov $FB/mt-cov >"$C.build.log" 2>&1 || { tail "$C.build.log"; exit 1; }
[ -n "$(ls -A corpus/ops 2>/dev/null)" ] || make -s --no-print-directory fuzz-seeds >/dev/null
rm -rf "$C"; mkdir -p "$C/raw"
props=(); for f in repro/props/*.ops; do [ -f "$f" ] && props+=("$f"); done
LLVM_PROFILE_FILE="$C/raw/ops-%p.profraw" $FB/ops-cov corpus/ops corpus/ops-oom "${props[@]}" ${COV_DIRS:-} 2>"$C/ops.log" \
  || { echo "coverage: an ops input failed (see $C/ops.log)"; }
LLVM_PROFILE_FILE="$C/raw/mt-%p.profraw" $FB/mt-cov corpus/mt 2>"$C/mt.log" \
  || { echo "coverage: an mt input failed (see $C/mt.log)"; }
$PROFDATA merge -sparse "$C"/raw/*.profraw -o "$C/all.profdata" || exit 1
objs=($FB/ops-cov -object $FB/mt-cov)
$LLVMCOV report "${objs[@]}" -instr-profile="$C/all.profdata" src/ >"$C/summary.txt" || exit 1
$LLVMCOV show "${objs[@]}" -instr-profile="$C/all.profdata" -format=html -output-dir="$C" \
  -show-line-counts-or-regions src/ >/dev/null || exit 1
# columns of llvm-cov 14: Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
awk '/^[A-Za-z_]+\.[ch] |^TOTAL/ {printf "%-20s lines %6s  missed %5s  %7s   regions %7s\n", $1, $8, $9, $10, $4}' "$C/summary.txt"
echo "coverage: HTML in $C/index.html, table in $C/summary.txt"
