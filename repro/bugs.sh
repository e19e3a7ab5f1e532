#!/usr/bin/env bash
# repro/bugs.sh [NAME...]: the known-bug catalog (make bugs).
#
# For each row: build the mutant (repro/bugs/NAME.patch, in its mutant tree
# build/mutants/NAME, untimed), then run the row's instruments in order, each
# with what is left of the row's budget (BUGS_BUDGET s, default 60, on one
# core), until one catches the bug.  Printed: the class of HAKMEM.md, the
# mutant, the instrument that caught it, wall seconds to detection (that
# instrument's run only), and the minimised reproducer stored under repro/.
#
# A stored reproducer (repro/sched/NAME.sched, repro/ops/NAME.ops) is tried
# first; BUGS_FRESH=1 skips it, so the search instruments find the bug from
# their seeds and store a new minimised reproducer.  A reproducer is kept
# only when it fails on the mutant and is clean on the real core.
# Table: build/bugs/catalog.md (and repro/CATALOG.md when every row ran).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUDGET=${BUGS_BUDGET:-60}
FRESH=${BUGS_FRESH:-0}
W=$ROOT/build/bugs
mkdir -p "$W" repro/sched repro/ops

# NAME | HAKMEM.md class | instruments in order
ROWS=(
  "01-drain-nonatomic|1 free list / remote queue double ownership (drain not atomic)|sched-replay sched-fuzz relacy"
  "free-double-list|1 free list / remote queue double ownership (block cached and queued)|ops-replay ops-fuzz sched-fuzz"
  "02-class-not-recorded|2 class not recorded on allocation|ops-replay ops-fuzz unit"
  "03-release-key-mismatch|3 release/check mismatch (free key)|preload misuse"
  "size-class-off-by-one|4 size-to-class off by one|ops-replay ops-fuzz unit"
  "05-classify-reads-foreign|5 classification reads memory it does not own|ops-replay ops-fuzz misuse"
  "06-init-recursion|6 init recursion on the interposed path|preload"
  "07-segment-uninit|7 new segment with uninitialised slab metadata|ops-replay ops-fuzz unit"
  "08-racy-push|8 racy (load-then-store) remote push|sched-replay sched-fuzz relacy"
  "09-drain-no-acquire|9 missing acquire on drain|sched-replay relacy"
  "10-push-no-release|9 missing release on push|relacy"
  "free-wrong-heap|1 free to the wrong heap's cache|ops-replay ops-fuzz sched-fuzz"
)

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# targets each instrument needs in the mutant tree (and on the real core)
need() {
  case $1 in
    sched-replay|sched-fuzz) echo "build/sched/sched-replay build/sched/sched-lf" ;;
    ops-replay|ops-fuzz) echo "build/fuzz/ops-replay build/fuzz/ops-lf" ;;
    relacy) echo "build/relacy/remote_queue" ;;
    preload) echo "build/release/libhakmem.so" ;;
    unit) echo "build/check/libhakmem.a" ;;
    misuse) echo "build/release/libhakmem.a" ;;
  esac
}

# keep_repro KIND NAME CANDIDATE: minimise-checked copy into repro/; sets REPRO
keep_repro() {
  local kind=$1 name=$2 cand=$3 dst mut_bin core_bin
  case $kind in
    sched) dst=repro/sched/$name.sched; mut_bin=$T/build/sched/sched-replay; core_bin=build/sched/sched-replay ;;
    ops)   dst=repro/ops/$name.ops;     mut_bin=$T/build/fuzz/ops-replay;    core_bin=build/fuzz/ops-replay ;;
  esac
  if { "$mut_bin" "$cand" >/dev/null 2>&1; } 2>/dev/null; then echo "  candidate $cand does not fail on the mutant" >>"$LOG"; REPRO="(not reproducible)"; return; fi
  if ! { "$core_bin" "$cand" >/dev/null 2>&1; } 2>/dev/null; then echo "  candidate $cand fails on the real core too" >>"$LOG"; REPRO="(fails on core)"; return; fi
  cp "$cand" "$dst"
  REPRO=$dst
}

