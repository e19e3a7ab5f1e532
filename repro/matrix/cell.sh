#!/usr/bin/env bash
# repro/matrix/cell.sh MUTANT INSTRUMENT SEED: one cell of the matrix.
#
# Builds what INSTRUMENT needs in the mutant tree (untimed), searches from
# empty inputs for at most BUGS_BUDGET s (60), and decides.  The cell is
# CAUGHT only when all three hold:
#   1. the first finding's signature (repro/verdict.py sig) matches one of
#      the mutant's declared EREs for this instrument (patch header lines
#      "signature: ERE" / "signature[INSTRUMENT]: ERE");
#   2. the (minimised) input replays on the mutant with a signature that
#      matches the same ERE;
#   3. the same input runs clean on the real core (exit 0, no finding).
# Anything else is a miss with its reason: timeout, oom, build failed,
# wrong signature, not reproducible, fails on the core, no finding.
#
# The result is one TSV line (key mutant instrument seed verdict seconds
# signature reason reproducer), cached as build/bugs/cells/KEY, where KEY
# hashes the patch, src/ and the instrument's sources, the instrument and
# the seed: a cached cell is printed, not run again (BUGS_FORCE=1 re-runs).
# A caught fuzzer cell stores its input as repro/KIND/MUTANT.EXT with a
# .sig next to it and a MANIFEST row, unless one is stored already.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$MX/inst.sh"
cd "$ROOT"
name=$1 inst=$2 seed=$3
pf=$(patch_file "$name")
[ -f "$pf" ] || { echo "cell: no mutant $name" >&2; exit 2; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allow_user_segv_handler=0"
[ "$inst" = gate ] && gate_setup "$name"

# shellcheck disable=SC2046
v=CELL_SRCHASH_$inst   # run.sh hashes the sources once per instrument
srch=${!v:-$(hash_files $(ls src/*) $(inst_sources "$inst"))}
key=$(cell_key "$pf" "$srch" "$inst" "$seed")
cache=$CELLS/$key
if [ -s "$cache" ] && [ "${BUGS_FORCE:-0}" != 1 ]; then cut -f2- "$cache"; exit 0; fi
[ "${BUGS_CACHED_ONLY:-0}" = 1 ] && { printf '%s\t%s\t%s\tn/r\t-\t-\tnot run (past BUGS_DEADLINE)\t-\n' "$name" "$inst" "$seed"; exit 0; }

d=$RUNS/$name/$inst-$seed
rm -rf "$d"; mkdir -p "$d"
T=$ROOT/build/mutants/$name

# record VERDICT SECONDS SIGNATURE REASON REPRODUCER
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$name" "$inst" "$seed" "$1" "$2" "$3" "$4" "$5" >"$cache.tmp"
  mv "$cache.tmp" "$cache"
  cut -f2- "$cache"
  exit 0
}

# ---- build (untimed; one make per tree at a time) -------------------------
# shellcheck disable=SC2046
if ! with_lock core make -s -j2 --no-print-directory $(inst_core_targets "$inst") >"$d/build-core.log" 2>&1; then
  record – - - "build failed: the real core's $(inst_core_targets "$inst") ($d/build-core.log)" -
fi
# shellcheck disable=SC2046
# The mutant tree starts from copies of the core's objects (timestamps
# kept): make then recompiles only the files the patch touched (a patched
# header: everything), instead of ~15 files per core variant per mutant.
# The patched files must then be newer than every copied object: the tree's
# src/ is written once (mutant.sh keeps it while its content is the same),
# so a core variant built after that (the next instrument's) would be copied
# in with objects newer than the patch, and make would link the REAL core
# into the mutant's binaries.  So after each copy the patched files are
# touched (make recompiles them, and their dependants, in every variant).
seed_objs() {
  ./repro/bugs/mutant.sh tree "$name" >/dev/null || return 1
  local o f copied=0
  for o in "$ROOT"/build/*/obj "$ROOT"/build/san/*/obj; do
    [ -d "$o" ] || continue
    o=${o#"$ROOT"/}
    [ -d "$T/$o" ] || { mkdir -p "$T/${o%/obj}"; cp -a "$ROOT/$o" "$T/$o"; copied=1; }
  done
  [ $copied = 1 ] || return 0
  for f in $(cd "$T/src" && ls); do
    cmp -s "$T/src/$f" "$ROOT/src/$f" || touch "$T/src/$f"
  done
}
if ! with_lock "m-$name" with_lock core seed_objs >"$d/build.log" 2>&1 ||
   ! with_lock "m-$name" ./repro/bugs/mutant.sh make "$name" -s -j2 $(inst_targets "$inst") >>"$d/build.log" 2>&1; then
  record – - - "build failed: $(grep -m1 -E 'error|MUTANT BROKEN' "$d/build.log" | cut -c1-120) ($d/build.log)" -
fi
if [ "$inst" = props ] && ! with_lock "m-$name" props_link "$T" >>"$d/build.log" 2>&1; then
  record – - - "build failed: props link ($d/build.log)" -
fi

# ---- search ------------------------------------------------------------
inst_search "$inst" "$T" "$seed" "$BUDGET" "$d"
s=$(secs "$ELAPSED")
[ -n "$CAND" ] || record – "$s" "$("$VERDICT" sig "$d/log")" "$NOTE" -
sig=$("$VERDICT" sig "$d/log")
# props: the finding is the property's FAIL line (stdout), whatever the
# forked case printed on stderr
ere=$(matches_declared "$name" "$inst" "$d/log") ||
  record – "$s" "$sig" "wrong signature: $sig (declared: $(declared "$name" "$inst" | paste -sd' ' -))" -

# ---- replay on the mutant, clean on the core ------------------------------
# replay_bins KIND SIG: the replay binaries to try, in order (a plain build
# first for model/hakmem findings, as repro/replay.sh --mutants replays them)
replay_bins() {
  local b
  case $1 in ops) b=build/fuzz/ops-replay ;; mt) b=build/fuzz/mt-replay ;; sched) b=build/sched/sched-replay ;; esac
  case $2 in asan*|ubsan*) echo "$b-asan" ;; *) echo "$b $b-asan" ;; esac
}
# clean CMD...: exit 0 and no finding line
clean() {
  local log=$d/core.log
  { timeout -k 2 20 "$@" >"$log" 2>&1; } 2>/dev/null && [ "$("$VERDICT" sig "$log")" = none ]
}
why= repro= via=
case $inst in
  ops|mt|sched)
    for c in $CAND; do
      for b in $(replay_bins "$inst" "$sig"); do
        { timeout -k 2 20 "$T/$b" "$c" >"$d/replay.log" 2>&1; } 2>/dev/null
        [ $? -eq 124 ] && echo "timeout: replay ran past 20 s" >>"$d/replay.log"
        if "$VERDICT" match "$ere" "$d/replay.log" >/dev/null; then via=$b; break; fi
      done
      if [ -z "$via" ]; then why="not reproducible: ${c##*/} replays as $("$VERDICT" sig "$d/replay.log")"; continue; fi
      case $inst in ops) cb=build/fuzz/ops-replay-asan ;; mt) cb=build/fuzz/mt-replay-asan ;; sched) cb=build/sched/sched-replay-asan ;; esac
      if clean "$ROOT/$cb" "$c"; then repro=$c; why=; break; fi
      why="fails on the real core: ${c##*/} gives $("$VERDICT" sig "$d/core.log") under $cb"; via=
    done ;;
  props)
    read -r g prop rc <<<"$CAND"
    # (a failing property writes its sequence to PROPS_REPRO_DIR, by default
    # repro/props of the source tree: the cell's directory instead)
    mkdir -p "$d/props-replay" "$d/props-core"
    { PROPS_REPRO_DIR=$d/props-replay RC_PARAMS="$rc" timeout -k 2 30 "$T/build/props-m/$g" --only "$prop" >"$d/replay.log" 2>"$d/replay.err"; } 2>/dev/null
    if ! "$VERDICT" match "$ere" "$d/replay.log" >/dev/null; then
      why="not reproducible: $rc gives $("$VERDICT" sig "$d/replay.log")"
    # on the core, rapidcheck's reproduce mode must say the case passes
    # ("Reproduced result is not a failure"; it exits 1 then)
    elif { PROPS_REPRO_DIR=$d/props-core RC_PARAMS="$rc" timeout -k 2 30 "$ROOT/build/props/$g" --only "$prop" >"$d/core.log" 2>&1; } 2>/dev/null
         ! grep -q 'Reproduced result is not a failure' "$d/core.log"; then
      why="fails on the real core: $("$VERDICT" sig "$d/core.log")"
    else repro="RC_PARAMS=\"$rc\" build/props/$g --only $prop"; fi ;;
  *)
    nw=${CAND#run:}
    det_run "$inst" "$T" "$nw" "$d/replay.log" "$BUDGET"
    if ! "$VERDICT" match "$ere" "$d/replay.log" >/dev/null; then
      why="not reproducible: the rerun gives $("$VERDICT" sig "$d/replay.log")"
    else
      # the core's run of the same test, once per core and instrument sources
      ck=$CELLS/core-$inst-${nw:-all}-$srch
      if [ ! -s "$ck" ]; then
        with_lock core-run det_run "$inst" "$ROOT" "$nw" "$d/core.log" "$BUDGET"
        "$VERDICT" sig "$d/core.log" >"$ck"
      fi
      if [ "$(cat "$ck")" != none ]; then why="fails on the real core: $(cat "$ck")"
      else case $inst in
             relacy) repro=repro/relacy/remote_queue.cpp ;;
             preload) repro=repro/preload.sh ;;
             misuse) repro=tests/misuse/$nw.c ;;
             unit)   repro=tests/unit/${nw:-*}.c ;;
             gate)   repro="make check-gate GATE_COMBOS=${nw:-$GATE_COMBOS} GATE_SUITES=unit${GATE_UNITS:+ SAN_UNIT_NAMES=$GATE_UNITS}" ;;
           esac; fi
    fi ;;
