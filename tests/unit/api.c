/* Every function of hakmem.h, through the libc names (libhakmem.a exports
 * them, so malloc here is hakmem's) and through the hak_ names. */
#define T_SUITE "api"
#include "t.h"

#include <malloc.h>
#include <stdint.h>

/* Sizes that must fail: pass through volatile so the compiler cannot fold. */
static volatile size_t huge_sizes[] = {
  SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1,
  (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX - 4095,
};
#define NHUGE (sizeof huge_sizes / sizeof huge_sizes[0])

static void t_malloc_is_hakmem(void) {
  void *p = malloc(24);
  hak_block_info bi;
  REQUIRE(p != NULL);
  CHECK(hak_classify(p, &bi) == 1);
  free(p);
  p = hak_malloc(24);
  CHECK(hak_classify(p, &bi) == 1);
  hak_free(p);
}

static void t_malloc_zero(void) {
  enum { N = 64 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = (i & 1) ? malloc(0) : hak_malloc(0);
    CHECK(p[i] != NULL);
    CHECK(t_aligned(p[i], 16));
    for (int j = 0; j < i; j++) CHECK(p[i] != p[j]);
  }
  for (int i = 0; i < N; i++) free(p[i]);
}

static void t_malloc_huge_enomem(void) {
  for (size_t i = 0; i < NHUGE; i++) {
    errno = 0;
    void *p = malloc(huge_sizes[i]);
    CHECKF(p == NULL, "malloc(%zu) = %p", huge_sizes[i], p);
    CHECKF(errno == ENOMEM, "malloc(%zu): errno %d", huge_sizes[i], errno);
    errno = 0;
    p = hak_malloc(huge_sizes[i]);
    CHECK(p == NULL && errno == ENOMEM);
  }
  /* allocator still works afterwards */
  void *q = malloc(100);
  CHECK(q != NULL);
  free(q);
}

static void t_free_null(void) {
  free(NULL);
  hak_free(NULL);
  hak_free_sized(NULL, 0);
  hak_free_aligned_sized(NULL, 64, 0);
  CHECK(1);
}

/* Every pointer is 16-byte aligned, usable >= request, fully writable. */
static void t_alignment_all_sizes(void) {
  int bad_align = 0, bad_usable = 0, null = 0;
  for (size_t n = 0; n <= 70000; n += (n < 4200 ? 1 : 13)) {
    unsigned char *p = malloc(n);
    if (!p) { null++; continue; }
    if (!t_aligned(p, 16)) bad_align++;
    size_t u = malloc_usable_size(p);
    if (u < n) bad_usable++;
    if (u) { p[0] = 1; p[u - 1] = 2; }
    free(p);
  }
  static const size_t big[] = {70001, 100000, 262144, 1 << 20, (1 << 20) + 1, 5000000, 33554433};
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
    unsigned char *p = malloc(big[i]);
    if (!p) { null++; continue; }
    if (!t_aligned(p, 16)) bad_align++;
    if (malloc_usable_size(p) < big[i]) bad_usable++;
    memset(p, 0x5a, big[i]);
    free(p);
  }
  CHECK(null == 0);
  CHECK(bad_align == 0);
  CHECK(bad_usable == 0);
}

/* Two neighbours filled to their usable size do not overlap. */
static void t_usable_size_writable(void) {
  int bad = 0, n = 0;
  for (size_t sz = 0; sz <= 140000; sz = sz < 2100 ? sz + 3 : sz * 5 / 4) {
    enum { K = 8 };
    unsigned char *p[K];
    size_t u[K];
    for (int i = 0; i < K; i++) {
      p[i] = malloc(sz);
      if (!p[i]) { bad++; u[i] = 0; continue; }
      u[i] = malloc_usable_size(p[i]);
      if (u[i] < sz) bad++;
      t_fill(p[i], u[i], (unsigned)(sz + i));
    }
    for (int i = 0; i < K; i++) {
      if (p[i] && !t_verify(p[i], u[i], (unsigned)(sz + i))) bad++;
      free(p[i]);
    }
    n++;
  }
  CHECKF(bad == 0, "%d bad of %d sizes", bad, n);
  CHECK(malloc_usable_size(NULL) == 0);
  CHECK(hak_malloc_usable_size(NULL) == 0);
  void *p = hak_malloc(100);
  CHECK(hak_malloc_usable_size(p) >= 100);
  CHECK(hak_malloc_usable_size(p) == malloc_usable_size(p));
  hak_free(p);
}

