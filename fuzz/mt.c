/* fuzz/mt.c: the fuzz/mt target.  The input's records are split into
 * per-thread scripts run by 2-4 real threads through the public API (each
 * thread's own heap, created on first use), exchanging blocks through a
 * shared transfer array, so frees really cross threads and heaps really
 * get abandoned (thread exit) and adopted.  Fill patterns are checked when a
 * block changes hands, at free and at realloc; at each SYNC record every
 * thread stops, checks its heap, and thread 0 runs hak_check_all.  After the
 * threads exit, the main thread frees what is left, checks, and resets.
 * Format: fuzz/FORMAT.md ("fuzz/mt").  Not deterministic: a replay runs the
 * same scripts under a different schedule. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fuzz_common.h"

#define MAXT 4

typedef struct mblk {           /* descriptor (libc memory), travels with the block */
  uint8_t *p;
  size_t   size;
  unsigned seed;
} mblk;

static _Atomic(mblk *) xfer[HFZ_MT_XFER];
static atomic_uint seedctr;
static const uint8_t *g_data;
static size_t g_nrec;
static unsigned g_nthreads;
static pthread_barrier_t g_bar;

static unsigned decode(uint8_t b) {
  unsigned op = b % HFZ_MT_OPCODE_MOD;
  return op < HFZ_MT_COUNT ? op : (op == 14 ? HFZ_MT_MALLOC : HFZ_MT_SEND);
}

static void verify(const mblk *m, const char *when) {
  size_t off = hfz_verify(m->p, m->size, m->seed, SIZE_MAX);
  if (off != (size_t)-1)
    hfz_fail("fill-corrupt", "%s: block %p (size %zu) byte %zu is 0x%02x, expected 0x%02x", when,
             (void *)m->p, m->size, off, m->p[off], hfz_pat[(m->seed + off) % HFZ_PERIOD]);
  size_t us = hak_malloc_usable_size(m->p);
  if (us < m->size) hfz_fail("usable", "%s: block %p usable %zu < size %zu", when, (void *)m->p, us, m->size);
}

static const hfz_tags tags = { "align", "usable", "calloc-nonzero", "null", "errno" };

static void fresh(mblk *m, void *p, size_t size, size_t align, int zeroed, const char *what) {
  hfz_check_fresh(&tags, p, size, align, zeroed, what);
  m->p = (uint8_t *)p; m->size = size;
  m->seed = atomic_fetch_add_explicit(&seedctr, 1, memory_order_relaxed) % HFZ_PERIOD;
  hfz_fill(p, size, m->seed);
}

static void null_ok(size_t size, int err, const char *what) { hfz_check_null(&tags, size, err, what); }

static void drop(mblk **slot, const char *what) {
  mblk *m = *slot;
  if (!m) return;
  verify(m, what);
  hak_free(m->p);
  free(m);
  *slot = NULL;
}

static void check_own_heap(void) {
  char msg[512];
  msg[0] = 0;
  if (hak_heap_check(hak_heap_current(), msg, sizeof msg) != 0)
    hfz_fail("checker", "hak_heap_check(heap %u) at SYNC: %s", hak_heap_id(hak_heap_current()), msg);
}

static void *thread_main(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  mblk *slot[HFZ_MT_SLOTS] = {0};
  for (size_t i = 0; i <= g_nrec; i++) {
    const uint8_t *r = g_data + HFZ_HEADER_LEN + i * HFZ_REC_LEN;
    unsigned op = i < g_nrec ? decode(r[0]) : HFZ_MT_SYNC;
    if (op == HFZ_MT_SYNC) {                     /* everyone stops; check while quiescent */
      pthread_barrier_wait(&g_bar);
      for (int s = 0; s < HFZ_MT_SLOTS; s++) if (slot[s]) verify(slot[s], "SYNC");
      check_own_heap();
      pthread_barrier_wait(&g_bar);
      if (t == 0) {
        char msg[512];
        msg[0] = 0;
        if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "hak_check_all at SYNC: %s", msg);
      }
      pthread_barrier_wait(&g_bar);
      continue;
    }
    if ((r[1] & 3) % g_nthreads != t) continue;
    unsigned aux = r[1] >> 2, s = r[2] & (HFZ_MT_SLOTS - 1);
    uint32_t v = hfz_le32(r + 4);
    size_t size = hfz_decode_size(r[3] & 7, r[3] >> 3, v);
    mblk **sl = &slot[s];
    void *p;
    switch (op) {
    case HFZ_MT_MALLOC: case HFZ_MT_CALLOC: case HFZ_MT_ALIGNED: {
      size_t align;
      int zero;
      const char *what;
      drop(sl, "free (slot reuse)");
      errno = 0;
      p = hfz_mt_alloc(op, aux, &size, &align, &zero, &what);
      if (!p) { null_ok(size, errno, what); break; }
      if (hfz_must_fail(size)) hfz_fail("impossible", "%s(%zu) succeeded", what, size);
      mblk *m = malloc(sizeof *m);
      if (!m) abort();
      fresh(m, p, size, align, zero, what);
      *sl = m;
      break;
    }
    case HFZ_MT_REALLOC: {
      mblk *m = *sl;
      if (m) verify(m, "before realloc");
      errno = 0;
      p = hak_realloc(m ? m->p : NULL, size);
      if (m && size == 0) {
        if (p) hfz_fail("realloc0", "hak_realloc(%p, 0) returned %p", (void *)m->p, p);
        free(m); *sl = NULL;
        break;
      }
      if (!p) { null_ok(size, errno, "hak_realloc"); if (m) verify(m, "after failed realloc"); break; }
      if (m) {
        size_t keep = m->size < size ? m->size : size;
        size_t off = hfz_verify(p, m->size, m->seed, keep);
        if (off != (size_t)-1) hfz_fail("realloc-prefix", "hak_realloc(%zu -> %zu) byte %zu lost", m->size, size, off);
      } else if (!(m = malloc(sizeof *m))) abort();
      fresh(m, p, size, 16, 0, "hak_realloc");
      *sl = m;
      break;
    }
    case HFZ_MT_FREE: drop(sl, "hak_free"); break;
    case HFZ_MT_SEND: {
      mblk *mine = *sl;
      if (mine) verify(mine, "send");
      mblk *got = atomic_exchange(&xfer[v % HFZ_MT_XFER], mine);
      if (got) verify(got, "receive (swap)");
      *sl = got;
      break;
    }
    case HFZ_MT_RECV_FREE: {
      mblk *got = atomic_exchange(&xfer[v % HFZ_MT_XFER], NULL);
      drop(&got, "free of a received block");
      break;
    }
    case HFZ_MT_RECV: {
      if (!atomic_load_explicit(&xfer[v % HFZ_MT_XFER], memory_order_relaxed)) break;
      drop(sl, "free (slot reuse)");
      mblk *got = atomic_exchange(&xfer[v % HFZ_MT_XFER], NULL);
      if (got) verify(got, "receive");
      *sl = got;
      break;
    }
    case HFZ_MT_DRAIN:   hak_heap_drain(hak_heap_current()); break;
    case HFZ_MT_COLLECT: hak_heap_collect(hak_heap_current()); break;
    case HFZ_MT_EXIT: {
      hak_heap *h = hak_heap_bind(NULL);
      if (h) hak_heap_abandon(h);
      break;
    }
    case HFZ_MT_VERIFY: if (*sl) verify(*sl, "verify"); break;
    case HFZ_MT_YIELD:  sched_yield(); break;
    }
  }
  /* blocks outlive the thread: hand them to the transfer array or leave them
   * in the global leftovers, the main thread frees them after the join */
  for (int s = 0; s < HFZ_MT_SLOTS; s++) {
    if (!slot[s]) continue;
    mblk *old = atomic_exchange(&xfer[s % HFZ_MT_XFER], slot[s]);
    slot[s] = NULL;
    if (old) {                                    /* free the displaced one ourselves */
      verify(old, "thread exit");
      hak_free(old->p);
      free(old);
    }
  }
  return NULL;                                    /* TLS destructor abandons the heap */
}

