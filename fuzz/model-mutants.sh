#!/usr/bin/env bash
# fuzz/model-mutants.sh: the check-fuzz-model suite.  Each stricter check of
# the fuzz/ops model has a core mutant (fuzz/mutants/NAME.patch, a patch
# of src/ built by repro/bugs/mutant.sh) that only that check sees, and one
# input that shows it.  PASS needs, for each, (a) the real core to replay
# the input cleanly and (b) the mutant's replay to stop with the check's
# named signature (repro/verdict.py match: model[TAG]); any other outcome
# (another tag, a crash without a tag, a build error) is a FAIL.
#   realloc-skips-a-page  realloc copies page by page and skips the second
#                         page: a 20000 -> 40000 byte realloc loses bytes
#                         4096-8191, which the old first/last-2-KiB fill
#                         check never read; the whole-block check does
#                         (model[realloc-prefix]).
#   large-refusal-sticks  after one refused map the core refuses every
#                         later large block without asking the OS: the old
#                         model accepted ENOMEM from every operation after
#                         osfail; the exact one only from the record that
#                         consumed the failure (model[null]).
# The determinism check's own red cases (fuzz/mutants/det-*.patch):
#   det-no-reset (fuzz/ops.c: no canonical caches after an input): `patch
#     -p1 < fuzz/mutants/det-no-reset.patch; make check-determinism` reports
#     207 of 1117 inputs of corpus/ops + corpus/ops-oom (at 96b0559, its
#     context ported: it had stopped applying at b9d4f98; 276 of 1127 at
#     5d24e19, 424 at 171f2e8 with the per-input trim it replaced);
#     det-no-warm-up: 1 (at 171f2e8);
#   det-canon-keeps-extras (src/segment.c: the canon keeps the segments an
#     input mapped beyond the set): `repro/bugs/mutant.sh make
#     fuzz/mutants/det-canon-keeps-extras.patch build/fuzz/ops-replay`, then
#     build/mutants/det-canon-keeps-extras/build/fuzz/ops-replay -d
#     corpus/ops corpus/ops-oom: 34 of 1117 (at 96b0559; 57 of 1127 at 5d24e19).
set -uo pipefail
cd "$(dirname "$0")/.."
echo "PLAN: 5"
W=build/fuzz/model-mutants
mkdir -p "$W"
rec() {   # rec OP HEAP-BYTE SLOT-BYTE MODE-BYTE V: one 8-byte record, as hex
  printf '%02x%02x%02x%02x' "$1" "$2" "$3" "$4"
  printf '%08x' "$5" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/'
}
# header: checker every 64 ops, one heap, fill seed 0
{ printf '3f000000'; rec 0 0 0 7 20000; rec 2 0 0 7 40000; } | xxd -r -p >"$W/realloc-skips-a-page.in"
# (a keyed trim first: with the fuzz build's canonical caches a large block
# is served from the cached span and never reaches the OS; after the trim
# the refused map has nothing to give back, so the block fails; header
# byte 3 is HFZ_OOM_KEY, without which trim and osfail records do nothing)
{ printf '3f00004f'; rec 11 0 0 84 0; rec 17 0 0 0 0; rec 0 0 0 3 0; rec 0 0 1 3 0; } | xxd -r -p >"$W/large-refusal-sticks.in"
declare -A want=([realloc-skips-a-page]='^model\[realloc-prefix\]' [large-refusal-sticks]='^model\[null\]')

if ! make -s --no-print-directory build/fuzz/ops-replay >"$W/build.log" 2>&1; then
  for m in realloc-skips-a-page large-refusal-sticks; do
    echo "FAIL: model-clean-$m (build failed, see $W/build.log)"; echo "FAIL: model-mutant-$m (build failed)"
  done
  exit 0
fi
for m in realloc-skips-a-page large-refusal-sticks; do
  in=$W/$m.in
  if build/fuzz/ops-replay "$in" >"$W/$m.clean.log" 2>&1; then
    echo "PASS: model-clean-$m (the real core replays $in cleanly)"
  else
    echo "FAIL: model-clean-$m ($(repro/verdict.py sig "$W/$m.clean.log"); see $W/$m.clean.log)"
  fi
  log=$W/$m.mutant.log
  if ! repro/bugs/mutant.sh make "fuzz/mutants/$m.patch" build/fuzz/ops-replay >"$log" 2>&1; then
    echo "FAIL: model-mutant-$m (mutant build failed, see $log)"; continue
  fi
  build/mutants/$m/build/fuzz/ops-replay "$in" >>"$log" 2>&1
  if repro/verdict.py match "${want[$m]}" "$log" >/dev/null; then
    echo "PASS: model-mutant-$m ($(repro/verdict.py sig "$log"))"
  else
    echo "FAIL: model-mutant-$m (wanted ${want[$m]}, got $(repro/verdict.py sig "$log"); see $log)"
  fi
done
# The key gates the out-of-memory records: the same input with byte 3 = 0
# leaves its trim and osfail records inert, so on the mutant it runs clean
# (the block comes from the cached span; a gate that let the records act
# would give model[null] here as above, one that never lets them act fails
# model-mutant-large-refusal-sticks)
m=large-refusal-sticks
{ printf '3f000000'; rec 11 0 0 84 0; rec 17 0 0 0 0; rec 0 0 0 3 0; rec 0 0 1 3 0; } | xxd -r -p >"$W/$m-unkeyed.in"
if [ -x build/mutants/$m/build/fuzz/ops-replay ] &&
   build/mutants/$m/build/fuzz/ops-replay "$W/$m-unkeyed.in" >"$W/$m-unkeyed.log" 2>&1; then
  echo "PASS: model-oom-key-gates-records (without HFZ_OOM_KEY the input runs clean on the $m mutant)"
else
  echo "FAIL: model-oom-key-gates-records (without HFZ_OOM_KEY: $(repro/verdict.py sig "$W/$m-unkeyed.log" 2>/dev/null); see $W/$m-unkeyed.log)"
fi
