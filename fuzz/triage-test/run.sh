#!/usr/bin/env bash
# fuzz/triage-test/run.sh: the campaign's triage (fuzz/triage.py) keeps every
# kind of finding (make check-triage).  A fake campaign directory holds, as
# AFL++ and libFuzzer would leave them, a crash, the same crash again, a hang
# and a "crash" that does not reproduce, all found on the mutant
# triage-test.patch (a realloc that spins, a realloc that keeps a short block).
# The triage of the mutant tree must: sign the crash with a named oracle and
# store it once; sign the hang hang-<top core frame> (hak__realloc) and store
# it; keep the unreproduced input with rate 0/N in unreproduced/; and, run
# again, look at nothing twice.  Findings go to a scratch TRIAGE_FOUND, never
# to repro/found.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/build/triage-test
rm -rf "$W"; mkdir -p "$W/in" "$W/found"
echo "PLAN: 8"
pass() { echo "PASS: triage/$1"; }
fail() { echo "FAIL: triage/$1 ($2)"; }

T=$(./repro/bugs/mutant.sh tree fuzz/triage-test/triage-test.patch) || { fail build "mutant tree"; exit 1; }
if ! make -C "$T" -s --no-print-directory -j2 build/fuzz/ops-replay-asan build/fuzz/ops-lf >"$W/build.log" 2>&1 \
   || ! cc -std=c11 -O1 -Wall -Wextra -Werror -Ifuzz fuzz/triage-test/gen.c -o "$W/gen" >>"$W/build.log" 2>&1 \
   || ! "$W/gen" "$W/in"; then
  fail build "see $W/build.log"; exit 1
fi
O=$W/campaign
mkdir -p "$O/afl-ops/main/crashes" "$O/afl-ops/main/hangs" "$O/crashes"
cp "$W/in/crash" "$O/afl-ops/main/crashes/id:000000,sig:06,src:000001,op:havoc"
cp "$W/in/crash" "$O/crashes/ops-crash-0123456789abcdef"
cp "$W/in/hang" "$O/afl-ops/main/hangs/id:000000,src:000002,op:havoc"
cp "$W/in/clean" "$O/crashes/ops-crash-fedcba9876543210"

# the real core runs all three inputs clean (the findings are the mutant's)
make -s --no-print-directory build/fuzz/ops-replay >>"$W/build.log" 2>&1
if build/fuzz/ops-replay "$W/in" >"$W/core.log" 2>&1; then pass core-clean; else fail core-clean "see $W/core.log"; fi

TRIAGE_FOUND=$W/found timeout 600 python3 "$T/fuzz/triage.py" "$O" --retries 3 --hang-seconds 4 --how "triage test" \
  >"$W/triage.log" 2>&1 || { fail run "triage.py exited $?; see $W/triage.log"; exit 1; }
F=$O/triage/findings.tsv
cat "$F" >>"$W/triage.log"

# the crash: one new finding (the two copies are one signature), named by an oracle
crash=$(awk -F'\t' '$1=="new" && $5 !~ /^hang/' "$F")
sig=$(printf '%s\n' "$crash" | cut -f5)
cpath=$(printf '%s\n' "$crash" | cut -f4)
if [ "$(printf '%s\n' "$crash" | grep -c .)" = 1 ] && [ -f "$cpath" ] \
   && python3 repro/verdict.py check-ere "^${sig%%\[*}\[" >/dev/null; then
  pass crash-signed-once
else fail crash-signed-once "findings: $(tr '\n\t' '; ' <"$F")"; fi

# the stored crash replays with its signature on the mutant (addresses and numbers aside)
norm() { sed -E 's/0x[0-9a-fA-F]+|[0-9]+/#/g'; }
{ "$T/build/fuzz/ops-replay-asan" "$cpath" >"$W/crash-replay.log" 2>&1; } 2>/dev/null
again=$(python3 repro/verdict.py sig "$W/crash-replay.log")
if [ "$(norm <<<"$again")" = "$(norm <<<"$sig")" ] && [ "$(cat "$cpath.sig")" = "$sig" ]; then
  pass crash-replays
