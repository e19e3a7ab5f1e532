/* Large blocks (above HAK_MID_MAX): one granule-aligned mapping each, the
 * user pointer is the mapping's base, the descriptor lives in meta.c.
 *
 * BigCache: a freed large block stays mapped (its pages stay resident) and
 * is parked in a bucket keyed by size, so the next allocation of a similar
 * size costs neither a system call nor page faults.  Buckets are quarter
 * powers of two; a request takes a cached block at least as large and at
 * most 25% (+64 KiB) larger.  The cache holds at most HAKMEM_BIGCACHE_MB;
 * beyond that the least recently parked blocks are unmapped.  Cached
 * blocks stay registered in the address-space map, so a second free of
 * one is reported as a double free.
 * Invariants (checked by check.c, see the list there): every large
 * descriptor is on exactly one of the live list (state LIVE) or one bucket
 * + the LRU list (state CACHED); only blocks mapped with the granule
 * alignment are cached; cached_bytes is the sum of the cached sizes and at
 * most HAKMEM_BIGCACHE_MB; the live list holds hak__ctr.large_live blocks. */
#include <errno.h>
#include <stdint.h>
#include "internal.h"

#define NBUCKETS 64
static hak_lock large_lock;
static hak_region *live_head;
static hak_region *bucket[NBUCKETS];
static hak_large *lru_head, *lru_tail;    /* head: most recently parked */
static size_t cached_bytes;

static unsigned bucket_of(size_t size) {
  unsigned e = 63u - (unsigned)__builtin_clzl(size);
  if (e < 16) return 0;
  unsigned b = (e - 16) * 4 + (unsigned)((size >> (e - 2)) & 3);
  return b < NBUCKETS ? b : NBUCKETS - 1;
}

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

/* Under large_lock: take a parked block that fits size, or NULL. */
static hak_large *cache_take(size_t size) {
  size_t limit = size + size / 4 + ((size_t)64 << 10);
  for (unsigned b = bucket_of(size); b < NBUCKETS && b <= bucket_of(size) + 1; b++) {
    for (hak_region *r = bucket[b]; r != NULL; r = r->next) {
      if (r->size >= size && r->size <= limit) {
        hak_large *l = (hak_large *)r;
        rlist_remove(&bucket[b], r);
        lru_remove(l);
        cached_bytes -= r->size;
        return l;
      }
    }
  }
  return NULL;
}

static void large_unmap(hak_large *l) {
  hak__segmap_clear(l->r.base, l->r.size);
  hak__os_unmap((void *)l->r.base, l->r.size);
  hak__meta_large_free(l);
}

