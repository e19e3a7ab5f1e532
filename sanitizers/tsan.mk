# sanitizers/tsan.mk: ThreadSanitizer.  clang-14 or gcc-12.
# hakmem releases on free and acquires on allocation (src/track.h), so a
# block handed from one thread to another through the allocator (remote
# free, reuse) is not a race; real races on a block still are.
SAN_VARIANTS    += tsan
SAN_CCS_tsan    := clang gcc
SAN_CFLAGS_tsan := -fsanitize=thread
SAN_CORE_tsan   := -DHAK_NO_OVERRIDE
SAN_NAMES_tsan  := 1
SAN_FUZZ_tsan   := thread
SAN_PROPS_tsan  := 1
SAN_ENV_tsan    := TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:die_after_fork=0
# tests/unit/fork.c forks while threads run and the child starts threads:
# TSan's default is to die there ("not supported"); hakmem's fork handlers
# are what that test checks, so let the child go on.
# Unit tests the fast (CI) mode leaves out under this variant: large.c maps
# and fills ~2 GB without a second thread (minutes under TSan, nothing for
# TSan to find; ASan, UBSan, MSan and memcheck run it).
SAN_UNIT_FAST_SKIP_tsan := large
