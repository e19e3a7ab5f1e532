/* Large blocks (above HAK_MID_MAX) and the span cache ("BigCache").
 *
 * Address space for large blocks is handled in SPANS: granule-aligned,
 * granule-multiple ranges, each described by one hak_large (meta.c) and
 * registered granule by granule in the address-space map.  A live block
 * is the front of its span (user pointer == base, usable size r.size <=
 * span); the rest of the span is address space it may grow into.
 *
 * A freed block's span is parked in the cache, merged with the cached
 * spans right before and after it (the hint in os.c puts mappings next to
 * each other, so they usually are), and stays mapped with its pages
 * resident.  An allocation takes the best-fitting cached span (smallest
 * that fits) and splits it: the front granules become the block, the
 * rest stays cached.  So a working set of mixed sizes is served from
 * memory already mapped and faulted in, without system calls.
 *
 * A block below a granule maps only its pages (a SHORT span: mapped <
 * span == one granule; address space is what `ulimit -v` limits): it is
 * reused whole for requests that fit its pages, never split or merged,
 * and a realloc past its pages first extends the mapping in place.
 *
 * Each span remembers `dirty`: a prefix of it that may hold non-zero,
 * resident pages (beyond it the pages are untouched or were decommitted
 * and read as zero).  calloc clears only that prefix.
 *
 * The cache is bounded three ways, checked after every large operation:
 *   resident bytes (sum of dirty) <= max(HAKMEM_BIGCACHE_MB, the most
 *     live large bytes within the last UNMAP_AFTER operations: a
 *     program cycling through a working set gets it back warm, and the
 *     cache never holds more than the program recently did): beyond, the
 *     least recently used spans are decommitted
 *     (MADV_DONTNEED; they stay mapped, so reusing them costs page faults
 *     but no mapping);
 *   mapped bytes (sum of spans) <= 4x that: beyond, the least recently
 *     used spans are unmapped;
 *   age, in large operations (allocations + frees), since the span was
 *     last used: DECOMMIT_AFTER decommits it, UNMAP_AFTER unmaps it, so an
 *     idle cache drains without a timer or a clock (which would be a
 *     system call).
 * HAKMEM_BIGCACHE_MB=0 turns the cache off: a freed span is unmapped.
 *
 * Cached spans stay registered in the address map, so free() of any
 * pointer into one (a freed block, even one merged into a neighbour) is
 * reported as a double free.
 *
 * Invariants (check.c's check_large verifies each):
 *   every descriptor is on exactly one of the live list (state LIVE) or
 *   the cache (state CACHED; on the address-ordered list AND the LRU);
 *   base and span are granule multiples, 0 < r.size <= span, dirty a
 *   page multiple <= span; a cached span has r.size == span;
 *   every granule of [base, base+span) maps to the descriptor;
 *   the address list is strictly increasing, and no two cached spans
 *   touch (they would have been merged);
 *   the LRU is ordered by last_use, newest first, last_use <= epoch;
 *   cached_bytes, dirty_bytes, live_bytes are the sums of span and dirty
 *   over the cache and of r.size over the live list. */
#include <errno.h>
#include <stdint.h>
#include "internal.h"

#define PAGE_UP(x) (((x) + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1))
#define GRAN_UP(x) (((x) + HAK_GRANULE - 1) & ~(size_t)(HAK_GRANULE - 1))
#define DECOMMIT_AFTER 1024u   /* large operations a cached span may sit unused with pages */
#define UNMAP_AFTER    8192u   /* ... and mapped at all */
#define FULL(l) ((l)->mapped == (l)->span)   /* else a short span: see below */
#define SHRINK_DECOMMIT ((size_t)256 << 10)   /* realloc shrink: drop a tail this big */

/* Builds whose tools keep shadow state per address (sanitizers, valgrind)
 * never move a block with mremap: the tool would not follow the pages. */
#if defined(HAK__ASAN) || defined(HAK__MSAN) || defined(HAK__TSAN) || defined(HAK__VG)
#define MOVE_PAGES 0
#else
#define MOVE_PAGES 1
#endif

