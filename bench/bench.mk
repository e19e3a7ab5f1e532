# bench/ — workloads run under each allocator (see bench/run.sh).
#   make bench [QUICK=1] [REPS=N] [ALLOCS="glibc hakmem"] [BENCH_CASES=regex]
#                         -> bench/results/<date>-<commit>.md (+ .svg, .tsv)
#     ALLOCS names: glibc hakmem hakmem-noharden mimalloc jemalloc tcmalloc, or a
#     variant NAME@VAR=VAL (e.g. hakmem@HAKMEM_HUGEPAGES=0)
#   make bench-syscalls   mmap/munmap/madvise/mremap/brk per 1,000 ops (strace -c)
#   make bench-smoke      each workload once under hakmem: PASS/FAIL lines (< 60 s)
# Workloads are plain C programs calling malloc/free; the allocator is chosen
# by LD_PRELOAD at run time, so one binary of each serves every allocator.

BENCH_PROGS  := larson random_mixed mid_large_mt producer_consumer thread_churn large large_mixed realloc_grow fastpath
BENCH_BINS   := $(addprefix build/bench/,$(BENCH_PROGS))
BENCH_CFLAGS := -O2 -g -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Wshadow

build/bench/%: bench/%.c bench/bench_common.h | build/bench
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lm
build/bench:
	@mkdir -p $@

.PHONY: bench bench-progs bench-smoke bench-syscalls check-bench bench-print-flags bench-print-bench-flags
bench-progs: $(BENCH_BINS)

# the full run also measures build/release-noharden (cost of the always-on checks)
BENCH_LIBS = build/release/libhakmem.so $(if $(QUICK),,build/release-noharden/libhakmem.so)

bench: $(BENCH_LIBS) bench-progs
	@NO_BUILD=1 QUICK=$(QUICK) REPS=$(REPS) ALLOCS="$(ALLOCS)" BENCH_CASES="$(BENCH_CASES)" bench/run.sh

# memory syscalls per 1,000 operations, hakmem next to the peers (issue 19):
# bench/results/<date>-syscalls.md (bench/syscalls.sh; ALLOCS, BENCH_CASES=regex)
bench-syscalls: release bench-progs
	@ALLOCS="$(ALLOCS)" BENCH_CASES="$(BENCH_CASES)" bench/syscalls.sh

bench-smoke: build/release/libhakmem.so bench-progs
	@NO_BUILD=1 bench/run.sh --smoke

check-bench: bench-smoke

# the exact flags the release library is built with, recorded in each report
bench-print-flags:
	@echo '$(CC)|$(COMMON_CFLAGS) $(RELEASE_CFLAGS)'
bench-print-bench-flags:
	@echo '$(CC) $(BENCH_CFLAGS)'

CHECK_SUITES += check-bench
