#!/usr/bin/env bash
# repro/matrix/run.sh [NAME...]: the instrument-power matrix (make bugs).
#
# Every mutant of repro/bugs/ x every instrument (ops mt sched props relacy
# misuse unit gate preload), each cell from empty inputs with BUGS_BUDGET s
# (60) on one core, seeded instruments once per seed of BUGS_SEEDS ("1 2 3").
# Each cell is repro/matrix/cell.sh (its verdict rules are there).
#   BUGS="NAME..." / arguments   some mutants only
#   INSTRUMENTS="ops sched"      some instruments only
#   MATRIX_JOBS=N                cells in parallel (default 1)
#   BUGS_DEADLINE=HH:MM          (UTC) start no cell after that time: the
#                                rest print "n/r" and a later run resumes
# Cells are cached under build/bugs/cells (keyed by patch, src/, the
# instrument's sources and the seed) and exported to repro/matrix/cells.tsv,
# which is committed and imported at start: a killed or cut run resumes,
# and a subset re-runs alone.  The table: build/bugs/catalog.md, and
# repro/CATALOG.md when the run covered every mutant and instrument.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$MX/inst.sh"
cd "$ROOT"
jobs=${MATRIX_JOBS:-1}
mutants=${*:-${BUGS:-}}
full=1
[ -n "$mutants" ] && full=0
[ -n "$mutants" ] || mutants=$(./repro/bugs/mutant.sh list | tr '\n' ' ')
insts=${INSTRUMENTS:-$ALL_INSTRUMENTS}
[ "$insts" = "$ALL_INSTRUMENTS" ] || full=0
for i in $insts; do [[ " $ALL_INSTRUMENTS " == *" $i "* ]] || { echo "bugs: unknown instrument $i (known: $ALL_INSTRUMENTS)" >&2; exit 2; }; done
./repro/bugs/mutant.sh check >/dev/null || exit 3    # a patch that no longer applies is loud

# import the committed cells (a key that is no longer current is never hit)
if [ -f "$MX/cells.tsv" ]; then
  while IFS= read -r l; do
    [[ -z "$l" || "$l" == \#* ]] && continue
    k=${l%%$'\t'*}; [ -s "$CELLS/$k" ] || printf '%s\n' "$l" >"$CELLS/$k"
  done <"$MX/cells.tsv"
fi

# the sources hash of each instrument, once
for i in $insts; do
  # shellcheck disable=SC2046
  export "CELL_SRCHASH_$i=$(hash_files $(ls src/*) $(inst_sources "$i"))"
done
plan=$ROOT/build/bugs/plan.txt
python3 "$MX/plan.py" "$mutants" "$insts" "$SEEDS" >"$plan"
keyed=$ROOT/build/bugs/plan-keys.txt
: >"$keyed"
while read -r m i s; do
  v=CELL_SRCHASH_$i
  echo "$(cell_key "$(patch_file "$m")" "${!v}" "$i" "$s") $m $i $s" >>"$keyed"
done <"$plan"
total=$(wc -l <"$plan")
todo=$(while read -r k _; do [ -s "$CELLS/$k" ] || echo; done <"$keyed" | wc -l)
echo "bugs: $total cells ($(echo "$mutants" | wc -w) mutants x $(echo "$insts" | wc -w) instruments, seeds: $SEEDS), $((total - todo)) cached, $todo to run"
echo "bugs: worst case $todo x $BUDGET s / $jobs jobs = $((todo * BUDGET / jobs / 60)) min (plus builds)"

# run the cells in plan order, JOBS at a time
export BUGS_BUDGET=$BUDGET BUGS_DEADLINE=${BUGS_DEADLINE:-}
cut -d' ' -f2- "$keyed" | xargs -P "$jobs" -L1 "$MX/one.sh"

# the table of this plan (cached results; n/r: not run yet)
res=$ROOT/build/bugs/results.tsv
while read -r k m i s; do
  if [ -s "$CELLS/$k" ]; then cat "$CELLS/$k"
  else printf '%s\t%s\t%s\t%s\tn/r\t-\t-\tnot run yet\t-\n' "$k" "$m" "$i" "$s"; fi
done <"$keyed" >"$res"
python3 "$MX/table.py" export "$MX/cells.tsv" "$res" "$plan"
python3 "$MX/table.py" catalog "$res" "$BUDGET" "$SEEDS" "$jobs" >"$ROOT/build/bugs/catalog.md"
[ $full = 1 ] && cp "$ROOT/build/bugs/catalog.md" repro/CATALOG.md
echo "bugs: table in build/bugs/catalog.md$( [ $full = 1 ] && echo ' and repro/CATALOG.md')"
python3 "$MX/table.py" uncaught "$res"