# run_lf BIN NAME KIND SECONDS SEEDS...: fuzz until the first crash, minimise it
run_lf() {
  local bin=$1 name=$2 kind=$3 t=$4; shift 4
  local d=$W/$name/$kind
  rm -rf "$d"; mkdir -p "$d/corpus"
  local extra=()
  [ "$kind" = ops ] && extra=(-dict=fuzz/ops.dict -max_len=2048)
  [ "$kind" = sched ] && extra=(-max_len=4096)
  local t0; t0=$(now_ms)
  timeout -k 5 $((t + 30)) "$bin" -max_total_time="$t" -seed=1 -timeout=25 -rss_limit_mb=2560 "${extra[@]}" \
    -artifact_prefix="$d/" "$d/corpus" "$@" >>"$LOG" 2>&1
  ELAPSED=$(( $(now_ms) - t0 ))
  local art; art=$(ls "$d"/crash-* "$d"/leak-* "$d"/timeout-* 2>/dev/null | head -1)
  [ -n "$art" ] || return 1
  # minimise (untimed): smaller input, same crash
  timeout -k 5 60 "$bin" -minimize_crash=1 -max_total_time=20 -seed=1 "${extra[@]}" \
    -exact_artifact_path="$d/min" "$art" >>"$LOG" 2>&1
  [ -s "$d/min" ] || cp "$art" "$d/min"
  keep_repro "$kind" "$name" "$d/min"
  # the fuzzer's build (ASan) may crash where the plain replay does not:
  # then keep the input as found, if that one reproduces
  case $REPRO in "("*) keep_repro "$kind" "$name" "$art" ;; esac
  return 0
}

# instrument NAME SECONDS: 0 when it caught the bug; sets ELAPSED (ms), REPRO
instrument() {
  local inst=$1 name=$2 t=$3 t0 rc f
  REPRO=-
  ELAPSED=0
  case $inst in
    sched-replay|ops-replay)
      [ "$FRESH" = 1 ] && return 2
      if [ $inst = sched-replay ]; then f=repro/sched/$name.sched; else f=repro/ops/$name.ops; fi
      [ -f "$f" ] || return 2
      local bin=$T/build/sched/sched-replay; [ $inst = ops-replay ] && bin=$T/build/fuzz/ops-replay
      t0=$(now_ms); { timeout -k 5 "$t" "$bin" "$f" >>"$LOG" 2>&1; } 2>/dev/null; rc=$?; ELAPSED=$(( $(now_ms) - t0 ))
      REPRO=$f; [ $rc -ne 0 ] ;;
    sched-fuzz) run_lf "$T/build/sched/sched-lf" "$name" sched "$t" fuzz/sched/seeds ;;
    ops-fuzz)   run_lf "$T/build/fuzz/ops-lf" "$name" ops "$t" corpus/ops ;;
    relacy)
      t0=$(now_ms); timeout -k 5 "$t" "$T/build/relacy/remote_queue" 200000 >"$W/$name/relacy.log" 2>&1; rc=$?
      ELAPSED=$(( $(now_ms) - t0 ))
      grep -m1 -E 'DATA RACE|ASSERT' "$W/$name/relacy.log" >>"$LOG"
      REPRO=repro/relacy/remote_queue.cpp; [ $rc -ne 0 ] ;;
    preload)
      t0=$(now_ms); ./repro/preload.sh "$T/build/release/libhakmem.so" >>"$LOG" 2>&1; rc=$?
      ELAPSED=$(( $(now_ms) - t0 )); REPRO=repro/preload.sh; [ $rc -ne 0 ] ;;
    unit)
      t0=$(now_ms); timeout -k 5 "$t" make -C "$T" -s --no-print-directory check-unit >"$W/$name/unit.log" 2>&1; rc=$?
      ELAPSED=$(( $(now_ms) - t0 ))
      f=$(grep -m1 '^FAIL: ' "$W/$name/unit.log" | sed -E 's/^FAIL: ([A-Za-z0-9_]+).*/\1/')
      cat "$W/$name/unit.log" >>"$LOG"
      REPRO=tests/unit/${f:-?}.c; [ $rc -ne 0 ] ;;
    misuse)
      t0=$(now_ms); timeout -k 5 "$t" make -C "$T" -s --no-print-directory check-misuse >"$W/$name/misuse.log" 2>&1; rc=$?
      ELAPSED=$(( $(now_ms) - t0 ))
      f=$(grep -m1 '^FAIL: ' "$W/$name/misuse.log" | sed -E 's#^FAIL: (misuse/)?([A-Za-z0-9_-]+).*#\2#')
      cat "$W/$name/misuse.log" >>"$LOG"
      REPRO=tests/misuse/${f:-?}.c; [ $rc -ne 0 ] ;;
    *) echo "bugs: unknown instrument $inst" >&2; return 2 ;;
  esac
}

