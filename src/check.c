/* The invariant checker, the block visitor and classification.
 *
 * hak_heap_check verifies, for one heap, every invariant written above the
 * structs in types.h:
 *   - the segment lists: doubly linked (each segment's prev is the one
 *     before it, NULL at the head) and no longer than the segments that
 *     can exist, so a cycle or a link into foreign memory is reported,
 *     never walked forever (see seg_next);
 *   - each segment: descriptor magic and kind, owner, registered in the
 *     address-space map over its whole range, on the right list (avail iff
 *     it has an unused slab), free_slabs bits match the unused slabs;
 *   - each slab: geometry (start, block size, capacity, reciprocal),
 *     carved <= capacity, used <= carved, state consistent with the lists;
 *   - disjointness: every carved block is in exactly one of {free list,
 *     thread cache, remote queue, live}: each list entry must be a carved
 *     block start of a slab of this heap (and of the cache's class) and may
 *     be marked only once;
 *   - counts: carved == used + |free list|, cached + remote <= used;
 *   - the partial lists: doubly linked, only PARTIAL slabs of the class,
 *     every PARTIAL slab on one.
 * Marks live in a scratch mapping (one byte per block), never in the
 * structures themselves, so checking does not change what it checks. */
#include <string.h>
#include "internal.h"

enum { M_LIVE = 0, M_FREE = 1, M_CACHED = 2, M_REMOTE = 3 };
#define MARKS_PER_SLAB 4096u   /* max blocks per slab: 64 KiB / 16 B */

/* Scratch, per slab being checked (index s->check_mark): MARKS_PER_SLAB
 * one-byte marks, and after all marks, four counters of marks by kind so
 * that the counts check does not rescan every carved block. */
static hak_lock check_lock;
static uint8_t *scratch;
static size_t scratch_slabs;
#define SCRATCH_PER_SLAB (MARKS_PER_SLAB + 4 * sizeof(uint32_t))

void hak__check_lock_all(void) { hak_lock_acquire(&check_lock); }
void hak__check_unlock_all(int child) {
  if (child) hak_lock_reset(&check_lock);
  else hak_lock_release(&check_lock);
}

#define FAIL(...) do { hak__fmt(msg, len, __VA_ARGS__); return -1; } while (0)

/* ---- bounded list walks --------------------------------------------------
 * Every walk of a list of regions in this file goes through rwalk_next,
 * which stops after more regions than could exist: one per `unit` bytes of
 * everything hakmem has mapped (hak__ctr.mapped counts every mapping, the
 * checker's own scratch included, so it can only over-estimate).  A cycle
 * or a link into foreign memory then ends the walk in bounded time; the
 * first walk of each list reports it (w.r != NULL after the loop), later
 * walks of a list already walked just stop.  The walk also records the
 * region before the current one on its list (w.prev), for the back-link
 * check: each region's prev must be that one, NULL at the head.  With that
 * check a cycle is also found at its back edge (the region it re-enters
 * already has another prev), so each loop has two independent ends. */
typedef struct rwalk {
  hak_region *const *heads;   /* the lists, walked one after the other */
  unsigned nheads, list;      /* list: index of the list being walked */
  hak_region *r, *prev;       /* current region, the one before it on its list */
  size_t n, max;              /* regions visited, most allowed */
} rwalk;

static size_t walk_bound(size_t unit) {
  return (size_t)(hak_atomic_u64_load(&hak__ctr.mapped, HAK_RELAXED) / unit) + 1;
}
static void rwalk_begin(rwalk *w, hak_region *const *heads, unsigned nheads, size_t unit) {
  *w = (rwalk){ heads, nheads, (unsigned)-1, NULL, NULL, 0, walk_bound(unit) };   /* list -1: not started */
}
static hak_region *rwalk_next(rwalk *w) {
  if (w->r != NULL) {
    w->prev = w->r;
    w->r = w->r->next;
  }
  while (w->r == NULL && w->list + 1 < w->nheads) {
    w->list++;
    w->prev = NULL;
    w->r = w->heads[w->list];
  }
  if (w->r == NULL || ++w->n > w->max) return NULL;   /* the end, or over-long: w->r stays set */
  return w->r;
}

/* A heap's segment lists in walk order: list index = 2 * (kind - 1) + full. */
typedef struct seg_lists { hak_region *heads[4]; } seg_lists;
static seg_lists lists_of(const hak_heap *h) {
  return (seg_lists){ { h->avail[0], h->full[0], h->avail[1], h->full[1] } };
}
#define SEG_UNIT ((size_t)1 << HAK_TINY_SLAB_SHIFT)   /* every segment has a slab of at least this */
static const char *seg_list_name(unsigned list) {
  static const char *const names[4] = { "tiny avail", "tiny full", "mid avail", "mid full" };
  return names[list & 3];
}

static int ensure_scratch(size_t slabs) {
  if (slabs <= scratch_slabs) return 0;
  size_t want = slabs < 64 ? 64 : slabs * 2;
  uint8_t *p = hak__os_map_unfailing(want * SCRATCH_PER_SLAB);
  if (p == NULL) return -1;
  if (scratch) hak__os_unmap(scratch, scratch_slabs * SCRATCH_PER_SLAB);
  scratch = p;
  scratch_slabs = want;
  return 0;
}

static uint8_t *marks_of(const hak_slab *s) { return scratch + (size_t)s->check_mark * MARKS_PER_SLAB; }
static uint32_t *counts_of(const hak_slab *s) {
  return (uint32_t *)(void *)(scratch + scratch_slabs * MARKS_PER_SLAB) + (size_t)s->check_mark * 4;
}

static const char *mark_name(int m) {
  return m == M_FREE ? "a slab free list" : m == M_CACHED ? "the thread cache" : "the remote queue";
}

/* Mark block b (found on list `mark`) after checking it is a carved block
 * start of a slab of h; cls >= 0 also requires that class. */
