#!/usr/bin/env bash
# fuzz/build.sh: OSS-Fuzz / ClusterFuzzLite build of the fuzz targets.
# Uses only the engine's variables: $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE $OUT (and $SRC/hakmem when run from the project root
# is not possible).  Produces in $OUT: the targets hakmem_ops and hakmem_mt,
# their .dict and .options, and <target>_seed_corpus.zip from corpus/.
#
# By hand (no docker), libFuzzer:
#   CC=clang-14 CXX=clang++-14 CFLAGS="-O1 -g -fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
#   CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh
# AFL++:
#   CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS="-O1 -g -fsanitize=address,undefined" CXXFLAGS="$CFLAGS" \
#   LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a OUT=/tmp/out-afl fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CC:?}" "${CXX:?}" "${OUT:?}" "${LIB_FUZZING_ENGINE:?}"
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}
mkdir -p "$OUT"
obj=$(mktemp -d "${WORK:-/tmp}/hakmem-fuzz-build.XXXXXX")
trap 'rm -rf "$obj"' EXIT

# The core exactly as the fuzz builds of the Makefile compile it (no
# malloc/free symbols, check level 2), with the engine's flags.
defs="-std=c11 -D_GNU_SOURCE -DHAK_NO_OVERRIDE -DHAK_CHECK_LEVEL=2 -DHAK_FUZZ -fno-strict-aliasing -ftls-model=initial-exec"
for f in src/*.c; do
  $CC $CFLAGS $defs -fPIC -Iinclude -Isrc -c "$f" -o "$obj/core-$(basename "$f" .c).o"
done
ar rcs "$obj/libhakmem.a" "$obj"/core-*.o

for t in ops mt; do
  $CC $CFLAGS -std=c11 -D_GNU_SOURCE -Iinclude -Ifuzz -c fuzz/$t.c -o "$obj/$t.o"
  # the engine's main() is C++: link with $CXX
  $CXX $CXXFLAGS "$obj/$t.o" "$obj/libhakmem.a" $LIB_FUZZING_ENGINE -lpthread -o "$OUT/hakmem_$t"
  cp fuzz/$t.dict "$OUT/hakmem_$t.dict"
  sed "s/^dict = .*/dict = hakmem_$t.dict/" fuzz/$t.options >"$OUT/hakmem_$t.options"
  rm -f "$OUT/hakmem_${t}_seed_corpus.zip"
  if [ -n "$(ls -A corpus/$t 2>/dev/null)" ]; then
    (cd corpus/$t && zip -q -j "$OUT/hakmem_${t}_seed_corpus.zip" ./*)
  fi
done
echo "fuzz/build.sh: built $OUT/hakmem_ops and $OUT/hakmem_mt"