static void t_tiers(void) {
  static const struct { size_t n; int tier; } cases[] = {
    {0, HAK_TIER_TINY}, {1, HAK_TIER_TINY}, {16, HAK_TIER_TINY}, {64, HAK_TIER_TINY},
    {1023, HAK_TIER_TINY}, {1024, HAK_TIER_TINY}, {1025, HAK_TIER_MID},
    {8192, HAK_TIER_MID}, {65535, HAK_TIER_MID}, {65536, HAK_TIER_MID},
    {65537, HAK_TIER_LARGE}, {1 << 20, HAK_TIER_LARGE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    void *p = malloc(cases[i].n);
    hak_block_info bi;
    memset(&bi, 0, sizeof bi);
    CHECK(p != NULL);
    CHECK(hak_classify(p, &bi) == 1);
    CHECKF(bi.tier == cases[i].tier, "malloc(%zu): tier %d, want %d", cases[i].n, bi.tier, cases[i].tier);
    CHECK(bi.block == p && bi.interior == 0);
    CHECK(bi.usable == malloc_usable_size(p));
    if (cases[i].tier == HAK_TIER_LARGE) CHECK(bi.cls == -1 && bi.owner == NULL);
    else {
      CHECK(bi.cls == hak_size_class(cases[i].n));
      CHECK(bi.owner == hak_heap_current());
    }
    free(p);
  }
}

static void t_calloc_zero(void) {
  static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1000, 1024, 1025, 4000, 16384,
                                 65536, 65537, 200000, 1 << 20, 3 << 20};
  int bad = 0;
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      size_t n = sizes[i];
      /* dirty some blocks of this size, free them, calloc: reuse must be zeroed */
      enum { K = 16 };
      unsigned char *d[K];
      for (int k = 0; k < K; k++) {
        d[k] = malloc(n);
        if (d[k]) memset(d[k], 0xA5, malloc_usable_size(d[k]));
      }
      for (int k = 0; k < K; k++) free(d[k]);
      for (int k = 0; k < K; k++) {
        d[k] = (k & 1) ? calloc(1, n) : hak_calloc(n ? 1 : 0, n ? n : 1);
        if (!d[k]) { bad++; continue; }
        if (!t_all_zero(d[k], n)) bad++;
        memset(d[k], 0x5A, malloc_usable_size(d[k]));
      }
      for (int k = 0; k < K; k++) free(d[k]);
    }
  }
  CHECK(bad == 0);
  /* nmemb * size form */
  int *a = calloc(1000, sizeof(int));
  CHECK(a && t_all_zero(a, 1000 * sizeof(int)));
  free(a);
  void *z = calloc(0, 0);
  CHECK(z != NULL);
  free(z);
}

static void t_calloc_overflow(void) {
  static volatile size_t pairs[][2] = {
    {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 33, (size_t)1 << 33},
    {65537, (size_t)1 << 48}, {SIZE_MAX, SIZE_MAX}, {1, SIZE_MAX}, {(size_t)PTRDIFF_MAX + 1, 1},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    errno = 0;
    void *p = calloc(pairs[i][0], pairs[i][1]);
    CHECKF(p == NULL && errno == ENOMEM, "calloc(%zu, %zu) = %p errno %d", pairs[i][0], pairs[i][1], p, errno);
    errno = 0;
    p = hak_calloc(pairs[i][0], pairs[i][1]);
    CHECK(p == NULL && errno == ENOMEM);
  }
}

static void t_reallocarray(void) {
  unsigned char *p = reallocarray(NULL, 10, 10);
  REQUIRE(p != NULL);
  t_fill(p, 100, 7);
  static volatile size_t big = SIZE_MAX / 2;
  errno = 0;
  void *q = reallocarray(p, big, 3);
  CHECK(q == NULL && errno == ENOMEM);
  CHECK(t_verify(p, 100, 7));
  errno = 0;
  q = hak_reallocarray(p, 3, big);
  CHECK(q == NULL && errno == ENOMEM);
  CHECK(t_verify(p, 100, 7));
  q = reallocarray(p, 1000, 10);
  REQUIRE(q != NULL);
  CHECK(t_verify(q, 100, 7));
  p = hak_reallocarray(q, 5, 5);
  REQUIRE(p != NULL);
  CHECK(t_verify(p, 25, 7));
  free(p);
}

