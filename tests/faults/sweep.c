/* OS failure sweep (check build: hak_os_fail_nth is compiled in).
 *
 * One deterministic single-threaded workload touching every path that maps
 * memory: tiny, mid and large blocks, aligned blocks (up to 4 MiB alignment),
 * calloc, realloc chains across tiers, the public API and three explicit
 * heaps (hakmem_debug.h), cross-heap (remote) frees and drains, abandon and
 * adopt, a real thread that allocates, frees remotely and exits with live
 * blocks, collect and trim (so that later phases must map again).
 *
 * For k = 1, 2, 3, ... a forked child makes the k-th OS map from the start
 * of the workload fail, and checks after EVERY operation that
 *   - an operation either succeeds or returns NULL with errno ENOMEM
 *     (posix_memalign: returns ENOMEM, leaves the out-pointer alone;
 *     realloc: the old block is intact and still live);
 *   - hak_check_all() passes (also right after the failed operation);
 *   - the failed operation, retried at once, succeeds (the "OS" recovered);
 *   - block contents are intact when freed.
 * A refused map costs at most one operation (at most one NULL per run).  It
 * may cost none: a refill that already holds some blocks when a further
 * slab cannot be mapped hands those out, or alloc.c's release_for_retry
 * gives cached memory back and maps again (the failure is "absorbed"; the
 * checker still runs after the operation).
 *
 * Two modes, each swept over every k:
 *   one-shot  hak_os_fail_nth(k): only the k-th map fails;
 *   outage    the wrapper below refuses the k-th map and every later one
 *             until some operation has returned NULL (then "the OS
 *             recovers"): hakmem's internal retry cannot help, so the
 *             failure must surface as NULL + ENOMEM.
 * The program is linked with -Wl,--wrap=hak__os_map (tests/tests.mk): the
 * wrapper counts maps (the k-th map was reached iff the count got to k; the
 * sweep stops at the first k not reached, so every map of the workload was
 * failed once), attributes each refused map to the operation under way,
 * and injects the outages. */
#define T_SUITE "faults"
#include "t.h"

#include <malloc.h>
#include <pthread.h>

/* ---- the workload (runs in the child) ----------------------------------- */
/* Contents are checked on the first 16 KiB and the last 4 KiB of a block:
 * enough to see a block handed out twice or a realloc that lost data, and
 * keeps ~180 runs of the workload affordable in make check. */
static void s_fill(void *p, size_t n, unsigned seed) {
  if (n <= 20480) { t_fill(p, n, seed); return; }
  t_fill(p, 16384, seed);
  t_fill((char *)p + n - 4096, 4096, seed + 1);
}
static int s_verify(const void *p, size_t n, unsigned seed) {
  if (n <= 20480) return t_verify(p, n, seed);
  return t_verify(p, 16384, seed) && t_verify((const char *)p + n - 4096, 4096, seed + 1);
}

enum { MAXB = 4096 };
typedef struct { void *p; size_t n; unsigned seed; hak_heap *h; } blk;
static blk B[MAXB];
static int nb;
static int w_nulls, w_errors, w_ops;
static char w_first[64];
static const char *w_cur = "start";   /* operation under way, for attribution */
static char w_fired[64];             /* operation during which a map was refused */
static long w_maps;
static long w_outage_k;   /* outage mode: maps from the k-th on fail ... */
static int w_recovered;   /* ... until an operation returns NULL ("the OS recovers") */

/* Counting wrapper around the core's single mapping function (see above). */
void *__real_hak__os_map(size_t size, size_t align) __attribute__((weak));
void *__wrap_hak__os_map(size_t size, size_t align);
void *__wrap_hak__os_map(size_t size, size_t align) {
  int e = errno;
  w_maps++;
  if (w_outage_k > 0 && !w_recovered && w_maps >= w_outage_k) {
    if (w_fired[0] == 0) snprintf(w_fired, sizeof w_fired, "%s", w_cur);
    errno = ENOMEM;
    return NULL;
  }
  void *p = __real_hak__os_map(size, align);
  if (p == NULL && w_fired[0] == 0) snprintf(w_fired, sizeof w_fired, "%s", w_cur);
  if (p != NULL) errno = e;
  return p;
}