static hak_lock large_lock;
/* Every section under large_lock may change the lists the checker reads
 * (hak__changed_large); hak__large_lock_all, the checker's, does not. */
static void lock_large(void) {
  hak_lock_acquire(&large_lock);
  hak__changed_large();
}
static hak_region *live_head;
static hak_region *cache_head;            /* cached spans, address order */
static hak_large *lru_head, *lru_tail;    /* head: most recently used */
static size_t cached_bytes, dirty_bytes, live_bytes;
static uint64_t epoch;                    /* large operations so far */
static size_t live_peak;                  /* most live bytes lately (since live_peak_at) */
static uint64_t live_peak_at;
static uint64_t as_limited_until;         /* a map was refused lately: save address space */

static void rlist_push(hak_region **head, hak_region *r) {
  r->prev = NULL;
  r->next = *head;
  if (*head) (*head)->prev = r;
  *head = r;
}

static void rlist_remove(hak_region **head, hak_region *r) {
  if (r->prev) r->prev->next = r->next;
  else *head = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
}

static void lru_remove(hak_large *l) {
  if (l->lru_prev) l->lru_prev->lru_next = l->lru_next;
  else lru_head = l->lru_next;
  if (l->lru_next) l->lru_next->lru_prev = l->lru_prev;
  else lru_tail = l->lru_prev;
  l->lru_next = l->lru_prev = NULL;
}

static void lru_push(hak_large *l) {
  l->last_use = epoch;
  l->lru_prev = NULL;
  l->lru_next = lru_head;
  if (lru_head) lru_head->lru_prev = l;
  else lru_tail = l;
  lru_head = l;
}

/* The map already has leaves for every granule of a span (it was
 * registered whole when mapped), so re-pointing granules cannot fail. */
static void remap_granules(uintptr_t base, size_t size, hak_large *l) {
  int rc = hak__segmap_set(base, size, &l->r);
  hak_assert(rc == 0);
  (void)rc;
}

/* Under large_lock: take c off the cache. */
static void cache_unlink(hak_large *c) {
  rlist_remove(&cache_head, &c->r);
  lru_remove(c);
  cached_bytes -= c->span;
  dirty_bytes -= c->dirty;
}

/* Under large_lock: hi, the span right after lo, joins lo.  The merged
 * dirty prefix covers hi's: lo's clean tail, if any, is counted dirty
 * (an overestimate only costs calloc a memset). */
static void absorb(hak_large *lo, hak_large *hi) {
  size_t d = hi->dirty ? lo->span + hi->dirty : lo->dirty;
  dirty_bytes += d - lo->dirty - hi->dirty;
  lo->dirty = d;
  remap_granules(hi->r.base, hi->span, lo);
  lo->span += hi->span;
  lo->mapped = lo->span;
  lo->r.size = lo->span;
}

/* Under large_lock: park span l (state set by caller's data) in the cache,
 * merged with its neighbours.  Descriptors merged away are pushed on
 * *spare for the caller to free after the lock (meta.c). */
static void cache_insert(hak_large *l, hak_large **spare) {
  l->state = HAK_LARGE_CACHED;
  l->r.size = l->span;
  hak_region *prev = NULL, *next = cache_head;
  while (next != NULL && next->base < l->r.base) prev = next, next = next->next;
  l->r.prev = prev;
  l->r.next = next;
  if (prev) prev->next = &l->r;
  else cache_head = &l->r;
  if (next) next->prev = &l->r;
  cached_bytes += l->span;
  dirty_bytes += l->dirty;
  lru_push(l);
  hak_large *n = (hak_large *)next, *p = (hak_large *)prev;
  if (n != NULL && l->r.base + l->span == n->r.base && FULL(l) && FULL(n)) {
    size_t s = n->span, d = n->dirty;
    cache_unlink(n);
    cached_bytes += s, dirty_bytes += d;   /* still part of l's total */
    absorb(l, n);
    n->state = 0;
    n->lru_next = *spare;
    *spare = n;
  }
  if (p != NULL && p->r.base + p->span == l->r.base && FULL(p) && FULL(l)) {
    size_t s = l->span, d = l->dirty;
    cache_unlink(l);
    cached_bytes += s, dirty_bytes += d;
    absorb(p, l);
    lru_remove(p);
    lru_push(p);
    l->state = 0;
    l->lru_next = *spare;
    *spare = l;
  }
}

