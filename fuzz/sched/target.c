/* fuzz/sched/target.c: the fuzz/sched target.  One input = per-thread
 * operation scripts (the fuzz/mt record format) + a schedule (format:
 * fuzz/sched/FORMAT.md).  The scripts run as 2-4 logical threads under the
 * controlled scheduler (sched_rt.c) against a core built with -DHAK_SCHED,
 * so every atomic operation of the core is a point where the schedule may
 * switch threads: remote push vs drain, local pop/refill, heap abandon and
 * adopt, reclaim, segment release all interleave at atomic granularity.
 *
 * Checks:
 *   after every operation (in the thread, scheduling off): hak_heap_check of
 *     the thread's own heap, and the first 16 bytes (where the allocator
 *     writes links and keys) of every live block of every thread;
 *   at every quiescent point (all threads between operations) and at SYNC
 *     and at the end: hak_check_all, every live block's whole fill pattern,
 *     and the ownership check: the set of blocks the heaps' visitor calls
 *     LIVE must equal the set the program holds (a block LIVE in the heap but
 *     freed by the program is a lost free; one the program holds but the
 *     heap lists as free/cached/remote is doubly owned);
 *   at the end: every block freed, so no LIVE block may remain; reset.
 * A finding prints "HAKFUZZ-FAIL[sched-...]: ..." and the scheduler's last
 * decisions, then aborts.  HAKSCHED_TRACE=1 prints every operation and
 * every switch. */
#include "fuzz_common.h"
#include "sched_rt.h"

#define MAXREC   512
#define NSL      HFZ_MT_SLOTS
#define NX       HFZ_MT_XFER
#define POOL     512
#define MAXHEAPS 256
#define MAXLIVE  (1u << 18)

typedef struct sblk {
  uint8_t *p;
  size_t   size;
  unsigned seed;
  int      busy;     /* inside a realloc: the allocator owns it for now */
  int      tier;
  struct sblk *next_free;
} sblk;

static struct {
  const uint8_t *rec;
  size_t    nrec;
  unsigned  n;
  unsigned  seedctr;
  sblk      pool[POOL];
  sblk     *free_desc;
  sblk     *slot[HS_MAXT][NSL];
  sblk     *xfer[NX];
  hak_heap *heaps[MAXHEAPS];
  unsigned  nheaps;
  unsigned long ops_done, ops_checked;
  int       trace;
} G;
/* scratch for the ownership check (static: nothing to free, nothing leaks) */
static void *live_scratch[MAXLIVE];
static void *mine_scratch[POOL + 16];

static const char *const opname[HFZ_MT_COUNT] = {
  "malloc", "calloc", "realloc", "aligned", "free", "send", "recv_free", "recv",
  "drain", "collect", "exit", "sync", "verify", "yield"
};

static unsigned decode(uint8_t b) {
  unsigned op = b % HFZ_MT_OPCODE_MOD;
  return op < HFZ_MT_COUNT ? op : (op == 14 ? HFZ_MT_MALLOC : HFZ_MT_SEND);
}

static void context(void) {
  fflush(stdout);
  hs_dump_once(2);
}

#define TRACE(...) do { if (G.trace) fprintf(stderr, __VA_ARGS__); } while (0)

/* ---- descriptors (a fixed pool: no allocation, same addresses every run) */
static sblk *desc_new(void) {
  sblk *m = G.free_desc;
  if (!m) hfz_fail("sched-harness", "descriptor pool exhausted");
  G.free_desc = m->next_free;
  memset(m, 0, sizeof *m);
  return m;
}
static void desc_free(sblk *m) { m->next_free = G.free_desc; G.free_desc = m; }

/* ---- heaps --------------------------------------------------------------- */
/* The calling logical thread's heap, or NULL (does not create one). */
static hak_heap *own_heap(void) {
  hak_heap *h = hak_heap_bind(NULL);
  hak_heap_bind(h);
  return h;
}

static void track_heap(hak_heap *h) {
  if (!h) return;
  for (unsigned i = 0; i < G.nheaps; i++) if (G.heaps[i] == h) return;
  if (G.nheaps == MAXHEAPS) hfz_fail("sched-harness", "more than %d heaps", MAXHEAPS);
  G.heaps[G.nheaps++] = h;
}

/* ---- blocks -------------------------------------------------------------- */
static void verify(const sblk *m, size_t limit, const char *when) {
  size_t off = hfz_verify(m->p, m->size, m->seed, limit);
  if (off != (size_t)-1)
    hfz_fail("sched-fill-corrupt", "%s: block %p (size %zu) byte %zu is 0x%02x, expected 0x%02x", when,
             (void *)m->p, m->size, off, m->p[off], hfz_pat[(m->seed + off) % HFZ_PERIOD]);
}

