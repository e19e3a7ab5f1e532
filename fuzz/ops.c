/* fuzz/ops.c: the fuzz/ops target.  An input is a program of operations over
 * several explicit heaps driven from one OS thread (format: fuzz/FORMAT.md,
 * fuzz/ops_emit.h).  A shadow model keeps every live block and checks the
 * allocator after each operation; the core's checker runs every k-th op.
 * Any violation prints "HAKFUZZ-FAIL[tag]: ..." with the last operations
 * and aborts.  Allocator state is reset at the end of every input.
 *
 * This file only defines LLVMFuzzerTestOneInput / LLVMFuzzerInitialize; it
 * is linked with libFuzzer, with fuzz/afl_driver.c or with fuzz/replay.c.
 * HAKFUZZ_TRACE=1 in the environment prints every operation. */
#include "fuzz_common.h"

/* The model's bookkeeping, kept out of coverage by fuzz/uninstrumented.txt,
 * which names functions as they are after inlining. */
#define MODEL __attribute__((noinline))

#define NSLOTS   HFZ_SLOTS
#define NHEAPS   HFZ_HEAPS
#define MAXAB    32
#define RING     24
#define NTOT     (NSLOTS + HFZ_BULK) /* entries 0..63: slots; 64..: the bulk pool */
#define BUDGET   ((size_t)16 << 20)  /* live requested bytes; allocations beyond are skipped */
#define DEEP_BULK 32                 /* bulk blocks checked per deep check */
#define MAXLARGE 8                   /* large blocks per bulk operation (each is a mapping) */

/* The work budget of one input, in units of roughly half a microsecond of
 * the plain build: a record costs 1, a block allocated 1 more plus 1 per
 * 4 KiB of what it touches (hfz_alloc_work: its fill, its verify at free,
 * calloc's zeroes; a moving realloc's copy), a checker run 2 + peak/16 (its
 * walk grows with the blocks the heaps have carved; peak live blocks stands
 * in for that), twice that when deep, plus 1 per 4 KiB of fills a deep
 * check verifies, a keyed trim GAS_TRIM.  When the budget
 * is spent the remaining records are skipped; the end of input still frees
 * everything and checks.  Without it a few inputs (thousands of blocks,
 * checked after every op) took 80-90% of a corpus replay and added hit
 * counts, not lines (measured on the 997-input corpus: inputs under 200 us
 * cover all but 5 of its lines).  An allocation that would cost more than
 * what is left is skipped (over_gas).  Inputs keyed HFZ_LONG_KEY or
 * HFZ_OOM_KEY (fuzz/ops_emit.h) get 8 times GAS: 8192 was everyone's
 * budget until 1024 replayed corpus/ops at 2.9x the executions a second
 * with the same lines of src/ covered (3 stored reproducers need the key).
 * HAKFUZZ_GAS=N overrides GAS (0: no limit); inputs found under another
 * budget need the same one to replay. */
#define GAS 1024
#define GAS_TRIM 1024   /* a trim empties the caches: what follows faults memory in again */

typedef struct blk {
  uint8_t  *p;
  size_t    size, usable, align;
  hak_heap *owner;          /* NULL for large blocks */
  int       tier, cls;
  uint8_t   seed, kind, live;
} blk;
enum { KIND_MALLOC = 0, KIND_ALIGNED_ALLOC = 1, KIND_MEMALIGN = 2 };

static struct state {
  blk       b[NTOT];
  int       nlive;          /* live entries, in the address treap below */
  int       nbulk;          /* live entries in the bulk pool */
  size_t    live_bytes;     /* sum of the live blocks' requested sizes */
  hak_heap *hs[NHEAPS];     /* heap slots */
  hak_heap *ab[MAXAB];      /* abandoned heaps, oldest first */
  int       nab;
  hak_heap *bound;          /* the thread's binding, always NULL or in hs[] */
  int       may_fail;       /* an injected OS failure armed in this record or one before, not consumed before this record */
  unsigned  every, deep, keep, oom;   /* oom: header byte 3 is HFZ_OOM_KEY */
  unsigned  seed;
  unsigned  opno, nops;
  long      gas;            /* work budget left (see GAS) */
  int       peak;           /* most live blocks so far in this input */
  int       state_checks;   /* block-state checks left after frees (-1: no limit) */
  unsigned  rot;            /* deep checks' window over the bulk blocks */
  const uint8_t *rec;       /* current record */
  const uint8_t *ring[RING];
  unsigned  ringno[RING];
} S;

/* ASan builds of the core park blocks freed by the public hak_free in a
 * quarantine (src/quarantine.c) where the core still counts them as live:
 * the visitor and hak_block_state report them LIVE until they are evicted
 * (FIFO of at most 1024 blocks) or flushed (heap destroy and abandon,
 * hak_debug_reset).
 * The model keeps the last QRING addresses hak_free was given and accepts
 * a LIVE report for those only.  QRING is twice the core's FIFO length, so
 * an address that left the ring has left the quarantine too. */
#if defined(__SANITIZE_ADDRESS__)
#  define QUARANTINE 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define QUARANTINE 1
#  endif
#endif
#ifndef QUARANTINE
#  define QUARANTINE 0
#endif
#define QRING 2048
static void *qring[QRING];
static unsigned qnext;

static void quarantine_note(void *p) {
  if (QUARANTINE) qring[qnext++ % QRING] = p;
}
MODEL static int maybe_quarantined(const void *p) {
  for (unsigned i = 0; QUARANTINE && i < QRING; i++) if (qring[i] == p) return 1;
  return 0;
}
static void quarantine_flushed(void) {      /* heap destroy and reset flush it */
  if (QUARANTINE) { memset(qring, 0, sizeof qring); qnext = 0; }
}

/* The core reads its options once, in its own constructor: these run
 * first.  Caches big enough for what one input may hold (BUDGET) mean the
 * reset between inputs hands the next one memory that is already mapped
 * and faulted in; with the defaults (8 segments, 16 MiB) most inputs
 * mapped afresh and spent their time in page faults.  The eviction paths
 * this leaves idle run in fuzz/mt, the property suite and the unit tests,
 * which keep the defaults.  The environment still wins. */
__attribute__((constructor(101))) static void fuzz_options(void) {
  setenv("HAKMEM_SEGMENT_CACHE", "128", 0);   /* src/heap.c: 64 of them are the canonical set */
  setenv("HAKMEM_BIGCACHE_MB", "256", 0);
}

static int trace;

/* Determinism trace: a hash of what each allocation returned (the record
 * number, the address's offset within its 2 MiB granule, usable size, tier,
 * class) and of the work budget left at the end.  Two runs of one input in
 * one process must give the same hash, or a persistent-mode fuzzer sees a
 * different program each time (unstable edges; replays that miss).  Read
 * by fuzz/replay.c -d (make check-determinism). */
static uint64_t trace_h;
static void trace_mix(uint64_t v) { trace_h = (trace_h ^ v) * 0x100000001b3ull; }
uint64_t hfz_trace_hash(void);
uint64_t hfz_trace_hash(void) { return trace_h; }
static long gas_limit = GAS;

/* Charge n units of work; 0 once the input's budget is spent. */
static int spend(long n) {
  if (!gas_limit) return 1;
  S.gas -= n;
  return S.gas > 0;
}
static const char *const opname[HFZ_OP_COUNT] = {
  "malloc", "calloc", "realloc", "aligned", "free", "free_by", "drain", "abandon", "adopt",
  "collect", "usable", "trim", "plain_alloc", "plain_free", "bind", "destroy", "check",
  "osfail", "refill", "bulk_alloc", "bulk_free"
};
static const uint8_t aliases[] = HFZ_OP_ALIASES;

