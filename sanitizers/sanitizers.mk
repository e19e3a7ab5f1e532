# sanitizers/sanitizers.mk: sanitizer and Valgrind build variants, the proof
# that the allocator's annotations work, and the merge gate (issue 5).
#
#   make VARIANT=asan|ubsan|tsan|msan|valgrind [CC=gcc]
#                       build that variant (clang-14 by default; gcc-12 for
#                       asan, ubsan, tsan, valgrind): the core, the unit tests,
#                       the property suite, the replay binaries, the fuzz
#                       targets and sanitizers/tests/, under build/san/V-CC/
#   make gate [FULL=1]  every variant x every suite, table in build/gate/report.md
#   make check-gate     the CI form (part of `make check`), PASS:/FAIL: lines
#   make gate-selftest  deliberately broken cores must turn the gate red
#   make san-tests VARIANT=...   only the annotation proofs (sanitizers/tests/)
#
# Per-variant settings are in sanitizers/<variant>.mk:
#   SAN_CCS_v    compilers allowed (clang, gcc)
#   SAN_CFLAGS_v compile+link flags (SAN_CFLAGS_v_clang / _gcc: extra per compiler)
#   SAN_CORE_v   core-only defines
#   SAN_NAMES_v  1: programs reach hakmem through sanitizers/hak_names.h
#   SAN_FUZZ_v   1: libFuzzer targets exist (clang only)
#   SAN_PROPS_v  1: the C++ property suite is built
#   SAN_ENV_v    runtime environment;  SAN_RUN_v  runner prefix (valgrind)
#   SAN_UNIT_FAST_SKIP_v  unit tests the fast (CI) mode does not run under v

SAN_VARIANTS :=
include sanitizers/asan.mk sanitizers/ubsan.mk sanitizers/tsan.mk sanitizers/msan.mk sanitizers/valgrind.mk

SAN_CC_clang  := $(CLANG)
SAN_CXX_clang := $(CLANGXX)
SAN_CC_gcc    := gcc-12
SAN_CXX_gcc   := g++-12
# Every build: the check level of the check library, frame pointers for stacks.
SAN_OPT       := -O1 -g -fno-omit-frame-pointer -DHAK_CHECK_LEVEL=2
# Every variant x compiler the gate covers, in table order.
SAN_COMBOS    := $(foreach v,$(SAN_VARIANTS),$(foreach c,$(SAN_CCS_$(v)),$(v)-$(c)))

# ---- VARIANT= on the command line: validate, pick the compiler ------------
ifneq ($(VARIANT),)
  ifeq ($(filter $(VARIANT),$(SAN_VARIANTS)),)
    $(error VARIANT=$(VARIANT) is not a variant; choose one of: $(SAN_VARIANTS))
  endif
  ifeq ($(origin CC),default)
    SAN_FAMILY := clang
  else
    SAN_CCVER := $(shell $(CC) --version 2>/dev/null | head -1)
    SAN_FAMILY := $(if $(findstring clang,$(SAN_CCVER)),clang,$(if $(findstring gcc,$(SAN_CCVER))$(findstring GCC,$(SAN_CCVER)),gcc))
    ifeq ($(SAN_FAMILY),)
      $(error VARIANT=$(VARIANT): CC=$(CC) is neither clang nor gcc ('$(SAN_CCVER)'))
    endif
  endif
  ifeq ($(filter $(SAN_FAMILY),$(SAN_CCS_$(VARIANT))),)
    $(error VARIANT=$(VARIANT) cannot be built with $(SAN_FAMILY) (CC=$(CC)): it needs $(SAN_CCS_$(VARIANT))$(if $(filter msan,$(VARIANT)), -- gcc has no MemorySanitizer))
  endif
  SAN_COMBO := $(VARIANT)-$(SAN_FAMILY)
  .DEFAULT_GOAL := san-variant
else
  # The Makefile's first explicit target is a directory rule from core_variant;
  # a bare `make` is meant to build the release library.
  .DEFAULT_GOAL := all
endif

# ---- per variant x compiler rules -----------------------------------------
# $(call san_flags,V,C): compile/link flags of programs of variant V built by C
san_flags = $(SAN_CFLAGS_$(1)) $(SAN_CFLAGS_$(1)_$(2))
san_names = $(if $(SAN_NAMES_$(1)),-include sanitizers/hak_names.h)