/* Under large_lock: drop the resident pages of cached span c.  Under the
 * lock because once unlocked another thread may take the span and write
 * to it, and the advice would then destroy its data. */
static void decommit(hak_large *c) {
  if (c->dirty == 0) return;
  hak__os_decommit((void *)c->r.base, c->dirty);
  dirty_bytes -= c->dirty;
  c->dirty = 0;
}

static void evict(hak_large *c, hak_large **gone) {
  cache_unlink(c);
  c->state = 0;
  c->lru_next = *gone;
  *gone = c;
}

/* Under large_lock: enforce the three bounds (see the top of the file). */
static void maintain(hak_large **gone) {
  if (live_bytes >= live_peak || epoch - live_peak_at > UNMAP_AFTER) live_peak = live_bytes, live_peak_at = epoch;
  size_t resident = hak__opt->bigcache_bytes;
  if (resident != 0 && live_peak > resident) resident = live_peak;
  size_t mapped = resident > SIZE_MAX / 4 ? SIZE_MAX : resident * 4;
  for (hak_large *c = lru_tail, *up; c != NULL && epoch - c->last_use >= DECOMMIT_AFTER; c = up) {
    up = c->lru_prev;
    if (epoch - c->last_use >= UNMAP_AFTER) evict(c, gone);
    else decommit(c);
  }
  for (hak_large *c = lru_tail; c != NULL && dirty_bytes > resident; c = c->lru_prev) decommit(c);
  while (lru_tail != NULL && cached_bytes > mapped) evict(lru_tail, gone);
}

/* After large_lock: unmap evicted spans, free merged-away descriptors. */
static void finish(hak_large *gone, hak_large *spare) {
  while (gone != NULL) {
    hak_large *next = gone->lru_next;
    hak__segmap_clear(gone->r.base, gone->span);
    hak__os_unmap((void *)gone->r.base, gone->mapped);
    hak__meta_large_free(gone);
    gone = next;
  }
  while (spare != NULL) {
    hak_large *next = spare->lru_next;
    hak__meta_large_free(spare);
    spare = next;
  }
}

/* A descriptor's identity as a large region: [base, base + span), of
 * which mapped bytes are mapped. */
static void span_init(hak_large *l, uintptr_t base, size_t span, size_t mapped) {
  l->r.base = base;
  l->r.kind = HAK_REGION_LARGE;
  l->r.magic = HAK_REGION_MAGIC ^ HAK_REGION_LARGE;
  l->span = span;
  l->mapped = mapped;
}

/* Under large_lock: a live block of `size` bytes from the cache, or NULL.
 * Best fit; the front of the chosen span is split off (a fresh descriptor
 * for the block, the cached one keeps the rest in its place on both
 * lists). */
static hak_large *cache_take(size_t size, size_t align) {
  size_t need = GRAN_UP(size);
  hak_large *best = NULL;
  for (hak_region *r = cache_head; r != NULL; r = r->next) {
    hak_large *c = (hak_large *)r;
    if (c->mapped < size || (r->base & (align - 1)) != 0) continue;
    if (best == NULL || c->span < best->span) best = c;
    if (c->span == need) break;
  }
  if (best == NULL) return NULL;
  hak_large *l = best->span > need && best->mapped == best->span ? hak__meta_large_new() : NULL;
  if (l == NULL) {   /* exact fit, or no descriptor to split with: the whole span */
    cache_unlink(best);
    return best;
  }
  span_init(l, best->r.base, need, need);
  l->dirty = best->dirty < need ? best->dirty : need;
  best->r.base += need;
  best->span -= need;
  best->mapped -= need;
  best->r.size = best->span;
  best->dirty -= l->dirty;   /* what was dirty beyond the block's granules, or 0 */
  cached_bytes -= need;
  dirty_bytes -= l->dirty;
  remap_granules(l->r.base, need, l);
  return l;
}

static void make_live(hak_large *l, size_t size) {
  l->state = HAK_LARGE_LIVE;
  l->r.size = size;
  l->lru_next = l->lru_prev = NULL;
  rlist_push(&live_head, &l->r);
  live_bytes += size;
}

