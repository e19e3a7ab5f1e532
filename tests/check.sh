#!/usr/bin/env bash
# The runner behind `make check`.  Each suite is a make target that prints
# one line per test, "PASS: <name>" or "FAIL: <name>", one "SKIP: <name>
# (why)" per step it did not run, and before them its plan, "PLAN: N": the
# number of PASS lines it must print (anything else is commentary).  A suite
# made of several scripts may print one PLAN line per script; its plan is
# their sum.
#
# A suite's count can never shrink silently:
#   - no PLAN line                      one FAIL ("<suite>: no PLAN line")
#   - fewer PASS lines than the plan    one FAIL ("<suite>: N of PLAN passed");
#     a skipped step is one PASS fewer, so it counts against the plan unless
#     the suite lowers its plan itself (and says why)
#   - exit status non-zero, no FAIL     one FAIL, so a crash or build error
#     can never pass silently
# Logs: build/logs/<suite>.log.  The last line is exactly "N passed, N failed"
# (a "N skipped" line before it when steps were skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/logs
suites=("$@")
total_pass=0; total_fail=0; total_skip=0
for s in "${suites[@]}"; do
  log=build/logs/$s.log
  start=$(date +%s)
  make -s --no-print-directory "$s" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); k=$(grep -c '^SKIP: ' "$log")
  plans=$(grep -oE '^PLAN: [0-9]+' "$log" | awk '{n += $2; c++} END {if (c) print n}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL: $s (make exited $rc; see $log)" >>"$log"; f=$((f + 1))
  fi
  if [ -z "$plans" ]; then
    echo "FAIL: $s: no PLAN line (a suite must declare how many PASS lines it prints)" >>"$log"; f=$((f + 1))
  elif [ "$p" -lt "$plans" ]; then
    sk=""; [ "$k" -gt 0 ] && sk=" ($k skipped)"
    echo "FAIL: $s: $p of $plans passed$sk" >>"$log"; f=$((f + 1))
  fi
  grep -E '^(FAIL|SKIP): ' "$log" | sed "s/^/  [$s] /"
  # more PASS lines than planned is not a failure, but the plan is stale
  [ -n "$plans" ] && [ "$p" -gt "$plans" ] && echo "  [$s] note: $p PASS lines, plan $plans (raise the plan)"
  printf '%-22s %4d passed %3d failed %3d skipped  plan %4s %5ds  %s\n' "$s" "$p" "$f" "$k" "${plans:--}" \
    $(( $(date +%s) - start )) "$log"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + k))
done
[ "$total_skip" -gt 0 ] && echo "$total_skip skipped"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