# Cores:  build/san/V-C/          the library the programs see: NO_OVERRIDE for
#                                 the sanitizers, malloc override for valgrind
#         build/san/V-C-h/        the harness core (always NO_OVERRIDE: fuzz,
#                                 replay and props drive hak_* and keep libc's
#                                 malloc for themselves); same as the above
#                                 except for valgrind
#         build/san/V-C-lf/       harness core with libFuzzer coverage
#         build/san/valgrind-C-rel/  release flags + Valgrind requests (real programs)
$(foreach v,$(SAN_VARIANTS),$(foreach c,$(SAN_CCS_$(v)),\
  $(eval $(call core_variant,san/$(v)-$(c),$(SAN_CC_$(c)),$(SAN_OPT) $(SAN_CORE_$(v)) $(call san_flags,$(v),$(c))))\
  $(eval $(call core_variant,san/$(v)-$(c)-h,$(SAN_CC_$(c)),$(SAN_OPT) $(SAN_CORE_$(v)) -DHAK_NO_OVERRIDE $(call san_flags,$(v),$(c))))\
  $(if $(and $(SAN_FUZZ_$(v)),$(filter clang,$(c))),\
    $(eval $(call core_variant,san/$(v)-$(c)-lf,$(SAN_CC_$(c)),$(SAN_OPT) $(SAN_CORE_$(v)) -DHAK_NO_OVERRIDE $(call san_flags,$(v),$(c)) -fsanitize=fuzzer-no-link)))))
$(foreach c,$(SAN_CCS_valgrind),\
  $(eval $(call core_variant,san/valgrind-$(c)-rel,$(SAN_CC_$(c)),$(RELEASE_CFLAGS) $(SAN_CORE_valgrind) $(call san_flags,valgrind,$(c)))))