static void t_realloc_null_and_zero(void) {
  void *p = realloc(NULL, 40);
  CHECK(p != NULL && malloc_usable_size(p) >= 40);
  free(p);
  p = hak_realloc(NULL, 0);
  CHECK(p != NULL);
  free(p);
  /* realloc(p, 0) frees p and returns NULL (glibc) for every tier */
  static const size_t sizes[] = {1, 64, 1024, 1025, 65536, 65537, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    p = malloc(sizes[i]);
    REQUIRE(p != NULL);
    void *q = realloc(p, 0);
    CHECKF(q == NULL, "realloc(malloc(%zu), 0) = %p", sizes[i], q);
    if (q) free(q);
    int st = hak_block_state(p);
    CHECKF(st != HAK_BLOCK_LIVE, "block of %zu still live after realloc(p, 0)", sizes[i]);
    p = hak_malloc(sizes[i]);
    CHECK(hak_realloc(p, 0) == NULL);
  }
}

/* grow/shrink across every tier boundary keeps the prefix */
static void t_realloc_boundaries(void) {
  static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 512, 1023, 1024, 1025, 2048, 4096,
                                 8193, 32768, 65535, 65536, 65537, 100000, 262144,
                                 1 << 20, (4 << 20) + 3};
  const size_t ns = sizeof sizes / sizeof sizes[0];
  int bad = 0;
  for (size_t i = 0; i < ns; i++)
    for (size_t j = 0; j < ns; j++) {
      size_t a = sizes[i], b = sizes[j];
      unsigned char *p = malloc(a);
      if (!p) { bad++; continue; }
      t_fill(p, a, (unsigned)(i * 31 + j));
      unsigned char *q = (i + j) & 1 ? realloc(p, b) : hak_realloc(p, b);
      if (b == 0) { if (q) { bad++; free(q); } continue; }   /* freed, NULL */
      if (!q) { bad++; free(p); continue; }
      if (!t_aligned(q, 16) || malloc_usable_size(q) < b) bad++;
      if (!t_verify(q, a < b ? a : b, (unsigned)(i * 31 + j))) {
        bad++;
        t_say("  realloc %zu -> %zu lost data\n", a, b);
      }
      if (b) memset(q, 0xEE, b);
      free(q);
    }
  CHECK(bad == 0);
  /* a chain of growth then shrink of the same block */
  size_t n = 1;
  unsigned char *p = malloc(n);
  t_fill(p, n, 99);
  while (n < (8u << 20)) {
    n = n * 3 / 2 + 1;
    unsigned char *q = realloc(p, n);
    REQUIRE(q != NULL);
    p = q;
    t_fill(p, n, 99);
  }
  for (; n > 1; n /= 3) {
    unsigned char *q = realloc(p, n);
    REQUIRE(q != NULL);
    p = q;
    CHECK(t_verify(p, n, 99));
  }
  free(p);
}

static void t_realloc_failure(void) {
  static const size_t sizes[] = {10, 1024, 5000, 65536, 70000, 2 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *p = malloc(sizes[i]);
    REQUIRE(p != NULL);
    t_fill(p, sizes[i], 3);
    for (size_t h = 0; h < NHUGE; h++) {
      errno = 0;
      void *q = (h & 1) ? realloc(p, huge_sizes[h]) : hak_realloc(p, huge_sizes[h]);
      CHECKF(q == NULL && errno == ENOMEM, "realloc(%zu-byte block, %zu) = %p errno %d",
             sizes[i], huge_sizes[h], q, errno);
      CHECK(hak_block_state(p) == HAK_BLOCK_LIVE);
    }
    CHECK(t_verify(p, sizes[i], 3));
    free(p);
  }
}

