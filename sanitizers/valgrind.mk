# sanitizers/valgrind.mk: Valgrind memcheck.  No compiler instrumentation:
# the core keeps its malloc/free (override) and is built with
# -DHAK_TRACK_VALGRIND=1, so it describes its blocks with client requests
# (VALGRIND_MALLOCLIKE_BLOCK / FREELIKE_BLOCK).  Programs link the archive
# statically: memcheck replaces malloc only in shared objects (libc.so), so
# the malloc in the executable stays hakmem's and memcheck learns about its
# blocks from the requests.  Valgrind 3.19 does replace a malloc defined in
# the main executable by default ("NONE:malloc redirected"), so the runner
# passes --soname-synonyms=somalloc=nouserintercepts: only libc's malloc is
# replaced.  sanitizers/tests/st.h checks that blocks really are hakmem's.
# clang-14 or gcc-12 (no compiler feature used).
SAN_VARIANTS        += valgrind
SAN_CCS_valgrind    := clang gcc
# Valgrind 3.19 cannot read clang-14's default DWARF 5 (strx forms): DWARF 4.
SAN_CFLAGS_valgrind := -gdwarf-4
SAN_CORE_valgrind   := -DHAK_TRACK_VALGRIND=1
SAN_NAMES_valgrind  :=
SAN_FUZZ_valgrind   :=
SAN_PROPS_valgrind  :=
SAN_ENV_valgrind    :=
# Every program runs as $(SAN_RUN_valgrind) PROGRAM ARGS.
VALGRIND_FLAGS      := --tool=memcheck --soname-synonyms=somalloc=nouserintercepts --error-exitcode=99 --track-origins=yes --leak-check=full \
                       --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 \
                       --child-silent-after-fork=no --trace-children=no
SAN_RUN_valgrind    := valgrind $(VALGRIND_FLAGS)