static unsigned decode_op(uint8_t b) {
  unsigned op = b % HFZ_OPCODE_MOD;
  return op < HFZ_OP_COUNT ? op : aliases[op - HFZ_OP_COUNT];
}

static void describe(const uint8_t *r, char *out, size_t len) {
  unsigned op = decode_op(r[0]);
  unsigned mode = r[3] & 7, param = r[3] >> 3;
  uint32_t v = hfz_le32(r + 4);
  snprintf(out, len, "%-11s heap=%u aux=%-2u slot=%-2u x=%u size=%zu (mode %u param %u v %u)",
           opname[op], r[1] & 3, r[1] >> 2, r[2] & 63, r[2] >> 6,
           hfz_decode_size(mode, param, v), mode, param, v);
}

static void print_context(void) {
  char d[160];
  fprintf(stderr, "hakfuzz: failing op #%u of %u; last operations:\n", S.opno, S.nops);
  unsigned first = S.opno + 1 > RING ? S.opno + 1 - RING : 0;
  for (unsigned i = first; i <= S.opno && i < S.nops; i++) {
    unsigned k = i % RING;
    if (!S.ring[k] || S.ringno[k] != i) continue;
    describe(S.ring[k], d, sizeof d);
    fprintf(stderr, "  #%-4u %s\n", i, d);
  }
  fprintf(stderr, "hakfuzz: heaps:");
  for (int i = 0; i < NHEAPS; i++)
    if (S.hs[i]) fprintf(stderr, " [%d]=id%u%s", i, hak_heap_id(S.hs[i]), S.hs[i] == S.bound ? "(bound)" : "");
  fprintf(stderr, "; %d abandoned; %d live blocks\n", S.nab, S.nlive);
}

/* ---- the live set, ordered by address -----------------------------------------
 * A treap over the entries (node = entry index, key = block address): the
 * overlap check needs each new block's neighbours, and bulk operations
 * hold thousands of blocks, where a sorted array spent most of a run
 * shifting itself.  A node's fields share a cache line. */
static struct tnode { uintptr_t k; int l, r; uint32_t prio; } T[NTOT];
static int troot = -1;
static uint32_t tseed = 2463534242u;

static size_t ext(const blk *b) { return b->usable ? b->usable : 1; }

/* Address -> entry for lookups (the DEEP visitor asks once per live
 * block): open addressing, linear probing, deletion by backward shift. */
#define HBITS 15                        /* 32768 cells > 2 * NTOT */
#define HMASK ((1u << HBITS) - 1)
static uintptr_t hkey[1u << HBITS];     /* 0: empty cell */
static int hval[1u << HBITS];

static unsigned hcell(uintptr_t a) { return (unsigned)(((uint64_t)a >> 4) * 0x9e3779b97f4a7c15ull >> (64 - HBITS)); }

MODEL static void hput(uintptr_t a, int e) {
  unsigned i = hcell(a);
  while (hkey[i]) i = (i + 1) & HMASK;
  hkey[i] = a;
  hval[i] = e;
}

MODEL static void hdel(uintptr_t a) {
  unsigned i = hcell(a);
  while (hkey[i] != a) {
    if (!hkey[i]) hfz_fail("harness", "address %p not in the lookup table", (void *)a);
    i = (i + 1) & HMASK;
  }
  for (unsigned j = i;;) {                /* pull later cells of the run back over the hole */
    j = (j + 1) & HMASK;
    if (!hkey[j]) break;
    unsigned home = hcell(hkey[j]);
    if (((j - home) & HMASK) >= ((j - i) & HMASK)) { hkey[i] = hkey[j]; hval[i] = hval[j]; i = j; }
  }
  hkey[i] = 0;
}

/* Split t into keys < a (*lo) and keys >= a (*hi). */
MODEL static void tsplit(int t, uintptr_t a, int *lo, int *hi) {
  if (t < 0) { *lo = *hi = -1; return; }
  if (T[t].k < a) { tsplit(T[t].r, a, &T[t].r, hi); *lo = t; }
  else { tsplit(T[t].l, a, lo, &T[t].l); *hi = t; }
}

/* Join two treaps, every key of lo below every key of hi. */
MODEL static int tmerge(int lo, int hi) {
  if (lo < 0) return hi;
  if (hi < 0) return lo;
  if (T[lo].prio > T[hi].prio) { T[lo].r = tmerge(T[lo].r, hi); return lo; }
  T[hi].l = tmerge(lo, T[hi].l);
  return hi;
}

/* Node n (key and priority set) into t: down to where its priority
 * belongs, then the subtree there is split around it. */
MODEL static int tinsert(int t, int n) {
  if (t < 0) return n;
  if (T[n].prio > T[t].prio) { tsplit(t, T[n].k, &T[n].l, &T[n].r); return n; }
  if (T[n].k < T[t].k) T[t].l = tinsert(T[t].l, n);
  else T[t].r = tinsert(T[t].r, n);
  return t;
}

/* The live entry with the largest key below a, and the one with the
 * smallest key at or above a (-1: none). */
MODEL static void tneighbours(uintptr_t a, int *below, int *above) {
  *below = *above = -1;
  for (int t = troot; t >= 0;) {
    if (T[t].k < a) { *below = t; t = T[t].r; }
    else { *above = t; t = T[t].l; }
  }
}

MODEL static int lookup(const void *p) {      /* live slot whose block starts at p, or -1 */
  for (unsigned i = hcell((uintptr_t)p); hkey[i]; i = (i + 1) & HMASK)
    if (hkey[i] == (uintptr_t)p) return hval[i];
  return -1;
}

/* The live entries in address order, into out (room for NTOT); returns S.nlive.
 * snap is the one buffer for it: full_check, op_destroy, end_of_input and
 * forget_all each take a snapshot and are done with it before the next. */
static int snap[NTOT];
MODEL static int live_in_order(int *out) {
  int stack[NTOT], sp = 0, n = 0, t = troot;
  while (t >= 0 || sp > 0) {
    while (t >= 0) { stack[sp++] = t; t = T[t].l; }
    t = stack[--sp];
    out[n++] = t;
    t = T[t].r;
  }
  if (n != S.nlive) hfz_fail("harness", "live set holds %d entries, counted %d", n, S.nlive);
  return n;
}

MODEL static void set_insert(int slot) {
  blk *b = &S.b[slot];
  uintptr_t a = (uintptr_t)b->p, e = a + ext(b);
  int q, r;
  tneighbours(a, &q, &r);
  if (q >= 0 && T[q].k + ext(&S.b[q]) > a)
    hfz_fail("overlap", "new block %p+%zu (slot %d) overlaps live block %p+%zu (slot %d)",
             (void *)b->p, ext(b), slot, (void *)S.b[q].p, ext(&S.b[q]), q);
  if (r >= 0 && T[r].k < e)
    hfz_fail("overlap", "new block %p+%zu (slot %d) overlaps live block %p+%zu (slot %d)",
             (void *)b->p, ext(b), slot, (void *)S.b[r].p, ext(&S.b[r]), r);
  tseed ^= tseed << 13; tseed ^= tseed >> 17; tseed ^= tseed << 5;
  T[slot] = (struct tnode){ a, -1, -1, tseed };
  troot = tinsert(troot, slot);
  hput(a, slot);
  if (++S.nlive > S.peak) S.peak = S.nlive;
  S.live_bytes += b->size;
  b->live = 1;
  if (slot >= NSLOTS) S.nbulk++;
}