void *hak__large_alloc(size_t n, size_t align, int *zeroed) {
  if (n > HAK_LARGE_MAX || align > HAK_LARGE_ALIGN_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size_t size = (n + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1);
  if (size == 0) size = HAK_PAGE;
  if (align <= HAK_GRANULE) {
    hak_lock_acquire(&large_lock);
    hak_large *l = cache_take(size);
    if (l != NULL) {
      l->state = HAK_LARGE_LIVE;
      rlist_push(&live_head, &l->r);
    }
    hak_lock_release(&large_lock);
    if (l != NULL) {
      HAK_COUNT(bigcache_hits, 1);
      HAK_COUNT(large_live, 1);
      *zeroed = 0;
      return (void *)l->r.base;
    }
  }
  HAK_COUNT(bigcache_misses, 1);
  size_t map_align = align > HAK_GRANULE ? align : HAK_GRANULE;
  void *base = hak__os_map(size, map_align);
  if (base == NULL) return NULL;
  hak_large *l = hak__meta_large_new();
  if (l == NULL) {
    hak__os_unmap(base, size);
    return NULL;
  }
  l->r.base = (uintptr_t)base;
  l->r.size = size;
  l->r.kind = HAK_REGION_LARGE;
  l->r.magic = HAK_REGION_MAGIC ^ HAK_REGION_LARGE;
  l->align = map_align;
  l->state = HAK_LARGE_LIVE;
  if (hak__segmap_set(l->r.base, size, &l->r) != 0) {
    hak__os_unmap(base, size);
    hak__meta_large_free(l);
    errno = ENOMEM;
    return NULL;
  }
  if (hak__opt->hugepages && size >= HAK_GRANULE) hak__os_hugepage(base, size & ~(HAK_GRANULE - 1));
  hak_lock_acquire(&large_lock);
  rlist_push(&live_head, &l->r);
  hak_lock_release(&large_lock);
  HAK_COUNT(large_allocs, 1);
  HAK_COUNT(large_live, 1);
  *zeroed = 1;
  return base;
}

void hak__large_free(hak_large *l, void *p) {
  if ((uintptr_t)p != l->r.base)
    hak__fatal("hakmem: invalid free of %p (interior pointer of large block %p)", p, (void *)l->r.base);
  hak_lock_acquire(&large_lock);
  if (l->state != HAK_LARGE_LIVE) {
    hak_lock_release(&large_lock);
    hak__fatal("hakmem: double free of %p (large)", p);
  }
  hak_track_free(p, l->r.size);
  rlist_remove(&live_head, &l->r);
  hak_atomic_u64_sub(&hak__ctr.large_live, 1, HAK_RELAXED);
  hak_large *evict = NULL;
  if (l->align <= HAK_GRANULE && l->r.size <= hak__opt->bigcache_bytes) {
    l->state = HAK_LARGE_CACHED;
    l->bucket = bucket_of(l->r.size);
    rlist_push(&bucket[l->bucket], &l->r);
    l->lru_prev = NULL;
    l->lru_next = lru_head;
    if (lru_head) lru_head->lru_prev = l;
    else lru_tail = l;
    lru_head = l;
    cached_bytes += l->r.size;
    /* Over budget: unlink the oldest onto a private list, unmap after. */
    while (cached_bytes > hak__opt->bigcache_bytes) {
      hak_large *old = lru_tail;
      lru_remove(old);
      rlist_remove(&bucket[old->bucket], &old->r);
      cached_bytes -= old->r.size;
      old->lru_next = evict;
      evict = old;
    }
    hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
    l = NULL;
  }
  hak_lock_release(&large_lock);
  if (l != NULL) large_unmap(l);
  while (evict != NULL) {
    hak_large *next = evict->lru_next;
    large_unmap(evict);
    evict = next;
  }
}

size_t hak__bigcache_release(size_t bytes) {
  size_t done = 0;
  while (done < bytes) {
    hak_lock_acquire(&large_lock);
    hak_large *old = lru_tail;
    if (old != NULL) {
      lru_remove(old);
      rlist_remove(&bucket[old->bucket], &old->r);
      cached_bytes -= old->r.size;
      hak_atomic_u64_store(&hak__ctr.bigcache_bytes, cached_bytes, HAK_RELAXED);
    }
    hak_lock_release(&large_lock);
    if (old == NULL) break;
    done += old->r.size;
    large_unmap(old);
  }
  return done;
}

void hak__large_release_all(void) {
  for (;;) {
    hak_lock_acquire(&large_lock);
    hak_large *l = (hak_large *)live_head;
    if (l != NULL) rlist_remove(&live_head, &l->r);
    hak_lock_release(&large_lock);
    if (l == NULL) break;
    hak_atomic_u64_sub(&hak__ctr.large_live, 1, HAK_RELAXED);
    large_unmap(l);
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

/* The checker's view (check.c walks these lists under hak__large_lock_all);
 * pointers to the lists themselves, so its unit test can corrupt them. */
void hak__large_index(hak_large_index *out) {
  *out = (hak_large_index){ &live_head, bucket, NBUCKETS, &lru_head, &lru_tail, &cached_bytes };
}
unsigned hak__large_bucket_of(size_t size) { return bucket_of(size); }
