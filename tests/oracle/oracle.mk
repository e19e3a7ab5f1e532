# tests/oracle: the checker (src/check.c) tested by mutation.
#   make check-oracle        every check removed in turn; writes tests/oracle/TABLE.md
#   make check-oracle-fast   a fixed subset (part of make check, < 60 s)
# See tests/oracle/run.sh for how a check site is found (its oracle: marker).
ORACLE_FAST := mark_not_block_start mark_duplicate slab_geometry seg_list_loops seg_registered free_link_outside \
               count_carved partial_entry free_key bigcache_counts map_seg_unlisted unmarked_change
ORACLE_ENV := CC="$(CC)" COMMON_CFLAGS="$(COMMON_CFLAGS)" CHECK_CFLAGS="$(CHECK_CFLAGS)" TEST_CFLAGS="$(TEST_CFLAGS)"

.PHONY: check-oracle check-oracle-fast
check-oracle: build/check/libhakmem.a
	@$(ORACLE_ENV) ./tests/oracle/run.sh --table tests/oracle/TABLE.md
check-oracle-fast: build/check/libhakmem.a
	@$(ORACLE_ENV) ./tests/oracle/run.sh $(ORACLE_FAST)

CHECK_SUITES += check-oracle-fast