MODEL static void set_remove(int slot) {
  uintptr_t a = T[slot].k;
  int *link = &troot;
  while (*link >= 0 && *link != slot) link = a < T[*link].k ? &T[*link].l : &T[*link].r;
  if (*link != slot) hfz_fail("harness", "slot %d not in the live set", slot);
  *link = tmerge(T[slot].l, T[slot].r);
  hdel(a);
  S.nlive--;
  S.live_bytes -= S.b[slot].size;
  S.b[slot].live = 0;
  if (slot >= NSLOTS) S.nbulk--;
}

/* Would a successful allocation of size bytes exceed the budget?  (Sizes
 * that must fail are always tried.) */
static int over_budget(size_t size) {
  return !hfz_maps_nothing(size) && size > BUDGET - S.live_bytes;
}

/* Would it cost more work than the input has left (hfz_alloc_work; copy: the
 * bytes a moving realloc copies)?  Then it is skipped.  Charged only after
 * the call, a 15 MiB calloc with 10 units left ran its memset anyway, and
 * inputs past their budget still took milliseconds. */
static int over_gas(size_t size, int zeroed, size_t copy) {
  if (!gas_limit || hfz_maps_nothing(size)) return 0;
  long w = 1 + hfz_alloc_work(size, zeroed) + (long)(copy >> 12);
  if (w < S.gas) return 0;
  if (trace) fprintf(stderr, "#%-4u skipped: %ld units of work, %ld left\n", S.opno, w, S.gas);
  return 1;
}

/* May a call return NULL + ENOMEM because of the injected OS failure
 * (osfail)?  The failure is one-shot: only the operation (record) during
 * which it was consumed can show it; a NULL while it is still pending, or
 * in any later record, is a finding (the record loop clears may_fail once
 * it has been consumed).  A core built without HAK_FUZZ has no
 * hak_fuzz_os_fail_pending: then every operation after osfail may fail. */
static int fail_explained(void) {
  if (!S.may_fail) return 0;
  return !hak_fuzz_os_fail_pending || hak_fuzz_os_fail_pending() == 0;
}

/* ---- heaps ------------------------------------------------------------------- */
static int heap_slot(const hak_heap *h) {
  for (int i = 0; i < NHEAPS; i++) if (h && S.hs[i] == h) return i;
  return -1;
}

static hak_heap *heap_get(int i) {
  if (!S.hs[i]) {
    errno = 0;
    hak_heap *h = hak_heap_new();
    if (!h) {
      if (fail_explained() && errno == ENOMEM) return NULL;
      hfz_fail("heap-new", "hak_heap_new() returned NULL (errno %d)", errno);
    }
    if (heap_slot(h) >= 0) hfz_fail("heap-new", "hak_heap_new() returned a heap already in use");
    for (int k = 0; k < S.nab; k++)
      if (S.ab[k] == h) hfz_fail("heap-new", "hak_heap_new() returned an abandoned heap");
    S.hs[i] = h;
  }
  return S.hs[i];
}

static void unbind_if(hak_heap *h) {
  if (S.bound && S.bound == h) {
    hak_heap *prev = hak_heap_bind(NULL);
    if (prev != h) hfz_fail("bind", "hak_heap_bind(NULL) returned %p, bound was %p", (void *)prev, (void *)h);
    S.bound = NULL;
  }
}

/* ---- block checks ------------------------------------------------------------- */
MODEL static void verify_fill(int slot, size_t limit, const char *when) {
  blk *b = &S.b[slot];
  size_t off = hfz_verify(b->p, b->size, b->seed, limit);
  if (off != (size_t)-1) {
    unsigned exp = hfz_pat[(b->seed + off) % HFZ_PERIOD];
    hfz_fail("fill-corrupt", "%s: block %p (slot %d, size %zu, usable %zu, tier %d, cls %d) byte %zu "
             "is 0x%02x, expected 0x%02x", when, (void *)b->p, slot, b->size, b->usable, b->tier,
             b->cls, off, b->p[off], exp);
  }
}

static int expect_null_ok(size_t size, int must_fail, int err, const char *what) {
  if (must_fail) {
    if (err != ENOMEM) hfz_fail("errno", "%s(%zu) returned NULL with errno %d, not ENOMEM", what, size, err);
    return 1;
  }
  if (size >= HFZ_MAYFAIL_SIZE || fail_explained()) {
    if (err != ENOMEM) hfz_fail("errno", "%s(%zu) returned NULL with errno %d, not ENOMEM", what, size, err);
    return 1;
  }
  hfz_fail("null", "%s(%zu) returned NULL (errno %d)", what, size, err);
}

/* Work units (GAS) of a block's life beyond its record, by the bytes
 * touched: the model fills it and verifies it at free (the whole block up
 * to HFZ_WHOLE, three regions of a larger one), calloc's zeroes are
 * written by the core and read by the model (the whole request: the
 * canonical span is dirty whole).  One unit per 4 KiB, about the half
 * microsecond a unit stands for (memset/memcmp at ~8 GB/s); page faults
 * are not charged: after the canonical reset an input's memory is mostly
 * resident.  Before, a block cost size/16 KiB: 65 units for a 1 MiB block
 * that touches 8 KiB, 5 for a 64 KiB one that touches 128 KiB. */

/* Record and check a fresh block.  owner: the heap that allocated it
 * (alt: also acceptable, for in-place realloc). */