want=("$@")
table="| HAKMEM.md class | mutant (repro/bugs/) | caught first by | seconds | reproducer |
|---|---|---|---|---|"
fails=0
for row in "${ROWS[@]}"; do
  IFS='|' read -r name class insts <<<"$row"
  if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
  mkdir -p "$W/$name"
  LOG=$W/$name/log; : >"$LOG"
  # make the core's replay binaries (to check reproducers) and the mutant's
  core_t=""; mut_t=""
  for i in $insts; do mut_t="$mut_t $(need "$i")"; done
  case " $insts " in *" sched-"*) core_t="$core_t build/sched/sched-replay" ;; esac
  case " $insts " in *" ops-"*) core_t="$core_t build/fuzz/ops-replay" ;; esac
  [ -z "$core_t" ] || make -s -j2 --no-print-directory $core_t >>"$LOG" 2>&1
  if ! ./repro/bugs/mutant.sh make "$name" -s -j2 $mut_t >>"$W/$name/build.log" 2>&1; then
    echo "bugs: $name does not build: $W/$name/build.log"
    table+=$'\n'"| $class | $name | **does not build** | - | - |"; fails=$((fails + 1)); continue
  fi
  T=$ROOT/build/mutants/$name
  left=$((BUDGET * 1000)); caught=""; total=0; tried=""
  for i in $insts; do
    [ $left -gt 1000 ] || break
    instrument "$i" "$name" $(( (left + 999) / 1000 )); rc=$?
    [ $rc -eq 2 ] && continue          # not applicable (no stored reproducer)
    tried="$tried $i:$(secs $ELAPSED)s"
    left=$((left - ELAPSED)); total=$((total + ELAPSED))
    if [ $rc -eq 0 ]; then caught=$i; break; fi
  done
  if [ -n "$caught" ]; then
    echo "bugs: $name caught by $caught in $(secs $ELAPSED) s ($REPRO) [tried:$tried]"
    table+=$'\n'"| $class | $name | $caught | $(secs $ELAPSED) | \`$REPRO\` |"
  else
    echo "bugs: $name NOT CAUGHT within $BUDGET s [tried:$tried] (log: $LOG)"
    table+=$'\n'"| $class | $name | **not caught** ($BUDGET s) | - | - |"; fails=$((fails + 1))
  fi
done
echo
echo "$table" | tee "$W/catalog.md"
if [ ${#want[@]} -eq 0 ]; then
  { echo "# The known-bug catalog"
    echo
    echo "Written by \`make bugs\` (repro/bugs.sh) on $(date -u +%Y-%m-%d), budget $BUDGET s per row,$( [ "$FRESH" = 1 ] && echo ' BUGS_FRESH=1 (searched from the seeds, no stored reproducer used),') $(nproc) cores shared with other jobs."
    echo "Seconds: wall time of the catching instrument's run alone (builds excluded)."
    echo
    echo "$table"; } >"$W/CATALOG.generated.md"
  cp "$W/CATALOG.generated.md" repro/CATALOG.md
fi
[ $fails -eq 0 ]