static void w_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void w_err(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (w_errors < 10) t_say("  op %d: %s\n", w_ops, buf);
  w_errors++;
}

static long w_k;   /* the run's k (0: baseline) */
static void after(const char *what) {
  char m[512];
  w_ops++;
  /* Until the k-th map is refused, a run is the baseline run (the workload
   * is deterministic), whose every operation was checked: skip those. */
  if (w_k > 0 && w_fired[0] == 0) return;
  w_cur = "checker";
  if (hak_check_all(m, sizeof m) != 0) w_err("after %s: hak_check_all: %s", what, m);
}

static void on_null(const char *what, int e) {
  if (w_nulls == 0) snprintf(w_first, sizeof w_first, "%s", what);
  w_nulls++;
  w_recovered = 1;
  if (e != ENOMEM) w_err("%s returned NULL with errno %d, want ENOMEM", what, e);
  after(what);
}

/* Evaluate an allocating expression; on NULL check errno, check the heap,
 * and retry once: the injected failure is spent, the retry must succeed. */
#define ALLOC(expr, what)                                                      \
  ({                                                                           \
    w_cur = what;                                                              \
    errno = 0;                                                                 \
    void *p_ = (expr);                                                         \
    if (p_ == NULL) {                                                          \
      on_null(what, errno);                                                    \
      errno = 0;                                                               \
      p_ = (expr);                                                             \
      if (p_ == NULL) w_err("%s failed again after the injected failure (errno %d)", what, errno); \
    }                                                                          \
    after(what);                                                               \
    p_;                                                                        \
  })

static void keep(void *p, size_t n, hak_heap *h, int zero) {
  if (p == NULL) return;
  if (zero && !t_all_zero(p, n)) w_err("calloc block %p of %zu bytes is not zero", p, n);
  if (nb >= MAXB) { w_err("too many blocks"); return; }
  B[nb] = (blk){ p, n, (unsigned)(nb * 7919u + 17), h };
  s_fill(p, n, B[nb].seed);
  nb++;
}

/* Free block i through heap `via` (NULL: public free); verify it first. */
static void release(int i, hak_heap *via, int use_public) {
  if (B[i].p == NULL) return;
  if (!s_verify(B[i].p, B[i].n, B[i].seed)) w_err("block %p (%zu bytes) corrupted", B[i].p, B[i].n);
  if (use_public) free(B[i].p);
  else hak_heap_free(via, B[i].p);
  B[i].p = NULL;
  after("free");
}

static size_t tiny_size(int i) { return (size_t)(i * 53) % 1025; }
static size_t mid_size(int i) { return 1025 + (size_t)(i * 7177) % (65536 - 1025); }
static size_t large_size(int i) {
  static const size_t s[] = { 65537, 100000, 300000, 1 << 20, 3 << 20, 9 << 20 };
  return s[i % 6];
}

/* A realloc chain across tiers; a failed step must leave the old block
 * intact and live. */
static void realloc_chain(hak_heap *h, unsigned seed) {
  static const size_t steps[] = { 24, 200, 900, 3000, 40000, 70000, 400000, 5 << 20, 1 << 20, 60000, 500, 8 };
  size_t n = 10;
  unsigned char *p = ALLOC(h ? hak_heap_malloc(h, n) : malloc(n), "realloc-chain start");
  if (!p) return;
  s_fill(p, n, seed);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    size_t m = steps[i];
    w_cur = "realloc";
    errno = 0;
    unsigned char *q = h ? hak_heap_realloc(h, p, m) : realloc(p, m);
    if (q == NULL) {
      int e = errno;
      int st = hak_block_state(p);
      if (st != HAK_BLOCK_LIVE) w_err("failed realloc %zu -> %zu: old block state %d, want live", n, m, st);
      if (!s_verify(p, n, seed)) w_err("failed realloc %zu -> %zu changed the old block", n, m);
      on_null("realloc", e);
      q = h ? hak_heap_realloc(h, p, m) : realloc(p, m);
      if (q == NULL) { w_err("realloc failed again after the injected failure"); break; }
    }
    size_t kept = n < m ? n : m;
    if (!s_verify(q, kept < 16384 ? kept : 16384, seed)) w_err("realloc %zu -> %zu lost the contents", n, m);
    p = q;
    n = m;
    s_fill(p, n, seed);
    after("realloc");
  }
  if (h) hak_heap_free(h, p); else free(p);
  after("free");
}

