#!/usr/bin/env bash
# sanitizers/tests/run.sh COMBO [LOGDIR]: the annotation proofs for one
# variant-compiler combination (e.g. asan-clang), built by
# `make san-build-COMBO` in build/san/COMBO/st/.
#   bug_*.c   commit one memory error on a hakmem block; PASS only when the
#             variant's tool reports it: non-zero exit (66 for the
#             sanitizers, 99 for valgrind) AND every pattern listed below
#             for that tool appears in its report.
#   clean_*.c correct programs: PASS only with exit 0, their "ok" line, and
#             no report of any kind.
# Tests that say nothing about a tool (bug_uninit under ASan, ...) are not
# run for it.  Environment: SAN_ENV_<variant>, SAN_RUN_<variant> (from make).
# One line per test: "PASS: st/COMBO/NAME" or "FAIL: st/COMBO/NAME (why)";
# full reports in LOGDIR/st-COMBO-NAME.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
combo=$1
logdir=${2:-build/san/$combo/st-logs}
variant=${combo%%-*}
bin=build/san/$combo/st
mkdir -p "$logdir"
envvar=SAN_ENV_$variant; runvar=SAN_RUN_$variant
san_env=${!envvar:-}; san_run=${!runvar:-}

# Extended regexps the report must contain, one per line; "where" is the
# program's own line that committed the error (the report must point at it).
where() { echo "(in main|main \().*$1\.c:"; }
expect() {   # expect TOOL TEST -> patterns on stdout, nothing = not run
  local tool=$1 t=$2
  case "$tool:$t" in
    asan:bug_overflow*)
      echo 'ERROR: AddressSanitizer: (heap-buffer-overflow|use-after-poison)'
      echo 'WRITE of size 1 at'; where "$t" ;;
    asan:bug_reuse*)   # needs the quarantine (src/quarantine.c); only ASan has one
      echo 'ERROR: AddressSanitizer: (heap-use-after-free|use-after-poison)'
      echo 'WRITE of size 1 at'; where "$t" ;;
    asan:bug_uaf_write)
      echo 'ERROR: AddressSanitizer: (heap-use-after-free|use-after-poison)'
      echo 'WRITE of size 8 at'; where "$t" ;;
    asan:bug_uaf*)
      echo 'ERROR: AddressSanitizer: (heap-use-after-free|use-after-poison)'
      echo 'READ of size 1 at'; where "$t" ;;
    msan:bug_uninit*)
      echo 'WARNING: MemorySanitizer: use-of-uninitialized-value'; where "$t" ;;
    tsan:bug_race)
      echo 'WARNING: ThreadSanitizer: data race'; echo 'writer .*bug_race\.c:' ;;
    valgrind:bug_overflow_large)
      echo 'Invalid write of size 1'; where "$t"
      echo 'is 0 bytes after a (recently re-allocated )?block of size 100,000 alloc.d' ;;
    valgrind:bug_overflow_exact)
      echo 'Invalid write of size 1'; where "$t" ;;
    valgrind:bug_overflow*)
      echo 'Invalid write of size 1'; where "$t"; echo 'is 0 bytes after a (recently re-allocated )?block of size [0-9]+ alloc.d' ;;
    valgrind:bug_uaf_write)
      echo 'Invalid write of size 8'; where "$t"; echo 'is 0 bytes inside a block of size 64 free.d' ;;
    valgrind:bug_uaf*)
      echo 'Invalid read of size 1'; where "$t"; echo 'bytes inside a block of size [0-9,]+ free.d' ;;
    valgrind:bug_uninit*)
      echo 'Conditional jump or move depends on uninitialised value'; where "$t" ;;
  esac
}
# Any of these in the output of a clean program is a (false) report.
REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: MemorySanitizer|WARNING: ThreadSanitizer|runtime error:|ERROR SUMMARY: [1-9]|^==[0-9]+== (Invalid|Conditional|Use of uninit|Mismatched)|definitely lost: [1-9]|^hakmem: '

fails=0
shopt -s nullglob
progs=("$bin"/*)
if [ ${#progs[@]} -eq 0 ]; then echo "FAIL: st/$combo (nothing built in $bin)"; exit 1; fi
for p in "${progs[@]}"; do
  t=$(basename "$p")
  log=$logdir/st-$combo-$t.log
  case $t in
    clean_*) pats= ;;
    bug_*) pats=$(expect "$variant" "$t"); [ -n "$pats" ] || continue ;;
    *) continue ;;
  esac
  # shellcheck disable=SC2086
  env $san_env timeout -k 5 300 $san_run "$p" >"$log" 2>&1
  rc=$?
  why=
  if [[ $t == clean_* ]]; then
    if [ $rc -ne 0 ]; then why="exit $rc"
    elif ! grep -q "^$t ok" "$log"; then why="no '$t ok' line"
    elif grep -qE "$REPORT" "$log"; then why="false report"; fi
  else
    if [ $rc -eq 0 ]; then why="the tool reported nothing (exit 0)"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="timeout"
    else
      while IFS= read -r pat; do
        grep -qE -- "$pat" "$log" || { why="exit $rc, report lacks /$pat/"; break; }
      done <<<"$pats"
    fi
  fi
  if [ -z "$why" ]; then echo "PASS: st/$combo/$t"
  else
    echo "FAIL: st/$combo/$t ($why; $log)"
    grep -m4 -E 'ERROR: |WARNING: |SUMMARY: |Invalid|uninitialised|^st: |^hakmem: ' "$log" | sed 's/^/    | /'
    fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ]
