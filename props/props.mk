# props/props.mk: the rapidcheck property suite (issue 4), included by the
# top-level Makefile.
#   make props                 bounded run (part of make check, suite check-props)
#   make props-long CASES=N    N cases per property (default 2000)
#   make props-mutants         the deliberately broken cores must be caught
# Reproduce a failure: RC_PARAMS="reproduce=..." build/props/pN (the string is
# printed by rapidcheck); PROPS_NOFORK=1 runs cases in-process (debugger).
# A failing property writes its shrunk sequence to repro/props/NAME.ops (a
# fuzz/ops input) and NAME.txt.

PROPS_CXX      ?= g++
PROPS_CXXFLAGS := -std=c++17 -O1 -g -Wall -Wextra -Iinclude -fno-omit-frame-pointer
PROPS_LIBS     := -lrapidcheck -lpthread
PROPS_CORE_CFLAGS := -O1 -g -DHAK_CHECK_LEVEL=2 -DHAK_NO_OVERRIDE -fno-omit-frame-pointer
PROPS_GROUPS   := p1_disjoint p2_metadata p3_classes p4_remote p5_api p6_exit p7_realloc
# Property groups that use the heap state machine.
PROPS_HM       := p1_disjoint p4_remote p6_exit

$(eval $(call core_variant,props-core,$(CC),$(PROPS_CORE_CFLAGS)))
PROPS_LIB := build/props-core/libhakmem.a

PROPS_HDRS := props/props.h props/heapmodel.h include/hakmem.h include/hakmem_debug.h $(wildcard fuzz/ops_emit.h)

build/props/obj/%.o: props/%.cpp $(PROPS_HDRS)
	@mkdir -p $(@D)
	$(PROPS_CXX) $(PROPS_CXXFLAGS) -c $< -o $@

props_deps = build/props/obj/main.o build/props/obj/common.o \
             $(if $(filter $(1),$(PROPS_HM)),build/props/obj/heapmodel.o) build/props/obj/$(1).o

# $(call props_bin,OUT,GROUP,LIB)
define props_bin
$(1): $(call props_deps,$(2)) $(3)
	$(PROPS_CXX) -o $$@ $$^ $(PROPS_LIBS)
endef
$(foreach g,$(PROPS_GROUPS),$(eval $(call props_bin,build/props/$(g),$(g),$(PROPS_LIB))))

# Cases per property in `make props` (rapidcheck max_success; each stateful
# case is a sequence of up to ~100 commands checked after every command).
PROPS_CASES_p1_disjoint := 500
PROPS_CASES_p2_metadata := 300
PROPS_CASES_p3_classes  := 300
PROPS_CASES_p4_remote   := 400
PROPS_CASES_p5_api      := 200
PROPS_CASES_p6_exit     := 300
PROPS_CASES_p7_realloc  := 150
CASES ?= 2000

.PHONY: props props-bins props-long props-mutants props-ops-roundtrip check-props
props-bins: $(addprefix build/props/,$(PROPS_GROUPS))

# The binaries are built with -j$(JOBS) even under a serial `make check`:
# the rapidcheck headers make each C++ file a 5-10 s compile.
props:
	@$(MAKE) -s --no-print-directory -j$(JOBS) props-bins build/fuzz/ops-replay
	@PROPS_JOBS=$(JOBS) ./props/run.sh $(foreach g,$(PROPS_GROUPS),$(g)=$(PROPS_CASES_$(g)))
	@echo "PLAN: $$((3 * $(words $(PROPS_MUTANTS)) + 2 * $(words $(PROPS_GROUP_MUTANTS)) + 1)) (props-mutants: 3 per mutant of property 1, 2 per mutant of another group; props-ops-roundtrip: 1)"
	@$(MAKE) -s --no-print-directory props-mutants props-ops-roundtrip

# The fuzz/ops encoding of the state machine's sequences replays clean on
# the real core (a reproducer must fail only because of the bug it shows):
# PROPS_ROUNDTRIP_CASES passing cases of disjoint and exit-model are written
# as .ops and replayed with build/fuzz/ops-replay.
PROPS_ROUNDTRIP_CASES ?= 40
props-ops-roundtrip: build/props/p1_disjoint build/props/p6_exit build/fuzz/ops-replay
	@d=build/props/roundtrip; rm -rf $$d; mkdir -p $$d; \
	 for g in p1_disjoint p6_exit; do \
	   PROPS_EMIT_ALL=$$d RC_PARAMS="max_success=$(PROPS_ROUNDTRIP_CASES)" build/props/$$g --only disjoint --only exit-model \
	     >$$d/$$g.log 2>&1 || { cat $$d/$$g.log; echo "FAIL: props/ops-roundtrip ($$g)"; exit 1; }; \
	 done; \
	 n=$$(ls $$d/*.ops 2>/dev/null | wc -l); \
	 if [ $$n -lt $(PROPS_ROUNDTRIP_CASES) ]; then echo "FAIL: props/ops-roundtrip (only $$n sequences encodable)"; exit 1; fi; \
	 if build/fuzz/ops-replay -t $$d/*.ops >$$d/replay.log 2>&1; then \
	   echo "  ops-roundtrip: $$(tail -1 $$d/replay.log)"; echo "PASS: props/ops-roundtrip"; \
	 else tail -30 $$d/replay.log; echo "FAIL: props/ops-roundtrip"; exit 1; fi

props-long:
	@$(MAKE) -s --no-print-directory -j$(JOBS) props-bins
	@PROPS_JOBS=$(JOBS) ./props/run.sh $(foreach g,$(PROPS_GROUPS),$(g)=$(CASES))

# Mutants (repro/bugs/NAME.patch, built by repro/bugs/mutant.sh in
# build/mutants/NAME): property 1 must fail on each and shrink to at most
# PROPS_MUTANT_MAX_CMDS commands; its .ops must replay (props/mutants.sh).
#   props-refill-no-drain     the owner pops its free lists without draining
#                             its remote queue first (HAKMEM bug 1)
#   props-drain-no-detach     the drain leaves the drained blocks on the queue:
#                             one block on the queue and on a free list
#   props-flush-keeps-cached  a flushed block stays cached: cache + free list
#   free-double-list          (repro catalog) a remote free also caches the
#                             block in the freeing heap: queue + cache
PROPS_MUTANTS := props-refill-no-drain props-drain-no-detach props-flush-keeps-cached free-double-list
# Mutants of the other groups (props/mutants/NAME.patch; each names its
# property and the failure line it must produce, props/mutants.sh --group):
#   p7-large-copy-whole-pages  realloc from a large block to a smaller tier
#                              copies whole pages: the partial last page of
#                              the prefix is lost (realloc-tiers)
PROPS_GROUP_MUTANTS := props/mutants/p7-large-copy-whole-pages.patch
props-mutants: build/props/obj/main.o build/props/obj/common.o build/props/obj/heapmodel.o \
               build/props/obj/p1_disjoint.o build/props/obj/p7_realloc.o build/fuzz/ops-replay
	@PROPS_CXX="$(PROPS_CXX)" PROPS_JOBS=$(JOBS) ./props/mutants.sh $(PROPS_MUTANTS); st=$$?; \
	 PROPS_CXX="$(PROPS_CXX)" PROPS_JOBS=$(JOBS) PROPS_MUTANT_CASES=300 ./props/mutants.sh --group $(PROPS_GROUP_MUTANTS) || st=1; \
	 exit $$st

check-props: props
CHECK_SUITES += check-props
