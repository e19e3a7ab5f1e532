# fuzz/fuzz.mk: fuzz targets, replay binaries, mutants, campaign, coverage.
# Included by the top-level Makefile (uses core_variant, CLANG, CC).
#
#   make fuzz            libFuzzer targets + replay binaries (build/fuzz/)
#   make fuzz-afl        AFL++ persistent builds (ASan, plain, CMPLOG)
#   make fuzz-seeds      regenerate corpus/ops and corpus/ops-oom from fuzz/gen_seeds.c
#   make check-fuzz      the make-check suite (replays, 60 s fuzz runs, mutants)
#   make check-determinism  every corpus/ops and corpus/ops-oom input twice in one process, same trace
#   make check-fuzz-model   the exact model's checks, each red on a mutant (fuzz/mutants/)
#   make campaign        MINUTES=N | HOURS=N, ENGINE=afl|libfuzzer (default afl)
#   make coverage        llvm-cov HTML report of src/ from the corpus: build/coverage/
#
# Every fuzz build compiles the core with -DHAK_NO_OVERRIDE (no malloc/free
# symbols, so sanitizer interceptors keep libc's allocator for the harness)
# and -DHAK_CHECK_LEVEL=2, and drives it only through hak_* functions.

FUZZ_DEFS    := -DHAK_NO_OVERRIDE -DHAK_CHECK_LEVEL=2 -DHAK_FUZZ
FUZZ_BASE    := -O1 -g -fno-omit-frame-pointer $(FUZZ_DEFS)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TSAN    := -fsanitize=thread
FUZZ_COV     := -fprofile-instr-generate -fcoverage-mapping
FUZZ_NOCOV   := $(CURDIR)/fuzz/uninstrumented.txt
FUZZ_LF      := -fsanitize-coverage-ignorelist=$(FUZZ_NOCOV)
AFL_CC       := AFL_QUIET=1 AFL_LLVM_DENYLIST=$(FUZZ_NOCOV) afl-clang-fast
AFL_CMPLOG_CC := AFL_QUIET=1 AFL_LLVM_DENYLIST=$(FUZZ_NOCOV) AFL_LLVM_CMPLOG=1 afl-clang-fast
FUZZ_HCFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Ifuzz -g -fno-omit-frame-pointer -Wall -Wextra -Wshadow
FUZZ_HDRS    := fuzz/fuzz_common.h fuzz/ops_emit.h fuzz/slurp.h include/hakmem.h include/hakmem_debug.h

# core variants (build/<name>/libhakmem.a)
$(eval $(call core_variant,fuzz-lf,$(CLANG),$(FUZZ_BASE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(FUZZ_LF)))
$(eval $(call core_variant,fuzz-asan,$(CLANG),$(FUZZ_BASE) $(FUZZ_SAN)))
$(eval $(call core_variant,fuzz-tsan,$(CLANG),$(FUZZ_BASE) $(FUZZ_TSAN)))
$(eval $(call core_variant,fuzz-plain,$(CC),$(FUZZ_BASE)))
$(eval $(call core_variant,fuzz-cov,$(CLANG),$(FUZZ_BASE) $(FUZZ_COV)))
$(eval $(call core_variant,fuzz-afl-asan,$(AFL_CC),$(FUZZ_BASE) $(FUZZ_SAN)))
$(eval $(call core_variant,fuzz-afl,$(AFL_CC),-O2 -g $(FUZZ_DEFS)))
$(eval $(call core_variant,fuzz-afl-cmplog,$(AFL_CMPLOG_CC),-O2 -g $(FUZZ_DEFS)))

FB := build/fuzz
# $(call fuzz_bin,OUT,COMPILER,FLAGS,SOURCES,CORE-VARIANT)
define fuzz_bin
$(FB)/$(1): $(4) $(FUZZ_HDRS) build/$(5)/libhakmem.a | $(FB)
	$(2) $(FUZZ_HCFLAGS) $(3) $(4) build/$(5)/libhakmem.a -lpthread -o $$@
endef
$(FB):
	@mkdir -p $@

$(eval $(call fuzz_bin,ops-lf,$(CLANG),-O1 $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_LF),fuzz/ops.c,fuzz-lf))
$(eval $(call fuzz_bin,mt-lf,$(CLANG),-O1 $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_LF),fuzz/mt.c,fuzz-lf))
$(eval $(call fuzz_bin,ops-replay-asan,$(CLANG),-O1 $(FUZZ_SAN),fuzz/ops.c fuzz/replay.c,fuzz-asan))
$(eval $(call fuzz_bin,mt-replay-asan,$(CLANG),-O1 $(FUZZ_SAN),fuzz/mt.c fuzz/replay.c,fuzz-asan))
$(eval $(call fuzz_bin,mt-replay-tsan,$(CLANG),-O1 $(FUZZ_TSAN),fuzz/mt.c fuzz/replay.c,fuzz-tsan))
$(eval $(call fuzz_bin,ops-replay,$(CC),-O1,fuzz/ops.c fuzz/replay.c,fuzz-plain))
$(eval $(call fuzz_bin,mt-replay,$(CC),-O1,fuzz/mt.c fuzz/replay.c,fuzz-plain))
$(eval $(call fuzz_bin,ops-cov,$(CLANG),-O1 $(FUZZ_COV),fuzz/ops.c fuzz/replay.c,fuzz-cov))
$(eval $(call fuzz_bin,mt-cov,$(CLANG),-O1 $(FUZZ_COV),fuzz/mt.c fuzz/replay.c,fuzz-cov))
$(eval $(call fuzz_bin,ops-afl-asan,$(AFL_CC),-O1 $(FUZZ_SAN),fuzz/ops.c fuzz/afl_driver.c,fuzz-afl-asan))
$(eval $(call fuzz_bin,ops-afl,$(AFL_CC),-O2,fuzz/ops.c fuzz/afl_driver.c,fuzz-afl))
$(eval $(call fuzz_bin,ops-afl-cmplog,$(AFL_CMPLOG_CC),-O2,fuzz/ops.c fuzz/afl_driver.c,fuzz-afl-cmplog))
$(eval $(call fuzz_bin,mt-afl-asan,$(AFL_CC),-O1 $(FUZZ_SAN),fuzz/mt.c fuzz/afl_driver.c,fuzz-afl-asan))