static void t_posix_memalign_einval(void) {
  static const size_t bad[] = {0, 1, 2, 3, sizeof(void *) / 2, 12, 24, 48, 100, 4097,
                               (size_t)3 << 20, SIZE_MAX, ((size_t)1 << 63) + 8};
  void *const sentinel = (void *)(uintptr_t)0xdeadbeef;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    void *out = sentinel;
    int rc = posix_memalign(&out, bad[i], 64);
    CHECKF(rc == EINVAL, "posix_memalign(align %zu) = %d", bad[i], rc);
    CHECK(out == sentinel);
    out = sentinel;
    rc = hak_posix_memalign(&out, bad[i], 64);
    CHECK(rc == EINVAL && out == sentinel);
  }
  /* valid alignment, impossible size: ENOMEM, *out untouched */
  void *out = sentinel;
  static volatile size_t huge = SIZE_MAX - 100;
  int rc = posix_memalign(&out, 64, huge);
  CHECK(rc == ENOMEM);
  CHECK(out == sentinel);
}

static void t_posix_memalign_ok(void) {
  int bad = 0;
  for (size_t a = sizeof(void *); a <= (4u << 20); a *= 2) {
    size_t sizes[] = {0, 1, 8, 100, 1000, 1025, 5000, 70000, a, a + 1, 3 * a};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      void *p = (void *)1;
      int rc = (i & 1) ? posix_memalign(&p, a, sizes[i]) : hak_posix_memalign(&p, a, sizes[i]);
      if (rc != 0 || p == NULL) { bad++; t_say("  posix_memalign(%zu, %zu) = %d\n", a, sizes[i], rc); continue; }
      if (!t_aligned(p, a) || !t_aligned(p, 16)) { bad++; t_say("  %p not aligned to %zu\n", p, a); }
      size_t u = malloc_usable_size(p);
      if (u < sizes[i]) bad++;
      if (sizes[i]) memset(p, 0x33, sizes[i]);
      hak_block_info bi;
      if (hak_classify(p, &bi) != 1 || bi.block != p) bad++;
      free(p);
    }
  }
  CHECK(bad == 0);
}

static void t_aligned_alloc_family(void) {
  int bad = 0;
  for (size_t a = 1; a <= (1u << 20); a *= 2) {
    size_t sizes[] = {a, 2 * a, 5 * a};
    for (size_t i = 0; i < 3; i++) {
      void *p = aligned_alloc(a, sizes[i]);
      void *q = memalign(a, sizes[i] + 3);
      void *r = hak_aligned_alloc(a, sizes[i]);
      void *s = hak_memalign(a, sizes[i] + 1);
      void *v[4] = {p, q, r, s};
      for (int k = 0; k < 4; k++) {
        if (!v[k] || !t_aligned(v[k], a) || !t_aligned(v[k], 16)) { bad++; t_say("  align %zu size %zu: %p\n", a, sizes[i], v[k]); continue; }
        if (malloc_usable_size(v[k]) < sizes[i]) bad++;
        memset(v[k], 0x11, sizes[i]);
      }
      free(p); free(q);
      hak_free_aligned_sized(r, a, sizes[i]);
      hak_free(s);
    }
  }
  CHECK(bad == 0);
  errno = 0;
  static volatile size_t huge = SIZE_MAX - 64;
  CHECK(aligned_alloc(64, huge) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(memalign(4096, huge) == NULL && errno == ENOMEM);
}

static void t_valloc_pvalloc(void) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000, 70000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    void *p = (i & 1) ? valloc(n) : hak_valloc(n);
    CHECKF(p && t_aligned(p, pg), "valloc(%zu) = %p", n, p);
    if (p) { CHECK(malloc_usable_size(p) >= n); memset(p, 1, n); }
    free(p);
    size_t want = n ? (n + pg - 1) / pg * pg : pg;
    void *q = (i & 1) ? hak_pvalloc(n) : pvalloc(n);
    CHECKF(q && t_aligned(q, pg), "pvalloc(%zu) = %p", n, q);
    if (q) {
      CHECKF(malloc_usable_size(q) >= want, "pvalloc(%zu) usable %zu < %zu", n, malloc_usable_size(q), want);
      memset(q, 2, want);
    }
    free(q);
  }
  errno = 0;
  static volatile size_t huge = SIZE_MAX - 10;
  CHECK(pvalloc(huge) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(valloc(huge) == NULL && errno == ENOMEM);
}