esac
[ -z "$why" ] || record – "$s" "$sig" "$why" -

# ---- store a fuzzer's reproducer (the first one found per mutant and kind) --
if [ "$inst" != props ] && is_seeded "$inst"; then
  ext=$inst; dst=repro/$inst/$name.$ext
  store() {
    [ -e "$dst" ] && return
    mkdir -p "repro/$inst"; cp "$repro" "$dst"; printf '%s\n' "$sig" >"$dst.sig"
    # a MANIFEST row when repro/replay.sh --mutants replays it with the same
    # binary (plain for model/hakmem EREs, ASan for ^asan ones; mt rows are
    # replayed clean on the core only)
    local want=plain
    [[ $via == *-asan ]] && want=asan
    case $inst:$want in
      ops:plain) [[ $ere == '^asan'* ]] && return ;;
      ops:asan)  [[ $ere == '^asan'* ]] || return ;;
      sched:asan) return ;;
    esac
    printf '%s\t%s\t%s\t%s\tclean\t%s\n' "$dst" "$inst" \
      "found by the matrix ($inst, seed $seed, empty corpus): $(head -1 "$pf" | cut -c1-90)" "$name" "$ere" >>repro/MANIFEST
  }
  repro=${repro#"$ROOT"/}
  if [ ! -e "$dst" ]; then with_lock manifest store; [ -e "$dst" ] && repro="$dst (stored now; found as $repro)"; fi
fi
record caught "$s" "$sig" "${via:+replays on the mutant via $via; }clean on the core" "$repro"