SAN_TEST_SRCS := $(sort $(wildcard sanitizers/tests/*.c))
SAN_TEST_NAMES := $(patsubst sanitizers/tests/%.c,%,$(SAN_TEST_SRCS))
SAN_UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/*.c)))
SAN_PROPS_GROUPS := $(if $(wildcard props/main.cpp),$(PROPS_GROUPS))
SAN_PROPS_HM := $(PROPS_HM)
SAN_FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(filter $(wildcard fuzz/ops.c fuzz/mt.c),fuzz/ops.c fuzz/mt.c))
SAN_FUZZ_HDRS := $(wildcard fuzz/*.h) include/hakmem.h include/hakmem_debug.h
SAN_REAL_SRCS := $(wildcard tests/smoke_mt.c) sanitizers/tests/clean_api.c sanitizers/tests/clean_threads.c

# Program flags.  Unit tests: tests/tests.mk's flags.  C harnesses: C11.
SAN_PCFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(SAN_OPT) -Wall -Wextra -Wno-missing-prototypes
SAN_UCFLAGS  = $(or $(TEST_CFLAGS),$(COMMON_CFLAGS) -O1 -g -fno-builtin -fno-omit-frame-pointer -Itests -Wno-missing-prototypes)

# The harness core of V-C: the program core itself when that is already
# NO_OVERRIDE (every sanitizer), so it is compiled once; valgrind's differs.
san_hlib = build/san/$(1)-$(2)$(if $(filter -DHAK_NO_OVERRIDE,$(SAN_CORE_$(1))),,-h)/libhakmem.a

# $(call san_rules,V,C): the binaries of V-C, grouped by the gate suite that
# runs them; `make san-V-C-SUITE` builds one group (the gate builds only the
# groups of the suites it runs).
define san_rules
SAN_D_$(1)-$(2) := build/san/$(1)-$(2)
SAN_G_$(1)-$(2)_st     := $(SAN_TEST_NAMES:%=build/san/$(1)-$(2)/st/%)
SAN_G_$(1)-$(2)_unit   := $(SAN_UNIT_NAMES:%=build/san/$(1)-$(2)/unit/%)
SAN_G_$(1)-$(2)_props  := $(if $(SAN_PROPS_$(1)),$(SAN_PROPS_GROUPS:%=build/san/$(1)-$(2)/props/%))
SAN_G_$(1)-$(2)_replay := $(SAN_FUZZ_TARGETS:%=build/san/$(1)-$(2)/fuzz/%-replay)
SAN_G_$(1)-$(2)_fuzz   := $(if $(and $(SAN_FUZZ_$(1)),$(filter clang,$(2))),$(SAN_FUZZ_TARGETS:%=build/san/$(1)-$(2)/fuzz/%-lf))
SAN_G_$(1)-$(2)_real   := $(if $(filter valgrind,$(1)),san-real-$(2))
SAN_BINS_$(1)-$(2) := $$(foreach g,st unit props replay fuzz,$$(SAN_G_$(1)-$(2)_$$(g)))

build/san/$(1)-$(2)/st/%: sanitizers/tests/%.c sanitizers/tests/st.h sanitizers/hak_names.h $(CORE_HDRS) build/san/$(1)-$(2)/libhakmem.a
	@mkdir -p $$(@D)
	$(SAN_CC_$(2)) $(SAN_PCFLAGS) -fno-builtin $(call san_flags,$(1),$(2)) $(call san_names,$(1)) $$< -o $$@ build/san/$(1)-$(2)/libhakmem.a -lpthread

build/san/$(1)-$(2)/unit/%: tests/unit/%.c tests/t.h sanitizers/hak_names.h $(CORE_HDRS) build/san/$(1)-$(2)/libhakmem.a
	@mkdir -p $$(@D)
	$(SAN_CC_$(2)) $$(SAN_UCFLAGS) $(call san_flags,$(1),$(2)) $(call san_names,$(1)) $$< -o $$@ build/san/$(1)-$(2)/libhakmem.a -lpthread

build/san/$(1)-$(2)/fuzz/%-replay: fuzz/%.c fuzz/replay.c $(SAN_FUZZ_HDRS) $(call san_hlib,$(1),$(2))
	@mkdir -p $$(@D)
	$(SAN_CC_$(2)) $(SAN_PCFLAGS) -Ifuzz $(call san_flags,$(1),$(2)) $$< fuzz/replay.c -o $$@ $(call san_hlib,$(1),$(2)) -lpthread

build/san/$(1)-$(2)/fuzz/%-lf: fuzz/%.c $(SAN_FUZZ_HDRS) build/san/$(1)-$(2)-lf/libhakmem.a
	@mkdir -p $$(@D)
	$(SAN_CC_$(2)) $(SAN_PCFLAGS) -Ifuzz $(call san_flags,$(1),$(2)) -fsanitize=fuzzer $$< -o $$@ build/san/$(1)-$(2)-lf/libhakmem.a -lpthread

build/san/$(1)-$(2)/props/obj/%.o: props/%.cpp $(wildcard props/*.h) $(wildcard fuzz/ops_emit.h) include/hakmem.h include/hakmem_debug.h
	@mkdir -p $$(@D)
	$(SAN_CXX_$(2)) $$(PROPS_CXXFLAGS) $(call san_flags,$(1),$(2)) -c $$< -o $$@

.PHONY: san-build-$(1)-$(2) $(foreach g,st unit props replay fuzz real,san-$(1)-$(2)-$(g))
san-build-$(1)-$(2): $$(SAN_BINS_$(1)-$(2)) $(if $(filter valgrind,$(1)),san-real-$(2))
san-$(1)-$(2)-st: $$(SAN_G_$(1)-$(2)_st)
san-$(1)-$(2)-unit: $$(SAN_G_$(1)-$(2)_unit)
san-$(1)-$(2)-props: $$(SAN_G_$(1)-$(2)_props)
san-$(1)-$(2)-replay: $$(SAN_G_$(1)-$(2)_replay)
san-$(1)-$(2)-fuzz: $$(SAN_G_$(1)-$(2)_fuzz)
san-$(1)-$(2)-real: $$(SAN_G_$(1)-$(2)_real)
endef
$(foreach v,$(SAN_VARIANTS),$(foreach c,$(SAN_CCS_$(v)),$(eval $(call san_rules,$(v),$(c)))))

# $(call san_props_bin,V,C,GROUP)
define san_props_bin
build/san/$(1)-$(2)/props/$(3): build/san/$(1)-$(2)/props/obj/main.o build/san/$(1)-$(2)/props/obj/common.o \
    $(if $(filter $(3),$(SAN_PROPS_HM)),build/san/$(1)-$(2)/props/obj/heapmodel.o) build/san/$(1)-$(2)/props/obj/$(3).o \
    $(call san_hlib,$(1),$(2))
	$(SAN_CXX_$(2)) $(call san_flags,$(1),$(2)) -o $$@ $$^ $$(or $$(PROPS_LIBS),-lrapidcheck -lpthread)
endef
$(foreach v,$(SAN_VARIANTS),$(if $(SAN_PROPS_$(v)),$(foreach c,$(SAN_CCS_$(v)),\
  $(foreach g,$(SAN_PROPS_GROUPS),$(eval $(call san_props_bin,$(v),$(c),$(g)))))))
.SECONDARY:

# Real programs for Valgrind: linked statically with the release-flags core
# that carries the Valgrind requests; and its .so for LD_PRELOAD.
define san_real
build/san/valgrind-$(1)-rel/real/smoke_mt: tests/smoke_mt.c build/san/valgrind-$(1)-rel/libhakmem.a
	@mkdir -p $$(@D)
	$(SAN_CC_$(1)) -std=c11 -D_GNU_SOURCE -O2 -g $(call san_flags,valgrind,$(1)) -Iinclude $$< -o $$@ build/san/valgrind-$(1)-rel/libhakmem.a -lpthread
build/san/valgrind-$(1)-rel/real/%: sanitizers/tests/%.c sanitizers/tests/st.h build/san/valgrind-$(1)-rel/libhakmem.a
	@mkdir -p $$(@D)
	$(SAN_CC_$(1)) -std=c11 -D_GNU_SOURCE -O2 -g $(call san_flags,valgrind,$(1)) -Iinclude $$< -o $$@ build/san/valgrind-$(1)-rel/libhakmem.a -lpthread
.PHONY: san-real-$(1)
san-real-$(1): $(patsubst %.c,build/san/valgrind-$(1)-rel/real/%,$(notdir $(SAN_REAL_SRCS))) \
               build/san/valgrind-$(1)-rel/libhakmem.so build/release/libhakmem.so
endef
$(foreach c,$(SAN_CCS_valgrind),$(eval $(call san_real,$(c))))

.PHONY: san-variant san-tests gate check-gate gate-selftest
san-variant:
	@$(MAKE) --no-print-directory -j$(JOBS) san-build-$(SAN_COMBO)
	@echo "VARIANT=$(VARIANT) ($(SAN_FAMILY)): binaries in build/san/$(SAN_COMBO)/; run: make gate GATE_COMBOS=$(SAN_COMBO)"

# gate.sh gets each variant's runtime settings and list of binary groups
# from make (the fragments are the one place they are written).
SAN_GATE_ENV = JOBS=$(JOBS) $(foreach v,$(SAN_VARIANTS),SAN_ENV_$(v)='$(SAN_ENV_$(v))' SAN_RUN_$(v)='$(SAN_RUN_$(v))') \
  SAN_VARIANTS='$(SAN_VARIANTS)' SAN_COMBOS='$(SAN_COMBOS)' \
  $(foreach v,$(SAN_VARIANTS),SAN_PROPS_$(v)='$(SAN_PROPS_$(v))' SAN_FUZZ_$(v)='$(SAN_FUZZ_$(v))' SAN_UNIT_FAST_SKIP_$(v)='$(SAN_UNIT_FAST_SKIP_$(v))') \
  SAN_UNIT_NAMES='$(SAN_UNIT_NAMES)' SAN_PROPS_GROUPS='$(SAN_PROPS_GROUPS)' SAN_FUZZ_TARGETS='$(SAN_FUZZ_TARGETS)'

san-tests:
	@$(if $(SAN_COMBO),,$(error san-tests needs VARIANT=...))$(SAN_GATE_ENV) ./sanitizers/gate.sh --suites st $(SAN_COMBO)

# The gate.  FULL=1: longer fuzz runs, more property cases, every input
# under Valgrind.  GATE_COMBOS / GATE_SUITES narrow it (e.g. GATE_COMBOS=tsan-clang).
FULL ?=
GATE_COMBOS ?= $(SAN_COMBOS)
GATE_SUITES ?=
gate: release
	@$(SAN_GATE_ENV) ./sanitizers/gate.sh --mode $(if $(FULL),full,normal) $(if $(GATE_SUITES),--suites "$(GATE_SUITES)") $(GATE_COMBOS)

# CI form (part of `make check`): fast mode, and only the combination x suite
# pairs that find the most per second (sanitizers/gate.sh, CI_PLAN); budget
# 8 minutes on 2 cores including the builds.
check-gate: release
	@$(SAN_GATE_ENV) ./sanitizers/gate.sh --mode fast --out build/gate-check $(if $(GATE_SUITES),--suites "$(GATE_SUITES)") $(if $(filter command line,$(origin GATE_COMBOS)),$(GATE_COMBOS),--ci)

gate-selftest:
	@$(SAN_GATE_ENV) ./sanitizers/selftest.sh

CHECK_SUITES += check-gate