void *hak__large_alloc(size_t n, size_t align, size_t *dirty) {
  if (n > HAK_LARGE_MAX || align > HAK_LARGE_ALIGN_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size_t size = n == 0 ? HAK_PAGE : PAGE_UP(n), span = GRAN_UP(size);
  if (align < HAK_GRANULE) align = HAK_GRANULE;
  hak_large *gone = NULL, *l;
  lock_large();
  epoch++;
  l = cache_take(size, align);
  uintptr_t cut = 0;
  if (l != NULL && epoch < as_limited_until && size < HAK_GRANULE && FULL(l) && l->span == HAK_GRANULE) {
    /* address space is what is short (a map was refused): a block below a
     * granule keeps only its pages mapped */
    l->mapped = size;
    if (l->dirty > size) l->dirty = size;
    cut = l->r.base + size;
  }
  if (l != NULL) make_live(l, size);
  maintain(&gone);
  hak_lock_release(&large_lock);
  finish(gone, NULL);
  if (cut != 0) hak__os_unmap((void *)cut, HAK_GRANULE - size);
  if (l != NULL) {
    HAK_COUNT(bigcache_hits, 1);
    HAK_COUNT(large_live, 1);
    *dirty = l->dirty < size ? l->dirty : size;
    return (void *)l->r.base;
  }
  HAK_COUNT(bigcache_misses, 1);
  size_t map = size < HAK_GRANULE ? size : span;
  void *base = hak__os_map(map, align);
  if (base == NULL) return NULL;
  l = hak__meta_large_new();
  if (l == NULL) {
    hak__os_unmap(base, map);
    return NULL;
  }
  span_init(l, (uintptr_t)base, span, map);
  l->r.size = size;
  if (hak__segmap_set(l->r.base, span, &l->r) != 0) {
    hak__os_unmap(base, map);
    hak__meta_large_free(l);
    errno = ENOMEM;
    return NULL;
  }
  /* the whole span: it is reused for any size, and one VMA can be mremapped */
  if (hak__opt->hugepages && size >= HAK_GRANULE) hak__os_hugepage(base, span);
  lock_large();
  make_live(l, size);
  hak_lock_release(&large_lock);
  HAK_COUNT(large_allocs, 1);
  HAK_COUNT(large_live, 1);
  *dirty = 0;
  return base;
}

void hak__large_free(hak_large *l, void *p) {
  if ((uintptr_t)p != l->r.base)
    hak__fatal("hakmem: invalid free of %p (interior pointer of large block %p)", p, (void *)l->r.base);
  lock_large();
  if (l->state != HAK_LARGE_LIVE) {
    hak_lock_release(&large_lock);
    hak__fatal("hakmem: double free of %p (large)", p);
  }
  hak_track_free(p, l->r.size);
  epoch++;
  rlist_remove(&live_head, &l->r);
  live_bytes -= l->r.size;
  hak_atomic_u64_sub(&hak__ctr.large_live, 1, HAK_RELAXED);
  if (l->dirty < l->r.size) l->dirty = l->r.size;   /* the program may have written all of it */
  hak_large *gone = NULL, *spare = NULL;
  if (hak__opt->bigcache_bytes != 0) {
    cache_insert(l, &spare);
  } else {
    l->state = 0;
    gone = l;
  }
  maintain(&gone);
  hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
  hak_lock_release(&large_lock);
  finish(gone, spare);
}

/* ---- realloc ------------------------------------------------------------
 * Shrinking keeps the block: whole granules past the new end go back to
 * the cache, a big dirty tail inside the last granule is decommitted.
 * Growing within the span costs nothing; beyond it the block takes
 * granules from the cached span right after it, else asks the kernel to
 * extend the mapping in place, else moves the pages (not the bytes) with
 * mremap onto a fresh granule-aligned reservation: the address map
 * contract holds and nothing is copied.  A block that moves reserves half
 * again as much as asked, so steady growth moves O(log) times.  NULL:
 * nothing changed (the caller copies instead). */
static hak_large *cached_after(uintptr_t end) {
  for (hak_region *r = cache_head; r != NULL && r->base <= end; r = r->next)
    if (r->base == end) return (hak_large *)r;
  return NULL;
}

static void *resize_within(hak_large *l, size_t size) {
  size_t need = GRAN_UP(size);
  hak_large *gone = NULL, *spare = NULL, *tail = need < l->span && FULL(l) ? hak__meta_large_new() : NULL;
  uintptr_t cut = 0;
  size_t cut_len = 0;
  lock_large();
  epoch++;
  if (tail != NULL) {   /* whole granules past the end: to the cache */
    span_init(tail, l->r.base + need, l->span - need, l->span - need);
    tail->dirty = l->dirty > need ? l->dirty - need : 0;
    l->dirty -= tail->dirty;
    l->span = l->mapped = need;
    remap_granules(tail->r.base, tail->span, tail);
    cache_insert(tail, &spare);
  }
  int shrink = size < l->r.size;
  live_bytes += size - l->r.size;
  l->r.size = size;
  if (shrink && l->dirty > size && l->dirty - size >= SHRINK_DECOMMIT) {
    cut = l->r.base + size;
    cut_len = l->dirty - size;
    l->dirty = size;
  }
  maintain(&gone);
  hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
  hak_lock_release(&large_lock);
  if (cut_len) hak__os_decommit((void *)cut, cut_len);   /* the caller's pages: no lock needed */
  finish(gone, spare);
  return (void *)l->r.base;
}

static void *grow_from_cache(hak_large *l, size_t size, size_t want) {
  size_t need = GRAN_UP(size);
  hak_large *spare = NULL;
  lock_large();
  hak_large *n = cached_after(l->r.base + l->span);
  if (n == NULL || !FULL(l) || !FULL(n) || l->span + n->span < need) {
    hak_lock_release(&large_lock);
    return NULL;
  }
  epoch++;
  size_t take = want - l->span;
  if (take > n->span) take = n->span;
  size_t d = n->dirty < take ? n->dirty : take;
  if (d) l->dirty = l->span + d;
  remap_granules(n->r.base, take, l);
  if (take == n->span) {
    cache_unlink(n);
    n->state = 0;
    spare = n;
  } else {
    n->r.base += take;
    n->span -= take;
    n->mapped -= take;
    n->r.size = n->span;
    n->dirty = n->dirty > take ? n->dirty - take : 0;
    cached_bytes -= take;
    dirty_bytes -= d;
  }
  l->span += take;
  l->mapped = l->span;
  live_bytes += size - l->r.size;
  l->r.size = size;
  hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
  hak_lock_release(&large_lock);
  finish(NULL, spare);
  HAK_COUNT(bigcache_hits, 1);
  return (void *)l->r.base;
}

static void *grow_by_remap(hak_large *l, size_t size, size_t want) {
  if (!MOVE_PAGES) return NULL;
  uintptr_t base = l->r.base;
  size_t span = l->span, mapped = l->mapped;
  uintptr_t to = base;
  if (hak__os_remap((void *)base, mapped, want, NULL) != NULL) {   /* the space after was free */
    if (want > span && hak__segmap_set(base + span, want - span, &l->r) != 0) {
      hak__os_remap((void *)base, want, mapped, NULL);   /* shrinking in place cannot fail */
      return NULL;
    }
  } else {
    int saved = errno;
    void *fresh = hak__os_map(want, HAK_GRANULE);
    errno = saved;
    if (fresh == NULL) return NULL;
    to = (uintptr_t)fresh;
    if (hak__segmap_set(to, want, &l->r) != 0) {
      hak__os_unmap(fresh, want);
      errno = saved;
      return NULL;
    }
    if (hak__os_remap((void *)base, mapped, want, fresh) == NULL) {   /* old block untouched */
      hak__segmap_clear(to, want);
      hak__os_unmap(fresh, want);
      errno = saved;
      return NULL;
    }
  }
  lock_large();   /* the checker sees the old range or the new one */
  epoch++;
  if (to != base) hak__segmap_clear(base, span);
  l->r.base = to;
  l->span = l->mapped = want;
  live_bytes += size - l->r.size;
  l->r.size = size;
  hak_lock_release(&large_lock);
  return (void *)to;
}

void *hak__large_resize(hak_large *l, size_t n) {
  if (n > HAK_LARGE_MAX / 2) return NULL;
  size_t size = PAGE_UP(n);
  lock_large();   /* the program may have written all of the old size */
  if (l->dirty < l->r.size) l->dirty = l->r.size;
  hak_lock_release(&large_lock);
  if (size <= l->mapped) return resize_within(l, size);
  size_t want = GRAN_UP(l->span + l->span / 2);
  if (!FULL(l) && GRAN_UP(size) <= l->span) want = l->span;   /* a short span first fills its granule */
  if (want < GRAN_UP(size)) want = GRAN_UP(size);
  void *q = grow_from_cache(l, size, want);
  if (q == NULL) q = grow_by_remap(l, size, want);
  return q;
}

/* ---- give-back, fork, debug -------------------------------------------- */
/* Unmap at least `bytes` of cached spans, least recently used first; the
 * last span may give back just its tail granules. */
size_t hak__bigcache_release(size_t bytes) {
  hak_large *gone = NULL;
  size_t done = 0;
  uintptr_t cut = 0;
  size_t cut_len = 0;
  lock_large();
  /* a refused map (alloc.c, round 0) opens a window; hak_trim, which also
   * ends round 1, closes it (one more refusal reopens it) */
  as_limited_until = bytes != SIZE_MAX ? epoch + DECOMMIT_AFTER : 0;
  while (done < bytes && lru_tail != NULL) {
    hak_large *c = lru_tail;
    size_t left = bytes - done, rest = left < c->span ? GRAN_UP(left) : c->span;
    if (rest < c->span && FULL(c)) {
      cut_len = rest;
      c->span -= rest;
      c->mapped = c->span;
      c->r.size = c->span;
      cut = c->r.base + c->span;
      if (c->dirty > c->span) {
        dirty_bytes -= c->dirty - c->span;
        c->dirty = c->span;
      }
      cached_bytes -= rest;
      hak__segmap_clear(cut, cut_len);
      done += rest;
      break;
    }
    done += c->mapped;
    evict(c, &gone);
  }
  hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
  hak_lock_release(&large_lock);
  if (cut_len) hak__os_unmap((void *)cut, cut_len);
  finish(gone, NULL);
  return done;
}

void hak__large_release_all(void) {
  for (;;) {
    lock_large();
    hak_large *l = (hak_large *)live_head;
    if (l != NULL) {
      rlist_remove(&live_head, &l->r);
      live_bytes -= l->r.size;
      l->state = 0;
      l->lru_next = NULL;
    }
    hak_lock_release(&large_lock);
    if (l == NULL) break;
    hak_atomic_u64_sub(&hak__ctr.large_live, 1, HAK_RELAXED);
    finish(l, NULL);
  }
}

void hak__large_lock_all(void) { hak_lock_acquire(&large_lock); }
void hak__large_unlock_all(int child) {
  if (child) hak_lock_reset(&large_lock);
  else hak_lock_release(&large_lock);
}

int hak__large_visit_state(const hak_large *l) {
  return l->state == HAK_LARGE_LIVE ? HAK_BLOCK_LIVE : HAK_BLOCK_BIGCACHE;
}

/* The checker's view (check.c walks these under hak__large_lock_all);
 * pointers, so its unit cases can corrupt the real state. */
void hak__large_index(hak_large_index *out) {
  *out = (hak_large_index){ &live_head, &cache_head, &lru_head, &lru_tail,
                            &cached_bytes, &dirty_bytes, &live_bytes, &epoch };
}

#ifdef HAK_FUZZ
/* ---- fuzz builds: the canonical span cache ------------------------------
 * (see hak_fuzz_canon in heap.c and the same section of segment.c).  One
 * span of canon_span bytes at canon_base (faulted in as inputs touch it); after
 * each input every other cached span is unmapped, the canonical one counts
 * as dirty whole (an overestimate only costs calloc a memset) and the
 * operation clock restarts, so each input starts with the same cache.
 * Parts of it an input gave back are mapped again in place; -1 (the caller
 * rebuilds everything) when that cannot be done: a live block at the
 * reset, a cached span reaching outside it (a block at its end grown in
 * place by mremap into a neighbour's freed place). */
static uintptr_t canon_base;
static size_t canon_span;

#define CANON_GAPS 64
int hak__large_fuzz_canon(void) {
  hak_large *gone = NULL, *spare = NULL;
  uintptr_t gap[CANON_GAPS], at = canon_base, end = canon_base + canon_span;
  size_t gap_len[CANON_GAPS];
  unsigned ngaps = 0;
  lock_large();
  int ok = canon_span != 0 && live_head == NULL;
  for (hak_region *r = cache_head, *next; r != NULL; r = next) {   /* address order */
    next = r->next;
    hak_large *c = (hak_large *)r;
    if (r->base >= at && r->base + c->span <= end && FULL(c)) {   /* a piece of the canonical span */
      if (r->base > at && ngaps < CANON_GAPS) gap[ngaps] = at, gap_len[ngaps++] = r->base - at;
      else if (r->base > at) ok = 0;
      at = r->base + c->span;
      continue;
    }
    /* a span cut short (a refused map made a small block keep only its
     * pages) is unmapped and its place mapped again as a gap; one reaching
     * outside the canonical span cannot be given its place back */
    if (r->base < end && r->base + c->span > canon_base && (r->base < canon_base || r->base + c->span > end)) ok = 0;
    evict(c, &gone);
  }
  if (at < end && ngaps < CANON_GAPS) gap[ngaps] = at, gap_len[ngaps++] = end - at;
  else if (at < end) ok = 0;
  hak_lock_release(&large_lock);
  finish(gone, NULL);
  /* What the input gave back (hak_trim, the retry after a refused map, a
   * block mremapped away) is mapped again in its place and merges back. */
  for (unsigned i = 0; i < ngaps && ok; i++) {
    void *p = hak__os_fuzz_map_at(gap[i], gap_len[i]);
    hak_large *l = p != NULL ? hak__meta_large_new() : NULL;
    if (l == NULL || hak__segmap_set(gap[i], gap_len[i], &l->r) != 0) {
      if (p != NULL) hak__os_unmap(p, gap_len[i]);
      if (l != NULL) hak__meta_large_free(l);
      ok = 0;
      break;
    }
    span_init(l, gap[i], gap_len[i], gap_len[i]);
    l->dirty = 0;
    if (hak__opt->hugepages) hak__os_hugepage(p, gap_len[i]);
    lock_large();
    cache_insert(l, &spare);
    hak_lock_release(&large_lock);
    finish(NULL, spare);
    spare = NULL;
  }
  lock_large();
  hak_large *keep = (hak_large *)cache_head;
  if (keep == NULL || keep->r.base != canon_base || keep->span != canon_span || !FULL(keep) || keep->r.next != NULL)
    ok = 0;
  if (ok) {
    dirty_bytes += keep->span - keep->dirty;
    keep->dirty = keep->span;
    keep->last_use = 0;
  }
  epoch = 0;
  live_peak = 0;
  live_peak_at = 0;
  as_limited_until = 0;
  hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
  hak_lock_release(&large_lock);
  return ok ? 0 : -1;
}

/* The canonical span: one block of `bytes` mapped and freed into the
 * (empty) cache.  Its base is aligned past the largest alignment a fuzz
 * input asks for (4 MiB), so whether an aligned request fits the span does
 * not depend on where ASLR put it: with granule alignment, a 4 MiB-aligned
 * request hit the span in one process and mapped a short span in the next
 * (repro/ops/13-bigcache-page-short.ops caught half the time). */
#define CANON_ALIGN (4 * HAK_GRANULE)
int hak__large_fuzz_build(size_t bytes) {
  size_t dirty;
  canon_span = 0;
  void *p = hak__large_alloc(bytes, CANON_ALIGN, &dirty);
  if (p == NULL) return -1;
  hak_large *l = (hak_large *)hak__region_of((uintptr_t)p);
  canon_base = l->r.base;
  canon_span = l->span;
  hak__large_free(l, p);
  return hak__large_fuzz_canon();
}
#endif