static void post_alloc(int slot, void *p, size_t size, size_t align, hak_heap *owner, hak_heap *alt,
                       int kind, int zeroed, size_t min_usable, const char *what) {
  int inplace = alt != NULL;   /* in-place realloc: the block may keep its tier and class */
  blk *b = &S.b[slot];
  size_t a = align < 16 ? 16 : align;
  if ((uintptr_t)p % a) hfz_fail("align", "%s(%zu, align %zu) = %p is misaligned", what, size, align, p);
  size_t us = hak_malloc_usable_size(p);
  if (us < size || us < min_usable)
    hfz_fail("usable", "%s(%zu) = %p: usable size %zu < request", what, size, p, us);
  hak_block_info in;
  memset(&in, 0, sizeof in);
  if (!hak_classify(p, &in)) hfz_fail("classify", "%s(%zu) = %p: hak_classify does not know it", what, size, p);
  if (in.block != p || in.interior)
    hfz_fail("classify", "%s(%zu) = %p: classify says block %p interior %d", what, size, p, in.block, in.interior);
  if (in.usable != us)
    hfz_fail("classify", "%s(%zu) = %p: classify usable %zu != malloc_usable_size %zu", what, size, p, in.usable, us);
  if (size > 1) {
    hak_block_info e;
    if (!hak_classify((char *)p + size - 1, &e) || e.block != p || !e.interior)
      hfz_fail("classify", "%s(%zu) = %p: last byte not classified inside the block", what, size, p);
  }
  if (in.tier == HAK_TIER_LARGE) {
    if (in.cls != -1 || in.owner) hfz_fail("classify", "large block %p: cls %d owner %p", p, in.cls, (void *)in.owner);
    if (align <= 16 && size <= HAK_MID_MAX && kind != KIND_MEMALIGN && !inplace)
      hfz_fail("tier", "%s(%zu) = %p is a large block", what, size, p);
  } else if (in.tier == HAK_TIER_TINY || in.tier == HAK_TIER_MID) {
    if (hak_class_tier(in.cls) != in.tier || hak_class_size(in.cls) != us)
      hfz_fail("classify", "block %p: tier %d cls %d (class size %zu, tier %d) usable %zu", p, in.tier, in.cls,
               hak_class_size(in.cls), hak_class_tier(in.cls), us);
    if (size > HAK_MID_MAX) hfz_fail("tier", "%s(%zu) = %p is in tier %d", what, size, p, in.tier);
    if (align <= 16 && kind == KIND_MALLOC && !inplace) {
      int want = size <= HAK_TINY_MAX ? HAK_TIER_TINY : HAK_TIER_MID;
      if (in.tier != want) hfz_fail("tier", "%s(%zu) = %p is in tier %d, not %d", what, size, p, in.tier, want);
      if (in.cls != hak_size_class(size))
        hfz_fail("class", "%s(%zu) = %p has class %d, hak_size_class says %d", what, size, p, in.cls, hak_size_class(size));
    }
    if (in.owner != owner && (!alt || in.owner != alt))
      hfz_fail("owner", "%s(%zu) = %p: owner heap %u, allocated by heap %u", what, size, p,
               in.owner ? hak_heap_id(in.owner) : 0u, owner ? hak_heap_id(owner) : 0u);
  } else {
    hfz_fail("classify", "%s(%zu) = %p: tier %d", what, size, p, in.tier);
  }
  spend(1 + hfz_alloc_work(size, zeroed));
  trace_mix(S.opno); trace_mix((uintptr_t)p & (((uintptr_t)2 << 20) - 1));  /* src/config.h HAK_GRANULE */ trace_mix(us);
  trace_mix((uint64_t)(unsigned)in.tier << 32 | (unsigned)in.cls);
  b->p = (uint8_t *)p; b->size = size; b->usable = us; b->align = a;
  b->owner = in.owner; b->tier = in.tier; b->cls = in.cls; b->kind = (uint8_t)kind;
  set_insert(slot);
  b->seed = (uint8_t)(S.seed++ % HFZ_PERIOD);
  if (zeroed) {
    size_t off = hfz_verify_zero(p, size, b->seed);
    if (off != (size_t)-1)
      hfz_fail("calloc-nonzero", "%s(%zu) = %p: byte %zu is 0x%02x", what, size, p, off, ((uint8_t *)p)[off]);
  }
  hfz_fill(p, size, b->seed);
}

/* hak_block_state walks the thread cache, the slab's free list and the
 * remote queue: asked after each of thousands of bulk frees it was a tenth
 * of a run, so a bulk free asks for its first DEEP_BULK blocks only
 * (S.state_checks counts down; -1: no limit). */
static void after_free_state(void *p, const char *what) {
  if (!S.deep || S.state_checks == 0) return;
  if (S.state_checks > 0) S.state_checks--;
  int st = hak_block_state(p);
  if (st == HAK_BLOCK_LIVE) hfz_fail("state", "%s(%p): block still LIVE after free", what, p);
}

/* Free a live slot through heap h (NULL: the public hak_free as the bound heap). */
static void free_slot(int slot, hak_heap *h, const char *what) {
  blk *b = &S.b[slot];
  void *p = b->p;
  verify_fill(slot, SIZE_MAX, what);
  set_remove(slot);
  spend(1);
  if (h) { hak_heap_free(h, p); after_free_state(p, what); }
  else { hak_free(p); if (QUARANTINE) quarantine_note(p); else after_free_state(p, what); }
}

/* The heap that frees a slot "by its owner": the owner when it sits in a heap
 * slot, else heap fallback (remote path into an abandoned heap, or large). */
static hak_heap *owner_or(int slot, int fallback) {
  hak_heap *o = S.b[slot].owner;
  return heap_slot(o) >= 0 ? o : heap_get(fallback);
}

static int make_room(int slot, int fallback) {
  if (!S.b[slot].live) return 1;
  hak_heap *h = owner_or(slot, fallback);
  if (!h) return 0;
  free_slot(slot, h, "free (slot reuse)");
  return 1;
}

/* ---- the checker -------------------------------------------------------------- */
struct visit_ctx { hak_heap *h; int seen; };

MODEL static void visit_fn(void *arg, void *block, size_t usable, int cls, int state) {
  struct visit_ctx *c = (struct visit_ctx *)arg;
  if (state != HAK_BLOCK_LIVE) return;   /* a live block shown in another state fails the count */
  int slot = lookup(block);
  if (slot < 0 && maybe_quarantined(block)) return;
  {
    if (slot < 0) hfz_fail("visit", "heap %u: visitor reports LIVE block %p (cls %d) the program does not hold",
                           hak_heap_id(c->h), block, cls);
    blk *b = &S.b[slot];
    if (b->owner != c->h) hfz_fail("visit", "heap %u: LIVE block %p belongs to heap %u in the model",
                                   hak_heap_id(c->h), block, b->owner ? hak_heap_id(b->owner) : 0u);
    if (usable != b->usable || cls != b->cls)
      hfz_fail("visit", "heap %u: block %p usable %zu cls %d, model %zu cls %d", hak_heap_id(c->h), block,
               usable, cls, b->usable, b->cls);
    c->seen++;
  }
}

/* The visitor's LIVE blocks of heap h are exactly the model's blocks owned
 * by h (the visitor also re-runs the checker's marking pass). */
MODEL static void visit_heap(hak_heap *h, const int *live, int n) {
  struct visit_ctx c = { h, 0 };
  int want = 0;
  hak_heap_visit_live(h, visit_fn, &c);
  for (int i = 0; i < n; i++) if (S.b[live[i]].owner == h) want++;
  if (c.seen != want) hfz_fail("visit", "heap %u: visitor saw %d LIVE blocks, the model holds %d",
                               hak_heap_id(h), c.seen, want);
}

/* The core's checker over every heap (slots, abandoned ones and any other),
 * the large blocks and the segment cache; deep adds the visitor, block
 * states and fill patterns.  Between records (whole 0) only what the core
 * noted as changed since the last check is walked (hak_check_changed: the
 * heaps the records wrote, the global structures when one of them
 * changed): the full walk was half of an input's time, most of it over
 * heaps and caches no record had touched.  The end of the input walks
 * everything (hak_check_all), so a write the core did not note is still
 * found before the input ends.  The charge is the same either way: the
 * records an input runs do not depend on it. */
static void full_check(int deep, int whole) {
  char msg[512];
  msg[0] = 0;
  spend((2 + S.peak / 16) * (deep ? 2 : 1));
  if (whole) {
    if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "hak_check_all: %s", msg);
  } else if (hak_check_changed(msg, sizeof msg) != 0) {
    hfz_fail("checker", "hak_check_changed: %s", msg);
  }
  if (deep) {
    int *live = snap, n = live_in_order(live);   /* one snapshot for every heap's visit and the states */
    for (int i = 0; i < NHEAPS; i++) if (S.hs[i]) visit_heap(S.hs[i], live, n);
    for (int i = 0; i < S.nab; i++) visit_heap(S.ab[i], live, n);
    /* every slot block, and a rotating window of DEEP_BULK bulk blocks
     * (the rotation restarts with each input: it is the input's state) */
    unsigned nb = 0, rot = S.rot;
    size_t verified = 0;
    for (int i = 0; i < n; i++) {
      int slot = live[i];
      if (slot >= NSLOTS && (unsigned)(i + rot) % (unsigned)(S.nbulk / DEEP_BULK + 1) != 0) continue;
      nb += slot >= NSLOTS;
      int st = hak_block_state(S.b[slot].p);
      if (st != HAK_BLOCK_LIVE)
        hfz_fail("state", "live block %p (slot %d) has state %d", (void *)S.b[slot].p, slot, st);
      verify_fill(slot, SIZE_MAX, "deep check");
      verified += hfz_fill_bytes(S.b[slot].size);
    }
    S.rot = rot + (nb ? 1 : 0);
    /* the fills verified, by the bytes (hfz_alloc_work's unit): a deep check
     * every record over a few MiB of live blocks was 15% of a corpus pass,
     * charged as if it cost what a shallow one does */
    spend((long)(verified >> 12));
  }
}

