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

/* ---- realloc in place up to the limit (issue 19) -------------------------
 * A large block grows by realloc, an eighth at a time, until the kernel
 * refuses: large.c first extends the mapping in place (mremap), else moves
 * its pages onto a fresh reservation; at the limit both are refused.  The
 * refusal must be NULL + ENOMEM with the old block live and every byte as
 * written (a word pattern over the whole block), a realloc that shrinks it
 * must still work in place (the limit does not matter: nothing is
 * mapped), and the block grows again once the shrink gave address space
 * back.  RLIMIT_AS means nothing to sanitizer builds (shadow memory
 * reserves terabytes) nor under Valgrind (its own address-space manager). */

static uint64_t word_at(size_t i) { uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull; return x ^ (x >> 31); }
static void fill_words(unsigned char *p, size_t from, size_t to) {   /* from, to: multiples of 8 */
  for (size_t i = from; i < to; i += 8) { uint64_t w = word_at(i); memcpy(p + i, &w, 8); }
}
static size_t first_bad_word(const unsigned char *p, size_t n) {
  for (size_t i = 0; i + 8 <= n; i += 8) { uint64_t w; memcpy(&w, p + i, 8); if (w != word_at(i)) return i; }
  return n;
}

/* The block under realloc: a fault inside it means the core unmapped the
 * program's pages; report it as this test's failure, by name. */
static volatile uintptr_t old_lo, old_hi;
static volatile size_t old_n, new_n;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  uintptr_t a = (uintptr_t)si->si_addr;
  if (a >= old_lo && a < old_hi)
    t_say("  realloc %zu -> %zu: fault at %p inside the old block %p: its pages were unmapped\n", old_n, new_n,
          (void *)a, (void *)old_lo);
  else
    t_say("  signal %d at %p\n", sig, (void *)a);
  t_say("FAIL: faults/realloc_in_place_limit\n");
  _exit(1);
}
static int all_mapped(const void *p, size_t n) {   /* mincore in pieces: no buffer from malloc */
  unsigned char vec[1024];
  for (size_t off = 0; off < n; off += sizeof vec * 4096) {
    size_t len = n - off < sizeof vec * 4096 ? n - off : sizeof vec * 4096;
    if (mincore((char *)p + off, (len + 4095) & ~(size_t)4095, vec) != 0) return 0;
  }
  return 1;
}

static void t_realloc_in_place_limit(void) {
#ifdef T_SANITIZER
  t_skip("sanitizer build: RLIMIT_AS cannot bound a process with shadow memory");
  return;
#endif
  if (t_under_valgrind()) { t_skip("under Valgrind: it manages the address space itself"); return; }
  long lim = limit_kib();
  if (lim < 0) { t_say("  no address-space limit set (run under ulimit -S -v, see tests/tests.mk)\n"); REQUIRE(0); }
  size_t n = (size_t)3 << 20;
  unsigned char *p = malloc(n);
  REQUIRE(p != NULL);
  fill_words(p, 0, n);
  int in_place = 0, moved = 0, steps = 0, e = 0;
  struct sigaction sa, was_segv, was_bus;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, &was_segv);
  sigaction(SIGBUS, &sa, &was_bus);
  for (;;) {
    size_t m = (n + n / 8 + 4095) & ~(size_t)4095;
    errno = 0;
    old_lo = (uintptr_t)p, old_hi = (uintptr_t)p + n, old_n = n, new_n = m;
    unsigned char *q = realloc(p, m);
    old_lo = old_hi = 0;
    if (q == NULL) { e = errno; break; }
    steps++;
    if (q == p) in_place++; else moved++;
    size_t bad = first_bad_word(q, n);
    CHECKF(bad == n, "realloc %zu -> %zu lost the contents at byte %zu", n, m, bad);
    fill_words(q, n, m);   /* touches up to the limit: bounded by the rlimit */
    p = q;
    n = m;
    if (steps > 10000) break;
  }
  CHECKF(e == ENOMEM, "realloc at the limit: NULL with errno %d after %d steps, want ENOMEM", e, steps);
  if (!all_mapped(p, n)) {
    t_say("  failed realloc %zu -> more: the old block %p is no longer mapped\n", n, (void *)p);
    REQUIRE(0);
  }
  sigaction(SIGSEGV, &was_segv, NULL);
  sigaction(SIGBUS, &was_bus, NULL);
  CHECKF(hak_block_state(p) == HAK_BLOCK_LIVE, "failed realloc: old block not live");
  CHECKF(malloc_usable_size(p) >= n, "failed realloc: usable size %zu < %zu", malloc_usable_size(p), n);
  size_t bad = first_bad_word(p, n);
  CHECKF(bad == n, "failed realloc %zu -> more changed the old block at byte %zu", n, bad);
  CHECKF(in_place > 0, "no growth step kept the block in place (%d steps, %d moved)", steps, moved);
  CHECKF(n >= (size_t)lim * 1024 / 4, "only %zu MiB before ENOMEM, limit %ld MiB", n >> 20, lim >> 10);
  /* shrink at the limit: in place, contents kept */
  size_t s = n / 4 & ~(size_t)4095;
  errno = 0;
  unsigned char *q = realloc(p, s);
  CHECKF(q == p, "shrinking realloc %zu -> %zu at the limit returned %p for %p (errno %d)", n, s, (void *)q,
         (void *)p, errno);
  if (q != NULL) {
    p = q;
    bad = first_bad_word(p, s);
    CHECKF(bad == s, "shrinking realloc %zu -> %zu lost the contents at byte %zu", n, s, bad);
    /* the shrink gave address space back (tail granules cached, given back
     * on the next refusal): the block grows again */
    size_t g = s + s / 2;
    q = realloc(p, g);
    CHECKF(q != NULL, "realloc %zu -> %zu after the shrink: NULL with errno %d", s, g, errno);
    if (q != NULL) {
      p = q;
      CHECKF(first_bad_word(p, s) == s, "realloc %zu -> %zu after the shrink lost the contents", s, g);
    }
  }
  free(p);
  t_say("  realloc in place: grew 3 -> %zu MiB in %d steps (%d in place, %d moved) before ENOMEM (limit %ld MiB); "
        "old block intact; shrank to %zu MiB in place and grew again\n", n >> 20, steps, in_place, moved, lim >> 10,
        s >> 20);
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
  T_RUN(t_realloc_in_place_limit);   /* first: its failure is named, the crash of a later phase is not */
  T_RUN(t_address_space_limit);
  return t_done();
}
