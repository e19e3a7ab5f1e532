/* Large blocks (> 64 KiB): own mappings, BigCache recycling, trimming,
 * realloc of large blocks, and OS failure injection. */
#define T_SUITE "large"
#include "t.h"

#include <malloc.h>

static hak_stats st(void) { hak_stats s; hak_stats_get(&s); return s; }

static void t_large_basic(void) {
  static const size_t sizes[] = {65537, 65536 + 4096, 100000, 1 << 20, (1 << 20) + 1,
                                 (2 << 20) - 1, 2 << 20, (2 << 20) + 1, 7777777, 33 << 20};
  hak_stats s0 = st();
  void *p[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    p[i] = malloc(sizes[i]);
    REQUIRE(p[i] != NULL);
    CHECK(t_aligned(p[i], 16));
    CHECK(malloc_usable_size(p[i]) >= sizes[i]);
    hak_block_info bi;
    CHECK(hak_classify(p[i], &bi) == 1 && bi.tier == HAK_TIER_LARGE && bi.block == p[i]);
    CHECK(hak_classify((char *)p[i] + sizes[i] - 1, &bi) == 1 && bi.block == p[i] && bi.interior == 1);
    CHECK(hak_block_state(p[i]) == HAK_BLOCK_LIVE);
    t_fill(p[i], sizes[i], (unsigned)i);
  }
  hak_stats s1 = st();
  CHECK(s1.large_live == s0.large_live + sizeof sizes / sizeof sizes[0]);
  CHECK(s1.large_allocs >= s0.large_allocs + sizeof sizes / sizeof sizes[0]);
  CHECK(s1.mapped_bytes >= s0.mapped_bytes);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    CHECK(t_verify(p[i], sizes[i], (unsigned)i));
    free(p[i]);
  }
  hak_trim();             /* (ASan builds: empties the quarantine, which counts as held) */
  hak_stats s2 = st();
  CHECKF(s2.large_live == s0.large_live, "large_live %llu -> %llu", (unsigned long long)s0.large_live,
         (unsigned long long)s2.large_live);
}

static void t_bigcache_reuse(void) {
  hak_trim();
  hak_stats s0 = st();
  for (int i = 0; i < 50; i++) {
    void *p = malloc(3 << 20);
    REQUIRE(p != NULL);
    memset(p, 0xab, 4096);
    free(p);
  }
  hak_stats s1 = st();
  t_say("  bigcache: hits %llu misses %llu os_map %llu\n",
        (unsigned long long)(s1.bigcache_hits - s0.bigcache_hits),
        (unsigned long long)(s1.bigcache_misses - s0.bigcache_misses),
        (unsigned long long)(s1.os_map - s0.os_map));
  CHECK(s1.bigcache_hits - s0.bigcache_hits >= 45);
  CHECK(s1.os_map - s0.os_map <= 5);
  /* a recycled block served by calloc is zero */
  void *d = malloc(3 << 20);
  memset(d, 0xcd, 3 << 20);
  free(d);
  unsigned char *z = calloc(1, 3 << 20);
  REQUIRE(z != NULL);
  CHECK(t_all_zero(z, 3 << 20));
  free(z);
  CHECK(hak_block_state(z) == HAK_BLOCK_BIGCACHE || hak_block_state(z) == -1);
}

static void t_trim_returns_memory(void) {
  enum { N = 60 };
  void *p[N];
  uint64_t seed = 7;
  hak_trim();
  hak_stats s0 = st();
  for (int i = 0; i < N; i++) {
    size_t n = 65537 + t_rand(&seed) % (8 << 20);
    p[i] = malloc(n);
    REQUIRE(p[i] != NULL);
    memset(p[i], 1, 100);
  }
  hak_stats s1 = st();
  CHECK(s1.large_live == s0.large_live + N);
  for (int i = 0; i < N; i++) free(p[i]);
  hak_trim();
  hak_stats s2 = st();
  t_say("  mapped: before %llu KiB, with %d large %llu KiB, after free+trim %llu KiB\n",
        (unsigned long long)s0.mapped_bytes >> 10, N, (unsigned long long)s1.mapped_bytes >> 10,
        (unsigned long long)s2.mapped_bytes >> 10);
  CHECK(s2.large_live == s0.large_live);
  CHECK(s2.bigcache_bytes == 0);
  CHECK(s2.mapped_bytes <= s0.mapped_bytes);
}

static void t_large_realloc(void) {
  size_t n = 70000;
  unsigned char *p = malloc(n);
  t_fill(p, n, 5);
  static const size_t steps[] = {80000, 200000, 1 << 20, 5 << 20, 3 << 20, 1 << 20, 70000, 65537, 60000, 100, 200000};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    unsigned char *q = realloc(p, steps[i]);
    REQUIRE(q != NULL);
    size_t keep = n < steps[i] ? n : steps[i];
    CHECKF(t_verify(q, keep, 5), "realloc %zu -> %zu", n, steps[i]);
    p = q;
    n = steps[i];
    t_fill(p, n, 5);
  }
  free(p);
}

static void t_large_aligned(void) {
  for (size_t a = 4096; a <= (8u << 20); a *= 2) {
    void *p = NULL;
    CHECK(posix_memalign(&p, a, 100000) == 0);
    CHECK(p && t_aligned(p, a));
    if (p) memset(p, 7, 100000);
    hak_block_info bi;
    CHECK(hak_classify(p, &bi) == 1 && bi.block == p);
    free(p);
  }
}

