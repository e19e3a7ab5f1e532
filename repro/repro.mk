# repro/repro.mk: controlled scheduling (fuzz/sched), Relacy, reproducers and
# the known-bug catalog.  Included by the top-level Makefile.
#
#   make sched           the HAK_SCHED builds: build/sched/{sched-lf,sched-replay,-asan,-tsan}
#                        (-DHAK_SCHED: src/atomic.h calls hak_sched_point() before every operation)
#   make sched-fuzz      run the fuzz/sched target (SCHED_SECONDS, default 60) from fuzz/sched/seeds
#   make relacy          the remote-queue model under Relacy (real core + the relaxed mutants)
#   make repro           replay every reproducer of repro/MANIFEST under ASan and TSan: all clean
#   make repro-determinism  one schedule replayed 100 times: identical output and crash report
#   make bugs            build every mutant of repro/bugs/ and run the instruments: the catalog table
#   make check-repro     the make-check suite (repro/check.sh): repro + determinism +
#                        relacy + the stored schedules still failing on their mutants
# See repro/README.md.

SCHED_DEFS   := -DHAK_NO_OVERRIDE -DHAK_CHECK_LEVEL=2 -DHAK_SCHED
SCHED_BASE   := -O1 -g -fno-omit-frame-pointer $(SCHED_DEFS)
SCHED_ASAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
SCHED_TSAN   := -fsanitize=thread
SCHED_HFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Ifuzz -Ifuzz/sched -g -fno-omit-frame-pointer -Wall -Wextra -Wshadow
SCHED_SRCS   := fuzz/sched/sched_rt.c fuzz/sched/target.c
SCHED_HDRS   := fuzz/sched/sched_rt.h fuzz/fuzz_common.h fuzz/slurp.h fuzz/ops_emit.h include/hakmem.h include/hakmem_debug.h

$(eval $(call core_variant,sched-plain,$(CC),$(SCHED_BASE)))
$(eval $(call core_variant,sched-asan,$(CLANG),$(SCHED_BASE) $(SCHED_ASAN)))
$(eval $(call core_variant,sched-tsan,$(CLANG),$(SCHED_BASE) $(SCHED_TSAN)))
$(eval $(call core_variant,sched-lf,$(CLANG),$(SCHED_BASE) $(SCHED_ASAN) -fsanitize=fuzzer-no-link))

SB := build/sched
$(SB):
	@mkdir -p $@
# $(call sched_bin,OUT,COMPILER,FLAGS,EXTRA-SOURCES,CORE-VARIANT)
define sched_bin
$(SB)/$(1): $(SCHED_SRCS) $(4) $(SCHED_HDRS) build/$(5)/libhakmem.a | $(SB)
	$(2) $(SCHED_HFLAGS) $(3) $(SCHED_SRCS) $(4) build/$(5)/libhakmem.a -lpthread -o $$@
endef
$(eval $(call sched_bin,sched-replay,$(CC),-O1,fuzz/sched/replay.c,sched-plain))
$(eval $(call sched_bin,sched-replay-asan,$(CLANG),-O1 $(SCHED_ASAN),fuzz/sched/replay.c,sched-asan))
$(eval $(call sched_bin,sched-replay-tsan,$(CLANG),-O1 $(SCHED_TSAN),fuzz/sched/replay.c,sched-tsan))
$(eval $(call sched_bin,sched-lf,$(CLANG),-O1 $(SCHED_ASAN) -fsanitize=fuzzer,,sched-lf))
$(SB)/gen_seeds: fuzz/sched/gen_seeds.c fuzz/ops_emit.h | $(SB)
	$(CC) -std=c11 -O1 -Wall -Wextra -Ifuzz fuzz/sched/gen_seeds.c -o $@

SCHED_BINS := $(SB)/sched-replay $(SB)/sched-replay-asan $(SB)/sched-replay-tsan $(SB)/sched-lf
.PHONY: sched sched-seeds sched-fuzz
sched: $(SCHED_BINS)

sched-seeds: $(SB)/gen_seeds
	rm -f fuzz/sched/seeds/seed-*
	@mkdir -p fuzz/sched/seeds
	$(SB)/gen_seeds fuzz/sched/seeds

SCHED_SECONDS ?= 60
sched-fuzz: $(SB)/sched-lf
	@mkdir -p build/sched/corpus build/sched/crashes
	$(SB)/sched-lf -max_total_time=$(SCHED_SECONDS) -max_len=4096 -artifact_prefix=build/sched/crashes/ \
	  build/sched/corpus fuzz/sched/seeds

# ---- Relacy: the remote queue of src/slab.c under weak memory ----------------
# hak__remote_push and hak__drain are extracted verbatim from src/slab.c of the
# tree being built (in a mutant tree: the mutated code) and compiled as C++
# with src/atomic.h mapped onto Relacy's atomics (repro/relacy/).
RELACY_ITER ?= 200000
RB := build/relacy
$(RB):
	@mkdir -p $@
$(RB)/remote_queue.inc: src/slab.c | $(RB)
	awk '/^void hak__remote_push\(|^void hak__drain\(/{on=1} on{print} on&&/^}/{on=0; print ""}' $< > $@
	@test $$(grep -c '^void hak__' $@) -eq 2 || { echo "relacy: could not extract the remote queue from $<" >&2; rm -f $@; exit 1; }
$(RB)/remote_queue: repro/relacy/remote_queue.cpp repro/relacy/atomic_relacy.h src/atomic.h $(RB)/remote_queue.inc
	$(CLANGXX) -std=c++11 -O1 -g -w -Isrc -I$(RB) -Irepro/relacy -DHAK_ATOMIC_MODEL='"atomic_relacy.h"' $< -o $@

# make relacy: the real queue must pass; each relaxed-order mutant must fail.
RELACY_MUTANTS ?= 09-drain-no-acquire 10-push-no-release
.PHONY: relacy
relacy: $(RB)/remote_queue
	@./repro/relacy.sh $(RELACY_ITER) $(RELACY_MUTANTS)

# ---- reproducers: repro/MANIFEST -----------------------------------------------
.PHONY: repro repro-determinism bugs check-repro
repro: sched build/fuzz/ops-replay-asan build/fuzz/mt-replay-asan build/fuzz/mt-replay-tsan
	@./repro/replay.sh

REPRO_DET_RUNS ?= 100
repro-determinism: $(SB)/sched-replay
	@./repro/determinism.sh $(REPRO_DET_RUNS)

# make bugs: the instrument-power matrix (not part of make check: hours
# from nothing, minutes from the cache).  BUGS="NAME ..." some mutants,
# INSTRUMENTS="ops sched ..." some instruments, MATRIX_JOBS=N cells at once,
# BUGS_BUDGET seconds per cell (60), BUGS_SEEDS ("1 2 3"), BUGS_DEADLINE=HH:MM.
bugs:
	@BUGS="$(BUGS)" INSTRUMENTS="$(INSTRUMENTS)" MATRIX_JOBS="$(or $(MATRIX_JOBS),1)" ./repro/bugs.sh

check-repro:
	@./repro/check.sh

CHECK_SUITES += check-repro
