# tests/: unit tests (check build, static link) and LD_PRELOAD smoke test.
#   make check-unit             every tests/unit/*.c against build/check/libhakmem.a
#   make check-unit UNIT=api    one of them
#   make check-smoke            tests/smoke.sh against build/release/
# Each prints "PASS: <name>" / "FAIL: <name>" lines (see tests/check.sh).

UNIT_SRCS   := $(sort $(wildcard tests/unit/*.c))
UNIT_NAMES  := $(patsubst tests/unit/%.c,%,$(UNIT_SRCS))
# The plan (tests/check.sh): how many PASS lines each unit program prints,
# one per T_RUN.  Written here, not counted from the sources, so a deleted
# test or test file is a FAIL rather than a shorter log; a new program or
# test needs its entry raised here.
UNIT_PLAN   := api=20 checker=72 fork=3 heaps=11 large=13 options=7 os=7 threads=6
UNIT_PLANNED := $(foreach e,$(UNIT_PLAN),$(firstword $(subst =, ,$(e))))
UNIT        ?= $(sort $(UNIT_NAMES) $(UNIT_PLANNED))
TEST_CFLAGS := $(COMMON_CFLAGS) -O1 -g -fno-builtin -fno-omit-frame-pointer -Itests -Wno-missing-prototypes

build/tests/unit build/tests/smoke:
	@mkdir -p $@

# Unit tests: hakmem's malloc/free/... come from the archive, before libc.
build/tests/unit/%: tests/unit/%.c tests/t.h $(CORE_HDRS) build/check/libhakmem.a | build/tests/unit
	$(CC) $(TEST_CFLAGS) $< -o $@ build/check/libhakmem.a -lpthread

# Build each test separately so that one that does not compile is one FAIL,
# and run each under a timeout: a crash or hang is reported by name.  A test
# program exits 1 when it printed a FAIL line; any other status is a crash.
# A program that prints fewer PASS lines than its UNIT_PLAN entry (a test
# lost, or the program stopped early) is one FAIL naming it.
# plan_of NAME (shell): its UNIT_PLAN entry, empty when it has none.
.PHONY: check-unit check-smoke
check-unit: build/check/libhakmem.a
	@fail=0; plan=0; \
	plan_of() { for e in $(UNIT_PLAN); do [ "$${e%%=*}" = "$$1" ] && echo "$${e#*=}"; done; }; \
	for t in $(UNIT); do n=$$(plan_of $$t); plan=$$((plan + $${n:-0})); done; \
	echo "PLAN: $$plan"; \
	for t in $(UNIT); do \
	  n=$$(plan_of $$t); \
	  if [ -z "$$n" ]; then echo "FAIL: $$t (no entry in UNIT_PLAN of tests/tests.mk)"; fail=1; fi; \
	  if ! $(MAKE) -s --no-print-directory build/tests/unit/$$t; then \
	    echo "FAIL: $$t (does not build)"; fail=1; continue; fi; \
	  timeout -k 5 180 ./build/tests/unit/$$t | tee build/tests/unit/$$t.out; rc=$${PIPESTATUS[0]}; \
	  if [ $$rc -eq 1 ]; then fail=1; \
	  elif [ $$rc -ne 0 ]; then echo "FAIL: $$t (crashed or timed out: exit $$rc)"; fail=1; fi; \
	  got=$$(grep -c '^PASS: ' build/tests/unit/$$t.out); \
	  if [ -n "$$n" ] && [ "$$got" -lt "$$n" ]; then echo "FAIL: $$t ($$got of its $$n planned tests passed)"; fail=1; fi; \
	done; exit $$fail

# Smoke: real programs under LD_PRELOAD of the release .so, and one program
# linked against the release archive (smoke.sh builds these two itself so a
# build error is one FAIL line).
build/tests/smoke/mt_dyn: tests/smoke_mt.c | build/tests/smoke
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $< -o $@ -lpthread
build/tests/smoke/mt_static: tests/smoke_mt.c build/release/libhakmem.a | build/tests/smoke
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $< -o $@ build/release/libhakmem.a -lpthread

check-smoke: build/release/libhakmem.so build/release/libhakmem.a
	@./tests/smoke.sh

CHECK_SUITES += check-unit check-smoke

# ---- tests/misuse: the misuse table (release build) -----------------------
#   make check-misuse            every row of tests/misuse/table.tsv
#   tests/misuse/run.sh CASE...  some of them
# One program per misuse, linked against the RELEASE archive (MISUSE_LIB to
# try another build); run.sh checks SIGABRT and the exact stderr line and
# writes build/logs/misuse-table.md.
MISUSE_LIB ?= build/release/libhakmem.a
build/tests/faults build/soak:
	@mkdir -p $@

.PHONY: check-misuse
check-misuse: $(MISUSE_LIB)
	@CC="$(CC)" MISUSE_LIB=$(MISUSE_LIB) ./tests/misuse/run.sh

# ---- tests/faults: OS failure injection and a real address-space limit ----
#   make check-faults      the sweep (check build) and the ulimit -v run (release)
# sweep: the k-th OS map fails, for every k over one workload (see sweep.c);
# linked with --wrap=hak__os_map so each refused map is attributed to the
# operation it hit.  ulimit: allocate under `ulimit -v` until the kernel
# refuses, then check ENOMEM, the checker and recovery (see ulimit.c).
FAULTS_ULIMIT_KB ?= 262144
build/tests/faults/sweep: tests/faults/sweep.c tests/t.h $(CORE_HDRS) build/check/libhakmem.a | build/tests/faults
	$(CC) $(TEST_CFLAGS) $< -o $@ -Wl,--wrap=hak__os_map build/check/libhakmem.a -lpthread
build/tests/faults/remap: tests/faults/remap.c tests/t.h $(CORE_HDRS) build/check/libhakmem.a | build/tests/faults
	$(CC) $(TEST_CFLAGS) $< -o $@ -Wl,--wrap=hak__os_map -Wl,--wrap=hak__os_remap build/check/libhakmem.a -lpthread
build/tests/faults/ulimit: tests/faults/ulimit.c tests/t.h $(CORE_HDRS) build/release/libhakmem.a | build/tests/faults
	$(CC) $(TEST_CFLAGS) $< -o $@ build/release/libhakmem.a -lpthread

# plan: sweep prints 2 PASS lines (one shot, outage), remap 2 (the same
# over a large-realloc chain that grows and shrinks in place, mremap
# refused too; see remap.c), ulimit 2 (every tier; realloc in place); tests/faults/mutants.sh prints its
# own plan (one PASS per broken core of tests/faults/mutants/ that remap
# or ulimit must catch with its declared message)
.PHONY: check-faults
check-faults: build/check/libhakmem.a build/release/libhakmem.a
	@echo "PLAN: 6"; fail=0; \
	for t in sweep remap ulimit; do \
	  if ! $(MAKE) -s --no-print-directory build/tests/faults/$$t; then \
	    echo "FAIL: faults/$$t (does not build)"; fail=1; continue; fi; \
	done; \
	if [ -x build/tests/faults/sweep ]; then \
	  timeout -k 5 290 ./build/tests/faults/sweep; rc=$$?; \
	  if [ $$rc -eq 1 ]; then fail=1; \
	  elif [ $$rc -ne 0 ]; then echo "FAIL: faults/sweep (crashed or timed out: exit $$rc)"; fail=1; fi; \
	fi; \
	if [ -x build/tests/faults/remap ]; then \
	  timeout -k 5 180 ./build/tests/faults/remap; rc=$$?; \
	  if [ $$rc -eq 1 ]; then fail=1; \
	  elif [ $$rc -ne 0 ]; then echo "FAIL: faults/remap (crashed or timed out: exit $$rc)"; fail=1; fi; \
	fi; \
	FAULTS_ULIMIT_KB=$(FAULTS_ULIMIT_KB) ./tests/faults/mutants.sh || fail=1; \
	if [ -x build/tests/faults/ulimit ]; then \
	  ( ulimit -S -v $(FAULTS_ULIMIT_KB) && exec timeout -k 5 60 ./build/tests/faults/ulimit ); rc=$$?; \
	  if [ $$rc -eq 1 ]; then fail=1; \
	  elif [ $$rc -ne 0 ]; then echo "FAIL: faults/ulimit (crashed or timed out: exit $$rc)"; fail=1; fi; \
	fi; \
	exit $$fail

CHECK_SUITES += check-misuse check-faults

# ---- tests/soak: long runs, RSS must plateau (not part of make check) -----
#   make soak MINUTES=N     larson and thread_churn, 2-64 threads, release .so (default 3)
# Report, data and gnuplot SVG in build/soak/, copied to tests/soak/results/.
.PHONY: soak
soak: build/release/libhakmem.so bench-progs
	@MINUTES=$(MINUTES) ./tests/soak/soak.sh
