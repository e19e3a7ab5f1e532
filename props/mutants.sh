#!/usr/bin/env bash
# props/mutants.sh NAME...: prove that property 1 catches broken cores.
#
# NAME is a mutant of the project's catalog, repro/bugs/NAME.patch, built by
# the project's one mechanism, repro/bugs/mutant.sh (a mutant tree under
# build/mutants/NAME with a patched copy of src/).  For each NAME:
#   1. build the mutant tree's fuzz/ops replay binary (and with it the tree's
#      build/fuzz-plain core: -O1 -DHAK_CHECK_LEVEL=2 -DHAK_NO_OVERRIDE, the
#      flags of build/props-core);
#   2. link the property-1 objects of the real tree with that same mutant
#      core, so the property and the replay run one library, and
#      require that "disjoint" FAILS and shrinks to at most
#      PROPS_MUTANT_MAX_CMDS commands:          PASS: props/mutant-N
#   3. replay the .ops it wrote with build/fuzz/ops-replay: it must abort on
#      the mutant and run clean on the real core: PASS: props/mutant-N-replays
#   4. the same for the kept reproducer repro/props/mutant-N.ops:
#                                               PASS: props/mutant-N-kept
# (N is NAME without its "props-" prefix.)  PROPS_KEEP=1 refreshes the kept
# reproducers from this run.
#
# A patch whose header has the line "props-replay: clean" is a bug the
# fuzz/ops oracle cannot see (it checks no drain-before-pop rule); for it,
# step 3/4 require the replay to run clean on the mutant too, so the day the
# oracle learns the rule this check goes red and the exception is removed.
#
# props/mutants.sh --group PATCH...: a mutant of another property group.
# PATCH (repro/bugs/mutant.sh format) declares in its header
#   property: GROUP NAME   the group binary (props/GROUP.cpp) and property
#   message: ERE           the property's own failure line for this bug
# The group's objects are linked with the mutant tree's build/props-core;
# NAME must fail, shrink to at most PROPS_MUTANT_MAX_CMDS commands, and its
# failure must be the declared message (a crash or the core's abort is not
# a catch):                                   PASS: props/mutant-N
# and the .ops written must replay clean on the real core (a reproducer
# fails only because of its bug):            PASS: props/mutant-N-replays
set -uo pipefail
cd "$(dirname "$0")/.."

