/* OS failure sweep over a large-realloc chain that grows and shrinks in
 * place (issue 19: realloc in place must keep the old block when mremap is
 * refused).  Check build, linked with --wrap=hak__os_map and
 * --wrap=hak__os_remap (tests/tests.mk).
 *
 * The chain: a large block grows from below a granule (a short span that
 * extends its mapping in place) by +4 KiB and x1.5 steps to 20 MiB, with a
 * neighbour block allocated behind it half way (so later growth cannot
 * extend in place and must move its pages onto a fresh reservation),
 * shrinks (tail granules go to the span cache), grows back into them, and
 * shrinks to just above the mid tier.
 *
 * The OS calls of the chain that can fail are counted by the wrappers:
 * every map, and every mremap that grows a mapping in place or moves it
 * (an mremap that shrinks in place cannot fail on Linux: it is passed
 * through uncounted, as the core assumes).  For k = 1, 2, ... a forked
 * child refuses the k-th of them, in two modes:
 *   one-shot  only the k-th call fails (hakmem may absorb it: copy
 *             fallback, cache give-back and retry);
 *   outage    the k-th and every later call fail until a realloc has
 *             returned NULL, so the failure must surface.
 * After every step the child checks: the step succeeded with the prefix
 * min(old, new) byte-exact, or it returned NULL with errno ENOMEM and the
 * old block is intact: still mapped, hak_block_state LIVE, its usable size
 * unchanged, every byte as written, writable; then the old block is freed
 * and the chain ends.  hak_check_all() must be clean after every step.
 * A fault inside the old block during a realloc (the old pages were
 * unmapped under it) is reported by a SIGSEGV handler with its own line.
 * The sweep stops at the first k not reached, so every call of the
 * baseline run was refused once in each mode. */
#define T_SUITE "faults"
#include "t.h"

#include <malloc.h>
#include <sys/mman.h>

/* ---- contents: one 64-bit word pattern per position (cheap enough to
 * verify every byte of 20 MiB blocks in every run of the sweep) --------- */
static uint64_t pat(uint64_t seed, size_t i) {
  uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)i * 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 29);
}
static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed) {
  for (size_t i = from; i < to; i++)
    if ((i & 7) == 0 && i + 8 <= to) { uint64_t w = pat(seed, i >> 3); memcpy(p + i, &w, 8); i += 7; }
    else p[i] = (unsigned char)(pat(seed, i >> 3) >> (8 * (i & 7)));
}
/* index of the first wrong byte in [0, n), or n */
static size_t first_bad(const unsigned char *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    if ((i & 7) == 0 && i + 8 <= n) {
      uint64_t w = pat(seed, i >> 3), got;
      memcpy(&got, p + i, 8);
      if (got == w) { i += 7; continue; }
    }
    if (p[i] != (unsigned char)(pat(seed, i >> 3) >> (8 * (i & 7)))) return i;
  }
  return n;
}

/* ---- the wrappers ------------------------------------------------------ */
enum { C_MAP, C_GROW, C_MOVE, C_SHRINK, NKIND };   /* shrinks: passed through, never refused */
static long w_k;              /* refuse the k-th counted call (0: none) */
static int w_outage;          /* ... and every later one until a NULL surfaced */
static int w_recovered;
static long w_calls;          /* counted calls so far */
static long w_by_kind[NKIND]; /* successful calls per kind */
static int w_fired = -1;      /* kind of the first refused call */
static const char *w_step = "start";

void *__real_hak__os_map(size_t size, size_t align) __attribute__((weak));
void *__wrap_hak__os_map(size_t size, size_t align);
void *__real_hak__os_remap(void *p, size_t old_size, size_t new_size, void *fixed) __attribute__((weak));
void *__wrap_hak__os_remap(void *p, size_t old_size, size_t new_size, void *fixed);