static void t_free_sized(void) {
  static const size_t sizes[] = {0, 1, 24, 1024, 1025, 9000, 65536, 65537, 300000};
  for (int r = 0; r < 4; r++)
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      void *p = malloc(sizes[i]);
      CHECK(p != NULL);
      memset(p, 0x44, sizes[i]);
      hak_free_sized(p, sizes[i]);
      void *q = hak_aligned_alloc(256, sizes[i] ? sizes[i] : 256);
      CHECK(q && t_aligned(q, 256));
      hak_free_aligned_sized(q, 256, sizes[i] ? sizes[i] : 256);
    }
}

static void t_size_classes(void) {
  int n = hak_class_count();
  CHECK(n > 2 && n < 1000);
  size_t prev = 0;
  for (int c = 0; c < n; c++) {
    size_t s = hak_class_size(c);
    CHECKF(s > prev, "class %d size %zu <= previous %zu", c, s, prev);
    CHECKF(s % 16 == 0, "class %d size %zu not a multiple of 16", c, s);
    int t = hak_class_tier(c);
    CHECK(t == HAK_TIER_TINY || t == HAK_TIER_MID);
    if (t == HAK_TIER_TINY) CHECK(s <= HAK_TINY_MAX);
    else CHECK(s > HAK_TINY_MAX && s >= HAK_TINY_MAX + 1);
    prev = s;
  }
  CHECK(hak_class_size(n - 1) >= HAK_MID_MAX);
  int last = -1, bad = 0;
  for (size_t s = 0; s <= HAK_MID_MAX; s++) {
    int c = hak_size_class(s);
    if (c < 0 || c >= n) { bad++; continue; }
    if (c < last) bad++;                             /* monotonic */
    if (hak_class_size(c) < s) bad++;                /* fits */
    if (c > 0 && s > 0 && hak_class_size(c - 1) >= s) bad++;  /* smallest that fits */
    int want = s <= HAK_TINY_MAX ? HAK_TIER_TINY : HAK_TIER_MID;
    if (hak_class_tier(c) != want) bad++;
    last = c;
  }
  CHECKF(bad == 0, "%d bad size->class mappings", bad);
  CHECK(hak_size_class(HAK_MID_MAX + 1) == -1);
  CHECK(hak_size_class(SIZE_MAX) == -1);
  CHECK(hak_class_tier(hak_size_class(1024)) == HAK_TIER_TINY);
}

static void t_many_live(void) {
  /* a few thousand live blocks of mixed sizes, all distinct and intact */
  enum { N = 5000 };
  static unsigned char *p[N];
  static size_t n[N];
  uint64_t seed = 42;
  for (int i = 0; i < N; i++) {
    uint64_t r = t_rand(&seed);
    n[i] = (r & 3) == 0 ? r % 70000 : r % 600;
    p[i] = malloc(n[i]);
    CHECK(p[i] != NULL);
    t_fill(p[i], n[i], (unsigned)i);
  }
  int bad = 0;
  for (int i = 0; i < N; i += 2) free(p[i]);
  for (int i = 0; i < N; i += 2) { p[i] = malloc(n[i]); t_fill(p[i], n[i], (unsigned)i); }
  for (int i = 0; i < N; i++) { if (!t_verify(p[i], n[i], (unsigned)i)) bad++; free(p[i]); }
  CHECK(bad == 0);
}

int main(void) {
  t_init(120);
  T_RUN(t_malloc_is_hakmem);
  T_RUN(t_malloc_zero);
  T_RUN(t_malloc_huge_enomem);
  T_RUN(t_free_null);
  T_RUN(t_alignment_all_sizes);
  T_RUN(t_usable_size_writable);
  T_RUN(t_tiers);
  T_RUN(t_calloc_zero);
  T_RUN(t_calloc_overflow);
  T_RUN(t_reallocarray);
  T_RUN(t_realloc_null_and_zero);
  T_RUN(t_realloc_boundaries);
  T_RUN(t_realloc_failure);
  T_RUN(t_posix_memalign_einval);
  T_RUN(t_posix_memalign_ok);
  T_RUN(t_aligned_alloc_family);
  T_RUN(t_valloc_pvalloc);
  T_RUN(t_free_sized);
  T_RUN(t_size_classes);
  T_RUN(t_many_live);
  return t_done();
}