/* ---- operations ------------------------------------------------------------------ */
static void op_heap_alloc(unsigned op, int hi, int slot, size_t size, unsigned aux) {
  hak_heap *h = heap_get(hi);
  if (!h || !make_room(slot, hi)) return;
  size_t ask = op == HFZ_OP_CALLOC && aux == 63 ? 0 : size;   /* nmemb * size overflows: must fail, costs nothing */
  if (over_budget(ask) || over_gas(ask, op == HFZ_OP_CALLOC, 0)) return;
  void *p;
  int err, must = hfz_must_fail(size), zero = 0, kind = KIND_MALLOC;
  size_t align = 16, total = size;
  const char *what = "hak_heap_malloc";
  errno = 0;
  if (op == HFZ_OP_MALLOC) {
    p = hak_heap_malloc(h, size);
  } else if (op == HFZ_OP_CALLOC) {
    size_t n, e;
    what = "hak_heap_calloc"; zero = 1;
    if (aux == 63) { e = size < 2 ? 2 : size; n = SIZE_MAX / e + 1; must = 1; total = SIZE_MAX; }
    else { n = 1 + aux % 16; e = size / n; total = n * e; must = hfz_must_fail(total); }
    p = hak_heap_calloc(h, n, e);
  } else {
    align = (size_t)1 << (aux % (HFZ_MAX_ALIGN_LOG + 1));
    what = "hak_heap_aligned_alloc"; kind = KIND_ALIGNED_ALLOC;
    p = hak_heap_aligned_alloc(h, align, size);
  }
  err = errno;
  if (!p) { expect_null_ok(total, must, err, what); return; }
  if (must) hfz_fail("impossible", "%s(%zu) succeeded: %p", what, total, p);
  post_alloc(slot, p, total, align, h, NULL, kind, zero, 0, what);
}

/* realloc of slot (or NULL) to size, as heap h (NULL: public API). */
static void do_realloc(hak_heap *h, int slot, size_t size, size_t n, int overflow, const char *what) {
  blk *b = &S.b[slot];
  void *old = b->live ? b->p : NULL;
  size_t oldsize = b->size;
  unsigned oldseed = b->seed;
  hak_heap *oldowner = b->owner;
  int must = overflow || hfz_must_fail(size);
  if (over_budget(size > oldsize || !old ? size - (old ? oldsize : 0) : 0) ||
      over_gas(size, 0, old ? (oldsize < size ? oldsize : size) : 0)) return;
  if (old) verify_fill(slot, SIZE_MAX, "before realloc");
  errno = 0;
  void *q;
  if (n) q = hak_reallocarray(old, n, size / n);       /* public reallocarray */
  else if (h) q = hak_heap_realloc(h, old, size);
  else q = hak_realloc(old, size);
  int err = errno;
  if (old && size == 0 && !overflow) {                 /* glibc: frees p, returns NULL */
    if (q) hfz_fail("realloc0", "%s(%p, 0) returned %p, not NULL", what, old, q);
    set_remove(slot);
    after_free_state(old, what);
    return;
  }
  if (!q) {
    expect_null_ok(size, must, err, what);
    if (old) verify_fill(slot, SIZE_MAX, "after failed realloc");
    return;
  }
  if (must) hfz_fail("impossible", "%s(%p, %zu) succeeded: %p", what, old, size, q);
  if (old) {
    set_remove(slot);
    size_t keep = oldsize < size ? oldsize : size;
    b->p = (uint8_t *)q;
    size_t off = hfz_verify(q, oldsize, oldseed, keep);
    if (off != (size_t)-1)
      hfz_fail("realloc-prefix", "%s(%p, %zu -> %zu) = %p: byte %zu is 0x%02x, expected 0x%02x", what, old,
               oldsize, size, q, off, ((uint8_t *)q)[off], hfz_pat[(oldseed + off) % HFZ_PERIOD]);
    if (q != old) { after_free_state(old, what); spend((long)(keep >> 12)); }   /* the core copied keep bytes */
  }
  hak_heap *own = h ? h : S.bound;
  /* in place: the owner stays (alt); large blocks have no owner at all */
  post_alloc(slot, q, size, 16, own, q == old ? (oldowner ? oldowner : own) : NULL, KIND_MALLOC, 0, 0, what);
}

/* Make sure the thread is bound (public API ops).  Unbound: let the
 * allocator create or adopt the thread heap, and register it. */
static int ensure_bound(int hi) {
  if (S.bound) return 1;
  int empty = -1;
  for (int i = 0; i < NHEAPS; i++) if (!S.hs[i]) { empty = i; break; }
  if (empty < 0) {
    hak_heap *h = heap_get(hi);
    if (!h) return 0;
    hak_heap *prev = hak_heap_bind(h);
    if (prev) hfz_fail("bind", "hak_heap_bind returned %p while unbound", (void *)prev);
    S.bound = h;
    return 1;
  }
  errno = 0;
  hak_heap *h = hak_heap_current();
  if (!h) {
    if (fail_explained()) return 0;
    hfz_fail("heap-current", "hak_heap_current() returned NULL (errno %d)", errno);
  }
  if (heap_slot(h) >= 0) hfz_fail("heap-current", "hak_heap_current() returned heap %u already in a heap slot",
                                  hak_heap_id(h));
  for (int k = 0; k < S.nab; k++)
    if (S.ab[k] == h) { memmove(&S.ab[k], &S.ab[k + 1], (size_t)(S.nab - k - 1) * sizeof S.ab[0]); S.nab--; break; }
  S.hs[empty] = h;
  S.bound = h;
  return 1;
}