static int mark_block(hak_heap *h, void *b, int mark, int cls, char *msg, size_t len) {
  hak_region *r = hak__region_of((uintptr_t)b);
  if (r == NULL || r->kind == HAK_REGION_LARGE || r->owner != h)
    FAIL("heap %u: %p on %s is not in a segment of this heap", h->id, b, mark_name(mark));  /* oracle:mark_not_in_heap */
  hak_slab *s = hak__slab_of(r, (uintptr_t)b);
  if (s->capacity == 0) FAIL("heap %u: %p on %s is in an unused slab", h->id, b, mark_name(mark));  /* oracle:mark_unused_slab */
  uintptr_t off = (uintptr_t)b - s->start;
  uint32_t idx = hak__block_index(s, off);
  if ((uintptr_t)idx * s->block_size != off || idx >= s->carved)
    FAIL("heap %u: %p on %s is not a carved block start (slab %p, class %u)", h->id, b, mark_name(mark),  /* oracle:mark_not_block_start */
         (void *)s->start, s->cls);
  if (cls >= 0 && s->cls != cls)
    FAIL("heap %u: %p in the thread cache of class %d belongs to a slab of class %u", h->id, b, cls, s->cls);  /* oracle:mark_cache_class */
  uint8_t *m = &marks_of(s)[idx];
  if (*m != M_LIVE)
    FAIL("heap %u: block %p is on %s and on %s at once", h->id, b, mark_name(*m), mark_name(mark));  /* oracle:mark_duplicate */
  *m = (uint8_t)mark;
  counts_of(s)[mark]++;
  return 0;
}

static int check_slab_geometry(hak_heap *h, hak_segment *seg, unsigned i, char *msg, size_t len) {
  hak_slab *s = &seg->slabs[i];
  int unused = (seg->free_slabs >> i) & 1;
  if (unused) {
    if (s->capacity || s->carved || s->used || s->free || s->state != HAK_SLAB_UNUSED)
      FAIL("heap %u: slab %u of segment %p is marked unused but has state", h->id, i, (void *)seg->r.base);  /* oracle:slab_unused_state */
    return 0;
  }
  if (s->cls >= HAK_NCLASS || (s->cls < HAK_TINY_CLASSES) != (seg->r.kind == HAK_REGION_TINY))
    FAIL("heap %u: slab %u of segment %p has class %u, wrong for the segment kind", h->id, i, (void *)seg->r.base, s->cls);  /* oracle:slab_class_kind */
  uint32_t bs = hak__class_size[s->cls];
  if (s->start != seg->r.base + ((uintptr_t)i << seg->r.slab_shift) || s->block_size != bs ||
      s->capacity != (((size_t)1 << seg->r.slab_shift) / bs) || s->recip != (((uint64_t)1 << 40) / bs) + 1)
    FAIL("heap %u: slab %p (class %u) has corrupted geometry", h->id, (void *)s->start, s->cls);  /* oracle:slab_geometry */
  if (s->carved > s->capacity || s->used > s->carved)
    FAIL("heap %u: slab %p counts out of range: used %u carved %u capacity %u", h->id, (void *)s->start,  /* oracle:slab_counts_range */
         s->used, s->carved, s->capacity);
  if (s->state != HAK_SLAB_PARTIAL && s->state != HAK_SLAB_FULL)
    FAIL("heap %u: slab %p in use but in state %u", h->id, (void *)s->start, s->state);  /* oracle:slab_state */
  if (s->state == HAK_SLAB_FULL && (s->free != NULL || s->carved != s->capacity))
    FAIL("heap %u: slab %p is FULL but has free or uncarved blocks", h->id, (void *)s->start);  /* oracle:slab_full_free */
  return 0;
}

/* Pass over the heap's segments and lists, leaving the marks in scratch.
 * Caller holds check_lock. */
static int mark_heap(hak_heap *h, char *msg, size_t len, size_t *partial_slabs, size_t *nsegs) {
  /* The segment lists are first walked here: an over-long list is
   * reported here (the later walks run only once this one ended). */
  size_t nslabs = 0;
  seg_lists sl = lists_of(h);
  rwalk w;
  rwalk_begin(&w, sl.heads, 4, SEG_UNIT);
  while (rwalk_next(&w) != NULL) nslabs += w.r->nslabs;
  if (w.r != NULL)
    FAIL("heap %u: the %s segment list is longer than the %lu segments there can be (it loops)", h->id,  /* oracle:seg_list_loops */
         seg_list_name(w.list), (unsigned long)w.max - 1);
  if (ensure_scratch(nslabs) != 0) FAIL("checker: cannot map scratch memory");
  uint32_t next_mark = 0;
  *partial_slabs = 0;
  rwalk_begin(&w, sl.heads, 4, SEG_UNIT);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;) {
    int k = (int)(w.list >> 1), full = (int)(w.list & 1);
    hak_segment *seg = (hak_segment *)r;
    if (r->magic != (HAK_REGION_MAGIC ^ r->kind) || r->kind != k + 1)
      FAIL("heap %u: segment descriptor %p has a bad magic or kind", h->id, (void *)r);  /* oracle:seg_magic */
    if (r->prev != w.prev)
      FAIL("heap %u: segment %p on the %s list has back link %p, not descriptor %p", h->id, (void *)r->base,  /* oracle:seg_back_link */
           seg_list_name(w.list), (void *)r->prev, (void *)w.prev);
    if (r->owner != h) FAIL("heap %u: segment %p on its list is owned by another heap", h->id, (void *)r->base);  /* oracle:seg_owner */
    if (hak__region_of(r->base) != r || hak__region_of(r->base + r->size - 1) != r)
      FAIL("heap %u: segment %p is not registered in the address-space map", h->id, (void *)r->base);  /* oracle:seg_registered */
    if (((size_t)r->nslabs << r->slab_shift) != r->size || r->nslabs > HAK_SEG_MAX_SLABS)
      FAIL("heap %u: segment %p geometry: %u slabs of 2^%u for %lu bytes", h->id, (void *)r->base,  /* oracle:seg_geometry */
           r->nslabs, r->slab_shift, (unsigned long)r->size);
    uint32_t all = r->nslabs == 32 ? 0xffffffffu : (1u << r->nslabs) - 1;
    if ((seg->free_slabs & ~all) != 0 || (full ? seg->free_slabs != 0 : seg->free_slabs == 0) ||
        seg->free_slabs == all)
      FAIL("heap %u: segment %p on the %s list has free-slab bits %x", h->id, (void *)r->base,  /* oracle:seg_free_bits */
           full ? "full" : "avail", seg->free_slabs);
    for (unsigned i = 0; i < r->nslabs; i++) {
      if (check_slab_geometry(h, seg, i, msg, len) != 0) return -1;
      hak_slab *s = &seg->slabs[i];
      if ((seg->free_slabs >> i) & 1) continue;
      s->check_mark = next_mark++;
      memset(marks_of(s), M_LIVE, s->carved);
      memset(counts_of(s), 0, 4 * sizeof(uint32_t));
      if (s->state == HAK_SLAB_PARTIAL) (*partial_slabs)++;
    }
  }
  *nsegs = w.n;
  /* Free lists.  No loop guard: mark_block marks every entry, so a cycle
   * revisits a marked block and is reported as a duplicate first (a guard
   * here could never fire; the remote queue below is the same). */
  rwalk_begin(&w, sl.heads, 4, SEG_UNIT);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;)
        for (unsigned i = 0; i < r->nslabs; i++) {
          hak_slab *s = &((hak_segment *)r)->slabs[i];
          if (s->capacity == 0) continue;
          for (void *b = s->free; b != NULL; b = (void *)hak__word_load(b, 0)) {
            if (hak__region_of((uintptr_t)b) != r || hak__slab_of(r, (uintptr_t)b) != s)
              FAIL("heap %u: free list of slab %p links to %p outside the slab", h->id, (void *)s->start, b);  /* oracle:free_link_outside */
            if (mark_block(h, b, M_FREE, -1, msg, len) != 0) return -1;
          }
        }
  /* Thread cache. */
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) {
    hak_tcache *c = &h->cache[cls];
    if (c->cap < HAK_CACHE_MIN || c->cap > hak__class_cap_max[cls] || c->count > c->cap)
      FAIL("heap %u: thread cache of class %u: count %u cap %u (max %u)", h->id, cls, c->count, c->cap,  /* oracle:cache_count */
           hak__class_cap_max[cls]);
    for (uint32_t i = 0; i < c->count; i++)
      if (mark_block(h, c->slots[i], M_CACHED, (int)cls, msg, len) != 0) return -1;
  }
  /* Remote queue. */
  for (void *b = hak_atomic_ptr_load(&h->remote, HAK_ACQUIRE); b != NULL; b = (void *)hak__word_load(b, 0)) {
    if (mark_block(h, b, M_REMOTE, -1, msg, len) != 0) return -1;
  }
  return 0;
}

