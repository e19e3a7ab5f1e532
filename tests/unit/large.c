/* Large blocks (> 64 KiB): spans, BigCache (the span cache) recycling
 * across sizes, trimming, realloc in place, OS failure injection, and the
 * checker's large/BigCache checks (src/check.c, check_large). */
#define T_SUITE "large"
#include "t.h"
#include "internal.h"

#include <malloc.h>
#include <sys/resource.h>

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
  /* Everything the blocks mapped goes back; the address-space map may keep
   * one 64 KiB leaf more: leaves are never returned (src/segmap.c: lookups
   * read them without a lock), and 60 blocks of up to 8 MiB enter a new
   * leaf's 16 GiB of address space when ASLR put them near a boundary
   * (1 of 40 asan-clang runs: 472 -> 536 KiB after the trim). */
  CHECK(s2.mapped_bytes <= s0.mapped_bytes + (64 << 10));
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

static unsigned char pat(size_t i, unsigned seed) {   /* byte i of t_fill(p, n, seed) */
  return (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

static long minflt(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* Issue 19: random sizes 64 KiB - 8 MiB, 16 live, each touched at its
 * start, middle and end.  After a warm-up the working set is served from
 * spans already mapped and faulted in: no map, no miss, (almost) no page
 * fault.  The old exact-size BigCache (16 MiB) mapped on most requests. */
static void t_mixed_sizes_warm(void) {
  enum { LIVE = 16, WARM = 3000, RUN = 3000 };
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_trim();
  unsigned char *p[LIVE] = {0};
  uint64_t seed = 19;
  hak_stats s0 = st();
  long f0 = 0;
  for (int i = 0; i < WARM + RUN; i++) {
    if (i == WARM) { s0 = st(); f0 = minflt(); }
    unsigned k = (unsigned)(t_rand(&seed) % LIVE);
    size_t n = ((size_t)64 << 10) + t_rand(&seed) % ((size_t)8 << 20);
    hak_heap_free(h, p[k]);
    p[k] = hak_heap_malloc(h, n);
    REQUIRE(p[k] != NULL);
    p[k][0] = 1, p[k][n / 2] = 2, p[k][n - 1] = 3;
  }
  long faults = minflt() - f0;
  t_say("  cached %llu KiB, mapped %llu KiB\n", (unsigned long long)(st().bigcache_bytes >> 10),
        (unsigned long long)(st().mapped_bytes >> 10));
  hak_stats s1 = st();
  t_say("  after warm-up, %d ops: %llu maps, %llu misses, %llu hits, %llu decommits, %ld page faults\n", RUN,
        (unsigned long long)(s1.os_map - s0.os_map), (unsigned long long)(s1.bigcache_misses - s0.bigcache_misses),
        (unsigned long long)(s1.bigcache_hits - s0.bigcache_hits),
        (unsigned long long)(s1.os_decommit - s0.os_decommit), faults);
  /* a rare miss remains: no cached span is long enough (fragmentation) */
  CHECKF(s1.os_map - s0.os_map <= RUN / 500 && s1.bigcache_misses - s0.bigcache_misses <= RUN / 500,
         "%llu maps in %d operations", (unsigned long long)(s1.os_map - s0.os_map), RUN);
  CHECKF(faults < RUN / 20, "%ld page faults in %d operations", faults, RUN);
  for (int k = 0; k < LIVE; k++) hak_heap_free(h, p[k]);
  hak_heap_destroy(h);
  hak_trim();
}

/* Issue 19: realloc growth in 4 KiB steps from 2 MiB keeps the pointer
 * (the span is whole granules; past it the block grows into address space
 * after it or its pages move), preserves the prefix, and reports the
 * usable size; shrinking keeps the pointer too.  The old realloc mapped,
 * copied and unmapped at every step. */
static void t_realloc_grow_in_place(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_trim();
  size_t n = (size_t)2 << 20;
  unsigned char *p = hak_heap_malloc(h, n);
  REQUIRE(p != NULL);
  t_fill(p, n, 9);
  hak_stats s0 = st();
  int moves = 0;
  for (int i = 0; i < 256; i++) {
    unsigned char *q = hak_heap_realloc(h, p, n + 4096);
    REQUIRE(q != NULL);
    if (q != p) moves++;
    CHECKF(q[0] == pat(0, 9) && q[n / 2] == pat(n / 2, 9) && q[n - 1] == pat(n - 1, 9), "step %d: prefix lost", i);
    p = q;
    for (size_t j = n; j < n + 4096; j++) p[j] = pat(j, 9);   /* t_fill's pattern, continued */
    n += 4096;
    CHECKF(malloc_usable_size(p) == n, "step %d: usable %zu, want %zu", i, malloc_usable_size(p), n);
  }
  hak_stats s1 = st();
  t_say("  256 steps of 4 KiB from 2 MiB: %d moves, %llu maps\n", moves, (unsigned long long)(s1.os_map - s0.os_map));
  CHECK(moves <= 4);
  CHECK(s1.os_map - s0.os_map <= 8);
  CHECK(t_verify(p, n, 9));
  unsigned char *q = hak_heap_realloc(h, p, (size_t)1 << 20);   /* shrink: same block, prefix kept */
  CHECK(q == p && malloc_usable_size(q) == (size_t)1 << 20 && t_verify(q, (size_t)1 << 20, 9));
  /* growing a lot at once: prefix preserved wherever it lands */
  unsigned char *r = hak_heap_realloc(h, q, (size_t)40 << 20);
  REQUIRE(r != NULL);
  CHECK(t_verify(r, (size_t)1 << 20, 9) && malloc_usable_size(r) == (size_t)40 << 20);
  hak_heap_free(h, r);
  hak_heap_destroy(h);
  hak_trim();
}

/* Every OS call of a large realloc that grows past its span may fail (the
 * in-place mremap, the reservation, the moving mremap): each failure
 * leaves the old block intact (old range still registered, contents
 * there), realloc then copies or returns NULL + ENOMEM, nothing leaks and
 * the checker is happy. */
static void t_realloc_remap_failure(void) {
  if (hak_os_fail_nth(0) != 0) { t_say("  (failure injection not compiled in)\n"); return; }
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  int moved = 0, nulls = 0;
  for (long k = 1; k <= 6; k++) {
    hak_trim();
    hak_stats s0 = st();
    unsigned char *p = hak_heap_malloc(h, (size_t)2 << 20);
    REQUIRE(p != NULL);
    t_fill(p, (size_t)2 << 20, 3);
    hak_os_fail_nth(k);
    errno = 0;
    unsigned char *q = hak_heap_realloc(h, p, (size_t)8 << 20);
    int e = errno;
    hak_os_fail_nth(0);
    char msg[256];
    CHECKF(hak_check_all(msg, sizeof msg) == 0, "k=%ld: %s", k, msg);
    if (q == NULL) {
      nulls++;
      CHECKF(e == ENOMEM && hak_block_state(p) == HAK_BLOCK_LIVE && t_verify(p, (size_t)2 << 20, 3),
             "k=%ld: NULL but the old block is gone or changed (errno %d)", k, e);
      q = p;
    } else {
      moved += q != p;
      CHECKF(t_verify(q, (size_t)2 << 20, 3) && malloc_usable_size(q) == (size_t)8 << 20, "k=%ld: prefix lost", k);
      CHECKF(q == p || hak_classify(p, &(hak_block_info){0}) == 0 || hak_block_state(p) != HAK_BLOCK_LIVE,
             "k=%ld: old block still live after a move", k);
    }
    hak_heap_free(h, q);
    hak_trim();
    hak_stats s1 = st();
    CHECKF(s1.mapped_bytes <= s0.mapped_bytes, "k=%ld: %llu KiB more mapped", k,
           (unsigned long long)((s1.mapped_bytes - s0.mapped_bytes) >> 10));
  }
  t_say("  6 injected failures: %d reallocs moved, %d NULL\n", moved, nulls);
  hak_heap_destroy(h);
}

/* ---- the checker's large / BigCache checks --------------------------------
 * Each case corrupts one field of a descriptor in a forked child and
 * expects the exact message of the one check that sees it. */
typedef struct {
  const char *name;
  int cached;                 /* corrupt the cached span, else the live block */
  void (*corrupt)(hak_large *l);
  char want[160];
} lcase;

static void c_dirty(hak_large *l) { l->dirty = l->span + HAK_PAGE; }
static void c_size(hak_large *l) { l->r.size = l->span + HAK_PAGE; }
static void c_cached_size(hak_large *l) { l->r.size -= HAK_PAGE; }
static void c_state(hak_large *l) { l->state = HAK_LARGE_CACHED; }
static void c_lru(hak_large *l) { l->last_use += 1000000; }
static void c_granule(hak_large *l) {
  hak_region **leaf = hak__segmap[((l->r.base + HAK_GRANULE) >> (HAK_GRANULE_SHIFT + HAK_SEGMAP_LEAF_BITS)) &
                                  ((1u << HAK_SEGMAP_TOP_BITS) - 1)];
  leaf[((l->r.base + HAK_GRANULE) >> HAK_GRANULE_SHIFT) & ((1u << HAK_SEGMAP_LEAF_BITS) - 1)] = NULL;
}
static void c_span(hak_large *l) { l->span += HAK_PAGE; }
static void c_dirty_sum(hak_large *l) { l->dirty -= HAK_PAGE; }

static hak_large *lc_live, *lc_cached;
static void lcase_child(void *arg) {
  const lcase *c = arg;
  c->corrupt(c->cached ? lc_cached : lc_live);
  char msg[512] = "";
  int rc = hak_check_all(msg, sizeof msg);
  t_say("%s\n", msg);
  _exit(rc != 0 ? 0 : 1);
}

static void t_checker_large(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_trim();
  /* a live 4 MiB block, then a cached 4 MiB span kept apart by another */
  void *live = hak_heap_malloc(h, 4 << 20), *sep = hak_heap_malloc(h, 4 << 20), *gone = hak_heap_malloc(h, 4 << 20);
  REQUIRE(live && sep && gone);
  memset(gone, 1, 4096);
  hak_heap_free(h, gone);
  lc_live = (hak_large *)hak__region_of((uintptr_t)live);
  lc_cached = (hak_large *)hak__region_of((uintptr_t)gone);
  REQUIRE(lc_live && lc_cached && lc_cached->state == HAK_LARGE_CACHED && lc_cached->dirty == (size_t)4 << 20);
  char msg[512];
  REQUIRE(hak_check_all(msg, sizeof msg) == 0);
  size_t sp = (size_t)4 << 20;
  static lcase cases[] = {
    {"dirty", 1, c_dirty, ""}, {"size", 0, c_size, ""}, {"cached_size", 1, c_cached_size, ""},
    {"state", 0, c_state, ""}, {"lru", 1, c_lru, ""}, {"granule", 0, c_granule, ""},
    {"span", 1, c_span, ""}, {"dirty_sum", 1, c_dirty_sum, ""},
  };
  snprintf(cases[0].want, sizeof cases[0].want, "large block %p: dirty prefix %zu outside its span of %zu", gone, sp + HAK_PAGE, sp);
  snprintf(cases[1].want, sizeof cases[1].want, "large block %p: size %zu not a page multiple within its span of %zu", live, sp + HAK_PAGE, sp);
  snprintf(cases[2].want, sizeof cases[2].want, "BigCache: span %p has state 2, size %zu of span %zu", gone, sp - HAK_PAGE, sp);
  snprintf(cases[3].want, sizeof cases[3].want, "large block %p: on the live list but not live", live);
  snprintf(cases[4].want, sizeof cases[4].want, "BigCache: LRU entry %p out of order (used at", gone);
  snprintf(cases[5].want, sizeof cases[5].want, "large block %p: granule %p of its span not mapped to it", live, (char *)live + HAK_GRANULE);
  snprintf(cases[6].want, sizeof cases[6].want, "large block %p: base or span %zu not granule-aligned", gone, sp + HAK_PAGE);
  snprintf(cases[7].want, sizeof cases[7].want, "BigCache: 1 spans on the LRU, 1 cached; bytes cached %zu (summed %zu), dirty %zu (summed %zu)",
           sp, sp, sp, sp - HAK_PAGE);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[1024], err[1024];
    int status = t_child(lcase_child, &cases[i], 10, out, sizeof out, err, sizeof err);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, cases[i].want) != NULL,
           "case %s: want \"%s\", got \"%s\" %s", cases[i].name, cases[i].want, out, err);
  }
  hak_heap_free(h, live);
  hak_heap_free(h, sep);
  hak_heap_destroy(h);
  hak_trim();
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
  T_RUN(t_mixed_sizes_warm);
  T_RUN(t_realloc_grow_in_place);
  T_RUN(t_realloc_remap_failure);
  T_RUN(t_checker_large);
  return t_done();
}
