#!/usr/bin/env bash
# Smoke test: real programs under LD_PRELOAD=build/release/libhakmem.so, and
# one program linked against build/release/libhakmem.a.  Each check prints
# "PASS: smoke/<name>" or "FAIL: smoke/<name>".  Every run has
# HAKMEM_STATS=1, and a check passes only when the program exits 0 with the
# right output AND its stderr carries hakmem's exit report showing that
# hakmem really served it (peak segments > 0), AND no other "hakmem: " line
# (warning or fatal error) appeared.
set -uo pipefail
cd "$(dirname "$0")/.."
LIB=$PWD/build/release/libhakmem.so
ARCHIVE=$PWD/build/release/libhakmem.a
W=$PWD/build/tests/smoke
mkdir -p "$W"
fails=0
# the plan (tests/check.sh): one PASS line per check below
echo "PLAN: 9"

T0=${EPOCHREALTIME/./}
lap() { local t=${EPOCHREALTIME/./}; echo "  ($(( (t - T0) / 1000 )) ms)"; T0=$t; }
pass() { echo "PASS: smoke/$1"; lap; }
fail() { echo "FAIL: smoke/$1${2:+ ($2)}"; lap; fails=$((fails + 1)); }

# served NAME STDERR-FILE: did hakmem report having mapped segments?
served() {
  local peak
  peak=$(sed -n 's/^hakmem stats: segments [0-9]* (peak \([0-9]*\).*/\1/p' "$2" | sort -n | tail -1)
  if [ -z "$peak" ]; then echo "  $1: no 'hakmem stats:' report on stderr"; return 1; fi
  if [ "$peak" -le 0 ]; then echo "  $1: hakmem stats show no segment"; return 1; fi
  if grep -q '^hakmem: ' "$2"; then
    echo "  $1: hakmem complained:"; grep '^hakmem: ' "$2" | head -5 | sed 's/^/    /'; return 1
  fi
  return 0
}

# run NAME TIMEOUT CMD...: run under the preloaded library; sets rc, out in $W/NAME.{out,err}
run() {
  local name=$1 t=$2; shift 2
  env LD_PRELOAD="$LIB" HAKMEM_STATS=1 timeout -k 5 "$t" "$@" >"$W/$name.out" 2>"$W/$name.err"
  rc=$?
}

show_err() { head -c 1500 "$W/$1.err" | sed 's/^/    stderr| /'; }

# verdict NAME CONDITION-TEXT: pass when rc==0, $ok==1 and hakmem served it
verdict() {
  local name=$1
  if [ "$rc" -ne 0 ]; then fail "$name" "exit $rc"; show_err "$name"; return; fi
  if [ "$ok" -ne 1 ]; then fail "$name" "wrong output"; show_err "$name"; return; fi
  if ! served "$name" "$W/$name.err"; then fail "$name" "not served by hakmem"; return; fi
  pass "$name"
}

if [ ! -f "$LIB" ] || [ ! -f "$ARCHIVE" ]; then
  fail library "build/release/libhakmem.so or .a missing"; exit 1
fi

# ---- 1. python3, threaded dict/list churn (PYTHONMALLOC=malloc: every object through malloc)
cat >"$W/py_work.py" <<'EOF'
import threading, sys
def work(seed, out):
    acc = 0
    for r in range(60):
        d = {}
        for i in range(4000):
            k = f"k{seed}-{r}-{i}"
            d[k] = [i, k * (i % 5), {"x": i, "y": [i] * (i % 13)}]
        acc += sum(len(v[1]) + len(v[2]["y"]) for v in d.values())
        big = [bytes(i % 300) for i in range(2000)]
        acc += sum(map(len, big))
        del d, big
    out[seed] = acc