static int check_counts_and_lists(hak_heap *h, size_t partial_slabs, char *msg, size_t len) {
  seg_lists sl = lists_of(h);
  rwalk w;
  rwalk_begin(&w, sl.heads, 4, SEG_UNIT);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;)
        for (unsigned i = 0; i < r->nslabs; i++) {
          hak_slab *s = &((hak_segment *)r)->slabs[i];
          if (s->capacity == 0) continue;
          const uint32_t *cnt = counts_of(s);
          if (cnt[M_FREE] + s->used != s->carved)
            FAIL("heap %u: slab %p (class %u): carved %u != used %u + free-list length %u", h->id,  /* oracle:count_carved */
                 (void *)s->start, s->cls, s->carved, s->used, cnt[M_FREE]);
          /* No "cached + remote <= used" check: marks are exclusive, so
           * cached + remote + free <= carved, and with the line above that
           * is cached + remote <= used; it could never fire first. */
        }
  size_t listed = 0;
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) {
    hak_slab *prev = NULL;
    for (hak_slab *s = h->partial[cls]; s != NULL; prev = s, s = s->next) {
      if (++listed > partial_slabs)
        FAIL("heap %u: partial list of class %u holds more slabs than are PARTIAL (or loops)", h->id, cls);  /* oracle:partial_too_many */
      hak_region *r = hak__region_of(s->start);
      if (r == NULL || r->owner != h || r->kind == HAK_REGION_LARGE || hak__slab_of(r, s->start) != s)
        FAIL("heap %u: partial list of class %u links to a slab not of this heap", h->id, cls);  /* oracle:partial_foreign */
      if (s->state != HAK_SLAB_PARTIAL || s->cls != cls || s->prev != prev)
        FAIL("heap %u: slab %p on the partial list of class %u has state %u class %u or a bad back link",  /* oracle:partial_entry */
             h->id, (void *)s->start, cls, s->state, s->cls);
    }
  }
  if (listed != partial_slabs)
    FAIL("heap %u: %lu PARTIAL slabs but %lu on partial lists", h->id, (unsigned long)partial_slabs,  /* oracle:partial_count */
         (unsigned long)listed);
  return 0;
}

/* *nsegs: the segments on h's lists (0 for a heap that is not checked). */
static int heap_check_locked(hak_heap *h, char *msg, size_t len, size_t *nsegs) {
  size_t partial = 0;
  if (h->state == HAK_HEAP_DEAD || h->state == HAK_HEAP_ORPHANED) return 0;
  if (h->free_key != hak__free_key) FAIL("heap %u: free key corrupted", h->id);  /* oracle:free_key */
  if (mark_heap(h, msg, len, &partial, nsegs) != 0) return -1;
  return check_counts_and_lists(h, partial, msg, len);
}

HAK_EXPORT int hak_heap_check(hak_heap *h, char *msg, size_t len) {
  char dummy[8];
  if (msg == NULL) msg = dummy, len = sizeof dummy;
  if (len) msg[0] = '\0';
  if (h == NULL || h == &hak__empty_heap) return 0;
  size_t nsegs;
  hak_lock_acquire(&check_lock);
  int rc = heap_check_locked(h, msg, len, &nsegs);
  hak_lock_release(&check_lock);
  return rc;
}

