# repro/matrix/lib.sh: shared by the matrix scripts (sourced, not run).
# Paths, clocks, hashes, the declared signatures of a mutant, and the locks
# that keep two parallel cells from running make in one tree at once.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MX=$ROOT/repro/matrix
CELLS=$ROOT/build/bugs/cells          # the cell cache: one file per cell key
RUNS=$ROOT/build/bugs/runs            # each cell's working directory and logs
VERDICT=$ROOT/repro/verdict.py
BUDGET=${BUGS_BUDGET:-60}
SEEDS=${BUGS_SEEDS:-"1 2 3"}
mkdir -p "$CELLS" "$RUNS" "$ROOT/build/bugs/locks"

# Instruments that draw random choices from a seed run once per seed; the
# others are deterministic (the same run every time) and run once.
SEEDED_INSTRUMENTS="ops mt sched props"
ALL_INSTRUMENTS="ops mt sched props relacy misuse unit gate preload"
is_seeded() { [[ " $SEEDED_INSTRUMENTS " == *" $1 "* ]]; }

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

patch_file() { echo "$ROOT/repro/bugs/$1.patch"; }

# hash_files FILE...: one hash of the names and contents (order-independent
# of how the caller lists them)
hash_files() {
  (cd "$ROOT" && for f in "$@"; do [ -f "$f" ] && echo "$f $(sha1sum <"$f" | cut -c1-40)"; done | sort | sha1sum | cut -c1-16)
}

# cell_key PATCH SRCHASH INSTRUMENT SEED: the cache key of a cell
cell_key() { printf '%s %s %s %s\n' "$(sha1sum <"$1" | cut -c1-16)" "$2" "$3" "$4" | sha1sum | cut -c1-20; }

# declared NAME INSTRUMENT: the EREs a finding of INSTRUMENT must match on
# mutant NAME, one per line ("signature: ERE" for every instrument,
# "signature[INSTRUMENT]: ERE" for one).
declared() {
  sed -n '/^--- /q; s/^signature: //p; s/^signature\['"$2"'\]: //p' "$(patch_file "$1")"
}

# matches_declared NAME INSTRUMENT LOG...: the first finding of LOG is a named
# oracle matching one of the declared EREs; prints that ERE (exit 0), or
# nothing (exit 1).  verdict.py decides: a timeout/oom/crash never matches.
matches_declared() {
  local name=$1 inst=$2 ere; shift 2
  while IFS= read -r ere; do
    [ -n "$ere" ] || continue
    if "$VERDICT" match "$ere" "$@" >/dev/null 2>&1; then printf '%s\n' "$ere"; return 0; fi
  done < <(declared "$name" "$inst")
  return 1
}

# with_lock NAME CMD...: run CMD holding lock NAME (builds in one tree are serial)
# (a subshell holding the lock on fd 9: CMD may be a shell function)
with_lock() {
  local l=$ROOT/build/bugs/locks/$1.lock; shift
  ( flock 9; "$@" ) 9>"$l"
}