static void t_os_failure_large(void) {
  if (hak_os_fail_nth(1) != 0) { t_say("  (failure injection not compiled in)\n"); return; }
  hak_os_fail_nth(0);
  /* Nothing cached anywhere: otherwise hakmem gives that memory back and
   * retries the map (alloc.c, release_for_retry), absorbing the one
   * injected failure. */
  hak_heap_collect(hak_heap_current());
  hak_trim();
  hak_os_fail_nth(1);
  errno = 0;
  void *p = malloc(10 << 20);
  int e = errno;
  hak_os_fail_nth(0);
  CHECKF(p == NULL && e == ENOMEM, "malloc under injected map failure: %p errno %d", p, e);
  free(p);
  p = malloc(10 << 20);
  CHECK(p != NULL);
  free(p);
}

/* One refused map gives back about what it asked for, BigCache's least
 * recently used spans first, not every cache (alloc.c, release_for_retry;
 * large.c, hak__bigcache_release): the retry succeeds and what was not
 * needed is still cached.  Two 4 MiB spans kept apart by a live block
 * (adjacent spans merge); a 6 MiB request fits neither, so it maps; the
 * refusal gives back the older span and 2 MiB of the newer one. */
static void t_os_failure_keeps_caches(void) {
  if (hak_os_fail_nth(0) != 0) { t_say("  (failure injection not compiled in)\n"); return; }
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_trim();
  void *b[3];
  for (int i = 0; i < 3; i++) REQUIRE((b[i] = hak_heap_malloc(h, 4 << 20)) != NULL);
  hak_heap_free(h, b[0]);   /* the least recently used */
  hak_heap_free(h, b[2]);
  hak_stats s0 = st();
  CHECK(s0.bigcache_bytes == (size_t)8 << 20);
  hak_os_fail_nth(1);
  errno = 0;
  void *p = hak_heap_malloc(h, 6 << 20);                  /* fits no cached span: needs a map */
  hak_os_fail_nth(0);
  hak_stats s1 = st();
  CHECKF(p != NULL, "malloc after one refused map: NULL, errno %d", errno);
  CHECKF(s1.bigcache_bytes == (size_t)2 << 20, "BigCache %llu KiB after the retry, want 2048",
         (unsigned long long)(s1.bigcache_bytes >> 10));
  void *q = hak_heap_malloc(h, 2 << 20);
  CHECKF(q == b[2], "the kept front of the newer span %p, got %p", b[2], q);
  hak_heap_free(h, p);
  hak_heap_free(h, q);
  hak_heap_free(h, b[1]);
  hak_heap_destroy(h);
  hak_trim();
}

/* Fail the k-th OS call for k = 1..40 while a fresh heap allocates a bit of
 * everything: every NULL must carry ENOMEM, and state stays consistent. */
static void t_os_failure_sweep(void) {
  if (hak_os_fail_nth(0) != 0) return;
  int nulls = 0, bad_errno = 0;
  for (long k = 1; k <= 40; k++) {
    hak_trim();
    hak_heap *h = hak_heap_new();
    if (!h) { nulls++; continue; }
    hak_os_fail_nth(k);
    void *p[60];
    for (int i = 0; i < 60; i++) {
      size_t n = (i % 3 == 0) ? 16 * (size_t)(i + 1) : (i % 3 == 1) ? 2000 * (size_t)(i + 1) : 70000 * (size_t)(i + 1);
      errno = 0;
      p[i] = hak_heap_malloc(h, n);
      if (!p[i]) { nulls++; if (errno != ENOMEM) bad_errno++; }
      else memset(p[i], 1, n);
    }
    hak_os_fail_nth(0);
    char msg[256];
    CHECKF(hak_heap_check(h, msg, sizeof msg) == 0, "k=%ld: %s", k, msg);
    for (int i = 0; i < 60; i++) hak_heap_free(h, p[i]);
    hak_heap_destroy(h);
  }
  t_say("  %d allocations failed under injection\n", nulls);
  CHECK(nulls > 0);
  CHECK(bad_errno == 0);
}

/* large_live counts blocks the program holds: a block parked in BigCache
 * is mapped but not live, and live again when a malloc takes it back.
 * Through the heap API, which no sanitizer quarantine delays. */
static void t_large_live_counts(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_trim();
  hak_stats s0 = st();
  void *p = hak_heap_malloc(h, 1 << 20);
  REQUIRE(p != NULL);
  hak_stats s1 = st();
  CHECK(s1.large_live == s0.large_live + 1);
  hak_heap_free(h, p);
  hak_stats s2 = st();
  CHECKF(s2.large_live == s0.large_live && s2.bigcache_bytes >= (1u << 20), "large_live %llu, BigCache %llu bytes",
         (unsigned long long)s2.large_live, (unsigned long long)s2.bigcache_bytes);
  void *q = hak_heap_malloc(h, 1 << 20);
  REQUIRE(q != NULL);
  hak_stats s3 = st();
  CHECK(q == p && s3.large_live == s0.large_live + 1 && s3.bigcache_hits == s2.bigcache_hits + 1);
  hak_heap_free(h, q);
  hak_heap_destroy(h);
  hak_trim();
  CHECK(st().large_live == s0.large_live);
}

int main(void) {
  t_init(120);
  T_RUN(t_large_basic);
  T_RUN(t_bigcache_reuse);
  T_RUN(t_large_live_counts);
  T_RUN(t_trim_returns_memory);
  T_RUN(t_large_realloc);
  T_RUN(t_large_aligned);
  T_RUN(t_os_failure_large);
  T_RUN(t_os_failure_keeps_caches);
  T_RUN(t_os_failure_sweep);
  return t_done();
}