static const hfz_tags tags = { "sched-align", "sched-usable", "sched-calloc", "sched-null", "sched-errno" };

static void fresh(sblk *m, void *p, size_t size, size_t align, int zeroed, const char *what) {
  hfz_check_fresh(&tags, p, size, align, zeroed, what);
  hak_block_info bi;
  if (!hak_classify(p, &bi) || bi.interior) hfz_fail("sched-classify", "%s(%zu) = %p: not a block start", what, size, p);
  m->tier = bi.tier;
  m->p = (uint8_t *)p;
  m->size = size;
  m->seed = G.seedctr++ % HFZ_PERIOD;
  m->busy = 0;
  hfz_fill(p, size, m->seed);
}

static void null_ok(size_t size, int err, const char *what) { hfz_check_null(&tags, size, err, what); }

/* Free a block the program holds (removed from the shadow first: once the
 * free has started, the owner may hand the block out again). */
static void drop(sblk **sl, const char *what) {
  sblk *m = *sl;
  if (!m) return;
  hs_quiet_begin();
  verify(m, SIZE_MAX, what);
  hs_quiet_end();
  *sl = NULL;
  uint8_t *p = m->p;
  desc_free(m);
  if (hs_self() < 0) TRACE("hak-sched: main free %p\n", (void *)p);
  else TRACE("hak-sched: T%d free %p\n", hs_self(), (void *)p);
  /* Through the instruments' API: the ASan build's quarantine (which keeps a
   * hak_free'd block LIVE for a while) would defeat the ownership check. */
  hak_heap *h = own_heap();
  if (h) hak_heap_free(h, p);
  else hak_free(p);     /* no heap bound: a remote free, never quarantined */
}

/* ---- checks ---------------------------------------------------------------- */
static void for_each_block(void (*fn)(sblk *, void *), void *arg) {
  for (unsigned t = 0; t < G.n; t++)
    for (unsigned s = 0; s < NSL; s++) if (G.slot[t][s]) fn(G.slot[t][s], arg);
  for (unsigned x = 0; x < NX; x++) if (G.xfer[x]) fn(G.xfer[x], arg);
}

static void head_check(sblk *m, void *arg) {
  (void)arg;
  if (!m->busy) verify(m, 16, "after an operation (first 16 bytes)");
}
static void full_check(sblk *m, void *arg) {
  (void)arg;
  verify(m, SIZE_MAX, "at a quiescent point");
}

static void after_op(int tid, unsigned opno) {
  hs_quiet_begin();
  hak_heap *h = own_heap();
  track_heap(h);
  char msg[512];
  msg[0] = 0;
  if (h && hak_heap_check(h, msg, sizeof msg) != 0)
    hfz_fail("sched-checker", "hak_heap_check(heap %u) after T%d op #%u: %s", hak_heap_id(h), tid, opno, msg);
  for_each_block(head_check, NULL);
  G.ops_done++;
  hs_quiet_end();
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
  return x < y ? -1 : x > y;
}

typedef struct vctx { size_t n; int overflow; } vctx;
static void visit_live(void *arg, void *block, size_t usable, int cls, int state) {
  (void)usable; (void)cls;
  vctx *v = arg;
  if (state != HAK_BLOCK_LIVE) return;
  if (v->n == MAXLIVE) { v->overflow = 1; return; }
  live_scratch[v->n++] = block;
}
static void collect_mine(sblk *m, void *arg) {
  size_t *n = arg;
  if (m->tier == HAK_TIER_TINY || m->tier == HAK_TIER_MID) mine_scratch[(*n)++] = m->p;
}

static const char *state_name(int s) {
  static const char *const n[] = { "live", "cached", "free", "remote", "uncarved", "bigcache" };
  return s >= 0 && s <= 5 ? n[s] : "not a block";
}