/* ---- the whole process (hak_check_all only) -----------------------------
 * Beyond every heap, hak_check_all checks the global structures, under
 * check_lock, the segment lock and the large lock (the order of
 * fork_prepare in heap.c):
 *   - the large blocks (large.c, the span cache): each on the live list
 *     (state LIVE) or the address-ordered cache list (state CACHED, size
 *     == span); descriptor magic and kind, no owner, granule-aligned base
 *     and span, page-multiple size <= span, dirty prefix <= mapped <= span
 *     (less only for a one-granule short span), first and last granule
 *     of the span registered; the lists doubly linked; the live list holds
 *     hak__ctr.large_live blocks; cached spans in strictly increasing,
 *     non-overlapping order, no two full ones touching (unmerged); the
 *     LRU doubly linked head to tail over exactly the cached spans, all
 *     CACHED, newest first; cached, dirty and live byte counters are the
 *     sums.  (The cache's byte bounds move with the live peak, large.c's
 *     maintain(); they are not an invariant between operations here.)
 *   - the segment cache (segment.c): doubly linked, each descriptor valid,
 *     without owner, every slab unused, registered, geometry of its kind;
 *     its count is the list length and at most HAKMEM_SEGMENT_CACHE;
 *   - the address-space map (segmap.c), walked leaf by leaf: each entry
 *     names a valid descriptor that covers its granule, tagged tiny iff the
 *     region is a tiny segment, and all of a region's granules map to it;
 *     every region is on exactly ONE list: a segment on a list of its owner
 *     heap (owner NULL: the segment cache), a large block on the live list
 *     or in BigCache.  The lists were checked to be duplicate-free (back
 *     links, owner, state, bucket) and to hold only registered regions, so
 *     equal counts (mapped == listed, for owned segments, cached segments
 *     and large blocks) prove it; only when they differ is the region on
 *     no list searched for, one by one (quadratic, but only on failure).
 * Segments owned by an ORPHANED heap (a fork child) are not counted: that
 * heap may have been frozen in the middle of a list update.
 * Cost: the map walk reads the 2^14 top entries plus 2^13 entries per leaf
 * in use (one leaf spans 16 GiB) and every region once, tens of
 * microseconds: too much for hak_heap_check, which the fuzzers call after
 * every operation, so it is here only.  hak_check_all is for quiescent
 * points: it reads other heaps' owner-private state and the map. */
typedef struct all_ctx {
  char  *msg;
  size_t len;
  int    rc;
  int    changed_only;      /* hak_check_changed: skip what did not change (below) */
  size_t nheaps, orphans;   /* heaps in heap_tab, how many ORPHANED */
  size_t listed;            /* segments on the lists of checked heaps */
} all_ctx;

/* ---- checking what changed (hak_check_changed) ---------------------------
 * The fuzzers check after every few operations.  Most operations change
 * one heap's caches and nothing global, yet the full check walks every
 * heap, the segment cache and the map: half of a fuzz/ops input's time.
 * The core notes changes (internal.h): a flag per heap, a count for the
 * segment side (segment cache, map, the set of heaps and their states)
 * and one for large blocks.  A clean full check records both counts and
 * what the cross-checks need of the parts it may later skip: each heap's
 * segment count, the large blocks listed, the segments owned.  After it a
 * heap whose flag is clear and whose print has not moved is skipped (its
 * recorded segment count stands in), the large lists are walked only if
 * their count moved, the segment cache and the map only if the segment
 * count moved or the cross-checks' sums differ from the recorded ones.
 * Clean state is recorded only by a check that passed everything. */
hak_atomic_u64 hak__check_gen;
hak_atomic_u64 hak__check_large_gen;
static struct {
  int      valid;
  uint64_t gen, large_gen;
  size_t   large_listed, owned;
  size_t   nheaps, orphans;   /* heap_tab as that check left it */
} clean;

/* What most operations on a heap move: cache counts, list heads, the
 * queue; not a proof of "unchanged", a net under the flags.  Sums, not a
 * chain of multiplies: it is computed for every heap a check skips. */
static uint64_t heap_print(hak_heap *h) {
  uint64_t x = h->state + ((uint64_t)h->mid_chunks << 8) + (uintptr_t)hak_atomic_ptr_peek(&h->remote);
  for (int k = 0; k < 2; k++) x += ((uintptr_t)h->avail[k] << 1) + ((uintptr_t)h->full[k] << 2);
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++)
    x += (((uint64_t)h->cache[cls].cap << 32 | h->cache[cls].count) << (cls & 15)) + (uintptr_t)h->partial[cls];
  return x;
}

/* One heap of hak_check_all (or hak_check_changed: changed_only). */
static int check_listed_heap(hak_heap *h, int changed_only, size_t *nsegs, char *msg, size_t len) {
  *nsegs = 0;
  if (h->state == HAK_HEAP_DEAD || h->state == HAK_HEAP_ORPHANED) return 0;   /* not checked (see types.h) */
  int marked = hak_atomic_u32_load(&h->check_dirty, HAK_RELAXED) != 0;
  if (changed_only && !marked && heap_print(h) == h->check_print) {
    *nsegs = h->check_nsegs;
    return 0;
  }
  if (heap_check_locked(h, msg, len, nsegs) != 0) return -1;
  if (changed_only && !marked)   /* a core path that writes a heap without noting it */
    FAIL("heap %u changed since the last check without being marked as changed", h->id);  /* oracle:unmarked_change */
  hak_atomic_u32_store(&h->check_dirty, 0, HAK_RELAXED);
  h->check_print = heap_print(h);
  h->check_nsegs = (uint32_t)*nsegs;
  return 0;
}

/* Every heap seen by hak__heaps_foreach but the DEAD ones, so that an
 * owner pointer can be told from garbage without reading through it (a
 * DEAD owner is as wrong as garbage).  Scratch, like the marks; it also
 * stands in for the walk of every heap ever made while the set of heaps
 * has not changed (hak_check_changed). */
static hak_heap **heap_tab;
static size_t heap_tab_cap;