static int refuse(int kind) {
  w_calls++;
  int no = w_k > 0 && (w_calls == w_k || (w_outage && !w_recovered && w_calls > w_k));
  if (no && w_fired < 0) w_fired = kind;
  return no;
}

void *__wrap_hak__os_map(size_t size, size_t align) {
  if (refuse(C_MAP)) { errno = ENOMEM; return NULL; }
  void *q = __real_hak__os_map(size, align);
  if (q) w_by_kind[C_MAP]++;
  return q;
}

/* Like the real one, a refused remap leaves errno alone (os.c). */
void *__wrap_hak__os_remap(void *p, size_t old_size, size_t new_size, void *fixed) {
  int kind = fixed ? C_MOVE : new_size > old_size ? C_GROW : C_SHRINK;
  if (kind != C_SHRINK && refuse(kind)) return NULL;
  void *q = __real_hak__os_remap(p, old_size, new_size, fixed);
  if (q) w_by_kind[kind]++;
  return q;
}

/* ---- the child --------------------------------------------------------- */
static int w_errors;
static int kept_shrinks;      /* shrinking steps that kept the block where it was */
static void w_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void w_err(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (w_errors++ < 8) t_say("ERR %s: %s\n", w_step, buf);
}

/* The block under realloc, for the fault handler. */
static volatile uintptr_t old_lo, old_hi;
static volatile size_t old_n, new_n;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  uintptr_t a = (uintptr_t)si->si_addr;
  if (a >= old_lo && a < old_hi)
    t_say("ERR realloc: realloc %zu -> %zu: fault at %p inside the old block %p: its pages were unmapped\n", old_n,
          new_n, (void *)a, (void *)old_lo);
  else
    t_say("ERR %s: signal %d at %p\n", w_step, sig, (void *)a);
  _exit(1);
}

/* Old block p of n bytes after a refused realloc: intact and usable. */
static void check_old(unsigned char *p, size_t n, size_t usable, size_t m, uint64_t seed) {
  size_t len = (n + 4095) & ~(size_t)4095;
  unsigned char vec[8192];
  if (len / 4096 > sizeof vec || mincore(p, len, vec) != 0) {
    w_err("failed realloc %zu -> %zu: old block %p is no longer mapped", n, m, (void *)p);
    return;
  }
  int st = hak_block_state(p);
  if (st != HAK_BLOCK_LIVE) { w_err("failed realloc %zu -> %zu: old block state %d, want live", n, m, st); return; }
  size_t u = malloc_usable_size(p);
  if (u != usable) w_err("failed realloc %zu -> %zu: usable size %zu, was %zu", n, m, u, usable);
  size_t bad = first_bad(p, n, seed);
  if (bad != n) { w_err("failed realloc %zu -> %zu changed the old block at byte %zu", n, m, bad); return; }
  fill(p, 0, n, seed + 1);   /* still usable: every byte writable */
  if (first_bad(p, n, seed + 1) != n) w_err("failed realloc %zu -> %zu: old block not writable", n, m);
}

static void checker(const char *what) {
  char msg[512];
  if (hak_check_all(msg, sizeof msg) != 0) w_err("after %s: hak_check_all: %s", what, msg);
}

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
/* 0: allocate the neighbour here (behind the block: growth must move) */
static const size_t chain[] = {
  300 * KIB, 304 * KIB, 600 * KIB, 1500 * KIB, 2 * MIB + 4 * KIB, 3 * MIB, 0, 3 * MIB + 4 * KIB, 4608 * KIB,
  7 * MIB, 7 * MIB + 64 * KIB, 11 * MIB, 20 * MIB, 5 * MIB, 1200 * KIB, 8 * MIB, 12 * MIB, 70 * KIB, 3 * MIB,
};

