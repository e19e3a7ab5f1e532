/* A real address-space limit (run by tests/tests.mk under `ulimit -v`,
 * against the RELEASE archive): no injection, the kernel itself refuses.
 *
 * Per phase (tiny, mid, large, aligned, calloc, realloc growth), allocate
 * until the allocator returns NULL, then check:
 *   - the limit was really hit: NULL came with errno ENOMEM, and the process
 *     neither crashed nor aborted;
 *   - every block handed out is intact (a pattern in its first and last
 *     bytes) and hak_check_all() passes at the limit;
 *   - a failed realloc leaves the old block intact and live;
 *   - after freeing everything, the NEXT phase (another tier) gets memory
 *     again: hakmem gave the address space back (recovery; no hak_trim:
 *     a real program does not call it).
 * The block table lives in a mapping made before the limit matters and
 * output goes through write(2), so the test itself never needs malloc.
 * tests/tests.mk sets only the SOFT limit (ulimit -S -v): the checker's
 * scratch memory is the test's, and it lifts the soft limit to run it. */
#define T_SUITE "faults"
#include "t.h"

#include <malloc.h>
#include <sys/mman.h>

enum { MAXB = 1 << 20 };
static unsigned char **blocks;
static size_t *sizes;

static void mark(unsigned char *p, size_t n, size_t i) {
  p[0] = (unsigned char)i;
  p[n - 1] = (unsigned char)(i * 7 + 1);
}
static int marked(const unsigned char *p, size_t n, size_t i) {
  return p[0] == (unsigned char)i && p[n - 1] == (unsigned char)(i * 7 + 1);
}

static long limit_kib(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return -1;
  return (long)(rl.rlim_cur >> 10);
}

/* One phase: allocate with `kind` until NULL; returns bytes obtained. */
enum { K_TINY, K_MID, K_LARGE, K_ALIGNED, K_CALLOC };
static const char *kind_name[] = { "tiny", "mid", "large", "aligned", "calloc" };

static size_t phase(int kind, size_t *count_out) {
  size_t n = 0, bytes = 0;
  int e = 0;
  for (;;) {
    if (n == MAXB) { t_say("  %s: %zu blocks and no NULL yet\n", kind_name[kind], n); CHECK(0); break; }
    size_t sz;
    unsigned char *p;
    errno = 0;
    switch (kind) {
    case K_TINY: sz = 16 + (n * 48) % 1009; p = malloc(sz); break;
    case K_MID: sz = 1025 + (n * 7177) % 60000; p = malloc(sz); break;
    case K_LARGE: sz = (size_t)1 << (17 + n % 6); p = malloc(sz); break;   /* 128 KiB .. 4 MiB */
    case K_ALIGNED: sz = 3000 + (n % 4) * 100000; p = aligned_alloc((size_t)1 << (12 + n % 10), sz); break;
    default: sz = 100 * (1 + n % 700); p = calloc(100, 1 + n % 700);
      if (p && (p[0] != 0 || p[sz - 1] != 0 || p[sz / 2] != 0)) { t_say("  calloc block not zero\n"); CHECK(0); }
      break;
    }
    if (p == NULL) { e = errno; break; }
    mark(p, sz, n);
    blocks[n] = p;
    sizes[n] = sz;
    bytes += sz;
    n++;
  }
  CHECKF(e == ENOMEM, "%s: NULL with errno %d after %zu blocks, want ENOMEM", kind_name[kind], e, n);
  CHECKF(n > 0, "%s: not even one block under the limit", kind_name[kind]);
  /* The checker needs scratch memory proportional to the heap, which the
   * limit no longer allows: lift the SOFT limit for the checker only (the
   * heap state examined is the one at the limit), then put it back. */
  char m[256];
  struct rlimit rl;
  getrlimit(RLIMIT_AS, &rl);
  rlim_t soft = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  int lifted = setrlimit(RLIMIT_AS, &rl) == 0;
  CHECKF(hak_check_all(m, sizeof m) == 0, "%s: checker at the limit: %s", kind_name[kind], m);
  rl.rlim_cur = soft;
  if (lifted) setrlimit(RLIMIT_AS, &rl);
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!marked(blocks[i], sizes[i], i)) bad++;
    free(blocks[i]);
  }
  CHECKF(bad == 0, "%s: %zu blocks corrupted", kind_name[kind], bad);
  CHECKF(hak_check_all(m, sizeof m) == 0, "%s: checker after freeing: %s", kind_name[kind], m);
  *count_out = n;
  return bytes;
}

/* realloc growth until NULL: the old block must stay intact and usable. */
static size_t realloc_phase(void) {
  size_t n = 1000;
  unsigned char *p = malloc(n);
  if (!p) { CHECKF(0, "realloc phase: first malloc failed"); return 0; }
  memset(p, 0x5a, n);
  for (;;) {
    size_t m = n + n / 2;
    errno = 0;
    unsigned char *q = realloc(p, m);
    if (q == NULL) {
      CHECKF(errno == ENOMEM, "realloc: NULL with errno %d, want ENOMEM", errno);
      CHECKF(hak_block_state(p) == HAK_BLOCK_LIVE, "failed realloc: old block not live");
      CHECKF(p[0] == 0x5a && p[n / 2] == 0x5a && p[n - 1] == 0x5a, "failed realloc changed the old block");
      break;
    }
    CHECKF(q[0] == 0x5a && q[n - 1] == 0x5a, "realloc %zu -> %zu lost the contents", n, m);
    memset(q + n, 0x5a, m - n);   /* touches up to the limit: bounded by the rlimit */
    p = q;
    n = m;
  }
  free(p);
  return n;
}

static void t_address_space_limit(void) {
  long lim = limit_kib();
  if (lim < 0) { t_say("  no address-space limit set (run under ulimit -S -v, see tests/tests.mk)\n"); REQUIRE(0); }
  blocks = mmap(NULL, MAXB * sizeof *blocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  sizes = mmap(NULL, MAXB * sizeof *sizes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(blocks != MAP_FAILED && sizes != MAP_FAILED);
  size_t got[5], cnt[5];
  double t0 = t_now();
  /* Twice round: each phase starts where the previous tier just hit the
   * limit and freed everything, so recovery is checked across tiers. */
  for (int round = 0; round < 2; round++)
    for (int k = 0; k < 5; k++) {
      got[k] = phase(k, &cnt[k]);
      if (round == 1)
        t_say("  %-7s %7zu blocks, %5zu MiB before ENOMEM (limit %ld MiB)\n", kind_name[k], cnt[k], got[k] >> 20,
              lim >> 10);
      /* Recovery: every tier obtains at least a quarter of the limit in
       * blocks (the rest is program text, the block table, metadata,
       * rounding and the caches hakmem keeps). */
      CHECKF(got[k] >= (size_t)lim * 1024 / 4, "%s (round %d): only %zu MiB before ENOMEM, limit %ld MiB", kind_name[k],
             round, got[k] >> 20, lim >> 10);
    }
  size_t rn = realloc_phase();
  t_say("  realloc grew to %zu MiB before ENOMEM; old block intact\n", rn >> 20);
  /* And after all that, ordinary allocation works. */
  void *a = malloc(100), *b = malloc(20000), *c = malloc(1 << 20);
  CHECK(a && b && c);
  free(a); free(b); free(c);
  t_say("  ulimit -v %ld KiB: every phase hit ENOMEM and recovered; %.1f s\n", lim, t_now() - t0);
}

int main(void) {
  t_init(55);
  T_RUN(t_address_space_limit);
  return t_done();
}
