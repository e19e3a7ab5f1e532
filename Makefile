# hakmem — one core, several instruments.
#   make            release library: build/release/libhakmem.so and .a
#   make check      install missing Debian packages (as root), build, run every test
#   make campaign   fuzz campaign (MINUTES=N or HOURS=N; ENGINE=afl|libfuzzer)
# Each instrument keeps its rules in a fragment next to its sources
# (tests/tests.mk, fuzz/fuzz.mk, props/props.mk, bench/bench.mk, sanitizers/*.mk).

SHELL   := /bin/bash
CC      ?= cc
CLANG   ?= clang-14
CLANGXX ?= clang++-14
JOBS    ?= $(shell nproc)

COMMON_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -Wall -Wextra -Wshadow -Wstrict-prototypes \
                 -Wmissing-prototypes -fno-strict-aliasing -ftls-model=initial-exec \
                 -fvisibility=hidden -fno-semantic-interposition -Iinclude -Isrc
CORE_SRCS := $(sort $(wildcard src/*.c))
CORE_HDRS := $(wildcard src/*.h include/*.h)

# $(call core_variant,NAME,CC,CFLAGS): build/NAME/libhakmem.a (+ .so) from src/.
# The struct layout never depends on NAME: only the check level and hooks do.
define core_variant
build/$(1)/obj/%.o: src/%.c $(CORE_HDRS) | build/$(1)/obj
	$(2) $(COMMON_CFLAGS) $(3) -c $$< -o $$@
build/$(1)/obj:
	@mkdir -p $$@
build/$(1)/libhakmem.a: $(patsubst src/%.c,build/$(1)/obj/%.o,$(CORE_SRCS))
	@rm -f $$@; ar rcs $$@ $$^
build/$(1)/libhakmem.so: $(patsubst src/%.c,build/$(1)/obj/%.o,$(CORE_SRCS))
	$(2) -shared -o $$@ $$^ -lpthread
endef

RELEASE_CFLAGS := -O2 -g -DHAK_CHECK_LEVEL=0 -fno-plt
CHECK_CFLAGS   := -O1 -g -DHAK_CHECK_LEVEL=2 -fno-omit-frame-pointer

$(eval $(call core_variant,release,$(CC),$(RELEASE_CFLAGS)))
$(eval $(call core_variant,check,$(CC),$(CHECK_CFLAGS)))
$(eval $(call core_variant,clang-release,$(CLANG),$(RELEASE_CFLAGS)))
# Release without the always-on misuse checks: only to measure their cost.
$(eval $(call core_variant,release-noharden,$(CC),$(RELEASE_CFLAGS) -DHAK_HARDEN=0))

.PHONY: all release check-lib deps check campaign clean
all: release
release: build/release/libhakmem.so build/release/libhakmem.a
check-lib: build/check/libhakmem.a build/check/libhakmem.so

# Debian packages every instrument needs; installed only when missing and root.
DEB_PKGS := gcc g++ make clang-14 libclang-rt-14-dev llvm-14 afl++ librapidcheck-dev relacy-dev \
            valgrind strace python3 libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 \
            hyperfine gnuplot-nox linux-perf
deps:
	@./.ci/deps.sh $(DEB_PKGS)

clean:
	rm -rf build

# make print-VAR: the value of a make variable (the campaign summary names its build flags)
print-%:
	@printf '%s\n' '$($*)'

-include tests/tests.mk
-include fuzz/fuzz.mk
-include fuzz/triage-test/triage.mk
-include props/props.mk
-include bench/bench.mk
-include sanitizers/sanitizers.mk
-include repro/repro.mk
-include tests/oracle/oracle.mk

# Suites run by `make check`, in order; fragments append to CHECK_SUITES.
check: deps
	@$(MAKE) -s --no-print-directory release check-lib
	@./tests/check.sh $(CHECK_SUITES)