static void op_plain_alloc(int hi, int slot, size_t size, unsigned aux, unsigned x) {
  unsigned variant = aux & 15, sel = (aux >> 4) | (x << 2);
  if (variant >= HFZ_P_COUNT) variant = HFZ_P_MALLOC;
  if (!ensure_bound(hi)) return;
  hak_heap *h = S.bound;
  size_t n = 1 + sel % 4, align = hfz_plain_align[sel];
  int valid_align = align >= sizeof(void *) && (align & (align - 1)) == 0;

  if (variant == HFZ_P_REALLOC || variant == HFZ_P_REALLOCARRAY) {
    if (variant == HFZ_P_REALLOC) { do_realloc(NULL, slot, size, 0, 0, "hak_realloc"); return; }
    if (sel == 15) {                                     /* overflowing nmemb * size */
      blk *b = &S.b[slot];
      size_t e = size < 2 ? 2 : size;
      errno = 0;
      void *q = hak_reallocarray(b->live ? b->p : NULL, SIZE_MAX / e + 1, e);
      if (q) hfz_fail("impossible", "hak_reallocarray overflow succeeded: %p", q);
      if (errno != ENOMEM) hfz_fail("errno", "hak_reallocarray overflow: errno %d", errno);
      if (b->live) verify_fill(slot, SIZE_MAX, "after failed reallocarray");
      return;
    }
    do_realloc(NULL, slot, (size / n) * n, n, 0, "hak_reallocarray");
    return;
  }
  if (!make_room(slot, hi)) return;
  size_t ask = sel == 15 && variant == HFZ_P_CALLOC ? 0 : size;   /* overflow: must fail, costs nothing */
  if (over_budget(ask) || over_gas(ask, variant == HFZ_P_CALLOC, 0)) return;
  void *p = NULL;
  int must = hfz_must_fail(size), zero = 0, kind = KIND_MALLOC, err;
  size_t total = size, min_usable = 0, a = 16;
  const char *what = "hak_malloc";
  errno = 0;
  switch (variant) {
  case HFZ_P_CALLOC: {
    what = "hak_calloc"; zero = 1;
    size_t e;
    if (sel == 15) { e = size < 2 ? 2 : size; n = SIZE_MAX / e + 1; must = 1; total = SIZE_MAX; }
    else { e = size / n; total = n * e; must = hfz_must_fail(total); }
    p = hak_calloc(n, e);
    break;
  }
  case HFZ_P_POSIX_MEMALIGN: {
    what = "hak_posix_memalign";
    void *out = (void *)(uintptr_t)0x5a5a5a50;
    int rc = hak_posix_memalign(&out, align, size);
    if (!valid_align) {
      if (rc != EINVAL) hfz_fail("memalign-einval", "posix_memalign(align %zu) returned %d, not EINVAL", align, rc);
      if (out != (void *)(uintptr_t)0x5a5a5a50) hfz_fail("memalign-einval", "posix_memalign(align %zu) wrote *out", align);
      return;
    }
    if (rc == 0) { p = out; if (!p) hfz_fail("null", "posix_memalign returned 0 and NULL"); }
    else if (rc != ENOMEM) hfz_fail("errno", "posix_memalign(%zu, %zu) returned %d", align, size, rc);
    errno = rc;
    a = align; kind = KIND_MEMALIGN;
    break;
  }
  case HFZ_P_ALIGNED_ALLOC:
    what = "hak_aligned_alloc"; a = valid_align ? align : 16; kind = KIND_ALIGNED_ALLOC;
    p = hak_aligned_alloc(a, size);
    break;
  case HFZ_P_MEMALIGN:
    what = "hak_memalign"; a = valid_align ? align : 16; kind = KIND_MEMALIGN;
    p = hak_memalign(a, size);
    break;
  case HFZ_P_VALLOC:
    what = "hak_valloc"; a = (size_t)sysconf(_SC_PAGESIZE); kind = KIND_MEMALIGN;
    p = hak_valloc(size);
    break;
  case HFZ_P_PVALLOC: {
    what = "hak_pvalloc"; a = (size_t)sysconf(_SC_PAGESIZE); kind = KIND_MEMALIGN;
    if (size > SIZE_MAX - a) must = 1;
    else min_usable = size ? (size + a - 1) & ~(a - 1) : a;
    p = hak_pvalloc(size);
    break;
  }
  default:
    p = hak_malloc(size);
    break;
  }
  err = errno;
  if (!p) { expect_null_ok(total, must, err, what); return; }
  if (must) hfz_fail("impossible", "%s(%zu) succeeded: %p", what, total, p);
  post_alloc(slot, p, total, a, h, NULL, kind, zero, min_usable, what);
}

static void op_plain_free(int hi, int slot, unsigned aux) {
  if (!S.b[slot].live) return;
  if (!ensure_bound(hi)) return;
  blk *b = &S.b[slot];
  void *p = b->p;
  unsigned v = aux & 3;
  verify_fill(slot, SIZE_MAX, "hak_free");
  set_remove(slot);
  if (v == HFZ_PF_NULL_THEN_FREE) hak_free(NULL);
  if (v == HFZ_PF_ALIGNED_SIZED && b->kind == KIND_ALIGNED_ALLOC) hak_free_aligned_sized(p, b->align, b->size);
  else if ((v == HFZ_PF_SIZED || v == HFZ_PF_ALIGNED_SIZED) && b->kind == KIND_MALLOC) hak_free_sized(p, b->size);
  else { hak_free(p); if (QUARANTINE) { quarantine_note(p); return; } }
  after_free_state(p, "hak_free");
}

static void op_usable(int slot) {
  blk *b = &S.b[slot];
  if (!b->live) return;
  verify_fill(slot, SIZE_MAX, "usable");
  size_t us = hak_malloc_usable_size(b->p);
  if (us != b->usable) hfz_fail("usable", "block %p: usable size changed %zu -> %zu", (void *)b->p, b->usable, us);
  hak_block_info in;
  if (!hak_classify(b->p, &in) || in.block != b->p || in.owner != b->owner || in.usable != us)
    hfz_fail("classify", "block %p (slot %d): classification changed", (void *)b->p, slot);
  if (b->size > 2) {
    if (!hak_classify(b->p + b->size / 2, &in) || in.block != b->p || !in.interior)
      hfz_fail("classify", "block %p: interior address %p misclassified", (void *)b->p, (void *)(b->p + b->size / 2));
  }
}

static void op_abandon(int hi) {
  hak_heap *h = S.hs[hi];
  if (!h || S.nab >= MAXAB) return;
  unbind_if(h);
  hak_heap_abandon(h);
  quarantine_flushed();   /* abandon flushes it (as thread exit does) */
  S.hs[hi] = NULL;
  S.ab[S.nab++] = h;
}

static void op_adopt(int hi) {
  if (S.hs[hi]) return;
  hak_heap *h = hak_heap_adopt();
  if (!h) {
    if (S.nab) hfz_fail("adopt", "hak_heap_adopt() returned NULL with %d abandoned heaps", S.nab);
    return;
  }
  if (!S.nab) hfz_fail("adopt", "hak_heap_adopt() returned heap %u, none abandoned", hak_heap_id(h));
  if (h != S.ab[0]) {
    int k;
    for (k = 1; k < S.nab && S.ab[k] != h; k++) {}
    hfz_fail("adopt", "hak_heap_adopt() returned heap %u (%s), oldest abandoned is heap %u", hak_heap_id(h),
             k < S.nab ? "a younger one" : "not abandoned", hak_heap_id(S.ab[0]));
  }
  memmove(&S.ab[0], &S.ab[1], (size_t)(S.nab - 1) * sizeof S.ab[0]);
  S.nab--;
  S.hs[hi] = h;
}

static void op_destroy(int hi) {
  hak_heap *h = S.hs[hi];
  if (!h) return;
  unbind_if(h);
  int *live = snap;
  for (int i = live_in_order(live) - 1; i >= 0; i--) {
    int slot = live[i];
    if (S.b[slot].owner == h) { verify_fill(slot, SIZE_MAX, "before destroy"); set_remove(slot); }
  }
  hak_heap_destroy(h);
  quarantine_flushed();
  S.hs[hi] = NULL;
}

static void op_bind(int hi, unsigned aux) {
  hak_heap *h = NULL;
  if (!(aux & 1) && !(h = heap_get(hi))) return;
  hak_heap *prev = hak_heap_bind(h);
  if (prev != S.bound) hfz_fail("bind", "hak_heap_bind returned %p, bound was %p", (void *)prev, (void *)S.bound);
  S.bound = h;
}