/* Returns the number of NULLs (0 or 1). */
static int run_chain(void) {
  uint64_t seed = 7;
  size_t n = 100 * KIB;
  w_step = "malloc";
  unsigned char *p = malloc(n), *nb = NULL;
  if (p == NULL) {   /* the refused call was its map */
    if (errno != ENOMEM) w_err("malloc: NULL with errno %d, want ENOMEM", errno);
    w_recovered = 1;
    return 1;
  }
  fill(p, 0, n, seed);
  int nulls = 0;
  for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
    size_t m = chain[i];
    if (m == 0) {
      w_step = "neighbour";
      nb = malloc(2 * MIB);
      if (nb == NULL) {
        if (errno != ENOMEM) w_err("malloc: NULL with errno %d, want ENOMEM", errno);
        w_recovered = 1;
        nulls++;
        break;
      }
      memset(nb, 0xab, 4096);
      checker("neighbour");
      continue;
    }
    w_step = "realloc";
    size_t usable = malloc_usable_size(p);
    old_lo = (uintptr_t)p, old_hi = (uintptr_t)p + n, old_n = n, new_n = m;
    errno = 0;
    unsigned char *q = realloc(p, m);
    int e = errno;
    old_lo = old_hi = 0;
    if (q == NULL) {
      nulls++;
      w_recovered = 1;
      if (e != ENOMEM) w_err("realloc %zu -> %zu: NULL with errno %d, want ENOMEM", n, m, e);
      check_old(p, n, usable, m, seed);
      checker("failed realloc");
      free(p);
      p = NULL;
      checker("free of the old block");
      break;
    }
    size_t kept = n < m ? n : m, bad = first_bad(q, kept, seed);
    if (bad != kept) w_err("realloc %zu -> %zu lost the contents at byte %zu", n, m, bad);
    if (malloc_usable_size(q) < m) w_err("realloc %zu -> %zu: usable size %zu", n, m, malloc_usable_size(q));
    fill(q, kept, m, seed);
    if (m < n && q == p) kept_shrinks++;
    p = q;
    n = m;
    checker("realloc");
  }
  w_step = "free";
  if (p) { if (first_bad(p, n, seed) != n) w_err("block corrupted before free"); free(p); }
  if (nb) free(nb);
  checker("free");
  return nulls;
}

typedef struct { long k; int outage; } run_arg;
static void child(void *arg) {
  run_arg *a = arg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  hak_trim();   /* nothing cached: the chain's calls are the same in every run */
  w_k = a->k;
  w_outage = a->outage;
  w_calls = 0;
  int nulls = run_chain();
  long calls = w_calls;
  w_k = 0;
  w_step = "after";
  /* the OS is back: a large block maps again */
  void *z = malloc(5 * MIB);
  if (z == NULL) w_err("malloc after the chain: NULL");
  free(z);
  checker("the end");
  t_say("RESULT calls=%ld nulls=%d fired=%d map=%ld grow=%ld move=%ld shrink=%d\n", calls, nulls, w_fired,
        w_by_kind[C_MAP], w_by_kind[C_GROW], w_by_kind[C_MOVE], kept_shrinks);
  _exit(w_errors ? 1 : 0);
}

/* ---- the sweep (parent) ------------------------------------------------- */
typedef struct { long calls, by_kind[NKIND]; int nulls, fired, kept_shrinks; } result;

