#!/usr/bin/env bash
# props/run.sh GROUP=CASES...: run the property binaries build/props/GROUP,
# PROPS_JOBS at a time, each with RC_PARAMS max_success=CASES; print each
# binary's output whole (its PASS/FAIL lines), then a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${PROPS_JOBS:-2}
bindir=${PROPS_BIN_DIR:-build/props}   # another directory: e.g. binaries linked with a mutant
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The plan (tests/check.sh): how many properties (PASS lines) each group
# binary checks.  Written here, not asked of the binaries, so a property
# deleted from its source is a FAIL of make check.
declare -A props_in=([p1_disjoint]=1 [p2_metadata]=1 [p3_classes]=3 [p4_remote]=1 [p5_api]=4 [p6_exit]=2 [p7_realloc]=1)
plan=0
for spec in "$@"; do plan=$((plan + ${props_in[${spec%%=*}]:-0})); done
echo "PLAN: $plan"
pids=()
names=()
start=$(date +%s)
for spec in "$@"; do
  g=${spec%%=*}; n=${spec#*=}
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  ( s=$(date +%s)
    RC_PARAMS="max_success=$n ${PROPS_RC_EXTRA:-}" "$bindir/$g" >"$tmp/$g.out" 2>"$tmp/$g.err"
    rc=$?
    echo "$rc $(( $(date +%s) - s ))" >"$tmp/$g.rc" ) &
  names+=("$g")
done
wait
status=0
for g in "${names[@]}"; do
  read -r rc secs <"$tmp/$g.rc"
  echo "== props/$g: $(grep -c '^PASS' "$tmp/$g.out") passed, $(grep -c '^FAIL' "$tmp/$g.out") failed, ${secs}s (exit $rc)"
  cat "$tmp/$g.out"
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -q '^FAIL' "$tmp/$g.out" || echo "FAIL: props/$g (exit $rc)"
    echo "-- stderr of $g (rapidcheck report, reproduce string):"
    tail -n 80 "$tmp/$g.err"
    # rapidcheck prints the reproduce string at exit: hand it to the
    # reproducer notes of the failed properties too.
    repro=$(grep -m1 -o 'RC_PARAMS="reproduce=[^"]*"' "$tmp/$g.err")
    if [ -n "$repro" ]; then
      for n in $(sed -n 's/^FAIL: props\///p' "$tmp/$g.out"); do
        echo "  reproduce props/$n: $repro $bindir/$g --only $n"
        f=${PROPS_REPRO_DIR:-repro/props}/$n.txt
        [ -f "$f" ] && echo "# rapidcheck: $repro $bindir/$g --only $n" >>"$f"
      done
    fi
  fi
done
echo "props: $(( $(date +%s) - start ))s"
exit $status
