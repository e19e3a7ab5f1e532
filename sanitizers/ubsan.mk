# sanitizers/ubsan.mk: UndefinedBehaviorSanitizer, every check fatal.
# clang-14 or gcc-12.  Needs no annotation from the allocator.
SAN_VARIANTS      += ubsan
SAN_CCS_ubsan     := clang gcc
SAN_CFLAGS_ubsan  := -fsanitize=undefined -fno-sanitize-recover=all
SAN_CFLAGS_ubsan_clang := -fsanitize=float-divide-by-zero,local-bounds,nullability
SAN_CORE_ubsan    := -DHAK_NO_OVERRIDE
SAN_NAMES_ubsan   := 1
SAN_FUZZ_ubsan    := undefined
SAN_PROPS_ubsan   := 1
SAN_ENV_ubsan     := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=66