static void check_one(hak_heap *h, void *arg) {
  all_ctx *c = arg;
  if (h->state == HAK_HEAP_DEAD) return;
  if (c->nheaps == heap_tab_cap) {
    size_t want = heap_tab_cap ? heap_tab_cap * 2 : 512;
    hak_heap **t = hak__os_map_unfailing(want * sizeof *t);
    if (t == NULL) {
      if (c->rc == 0) c->rc = -1, hak__fmt(c->msg, c->len, "checker: cannot map scratch memory");
      return;
    }
    if (heap_tab) {
      memcpy(t, heap_tab, heap_tab_cap * sizeof *t);
      hak__os_unmap(heap_tab, heap_tab_cap * sizeof *t);
    }
    heap_tab = t;
    heap_tab_cap = want;
  }
  heap_tab[c->nheaps++] = h;
  if (h->state == HAK_HEAP_ORPHANED) c->orphans++;
  size_t n = 0;
  if (c->rc == 0) c->rc = check_listed_heap(h, c->changed_only, &n, c->msg, c->len);
  c->listed += n;
}

static hak_heap *heap_lookup(const all_ctx *c, const hak_heap *o) {
  for (size_t i = 0; i < c->nheaps; i++)
    if (heap_tab[i] == o) return heap_tab[i];
  return NULL;
}

/* Large blocks: one descriptor, live or cached (large.c has the span
 * model).  The first and last granule of the span must map to it (the
 * map walk checks the granules between). */
#define SPAN_FULL(l) ((l)->mapped == (l)->span)
static int check_large_region(hak_large *l, char *msg, size_t len) {
  hak_region *r = &l->r;
  if (r->magic != (HAK_REGION_MAGIC ^ HAK_REGION_LARGE) || r->kind != HAK_REGION_LARGE)
    FAIL("large block %p: bad magic or kind in its descriptor", (void *)r->base);  /* oracle:large_magic */
  if (r->owner != NULL) FAIL("large block %p: has an owner heap", (void *)r->base);  /* oracle:large_owner */
  if ((r->base & (HAK_GRANULE - 1)) != 0 || (l->span & (HAK_GRANULE - 1)) != 0 || l->span == 0)
    FAIL("large block %p: base or span %lu not granule-aligned", (void *)r->base, (unsigned long)l->span);  /* oracle:large_span */
  if ((r->size & (HAK_PAGE - 1)) != 0 || r->size == 0 || r->size > l->span)
    FAIL("large block %p: size %lu not a page multiple within its span of %lu", (void *)r->base,  /* oracle:large_size */
         (unsigned long)r->size, (unsigned long)l->span);
  if ((l->dirty & (HAK_PAGE - 1)) != 0 || l->dirty > l->span)
    FAIL("large block %p: dirty prefix %lu outside its span of %lu", (void *)r->base,  /* oracle:large_dirty */
         (unsigned long)l->dirty, (unsigned long)l->span);
  /* only a one-granule span may map less than its span (a short span) */
  if ((l->mapped & (HAK_PAGE - 1)) != 0 || l->mapped > l->span || (l->mapped < l->span && l->span != HAK_GRANULE) ||
      l->dirty > l->mapped || (l->state == HAK_LARGE_LIVE && r->size > l->mapped))
    FAIL("large block %p: mapped %lu of its span of %lu, dirty %lu, size %lu", (void *)r->base,  /* oracle:large_mapped */
         (unsigned long)l->mapped, (unsigned long)l->span, (unsigned long)l->dirty, (unsigned long)r->size);
  /* not hak__region_of: it answers NULL past r.size, and a live block's
   * span may reach granules beyond its usable size */
  uintptr_t last = r->base + l->span - HAK_GRANULE;
  int base_ok = hak__segmap_region(hak__segmap_entry(r->base)) == r;
  uintptr_t g = base_ok ? last : r->base;
  if (!base_ok || hak__segmap_region(hak__segmap_entry(last)) != r)
    FAIL("large block %p: granule %p of its span not mapped to it", (void *)r->base, (void *)g);  /* oracle:large_registered */
  return 0;
}

/* The bytes of address space a region's granules cover. */
static size_t region_extent(const hak_region *r) {
  return r->kind == HAK_REGION_LARGE ? ((const hak_large *)r)->span : r->size;
}

#define LARGE_LISTS 2   /* the live list, then the cached spans */
static unsigned large_heads(const hak_large_index *li, hak_region **heads) {
  heads[0] = *li->live;
  heads[1] = *li->cache;
  return LARGE_LISTS;
}