/* After the join every block the program held has been freed, so a LIVE
 * block still in a heap is one the allocator lost: a remote free dropped by
 * a push, a drain or an adoption (it is in no list and nobody holds it; the
 * checker cannot tell it from a block in use, only the program can). */
typedef struct { unsigned n; void *first; int cls; } live_count;
static void count_live(void *arg, void *block, size_t usable, int cls, int state) {
  (void)usable; (void)state;
  live_count *c = arg;
  if (c->n++ == 0) { c->first = block; c->cls = cls; }
}
static void expect_no_live(hak_heap *h, const char *which) {
  live_count c = { 0, NULL, -1 };
  hak_heap_visit_live(h, count_live, &c);
  if (c.n)
    hfz_fail("visit", "after join: %s %u holds %u LIVE blocks (first %p, cls %d) though the program freed "
             "every block (lost frees)", which, hak_heap_id(h), c.n, c.first, c.cls);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  hfz_pattern_init();
  hak_heap_bind(NULL);
  hak_debug_reset();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int inited;
  if (!inited) { inited = 1; LLVMFuzzerInitialize(NULL, NULL); }
  if (size < HFZ_HEADER_LEN) return 0;
  g_data = data;
  g_nrec = (size - HFZ_HEADER_LEN) / HFZ_REC_LEN;
  if (g_nrec > 2048) g_nrec = 2048;
  g_nthreads = 2 + (data[0] & 3) % 3;
  atomic_store(&seedctr, data[2]);
  pthread_barrier_init(&g_bar, NULL, g_nthreads);
  pthread_t th[MAXT];
  for (unsigned t = 0; t < g_nthreads; t++)
    if (pthread_create(&th[t], NULL, thread_main, (void *)(uintptr_t)t) != 0) abort();
  for (unsigned t = 0; t < g_nthreads; t++) pthread_join(th[t], NULL);
  pthread_barrier_destroy(&g_bar);

  /* the main thread frees the leftovers (remote frees into abandoned heaps) */
  for (int i = 0; i < HFZ_MT_XFER; i++) {
    mblk *m = atomic_exchange(&xfer[i], NULL);
    if (m) { verify(m, "end of input"); hak_free(m->p); free(m); }
  }
  char msg[512];
  msg[0] = 0;
  if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "hak_check_all after join: %s", msg);
  /* Adopt every abandoned heap (the threads' heaps, which the leftovers
   * above were just freed into: adoption must drain those frees) and look
   * for lost blocks; the adopted heaps are unbound, hak_debug_reset frees
   * them. */
  hak_heap *h;
  while ((h = hak_heap_adopt()) != NULL) expect_no_live(h, "adopted heap");
  h = hak_heap_bind(NULL);
  if (h) { expect_no_live(h, "main thread's heap"); hak_heap_abandon(h); }
  hak_debug_reset();
  msg[0] = 0;
  if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "hak_check_all after reset: %s", msg);
  hak_stats st;
  hak_stats_get(&st);
  if (st.large_live || st.heaps)
    hfz_fail("reset-leak", "after hak_debug_reset: large_live %llu heaps %llu",
             (unsigned long long)st.large_live, (unsigned long long)st.heaps);
  return 0;
}