static int run_k(long k, int outage, result *r, char *why, size_t len) {
  static char out[8192], err[2048];
  run_arg a = { k, outage };
  int st = t_child(child, &a, 30, out, sizeof out, err, sizeof err);
  memset(r, 0, sizeof *r);
  const char *line = strstr(out, "RESULT ");
  int ok = line && sscanf(line, "RESULT calls=%ld nulls=%d fired=%d map=%ld grow=%ld move=%ld shrink=%d", &r->calls,
                          &r->nulls, &r->fired, &r->by_kind[0], &r->by_kind[1], &r->by_kind[2], &r->kept_shrinks) == 7;
  if (!ok || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char d[128];
    t_describe_status(st, d, sizeof d);
    size_t o = (size_t)snprintf(why, len, "k=%ld (%s): child %s:", k, outage ? "outage" : "one-shot", d);
    /* the child's lines indented: a core line ("hakmem: ...") is quoted,
     * the verdict is this test's FAIL line */
    for (const char *c = out; *c && o + 8 < len; c++) {
      if (c == out || c[-1] == '\n') o += (size_t)snprintf(why + o, len - o, "\n    ");
      if (*c != '\n') why[o++] = *c;
    }
    for (const char *c = err; *c && o + 8 < len; c++) {
      if (c == err || c[-1] == '\n') o += (size_t)snprintf(why + o, len - o, "\n    ");
      if (*c != '\n') why[o++] = *c;
    }
    why[o < len ? o : len - 1] = 0;
    return -1;
  }
  return 0;
}

static void sweep(int outage) {
  char why[2048];
  result r;
  double t0 = t_now();
  if (hak_check_all(why, sizeof why) != 0) { t_say("  before the sweep: %s\n", why); REQUIRE(0); }
  if (run_k(0, outage, &r, why, sizeof why) != 0) { t_say("  baseline: %s\n", why); REQUIRE(0); }
  CHECKF(r.nulls == 0, "baseline run without refusals had %d NULLs", r.nulls);
  /* The chain must really exercise realloc in place: mremap extensions
   * in place, moves, and shrinks that keep the block (large.c gives the
   * tail granules to the cache, no mremap), or this sweep tests nothing of
   * issue 19. */
  CHECKF(r.by_kind[C_GROW] >= 2 && r.by_kind[C_MOVE] >= 1 && r.kept_shrinks >= 2,
         "baseline: %ld in-place grows and %ld moves by mremap, %d shrinks in place; want >= 2, 1, 2",
         r.by_kind[C_GROW], r.by_kind[C_MOVE], r.kept_shrinks);
  long base = r.calls, k, grows = r.by_kind[C_GROW], moves = r.by_kind[C_MOVE];
  int shrinks = r.kept_shrinks;
  int bad = 0, surfaced = 0, hit[NKIND] = { 0 }, null_of[NKIND] = { 0 };
  for (k = 1; k <= base + 1; k++) {
    int rc = run_k(k, outage, &r, why, sizeof why);
    if (rc != 0) { if (bad++ < 4) t_say("  %s\n", why); continue; }
    if (r.calls < k) break;   /* not reached: every call was refused once */
    if (r.fired >= 0 && r.fired < NKIND) { hit[r.fired]++; null_of[r.fired] += r.nulls; }
    surfaced += r.nulls;
    if (outage && r.nulls != 1) if (bad++ < 4) t_say("  k=%ld (outage): %d NULLs, want 1\n", k, r.nulls);
  }
  CHECKF(bad == 0, "%d runs went wrong", bad);
  CHECKF(k == base + 1, "swept k = 1..%ld, the baseline run made %ld calls", k - 1, base);
  t_say("  %s: the chain grows in place by mremap %ld times, moves %ld times, shrinks in place %d times; %ld refused "
        "calls (every map and growing/moving mremap of the chain), %d surfaced as NULL + ENOMEM with the old block "
        "intact; by kind (NULL/refused): map %d/%d, mremap-grow %d/%d, mremap-move %d/%d; %.1f s\n",
        outage ? "outage" : "one-shot", grows, moves, shrinks, base, surfaced, null_of[C_MAP], hit[C_MAP],
        null_of[C_GROW], hit[C_GROW], null_of[C_MOVE], hit[C_MOVE], t_now() - t0);
}

static void t_realloc_in_place_one_shot(void) { sweep(0); }
static void t_realloc_in_place_outage(void) { sweep(1); }

int main(void) {
  t_init(170);
  T_RUN(t_realloc_in_place_one_shot);
  T_RUN(t_realloc_in_place_outage);
  return t_done();
}