static int check_large(const hak_large_index *li, size_t *listed, char *msg, size_t len) {
  hak_region *heads[LARGE_LISTS];
  unsigned nheads = large_heads(li, heads);
  size_t live_n = 0, cached_n = 0, live_sum = 0, span_sum = 0, dirty_sum = 0;
  hak_region *prev_span = NULL;
  rwalk w;
  rwalk_begin(&w, heads, nheads, HAK_PAGE);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;) {
    hak_large *l = (hak_large *)r;
    if (check_large_region(l, msg, len) != 0) return -1;
    if (r->prev != w.prev)
      FAIL("large block %p on the %s has back link %p, not descriptor %p", (void *)r->base,  /* oracle:large_back_link */
           w.list ? "BigCache" : "live list", (void *)r->prev, (void *)w.prev);
    if (w.list == 0) {
      if (l->state != HAK_LARGE_LIVE) FAIL("large block %p: on the live list but not live", (void *)r->base);  /* oracle:large_live_state */
      live_sum += r->size;
      live_n++;
      continue;
    }
    if (l->state != HAK_LARGE_CACHED || r->size != l->span)
      FAIL("BigCache: span %p has state %u, size %lu of span %lu", (void *)r->base, l->state,  /* oracle:bigcache_entry */
           (unsigned long)r->size, (unsigned long)l->span);
    hak_large *p = (hak_large *)prev_span;
    if (p != NULL && p->r.base + p->span > r->base)
      FAIL("BigCache: spans %p and %p out of address order or overlapping", (void *)p->r.base, (void *)r->base);  /* oracle:bigcache_order */
    if (p != NULL && p->r.base + p->span == r->base && SPAN_FULL(p) && SPAN_FULL(l))
      FAIL("BigCache: spans %p and %p touch but were not merged", (void *)p->r.base, (void *)r->base);  /* oracle:bigcache_unmerged */
    prev_span = r;
    span_sum += l->span;
    dirty_sum += l->dirty;
    cached_n++;
  }
  /* Not reachable while the back-link check stands (it sees a cycle's
   * back edge first); it ends the walk when that check is removed. */
  if (w.r != NULL) FAIL("large: the lists are longer than the %lu blocks there can be", (unsigned long)w.max - 1);
  uint64_t counter = hak_atomic_u64_load(&hak__ctr.large_live, HAK_RELAXED);
  if (live_n != counter)
    FAIL("large: %lu blocks on the live list, the large_live counter says %lu", (unsigned long)live_n,  /* oracle:large_live_count */
         (unsigned long)counter);
  size_t lru_n = 0, max = walk_bound(HAK_PAGE);
  hak_large *prev = NULL, *l = *li->lru_head;
  for (; l != NULL && lru_n <= max; prev = l, l = l->lru_next, lru_n++) {
    if (l->lru_prev != prev)
      FAIL("BigCache: LRU entry %p has LRU back link %p, not %p", (void *)l, (void *)l->lru_prev, (void *)prev);  /* oracle:bigcache_lru_link */
    if (l->state != HAK_LARGE_CACHED)
      FAIL("BigCache: LRU entry %p (block %p) is not cached: state %u", (void *)l, (void *)l->r.base, l->state);  /* oracle:bigcache_lru_state */
    /* newest first: the bounds of large.c evict from the tail */
    if (l->last_use > *li->epoch || (prev != NULL && l->last_use > prev->last_use))
      FAIL("BigCache: LRU entry %p out of order (used at %lu, now %lu)", (void *)l->r.base,  /* oracle:bigcache_lru_order */
           (unsigned long)l->last_use, (unsigned long)*li->epoch);
  }
  if (l != NULL) FAIL("BigCache: the LRU list is longer than the %lu blocks there can be", (unsigned long)max);  /* see above */
  if (*li->lru_tail != prev)
    FAIL("BigCache: the LRU tail is %p but the list ends at %p", (void *)*li->lru_tail, (void *)prev);  /* oracle:bigcache_lru_tail */
  if (lru_n != cached_n || span_sum != *li->cached_bytes || dirty_sum != *li->dirty_bytes || live_sum != *li->live_bytes)
    FAIL("BigCache: %lu spans on the LRU, %lu cached; bytes cached %lu (summed %lu), dirty %lu (summed %lu), "  /* oracle:bigcache_counts */
         "live %lu (summed %lu)", (unsigned long)lru_n, (unsigned long)cached_n, (unsigned long)*li->cached_bytes,
         (unsigned long)span_sum, (unsigned long)*li->dirty_bytes, (unsigned long)dirty_sum,
         (unsigned long)*li->live_bytes, (unsigned long)live_sum);
  *listed = live_n + cached_n;
  return 0;
}

static int check_segment_cache(const hak_segcache_index *ci, char *msg, size_t len) {
  rwalk w;
  rwalk_begin(&w, ci->head, 1, SEG_UNIT);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;) {
    hak_segment *seg = (hak_segment *)r;
    if (r->magic != (HAK_REGION_MAGIC ^ r->kind) || (r->kind != HAK_REGION_TINY && r->kind != HAK_REGION_MID))
      FAIL("segment cache: descriptor %p has a bad magic or kind", (void *)r);  /* oracle:segcache_magic */
    if (r->prev != w.prev)
      FAIL("segment cache: back link of segment %p is %p, not descriptor %p", (void *)r->base, (void *)r->prev,  /* oracle:segcache_back_link */
           (void *)w.prev);
    if (r->owner != NULL) FAIL("segment cache: segment %p still has an owner", (void *)r->base);  /* oracle:segcache_owner */
    unsigned shift = r->kind == HAK_REGION_TINY ? HAK_TINY_SLAB_SHIFT : HAK_MID_SLAB_SHIFT;
    if (r->slab_shift != shift || r->nslabs == 0 || r->nslabs > HAK_SEG_MAX_SLABS ||
        ((size_t)r->nslabs << shift) != r->size)
      FAIL("segment cache: segment %p geometry: %u slabs of 2^%u for %lu bytes", (void *)r->base, r->nslabs,  /* oracle:segcache_geometry */
           r->slab_shift, (unsigned long)r->size);
    uint32_t all = r->nslabs == 32 ? 0xffffffffu : (1u << r->nslabs) - 1;
    if (seg->free_slabs != all) FAIL("segment cache: segment %p has slabs in use", (void *)r->base);  /* oracle:segcache_slabs */
    if (hak__region_of(r->base) != r || hak__region_of(r->base + r->size - 1) != r)
      FAIL("segment cache: segment %p is missing from the address-space map", (void *)r->base);  /* oracle:segcache_registered */
  }
  if (w.r != NULL) FAIL("segment cache: the list is longer than the %lu segments there can be", (unsigned long)w.max - 1);  /* as in check_large */
  if (*ci->count > hak__opt->segment_cache)
    FAIL("segment cache: holds %u segments, over its limit of %u", *ci->count, hak__opt->segment_cache);  /* oracle:segcache_limit */
  if (w.n != *ci->count)
    FAIL("segment cache: %lu segments listed, count says %u", (unsigned long)w.n, *ci->count);  /* oracle:segcache_count */
  return 0;
}

/* The map's non-empty entries, in address order. */
/* The map's non-empty entries, in address order: the granules of the
 * groups segmap.c's index says ever held one (see hak__segmap_next_used). */
typedef struct map_iter { uintptr_t g, end, a, e; hak_region **leaf; } map_iter;
static int map_next(map_iter *it) {
  for (;;) {
    if (it->g >= it->end) {   /* the next group that ever held an entry: its 64 granules share a leaf */
      uintptr_t n = hak__segmap_next_used(it->g);
      if (n >= HAK_SEGMAP_GRANULES) return 0;
      it->g = n;
      it->end = (n | 63) + 1;
      it->leaf = hak_atomic_ptr_peek((hak_atomic_ptr *)&hak__segmap[n >> HAK_SEGMAP_LEAF_BITS]);
      if (it->leaf == NULL) { it->g = it->end; continue; }   /* its first registration could not make the leaf */
    }
    uintptr_t g = it->g++;
    uintptr_t e = (uintptr_t)hak_atomic_ptr_peek((hak_atomic_ptr *)&it->leaf[g & ((1u << HAK_SEGMAP_LEAF_BITS) - 1)]);
    if (e == 0) continue;
    it->a = g << HAK_GRANULE_SHIFT;
    it->e = e;
    return 1;
  }
}