/* Quiescent: nobody is inside the allocator. */
static void quiescent(int at_barrier) {
  if (!at_barrier && G.ops_checked == G.ops_done) return;
  G.ops_checked = G.ops_done;
  char msg[512];
  msg[0] = 0;
  if (hak_check_all(msg, sizeof msg) != 0)
    hfz_fail("sched-checker", "hak_check_all at a quiescent point%s: %s", at_barrier ? " (SYNC)" : "", msg);
  for_each_block(full_check, NULL);
  /* ownership: LIVE in the heaps == held by the program */
  vctx v = { 0, 0 };
  for (unsigned i = 0; i < G.nheaps; i++) hak_heap_visit_live(G.heaps[i], visit_live, &v);
  if (v.overflow) return;
  size_t nm = 0;
  for_each_block(collect_mine, &nm);
  qsort(live_scratch, v.n, sizeof(void *), cmp_ptr);
  qsort(mine_scratch, nm, sizeof(void *), cmp_ptr);
  size_t i = 0, j = 0;
  while (i < v.n || j < nm) {
    if (j == nm || (i < v.n && (uintptr_t)live_scratch[i] < (uintptr_t)mine_scratch[j])) {
      hak_block_info bi;
      int ok = hak_classify(live_scratch[i], &bi);
      hfz_fail("sched-lost-block", "block %p is LIVE in heap %u but the program does not hold it "
               "(a free was lost: the block is on no list)%s", live_scratch[i], ok && bi.owner ? hak_heap_id(bi.owner) : 0,
               at_barrier ? " (SYNC)" : "");
    }
    if (i == v.n || (uintptr_t)mine_scratch[j] < (uintptr_t)live_scratch[i])
      hfz_fail("sched-double-owner", "block %p is held by the program but its heap has it %s",
               mine_scratch[j], state_name(hak_block_state(mine_scratch[j])));
    i++, j++;
  }
}

/* ---- one operation ------------------------------------------------------------ */
static void do_op(int tid, unsigned op, const uint8_t *r) {
  unsigned aux = r[1] >> 2, s = r[2] & (NSL - 1);
  uint32_t v = hfz_le32(r + 4);
  size_t size = hfz_decode_size(r[3] & 7, r[3] >> 3, v);
  sblk **sl = &G.slot[tid][s];
  void *p;
  switch (op) {
  case HFZ_MT_MALLOC: case HFZ_MT_CALLOC: case HFZ_MT_ALIGNED: {
    size_t align;
    int zero;
    const char *what;
    drop(sl, "free (slot reuse)");
    errno = 0;
    p = hfz_mt_alloc(op, aux, &size, &align, &zero, &what);
    TRACE("hak-sched: T%d %s(%zu) = %p\n", tid, what, size, p);
    hs_quiet_begin();
    if (!p) null_ok(size, errno, what);
    else {
      if (hfz_must_fail(size)) hfz_fail("sched-impossible", "%s(%zu) succeeded", what, size);
      sblk *m = desc_new();
      fresh(m, p, size, align, zero, what);
      *sl = m;
    }
    hs_quiet_end();
    break;
  }
  case HFZ_MT_REALLOC: {
    sblk *m = *sl;
    if (m) { hs_quiet_begin(); verify(m, SIZE_MAX, "before realloc"); hs_quiet_end(); m->busy = 1; }
    errno = 0;
    p = hak_realloc(m ? m->p : NULL, size);
    TRACE("hak-sched: T%d hak_realloc(%p, %zu) = %p\n", tid, m ? (void *)m->p : NULL, size, p);
    hs_quiet_begin();
    if (m && size == 0) {
      if (p) hfz_fail("sched-realloc0", "hak_realloc(%p, 0) returned %p", (void *)m->p, p);
      desc_free(m);
      *sl = NULL;
    } else if (!p) {
      null_ok(size, errno, "hak_realloc");
      if (m) { m->busy = 0; verify(m, SIZE_MAX, "after failed realloc"); }
    } else {
      if (m) {
        size_t keep = m->size < size ? m->size : size;
        size_t off = hfz_verify(p, m->size, m->seed, keep);
        if (off != (size_t)-1) hfz_fail("sched-realloc", "hak_realloc(%zu -> %zu) byte %zu lost", m->size, size, off);
      } else {
        m = desc_new();
      }
      fresh(m, p, size, 16, 0, "hak_realloc");
      *sl = m;
    }
    hs_quiet_end();
    break;
  }
  case HFZ_MT_FREE: drop(sl, "hak_free"); break;
  case HFZ_MT_SEND: {
    sblk *mine = *sl;
    *sl = G.xfer[v % NX];
    G.xfer[v % NX] = mine;
    break;
  }
  case HFZ_MT_RECV_FREE: {
    sblk *got = G.xfer[v % NX];
    G.xfer[v % NX] = NULL;
    drop(&got, "free of a received block");
    break;
  }
  case HFZ_MT_RECV: {
    if (!G.xfer[v % NX]) break;
    drop(sl, "free (slot reuse)");
    *sl = G.xfer[v % NX];
    G.xfer[v % NX] = NULL;
    break;
  }
  case HFZ_MT_DRAIN:
    TRACE("hak-sched: T%d drain\n", tid);
    hak_heap_drain(hak_heap_current());
    break;
  case HFZ_MT_COLLECT:
    TRACE("hak-sched: T%d collect%s\n", tid, aux & 1 ? " + trim" : "");
    hak_heap_collect(hak_heap_current());
    if (aux & 1) hak_trim();
    break;
  case HFZ_MT_EXIT: {
    hak_heap *h = hak_heap_bind(NULL);
    TRACE("hak-sched: T%d exit (abandon heap %u)\n", tid, h ? hak_heap_id(h) : 0);
    if (h) hak_heap_abandon(h);
    break;
  }
  case HFZ_MT_VERIFY:
    if (*sl) { hs_quiet_begin(); verify(*sl, SIZE_MAX, "verify"); hs_quiet_end(); }
    break;
  case HFZ_MT_YIELD: break;   /* the boundary after it is the scheduling point */
  }
}