static void op_bulk_alloc(int hi, size_t size, unsigned aux) {
  hak_heap *h = heap_get(hi);
  if (!h) return;
  unsigned count = HFZ_BULK_COUNT(aux);
  if (size > HAK_MID_MAX && count > MAXLARGE) count = MAXLARGE;
  int e = NSLOTS;
  for (unsigned k = 0; k < count && S.nbulk < HFZ_BULK && !over_budget(size) && !over_gas(size, 0, 0) && spend(0); k++) {
    while (S.b[e].live) e++;
    errno = 0;
    void *p = hak_heap_malloc(h, size);
    if (!p) { expect_null_ok(size, hfz_must_fail(size), errno, "hak_heap_malloc (bulk)"); return; }
    if (hfz_must_fail(size)) hfz_fail("impossible", "hak_heap_malloc(%zu) succeeded: %p", size, p);
    post_alloc(e, p, size, 16, h, NULL, KIND_MALLOC, 0, 0, "hak_heap_malloc (bulk)");
  }
}

static void op_bulk_free(int hi, unsigned aux, unsigned x, uint32_t v) {
  unsigned pat = aux & 3, seen = 0, total = (unsigned)S.nbulk, half = total / 2;
  hak_heap *by = NULL;
  if ((x & 1) && !(by = heap_get(hi))) return;
  S.state_checks = DEEP_BULK;
  for (int e = NSLOTS; e < NTOT && seen < total && spend(0); e++) {
    if (!S.b[e].live) continue;
    unsigned i = seen++;
    int go = pat == HFZ_BF_ALL || (pat == HFZ_BF_ODD && (i & 1)) || (pat == HFZ_BF_HALF && i < half) ||
             (pat == HFZ_BF_HASH && (((i + 1) * 2654435761u) ^ v) >> 31);
    if (!go) continue;
    hak_heap *h = by ? by : owner_or(e, hi);
    if (!h) break;
    free_slot(e, h, by ? "hak_heap_free (bulk, by)" : "hak_heap_free (bulk)");
  }
  S.state_checks = -1;
}

/* ---- input driver ---------------------------------------------------------------- */
static void forget_all(void) {        /* cheaper than clearing all of S.b */
  int *live = snap;
  for (int i = live_in_order(live) - 1; i >= 0; i--) { S.b[live[i]].live = 0; hdel(T[live[i]].k); }
  troot = -1;
}

static void reset_all(void) {
  hak_os_fail_nth(0);
  S.may_fail = 0;
  if (S.bound) { hak_heap_bind(NULL); S.bound = NULL; }
  hak_debug_reset();
  quarantine_flushed();
  forget_all();
  memset(S.hs, 0, sizeof S.hs);
  S.nlive = 0; S.nab = 0; S.nbulk = 0; S.live_bytes = 0;
}

/* Canonical state for the next input.  What a block's predecessors left in
 * the caches changed addresses, classes' slabs and OS calls, so a
 * persistent fuzzer ran a different program each time (AFL++ stability
 * 55%; check-determinism: 419 of 1127 corpus inputs differed on a second
 * run).  Fuzz builds of the core restore a fixed set of cached segments and
 * one large span, resident (src/heap.c hak_fuzz_canon); other cores (the
 * sanitizer gate links this file with its own) trim every cache and
 * restart the hints: the same state, mapped and faulted in afresh. */
static unsigned long canon_rebuilds;
static void canonical_caches(void) {
  if (hak_fuzz_canon) {
    int rc = hak_fuzz_canon();
    if (rc < 0) hfz_fail("canon", "hak_fuzz_canon: the OS refused the canonical caches (errno %d)", errno);
    canon_rebuilds += (unsigned)rc;
    if (trace && rc) fprintf(stderr, "end of input: canonical caches rebuilt (%lu so far)\n", canon_rebuilds);
    return;
  }
  hak_trim();
  if (hak_fuzz_os_reset) hak_fuzz_os_reset();
}

static void end_of_input(void) {
  S.opno = S.nops;
  hak_os_fail_nth(0);
  S.may_fail = 0;
  /* free what the program still holds (large blocks always: they belong to no heap) */
  int *live = snap;
  for (int i = live_in_order(live) - 1; i >= 0; i--) {
    int slot = live[i];
    blk *b = &S.b[slot];
    if (S.keep && b->tier != HAK_TIER_LARGE && b->owner) continue;
    hak_heap *h = heap_slot(b->owner) >= 0 ? b->owner : NULL;
    for (int k = 0; !h && k < NHEAPS; k++) h = S.hs[k];
    if (!h) h = heap_get(0);
    free_slot(slot, h, "free (end of input)");
  }
  full_check(S.deep, 1);
  if (S.bound) { hak_heap_bind(NULL); S.bound = NULL; }
  hak_debug_reset();
  char msg[512];
  msg[0] = 0;
  /* the caches as the input left them, before the canon rewrites them (a
   * segment of the wrong kind in the cache is seen here, not as a crash of
   * the canon's unmap: repro/ops/24-segcache-any-kind.ops) */
  if (hak_fuzz_canon && hak_check_all(msg, sizeof msg) != 0)
    hfz_fail("checker", "hak_check_all after hak_debug_reset: %s", msg);
  canonical_caches();
  quarantine_flushed();
  if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "hak_check_all after hak_debug_reset: %s", msg);
  hak_stats st;
  hak_stats_get(&st);
  if (st.large_live || st.heaps || st.heaps_abandoned)
    hfz_fail("reset-leak", "after hak_debug_reset: large_live %llu heaps %llu abandoned %llu",
             (unsigned long long)st.large_live, (unsigned long long)st.heaps,
             (unsigned long long)st.heaps_abandoned);
  forget_all();
  memset(S.hs, 0, sizeof S.hs);
  S.nlive = 0; S.nab = 0; S.nbulk = 0; S.live_bytes = 0;
  trace_mix((uint64_t)S.gas);
}

static void self_test_classes(void) {
  int n = hak_class_count();
  if (n <= 0) hfz_fail("class", "hak_class_count() = %d", n);
  for (int c = 1; c < n; c++)
    if (hak_class_size(c) <= hak_class_size(c - 1)) hfz_fail("class", "class sizes not increasing at %d", c);
  if (hak_class_size(n - 1) != HAK_MID_MAX) hfz_fail("class", "last class size %zu", hak_class_size(n - 1));
  for (size_t s = 0; s <= HAK_MID_MAX + 1; s++) {
    int c = hak_size_class(s);
    if (s > HAK_MID_MAX) { if (c != -1) hfz_fail("class", "hak_size_class(%zu) = %d", s, c); break; }
    if (c < 0 || c >= n || hak_class_size(c) < s || (c > 0 && hak_class_size(c - 1) >= s))
      hfz_fail("class", "hak_size_class(%zu) = %d (class size %zu)", s, c, hak_class_size(c));
    if (hak_class_tier(c) != (s <= HAK_TINY_MAX ? HAK_TIER_TINY : HAK_TIER_MID))
      hfz_fail("class", "size %zu: class %d has tier %d", s, c, hak_class_tier(c));
  }
  if (hak_malloc_usable_size(NULL) != 0) hfz_fail("usable", "hak_malloc_usable_size(NULL) != 0");
}

/* Before the first input, grow what the core never gives back (heap
 * structures, descriptor pools, segment-map leaves) past what one input
 * can use: 4 heaps + 32 abandoned, a block of every class in each, and
 * more large blocks than the budget lets an input allocate (each costs at
 * least 5 units of GAS).  Otherwise the first input to need one more
 * descriptor maps a pool chunk that the next run of it does not, its OS
 * calls shift, and an injected failure (osfail) hits another map
 * (check-determinism: 1 of 1127 corpus inputs, 2d14218d...). */
