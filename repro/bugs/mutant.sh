#!/usr/bin/env bash
# repro/bugs/mutant.sh: the project's one mechanism for deliberately broken
# cores.  A mutant is a small patch against src/ (repro/bugs/NAME.patch,
# `git diff` / `diff -u` format, applied with patch -p1).  It is applied to
# a COPY of src/ in a mutant tree, build/mutants/NAME/, whose every other
# top-level entry is a symlink to the real one, so the usual Makefile and
# fragments build the mutant there.  src/ itself is never touched.
#
#   mutant.sh list                     names of the mutants
#   mutant.sh check                    every patch still applies to src/ (dry run)
#   mutant.sh tree NAME|FILE           (re)create the tree, print its path
#   mutant.sh make NAME|FILE TARGET... make TARGET... inside the tree
#
# NAME is repro/bugs/NAME.patch; FILE may be any patch path.  A patch that
# no longer applies (or touches anything outside src/) is an error, loudly:
# "MUTANT BROKEN: ..." on stderr and exit status 3.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bugs=$root/repro/bugs

die_broken() { echo "MUTANT BROKEN: $*" >&2; exit 3; }

patch_of() {
  case "$1" in
    */*|*.patch) [ -f "$1" ] && { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); return; } ;;
  esac
  [ -f "$bugs/$1.patch" ] && { echo "$bugs/$1.patch"; return; }
  die_broken "no such mutant: $1 (looked for $bugs/$1.patch)"
}
name_of() { basename "$1" .patch; }

# every file the patch touches must be under src/
check_paths() {
  local p=$1 bad
  bad=$(grep -E '^(\+\+\+|---) ' "$p" | awk '{print $2}' | grep -v '^/dev/null$' | sed -E 's#^[ab]/##' | grep -v '^src/' || true)
  [ -z "$bad" ] || die_broken "$(name_of "$p"): touches files outside src/: $bad"
}

dry_run() {   # dry_run PATCH SRC-PARENT
  local p=$1 dir=$2 out
  check_paths "$p"
  if ! out=$(cd "$dir" && patch -p1 --dry-run --batch --forward --silent -i "$p" 2>&1); then
    die_broken "$(name_of "$p") no longer applies to src/:
$out"
  fi
}

make_tree() {
  local p=$1 name tree
  name=$(name_of "$p")
  tree=$root/build/mutants/$name
  dry_run "$p" "$root"
  mkdir -p "$tree"
  for e in "$root"/* "$root"/.clusterfuzzlite; do
    [ -e "$e" ] || continue
    b=$(basename "$e")
    case "$b" in build|src) continue ;; esac
    ln -sfn "$e" "$tree/$b"
  done
  rm -rf "$tree/.p"; mkdir -p "$tree/.p"
  cp -a "$root/src" "$tree/.p/src"
  (cd "$tree/.p" && patch -p1 --batch --forward --silent -i "$p") >/dev/null 2>&1 || die_broken "$name failed to apply"
  # replace src only when the content changed: keeps incremental builds
  if [ -d "$tree/src" ] && diff -r -q "$tree/src" "$tree/.p/src" >/dev/null 2>&1; then
    rm -rf "$tree/.p"
  else
    rm -rf "$tree/src"; mv "$tree/.p/src" "$tree/src"; rm -rf "$tree/.p"
  fi
  echo "$tree"
}

cmd=${1:-}
case "$cmd" in
  list)
    for p in "$bugs"/*.patch; do [ -f "$p" ] && name_of "$p"; done ;;
  check)
    n=0
    for p in "$bugs"/*.patch; do
      [ -f "$p" ] || continue
      dry_run "$p" "$root"; n=$((n + 1))
      echo "mutant $(name_of "$p"): applies"
    done
    echo "$n mutants apply" ;;
  tree)
    [ $# -eq 2 ] || { echo "usage: $0 tree NAME|FILE" >&2; exit 2; }
    make_tree "$(patch_of "$2")" ;;
  make)
    [ $# -ge 3 ] || { echo "usage: $0 make NAME|FILE TARGET..." >&2; exit 2; }
    p=$(patch_of "$2") || exit 3
    tree=$(make_tree "$p") || exit 3
    shift 2
    make -C "$tree" --no-print-directory "$@" ;;
  *)
    sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
