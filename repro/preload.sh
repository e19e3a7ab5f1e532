#!/usr/bin/env bash
# repro/preload.sh [LIB]: short real programs with LIB (default the release
# build/release/libhakmem.so) preloaded as malloc, each under a 10 s timeout.
# Exit 0 when every program exits 0 with hakmem silent on stderr; otherwise
# print what went wrong (the program's first stderr lines verbatim, so that
# `repro/verdict.py sig` names the finding) and exit 1.  It is the fastest instrument for bugs
# only a program whose malloc IS hakmem shows (init recursion, release-only
# behaviour); make bugs uses it, make repro runs it on the real core.
set -uo pipefail
lib=${1:-build/release/libhakmem.so}
[ -f "$lib" ] || { echo "preload: no $lib" >&2; exit 2; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bad=0
check() {   # check NAME CMD...
  local name=$1; shift
  # (braces with 2>/dev/null: bash's "Aborted" notice is not the program's)
  { timeout -k 2 10 env LD_PRELOAD="$lib" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; } 2>/dev/null
  local rc=$?
  if [ $rc -ne 0 ] || grep -q '^hakmem: ' "$tmp/err"; then
    echo "preload: $name: exit $rc$( [ $rc -eq 124 ] && echo ' (hung: timeout)')"
    # stderr as it came (not prefixed), so repro/verdict.py sig finds the
    # program's "hakmem: " line in this script's output
    grep -m3 . "$tmp/err"
    bad=1
    return 1
  fi
}
check true /bin/true &&
check ls ls -l /usr/lib &&
check sort bash -c 'seq 1 20000 | sort -r | sort -n | tail -1' &&
check python3 python3 -c 'd = {str(i): [i] * (i % 7) for i in range(20000)}; print(sum(len(v) for v in d.values()))'
exit $bad