#define WARM_HEAPS (NHEAPS + MAXAB + 4)
#define WARM_LARGE (GAS / 4)
static void warm_up(void) {
  static hak_heap *wh[WARM_HEAPS];
  static void *wl[WARM_LARGE];
  int nc = hak_class_count();
  for (int i = 0; i < WARM_HEAPS; i++) {
    if (!(wh[i] = hak_heap_new())) hfz_fail("warm-up", "hak_heap_new() failed (errno %d)", errno);
    for (int c = 0; c < nc; c++)               /* freed by hak_heap_destroy below */
      if (!hak_heap_malloc(wh[i], hak_class_size(c))) hfz_fail("warm-up", "class %d: NULL", c);
  }
  for (int k = 0; k < WARM_LARGE; k++)
    if (!(wl[k] = hak_heap_malloc(wh[0], HAK_MID_MAX + 1))) hfz_fail("warm-up", "large block %d: NULL", k);
  /* the checker's scratch grows to twice the most slabs it has walked: 2 *
   * BUDGET in 1 KiB blocks is more slabs than one input's live bytes fill */
  for (size_t k = 0; k < 2 * BUDGET / 1024; k++)
    if (!hak_heap_malloc(wh[1], 1024)) hfz_fail("warm-up", "1 KiB block %zu: NULL", k);
  char msg[256];
  if (hak_check_all(msg, sizeof msg) != 0) hfz_fail("checker", "warm-up: %s", msg);
  for (int k = 0; k < WARM_LARGE; k++) hak_heap_free(wh[0], wl[k]);
  for (int i = 0; i < WARM_HEAPS; i++) hak_heap_destroy(wh[i]);
  /* the first hak_heap_current of the process installs the thread-exit hook */
  if (!hak_heap_current()) hfz_fail("warm-up", "hak_heap_current() returned NULL");
  hak_heap_bind(NULL);
  hak_debug_reset();
  hak_trim();
  canonical_caches();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  const char *t = getenv("HAKFUZZ_TRACE");
  trace = t && *t && *t != '0';
  const char *g = getenv("HAKFUZZ_GAS");
  if (g && *g) gas_limit = strtol(g, NULL, 0);
  hfz_pattern_init();
  hfz_context = print_context;
  self_test_classes();
  reset_all();
  warm_up();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!hfz_context) LLVMFuzzerInitialize(NULL, NULL);   /* engines that do not call it */
  uint8_t hdr[HFZ_HEADER_LEN] = {0};
  memcpy(hdr, data, size < HFZ_HEADER_LEN ? size : HFZ_HEADER_LEN);
  S.every = (hdr[0] & HFZ_F_EVERY_MASK) + 1u;
  S.deep = (hdr[0] & HFZ_F_DEEP) != 0;
  S.keep = (hdr[0] & HFZ_F_KEEP) != 0;
  S.seed = hdr[2];
  S.oom = hdr[3] == HFZ_OOM_KEY;
  S.nops = size > HFZ_HEADER_LEN ? (unsigned)((size - HFZ_HEADER_LEN) / HFZ_REC_LEN) : 0;
  if (S.nops > HFZ_MAX_OPS) S.nops = HFZ_MAX_OPS;
  S.opno = 0;
  trace_h = 0xcbf29ce484222325ull;
  S.gas = (S.oom || hdr[3] == HFZ_LONG_KEY ? 8 : 1) * gas_limit;
  S.peak = 0;
  S.state_checks = -1;
  S.rot = 0;
  memset(S.ring, 0, sizeof S.ring);
  for (int i = 0; i <= (hdr[1] & 3); i++) heap_get(i);
  if (hdr[1] & HFZ_H_BIND0) op_bind(0, 0);

  for (unsigned i = 0; i < S.nops; i++) {
    if (S.may_fail && hak_fuzz_os_fail_pending && hak_fuzz_os_fail_pending() == 0) S.may_fail = 0;
    if (!spend(1)) {
      if (trace) fprintf(stderr, "#%-4u work budget spent: %u records skipped\n", i, S.nops - i);
      break;
    }
    const uint8_t *r = data + HFZ_HEADER_LEN + (size_t)i * HFZ_REC_LEN;
    S.opno = i; S.rec = r;
    S.ring[i % RING] = r; S.ringno[i % RING] = i;
    unsigned op = decode_op(r[0]);
    int hi = r[1] & 3, slot = r[2] & 63;
    unsigned aux = r[1] >> 2, x = r[2] >> 6;
    size_t sz = hfz_decode_size(r[3] & 7, r[3] >> 3, hfz_le32(r + 4));
    if (trace) { char d[160]; describe(r, d, sizeof d); fprintf(stderr, "#%-4u %s\n", i, d); }
    switch (op) {
    case HFZ_OP_MALLOC: case HFZ_OP_CALLOC: case HFZ_OP_ALIGNED:
      op_heap_alloc(op, hi, slot, sz, aux);
      break;
    case HFZ_OP_REALLOC: {
      hak_heap *h = heap_get(hi);
      if (h) do_realloc(h, slot, sz, 0, 0, "hak_heap_realloc");
      break;
    }
    case HFZ_OP_FREE:
      if (S.b[slot].live) { hak_heap *h = owner_or(slot, hi); if (h) free_slot(slot, h, "hak_heap_free"); }
      break;
    case HFZ_OP_FREE_BY:
      if (S.b[slot].live) { hak_heap *h = heap_get(hi); if (h) free_slot(slot, h, "hak_heap_free (by)"); }
      break;
    case HFZ_OP_DRAIN:   if (S.hs[hi]) hak_heap_drain(S.hs[hi]); break;
    case HFZ_OP_COLLECT: if (S.hs[hi]) hak_heap_collect(S.hs[hi]); break;
    case HFZ_OP_ABANDON: op_abandon(hi); break;
    case HFZ_OP_ADOPT:   op_adopt(hi); break;
    case HFZ_OP_USABLE:  op_usable(slot); break;
    case HFZ_OP_TRIM:                /* keyed: see HFZ_TRIM_KEY */
      if (S.oom && aux == 0 && r[3] == HFZ_TRIM_KEY) { hak_trim(); spend(GAS_TRIM); }
      else if (S.hs[hi]) hak_heap_collect(S.hs[hi]);
      break;
    case HFZ_OP_PALLOC:  op_plain_alloc(hi, slot, sz, aux, x); break;
    case HFZ_OP_PFREE:   op_plain_free(hi, slot, aux); break;
    case HFZ_OP_BIND:    op_bind(hi, aux); break;
    case HFZ_OP_DESTROY: op_destroy(hi); break;
    case HFZ_OP_CHECK:   full_check(S.deep || (aux & 1), 0); break;
    case HFZ_OP_OSFAIL:              /* only in out-of-memory inputs: see HFZ_OOM_KEY */
      if (S.oom && hak_os_fail_nth(1 + (long)(hfz_le32(r + 4) % 32)) == 0) S.may_fail = 1;
      break;
    case HFZ_OP_BULK_ALLOC: op_bulk_alloc(hi, sz, aux); break;
    case HFZ_OP_BULK_FREE:  op_bulk_free(hi, aux, x, hfz_le32(r + 4)); break;
    case HFZ_OP_REFILL:
      if (S.b[slot].live) {
        verify_fill(slot, SIZE_MAX, "refill");
        S.b[slot].seed = (uint8_t)(S.seed++ % HFZ_PERIOD);
        hfz_fill(S.b[slot].p, S.b[slot].size, S.b[slot].seed);
      }
      break;
    }
    if ((i + 1) % S.every == 0) full_check(S.deep, 0);
  }
  end_of_input();
  return 0;
}
