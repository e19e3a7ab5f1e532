# sanitizers/msan.mk: MemorySanitizer, clang only (gcc has none).
# hakmem marks every block it hands out as uninitialised
# (__msan_allocated_memory, src/track.h).
# MSan needs every instrumented-program byte to come from instrumented code:
# the property suite is C++ linked with Debian's uninstrumented libstdc++ and
# librapidcheck, whose writes MSan cannot see (false reports in std::
# containers), so under msan it is not built; the C suites are.
SAN_VARIANTS    += msan
SAN_CCS_msan    := clang
SAN_CFLAGS_msan := -fsanitize=memory -fsanitize-memory-track-origins=2
SAN_CORE_msan   := -DHAK_NO_OVERRIDE
SAN_NAMES_msan  := 1
SAN_FUZZ_msan   := memory
SAN_PROPS_msan  :=
SAN_ENV_msan    := MSAN_OPTIONS=halt_on_error=1:exitcode=66