static int on_lists(hak_region *const *heads, unsigned n, size_t unit, const hak_region *r) {
  rwalk w;
  rwalk_begin(&w, heads, n, unit);
  while (rwalk_next(&w) != NULL)
    if (w.r == r) return 1;
  return 0;
}

static int owner_orphaned(const all_ctx *c, const hak_heap *o) {
  if (c->orphans == 0) return 0;
  const hak_heap *h = heap_lookup(c, o);
  return h != NULL && h->state == HAK_HEAP_ORPHANED;
}

/* The counts differ: name the region that is on no list. */
static int find_unlisted(const all_ctx *c, const hak_large_index *li, const hak_segcache_index *ci,
                         char *msg, size_t len) {
  map_iter it = { 0, 0, 0, 0, NULL };
  hak_region *heads[LARGE_LISTS];
  while (map_next(&it)) {
    hak_region *r = hak__segmap_region(it.e);
    if (it.a != (r->base & ~(uintptr_t)(HAK_GRANULE - 1))) continue;
    if (r->kind == HAK_REGION_LARGE) {
      if (!on_lists(heads, large_heads(li, heads), HAK_PAGE, r))
        FAIL("address-space map: large block %p is on neither the live list nor BigCache", (void *)r->base);  /* oracle:map_large_unlisted */
    } else if (r->owner == NULL) {
      if (!on_lists(ci->head, 1, SEG_UNIT, r))
        FAIL("address-space map: segment %p has no owner and is not in the segment cache", (void *)r->base);  /* oracle:map_seg_uncached */
    } else {
      hak_heap *o = heap_lookup(c, r->owner);
      int live = o != NULL && o->state != HAK_HEAP_DEAD;
      if (!live)
        FAIL("address-space map: segment %p is owned by %p, which is not a live heap", (void *)r->base,  /* oracle:map_seg_owner */
             (void *)r->owner);
      if (!live || o->state == HAK_HEAP_ORPHANED) continue;   /* !live: only without the check above */
      seg_lists sl = lists_of(o);
      if (!on_lists(sl.heads, 4, SEG_UNIT, r))
        FAIL("address-space map: segment %p is owned by heap %u but on none of its lists", (void *)r->base, o->id);  /* oracle:map_seg_unlisted */
    }
  }
  /* Unreachable: the lists hold only distinct registered regions, so a
   * count that differs has a region on no list (see above). */
  FAIL("address-space map: counts differ but every region is listed");
}

static int check_map(const all_ctx *c, const hak_large_index *li, const hak_segcache_index *ci, size_t large_listed,
                     char *msg, size_t len) {
  size_t owned = 0, unowned = 0, large = 0;
  map_iter it = { 0, 0, 0, 0, NULL };
  while (map_next(&it)) {
    hak_region *r = hak__segmap_region(it.e);
    if (r->magic != (HAK_REGION_MAGIC ^ r->kind) || r->kind < HAK_REGION_TINY || r->kind > HAK_REGION_LARGE)
      FAIL("address-space map: granule %p maps to descriptor %p with a bad magic or kind", (void *)it.a, (void *)r);  /* oracle:map_magic */
    if (it.a - (r->base & ~(uintptr_t)(HAK_GRANULE - 1)) >= region_extent(r))
      FAIL("address-space map: granule %p maps to region %p of %lu bytes, which does not cover it", (void *)it.a,  /* oracle:map_cover */
           (void *)r->base, (unsigned long)r->size);
    if (((it.e & HAK_SEGMAP_TINY) != 0) != (r->kind == HAK_REGION_TINY))
      FAIL("address-space map: granule %p: entry tag %u for a region of kind %u", (void *)it.a,  /* oracle:map_tag */
           (unsigned)(it.e & HAK_SEGMAP_TINY), r->kind);
    if (it.a != (r->base & ~(uintptr_t)(HAK_GRANULE - 1))) continue;   /* count each region at its first granule */
    for (uintptr_t g = it.a + HAK_GRANULE; g - r->base < region_extent(r); g += HAK_GRANULE)
      if (hak__segmap_region(hak__segmap_entry(g)) != r)
        FAIL("address-space map: granule %p of region %p does not map to it", (void *)g, (void *)r->base);  /* oracle:map_whole */
    /* every granule of r maps to r (just checked): the walk goes on after it
     * (a 128 MiB span is 64 entries, each checked like the first) */
    uintptr_t past = (r->base + region_extent(r) + HAK_GRANULE - 1) >> HAK_GRANULE_SHIFT;
    if (past > it.g) it.g = past;
    if (r->kind == HAK_REGION_LARGE) large++;
    else if (r->owner == NULL) unowned++;
    else if (!owner_orphaned(c, r->owner)) owned++;
  }
  if (owned == c->listed && unowned == *ci->count && large == large_listed) return 0;
  return find_unlisted(c, li, ci, msg, len);
}

/* gen, large_gen: the change counts read before the heaps were walked. */
static int check_globals(const all_ctx *c, uint64_t gen, uint64_t large_gen, char *msg, size_t len) {
  hak_large_index li;
  hak_segcache_index ci;
  size_t large_listed = clean.large_listed;
  hak__large_index(&li);
  hak__segment_cache_index(&ci);
  int segs = !c->changed_only || gen != clean.gen;
  if ((segs || large_gen != clean.large_gen) && check_large(&li, &large_listed, msg, len) != 0) return -1;
  if (segs && check_segment_cache(&ci, msg, len) != 0) return -1;
  if ((segs || large_listed != clean.large_listed || c->listed != clean.owned) &&
      check_map(c, &li, &ci, large_listed, msg, len) != 0)
    return -1;
  clean.large_listed = large_listed;
  clean.owned = c->listed;
  return 0;
}