$(FB)/gen_seeds: fuzz/gen_seeds.c fuzz/ops_emit.h | $(FB)
	$(CC) -std=c11 -O1 -Wall -Wextra -Ifuzz fuzz/gen_seeds.c -o $@
$(FB)/gen_mt_seeds: fuzz/gen_mt_seeds.c fuzz/ops_emit.h | $(FB)
	$(CC) -std=c11 -O1 -Wall -Wextra -Ifuzz fuzz/gen_mt_seeds.c -o $@

FUZZ_LF_BINS     := $(FB)/ops-lf $(FB)/mt-lf
FUZZ_REPLAY_BINS := $(FB)/ops-replay-asan $(FB)/mt-replay-asan $(FB)/mt-replay-tsan $(FB)/ops-replay $(FB)/mt-replay
FUZZ_AFL_BINS    := $(FB)/ops-afl-asan $(FB)/ops-afl $(FB)/ops-afl-cmplog $(FB)/mt-afl-asan

.PHONY: fuzz fuzz-afl fuzz-seeds check-fuzz check-determinism check-fuzz-model campaign coverage fuzz-speed
fuzz: $(FUZZ_LF_BINS) $(FUZZ_REPLAY_BINS)
fuzz-afl: $(FUZZ_AFL_BINS)

fuzz-seeds: $(FB)/gen_seeds $(FB)/gen_mt_seeds
	rm -f corpus/ops/seed-* corpus/ops-oom/seed-* corpus/mt/seed-*
	@mkdir -p corpus/ops corpus/ops-oom corpus/mt
	$(FB)/gen_seeds corpus/ops corpus/ops-oom
	$(FB)/gen_mt_seeds corpus/mt

# FUZZ_SECONDS and MUTANT_SECONDS (make check-fuzz FUZZ_SECONDS=N) reach
# check.sh through the environment; their defaults live there only.
check-fuzz:
	@./fuzz/check.sh

check-determinism:
	@./fuzz/determinism.sh

# each stricter model check caught by its tag on a core mutant only it sees
check-fuzz-model:
	@./fuzz/model-mutants.sh

# exec/s of each target on one core (no corpus growth kept)
fuzz-speed: $(FUZZ_LF_BINS)
	@./fuzz/speed.sh

MINUTES ?=
HOURS   ?=
ENGINE  ?= afl
campaign: deps
	@MINUTES="$(MINUTES)" HOURS="$(HOURS)" ENGINE="$(ENGINE)" JOBS="$(JOBS)" ./fuzz/campaign.sh

coverage: $(FB)/ops-cov $(FB)/mt-cov
	@./fuzz/coverage.sh

CHECK_SUITES += check-fuzz check-determinism check-fuzz-model
