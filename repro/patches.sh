#!/usr/bin/env bash
# repro/patches.sh [PATCH...]: every mutant patch of the project still applies
# to src/ (a dry run, as repro/bugs/mutant.sh applies them: -p1, no fuzz
# beyond patch's default, forward only).  A patch whose context moved used
# to surface only when the one suite that builds its mutant ran, as "mutant
# tree/build failed", and the matrix (make bugs) and the mutant scripts of
# fuzz/, props/ and tests/faults/ do not run in make check.  One PASS or
# FAIL line (the broken patches named), for check-repro.
set -uo pipefail
cd "$(dirname "$0")/.."
patches=("$@")
[ ${#patches[@]} -gt 0 ] || mapfile -t patches < <(ls repro/bugs/*.patch fuzz/mutants/*.patch props/mutants/*.patch \
                                                      tests/faults/mutants/*.patch fuzz/triage-test/*.patch 2>/dev/null)
broken=()
for p in "${patches[@]}"; do
  patch -p1 --dry-run --batch --forward --silent -i "$p" >/dev/null 2>&1 || broken+=("$p")
done
if [ ${#broken[@]} -eq 0 ]; then
  echo "PASS: repro/patches-apply (${#patches[@]} mutant patches apply to src/)"
else
  echo "FAIL: repro/patches-apply (${#broken[@]} of ${#patches[@]} no longer apply: ${broken[*]})"
  exit 1
fi