static void aligned_set(hak_heap *h) {
  static const size_t al[] = { 32, 64, 256, 4096, 65536, 1 << 20, 2 << 20, 4 << 20 };
  static const size_t sz[] = { 100, 3000, 200, 5000, 70000, 100000, 3 << 20, 300000 };
  for (int i = 0; i < 8; i++) {
    void *p = ALLOC(h ? hak_heap_aligned_alloc(h, al[i], sz[i]) : aligned_alloc(al[i], sz[i]), "aligned_alloc");
    if (p && !t_aligned(p, al[i])) w_err("aligned_alloc(%zu) returned %p", al[i], p);
    keep(p, sz[i], h, 0);
  }
  /* posix_memalign: ENOMEM as return value, out-pointer untouched */
  for (int i = 0; i < 3; i++) {
    size_t a = i == 0 ? 128 : i == 1 ? 8192 : (8 << 20), n = i == 2 ? 200000 : 4000;
    void *out = (void *)0x1234;
    w_cur = "posix_memalign";
    int rc = posix_memalign(&out, a, n);
    if (rc == ENOMEM) {
      if (out != (void *)0x1234) w_err("failed posix_memalign changed the out-pointer");
      on_null("posix_memalign", ENOMEM);
      rc = posix_memalign(&out, a, n);
    }
    if (rc != 0) { w_err("posix_memalign(%zu, %zu) = %d", a, n, rc); continue; }
    if (!t_aligned(out, a)) w_err("posix_memalign(%zu) returned %p", a, out);
    after("posix_memalign");
    keep(out, n, NULL, 0);
  }
}

static void fill_heap(hak_heap *h, int ntiny, int nmid, int nlarge, int salt) {
  for (int i = 0; i < ntiny; i++) {
    size_t n = tiny_size(i + salt);
    keep(ALLOC(h ? hak_heap_malloc(h, n) : malloc(n), "malloc tiny"), n, h, 0);
  }
  for (int i = 0; i < nmid; i++) {
    size_t n = mid_size(i + salt);
    keep(ALLOC(h ? hak_heap_malloc(h, n) : malloc(n), "malloc mid"), n, h, 0);
  }
  for (int i = 0; i < nlarge; i++) {
    size_t n = large_size(i + salt);
    keep(ALLOC(h ? hak_heap_malloc(h, n) : malloc(n), "malloc large"), n, h, 0);
  }
  static const size_t cn[] = { 10, 100, 40, 1000, 3 };   /* calloc nmemb x 37 */
  for (int i = 0; i < 5; i++) {
    size_t n = cn[i] * (i == 4 ? 100000 : 37);
    keep(ALLOC(h ? hak_heap_calloc(h, cn[i], n / cn[i]) : calloc(cn[i], n / cn[i]), "calloc"), n, h, 1);
  }
}

static hak_heap *new_heap(void) { return ALLOC(hak_heap_new(), "hak_heap_new"); }

/* Runs as a real thread while main waits in pthread_join, so the
 * single-threaded bookkeeping (B, w_*) stays race-free.  Its blocks are
 * recorded with h == NULL: main frees them with the public free, which
 * takes the remote path into the exited thread's abandoned heap. */
