/* A correct program using the whole allocation API: no tool may report
 * anything (no false positive from hakmem's internals or annotations).
 * Every byte it reads it wrote (or calloc zeroed, or realloc kept). */
#include <errno.h>
#include <malloc.h>
#include "st.h"

static unsigned char pat(size_t i, unsigned seed) { return (unsigned char)(i * 31u + seed); }
static void fill(unsigned char *p, size_t n, unsigned seed) { for (size_t i = 0; i < n; i++) p[i] = pat(i, seed); }
static void verify(const unsigned char *p, size_t n, unsigned seed, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pat(i, seed)) ST_FAIL("%s: byte %zu changed", what, i);
}

static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 24, 30, 32, 33, 48, 64, 100, 127, 128, 129, 255, 256,
                               500, 1000, 1024, 1025, 2000, 4096, 5000, 10000, 32768, 65535, 65536, 65537,
                               100000, 300000, 1 << 20, (1 << 21) + 3};
#define NS (sizeof sizes / sizeof sizes[0])

int main(void) {
  /* malloc / free, every tier, blocks kept live together */
  unsigned char *b[NS];
  for (unsigned r = 0; r < 3; r++) {
    for (size_t i = 0; i < NS; i++) {
      b[i] = st_launder(malloc(sizes[i]));
      if (!b[i]) ST_FAIL("malloc(%zu) failed", sizes[i]);
      fill(b[i], sizes[i], r + (unsigned)i);
    }
    st_require_hakmem(b[5], "malloc(16)");
    for (size_t i = 0; i < NS; i++) verify(b[i], sizes[i], r + (unsigned)i, "malloc");
    for (size_t i = 0; i < NS; i += 2) free(b[i]);
    for (size_t i = 1; i < NS; i += 2) free(b[i]);
  }
  /* malloc_usable_size: the program may use every usable byte */
  for (size_t i = 0; i < NS; i++) {
    unsigned char *p = st_launder(malloc(sizes[i]));
    size_t u = malloc_usable_size(p);
    if (u < sizes[i]) ST_FAIL("usable %zu < %zu", u, sizes[i]);
    fill(p, u, 9);
    verify(p, u, 9, "usable bytes");
    free(p);
  }
  /* calloc: zero, including a reused (dirty) block and a large one */
  for (size_t i = 0; i < NS; i++) {
    unsigned char *p = st_launder(malloc(sizes[i] ? sizes[i] : 1));
    fill(p, sizes[i], 1);
    free(p);
    unsigned char *z = st_launder(calloc(1, sizes[i]));
    for (size_t k = 0; k < sizes[i]; k++) if (z[k]) ST_FAIL("calloc(%zu) byte %zu nonzero", sizes[i], k);
    free(z);
  }
  errno = 0;
  if (calloc((size_t)1 << 40, (size_t)1 << 40) != NULL || errno != ENOMEM) ST_FAIL("calloc overflow");
  /* realloc: grow and shrink through every tier, contents kept; in place too */
  unsigned char *p = NULL;
  size_t have = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < NS; k++) {
      size_t i = pass ? NS - 1 - k : k, n = sizes[i];
      if (n == 0) continue;
      p = st_launder(realloc(p, n));
      if (!p) ST_FAIL("realloc(%zu) failed", n);
      verify(p, have < n ? have : n, 77, "realloc kept");
      fill(p, n, 77);
      have = n;
    }
  p = st_launder(realloc(p, 100));
  fill(p, 100, 77);
  for (size_t n = 100; n > 40; n -= 7) {   /* shrink (in place), then regrow */
    p = st_launder(realloc(p, n));
    verify(p, n, 77, "realloc shrink");
  }
  p = st_launder(realloc(p, 90));
  verify(p, 44, 77, "realloc regrow");
  fill(p, 90, 5);
  if (realloc(p, 0) != NULL) ST_FAIL("realloc(p, 0) != NULL");
  unsigned char *ra = st_launder(reallocarray(NULL, 10, 30));
  fill(ra, 300, 4);
  ra = st_launder(reallocarray(ra, 20, 30));
  verify(ra, 300, 4, "reallocarray");
  free(ra);
  /* aligned families */
  static const size_t aligns[] = {16, 32, 64, 128, 256, 4096, 65536, 1 << 21, 1 << 22};
  for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
    for (size_t i = 0; i < NS; i += 3) {
      size_t al = aligns[a], n = sizes[i];
      void *q = NULL;
      if (posix_memalign(&q, al, n) != 0) ST_FAIL("posix_memalign(%zu, %zu)", al, n);
      unsigned char *r1 = st_launder(q), *r2 = st_launder(aligned_alloc(al, n)), *r3 = st_launder(memalign(al, n));
      if (((uintptr_t)r1 | (uintptr_t)r2 | (uintptr_t)r3) & (al - 1)) ST_FAIL("misaligned (%zu, %zu)", al, n);
      fill(r1, n, 1); fill(r2, n, 2); fill(r3, n, 3);
      verify(r1, n, 1, "posix_memalign"); verify(r2, n, 2, "aligned_alloc"); verify(r3, n, 3, "memalign");
      unsigned char *r4 = st_launder(realloc(r3, n + 100));
      verify(r4, n, 3, "realloc of aligned");
      free(r1); free(r2); free(r4);
    }
  unsigned char *v = st_launder(valloc(5000)), *pv = st_launder(pvalloc(5000));
  fill(v, 5000, 1);
  fill(pv, 8192, 2);                       /* pvalloc rounds up to whole pages: all usable */
  verify(pv, 8192, 2, "pvalloc");
  free(v); free(pv);
  /* many small blocks: several slabs, segments, refills and flushes */
  enum { N = 20000 };
  unsigned char **many = st_launder(malloc(N * sizeof *many));
  for (int i = 0; i < N; i++) { many[i] = st_launder(malloc((size_t)(i % 300) + 1)); fill(many[i], (size_t)(i % 300) + 1, (unsigned)i); }
  for (int i = 0; i < N; i += 3) { free(many[i]); many[i] = NULL; }
  for (int i = 0; i < N; i++) if (many[i]) verify(many[i], (size_t)(i % 300) + 1, (unsigned)i, "many");
  for (int i = 0; i < N; i++) free(many[i]);
  free(many);
  /* heap checker and trim on a quiet heap */
  char msg[256];
  if (hak_check_all(msg, sizeof msg) != 0) ST_FAIL("hak_check_all: %s", msg);
  hak_heap_collect(hak_heap_current());
  hak_trim();
  puts("clean_api ok");
  return 0;
}
