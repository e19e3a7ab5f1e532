#!/bin/bash -eu
# ClusterFuzzLite entry point: the engine sets $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE $OUT; fuzz/build.sh uses nothing else.
exec "$SRC/hakmem/fuzz/build.sh"