static void *thread_phase(void *arg) {
  (void)arg;
  int first = nb;
  fill_heap(NULL, 60, 6, 2, 555);
  realloc_chain(NULL, 99);
  for (int i = 0; i < first; i++)
    if (B[i].h == NULL && i % 5 == 3) release(i, NULL, 1);
  for (int i = first; i < nb; i += 2) release(i, NULL, 1);
  return NULL;   /* thread exit with live blocks */
}

static void workload(void) {
  nb = 0;
  /* 1. the thread's own heap, public API */
  fill_heap(NULL, 120, 16, 4, 0);
  aligned_set(NULL);
  realloc_chain(NULL, 1);
  for (int i = 0; i < nb; i += 2) release(i, NULL, 1);
  hak_trim();
  after("hak_trim");
  /* 2. three explicit heaps */
  hak_heap *h[3];
  for (int i = 0; i < 3; i++) h[i] = new_heap();
  for (int i = 0; i < 3; i++) {
    if (!h[i]) return;
    fill_heap(h[i], 150, 12, 3, 100 * (i + 1));
    aligned_set(h[i]);
    realloc_chain(h[i], 10u + (unsigned)i);
  }
  /* 3. cross-heap frees: h1 frees half of h0's blocks (remote), the thread
   * frees h2's odd blocks (remote), h0 drains */
  for (int i = 0; i < nb; i++) {
    if (B[i].h == h[0] && i % 2 == 0) release(i, h[1], 0);
    else if (B[i].h == h[2] && i % 2 == 1) release(i, NULL, 1);
  }
  hak_heap_drain(h[0]);
  after("hak_heap_drain");
  /* 4. h0 is abandoned (what thread exit does) with live blocks; more
   * remote frees arrive into it; trim; h1 grows (maps again); h0 adopted */
  hak_heap_abandon(h[0]);
  after("hak_heap_abandon");
  for (int i = 0; i < nb; i++)
    if (B[i].h == h[0] && i % 3 == 1) release(i, h[1], 0);
  hak_trim();
  after("hak_trim");
  fill_heap(h[1], 200, 20, 3, 777);
  hak_heap *a = hak_heap_adopt();
  after("hak_heap_adopt");
  if (a != h[0]) w_err("hak_heap_adopt returned heap %p, want the abandoned h0 %p", (void *)a, (void *)h[0]);
  for (int i = 0; i < nb; i++)
    if (B[i].h == h[0]) release(i, a ? a : h[1], 0);
  /* 4b. a real thread: its heap is created (a map), it allocates in every
   * tier, frees some of the main thread's blocks (remote) and exits with
   * live blocks (its heap is abandoned); main frees those blocks later. */
  pthread_t th;
  if (pthread_create(&th, NULL, thread_phase, NULL) != 0) { w_err("pthread_create failed"); return; }
  pthread_join(th, NULL);
  after("thread exit");
  /* 5. collect and trim, then allocate again everywhere */
  hak_heap_collect(h[1]);
  after("hak_heap_collect");
  hak_trim();
  after("hak_trim");
  fill_heap(h[2], 100, 10, 2, 4242);
  fill_heap(NULL, 100, 10, 2, 999);
  realloc_chain(h[1], 77);
  /* 6. free everything, destroy the heaps, trim */
  for (int i = 0; i < nb; i++) release(i, B[i].h == h[0] ? (a ? a : h[1]) : B[i].h, B[i].h == NULL);
  for (int i = 0; i < 3; i++) { hak_heap_destroy(h[i]); after("hak_heap_destroy"); }
  hak_trim();
  after("hak_trim");
  /* 7. works again */
  void *x = ALLOC(malloc(100), "malloc tiny (end)"), *y = ALLOC(malloc(20000), "malloc mid (end)"),
       *z = ALLOC(malloc(1 << 20), "malloc large (end)");
  free(x); free(y); free(z);
  after("free (end)");
}