# group_mutant PATCH: the --group mode above
group_mutant() {
  local p=$1 name label tree g prop msg bin out log
  name=$(basename "$p" .patch); label=mutant-$name
  read -r g prop <<<"$(sed -n 's/^property: //p' "$p" | head -1)"
  msg=$(sed -n 's/^message: //p' "$p" | head -1)
  if [ -z "$g" ] || [ -z "$prop" ] || [ -z "$msg" ]; then
    echo "FAIL: props/$label (no property: / message: line in $p)"; return 1
  fi
  tree=build/mutants/$name
  out=${PROPS_MUTANT_DIR:-build/props/mutants}; mkdir -p "$out"
  log=$out/$label.build.log
  if ! repro/bugs/mutant.sh make "$p" -s -j"${PROPS_JOBS:-2}" build/props-core/libhakmem.a >"$log" 2>&1 ||
     ! ${PROPS_CXX:-g++} -o "$tree/build/props-$g" build/props/obj/main.o build/props/obj/common.o \
         "build/props/obj/$g.o" "$tree/build/props-core/libhakmem.a" -lrapidcheck -lpthread >>"$log" 2>&1; then
    tail -20 "$log" | sed 's/^/    /'; echo "FAIL: props/$label (mutant does not build)"; return 1
  fi
  bin=$tree/build/props-$g
  PROPS_REPRO_DIR="$out" RC_PARAMS="max_success=${PROPS_MUTANT_CASES:-400} ${PROPS_RC_EXTRA:-}" "$bin" \
    --expect-fail "$prop" --max-cmds "${PROPS_MUTANT_MAX_CMDS:-8}" --label "$label" >"$out/$label.out" 2>"$out/$label.err"
  local rc=$? why
  grep -v '^PASS: \|^FAIL: ' "$out/$label.out"
  why=$(grep -m1 '^  failure: ' "$out/$label.out")
  if [ $rc -ne 0 ]; then
    grep -E '^(PASS|FAIL): ' "$out/$label.out"; return 1
  elif ! grep -qE "$msg" <<<"$why"; then
    echo "  the failure is not the declared one (/$msg/):$why"; echo "FAIL: props/$label"; return 1
  fi
  echo "PASS: props/$label"
  if [ ! -s "$out/$label.ops" ]; then echo "  no $out/$label.ops written"; echo "FAIL: props/$label-replays"; return 1; fi
  if build/fuzz/ops-replay "$out/$label.ops" >"$out/$label.replay" 2>&1; then
    echo "PASS: props/$label-replays"
  else
    echo "  $label.ops fails on the real core: $(repro/verdict.py sig "$out/$label.replay")"
    echo "FAIL: props/$label-replays"; return 1
  fi
}
if [ "${1:-}" = --group ]; then
  shift
  [ $# -gt 0 ] || { echo "FAIL: props/mutants (no mutant named)"; exit 1; }
  st=0
  for p in "$@"; do group_mutant "$p" || st=1; done
  exit $st
fi

max_cmds=${PROPS_MUTANT_MAX_CMDS:-8}
cases=${PROPS_MUTANT_CASES:-400}
cxx=${PROPS_CXX:-g++}
objs="build/props/obj/main.o build/props/obj/common.o build/props/obj/heapmodel.o build/props/obj/p1_disjoint.o"
outdir=${PROPS_MUTANT_DIR:-build/props/mutants}
good_replay=build/fuzz/ops-replay
mkdir -p "$outdir"
[ $# -gt 0 ] || { echo "FAIL: props/mutants (no mutant named)"; exit 1; }
[ -x "$good_replay" ] || { echo "FAIL: props/mutants ($good_replay not built)"; exit 1; }

# replay OPS MUTANT-REPLAY EXPECT(fail|clean): "" when as expected, else why not
replay() {
  local ops=$1 bad=$2 expect=$3 log
  log=$(mktemp)
  if [ ! -s "$ops" ]; then echo "$ops is missing or empty"; rm -f "$log"; return; fi
  if ! "$good_replay" "$ops" >"$log" 2>&1; then
    echo "$ops fails on the real core too: $(grep -m1 -E 'HAKFUZZ-FAIL|hakmem:' "$log")"
  elif { "$bad" "$ops" >"$log" 2>&1; } 2>/dev/null; then
    [ "$expect" = clean ] || echo "$ops replays clean on the mutant: not a reproducer"
  elif [ "$expect" = clean ]; then
    echo "$ops now fails on the mutant ($(grep -m1 -E 'HAKFUZZ-FAIL|hakmem:' "$log")): drop 'props-replay: clean' from the patch"
  else
    printf '  %s on the mutant: %s\n' "$ops" "$(grep -m1 -E 'HAKFUZZ-FAIL|hakmem:' "$log")" >&2
  fi
  rm -f "$log"
}

status=0
for name in "$@"; do
  patch=repro/bugs/$name.patch
  label=mutant-${name#props-}
  expect=fail
  grep -q '^props-replay: clean' "$patch" 2>/dev/null && expect=clean
  tree=build/mutants/$name
  log=$outdir/$label.build.log
  # A new tree starts from the real tree's objects (same flags, mtimes kept):
  # make then recompiles only what the patch touched, and what changed in
  # src/ since (its copy is newer than the object).
  if tree=$(repro/bugs/mutant.sh tree "$name" 2>"$log") && [ ! -d "$tree/build/fuzz-plain/obj" ] &&
     [ -d build/fuzz-plain/obj ]; then
    mkdir -p "$tree/build/fuzz-plain" && cp -a build/fuzz-plain/obj "$tree/build/fuzz-plain/obj"
  fi
  tree=build/mutants/$name
  if ! repro/bugs/mutant.sh make "$name" -s -j"${PROPS_JOBS:-2}" build/fuzz/ops-replay >>"$log" 2>&1 ||
     ! $cxx -o "$tree/build/props-p1" $objs "$tree/build/fuzz-plain/libhakmem.a" -lrapidcheck -lpthread >>"$log" 2>&1; then
    sed 's/^/    /' "$log" | tail -20
    echo "FAIL: props/$label (mutant does not build)"; status=1; continue
  fi
  start=$(date +%s)
  PROPS_REPRO_DIR="$outdir" RC_PARAMS="max_success=$cases ${PROPS_RC_EXTRA:-}" "$tree/build/props-p1" \
    --expect-fail disjoint --max-cmds "$max_cmds" --label "$label" 2>"$outdir/$label.err"
  rc=$?
  echo "  ($label: $(( $(date +%s) - start ))s; rapidcheck: $(grep -m1 -o 'Falsifiable after [0-9]* tests\? and [0-9]* shrinks\?' "$outdir/$label.err"))"
  repro=$(grep -m1 -o 'RC_PARAMS="reproduce=[^"]*"' "$outdir/$label.err")
  [ -n "$repro" ] && echo "  reproduce: $repro $tree/build/props-p1 --only disjoint"
  [ -f "$outdir/$label.txt" ] && [ -n "$repro" ] &&
    echo "# rapidcheck (property 1 linked with mutant $name): $repro" >>"$outdir/$label.txt"
  [ $rc -eq 0 ] || status=1
  # The fresh reproducer, then the kept one.
  if [ $rc -eq 0 ]; then
    why=$(replay "$outdir/$label.ops" "$tree/build/fuzz/ops-replay" $expect)
    if [ -z "$why" ]; then
      [ $expect = clean ] && echo "  $label.ops runs clean on the mutant as declared (fuzz/ops has no oracle for this bug)"
      echo "PASS: props/$label-replays"
      if [ "${PROPS_KEEP:-0}" = 1 ]; then cp "$outdir/$label.ops" "$outdir/$label.txt" repro/props/; fi
    else
      echo "  $why"; echo "FAIL: props/$label-replays"; status=1
    fi
  fi
  why=$(replay "repro/props/$label.ops" "$tree/build/fuzz/ops-replay" $expect)
  if [ -z "$why" ]; then echo "PASS: props/$label-kept"; else echo "  $why"; echo "FAIL: props/$label-kept"; status=1; fi
done
exit $status