/* Caller holds check_lock. */
static int check_process(int changed_only, char *msg, size_t len) {
  all_ctx c = { msg, len, 0, changed_only && clean.valid, 0, 0, 0 };
  uint64_t gen = hak_atomic_u64_load(&hak__check_gen, HAK_RELAXED);
  uint64_t large_gen = hak_atomic_u64_load(&hak__check_large_gen, HAK_RELAXED);
  if (c.changed_only && gen == clean.gen) {   /* the same heaps as last time */
    c.nheaps = clean.nheaps;
    c.orphans = clean.orphans;
    for (size_t i = 0, n; i < c.nheaps && c.rc == 0; i++, c.listed += n)
      c.rc = check_listed_heap(heap_tab[i], 1, &n, msg, len);
  } else {
    hak__heaps_foreach(check_one, &c);
  }
  if (c.rc == 0) {
    hak__segment_lock_all();
    hak__large_lock_all();
    c.rc = check_globals(&c, gen, large_gen, msg, len);
    hak__large_unlock_all(0);
    hak__segment_unlock_all(0);
  }
  clean.valid = c.rc == 0 && HAK_CHECK_TRACKS_CHANGES;
  clean.gen = gen;
  clean.large_gen = large_gen;
  clean.nheaps = c.nheaps;
  clean.orphans = c.orphans;
  return c.rc;
}

static int check_entry(int changed_only, char *msg, size_t len) {
  char dummy[8];
  if (msg == NULL) msg = dummy, len = sizeof dummy;
  if (len) msg[0] = '\0';
  hak_lock_acquire(&check_lock);
  int rc = check_process(changed_only, msg, len);
  hak_lock_release(&check_lock);
  return rc;
}
HAK_EXPORT int hak_check_all(char *msg, size_t len) { return check_entry(0, msg, len); }
HAK_EXPORT int hak_check_changed(char *msg, size_t len) { return check_entry(1, msg, len); }

/* ---- visitor ----------------------------------------------------------- */
static void visit(hak_heap *h, hak_visit_fn fn, void *arg, int live_only) {
  static const int state_of[4] = { HAK_BLOCK_LIVE, HAK_BLOCK_FREE, HAK_BLOCK_CACHED, HAK_BLOCK_REMOTE };
  char msg[256];
  size_t partial, nsegs;
  if (h == NULL || h == &hak__empty_heap) return;
  hak_lock_acquire(&check_lock);
  if (mark_heap(h, msg, sizeof msg, &partial, &nsegs) != 0) {
    hak_lock_release(&check_lock);
    hak__fatal("hakmem: hak_heap_visit on a corrupted heap: %s", msg);
  }
  seg_lists sl = lists_of(h);
  rwalk w;
  rwalk_begin(&w, sl.heads, 4, SEG_UNIT);
  for (hak_region *r; (r = rwalk_next(&w)) != NULL;)
        for (unsigned i = 0; i < r->nslabs; i++) {
          hak_slab *s = &((hak_segment *)r)->slabs[i];
          const uint8_t *m = marks_of(s);
          unsigned end = live_only ? s->carved : s->capacity;
          if (live_only) {   /* LIVE = carved and on no list: used minus what the lists hold */
            const uint32_t *c = counts_of(s);
            if (s->capacity == 0 || s->used == c[M_CACHED] + c[M_REMOTE]) continue;
          }
          for (unsigned b = 0; b < end; b++) {
            int st = b < s->carved ? state_of[m[b]] : HAK_BLOCK_UNCARVED;
            if (!live_only || st == HAK_BLOCK_LIVE)
              fn(arg, (void *)(s->start + (uintptr_t)b * s->block_size), s->block_size, s->cls, st);
          }
        }
  hak_lock_release(&check_lock);
}

HAK_EXPORT void hak_heap_visit(hak_heap *h, hak_visit_fn fn, void *arg) { visit(h, fn, arg, 0); }
HAK_EXPORT void hak_heap_visit_live(hak_heap *h, hak_visit_fn fn, void *arg) { visit(h, fn, arg, 1); }

/* ---- classification ---------------------------------------------------- */
HAK_EXPORT int hak_classify(const void *p, hak_block_info *out) {
  uintptr_t a = (uintptr_t)p;
  hak_region *r = hak__region_of(a);
  if (r == NULL) return 0;
  if (r->kind == HAK_REGION_LARGE) {
    *out = (hak_block_info){ (void *)r->base, r->size, HAK_TIER_LARGE, -1, NULL, a != r->base };
    return 1;
  }
  if (r->owner == NULL) return 0;
  hak_slab *s = hak__slab_of(r, a);
  if (s->capacity == 0) return 0;
  uint32_t idx = hak__block_index(s, a - s->start);
  if (idx >= s->capacity) return 0;
  uintptr_t block = s->start + (uintptr_t)idx * s->block_size;
  *out = (hak_block_info){ (void *)block, s->block_size, s->cls < HAK_TINY_CLASSES ? HAK_TIER_TINY : HAK_TIER_MID,
                           s->cls, r->owner, a != block };
  return 1;
}

HAK_EXPORT int hak_block_state(const void *p) {
  hak_block_info info;
  if (!hak_classify(p, &info) || info.interior) return -1;
  hak_region *r = hak__region_of((uintptr_t)p);
  if (r->kind == HAK_REGION_LARGE) return hak__large_visit_state((const hak_large *)r);
  hak_slab *s = hak__slab_of(r, (uintptr_t)p);
  hak_heap *h = r->owner;
  if ((uint32_t)hak__block_index(s, (uintptr_t)p - s->start) >= s->carved) return HAK_BLOCK_UNCARVED;
  hak_tcache *c = &h->cache[s->cls];
  for (uint32_t i = c->count; i-- > 0;)   /* newest first: a block just freed is on top */
    if (c->slots[i] == p) return HAK_BLOCK_CACHED;
  size_t guard = 0;
  for (void *b = s->free; b != NULL && guard++ <= s->capacity; b = (void *)hak__word_load(b, 0))
    if (b == p) return HAK_BLOCK_FREE;
  guard = 0;
  for (void *b = hak_atomic_ptr_load(&h->remote, HAK_ACQUIRE); b != NULL && guard++ < (1u << 26);
       b = (void *)hak__word_load(b, 0))
    if (b == p) return HAK_BLOCK_REMOTE;
  return HAK_BLOCK_LIVE;
}
