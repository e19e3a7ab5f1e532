#!/usr/bin/env bash
# The misuse table runner (make check-misuse).  For every row of
# tests/misuse/table.tsv: build tests/misuse/<case>.c against the RELEASE
# archive (MISUSE_LIB, default build/release/libhakmem.a), run it, and pass
# only when the program is killed by SIGABRT and its stderr is exactly one
# line matching the row's pattern.  Then check that messages are distinct
# per kind.  Prints "PASS: misuse/<case>" / "FAIL: misuse/<case> (why)" and
# writes the table (misuse -> message -> result) to build/logs/misuse-table.md.
#   tests/misuse/run.sh [case...]     (default: every row)
set -uo pipefail
cd "$(dirname "$0")/../.."
LIB=${MISUSE_LIB:-build/release/libhakmem.a}
CC=${CC:-cc}
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g -fno-builtin -Wall -Wextra -Wno-unused-function -Iinclude -Itests/misuse"
v=${LIB%/*}; v=${v#$PWD/}; W=build/tests/misuse/${v//\//_}   # one directory per library
[ -f "$LIB" ] || { echo "FAIL: misuse/library ($LIB missing)"; exit 1; }
MD=build/logs/misuse-table.md
mkdir -p "$W" build/logs

names=(); kinds=(); pats=()
while IFS=$'\t' read -r name kind pat; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  names+=("$name"); kinds+=("$kind"); pats+=("$pat")
done < tests/misuse/table.tsv

# matches LINE ERE: the whole line matches (bash's regex: no process per test).
matches() { [[ $1 =~ $2 ]] && [[ ${BASH_REMATCH[0]} == "$1" ]]; }

fails=0
fail() { echo "FAIL: misuse/$1${2:+ ($2)}"; fails=$((fails + 1)); }

# The plan (tests/check.sh): one PASS per row, plus the table and the
# distinct-messages checks.  The row count is written here, not counted from
# table.tsv, so a row deleted with its program is a FAIL; raise it with a row.
MISUSE_ROWS=28
if [ $# -eq 0 ]; then echo "PLAN: $((MISUSE_ROWS + 2))"; else echo "PLAN: $#"; fi

# Every program has a row and every row a program.
if [ $# -eq 0 ]; then
  bad=
  for f in tests/misuse/*.c; do
    n=$(basename "$f" .c); found=0
    for m in "${names[@]}"; do [ "$m" = "$n" ] && found=1; done
    [ $found -eq 1 ] || bad="$bad $n"
  done
  for m in "${names[@]}"; do [ -f "tests/misuse/$m.c" ] || bad="$bad $m(no source)"; done
  if [ -n "$bad" ]; then fail table "not in both table.tsv and tests/misuse/:$bad"; else echo "PASS: misuse/table"; fi
fi

# Build (only what is out of date; in parallel): a program that does not
# build is one FAIL below.
build_one() {
  local n=$1
  if [ "$W/$n" -nt "tests/misuse/$n.c" ] && [ "$W/$n" -nt tests/misuse/misuse.h ] && [ "$W/$n" -nt "$LIB" ]; then return 0; fi
  rm -f "$W/$n"
  $CC $CFLAGS "tests/misuse/$n.c" -o "$W/$n" "$LIB" -lpthread >"$W/$n.build" 2>&1
}
jobs_max=$(nproc 2>/dev/null || echo 2)
for n in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  build_one "$n" &
done
wait

declare -a got result
for i in "${!names[@]}"; do
  n=${names[$i]}; got[$i]=""; result[$i]=""
  if [ $# -gt 0 ]; then
    sel=0; for a in "$@"; do [ "$a" = "$n" ] && sel=1; done
    [ $sel -eq 1 ] || continue
  fi
  if [ ! -x "$W/$n" ]; then
    sed 's/^/  /' "$W/$n.build" | head -20
    fail "$n" "does not build"; result[$i]="FAIL (does not build)"; continue
  fi
  { ulimit -c 0; timeout -k 2 20 "./$W/$n" >"$W/$n.out" 2>"$W/$n.err"; } 2>/dev/null
  rc=$?
  nlines=$(wc -l <"$W/$n.err")
  line=$(head -1 "$W/$n.err")
  got[$i]=$line
  why=
  if [ $rc -eq 0 ]; then why="NOT DETECTED: $(head -1 "$W/$n.out")"
  elif [ $rc -eq 2 ]; then why="setup failed: $(head -1 "$W/$n.out")"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="timed out"
  elif [ $rc -ne 134 ]; then
    if [ $rc -gt 128 ]; then why="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null)), want SIGABRT"
    else why="exit $rc, want SIGABRT"; fi
  elif [ "$nlines" -ne 1 ]; then why="stderr has $nlines lines, want exactly 1"
  elif ! matches "$line" "${pats[$i]}"; then why="message does not match"
  fi
  if [ -z "$why" ]; then
    echo "PASS: misuse/$n"; result[$i]=PASS
  else
    fail "$n" "$why"; result[$i]="FAIL: $why"
    echo "    want: ${pats[$i]}"
    echo "    got:  $(head -3 "$W/$n.err" | tr '\n' '|')"
  fi
done

# Distinct messages per kind: no message matches a pattern of another kind.
if [ $# -eq 0 ]; then
  clash=
  for i in "${!names[@]}"; do
    [ -n "${got[$i]}" ] || continue
    for j in "${!names[@]}"; do
      [ "${kinds[$i]}" = "${kinds[$j]}" ] && continue
      if matches "${got[$i]}" "${pats[$j]}"; then clash="$clash ${names[$i]}~${names[$j]}"; fi
    done
  done
  if [ -n "$clash" ]; then fail distinct-messages "same message for different kinds:$clash"
  else echo "PASS: misuse/distinct-messages"; fi
fi

# The table.
{
  echo "# hakmem misuse table"
  echo
  echo "Library: \`$LIB\` ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- src include 2>/dev/null || echo ', src/ modified'))."
  echo "Each program is killed by SIGABRT and prints exactly this one line on stderr (pointer values vary)."
  echo
  echo "| misuse | case | message (this run) | result |"
  echo "|---|---|---|---|"
  for i in "${!names[@]}"; do
    [ -n "${result[$i]}" ] || continue
    msg=${got[$i]:-(none)}
    r=${result[$i]}
    echo "| ${kinds[$i]} | \`${names[$i]}\` | \`${msg//|/\\|}\` | ${r//|/\\|} |"
  done
} >"$MD"
echo "misuse table: $MD"
[ $fails -eq 0 ]