out = {}
ts = [threading.Thread(target=work, args=(s, out)) for s in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("py", sorted(out.items()))
EOF
expected_py=$(python3 "$W/py_work.py" 2>&1)   # reference run with glibc malloc
run python 120 env PYTHONMALLOC=malloc python3 "$W/py_work.py"
ok=0; [ "$(cat "$W/python.out")" = "$expected_py" ] && ok=1
verdict python

# ---- 2. sort of a ~50 MB file: lines are "%08d <text>" in a scrambled order;
# the sorted result is the same generator run in order.
N=500000
gen() {  # gen SCRAMBLE
  awk -v n=$N -v scr="$1" 'BEGIN {
    for (i = 0; i < n; i++) {
      j = scr ? (i * 7919) % n : i;
      s = ""; len = 20 + (j * 37) % 150;
      s = sprintf("%08d ", j);
      while (length(s) < len) s = s sprintf("%x", (j * 2654435761) % 4294967296);
      print substr(s, 1, len);
    } }'
}
gen 1 >"$W/sort.in"
want=$(gen 0 | md5sum | cut -d' ' -f1)
run sort 120 env LC_ALL=C sort -S 64M -o "$W/sort.sorted" "$W/sort.in"
ok=0; [ -f "$W/sort.sorted" ] && [ "$(md5sum <"$W/sort.sorted" | cut -d' ' -f1)" = "$want" ] && ok=1
verdict sort
# and once more through a pipe with parallel threads and a small buffer (merges)
run sort_parallel 120 bash -c "LC_ALL=C sort --parallel=2 -S 8M -T '$W' <'$W/sort.in' | md5sum"
ok=0; [ "$(cut -d' ' -f1 "$W/sort_parallel.out")" = "$want" ] && ok=1
verdict sort_parallel
rm -f "$W/sort.in" "$W/sort.sorted"

# ---- 3. ls -lR /usr/lib: same line count as without hakmem
want_ls=$(ls -lR /usr/lib 2>/dev/null | wc -l)
run ls 120 bash -c 'ls -lR /usr/lib | wc -l'
ok=0; [ "$(cat "$W/ls.out")" = "$want_ls" ] && ok=1
verdict ls

# ---- 4. forks: a bash pipeline with subshells; every process is served
run fork_pipeline 60 bash -c 'for i in $(seq 1 300); do echo "$((i * 7 % 300 + 1))"; done | sort -n | tail -1; x=$(echo abc | tr a-c x-z); echo "$x"; ( sleep 0; echo sub ) | cat'
ok=0; [ "$(tr '\n' ' ' <"$W/fork_pipeline.out")" = "300 xyz sub " ] && ok=1
verdict fork_pipeline
n_reports=$(grep -c '^hakmem stats: segments' "$W/fork_pipeline.err")
if [ "$n_reports" -ge 4 ]; then pass fork_pipeline_reports
else fail fork_pipeline_reports "only $n_reports processes reported hakmem stats"; fi

# ---- 5. a small threaded C program under LD_PRELOAD
if make -s --no-print-directory build/tests/smoke/mt_dyn >"$W/build_dyn.log" 2>&1; then
  run mt_preload 120 "$W/mt_dyn"
  ok=0; grep -qx 'smoke_mt ok 1' "$W/mt_preload.out" && ok=1
  verdict mt_preload
else
  fail mt_preload "does not build"; sed 's/^/    /' "$W/build_dyn.log" | head -20
fi

# ---- 6. the same program linked against the release archive (no preload)
if make -s --no-print-directory build/tests/smoke/mt_static >"$W/build_static.log" 2>&1; then
  env HAKMEM_STATS=1 timeout -k 5 120 "$W/mt_static" >"$W/mt_static.out" 2>"$W/mt_static.err"; rc=$?
  ok=0; grep -qx 'smoke_mt ok 1' "$W/mt_static.out" && ok=1
  verdict mt_static
  # hakmem's malloc must be the one in the binary, not glibc's
  syms=$(nm "$W/mt_static" 2>&1)
  if grep -qE ' T malloc$' <<<"$syms" && grep -qE ' T free$' <<<"$syms"; then pass mt_static_defines_malloc
  else fail mt_static_defines_malloc "malloc not defined in the binary"; fi
else
  fail mt_static "does not build"; sed 's/^/    /' "$W/build_static.log" | head -20
fi

[ "$fails" -eq 0 ]