typedef struct { long k; int outage; } run_arg;
static void child(void *arg) {
  long k = ((run_arg *)arg)->k;
  int outage = ((run_arg *)arg)->outage;
  w_recovered = 0;
  w_k = k;
  w_outage_k = outage ? k : 0;
  w_nulls = w_errors = w_ops = 0;
  w_first[0] = w_fired[0] = 0;
  w_maps = 0;
  if (hak_os_fail_nth(outage ? 0 : k) != 0) { t_say("injection not compiled in\n"); _exit(3); }
  workload();
  long maps = w_maps;
  /* Probe, injection still armed: a fresh large mapping (BigCache and the
   * segment cache were trimmed).  It fails iff the countdown is pending. */
  w_cur = "probe";
  w_recovered = 1;   /* an outage still under way ends here */
  hak_trim();
  errno = 0;
  void *probe = malloc(5 << 20);
  /* With the wrapper, count: the k-th map happened.  Without it, the probe
   * (but release_for_retry may absorb even the probe's refused map). */
  int reached = maps > 0 ? k > 0 && maps >= k : probe != NULL;
  if (outage && probe == NULL) w_err("probe after the outage: NULL with errno %d", errno);
  if (probe == NULL && errno != ENOMEM) w_err("probe: NULL with errno %d", errno);
  free(probe);
  hak_os_fail_nth(0);
  /* Operation names contain spaces; the parent reads them with %s. */
  for (char *c = w_first; *c; c++) if (*c == ' ') *c = '_';
  for (char *c = w_fired; *c; c++) if (*c == ' ') *c = '_';
  t_say("RESULT nulls=%d errors=%d ops=%d reached=%d maps=%ld first=%s fired=%s\n", w_nulls, w_errors, w_ops,
        reached, maps, w_first[0] ? w_first : "-", !reached ? "-" : w_fired[0] ? w_fired : "?");
  _exit(w_errors ? 1 : 0);
}

/* ---- the sweep (parent) -------------------------------------------------- */
static void prewarm(void);
/* Map the checker's scratch memory (and the address-space map's leaves)
 * before forking, so the checker called after every operation never needs
 * a map of its own: the injected failure must hit the allocator. */
static void prewarm(void) {
  hak_heap *h = hak_heap_new();
  static void *p[24000];
  for (int i = 0; i < 24000; i++) p[i] = hak_heap_malloc(h, 1024);   /* ~12 tiny segments */
  char m[256];
  if (hak_check_all(m, sizeof m) != 0) t_say("  prewarm: %s\n", m);
  for (int i = 0; i < 24000; i++) hak_heap_free(h, p[i]);
  hak_heap_destroy(h);
  hak_trim();
}

typedef struct { int nulls, errors, ops, reached; long maps; char first[64], fired[64]; } result;

static int run_k(long k, int outage, result *r, char *why, size_t whylen) {
  static char out[16384], err[4096];
  run_arg a = { k, outage };
  int st = t_child(child, &a, 60, out, sizeof out, err, sizeof err);
  memset(r, 0, sizeof *r);
  const char *line = strstr(out, "RESULT ");
  if (!line || sscanf(line, "RESULT nulls=%d errors=%d ops=%d reached=%d maps=%ld first=%63s fired=%63s", &r->nulls,
                      &r->errors, &r->ops, &r->reached, &r->maps, r->first, r->fired) != 7) {
    char d[128];
    t_describe_status(st, d, sizeof d);
    snprintf(why, whylen, "k=%ld: child %s; stderr: %.300s; stdout: %.500s", k, d, err, out);
    return -1;
  }
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || r->errors) {
    snprintf(why, whylen, "k=%ld: %d errors:\n%.1500s", k, r->errors, out);
    return -1;
  }
  return 0;
}

/* Attribution table: operation name -> how often a refused map hit it,
 * and how often that surfaced as NULL. */
enum { NOPS = 40 };
static char opn[NOPS][64];
static int op_hit[NOPS], op_null[NOPS], nop;
static void attribute(const char *op, int surfaced) {
  int j;
  for (j = 0; j < nop && strcmp(opn[j], op) != 0; j++) {}
  if (j == nop) { if (nop == NOPS) return; snprintf(opn[nop++], sizeof opn[0], "%s", op); }
  op_hit[j]++;
  op_null[j] += surfaced;
}