else fail crash-replays "replayed as '$again', stored '$sig'"; fi

# the hang: hang-hak__realloc, stored with its rate
hang=$(awk -F'\t' '$1=="new" && $5 ~ /^hang\[/' "$F")
if [ "$(printf '%s' "$hang" | cut -f5)" = "hang[hak__realloc]" ] && [ -f "$W/found/hang-hak__realloc" ] \
   && grep -q 'reproduced 1/1' "$W/found/hang-hak__realloc.txt"; then
  pass hang-signed
else fail hang-signed "hang row '$hang'"; fi

# the unreproduced input: kept with 0/4
if awk -F'\t' '$1=="unreproduced" && $3=="0/4"' "$F" | grep -q . \
   && grep -q 'reproduced 0/4' "$W"/found/unreproduced/ops-crash-*.txt 2>/dev/null; then
  pass unreproduced-kept
else fail unreproduced-kept "no unreproduced row with 0/4"; fi

# nothing else was found, and a second round looks at nothing again
rows=$(grep -c . "$F")
TRIAGE_FOUND=$W/found python3 "$T/fuzz/triage.py" "$O" --retries 3 --hang-seconds 4 >"$W/triage2.log" 2>&1
if [ "$rows" = 3 ] && grep -q '^triage: 0 inputs looked at this round, 3 findings in all' "$W/triage2.log"; then
  pass incremental
else fail incremental "$rows rows; second round: $(tail -1 "$W/triage2.log")"; fi

# a new hang appearing later is triaged by the next round
cp "$W/in/hang" "$O/crashes/ops-timeout-00000000000000000000"
TRIAGE_FOUND=$W/found python3 "$T/fuzz/triage.py" "$O" --retries 3 --hang-seconds 4 >"$W/triage3.log" 2>&1
if grep -q '^triage: 1 inputs looked at this round, 3 findings in all (2 new)' "$W/triage3.log" \
   && python3 - "$O/triage/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["seen"]
e = [v for k, v in s.items() if k.endswith("ops-timeout-00000000000000000000")]
sys.exit(0 if e and e[0]["status"] == "duplicate" and e[0]["sig"] == "hang[hak__realloc]" else 1)
PY
then pass later-round
else fail later-round "$(tail -1 "$W/triage3.log")"; fi

# a round cut short by --budget takes one input, leaves the rest unseen and
# says how many; the next round takes them (nothing is lost to the budget)
O2=$W/campaign-budget
mkdir -p "$O2/afl-ops/main/crashes" "$O2/afl-ops/main/hangs" "$O2/crashes"
cp "$W/in/crash" "$O2/afl-ops/main/crashes/id:000000,sig:06,src:000001,op:havoc"
cp "$W/in/hang" "$O2/afl-ops/main/hangs/id:000000,src:000002,op:havoc"
cp "$W/in/clean" "$O2/crashes/ops-crash-fedcba9876543210"
TRIAGE_FOUND=$W/found python3 "$T/fuzz/triage.py" "$O2" --retries 1 --hang-seconds 4 --budget 0.001 \
  --no-minimise >"$W/triage-b1.log" 2>&1
TRIAGE_FOUND=$W/found python3 "$T/fuzz/triage.py" "$O2" --retries 1 --hang-seconds 4 --no-minimise \
  >"$W/triage-b2.log" 2>&1
if grep -q '^triage: 1 inputs looked at this round, .*; 2 inputs left for the next round (budget 0.001 s)$' "$W/triage-b1.log" \
   && [ "$(cat "$O2/triage/pending")" = 0 ] \
   && grep -q '^triage: 2 inputs looked at this round, 3 findings in all (0 new)$' "$W/triage-b2.log"; then
  pass budget-leaves-rest-for-next-round
else fail budget-leaves-rest-for-next-round "round 1: $(tail -1 "$W/triage-b1.log"); round 2: $(tail -1 "$W/triage-b2.log")"; fi
