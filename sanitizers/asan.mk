# sanitizers/asan.mk: AddressSanitizer (+ LeakSanitizer).  clang-14 or gcc-12.
# hakmem poisons its free blocks and the slack after the requested size
# (src/track.h), so overflows and use-after-free on hakmem's blocks are seen.
SAN_VARIANTS    += asan
SAN_CCS_asan    := clang gcc
SAN_CFLAGS_asan := -fsanitize=address -fno-sanitize-recover=all
SAN_CORE_asan   := -DHAK_NO_OVERRIDE
SAN_NAMES_asan  := 1
SAN_FUZZ_asan   := address,undefined
SAN_PROPS_asan  := 1
SAN_ENV_asan    := ASAN_OPTIONS=halt_on_error=1:exitcode=66:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1 \
                   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=66
