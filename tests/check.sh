#!/usr/bin/env bash
# The runner behind `make check`.  Each suite is a make target that prints
# one line per test, "PASS: <name>" or "FAIL: <name>" (anything else is
# commentary).  A suite that exits non-zero without printing a FAIL line
# counts as one failure, so a crash or build error can never pass silently.
# Logs: build/logs/<suite>.log.  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/logs
suites=("$@")
total_pass=0; total_fail=0
for s in "${suites[@]}"; do
  log=build/logs/$s.log
  start=$(date +%s)
  make -s --no-print-directory "$s" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL: $s (make exited $rc; see $log)" >>"$log"; f=1
  fi
  grep -E '^FAIL: ' "$log" | sed "s/^/  [$s] /"
  printf '%-22s %4d passed %3d failed %5ds  %s\n' "$s" "$p" "$f" $(( $(date +%s) - start )) "$log"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