static void sweep(int outage) {
  if (hak_os_fail_nth(0) != 0) { t_say("  failure injection not compiled in (need the check build)\n"); REQUIRE(0); }
  nop = 0;
  memset(op_hit, 0, sizeof op_hit);
  memset(op_null, 0, sizeof op_null);
  char why[2048];
  result r;
  double t0 = t_now();
  if (run_k(0, outage, &r, why, sizeof why) != 0) { t_say("  %s\n", why); REQUIRE(0); }
  CHECKF(r.nulls == 0, "baseline run without injection had %d NULLs", r.nulls);
  int ops = r.ops;
  long base_maps = r.maps;
  int bad = 0, surfaced = 0, absorbed = 0;
  long k, last = 0;
  for (k = 1; k <= 5000; k++) {
    double tk = t_now();
    int rc = run_k(k, outage, &r, why, sizeof why);
    if (getenv("SWEEP_VERBOSE")) t_say("  k=%ld rc=%d nulls=%d reached=%d fired=%s %.2fs\n", k, rc, r.nulls, r.reached, r.fired, t_now() - tk);
    if (rc != 0) { if (bad++ < 5) t_say("  %s\n", why); continue; }
    if (!r.reached) {
      CHECKF(r.nulls == 0, "k=%ld: not reached but %d NULLs", k, r.nulls);
      last = k - 1;
      break;
    }
    if (r.nulls > 1) { if (bad++ < 5) t_say("  k=%ld: %d operations failed, want at most 1 (first: %s)\n", k, r.nulls, r.first); }
    if (r.nulls) surfaced++; else absorbed++;
    if (r.nulls && strcmp(r.first, r.fired) != 0 && strcmp(r.fired, "?") != 0)
      if (bad++ < 5) t_say("  k=%ld: the map was refused in %s but %s returned NULL\n", k, r.fired, r.first);
    attribute(r.fired, r.nulls != 0);
  }
  CHECKF(last > 0, "the sweep did not end by k=%ld", k - 1);
  /* With the wrapper: the sweep covered every map of the baseline run. */
  if (base_maps > 0) CHECKF(last == base_maps, "swept %ld maps, the baseline run made %ld", last, base_maps);
  CHECKF(bad == 0, "%d runs went wrong", bad);
  char hist[2048];
  size_t o = 0;
  for (int j = 0; j < nop && o < sizeof hist; j++)
    o += (size_t)snprintf(hist + o, sizeof hist - o, "%s%s %d/%d", j ? ", " : "", opn[j], op_null[j], op_hit[j]);
  t_say("  %s sweep: %ld injected failure points (k = 1..%ld, every OS map of the workload): %d surfaced as NULL + "
        "ENOMEM (one operation each, retried successfully), %d absorbed (the operation still succeeded); checker "
        "clean after each of the %d operations of every run; %.1f s\n",
        outage ? "outage" : "one-shot", last, last, surfaced, absorbed, ops, t_now() - t0);
  t_say("  refused maps by operation (NULL/hit): %s\n", hist);
  t_say("SWEEP-COUNT %s %ld\n", outage ? "outage" : "one-shot", last);
}

/* One refused map (hak_os_fail_nth): hakmem may absorb it (a refill that
 * already holds blocks; or release_for_retry in alloc.c gives back cached
 * memory and the retry maps again), else NULL + ENOMEM. */
static void t_sweep_one_shot(void) { sweep(0); }
/* An outage (the --wrap wrapper): from the k-th map on, every map fails
 * until an operation has returned NULL; retrying inside hakmem cannot
 * help, so the failure must surface as NULL + ENOMEM, and allocation must
 * work once the OS is back. */
static void t_sweep_outage(void) { sweep(1); }

int main(void) {
  t_init(280);
  prewarm();
  T_RUN(t_sweep_one_shot);
  T_RUN(t_sweep_outage);
  return t_done();
}
