/* fuzz/mt.c: the fuzz/mt target.  The input's records are split into
 * per-thread scripts run by 2-4 real threads through the public API (each
 * thread's own heap, created on first use), exchanging blocks through a
 * shared transfer array, so frees really cross threads and heaps really
 * get abandoned (thread exit) and adopted.  The threads are a pool that
 * outlives an input: at the end of its script a thread abandons its heap
 * as thread exit would and waits for the next input; inputs keyed
 * HFZ_MT_EXIT_KEY (header byte 1) end with the threads really exiting
 * (the thread-exit path, hakmem's TLS destructor), and new ones start.
 * Creating 2-4 threads per input was most of an input's time under ASan
 * (its per-thread allocator caches and stacks, faulted in each time).
 * Fill patterns are checked when a block changes hands, at free and at
 * realloc; at each SYNC record every thread stops, checks its heap, and
 * thread 0 runs hak_check_all.  After the threads end their scripts, the
 * main thread frees what is left, checks, and resets.
 * Format: fuzz/FORMAT.md ("fuzz/mt").  Not deterministic: a replay runs the
 * same scripts under a different schedule. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "fuzz_common.h"

#define MAXT 4

/* The work budget of each thread's script, in fuzz/ops's units (its GAS:
 * about half a microsecond of the plain build): a record of the thread
 * costs 1, an allocation 1 more plus mt_alloc_work (its fill and verify,
 * calloc's zeroes, and the size/8 bytes of ASan shadow its allocation and
 * free write, in every build so the budget means one thing), a realloc
 * also its copy, a verify of a block the 4 KiB it reads.  A thread past
 * its budget skips its remaining records but still meets every SYNC, so
 * the others' scripts run as written; an allocation that would cost more
 * than what is left (and does not fail for its size) is skipped.  Without
 * it, 8 MiB callocs (the core's memset faulting in memory a large block
 * reused from BigCache only ever had touched in three places) were two
 * thirds of a corpus replay.  Inputs keyed HFZ_LONG_KEY (header byte 3)
 * get 8 times MT_GAS; HAKFUZZ_GAS=N overrides it (0: no limit). */
#define MT_GAS 1024
static long mt_gas = MT_GAS;
static long mt_alloc_work(size_t size, int zeroed) { return hfz_alloc_work(size, zeroed) + (long)(size >> 14); }

typedef struct mblk {           /* descriptor (libc memory), travels with the block */
  uint8_t *p;
  size_t   size;
  unsigned seed;
} mblk;

static _Atomic(mblk *) xfer[HFZ_MT_XFER];
static atomic_uint seedctr;
static const uint8_t *g_data;
static size_t g_nrec;
static long g_gas;               /* each thread's budget for this input */
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
  /* the map's answer, not hak_malloc_usable_size: that one also makes the
   * whole usable size addressable under ASan (as glibc lets a program use
   * it), a shadow memset of usable/8 bytes at every verify (14% of a
   * libFuzzer run, for 8 MiB blocks) that also hid overruns into the slack
   * from ASan; fresh() checks the API once per block */
  hak_block_info in;
  size_t us = hak_classify(m->p, &in) && !in.interior ? in.usable : 0;
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

/* Charge w units to a thread's budget *gas: 0 (and nothing charged) when
 * they are more than what is left. */
static int spend(long *gas, long w) {
  if (!mt_gas) return 1;
  if (w > *gas) return 0;
  *gas -= w;
  return 1;
}

static void run_script(unsigned t) {
  mblk *slot[HFZ_MT_SLOTS] = {0};
  long gas = g_gas;
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
    if (!spend(&gas, 1)) continue;
    unsigned aux = r[1] >> 2, s = r[2] & (HFZ_MT_SLOTS - 1);
    uint32_t v = hfz_le32(r + 4);
    size_t size = hfz_decode_size(r[3] & 7, r[3] >> 3, v);
    mblk **sl = &slot[s];
    void *p;
    int cheap = hfz_maps_nothing(size);
    switch (op) {
    case HFZ_MT_MALLOC: case HFZ_MT_CALLOC: case HFZ_MT_ALIGNED: {
      size_t align;
      int zero;
      const char *what;
      if (!cheap && !spend(&gas, 1 + mt_alloc_work(size, op == HFZ_MT_CALLOC))) break;
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
      size_t copy = m ? (m->size < size ? m->size : size) : 0;
      if (!cheap && !spend(&gas, 1 + mt_alloc_work(size, 0) + (long)(copy >> 12))) break;
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
      if (mine && !spend(&gas, (long)(hfz_fill_bytes(mine->size) >> 12))) break;
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
    case HFZ_MT_VERIFY:
      if (*sl && spend(&gas, (long)(hfz_fill_bytes((*sl)->size) >> 12))) verify(*sl, "verify");
      break;
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
}

/* ---- the thread pool ------------------------------------------------------
 * Worker t runs thread t's script of each input it is woken for (go[t]),
 * then posts `done`.  At the end of a script the worker gives its heap up
 * as thread exit does (unbind, abandon), so the next input finds the same
 * state a fresh thread would, or, when the input says so (g_exit), exits
 * for real: hakmem's TLS destructor abandons the heap. */
static pthread_t pool[MAXT];
static int pool_live[MAXT];
static sem_t go[MAXT], done;
static int g_exit;

static void *worker(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  for (;;) {
    while (sem_wait(&go[t]) != 0) {}
    run_script(t);
    int leave = g_exit;
    if (!leave) {
      hak_heap *h = hak_heap_bind(NULL);
      if (h) hak_heap_abandon(h);
    }
    sem_post(&done);
    if (leave) return NULL;                       /* TLS destructor abandons the heap */
  }
}

static void run_threads(unsigned n) {
  for (unsigned t = 0; t < n; t++) {
    if (!pool_live[t]) {
      if (sem_init(&go[t], 0, 0) != 0 || pthread_create(&pool[t], NULL, worker, (void *)(uintptr_t)t) != 0) abort();
      pool_live[t] = 1;
    }
    sem_post(&go[t]);
  }
  for (unsigned t = 0; t < n; t++) while (sem_wait(&done) != 0) {}
  if (g_exit)
    for (unsigned t = 0; t < n; t++) {
      pthread_join(pool[t], NULL);
      sem_destroy(&go[t]);
      pool_live[t] = 0;
    }
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
  if (sem_init(&done, 0, 0) != 0) abort();
  const char *g = getenv("HAKFUZZ_GAS");
  if (g && *g) mt_gas = strtol(g, NULL, 0);
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
  g_gas = (data[3] == HFZ_LONG_KEY ? 8 : 1) * mt_gas;
  atomic_store(&seedctr, data[2]);
  g_exit = data[1] == HFZ_MT_EXIT_KEY;
  pthread_barrier_init(&g_bar, NULL, g_nthreads);
  run_threads(g_nthreads);
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