static void thread_main(int tid) {
  for (size_t i = 0; i <= G.nrec; i++) {
    const uint8_t *r = G.rec + i * HFZ_REC_LEN;
    unsigned op = i < G.nrec ? decode(r[0]) : HFZ_MT_SYNC;
    if (op == HFZ_MT_SYNC) {
      hs_set_op((unsigned)i, "sync");
      hs_barrier();
      continue;
    }
    if ((r[1] & 3) % G.n != (unsigned)tid) continue;
    hs_set_op((unsigned)i, opname[op]);
    do_op(tid, op, r);
    after_op(tid, (unsigned)i);
    hs_boundary();
  }
  /* thread exit: blocks outlive the thread (handed over through the transfer
   * array, a displaced one is freed here), then the heap is abandoned */
  hs_set_op((unsigned)G.nrec, "thread-exit");
  for (unsigned s = 0; s < NSL; s++) {
    if (!G.slot[tid][s]) continue;
    sblk *old = G.xfer[s % NX];
    G.xfer[s % NX] = G.slot[tid][s];
    G.slot[tid][s] = NULL;
    drop(&old, "thread exit");
  }
  hak_heap *h = hak_heap_bind(NULL);
  TRACE("hak-sched: T%d thread exit (abandon heap %u)\n", tid, h ? hak_heap_id(h) : 0);
  if (h) hak_heap_abandon(h);
  after_op(tid, (unsigned)G.nrec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  hfz_pattern_init();
  hfz_context = context;
  G.trace = getenv("HAKSCHED_TRACE") != NULL;
  hak_heap_bind(NULL);
  hak_debug_reset();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int inited;
  if (!inited) { inited = 1; LLVMFuzzerInitialize(NULL, NULL); }
  if (size < HFZ_HEADER_LEN + 2) return 0;
  size_t nrec = (size_t)data[4] | (size_t)data[5] << 8;
  size_t avail = (size - HFZ_HEADER_LEN - 2) / HFZ_REC_LEN;
  if (nrec > avail) nrec = avail;
  if (nrec > MAXREC) nrec = MAXREC;
  G.rec = data + HFZ_HEADER_LEN + 2;
  G.nrec = nrec;
  G.n = 2 + (data[0] & 3) % 3;
  G.seedctr = data[2];
  G.nheaps = 0;
  G.ops_done = 0;
  G.ops_checked = (unsigned long)-1;
  memset(G.slot, 0, sizeof G.slot);
  memset(G.xfer, 0, sizeof G.xfer);
  G.free_desc = NULL;
  for (int i = POOL - 1; i >= 0; i--) desc_free(&G.pool[i]);
  const uint8_t *sched = G.rec + nrec * HFZ_REC_LEN;
  size_t slen = size - (size_t)(sched - data);

  hs_init(G.n, thread_main, sched, slen, quiescent);
  if (hs_run() != 0) hfz_fail("sched-stuck", "no thread made progress for too long (deadlock or livelock)");

  /* the scheduler frees the leftovers (remote frees into abandoned heaps) */
  for (unsigned x = 0; x < NX; x++) drop(&G.xfer[x], "end of input");
  G.ops_done++;
  quiescent(1);   /* nothing is held any more: no block may be LIVE */
  hak_debug_reset();
  char msg[512];
  msg[0] = 0;
  if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("sched-checker", "hak_check_all after reset: %s", msg);
  hak_stats st;
  hak_stats_get(&st);
  if (st.large_live || st.heaps)
    hfz_fail("sched-reset-leak", "after hak_debug_reset: large_live %llu heaps %llu",
             (unsigned long long)st.large_live, (unsigned long long)st.heaps);
  if (G.trace) {
    hs_stats hs;
    hs_get_stats(&hs);
    fprintf(stderr, "hak-sched: done: %zu records, %u threads, %lu points, %lu decisions, %lu switches, "
            "%lu/%zu schedule bytes\n", G.nrec, G.n, hs.points, hs.decisions, hs.switches, hs.bytes_used, slen);
  }
  return 0;
}
